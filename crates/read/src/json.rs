//! JSON Lines, JSON arrays and concatenated (pretty-printed) JSON values.
//!
//! A byte-level scanner finds where each top-level value (or each element
//! of a top-level array) begins and ends, so only one record is in memory at
//! a time and serde_json parses exactly one record. A malformed record is
//! reported with its line and the scanner resynchronises: a raw newline
//! inside a string ends a broken JSON Lines record, a `{` at the start of a
//! line while a record is still open means that record was truncated
//! (pretty-printed records only put their closing brace there), and a `{`
//! starting a line after a line ending in `}` starts a top-level record
//! even inside an array or a `Records` wrapper (valid JSON would have a
//! comma between): large files are cut into ranges at exactly those places
//! (`json_segments`), and a range read alone gives what the whole file does.
//!
//! A top-level object whose first key is `Records` holding an array (the
//! CloudTrail file shape, `{"Records": [ ... ]}`) is not one record: the
//! scanner descends into the array and each element is a record of its
//! own, with the element's line. Keys after the array are skipped with an
//! error; keys before it make the object an ordinary record.

use std::io::{self, BufRead};

use ferret_model::{Event, Location, SourceKind};
use serde_json::Value as Json;

use crate::flat::json_into_event;
use crate::{ReadError, ReadResult, SourceContext};

/// One top-level record's bytes and where it starts.
struct Record {
    bytes: Vec<u8>,
    line: u64,
    /// The 1-based byte column of its first byte on `line`.
    column: u64,
    /// The record grew past the size limit; its bytes were dropped.
    oversized: bool,
    /// The scanner cut the record short (truncated input).
    truncated: bool,
    /// Not a record: keys after a `Records` array that were skipped.
    skipped_tail: bool,
}

/// Where the scanner is relative to a `{"Records": [ ... ]}` wrapper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wrapper {
    None,
    /// Inside the array: its elements are the records.
    Records,
    /// After the array, skipping to the wrapper's closing brace.
    Tail {
        depth: usize,
        in_string: bool,
        escaped: bool,
        extra: Option<(u64, u64)>,
    },
}

/// Splits a byte stream into top-level JSON records.
struct Scanner<R> {
    input: R,
    max_len: usize,
    line: u64,
    /// Bytes of the current line before the byte being scanned.
    column: u64,
    at_line_start: bool,
    /// Inside a top-level array whose elements are the records.
    in_array: bool,
    wrapper: Wrapper,
    done: bool,
    /// The current line's last two bytes (`line_tail.1` the last).
    line_tail: (u8, u8),
    /// At a line start: whether the line before ended in `}` (or `}\r`).
    after_brace_line: bool,
}

impl<R: BufRead> Scanner<R> {
    fn new(input: R, max_len: usize) -> Self {
        Self {
            input,
            max_len,
            line: 1,
            column: 0,
            at_line_start: true,
            in_array: false,
            wrapper: Wrapper::None,
            done: false,
            line_tail: (0, 0),
            after_brace_line: false,
        }
    }

    /// Ends the call before the byte just read (the first of a line),
    /// leaving it for the next call to read again from a line's start.
    fn stop_before_line_start(&mut self, used: usize) {
        self.at_line_start = true;
        self.column = 0;
        self.line_tail = (0, 0);
        self.input.consume(used - 1);
    }

