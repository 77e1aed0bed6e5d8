//! ArcSight Common Event Format lines:
//! `CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`,
//! alone or after a syslog header, one event per line.
//!
//! Events are of kind [`SourceKind::Json`] (Sigma has no logsource for CEF)
//! with the header as `cef.version`, `cef.device_vendor`,
//! `cef.device_product`, `cef.device_version`, `cef.signature_id`,
//! `cef.name` and `cef.severity` (a number when numeric), every extension
//! key as a field of its own name (`src`, `suser`, `cs1Label`, `cs1`...),
//! and `hostname` from the syslog header when there is one.
//!
//! Header fields unescape `\|` and `\\`; extension values unescape `\=`,
//! `\\`, `\n` and `\r` (an unescaped `=` inside a value, as in URLs, stays
//! part of the value unless a space and a key come before it). The time is
//! `rt`, else `end` (epoch milliseconds, or `MMM dd yyyy HH:mm:ss[.SSS]
//! [zone]`; without a year that of [`ReadOptions::assume_year`] or of the
//! file's modification time), else the syslog header's. A line whose header
//! has fewer than seven fields is a [`crate::ReadError`].
//!
//! [`ReadOptions::assume_year`]: crate::ReadOptions::assume_year

use std::io::BufRead;

use ferret_model::{Event, Field, FieldCache, Location, SourceKind, Timestamp, Value};
use jiff::civil::{DateTime, Time};
use jiff::tz::{Offset, TimeZone};

use crate::kv::{LineFeed, line_error};
use crate::lines::Line;
use crate::time::{parse_epoch, parse_timestamp};
use crate::web::MONTHS;
use crate::{ReadResult, SourceContext};

const HEADER: [&str; 7] = [
    "cef.version",
    "cef.device_vendor",
    "cef.device_product",
    "cef.device_version",
    "cef.signature_id",
    "cef.name",
    "cef.severity",
];

/// True when `line` is a CEF record, with or without a syslog header.
pub fn looks_like_cef(line: &str) -> bool {
    parse(line).is_ok()
}

/// Streams CEF lines as events.
pub struct CefReader<R> {
    feed: LineFeed<R>,
    ctx: SourceContext,
    header: [Field; 7],
    hostname: Field,
    /// The year for stamps that carry none.
    year: i16,
}

impl<R: BufRead> CefReader<R> {
    pub fn new(input: R, mut ctx: SourceContext) -> Self {
        let fields: &mut FieldCache = &mut ctx.fields;
        let header = HEADER.map(|name| fields.intern(name));
        let hostname = fields.intern("hostname");
        let year = ctx.options.assume_year.unwrap_or_else(|| {
            let reference = ctx.modified.unwrap_or_else(Timestamp::now);
            reference.to_zoned_datetime(TimeZone::UTC).year()
        });
        Self { feed: LineFeed::new(input, &ctx), ctx, header, hostname, year }
    }

    fn event(&mut self, line: Line) -> ReadResult {
        let cef = parse(&line.text).map_err(|reason| line_error(&self.ctx, line.number, reason))?;
        let mut event = Event::new(SourceKind::Json, self.ctx.provenance(Location::Line(line.number)));
        let prefix = syslog_prefix(cef.prefix, self.year);
        if let Some(host) = prefix.hostname {
            event.push(self.hostname, Value::text(host));
        }
        for (i, (field, value)) in self.header.iter().zip(cef.header).enumerate() {
            event.push(*field, if i == 6 { Value::number(value) } else { Value::text(value) });
        }
        let (mut rt, mut end) = (None, None);
        for (key, value) in cef.extension {
            match key {
                "rt" => rt = Some(value.clone()),
                "end" => end = Some(value.clone()),
                _ => {}
            }
            event.push(self.ctx.fields.intern(key), Value::text(value));
        }
        event.timestamp = rt
            .and_then(|t| cef_time(&t, self.year))
            .or_else(|| end.and_then(|t| cef_time(&t, self.year)))
            .or(prefix.time);
        event.raw = Some(line.text.into_boxed_str());
        Ok(event)
    }
}

impl<R: BufRead> Iterator for CefReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        match self.feed.next_line(&self.ctx)? {
            Ok(line) => Some(self.event(line)),
            Err(e) => Some(Err(e)),
        }
    }
}

/// One CEF line, cut into its parts.
struct Cef<'a> {
    /// What came before `CEF:` (a syslog header), trimmed.
    prefix: &'a str,
    header: Vec<String>,
    extension: Vec<(&'a str, String)>,
}

