//! The systemd journal, as `journalctl -o json` writes it (one JSON object
//! per line, recognised by the JSON reader through [`is_journal_json`]) and
//! as `journalctl -o export` writes it ([`JournalExportReader`]).
//!
//! Both become syslog-like events (kind [`SourceKind::Syslog`]) so that the
//! syslog and auth.log rules work on journals too:
//!
//! * `hostname` (`_HOSTNAME`), `program` (`SYSLOG_IDENTIFIER`, else
//!   `_COMM`), `pid` (`_PID`, else `SYSLOG_PID`), `message` (`MESSAGE`),
//!   `facility` (name of `SYSLOG_FACILITY`) and `severity` (name of
//!   `PRIORITY`), named as for syslog lines;
//! * the auth.log fields of [`crate::auth`] for the program's message;
//! * every journal field under its own name (`_SYSTEMD_UNIT`, `_EXE`,
//!   `_CMDLINE`, `_UID`...), a multi-valued field repeated;
//! * the time of `__REALTIME_TIMESTAMP` (microseconds since the epoch);
//! * `raw` = the message.
//!
//! Binary values (a JSON array of byte values, or an export binary field)
//! are decoded as UTF-8, lossily. A JSON `null` (journalctl's stand-in for
//! a value over 4096 bytes without `--all`) is no value.
//!
//! The export format is `KEY=value` lines, one entry per block, blocks
//! separated by an empty line; a value holding a newline or other binary
//! data is written as `KEY\n`, a 64-bit little-endian length, the bytes and
//! `\n`. An entry's provenance is the line of its first field, counting
//! every newline byte of the file (binary data included), as `grep -n`
//! does. An entry with a malformed line, an over-long field or a truncated
//! binary field is a [`ReadError`] and reading goes on with the next entry.

use std::io::{self, BufRead};

use ferret_model::{Event, FieldCache, Location, SourceKind, Timestamp, Value};

use crate::syslog::{FACILITIES, SEVERITIES};
use crate::windows::JsonTree;
use crate::{ReadError, ReadResult, SourceContext, auth};

/// True for a `journalctl -o json` record.
pub fn is_journal_json<J: JsonTree>(obj: &J) -> bool {
    obj.get("__REALTIME_TIMESTAMP").is_some() && obj.get("MESSAGE").is_some()
}

/// True when content starts like `journalctl -o export` output.
pub fn looks_like_export(head: &[u8]) -> bool {
    head.starts_with(b"__CURSOR=") || head.starts_with(b"__REALTIME_TIMESTAMP=")
}

/// Fills `event` from a `journalctl -o json` record.
pub fn json_into_event<J: JsonTree>(obj: &J, event: &mut Event, fields: &mut FieldCache) {
    let mut entry = Vec::new();
    for (key, value) in obj.entries() {
        for text in json_texts(value) {
            entry.push((key.to_owned(), text));
        }
    }
    entry_into_event(&entry, event, fields);
}

/// The values of one JSON journal field: a string, an array of byte
/// values (binary), or an array of either (a field with several values).
fn json_texts<J: JsonTree>(value: &J) -> Vec<String> {
    if let Some(text) = value.text() {
        return vec![text.to_owned()];
    }
    if let Some(items) = value.items() {
        let items: Vec<&J> = items.collect();
        if !items.is_empty() && items.iter().all(|i| i.as_u64().is_some_and(|b| b <= 255)) {
            let bytes: Vec<u8> = items.iter().filter_map(|i| i.as_u64().and_then(|b| u8::try_from(b).ok())).collect();
            return vec![String::from_utf8_lossy(&bytes).into_owned()];
        }
        return items.into_iter().flat_map(json_texts).collect();
    }
    match value.scalar() {
        Some(Value::Null) => Vec::new(),
        _ => vec![value.to_json()],
    }
}

