//! A large file of JSON records, one after another (JSON Lines, or
//! pretty-printed objects one after another), cut into byte ranges that
//! each start with a record, so that several threads read one file.
//!
//! A range starts at a `{` that begins a line right after a line ending in
//! `}`. In valid JSON that is always a new top-level value: a string cannot
//! hold a raw newline, and inside an object or an array the next member
//! would follow a comma. A file whose first value is an array is not cut
//! (its records are the array's elements), nor is a CloudTrail file (one
//! `{"Records": [...]}` value: its elements follow commas too). In broken
//! JSON the reader treats such a `{` as a new top-level value too, so a
//! range read alone gives exactly what the whole file gives.
//!
//! Events name their line, so a range must know the line it starts on: the
//! newlines of every range before it, counted by whichever thread first
//! needs them and kept (two threads that need them at once may both count
//! them); a count runs at memory speed, far faster than parsing its range.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::sniff::{Format, sniff};
use crate::source::read_head;

/// Bytes read around a planned cut to find a record's start.
const WINDOW: usize = 64 << 10;

/// How a file was cut, shared by its segments.
#[derive(Debug)]
struct Plan {
    path: PathBuf,
    /// Where each segment starts; the file's length last.
    starts: Vec<u64>,
    /// Per segment: the newlines in it, once counted.
    newlines: Vec<OnceLock<u64>>,
}

/// One byte range of a JSON file (see the module's doc).
#[derive(Clone, Debug)]
pub struct JsonSegment {
    plan: Arc<Plan>,
    index: usize,
}

impl JsonSegment {
    /// Whether the segment starts the file (its stream is counted once).
    pub fn is_first(&self) -> bool {
        self.index == 0
    }

    /// Whether the segment ends the file.
    pub fn is_last(&self) -> bool {
        self.index + 2 == self.plan.starts.len()
    }

    /// The segment's bytes in the file.
    pub fn range(&self) -> Range<u64> {
        self.plan.starts[self.index]..self.plan.starts[self.index + 1]
    }

    /// The line the segment starts on (1-based): one more than the
    /// newlines of the segments before it, counting those no thread has
    /// counted yet.
    pub fn first_line(&self) -> io::Result<u64> {
        let mut line = 1;
        for (index, count) in self.plan.newlines[..self.index].iter().enumerate() {
            line += match count.get() {
                Some(&n) => n,
                None => {
                    let n = count_newlines(&self.plan.path, self.plan.starts[index]..self.plan.starts[index + 1])?;
                    *count.get_or_init(|| n)
                }
            };
        }
        Ok(line)
    }
}

