//! Generic `key=value` lines (firewall and appliance logs such as
//! `date=2026-03-03 time=07:01:12 devname="fw-01" srcip=203.0.113.7 ...`).
//!
//! Pairs are separated by spaces; a value is either a run of non-space
//! characters or a double-quoted string (`\"` and `\\` are its escapes; an
//! unterminated quote runs to the end of the line). Tokens that are not
//! pairs are ignored. Each key becomes a field, in line order; the time is
//! taken from `date` + `time` when both are present, otherwise as for any
//! flat record (`timestamp`, `time`, `ts`...). A line without a single pair
//! is a [`ReadError`]. Events are of kind [`SourceKind::Json`]: there is no
//! Sigma logsource for such lines.
//!
//! This module also holds [`LineFeed`], the line framing shared by the
//! line-per-record readers (`kv`, `cef`, `web`, `zeek`).

use std::io::BufRead;

use ferret_model::{Event, Location, SourceKind, Value};

use crate::flat::finish_flat;
use crate::lines::{Line, LineError, Lines};
use crate::time::parse_timestamp;
use crate::{ReadError, ReadResult, SourceContext};

/// How many pairs a line needs before sniffing takes it for `key=value`.
const MIN_PAIRS: usize = 3;

/// Framed lines with framing problems already turned into [`ReadError`]s:
/// an over-long line is an error for that line, an I/O error is reported at
/// the line it interrupted and ends the stream.
pub(crate) struct LineFeed<R> {
    lines: Lines<R>,
    last_line: u64,
    done: bool,
}

impl<R: BufRead> LineFeed<R> {
    pub(crate) fn new(input: R, ctx: &SourceContext) -> Self {
        Self { lines: Lines::new(input, ctx.options.max_line_bytes), last_line: 0, done: false }
    }

    /// The next non-blank line, or the error that replaced a line.
    pub(crate) fn next_line(&mut self, ctx: &SourceContext) -> Option<Result<Line, ReadError>> {
        while !self.done {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(LineError::TooLong { number, len, .. }) => {
                    self.last_line = number;
                    let limit = ctx.options.max_line_bytes;
                    let message = format!("line of {len} bytes is longer than the limit of {limit}; skipped");
                    return Some(Err(line_error(ctx, number, message)));
                }
                Err(LineError::Io(e)) => {
                    self.done = true;
                    return Some(Err(line_error(ctx, self.last_line + 1, format!("read error: {e}"))));
                }
            };
            self.last_line = line.number;
            if !line.text.trim().is_empty() {
                return Some(Ok(line));
            }
        }
        None
    }
}

/// An error at line `number` of the source.
pub(crate) fn line_error(ctx: &SourceContext, number: u64, message: impl Into<String>) -> ReadError {
    ReadError::new(&ctx.source, Some(Location::Line(number)), message)
}

/// True when `line` holds at least three `key=value` pairs.
pub fn looks_like_kv(line: &str) -> bool {
    let mut count = 0;
    for_each_pair(line, |_, _| count += 1);
    count >= MIN_PAIRS
}

/// Streams `key=value` lines as events.
pub struct KvReader<R> {
    feed: LineFeed<R>,
    ctx: SourceContext,
}

impl<R: BufRead> KvReader<R> {
    pub fn new(input: R, ctx: SourceContext) -> Self {
        Self { feed: LineFeed::new(input, &ctx), ctx }
    }

    fn event(&mut self, line: Line) -> ReadResult {
        let mut event = Event::new(SourceKind::Json, self.ctx.provenance(Location::Line(line.number)));
        let (mut date, mut time) = (None, None);
        let fields = &mut self.ctx.fields;
        for_each_pair(&line.text, |key, value| {
            match key {
                "date" => date = Some(value.clone()),
                "time" => time = Some(value.clone()),
                _ => {}
            }
            event.push(fields.intern(key), Value::text(value));
        });
        if event.fields.is_empty() {
            return Err(line_error(&self.ctx, line.number, "no key=value pairs"));
        }
        if let (Some(date), Some(time)) = (date, time) {
            event.timestamp = parse_timestamp(&format!("{date}T{time}"));
        }
        finish_flat(&mut event, &mut self.ctx.fields);
        event.raw = Some(line.text.into_boxed_str());
        Ok(event)
    }
}

impl<R: BufRead> Iterator for KvReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        match self.feed.next_line(&self.ctx)? {
            Ok(line) => Some(self.event(line)),
            Err(e) => Some(Err(e)),
        }
    }
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':' | b'@' | b'/' | b'[' | b']')
}

/// Calls `f` with every pair of `line`, values unquoted and unescaped.
fn for_each_pair(line: &str, mut f: impl FnMut(&str, String)) {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_key_byte(b[i]) {
            i += 1;
        }
        if i == start || i >= b.len() || b[i] != b'=' {
            // Not a pair: skip the token (a quoted one as a whole).
            i = skip_token(b, i);
            continue;
        }
        let key = &line[start..i];
        i += 1;
        let value = if b.get(i) == Some(&b'"') {
            let (value, end) = quoted(line, i + 1);
            i = end;
            value
        } else {
            let end = b[i..].iter().position(u8::is_ascii_whitespace).map_or(b.len(), |n| i + n);
            let value = line[i..end].to_owned();
            i = end;
            value
        };
        f(key, value);
    }
}

