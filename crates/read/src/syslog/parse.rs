//! Splitting one syslog line into its parts: no I/O, no year inference.
//!
//! Three shapes are recognised, each optionally behind a `<PRI>`:
//!
//! * RFC 3164 / BSD: `Mmm dd hh:mm:ss host tag[pid]: msg`
//! * RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]`
//! * RFC 3339-stamped (rsyslog's high-precision default):
//!   `2026-11-28T03:14:07.123456+00:00 host tag[pid]: msg`
//!
//! The timestamp and hostname are what make a line syslog; the tag is
//! optional because real logs carry untagged lines (`syslogd 1.4.1:
//! restart.`, kernel relays), which stay events with only a message.

use std::borrow::Cow;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

/// The time a line carries, before any year is inferred.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Stamp {
    /// RFC 3164: month, day and time of day, no year and no zone.
    Bsd { month: i8, day: i8, hour: i8, minute: i8, second: i8 },
    /// A complete instant (RFC 3339 / RFC 5424), already in UTC.
    Exact(Timestamp),
    /// RFC 5424's NILVALUE `-`: the sender did not know the time.
    Nil,
}

/// One RFC 5424 SD-PARAM with its element's SD-ID.
#[derive(Debug, PartialEq)]
pub(crate) struct SdParam<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub value: Cow<'a, str>,
}

/// The parts of a line; absent or NILVALUE parts are `None`.
#[derive(Debug, PartialEq)]
pub(crate) struct Parsed<'a> {
    pub pri: Option<u8>,
    pub stamp: Stamp,
    pub hostname: Option<&'a str>,
    pub program: Option<&'a str>,
    pub pid: Option<&'a str>,
    pub msgid: Option<&'a str>,
    pub sd: Vec<SdParam<'a>>,
    pub message: Option<&'a str>,
}

const MONTHS: [&[u8; 3]; 12] =
    [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];

/// Days per month in a leap year: the most a month can have whatever year
/// is inferred later (Feb 29 is re-checked once the year is known).
const MAX_DAYS: [i8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Splits `line` (without its line terminator) or says briefly why it is
/// not syslog.
pub(crate) fn parse(line: &str) -> Result<Parsed<'_>, &'static str> {
    let (pri, rest) = split_pri(line)?;
    if pri.is_some()
        && let Some(rest) = rest.strip_prefix("1 ")
    {
        return parse_5424(pri, rest);
    }
    let b = rest.as_bytes();
    let (stamp, rest) = if b.len() > 4 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' {
        let end = memchr::memchr(b' ', b).unwrap_or(b.len());
        (Stamp::Exact(parse_rfc3339(&rest[..end])?), &rest[end..])
    } else if b.first().is_some_and(u8::is_ascii_uppercase) {
        parse_bsd_stamp(rest)?
    } else {
        return Err("not a syslog line (no timestamp)");
    };
    let (hostname, program, pid, message) = split_host_and_tag(rest)?;
    Ok(Parsed { pri, stamp, hostname, program, pid, msgid: None, sd: Vec::new(), message })
}

/// `<PRI>`: one to three digits, at most 191 (facility 23, severity 7).
fn split_pri(line: &str) -> Result<(Option<u8>, &str), &'static str> {
    let Some(rest) = line.strip_prefix('<') else {
        return Ok((None, line));
    };
    let end = rest.bytes().take(4).position(|b| b == b'>').filter(|&end| end > 0).ok_or("malformed <PRI>")?;
    let digits = &rest[..end];
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("malformed <PRI>");
    }
    match digits.parse::<u8>() {
        Ok(pri) if pri <= 191 => Ok((Some(pri), &rest[end + 1..])),
        _ => Err("<PRI> out of range (0-191)"),
    }
}

/// `Mmm dd hh:mm:ss`, the day space-padded (`Dec  1`) or not (`Dec 01`,
/// `Dec 1`). Returns the stamp and what follows it.
fn parse_bsd_stamp(s: &str) -> Result<(Stamp, &str), &'static str> {
    const BAD: &str = "not a syslog line (bad timestamp)";
    let b = s.as_bytes();
    let month = MONTHS.iter().position(|m| b.starts_with(*m)).ok_or("not a syslog line (no timestamp)")?;
    let mut i = 3;
    if b.get(i) != Some(&b' ') {
        return Err(BAD);
    }
    i += 1;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let day_start = i;
    while i < b.len() && i - day_start < 2 && b[i].is_ascii_digit() {
        i += 1;
    }
    let day = digits_value(&b[day_start..i]).ok_or(BAD)?;
    if b.get(i) != Some(&b' ') {
        return Err(BAD);
    }
    let (hour, minute, second) = parse_hms(b.get(i + 1..i + 9).ok_or(BAD)?).ok_or(BAD)?;
    if day == 0 || day > MAX_DAYS[month] as u32 {
        return Err("invalid date");
    }
    let stamp = Stamp::Bsd { month: month as i8 + 1, day: day as i8, hour, minute, second };
    Ok((stamp, &s[i + 9..]))
}

