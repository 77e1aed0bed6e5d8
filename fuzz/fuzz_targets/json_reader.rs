//! Any bytes through the JSON reader (JSON Lines, arrays, concatenated
//! pretty-printed objects): no panic, and every error names its source.
//! Then the same bytes as a file cut into ranges (see `split_inputs`): read
//! one after the other, the ranges give exactly what the whole file gives,
//! events with their lines and errors with theirs.
#![no_main]

use std::sync::Arc;

use ferret_model::{FieldNames, Location};
use ferret_read::json::JsonReader;
use ferret_read::{
    Format, Input, ReadError, ReadOptions, ReadResult, SourceContext, StreamVisitor, read_input, read_input_part,
    split_inputs,
};
use libfuzzer_sys::fuzz_target;

/// Each event's place and fields, each error's place and message.
#[derive(Default)]
struct Outcome(Vec<Result<(Location, String), (Option<Location>, String)>>);

impl StreamVisitor for Outcome {
    fn stream(&mut self, _: &Arc<str>, _: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        for result in events {
            self.0.push(match result {
                Ok(event) => Ok((event.provenance.location, format!("{:?}", event.fields))),
                Err(e) => Err((e.location, e.message)),
            });
        }
    }

    fn unreadable(&mut self, e: ReadError) {
        self.0.push(Err((e.location, e.message)));
    }
}

fuzz_target!(|data: &[u8]| {
    // A small record limit reaches the "oversized record" path too.
    let options = ReadOptions { max_line_bytes: 1024, ..ReadOptions::default() };
    let ctx = SourceContext::new("fuzz.json", FieldNames::new(), options.clone());
    for result in JsonReader::new(data, ctx) {
        match result {
            Ok(event) => assert_eq!(&*event.provenance.source, "fuzz.json"),
            Err(error) => assert_eq!(&*error.source, "fuzz.json"),
        }
    }

    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("fuzz.json");
    std::fs::write(&path, data).expect("the input written");
    let input = Input::File(path);
    // Ranges of about a third of the input, at least a byte.
    let options = ReadOptions { json_segment_bytes: (data.len() as u64 / 3).max(1), ..options };
    let names = FieldNames::new();
    let mut whole = Outcome::default();
    read_input(&input, &names, &options, &mut whole);
    let mut parts = Outcome::default();
    for part in split_inputs(std::slice::from_ref(&input), &options) {
        read_input_part(&input, part.segment.as_ref(), &names, &options, &mut parts);
    }
    assert_eq!(parts.0, whole.0);
});