/// The common event shape of both formats.
fn entry_into_event(entry: &[(String, String)], event: &mut Event, fields: &mut FieldCache) {
    let get = |name: &str| entry.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    event.kind = SourceKind::Syslog;
    event.timestamp = get("__REALTIME_TIMESTAMP")
        .and_then(|us| us.trim().parse::<i64>().ok())
        .and_then(|us| Timestamp::from_microsecond(us).ok());
    let program = get("SYSLOG_IDENTIFIER").or_else(|| get("_COMM"));
    let message = get("MESSAGE");
    if let Some(host) = get("_HOSTNAME") {
        event.push(fields.intern("hostname"), Value::text(host));
    }
    if let Some(program) = program {
        event.push(fields.intern("program"), Value::text(program));
    }
    if let Some(pid) = get("_PID").or_else(|| get("SYSLOG_PID")) {
        event.push(fields.intern("pid"), Value::number(pid));
    }
    if let Some(message) = message {
        event.push(fields.intern("message"), Value::text(message));
    }
    let code = |name: &str, names: &[&'static str]| {
        get(name).and_then(|v| v.trim().parse::<usize>().ok()).and_then(|i| names.get(i).copied())
    };
    if let Some(facility) = code("SYSLOG_FACILITY", &FACILITIES) {
        event.push(fields.intern("facility"), Value::text(facility));
    }
    if let Some(severity) = code("PRIORITY", &SEVERITIES) {
        event.push(fields.intern("severity"), Value::text(severity));
    }
    if let (Some(program), Some(message)) = (program, message) {
        auth::annotate(event, program, message, fields);
    }
    for (key, value) in entry {
        event.push(fields.intern(key), Value::text(value.as_str()));
    }
    event.raw = message.map(Into::into);
}

/// Streams the entries of `journalctl -o export` output as events.
pub struct JournalExportReader<R> {
    input: R,
    ctx: SourceContext,
    /// Newline bytes consumed so far: the next line is `line + 1`.
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

/// One entry's fields, where it starts, and what went wrong in it.
struct Entry {
    start: u64,
    fields: Vec<(String, String)>,
    problem: Option<String>,
}

impl<R: BufRead> JournalExportReader<R> {
    pub fn new(input: R, ctx: SourceContext) -> Self {
        Self { input, ctx, line: 0, buf: Vec::new(), done: false }
    }

    /// Reads the next line into `buf` (without its newline), keeping at
    /// most one byte more than the limit. Returns the bytes consumed.
    fn read_line(&mut self) -> io::Result<usize> {
        let limit = self.ctx.options.max_line_bytes;
        let (total, ended) = crate::lines::read_bounded_line(&mut self.input, &mut self.buf, limit)?;
        if ended {
            self.line += 1;
        }
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(total)
    }

    /// Reads `len` bytes, counting their newlines; keeps them when `keep`.
    fn read_bytes(&mut self, len: u64, keep: bool) -> io::Result<Vec<u8>> {
        let mut data = Vec::new();
        let mut left = len;
        while left > 0 {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let take = chunk.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.line += memchr::memchr_iter(b'\n', &chunk[..take]).count() as u64;
            if keep {
                data.extend_from_slice(&chunk[..take]);
            }
            self.input.consume(take);
            left -= take as u64;
        }
        Ok(data)
    }

    /// The next entry, or `None` at the end of the input.
    fn entry(&mut self) -> io::Result<Option<Entry>> {
        let limit = self.ctx.options.max_line_bytes;
        let mut entry: Option<Entry> = None;
        loop {
            let number = self.line + 1;
            if self.read_line()? == 0 {
                self.done = true;
                return Ok(entry);
            }
            if self.buf.is_empty() {
                match entry {
                    Some(_) => return Ok(entry),
                    None => continue,
                }
            }
            let current = entry.get_or_insert_with(|| Entry { start: number, fields: Vec::new(), problem: None });
            if self.buf.len() > limit {
                current.problem.get_or_insert(format!("line {number}: field longer than the limit of {limit} bytes"));
                continue;
            }
            if let Some(eq) = memchr::memchr(b'=', &self.buf) {
                let key = String::from_utf8_lossy(&self.buf[..eq]).into_owned();
                if valid_name(&key) {
                    let value = String::from_utf8_lossy(&self.buf[eq + 1..]).into_owned();
                    current.fields.push((key, value));
                    continue;
                }
            }
            let Ok(name) = std::str::from_utf8(&self.buf).map(str::to_owned) else {
                current.problem.get_or_insert(format!("line {number}: not a journal field"));
                continue;
            };
            if !valid_name(&name) {
                let shown: String = name.chars().take(60).collect();
                current.problem.get_or_insert(format!("line {number}: not a journal field: {shown:?}"));
                continue;
            }
            // A binary field: KEY\n, u64 LE length, data, \n.
            let truncated = |e: io::Error| match e.kind() {
                io::ErrorKind::UnexpectedEof => Ok(format!("line {number}: binary field {name} is truncated")),
                _ => Err(e),
            };
            let len = match self.read_bytes(8, true) {
                Ok(bytes) => u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])),
                Err(e) => {
                    current.problem.get_or_insert(truncated(e)?);
                    self.done = true;
                    return Ok(entry);
                }
            };
            let keep = len <= limit as u64;
            let data = match self.read_bytes(len, keep).and_then(|data| Ok((data, self.read_bytes(1, true)?))) {
                Ok((data, end)) if end == b"\n" => data,
                Ok(_) => {
                    current
                        .problem
                        .get_or_insert(format!("line {number}: binary field {name} not followed by a newline"));
                    continue;
                }
                Err(e) => {
                    current.problem.get_or_insert(truncated(e)?);
                    self.done = true;
                    return Ok(entry);
                }
            };
            if !keep {
                current.problem.get_or_insert(format!(
                    "line {number}: field {name} of {len} bytes is longer than the limit of {limit}"
                ));
                continue;
            }
            current.fields.push((name, String::from_utf8_lossy(&data).into_owned()));
        }
    }
}