/// `hh:mm:ss`, exactly eight bytes; a leap second (60) is accepted here
/// and clamped when the instant is built.
fn parse_hms(b: &[u8]) -> Option<(i8, i8, i8)> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = digits_value(&b[0..2])?;
    let m = digits_value(&b[3..5])?;
    let s = digits_value(&b[6..8])?;
    (h < 24 && m < 60 && s <= 60).then_some((h as i8, m as i8, s as i8))
}

/// The value of a short run of ASCII digits; `None` if empty or not digits.
fn digits_value(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// An RFC 3339 date-time with a mandatory offset (`Z` or `±hh:mm`) and up
/// to nine fraction digits, converted to UTC. Checked by hand first so
/// that only this exact shape is syslog (jiff's parser is more liberal).
pub(crate) fn parse_rfc3339(s: &str) -> Result<Timestamp, &'static str> {
    const BAD: &str = "bad RFC 3339 timestamp";
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(BAD);
    }
    let year = digits_value(&b[0..4]).ok_or(BAD)?;
    let month = digits_value(&b[5..7]).ok_or(BAD)?;
    let day = digits_value(&b[8..10]).ok_or(BAD)?;
    let (hour, minute, second) = parse_hms(&b[11..19]).ok_or(BAD)?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let frac = &b[start..i];
        if frac.is_empty() || frac.len() > 9 {
            return Err(BAD);
        }
        nanos = digits_value(frac).ok_or(BAD)? * 10u32.pow(9 - frac.len() as u32);
    }
    let offset_seconds = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits_value(&[*h1, *h2]).ok_or(BAD)?;
            let m = digits_value(&[*m1, *m2]).ok_or(BAD)?;
            if h > 23 || m > 59 {
                return Err(BAD);
            }
            let secs = (h * 3600 + m * 60) as i32;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return Err(BAD),
    };
    // A leap second has no representation in jiff; like jiff's own parser,
    // clamp it to :59 rather than reject a line a sender stamped honestly.
    let dt = DateTime::new(year as i16, month as i8, day as i8, hour, minute, second.min(59), nanos as i32)
        .map_err(|_| "invalid date")?;
    let offset = Offset::from_seconds(offset_seconds).map_err(|_| BAD)?;
    offset.to_timestamp(dt).map_err(|_| "timestamp out of range")
}

/// A date-time without offset or a BSD stamp with a year, as UTC.
pub(crate) fn utc(dt: DateTime) -> Result<Timestamp, &'static str> {
    TimeZone::UTC.to_timestamp(dt).map_err(|_| "timestamp out of range")
}

type HostTag<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// ` host tag[pid]: msg` after an RFC 3164 or RFC 3339 timestamp.
fn split_host_and_tag(s: &str) -> Result<HostTag<'_>, &'static str> {
    let s = s.strip_prefix(' ').ok_or("not a syslog line (no space after the timestamp)")?.trim_start_matches(' ');
    let host_end = memchr::memchr(b' ', s.as_bytes()).unwrap_or(s.len());
    let host = &s[..host_end];
    if host.is_empty() {
        return Err("not a syslog line (no hostname)");
    }
    // Hostnames never end in ':'; a first token like `sshd[42]:` or
    // `kernel:` means a sender that omitted the hostname.
    if host.ends_with(':') {
        let (program, pid, message) = split_tag(s);
        return Ok((None, program, pid, Some(message)));
    }
    let rest = s[host_end..].trim_start_matches(' ');
    if rest.is_empty() {
        return Ok((Some(host), None, None, None));
    }
    let (program, pid, message) = split_tag(rest);
    Ok((Some(host), program, pid, Some(message)))
}