    fn next_record(&mut self) -> io::Result<Option<Record>> {
        let mut record: Option<Record> = None;
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        // A top-level scalar (garbage or a bare number) is its own record.
        let mut scalar = false;
        loop {
            let buf = match self.input.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                self.done = true;
                return Ok(record.map(|mut r| {
                    r.truncated = depth > 0 || in_string;
                    r
                }));
            }
            let mut used = 0;
            while used < buf.len() {
                // Inside a string (most of a record's bytes), copy up to the
                // next quote, backslash or newline in one go.
                if in_string
                    && !escaped
                    && !scalar
                    && !matches!(self.wrapper, Wrapper::Tail { .. })
                    && let Some(rec) = record.as_mut()
                {
                    let rest = &buf[used..];
                    let run = memchr::memchr3(b'"', b'\\', b'\n', rest).unwrap_or(rest.len());
                    if run > 0 {
                        push_slice(rec, &rest[..run], self.max_len);
                        self.column += run as u64;
                        self.at_line_start = false;
                        self.line_tail =
                            if run == 1 { (self.line_tail.1, rest[0]) } else { (rest[run - 2], rest[run - 1]) };
                        used += run;
                        continue;
                    }
                }
                let byte = buf[used];
                used += 1;
                let line_start = self.at_line_start;
                self.at_line_start = byte == b'\n';
                let column = self.column + 1;
                self.column = if byte == b'\n' { 0 } else { column };
                let after_brace_line = line_start && self.after_brace_line;
                if byte == b'\n' {
                    self.after_brace_line = matches!(self.line_tail, (_, b'}') | (b'}', b'\r'));
                    self.line_tail = (0, 0);
                } else {
                    self.line_tail = (self.line_tail.1, byte);
                }
                if after_brace_line && byte == b'{' {
                    // A `{` starting a line after a line ending in `}` is a
                    // new top-level value in valid JSON (anywhere else a
                    // comma would come between): whatever was open is
                    // broken. Files of records are cut into ranges at
                    // exactly these places (see `json_segments`), and each
                    // range is read from this state.
                    self.in_array = false;
                    self.wrapper = Wrapper::None;
                    if let Some(rec) = record.as_mut() {
                        rec.truncated = true;
                        self.stop_before_line_start(used);
                        return Ok(record);
                    }
                }
                if let Wrapper::Tail { .. } = self.wrapper {
                    if let Some(skipped) = tail(&mut self.wrapper, &mut self.line, byte, column) {
                        self.input.consume(used);
                        return Ok(Some(skipped));
                    }
                    continue;
                }
                let Some(rec) = record.as_mut() else {
                    // Between records.
                    match byte {
                        b'\n' => self.line += 1,
                        b' ' | b'\t' | b'\r' | b',' | 0xEF | 0xBB | 0xBF => {}
                        b'[' if !self.in_array => {
                            self.in_array = true;
                        }
                        b']' if self.in_array => {
                            self.in_array = false;
                            if self.wrapper == Wrapper::Records {
                                self.wrapper =
                                    Wrapper::Tail { depth: 0, in_string: false, escaped: false, extra: None };
                            }
                        }
                        _ => {
                            let mut r = Record {
                                bytes: Vec::new(),
                                line: self.line,
                                column,
                                oversized: false,
                                truncated: false,
                                skipped_tail: false,
                            };
                            push(&mut r, byte, self.max_len);
                            match byte {
                                b'{' | b'[' => depth = 1,
                                b'"' => in_string = true,
                                _ => scalar = true,
                            }
                            record = Some(r);
                        }
                    }
                    continue;
                };
                if byte == b'\n' {
                    self.line += 1;
                }
                if scalar {
                    // Garbage or a bare scalar: one record up to the end of
                    // the line (or the next element inside an array).
                    let ends = byte == b'\n' || (self.in_array && matches!(byte, b',' | b']'));
                    if ends {
                        if byte == b']' && self.in_array {
                            self.in_array = false;
                        }
                        self.input.consume(used);
                        return Ok(record);
                    }
                    push(rec, byte, self.max_len);
                    continue;
                }
                if in_string {
                    if byte == b'\n' {
                        // JSON strings cannot hold a raw newline: broken record.
                        rec.truncated = true;
                        self.input.consume(used);
                        return Ok(record);
                    }
                    push(rec, byte, self.max_len);
                    if escaped {
                        escaped = false;
                    } else if byte == b'\\' {
                        escaped = true;
                    } else if byte == b'"' {
                        in_string = false;
                        if depth == 0 {
                            self.input.consume(used);
                            return Ok(record);
                        }
                    }
                    continue;
                }
                if line_start && matches!(byte, b'{') && depth > 0 && !self.in_array {
                    // A new record starts at column 0 while this one is open:
                    // this one was truncated.
                    rec.truncated = true;
                    self.stop_before_line_start(used);
                    return Ok(record);
                }
                push(rec, byte, self.max_len);
                match byte {
                    b'"' => in_string = true,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth == 2 && !self.in_array && opens_records(&rec.bytes) {
                            // `{"Records": [`: the elements are the records.
                            record = None;
                            depth = 0;
                            self.in_array = true;
                            self.wrapper = Wrapper::Records;
                        }
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            self.input.consume(used);
                            return Ok(record);
                        }
                    }
                    _ => {}
                }
            }
            self.input.consume(used);
        }
    }
}

