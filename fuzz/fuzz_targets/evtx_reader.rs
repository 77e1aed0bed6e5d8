//! Any bytes as an EVTX file through the EVTX reader: no panic, and every
//! error names its source. Seed the corpus with real EVTX files and raise
//! `-max_len` (see the README): a chunk is 64 KiB.
#![no_main]

use std::io::Cursor;

use ferret_model::FieldNames;
use ferret_read::evtx::EvtxReader;
use ferret_read::{ReadOptions, SourceContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = SourceContext::new("fuzz.evtx", FieldNames::new(), ReadOptions::default());
    let reader = match EvtxReader::new(Box::new(Cursor::new(data.to_vec())), ctx) {
        Ok(reader) => reader,
        Err(error) => {
            assert_eq!(&*error.source, "fuzz.evtx");
            return;
        }
    };
    for result in reader {
        match result {
            Ok(event) => assert_eq!(&*event.provenance.source, "fuzz.evtx"),
            Err(error) => assert_eq!(&*error.source, "fuzz.evtx"),
        }
    }
});