/// `tag[pid]: msg`, `tag: msg`, or (no colon, only with a numeric pid)
/// `tag[pid] msg`. Anything else is a message without a tag, kept whole.
fn split_tag(s: &str) -> (Option<&str>, Option<&str>, &str) {
    let b = s.as_bytes();
    let end = b.iter().position(|&c| c == b'[' || c == b':' || c.is_ascii_whitespace()).unwrap_or(b.len());
    if end == 0 {
        return (None, None, s);
    }
    let tag = &s[..end];
    match b.get(end) {
        Some(b':') => (Some(tag), None, strip_one_space(&s[end + 1..])),
        Some(b'[') => {
            let inner_start = end + 1;
            let Some(close) = memchr::memchr(b']', &b[inner_start..]) else {
                return (None, None, s);
            };
            let pid = &s[inner_start..inner_start + close];
            let after = &s[inner_start + close + 1..];
            let plausible = !pid.is_empty() && !pid.bytes().any(|c| c.is_ascii_whitespace() || c == b'[');
            let numeric = plausible && pid.bytes().all(|c| c.is_ascii_digit());
            if plausible && let Some(message) = after.strip_prefix(':') {
                (Some(tag), Some(pid), strip_one_space(message))
            } else if numeric && let Some(message) = after.strip_prefix(' ') {
                (Some(tag), Some(pid), message)
            } else if numeric && after.is_empty() {
                (Some(tag), Some(pid), "")
            } else {
                (None, None, s)
            }
        }
        _ => (None, None, s),
    }
}

fn strip_one_space(s: &str) -> &str {
    s.strip_prefix(' ').unwrap_or(s)
}

/// The header after `<PRI>1 `.
fn parse_5424(pri: Option<u8>, s: &str) -> Result<Parsed<'_>, &'static str> {
    let (stamp, s) = token(s)?;
    let stamp = if stamp == "-" { Stamp::Nil } else { Stamp::Exact(parse_rfc3339(stamp)?) };
    let (hostname, s) = token(s)?;
    let (app, s) = token(s)?;
    let (procid, s) = token(s)?;
    let (msgid, s) = token(s)?;
    let (sd, s) = if let Some(rest) = s.strip_prefix('-') {
        (Vec::new(), rest)
    } else if s.starts_with('[') {
        parse_sd(s)?
    } else {
        return Err("RFC 5424: missing structured data");
    };
    let message = if s.is_empty() {
        None
    } else if let Some(msg) = s.strip_prefix(' ') {
        Some(msg.strip_prefix('\u{feff}').unwrap_or(msg))
    } else {
        return Err("RFC 5424: malformed structured data");
    };
    Ok(Parsed {
        pri,
        stamp,
        hostname: not_nil(hostname),
        program: not_nil(app),
        pid: not_nil(procid),
        msgid: not_nil(msgid),
        sd,
        message,
    })
}

fn not_nil(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

/// One space-terminated RFC 5424 header field; the space is consumed.
fn token(s: &str) -> Result<(&str, &str), &'static str> {
    let end = memchr::memchr(b' ', s.as_bytes()).ok_or("RFC 5424: truncated header")?;
    if end == 0 {
        return Err("RFC 5424: empty header field");
    }
    Ok((&s[..end], &s[end + 1..]))
}

/// SD-NAME: 1 to 32 printable ASCII characters except `=`, space, `]`
/// and `"`; returns the name and what follows it.
fn sd_name(s: &str) -> Result<(&str, &str), &'static str> {
    let end = s.bytes().position(|c| !(33..=126).contains(&c) || matches!(c, b'=' | b']' | b'"')).unwrap_or(s.len());
    if end == 0 || end > 32 {
        return Err("RFC 5424: malformed structured data");
    }
    Ok((&s[..end], &s[end..]))
}