/// One byte after a `Records` array: skips to the wrapper's closing brace;
/// returns an error record there if anything was skipped.
fn tail(wrapper: &mut Wrapper, line: &mut u64, byte: u8, column: u64) -> Option<Record> {
    let Wrapper::Tail { mut depth, mut in_string, mut escaped, mut extra } = *wrapper else {
        return None;
    };
    if byte == b'\n' {
        *line += 1;
    }
    let mut closed = false;
    if in_string {
        if escaped {
            escaped = false;
        } else if byte == b'\\' {
            escaped = true;
        } else if byte == b'"' {
            in_string = false;
        }
    } else {
        match byte {
            b' ' | b'\t' | b'\r' | b'\n' | b',' => {}
            b'}' if depth == 0 => closed = true,
            b'}' | b']' => depth = depth.saturating_sub(1),
            other => {
                extra.get_or_insert((*line, column));
                match other {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    _ => {}
                }
            }
        }
    }
    if !closed {
        *wrapper = Wrapper::Tail { depth, in_string, escaped, extra };
        return None;
    }
    *wrapper = Wrapper::None;
    let (line, column) = extra?;
    Some(Record { bytes: Vec::new(), line, column, oversized: false, truncated: false, skipped_tail: true })
}

/// True when `bytes` are exactly `{ "Records" : [` (any whitespace).
fn opens_records(bytes: &[u8]) -> bool {
    if bytes.len() > 256 {
        return false;
    }
    let mut rest = bytes;
    for token in [&b"{"[..], b"\"Records\"", b":", b"["] {
        rest = rest.trim_ascii_start();
        match rest.strip_prefix(token) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    rest.is_empty()
}

fn push(record: &mut Record, byte: u8, max_len: usize) {
    if record.bytes.len() < max_len {
        record.bytes.push(byte);
    } else {
        record.oversized = true;
    }
}

/// `push` for each of `bytes`.
fn push_slice(record: &mut Record, bytes: &[u8], max_len: usize) {
    let room = max_len.saturating_sub(record.bytes.len()).min(bytes.len());
    record.bytes.extend_from_slice(&bytes[..room]);
    if room < bytes.len() {
        record.oversized = true;
    }
}

/// Reads JSON records as events.
pub struct JsonReader<R> {
    scanner: Scanner<R>,
    ctx: SourceContext,
}

impl<R: BufRead> JsonReader<R> {
    pub fn new(input: R, ctx: SourceContext) -> Self {
        Self::from_line(input, ctx, 1)
    }

    /// A reader of input that starts on line `line` of its file (a segment
    /// of it, starting with a record: see `json_segments`).
    pub fn from_line(input: R, ctx: SourceContext, line: u64) -> Self {
        let mut scanner = Scanner::new(input, ctx.options.max_line_bytes);
        scanner.line = line;
        Self { scanner, ctx }
    }
}

impl<R: BufRead> Iterator for JsonReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        if self.scanner.done {
            return None;
        }
        let record = match self.scanner.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => return None,
            Err(e) => {
                self.scanner.done = true;
                return Some(Err(ReadError::new(&self.ctx.source, None, format!("read failed: {e}"))));
            }
        };
        let location = Location::Line(record.line);
        let error = |message: String| Some(Err(ReadError::new(&self.ctx.source, Some(location), message)));
        if record.skipped_tail {
            return error("keys after the `Records` array skipped".into());
        }
        if record.oversized {
            return error(format!("JSON record longer than {} bytes skipped", self.ctx.options.max_line_bytes));
        }
        let mut event = Event::new(SourceKind::Json, self.ctx.provenance(location));
        // sonic-rs parses; a record it refuses goes to serde_json, which
        // reads the few it may not (lone surrogate escapes) and otherwise
        // says what is wrong and where.
        match sonic_rs::from_slice::<sonic_rs::Value>(&record.bytes) {
            Ok(json) => json_into_event(&json, &mut event, &mut self.ctx.fields),
            Err(_) => match serde_json::from_slice::<Json>(&record.bytes) {
                Ok(json) => json_into_event(&json, &mut event, &mut self.ctx.fields),
                Err(e) if record.truncated => {
                    return error(format!("truncated JSON record: {}", in_file(&e, &record)));
                }
                Err(e) => return error(format!("invalid JSON: {}", in_file(&e, &record))),
            },
        }
        Some(Ok(event))
    }
}

