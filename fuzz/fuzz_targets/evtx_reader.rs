//! Any bytes as an EVTX file through the EVTX reader: no panic, every error
//! names its source, and the file read in segments of its chunks (as a
//! large file is on several threads) gives what it gives read whole. Seed
//! the corpus with real EVTX files and raise `-max_len` (see the README): a
//! chunk is 64 KiB.
#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use ferret_model::{FieldNames, Location};
use ferret_read::evtx::{ChunkWalk, EvtxReader};
use ferret_read::{ReadOptions, ReadResult, SourceContext};
use libfuzzer_sys::fuzz_target;

/// Record IDs and errors (where, what), every source checked.
fn outcome(reader: EvtxReader) -> Vec<Result<Location, (Option<Location>, String)>> {
    reader
        .map(|result: ReadResult| match result {
            Ok(event) => {
                assert_eq!(&*event.provenance.source, "fuzz.evtx");
                Ok(event.provenance.location)
            }
            Err(error) => {
                assert_eq!(&*error.source, "fuzz.evtx");
                Err((error.location, error.message))
            }
        })
        .collect()
}

fn context() -> SourceContext {
    SourceContext::new("fuzz.evtx", FieldNames::new(), ReadOptions::default())
}

fuzz_target!(|data: &[u8]| {
    let whole = match EvtxReader::new(Box::new(Cursor::new(data.to_vec())), context()) {
        Ok(reader) => outcome(reader),
        Err(error) => {
            assert_eq!(&*error.source, "fuzz.evtx");
            return;
        }
    };
    let walk = ChunkWalk::read(&mut Cursor::new(data), data.len() as u64).expect("read whole, so readable");
    let mut in_segments = Vec::new();
    for segment in &Arc::new(walk).segments(1) {
        let reader = EvtxReader::segment(Box::new(Cursor::new(data.to_vec())), segment, context());
        in_segments.extend(outcome(reader.expect("its header read whole")));
    }
    assert_eq!(in_segments, whole);
});