/// Journal field names: uppercase letters, digits and `_`, not starting
/// with a digit.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl<R: BufRead> Iterator for JournalExportReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        if self.done {
            return None;
        }
        let entry = match self.entry() {
            Ok(Some(entry)) => entry,
            Ok(None) => return None,
            Err(e) => {
                self.done = true;
                let location = Some(Location::Line(self.line + 1));
                return Some(Err(ReadError::new(&self.ctx.source, location, format!("read error: {e}"))));
            }
        };
        let location = Location::Line(entry.start);
        if let Some(problem) = entry.problem {
            return Some(Err(ReadError::new(
                &self.ctx.source,
                Some(location),
                format!("bad journal entry: {problem}"),
            )));
        }
        let mut event = Event::new(SourceKind::Syslog, self.ctx.provenance(location));
        entry_into_event(&entry.fields, &mut event, &mut self.ctx.fields);
        Some(Ok(event))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferret_model::FieldNames;

    use super::*;
    use crate::ReadOptions;

    fn export(input: &[u8], options: ReadOptions) -> (Arc<FieldNames>, Vec<ReadResult>) {
        let names = FieldNames::new();
        let ctx = SourceContext::new("journal.export", names.clone(), options);
        (names, JournalExportReader::new(input, ctx).collect())
    }

    fn get(names: &FieldNames, result: &ReadResult, name: &str) -> Option<String> {
        result.as_ref().unwrap().get(names, name).map(ToString::to_string)
    }

    fn binary(name: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("{name}\n").into_bytes();
        out.extend_from_slice(&(data.len() as u64).to_le_bytes());
        out.extend_from_slice(data);
        out.push(b'\n');
        out
    }

    #[test]
    fn json_records_become_syslog_events_with_auth_fields() {
        let names = FieldNames::new();
        let mut fields = FieldCache::new(names.clone());
        let obj: serde_json::Value = serde_json::from_str(
            r#"{"__REALTIME_TIMESTAMP":"1700000000123456","_HOSTNAME":"web-01","SYSLOG_IDENTIFIER":"sshd",
                "_PID":"812","PRIORITY":"6","SYSLOG_FACILITY":"4","_SYSTEMD_UNIT":"ssh.service",
                "MESSAGE":"Failed password for root from 203.0.113.7 port 52144 ssh2","_CAP":null,"X":["a","b"]}"#,
        )
        .unwrap();
        assert!(is_journal_json(&obj));
        let mut event =
            Event::new(SourceKind::Json, ferret_model::Provenance { source: "j".into(), location: Location::Line(1) });
        json_into_event(&obj, &mut event, &mut fields);
        assert_eq!(event.kind, SourceKind::Syslog);
        assert_eq!(event.timestamp.unwrap().to_string(), "2023-11-14T22:13:20.123456Z");
        assert_eq!(event.raw.as_deref(), Some("Failed password for root from 203.0.113.7 port 52144 ssh2"));
        let get = |name| event.get(&names, name).map(ToString::to_string);
        assert_eq!(get("hostname").as_deref(), Some("web-01"));
        assert_eq!(get("program").as_deref(), Some("sshd"));
        assert_eq!(get("pid").as_deref(), Some("812"));
        assert_eq!(get("severity").as_deref(), Some("info"));
        assert_eq!(get("facility").as_deref(), Some("auth"));
        assert_eq!(get("event.action").as_deref(), Some("ssh_login"));
        assert_eq!(get("source.ip").as_deref(), Some("203.0.113.7"));
        assert_eq!(get("_SYSTEMD_UNIT").as_deref(), Some("ssh.service"));
        assert_eq!(get("_CAP"), None);
        assert_eq!(event.values(names.get("X").unwrap()).count(), 2);
    }

    #[test]
    fn binary_json_messages_are_decoded_lossily() {
        let json: serde_json::Value = serde_json::from_str(r#"[104, 105, 10, 255]"#).unwrap();
        assert_eq!(json_texts(&json), ["hi\n\u{fffd}"]);
        let json: serde_json::Value = serde_json::from_str(r#"[[104], "x", 7]"#).unwrap();
        assert_eq!(json_texts(&json), ["h", "x", "7"]);
    }

    #[test]
    fn export_entries_with_binary_fields_and_line_numbers() {
        let mut input =
            b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1700000000000000\n_HOSTNAME=h\nSYSLOG_IDENTIFIER=sudo\n\
MESSAGE=  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/bash\n\n"
                .to_vec();
        input.extend_from_slice(b"__CURSOR=s=1;i=2\n__REALTIME_TIMESTAMP=1700000001000000\n");
        input.extend_from_slice(&binary("MESSAGE", b"two\nlines"));
        input.extend_from_slice(b"_COMM=app\n\n__CURSOR=s=1;i=3\nMESSAGE=third\n");
        let (names, got) = export(&input, ReadOptions::default());
        assert_eq!(got.len(), 3);
        let line = |r: &ReadResult| r.as_ref().unwrap().provenance.location;
        assert_eq!(line(&got[0]), Location::Line(1));
        assert_eq!(line(&got[1]), Location::Line(7));
        // Entry 2: 2 text lines, `MESSAGE`, 8 length bytes + data holding
        // one newline, its closing newline, `_COMM`, the empty line.
        assert_eq!(line(&got[2]), Location::Line(14));
        assert_eq!(get(&names, &got[0], "USER").as_deref(), Some("root"));
        assert_eq!(get(&names, &got[0], "event.action").as_deref(), Some("sudo_command"));
        assert_eq!(get(&names, &got[1], "message").as_deref(), Some("two\nlines"));
        assert_eq!(get(&names, &got[1], "program").as_deref(), Some("app"));
        assert_eq!(got[1].as_ref().unwrap().timestamp.unwrap().to_string(), "2023-11-14T22:13:21Z");
        assert_eq!(got[2].as_ref().unwrap().timestamp, None);
    }

    #[test]
    fn bad_entries_are_errors_and_reading_goes_on() {
        let mut input = b"__CURSOR=a\nnot a field\nMESSAGE=x\n\n__CURSOR=b\n".to_vec();
        input.extend_from_slice(&binary("MESSAGE", &[b'y'; 40]));
        input.extend_from_slice(b"\n__CURSOR=c\nMESSAGE=ok\n\n__CURSOR=d\nMESSAGE\n\x05\0\0");
        let options = ReadOptions { max_line_bytes: 20, ..ReadOptions::default() };
        let (names, got) = export(&input, options);
        let err = |i: usize| got[i].as_ref().unwrap_err().to_string();
        assert_eq!(got.len(), 4);
        assert!(err(0).contains("line 1: bad journal entry: line 2: not a journal field"), "{}", err(0));
        assert!(err(1).contains("longer than the limit"), "{}", err(1));
        assert_eq!(get(&names, &got[2], "message").as_deref(), Some("ok"));
        assert!(err(3).contains("truncated"), "{}", err(3));
    }

    #[test]
    fn every_truncation_is_an_event_or_an_error() {
        let mut input = b"__CURSOR=s\n__REALTIME_TIMESTAMP=1700000000000000\n".to_vec();
        input.extend_from_slice(&binary("MESSAGE", b"a\nb"));
        input.extend_from_slice(b"\n__CURSOR=t\nMESSAGE=x\n");
        for cut in 0..=input.len() {
            let _ = export(&input[..cut], ReadOptions::default());
        }
    }
}