/// One or more `[SD-ID PARAM="value" ...]` elements, escapes decoded.
fn parse_sd(mut s: &str) -> Result<(Vec<SdParam<'_>>, &str), &'static str> {
    const BAD: &str = "RFC 5424: malformed structured data";
    let mut params = Vec::new();
    while let Some(rest) = s.strip_prefix('[') {
        let (id, rest) = sd_name(rest)?;
        s = rest;
        loop {
            if let Some(rest) = s.strip_prefix(']') {
                s = rest;
                break;
            }
            let rest = s.strip_prefix(' ').ok_or(BAD)?;
            let (name, rest) = sd_name(rest)?;
            let rest = rest.strip_prefix("=\"").ok_or(BAD)?;
            let (value, rest) = sd_value(rest)?;
            params.push(SdParam { id, name, value });
            s = rest;
        }
    }
    Ok((params, s))
}

/// A PARAM-VALUE up to its closing quote. `\"`, `\\` and `\]` are escapes;
/// a backslash before anything else is kept, as RFC 5424 §6.3.3 says.
fn sd_value(s: &str) -> Result<(Cow<'_, str>, &str), &'static str> {
    let b = s.as_bytes();
    let end = memchr::memchr2(b'"', b'\\', b).ok_or("RFC 5424: unterminated PARAM-VALUE")?;
    if b[end] == b'"' {
        return Ok((Cow::Borrowed(&s[..end]), &s[end + 1..]));
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => return Ok((Cow::Owned(out), &s[i + 1..])),
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                out.push(b[i + 1] as char);
                i += 2;
            }
            _ => {
                // Copy up to the next special byte in one go (keeps UTF-8
                // sequences whole).
                let next = memchr::memchr2(b'"', b'\\', &b[i + 1..]).map_or(b.len(), |n| i + 1 + n);
                out.push_str(&s[i..next]);
                i = next;
            }
        }
    }
    Err("RFC 5424: unterminated PARAM-VALUE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pids_and_untagged_messages() {
        let cases = [
            ("sshd[42]: hi", (Some("sshd"), Some("42"), "hi")),
            ("kernel: [ 1.0] x", (Some("kernel"), None, "[ 1.0] x")),
            ("sshd(pam_unix)[7]: x", (Some("sshd(pam_unix)"), Some("7"), "x")),
            ("app[worker-1]: x", (Some("app"), Some("worker-1"), "x")),
            ("su[12] no colon", (Some("su"), Some("12"), "no colon")),
            ("su[12]", (Some("su"), Some("12"), "")),
            ("app:", (Some("app"), None, "")),
            // Not obviously a tag: the whole text is the message.
            ("app[worker-1] no colon", (None, None, "app[worker-1] no colon")),
            ("syslogd 1.4.1: restart.", (None, None, "syslogd 1.4.1: restart.")),
            ("-- root[2421]: ROOT LOGIN", (None, None, "-- root[2421]: ROOT LOGIN")),
            ("[42]: x", (None, None, "[42]: x")),
            ("app[42 x", (None, None, "app[42 x")),
        ];
        for (text, expected) in cases {
            assert_eq!(split_tag(text), expected, "{text}");
        }
    }

    #[test]
    fn pri_bounds() {
        assert_eq!(split_pri("<0>x"), Ok((Some(0), "x")));
        assert_eq!(split_pri("<191>x"), Ok((Some(191), "x")));
        assert_eq!(split_pri("x"), Ok((None, "x")));
        for bad in ["<192>x", "<0013>x", "<13", "<>x", "<1a>x", "<-1>x"] {
            assert!(split_pri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_shapes() {
        let ok = |s: &str| parse_rfc3339(s).unwrap().to_string();
        assert_eq!(ok("2026-11-28T03:14:07Z"), "2026-11-28T03:14:07Z");
        assert_eq!(ok("2026-11-28t03:14:07z"), "2026-11-28T03:14:07Z");
        assert_eq!(ok("2026-11-28T03:14:07.1+00:00"), "2026-11-28T03:14:07.1Z");
        assert_eq!(ok("2026-11-28T03:14:07.123456789-00:30"), "2026-11-28T03:44:07.123456789Z");
        assert_eq!(ok("2026-01-01T00:30:00+01:00"), "2025-12-31T23:30:00Z");
        // A leap second is clamped, as jiff's own parser does.
        assert_eq!(ok("2016-12-31T23:59:60Z"), "2016-12-31T23:59:59Z");
        for bad in [
            "2026-11-28T03:14:07",
            "2026-11-28 03:14:07Z",
            "2026-11-28T03:14:07.Z",
            "2026-11-28T03:14:07.1234567890Z",
            "2026-11-28T03:14:07+0100",
            "2026-11-28T03:14:07+24:00",
            "2026-11-28T3:14:07Z",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sd_values_decode_escapes_and_keep_utf8() {
        assert_eq!(sd_value(r#"plain" rest"#), Ok((Cow::Borrowed("plain"), " rest")));
        assert_eq!(sd_value(r#"ü\"ñ\\\]\x"]"#), Ok((Cow::Owned(r#"ü"ñ\]\x"#.into()), "]")));
        assert!(sd_value(r#"no end\""#).is_err());
        let (params, rest) = parse_sd(r#"[a@1 x="1"][b y="2" z="3"] msg"#).unwrap();
        let flat: Vec<_> = params.iter().map(|p| (p.id, p.name, &*p.value)).collect();
        assert_eq!(flat, [("a@1", "x", "1"), ("b", "y", "2"), ("b", "z", "3")]);
        assert_eq!(rest, " msg");
        for bad in [r#"[]"#, r#"[a x="1""#, r#"[a x=1]"#, r#"[a ="1"]"#, r#"[a  x="1"]"#] {
            assert!(parse_sd(bad).is_err(), "{bad}");
        }
    }
}