fn parse(line: &str) -> Result<Cef<'_>, String> {
    let start = line
        .match_indices("CEF:")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || line.as_bytes()[i - 1] == b' ')
        .ok_or("not a CEF line (no `CEF:`)")?;
    let (header, extension) = header(&line[start + 4..]);
    if header.len() < 7 {
        return Err(format!("CEF header has {} of 7 fields", header.len()));
    }
    if header[0].is_empty() || !header[0].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad CEF version {:?}", header[0]));
    }
    Ok(Cef { prefix: line[..start].trim(), header, extension: extension.map(pairs).unwrap_or_default() })
}

/// The header fields (at most seven, unescaped) and the extension after the
/// seventh `|`, if there is one.
fn header(text: &str) -> (Vec<String>, Option<&str>) {
    let mut fields = Vec::with_capacity(7);
    let mut field = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if text[i + 1..].starts_with(['|', '\\']) => {
                field.push(chars.next().map_or('\\', |(_, c)| c));
            }
            '|' => {
                fields.push(std::mem::take(&mut field));
                if fields.len() == 7 {
                    return (fields, Some(&text[i + 1..]));
                }
            }
            c => field.push(c),
        }
    }
    fields.push(field);
    (fields, None)
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']')
}

/// The extension's `key=value` pairs. A key is the word right before an
/// unescaped `=`, after a space; its value runs to the space before the next
/// key.
fn pairs(ext: &str) -> Vec<(&str, String)> {
    let b = ext.as_bytes();
    // (key start, index of its `=`)
    let mut keys: Vec<(usize, usize)> = Vec::new();
    let mut word = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b' ' => word = i + 1,
            b'=' => {
                let key = &b[word..i];
                let after_last = keys.last().is_none_or(|&(_, eq)| word > eq);
                if !key.is_empty() && key.iter().all(|&c| is_key_byte(c)) && after_last {
                    keys.push((word, i));
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut out = Vec::with_capacity(keys.len());
    for (n, &(start, eq)) in keys.iter().enumerate() {
        let end = keys.get(n + 1).map_or(b.len(), |&(next, _)| next);
        let value = ext[eq + 1..end].trim_end_matches(' ');
        out.push((&ext[start..eq], unescape_value(value)));
    }
    out
}

fn unescape_value(value: &str) -> String {
    if !value.contains('\\') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let decoded = match chars.peek() {
                Some('=') => Some('='),
                Some('\\') => Some('\\'),
                Some('n') => Some('\n'),
                Some('r') => Some('\r'),
                _ => None,
            };
            if let Some(d) = decoded {
                out.push(d);
                chars.next();
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// What a syslog header before `CEF:` says.
struct Prefix<'a> {
    hostname: Option<&'a str>,
    time: Option<Timestamp>,
}

/// `[<PRI>][1 ]TIMESTAMP HOST ...`: the time (RFC 3339, or `MMM dd
/// [yyyy] HH:mm:ss`) and the host after it.
fn syslog_prefix(prefix: &str, year: i16) -> Prefix<'_> {
    let mut rest = prefix;
    if let Some(body) = rest.strip_prefix('<')
        && let Some((pri, after)) = body.split_once('>')
        && pri.bytes().all(|b| b.is_ascii_digit())
    {
        rest = after.strip_prefix("1 ").unwrap_or(after);
    }
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (time, used) = match words.first().and_then(|w| parse_timestamp(w)) {
        Some(t) => (Some(t), 1),
        None => {
            let four = (words.len() >= 4 && words[2].len() == 4 && words[2].bytes().all(|b| b.is_ascii_digit()))
                .then(|| words[..4].join(" "));
            match four.as_deref().and_then(|s| cef_time(s, year)) {
                Some(t) => (Some(t), 4),
                None => match words.get(..3).and_then(|w| cef_time(&w.join(" "), year)) {
                    Some(t) => (Some(t), 3),
                    None => (None, 0),
                },
            }
        }
    };
    Prefix { hostname: words.get(used).copied().filter(|_| used > 0), time }
}

/// CEF's time forms: epoch milliseconds (or seconds), or
/// `MMM dd [yyyy] HH:mm:ss[.SSS] [zone]` with a zone of `UTC`, `GMT`, `Z` or
/// `±hh[:]mm` (other zone names give no time).
fn cef_time(text: &str, year: i16) -> Option<Timestamp> {
    let text = text.trim();
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return parse_epoch(text);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let name = words.first()?;
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))? as i8 + 1;
    let day: i8 = words.get(1)?.parse().ok()?;
    let (year, rest) = match words.get(2)?.parse::<i16>() {
        Ok(y) if words[2].len() == 4 => (y, &words[3..]),
        _ => (year, &words[2..]),
    };
    let clock: Time = rest.first()?.parse().ok()?;
    let offset = match rest.get(1..)? {
        [] => Offset::UTC,
        [zone] => zone_offset(zone)?,
        _ => return None,
    };
    let dt = DateTime::new(year, month, day, clock.hour(), clock.minute(), clock.second(), clock.subsec_nanosecond())
        .ok()?;
    offset.to_timestamp(dt).ok()
}

