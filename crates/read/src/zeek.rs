//! Zeek (Bro) logs in the ASCII/TSV format, one event per data line, of
//! kind [`SourceKind::Zeek`]. (Zeek's JSON logs go through the JSON reader,
//! which recognises them by their `ts` + `uid`/`id.orig_h` keys.)
//!
//! The header directives are honoured as they come: `#separator` (written
//! escaped, `\x09`), `#set_separator`, `#empty_field`, `#unset_field`,
//! `#path`, `#fields` and `#types`; `#open`, `#close` and unknown `#` lines
//! are comments. A new `#separator` starts a new header (concatenated logs).
//! Files of Zeek's input framework (intel feeds) start at `#fields` and get
//! Zeek's defaults: tab, `,`, `(empty)`, `-`.
//!
//! Each data line has one value per `#fields` column, named as there
//! (`id.orig_h`, `id.resp_p`...), plus `_path` from `#path`:
//!
//! * an unset value (`-`) is absent; an empty one (`(empty)`) is present and
//!   empty;
//! * `count`, `int`, `port`, `double` and `interval` are numbers, `time`
//!   values are numbers (epoch seconds) and the `ts` column is also the
//!   event time; `bool` `T`/`F` are booleans (as in Zeek's JSON logs);
//! * `set[..]`, `table[..]` and `vector[..]` values are split at the set
//!   separator into repeated values of their element type;
//! * Zeek's escapes `\xhh` and `\\` are decoded (as in its JSON logs), unless
//!   the result would not be UTF-8; other backslashes stay as written.
//!
//! A data line before any `#fields`, or with another number of values than
//! there are columns, is a [`crate::ReadError`] and reading goes on.

use std::borrow::Cow;
use std::io::BufRead;

use ferret_model::{Event, Field, Location, SourceKind, Timestamp, Value};

use crate::kv::{LineFeed, line_error};
use crate::lines::Line;
use crate::{ReadError, ReadResult, SourceContext};

/// True when `line` starts a Zeek log (`#separator`) or a Zeek input file
/// (`#fields` and a tab).
pub fn looks_like_zeek(line: &str) -> bool {
    line.strip_prefix("#separator").is_some_and(|rest| rest.starts_with([' ', '\t'])) || line.starts_with("#fields\t")
}

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Number,
    Bool,
}

#[derive(Clone, Copy, Debug)]
struct Column {
    field: Field,
    kind: Kind,
    /// A set, table or vector: split at the set separator.
    multi: bool,
}

/// The state the header lines build.
struct Header {
    separator: String,
    set_separator: String,
    empty: String,
    unset: String,
    path: Option<Box<str>>,
    columns: Option<Vec<Column>>,
    /// The index of the `ts` column.
    ts: Option<usize>,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            separator: "\t".into(),
            set_separator: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            path: None,
            columns: None,
            ts: None,
        }
    }
}

/// Streams the records of a Zeek TSV log as events.
pub struct ZeekReader<R> {
    feed: LineFeed<R>,
    ctx: SourceContext,
    header: Header,
    path_field: Field,
}