/// serde_json's message with its position moved from the record to the file:
/// `line 1 column 2` of a record that starts on line 3 is line 3 of the file.
fn in_file(error: &serde_json::Error, record: &Record) -> String {
    let text = error.to_string();
    if error.line() == 0 {
        return text;
    }
    let (line, column) = (error.line() as u64, error.column() as u64);
    let message = text.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&text);
    let column = if line == 1 { record.column + column.saturating_sub(1) } else { column };
    format!("{message} at line {} column {column}", record.line + line - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_model::FieldNames;

    fn read(input: &str) -> Vec<Result<(u64, String), (u64, String)>> {
        let names = FieldNames::new();
        let ctx = SourceContext::new("t.json", names.clone(), Default::default());
        JsonReader::new(input.as_bytes(), ctx)
            .map(|r| match r {
                Ok(e) => {
                    let Location::Line(l) = e.provenance.location else { panic!() };
                    Ok((l, serde_json::to_string(&e.fields_json(&names)).unwrap()))
                }
                Err(e) => {
                    let Some(Location::Line(l)) = e.location else { panic!() };
                    Err((l, e.message))
                }
            })
            .collect()
    }

    /// Strings are copied in runs up to the next quote, backslash or
    /// newline: escapes, braces inside strings and runs cut by the read
    /// buffer's edge must split records exactly as byte by byte.
    #[test]
    fn string_runs_split_records_like_single_bytes() {
        let input = "{\"a\": \"x\\\"}{\\\\\", \"b\": \"[not] {a record}\"}\n[{\"c\": \"\\\\\"}, {\"d\": \"e\"}]\n";
        let whole = read(input);
        assert_eq!(whole.len(), 3, "{whole:?}");
        let names = FieldNames::new();
        for capacity in 1..12 {
            let ctx = SourceContext::new("t.json", names.clone(), Default::default());
            let reader = std::io::BufReader::with_capacity(capacity, input.as_bytes());
            let split: Vec<String> = JsonReader::new(reader, ctx)
                .map(|r| serde_json::to_string(&r.unwrap().fields_json(&names)).unwrap())
                .collect();
            let want: Vec<String> = whole.iter().map(|r| r.clone().unwrap().1).collect();
            assert_eq!(split, want, "buffer of {capacity} bytes");
        }
    }

    /// Records are parsed with sonic-rs; over the CloudTrail captures and
    /// the Windows agent JSON of ../shared/data, every record gives the same
    /// event as through serde_json's tree.
    #[test]
    fn sonic_rs_and_serde_json_records_give_the_same_events() {
        use std::io::Read;
        let Some(data) = crate::shared_data() else { return };
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for dir in ["cloudtrail", "windows-json"] {
            let mut paths: Vec<_> = std::fs::read_dir(data.join(dir)).unwrap().map(|e| e.unwrap().path()).collect();
            paths.sort();
            for path in paths {
                match path.extension().and_then(|e| e.to_str()) {
                    Some("json") => inputs.push(std::fs::read(&path).unwrap()),
                    Some("zip") => {
                        let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
                        for i in 0..archive.len() {
                            let mut member = archive.by_index(i).unwrap();
                            let mut bytes = Vec::new();
                            member.read_to_end(&mut bytes).unwrap();
                            inputs.push(bytes);
                        }
                    }
                    _ => {}
                }
            }
        }
        let names = FieldNames::new();
        let mut cache = ferret_model::FieldCache::new(names.clone());
        let mut records = 0;
        for input in &inputs {
            let mut scanner = Scanner::new(input.as_slice(), usize::MAX);
            while let Ok(Some(record)) = scanner.next_record() {
                let Ok(by_serde) = serde_json::from_slice::<Json>(&record.bytes) else { continue };
                let by_sonic: sonic_rs::Value = sonic_rs::from_slice(&record.bytes).unwrap();
                let provenance = ferret_model::Provenance { source: "t".into(), location: Location::Line(record.line) };
                let mut a = Event::new(SourceKind::Json, provenance.clone());
                let mut b = Event::new(SourceKind::Json, provenance);
                json_into_event(&by_serde, &mut a, &mut cache);
                json_into_event(&by_sonic, &mut b, &mut cache);
                assert_eq!(a, b, "record at line {}", record.line);
                records += 1;
            }
        }
        assert!(records > 10_000, "{records} records");
    }

    /// A key written twice keeps both values: hiding `mimikatz` behind a
    /// later benign duplicate (which a last-wins parser would keep alone)
    /// does not hide it from rules.
    #[test]
    fn a_key_written_twice_keeps_both_values() {
        let names = FieldNames::new();
        let ctx = SourceContext::new("t.json", names.clone(), Default::default());
        let input = "{\"CommandLine\": \"mimikatz\", \"CommandLine\": \"benign\"}\n";
        let event = JsonReader::new(input.as_bytes(), ctx).next().unwrap().unwrap();
        let values: Vec<String> = event.values(names.get("CommandLine").unwrap()).map(|v| v.to_string()).collect();
        assert_eq!(values, ["mimikatz", "benign"]);
    }

    #[test]
    fn a_record_starting_a_line_after_a_line_ending_in_a_brace_is_top_level() {
        // The array lacks its commas: the second element is read as a
        // record of its own and the array is over (`]` is then garbage),
        // as a range of the file starting there would read it.
        let text = "[{\"a\": 1}\n{\"b\": 2}\n]\n{\"c\": [\n{\"d\": 4}\n";
        let ctx = SourceContext::new("t.json", ferret_model::FieldNames::new(), crate::ReadOptions::default());
        let got: Vec<Result<u64, (u64, String)>> = JsonReader::new(text.as_bytes(), ctx)
            .map(|r| match r {
                Ok(e) => match e.provenance.location {
                    Location::Line(l) => Ok(l),
                    other => panic!("{other:?}"),
                },
                Err(e) => match e.location {
                    Some(Location::Line(l)) => Err((l, e.message)),
                    other => panic!("{other:?}"),
                },
            })
            .collect();
        assert_eq!(got[..2], [Ok(1), Ok(2)]);
        assert!(matches!(&got[2], Err((3, m)) if m.starts_with("invalid JSON")), "{got:?}");
        // An object left open before a line that starts with `{` after one
        // that does not end in `}` is cut there too (the older rule).
        assert!(matches!(&got[3], Err((4, m)) if m.starts_with("truncated JSON record")), "{got:?}");
        assert_eq!(got[4..], [Ok(5)]);
    }

    #[test]
    fn json_lines_with_a_bad_line_in_the_middle() {
        let got = read("{\"a\":1}\nnot json\n{\"a\":{\"b\":[2,{\"c\":3}]}}\n{\"a\": \"trunc\n{\"z\":0}\n");
        assert_eq!(got[0], Ok((1, r#"{"a":1}"#.into())));
        assert!(matches!(&got[1], Err((2, m)) if m.contains("invalid JSON")), "{got:?}");
        assert_eq!(got[2], Ok((3, r#"{"a.b":2,"a.b.c":3}"#.into())));
        assert!(matches!(&got[3], Err((4, m)) if m.contains("truncated")), "{got:?}");
        assert_eq!(got[4], Ok((5, r#"{"z":0}"#.into())));
        assert_eq!(got.len(), 5);
    }

    #[test]
    fn arrays_and_pretty_printed_concatenation() {
        let got = read("[\n {\"a\": 1},\n {\"a\": \"]\"}\n]\n");
        assert_eq!(got, vec![Ok((2, r#"{"a":1}"#.into())), Ok((3, r#"{"a":"]"}"#.into()))]);
        let got = read("{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n");
        assert_eq!(got, vec![Ok((1, r#"{"a":1}"#.into())), Ok((4, r#"{"a":2}"#.into()))]);
    }

    #[test]
    fn a_truncated_pretty_record_does_not_swallow_the_next() {
        let got = read("{\n  \"a\": {\n    \"b\": 1\n{\n  \"a\": 2\n}\n");
        assert!(matches!(&got[0], Err((1, m)) if m.contains("truncated")), "{got:?}");
        assert_eq!(got[1], Ok((4, r#"{"a":2}"#.into())));
    }

    #[test]
    fn error_positions_are_positions_in_the_file() {
        let got = read("{\"a\":1}\n{\"b\": ?}\n   {\"c\":1} {\"d\":x}\n{\n  \"e\": 1,\n  \"f\": [1,,2]\n}\n");
        assert_eq!(got[1], Err((2, "invalid JSON: expected value at line 2 column 7".into())));
        // The second record on line 3 starts at column 12; `x` is at 17.
        assert_eq!(got[3], Err((3, "invalid JSON: expected value at line 3 column 17".into())));
        assert_eq!(got[4], Err((4, "invalid JSON: expected value at line 6 column 11".into())));
        let got = read("{\n  \"a\": {\n    \"b\": 1\n{\"z\":0}\n");
        assert_eq!(got[0], Err((1, "truncated JSON record: EOF while parsing an object at line 4 column 0".into())));
        assert_eq!(got[1], Ok((4, r#"{"z":0}"#.into())));
    }

    #[test]
    fn records_wrappers_yield_their_elements() {
        let got = read("{\"Records\": [\n {\"a\": 1},\n {\"a\": [2]}\n]}\n{\"b\":3}\n");
        assert_eq!(got, vec![Ok((2, r#"{"a":1}"#.into())), Ok((3, r#"{"a":2}"#.into())), Ok((5, r#"{"b":3}"#.into()))]);
        let got = read("\u{feff}{\n  \"Records\" :\n  [ ]\n}\n");
        assert_eq!(got, vec![]);
        // Keys before the array: an ordinary record. Keys after: skipped.
        let got = read("{\"x\":0,\"Records\":[{\"a\":1}]}\n");
        assert_eq!(got, vec![Ok((1, r#"{"x":0,"Records.a":1}"#.into()))]);
        let got = read("{\"Records\":[{\"a\":1}],\n \"next\": {\"}\": [1]}}\n{\"b\":2}\n");
        assert_eq!(
            got,
            vec![
                Ok((1, r#"{"a":1}"#.into())),
                Err((2, "keys after the `Records` array skipped".into())),
                Ok((3, r#"{"b":2}"#.into()))
            ]
        );
        // Only a top-level object descends; an element named Records does not.
        let got = read("[{\"Records\":[{\"a\":1}]}]");
        assert_eq!(got, vec![Ok((1, r#"{"Records.a":1}"#.into()))]);
    }

    #[test]
    fn oversized_records_are_skipped_with_an_error() {
        let names = FieldNames::new();
        let options = crate::ReadOptions { max_line_bytes: 10, ..Default::default() };
        let ctx = SourceContext { options, ..SourceContext::new("t.json", names, Default::default()) };
        let got: Vec<_> = JsonReader::new(&b"{\"a\":\"0123456789\"}\n{\"b\":1}\n"[..], ctx).collect();
        assert!(got[0].as_ref().unwrap_err().message.contains("longer than 10"));
        assert!(got[1].is_ok());
    }
}