fn zone_offset(zone: &str) -> Option<Offset> {
    let zone = zone.strip_prefix("GMT").or_else(|| zone.strip_prefix("UTC")).unwrap_or(zone);
    if zone.is_empty() || zone == "Z" {
        return Some(Offset::UTC);
    }
    let sign = match zone.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = zone[1..].chars().filter(|&c| c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ReadOptions;
    use ferret_model::FieldNames;
    use std::sync::Arc;

    fn read(input: &str) -> (Arc<FieldNames>, Vec<ReadResult>) {
        let names = FieldNames::new();
        let options = ReadOptions { assume_year: Some(2026), ..ReadOptions::default() };
        let ctx = SourceContext::new("cef.log", names.clone(), options);
        let results = CefReader::new(input.as_bytes(), ctx).collect();
        (names, results)
    }

    fn json(names: &FieldNames, result: &ReadResult) -> String {
        serde_json::to_string(&result.as_ref().unwrap().fields_json(names)).unwrap()
    }

    #[test]
    fn header_extension_escapes_and_time() {
        let line = r"Sep 19 08:26:10 host CEF:0|Security|threat\|manager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 msg=a\=b c\\d\nnext request=http://x/?a=b&c=d rt=1772521272000";
        let (names, got) = read(line);
        let e = got[0].as_ref().unwrap();
        assert_eq!(e.kind, SourceKind::Json);
        assert_eq!(e.timestamp.unwrap().to_string(), "2026-03-03T07:01:12Z");
        assert_eq!(
            json(&names, &got[0]),
            r#"{"hostname":"host","cef.version":"0","cef.device_vendor":"Security","cef.device_product":"threat|manager","cef.device_version":"1.0","cef.signature_id":"100","cef.name":"worm successfully stopped","cef.severity":10,"src":"10.0.0.1","dst":"2.1.2.2","msg":"a=b c\\d\nnext","request":"http://x/?a=b&c=d","rt":"1772521272000"}"#
        );
    }

    #[test]
    fn times_prefixes_and_bad_headers() {
        let (names, got) = read(concat!(
            "CEF:0|V|P|1|2|N|High|end=Mar 03 2026 08:01:12 +01:00 suser=alice\n",
            "<134>2026-03-03T07:01:12Z fw-01 CEF:1|V|P|1|2|N|3|\n",
            "CEF:0|V|P|1|2|N\n",
            "<13>Mar  3 07:01:12 fw-02 CEF:0|V|P|1|2|N|5\n",
            "CEF:x|V|P|1|2|N|5|\n",
            "CEF:0|V|P|1|2|N|5|rt=Mar 03 07:01:12.250 PST\n",
        ));
        let time = |i: usize| got[i].as_ref().unwrap().timestamp.map(|t| t.to_string());
        assert_eq!(time(0).as_deref(), Some("2026-03-03T07:01:12Z"));
        assert_eq!(got[0].as_ref().unwrap().get(&names, "cef.severity"), Some(&Value::text("High")));
        assert_eq!(time(1).as_deref(), Some("2026-03-03T07:01:12Z"));
        assert_eq!(got[1].as_ref().unwrap().get(&names, "hostname"), Some(&Value::text("fw-01")));
        assert_eq!(got[2].as_ref().unwrap_err().message, "CEF header has 6 of 7 fields");
        assert_eq!(time(3).as_deref(), Some("2026-03-03T07:01:12Z"));
        assert_eq!(got[3].as_ref().unwrap().get(&names, "hostname"), Some(&Value::text("fw-02")));
        assert!(got[4].as_ref().unwrap_err().message.contains("bad CEF version"));
        assert_eq!(time(5), None, "an unknown zone name gives no time");
        assert_eq!(cef_time("Mar 03 07:01:12.250", 2026).unwrap().to_string(), "2026-03-03T07:01:12.25Z");
    }

    #[test]
    fn extension_pairs() {
        let got = pairs(r"a=1 b=two words c= d=x\=y e\=f=g ==h");
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(got, [("a", "1"), ("b", "two words"), ("c", ""), ("d", "x=y e=f=g ==h")]);
        assert!(looks_like_cef("CEF:0|a|b|c|d|e|f|"));
        assert!(!looks_like_cef("xCEF:0|a|b|c|d|e|f|"));
    }
}
