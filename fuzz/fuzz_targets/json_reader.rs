//! Any bytes through the JSON reader (JSON Lines, arrays, concatenated
//! pretty-printed objects): no panic, and every error names its source.
#![no_main]

use ferret_model::FieldNames;
use ferret_read::json::JsonReader;
use ferret_read::{ReadOptions, SourceContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A small record limit reaches the "oversized record" path too.
    let options = ReadOptions { max_line_bytes: 1024, ..ReadOptions::default() };
    let ctx = SourceContext::new("fuzz.json", FieldNames::new(), options);
    for result in JsonReader::new(data, ctx) {
        match result {
            Ok(event) => assert_eq!(&*event.provenance.source, "fuzz.json"),
            Err(error) => assert_eq!(&*error.source, "fuzz.json"),
        }
    }
});