/// The end of the token at `i`: the next whitespace outside quotes.
fn skip_token(b: &[u8], mut i: usize) -> usize {
    let mut in_quotes = false;
    while i < b.len() {
        match b[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            c if c.is_ascii_whitespace() && !in_quotes => return i,
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// A double-quoted value starting after its opening quote at `start`:
/// the unescaped text and the index after the closing quote.
fn quoted(line: &str, start: usize) -> (String, usize) {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut i = start;
    let mut run = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&line[run..i]);
                return (out, i + 1);
            }
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\')) => {
                out.push_str(&line[run..i]);
                run = i + 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    out.push_str(&line[run..]);
    (out, b.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_model::FieldNames;

    fn pairs(line: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_pair(line, |k, v| out.push((k.to_owned(), v)));
        out
    }

    fn owned(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pairs_quotes_escapes_and_junk() {
        assert_eq!(
            pairs(r#"a=1 b="two words" c="say \"hi\" \\ ok" junk d= e=x=y"#),
            owned(&[("a", "1"), ("b", "two words"), ("c", r#"say "hi" \ ok"#), ("d", ""), ("e", "x=y")])
        );
        assert_eq!(pairs(r#"msg="unterminated value"#), owned(&[("msg", "unterminated value")]));
        assert_eq!(pairs(r#""quoted junk = here" k=v"#), owned(&[("k", "v")]));
        assert_eq!(pairs("=x ==y"), Vec::<(String, String)>::new());
        assert!(looks_like_kv("a=1 b=2 c=3"));
        assert!(!looks_like_kv("a=1 b=2 and some prose"));
        assert!(!looks_like_kv("Notes: nothing = here"));
    }

    /// Mutated lines of every line format through every line reader: no
    /// panic, and every error names its line.
    #[test]
    fn hostile_lines_never_panic() {
        let seeds = [
            r#"203.0.113.7 - u [03/Mar/2026:07:01:12 +0000] "GET /a.b?c=d HTTP/1.1" 200 5 "r" "ua""#,
            "#Fields: date time cs-uri-stem sc-status\n2026-03-03 07:01:12 /x 200",
            "#separator \\x09\n#fields\tts\ta\n#types\ttime\tset[count]\n1.5\t1,2",
            r"<13>Mar  3 07:01:12 h CEF:0|V\|P|P|1|2|N|5|a=b\=c d=e rt=Mar 03 2026 07:01:12 UTC",
            r#"a=1 b="x \" y" c=3"#,
        ];
        let tricky = ['"', '\\', '=', '|', ' ', '[', ']', '?', '/', '.', '#', '\t', '\n', 'é', ':', '-', '0', 'x'];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..3000 {
            let mut text: Vec<char> = seeds[next(seeds.len())].chars().collect();
            for _ in 0..1 + next(4) {
                let at = next(text.len() + 1);
                match next(3) {
                    0 => text.insert(at, tricky[next(tricky.len())]),
                    1 if at < text.len() => {
                        text.remove(at);
                    }
                    _ => text.truncate(at),
                }
            }
            let text: String = text.into_iter().collect();
            let names = FieldNames::new();
            let ctx = || SourceContext::new("fuzz", names.clone(), Default::default());
            let input = text.as_bytes();
            let results: Vec<ReadResult> = crate::web::WebReader::new(input, ctx())
                .chain(crate::zeek::ZeekReader::new(input, ctx()))
                .chain(crate::cef::CefReader::new(input, ctx()))
                .chain(KvReader::new(input, ctx()))
                .collect();
            for error in results.iter().filter_map(|r| r.as_ref().err()) {
                assert!(matches!(error.location, Some(Location::Line(_))), "{text:?}: {error}");
            }
        }
    }

    #[test]
    fn lines_become_events_with_date_and_time() {
        let names = FieldNames::new();
        let ctx = SourceContext::new("t.log", names.clone(), Default::default());
        let input = "date=2026-03-03 time=07:01:12 srcip=203.0.113.7 action=\"deny all\"\n\nno pairs here\n\
                     ts=1772521272 a=1 b=2\n";
        let got: Vec<ReadResult> = KvReader::new(input.as_bytes(), ctx).collect();
        assert_eq!(got.len(), 3);
        let e = got[0].as_ref().unwrap();
        assert_eq!(e.kind, SourceKind::Json);
        assert_eq!(e.timestamp.unwrap().to_string(), "2026-03-03T07:01:12Z");
        assert_eq!(e.get(&names, "action"), Some(&Value::text("deny all")));
        let err = got[1].as_ref().unwrap_err();
        assert_eq!((err.location, err.message.as_str()), (Some(Location::Line(3)), "no key=value pairs"));
        assert_eq!(got[2].as_ref().unwrap().timestamp.unwrap().to_string(), "2026-03-03T07:01:12Z");
    }
}