/// Newlines in `range` of the file at `path`.
fn count_newlines(path: &Path, range: Range<u64>) -> io::Result<u64> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(range.start))?;
    let mut rest = file.take(range.end - range.start);
    let mut buf = vec![0; 1 << 20];
    let mut newlines = 0;
    loop {
        let n = rest.read(&mut buf)?;
        if n == 0 {
            return Ok(newlines);
        }
        newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

/// The segments of `path`, of about `bytes` each, if it is a file of JSON
/// records longer than that; else none.
pub(crate) fn json_segments(path: &Path, bytes: u64) -> Vec<JsonSegment> {
    let bytes = bytes.max(1);
    let Some(len) = std::fs::metadata(path).ok().map(|m| m.len()).filter(|&len| len > bytes) else {
        return Vec::new();
    };
    let Ok(mut file) = File::open(path) else { return Vec::new() };
    let Ok(head) = read_head(&mut file) else { return Vec::new() };
    if sniff(&head) != Ok(Format::Json) || first_value_byte(&head) != Some(b'{') {
        return Vec::new();
    }
    let mut starts = vec![0];
    let mut window = Vec::with_capacity(WINDOW);
    let mut target = bytes;
    while target < len {
        match record_start_after(&mut file, target, &mut window) {
            Ok(Some(start)) => {
                starts.push(start);
                target = start.saturating_add(bytes);
            }
            // A record longer than the window: look further on.
            Ok(None) => target = target.saturating_add(WINDOW as u64 - 1),
            Err(_) => break,
        }
    }
    if starts.len() < 2 {
        return Vec::new();
    }
    starts.push(len);
    let newlines = (0..starts.len() - 1).map(|_| OnceLock::new()).collect();
    let plan = Arc::new(Plan { path: path.to_owned(), starts, newlines });
    (0..plan.starts.len() - 1).map(|index| JsonSegment { plan: plan.clone(), index }).collect()
}

/// The first significant byte of a JSON text (after a byte-order mark and
/// whitespace).
fn first_value_byte(head: &[u8]) -> Option<u8> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    head.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// The offset of the first record start (see the module's doc) after
/// `from`, within a window of bytes read there; `None` if the window holds
/// none.
fn record_start_after(file: &mut File, from: u64, window: &mut Vec<u8>) -> io::Result<Option<u64>> {
    // One byte before `from`, so a line ending just before it counts.
    let at = from - 1;
    file.seek(SeekFrom::Start(at))?;
    window.clear();
    file.take(WINDOW as u64).read_to_end(window)?;
    for newline in memchr::memchr_iter(b'\n', window) {
        if window.get(newline + 1) != Some(&b'{') {
            continue;
        }
        let line = window[..newline].strip_suffix(b"\r").unwrap_or(&window[..newline]);
        if newline > 0 && line.last() == Some(&b'}') {
            return Ok(Some(at + newline as u64 + 1));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferret_model::{FieldNames, Location};
    use proptest::prelude::*;

    use crate::{Input, ReadOptions, ReadResult, StreamVisitor, read_input, read_input_part, split_inputs};

    /// An event's place and fields, or an error's place and message.
    type Record = Result<(Location, String), (Option<Location>, String)>;

    /// What a reader reports, in order; and the streams.
    #[derive(Default)]
    struct Outcome {
        records: Vec<Record>,
        streams: usize,
    }

    impl StreamVisitor for Outcome {
        fn stream(&mut self, _: &Arc<str>, _: crate::Format, events: &mut dyn Iterator<Item = ReadResult>) {
            self.streams += 1;
            for result in events {
                self.records.push(match result {
                    Ok(event) => Ok((event.provenance.location, format!("{:?}", event.fields))),
                    Err(e) => Err((e.location, e.message)),
                });
            }
        }

        fn unreadable(&mut self, e: crate::ReadError) {
            self.records.push(Err((e.location, e.message)));
        }
    }

    /// The file read whole, and read in segments of about `bytes` one
    /// after the other (how many streams there were).
    fn whole_and_in_segments(text: &[u8], bytes: u64) -> (Outcome, Outcome) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.json");
        std::fs::write(&path, text).unwrap();
        let input = Input::File(path);
        let names = FieldNames::new();
        // Records over 64 bytes are skipped with an error (oversized).
        let options = ReadOptions { json_segment_bytes: bytes, max_line_bytes: 64, ..ReadOptions::default() };
        let mut whole = Outcome::default();
        read_input(&input, &names, &options, &mut whole);
        let mut parts = Outcome::default();
        for part in split_inputs(std::slice::from_ref(&input), &options) {
            read_input_part(&input, part.segment.as_ref(), &names, &options, &mut parts);
        }
        (whole, parts)
    }

    #[test]
    fn segments_read_one_after_another_give_what_the_whole_file_gives() {
        // Good records, pretty-printed ones, blank lines, CRLF, and damage
        // next to the cuts: a record whose closing brace is missing (its
        // last line still ends in `}`), a line that is not JSON, a record
        // cut off at the end of the file.
        let text = concat!(
            "{\"n\": 1, \"user\": \"alice\"}\n",
            "{\"n\": 2,\n \"inner\": {\"a\": 1}\n}\n",
            "\n",
            "{\"n\": 3, \"inner\": {\"a\": 1}\n",
            "{\"n\": 4}\r\n",
            "not json at all }\n",
            "{\"n\": 5, \"s\": \"a } b\"}\n",
            "{\"n\": 6}\n",
            "{\"n\": 7, \"cut\": tr",
        );
        for bytes in 1..text.len() as u64 {
            let (whole, parts) = whole_and_in_segments(text.as_bytes(), bytes);
            assert_eq!(whole.streams, 1);
            assert_eq!(parts.records, whole.records, "segments of {bytes} bytes");
        }
        let (whole, parts) = whole_and_in_segments(text.as_bytes(), 1);
        // Cut before records 2, 4 (after the damaged 3), 5 (after the line
        // that is not JSON), 6 and 7; not before 3 (a blank line precedes
        // it).
        assert_eq!(parts.streams, 6);
        let lines: Vec<Option<u64>> = whole
            .records
            .iter()
            .map(|r| match r {
                Ok((Location::Line(l), _)) | Err((Some(Location::Line(l)), _)) => Some(*l),
                _ => None,
            })
            .collect();
        assert_eq!(lines, [Some(1), Some(2), Some(6), Some(7), Some(8), Some(9), Some(10), Some(11)]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_cut_reads_the_same(
            records in prop::collection::vec(
                prop_oneof![
                    (0u32..1000).prop_map(|n| format!("{{\"n\": {n}}}\n")),
                    (0u32..1000).prop_map(|n| format!("{{\"n\": {n},\n  \"o\": {{\"k\": \"}}\"}}\n}}\n")),
                    Just("{\"broken\": {\"x\": 1}\n".to_owned()),
                    Just("}\n".to_owned()),
                    Just("\n".to_owned()),
                    Just("{\"crlf\": 1}\r\n".to_owned()),
                    Just("{\"bad\": nope}\n".to_owned()),
                    (70usize..200).prop_map(|n| format!("{{\"long\": \"{}\"}}\n", "x".repeat(n))),
                    // Arrays and CloudTrail wrappers, whole or broken.
                    Just("[{\"a\": 1},\n{\"a\": 2}]\n".to_owned()),
                    Just("[\n".to_owned()),
                    Just("]\n".to_owned()),
                    Just("{\"Records\": [{\"e\": 1},\n{\"e\": 2}]}\n".to_owned()),
                    Just("{\"Records\": [\n".to_owned()),
                    Just("], \"more\": 1}\n".to_owned()),
                ],
                1..40,
            ),
            bytes in 1u64..200,
        ) {
            let text = records.concat();
            let (whole, parts) = whole_and_in_segments(text.as_bytes(), bytes);
            prop_assert_eq!(parts.records, whole.records);
        }
    }
}