impl<R: BufRead> ZeekReader<R> {
    pub fn new(input: R, mut ctx: SourceContext) -> Self {
        let path_field = ctx.fields.intern("_path");
        Self { feed: LineFeed::new(input, &ctx), ctx, header: Header::default(), path_field }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> ReadError {
        line_error(&self.ctx, line, message)
    }

    fn line(&mut self, line: Line) -> Option<ReadResult> {
        if line.text.starts_with('#') {
            return self.directive(line.number, &line.text).err().map(Err);
        }
        Some(self.record(line))
    }

    fn directive(&mut self, number: u64, text: &str) -> Result<(), ReadError> {
        let body = &text[1..];
        let sep = self.header.separator.clone();
        let end = body
            .char_indices()
            .find(|&(i, c)| c == ' ' || c == '\t' || body[i..].starts_with(sep.as_str()))
            .map_or(body.len(), |(i, _)| i);
        let (name, rest) = body.split_at(end);
        // The value follows the separator (or a space: Zeek writes
        // `#separator \x09`).
        let value = rest.strip_prefix(sep.as_str()).or_else(|| rest.strip_prefix([' ', '\t'])).unwrap_or(rest);
        match name {
            "separator" => {
                let separator = unescape(value.trim()).into_owned();
                if separator.is_empty() {
                    return Err(self.error(number, "empty #separator"));
                }
                self.header = Header { separator, ..Header::default() };
            }
            "set_separator" => self.header.set_separator = unescape(value).into_owned(),
            "empty_field" => self.header.empty = unescape(value).into_owned(),
            "unset_field" => self.header.unset = unescape(value).into_owned(),
            "path" => self.header.path = Some(unescape(value).into()),
            "fields" => {
                let names: Vec<&str> = value.split(self.header.separator.as_str()).collect();
                self.header.ts = names.iter().position(|n| *n == "ts");
                let fields = &mut self.ctx.fields;
                let columns = names
                    .iter()
                    .map(|name| Column { field: fields.intern(name), kind: Kind::Text, multi: false })
                    .collect();
                self.header.columns = Some(columns);
            }
            "types" => {
                let types: Vec<&str> = value.split(self.header.separator.as_str()).collect();
                let Some(columns) = self.header.columns.as_mut() else {
                    return Err(self.error(number, "#types before #fields"));
                };
                if types.len() != columns.len() {
                    let message = format!("#types has {} types for {} #fields columns", types.len(), columns.len());
                    return Err(self.error(number, message));
                }
                for (column, ty) in columns.iter_mut().zip(types) {
                    (column.kind, column.multi) = kind(ty);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn record(&mut self, line: Line) -> ReadResult {
        let h = &self.header;
        let Some(columns) = h.columns.as_deref() else {
            return Err(self.error(line.number, "data line before the #fields header"));
        };
        let count = line.text.split(h.separator.as_str()).count();
        if count != columns.len() {
            let message = format!("{count} values for the {} #fields columns", columns.len());
            return Err(self.error(line.number, message));
        }
        let mut event = Event::new(SourceKind::Zeek, self.ctx.provenance(Location::Line(line.number)));
        if let Some(path) = &h.path {
            event.push(self.path_field, Value::text(&**path));
        }
        for (i, (column, raw)) in columns.iter().zip(line.text.split(h.separator.as_str())).enumerate() {
            if raw == h.unset {
                continue;
            }
            if raw == h.empty {
                event.push(column.field, Value::text(""));
                continue;
            }
            if i == h.ts.unwrap_or(usize::MAX) {
                event.timestamp = epoch(raw);
            }
            if column.multi {
                for item in raw.split(h.set_separator.as_str()) {
                    event.push(column.field, value(column.kind, item));
                }
            } else {
                event.push(column.field, value(column.kind, raw));
            }
        }
        event.raw = Some(line.text.into_boxed_str());
        Ok(event)
    }
}

impl<R: BufRead> Iterator for ZeekReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        loop {
            let line = match self.feed.next_line(&self.ctx)? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            if let Some(result) = self.line(line) {
                return Some(result);
            }
        }
    }
}

/// How a Zeek type is read, and whether it is a container.
fn kind(ty: &str) -> (Kind, bool) {
    let (inner, multi) = match ty.split_once('[') {
        Some(("set" | "table" | "vector", inner)) => (inner.strip_suffix(']').unwrap_or(inner), true),
        _ => (ty, false),
    };
    let kind = match inner {
        "count" | "int" | "port" | "double" | "interval" | "time" => Kind::Number,
        "bool" => Kind::Bool,
        _ => Kind::Text,
    };
    (kind, multi)
}

fn value(kind: Kind, raw: &str) -> Value {
    match (kind, raw) {
        (Kind::Number, _) => Value::number(raw),
        (Kind::Bool, "T") => Value::Bool(true),
        (Kind::Bool, "F") => Value::Bool(false),
        _ => Value::text(unescape(raw)),
    }
}

/// Epoch seconds with an optional fraction (`1379288667.706265`).
fn epoch(text: &str) -> Option<Timestamp> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if int.is_empty()
        || int.len() > 12
        || frac.len() > 9
        || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let nanos = if frac.is_empty() { 0 } else { format!("{frac:0<9}").parse().ok()? };
    Timestamp::new(int.parse().ok()?, nanos).ok()
}

/// Decodes Zeek's `\xhh` and `\\` escapes, unless the bytes they give are
/// not UTF-8 (then the text stays as written).
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
            if b.get(i + 1) == Some(&b'x')
                && let Some(hex) = b.get(i + 2..i + 4).filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(hex).unwrap_or_default(), 16)
            {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_model::FieldNames;
    use std::sync::Arc;

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n\
                          #open\t2026-03-03-07-00-00\n#fields\tts\tuid\tid.orig_h\tid.resp_p\tquery\tAA\tanswers\tTTLs\n\
                          #types\ttime\tstring\taddr\tport\tstring\tbool\tvector[string]\tvector[interval]\n";

    fn read(input: &str) -> (Arc<FieldNames>, Vec<ReadResult>) {
        let names = FieldNames::new();
        let ctx = SourceContext::new("dns.log", names.clone(), Default::default());
        let results = ZeekReader::new(input.as_bytes(), ctx).collect();
        (names, results)
    }

    fn json(names: &FieldNames, result: &ReadResult) -> String {
        serde_json::to_string(&result.as_ref().unwrap().fields_json(names)).unwrap()
    }

    #[test]
    fn records_with_types_sets_unset_and_empty() {
        let input = format!(
            "{HEADER}1379288667.631940\tCZ1\t192.168.33.10\t53\tevil\\x09tab\\\\x.com\tF\ta.com,1.2.3.4\t36.000000,60.0\n\
             1379288668.5\tCZ2\t192.168.33.10\t53\t-\tT\t(empty)\t-\n#close\t2026-03-03-08-00-00\n"
        );
        let (names, got) = read(&input);
        assert_eq!(got.len(), 2);
        let e = got[0].as_ref().unwrap();
        assert_eq!(e.kind, SourceKind::Zeek);
        assert_eq!(e.timestamp.unwrap().to_string(), "2013-09-15T23:44:27.63194Z");
        assert_eq!(e.provenance.location, Location::Line(9));
        assert_eq!(
            json(&names, &got[0]),
            r#"{"_path":"dns","ts":"1379288667.631940","uid":"CZ1","id.orig_h":"192.168.33.10","id.resp_p":53,"query":"evil\ttab\\x.com","AA":false,"answers":["a.com","1.2.3.4"],"TTLs":["36.000000",60.0]}"#
        );
        assert_eq!(e.get(&names, "ts"), Some(&Value::number("1379288667.631940")));
        assert_eq!(
            json(&names, &got[1]),
            r#"{"_path":"dns","ts":1379288668.5,"uid":"CZ2","id.orig_h":"192.168.33.10","id.resp_p":53,"AA":true,"answers":""}"#
        );
    }

    #[test]
    fn bad_lines_are_errors_and_reading_goes_on() {
        let input = format!("#separator \\x09\n1.0\tearly\n{}1.0\tonly two\n2.0\tC\t-\t-\t-\t-\t-\t-\n", &HEADER[16..]);
        let (_, got) = read(&input);
        let errors: Vec<(Option<Location>, String)> =
            got.iter().filter_map(|r| r.as_ref().err()).map(|e| (e.location, e.message.clone())).collect();
        assert_eq!(
            errors,
            [
                (Some(Location::Line(2)), "data line before the #fields header".into()),
                (Some(Location::Line(10)), "2 values for the 8 #fields columns".into())
            ]
        );
        assert_eq!(got.len(), 3);
        assert!(got[2].is_ok());
    }

    #[test]
    fn input_framework_files_use_the_defaults() {
        let (names, got) = read("#fields\tindicator\tindicator_type\tmeta.source\n007.no\tIntel::DOMAIN\tCPS-CTI\n");
        assert_eq!(
            json(&names, &got[0]),
            r#"{"indicator":"007.no","indicator_type":"Intel::DOMAIN","meta.source":"CPS-CTI"}"#
        );
        assert!(got[0].as_ref().unwrap().timestamp.is_none());
        assert!(looks_like_zeek("#separator \\x09"));
        assert!(looks_like_zeek("#separator\t\\x09"));
        assert!(looks_like_zeek("#fields\tindicator"));
        assert!(!looks_like_zeek("#separatorx"));
        assert!(!looks_like_zeek("#Fields: date time"));
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape(r"\x2c\\a\,b\x\x+f"), r",\a\,b\x\x+f");
        assert_eq!(unescape(r"bad \xff byte"), r"bad \xff byte");
        assert_eq!(unescape(r"\xc3\xa9"), "é");
        assert_eq!(epoch("1379288667.631940").unwrap().to_string(), "2013-09-15T23:44:27.63194Z");
        assert_eq!(epoch("4.294967e+09"), None);
    }
}
