//! Any bytes through the CSV reader; the first byte picks the delimiter.
#![no_main]

use ferret_model::FieldNames;
use ferret_read::csv::CsvReader;
use ferret_read::{ReadOptions, SourceContext};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let delimiter = [b',', b'\t', b';'][usize::from(selector % 3)];
    let ctx = SourceContext::new("fuzz.csv", FieldNames::new(), ReadOptions::default());
    for result in CsvReader::new(body, delimiter, ctx) {
        match result {
            Ok(event) => assert_eq!(&*event.provenance.source, "fuzz.csv"),
            Err(error) => assert_eq!(&*error.source, "fuzz.csv"),
        }
    }
});
