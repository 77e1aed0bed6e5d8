//! Syslog files: RFC 3164 (BSD), RFC 5424, and RFC 3339-stamped rsyslog
//! lines, one event per line.
//!
//! Each line becomes an [`Event`] of kind [`SourceKind::Syslog`] with the
//! fields of `docs/FIELDS.md` (`hostname`, `program`, `pid`, `message`,
//! `facility`, `severity`, `msgid`, `sd.<id>.<param>`), the raw line, and
//! the auth.log semantics of [`crate::auth`]. Empty lines are skipped; a
//! line in no known format is a [`ReadError`] and reading goes on.
//!
//! # Years of RFC 3164 timestamps
//!
//! `Dec 10 06:55:46` carries no year and no zone; the zone is taken to be
//! UTC and the year is chosen thus:
//!
//! 1. The first such line of a file gets [`ReadOptions::assume_year`] when
//!    set. Otherwise the year of the reference date (the file's
//!    modification time, or today when unknown), unless the line's
//!    month/day falls more than one day after the reference date: a log
//!    cannot be written after its file was last modified, so such a line is
//!    from the year before (the file crossed New Year). The one day of
//!    slack absorbs time-zone differences between the host and UTC.
//! 2. Each later line keeps the year of the line before it, except that a
//!    month at least six months earlier than the previous line's (Dec →
//!    Jan) means the log rolled over into a new year, so the year goes up
//!    by one. Years never go down within a file: small backward steps are
//!    out-of-order lines, not time travel.
//!
//! An RFC 3339 or RFC 5424 line carries its year, and later RFC 3164 lines
//! continue from it. A date that does not exist in the chosen year (Feb 29
//! of a common year, Feb 30) is an error for that line.
//!
//! [`ReadOptions::assume_year`]: crate::ReadOptions::assume_year

mod parse;

use std::io::BufRead;

use ferret_model::{Event, Field, Location, SourceKind, Timestamp, Value};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

use crate::lines::{LineError, Lines};
use crate::{ReadError, ReadResult, SourceContext, auth};
use parse::{Parsed, Stamp, parse};

/// RFC 5424 §6.2.1 facility codes, named as rsyslog names them.
pub(crate) const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp",
    "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

/// RFC 5424 §6.2.1 severities, named as `<syslog.h>` names them.
pub(crate) const SEVERITIES: [&str; 8] = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];

/// How far back (in months) the month must jump between two consecutive
/// lines before it counts as a New Year rollover rather than disorder.
const ROLLOVER_MONTHS: i8 = 6;

/// True when `line` looks like a syslog line in one of the supported
/// formats: a timestamp (RFC 3164, RFC 3339 or `<PRI>1` RFC 5424) followed
/// by a hostname. Format sniffing calls it on the first non-empty lines.
pub fn looks_like_syslog(line: &str) -> bool {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    parse(line).is_ok()
}

/// Streams the lines of a syslog file as events.
pub struct SyslogReader<R> {
    lines: Lines<R>,
    ctx: SourceContext,
    names: Names,
    years: Years,
    last_line: u64,
    read: u64,
    skipped: u64,
    done: bool,
}

/// The header field symbols, interned once per reader.
struct Names {
    hostname: Field,
    program: Field,
    pid: Field,
    message: Field,
    facility: Field,
    severity: Field,
    msgid: Field,
}

impl<R: BufRead> SyslogReader<R> {
    pub fn new(input: R, mut ctx: SourceContext) -> Self {
        let names = Names {
            hostname: ctx.fields.intern("hostname"),
            program: ctx.fields.intern("program"),
            pid: ctx.fields.intern("pid"),
            message: ctx.fields.intern("message"),
            facility: ctx.fields.intern("facility"),
            severity: ctx.fields.intern("severity"),
            msgid: ctx.fields.intern("msgid"),
        };
        let reference = ctx.modified.unwrap_or_else(Timestamp::now);
        let years = Years {
            assumed: ctx.options.assume_year,
            reference: reference.to_zoned_datetime(TimeZone::UTC).date(),
            last: None,
        };
        Self {
            lines: Lines::new(input, ctx.options.max_line_bytes),
            names,
            years,
            ctx,
            last_line: 0,
            read: 0,
            skipped: 0,
            done: false,
        }
    }

    /// Lines read, lines skipped so far. Every framed line counts as read;
    /// a line that produced no event (empty, too long, or not syslog) also
    /// counts as skipped, so `read - skipped` is the number of events.
    pub fn counts(&self) -> (u64, u64) {
        (self.read, self.skipped)
    }

    fn error(&self, line: u64, message: impl Into<String>) -> ReadError {
        ReadError::new(&self.ctx.source, Some(Location::Line(line)), message)
    }

    fn event(&mut self, number: u64, text: String) -> ReadResult {
        // A UTF-8 byte-order mark may start a file; it is not part of the
        // first header.
        let body = match number {
            1 => text.strip_prefix('\u{feff}').unwrap_or(&text),
            _ => &text,
        };
        let parsed = parse(body).map_err(|reason| self.error(number, reason))?;
        let timestamp = match parsed.stamp {
            Stamp::Bsd { month, day, hour, minute, second } => Some(
                self.years.resolve(month, day, hour, minute, second).map_err(|reason| self.error(number, reason))?,
            ),
            Stamp::Exact(t) => {
                self.years.observe(t);
                Some(t)
            }
            Stamp::Nil => None,
        };
        let mut event = Event::new(SourceKind::Syslog, self.ctx.provenance(Location::Line(number)));
        event.timestamp = timestamp;
        self.push_fields(&mut event, &parsed);
        if let (Some(program), Some(message)) = (parsed.program, parsed.message) {
            auth::annotate(&mut event, program, message, &mut self.ctx.fields);
        }
        event.raw = Some(text.into_boxed_str());
        Ok(event)
    }

    fn push_fields(&mut self, event: &mut Event, parsed: &Parsed<'_>) {
        let n = &self.names;
        if let Some(host) = parsed.hostname {
            event.push(n.hostname, Value::text(host));
        }
        if let Some(program) = parsed.program {
            event.push(n.program, Value::text(program));
        }
        if let Some(pid) = parsed.pid {
            event.push(n.pid, Value::number(pid));
        }
        if let Some(message) = parsed.message {
            event.push(n.message, Value::text(message));
        }
        if let Some(pri) = parsed.pri {
            event.push(n.facility, Value::text(FACILITIES[usize::from(pri / 8)]));
            event.push(n.severity, Value::text(SEVERITIES[usize::from(pri % 8)]));
        }
        if let Some(msgid) = parsed.msgid {
            event.push(n.msgid, Value::text(msgid));
        }
        for p in &parsed.sd {
            let field = self.ctx.fields.intern(&format!("sd.{}.{}", p.id, p.name));
            event.push(field, Value::text(&*p.value));
        }
    }
}

impl<R: BufRead> Iterator for SyslogReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        while !self.done {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(LineError::TooLong { number, len, .. }) => {
                    self.last_line = number;
                    self.read += 1;
                    self.skipped += 1;
                    let limit = self.ctx.options.max_line_bytes;
                    return Some(Err(
                        self.error(number, format!("line of {len} bytes is longer than the limit of {limit}; skipped"))
                    ));
                }
                Err(LineError::Io(e)) => {
                    // The stream is unusable past an I/O error: report it at
                    // the line it interrupted and stop.
                    self.done = true;
                    return Some(Err(self.error(self.last_line + 1, format!("read error: {e}"))));
                }
            };
            self.last_line = line.number;
            self.read += 1;
            if line.text.trim().is_empty() {
                self.skipped += 1;
                continue;
            }
            let result = self.event(line.number, line.text);
            if result.is_err() {
                self.skipped += 1;
            }
            return Some(result);
        }
        None
    }
}

/// The year state of one file; see the module documentation.
struct Years {
    assumed: Option<i16>,
    /// The UTC date the file was last modified (or today).
    reference: Date,
    /// Year and month of the last line that had a valid time.
    last: Option<(i16, i8)>,
}

impl Years {
    fn year_for(&self, month: i8, day: i8) -> i16 {
        match self.last {
            Some((year, last_month)) if last_month - month >= ROLLOVER_MONTHS => year.saturating_add(1),
            Some((year, _)) => year,
            None => self.assumed.unwrap_or_else(|| first_year(self.reference, month, day)),
        }
    }

    /// The instant of an RFC 3164 stamp, advancing the file's year state.
    fn resolve(&mut self, month: i8, day: i8, hour: i8, minute: i8, second: i8) -> Result<Timestamp, String> {
        let year = self.year_for(month, day);
        // A leap second cannot be represented; clamp as RFC 3339 lines do.
        let dt = DateTime::new(year, month, day, hour, minute, second.min(59), 0)
            .map_err(|_| format!("invalid date: {month:02}-{day:02} does not exist in {year}"))?;
        let t = parse::utc(dt)?;
        self.last = Some((year, month));
        Ok(t)
    }

    /// Takes the year from a line that carries one.
    fn observe(&mut self, t: Timestamp) {
        let date = t.to_zoned_datetime(TimeZone::UTC).date();
        self.last = Some((date.year(), date.month()));
    }
}

/// The year of the first yearless line, given the reference date: the
/// reference's year, or the year before if the line's month/day is more
/// than one day after the reference.
fn first_year(reference: Date, month: i8, day: i8) -> i16 {
    let year = reference.year();
    match reference.tomorrow() {
        Ok(t) if t.year() == year && (month, day) > (t.month(), t.day()) => year - 1,
        _ => year,
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, BufReader, Read};
    use std::sync::Arc;

    use ferret_model::FieldNames;

    use super::*;
    use crate::ReadOptions;

    struct Run {
        names: Arc<FieldNames>,
        results: Vec<ReadResult>,
        counts: (u64, u64),
    }

    fn run_with(input: impl BufRead, options: ReadOptions, modified: Option<&str>) -> Run {
        let names = FieldNames::new();
        let mut ctx = SourceContext::new("test.log", names.clone(), options);
        ctx.modified = modified.map(|m| m.parse().unwrap());
        let mut reader = SyslogReader::new(input, ctx);
        let results = reader.by_ref().collect();
        let counts = reader.counts();
        Run { names, results, counts }
    }

    fn year(y: i16) -> ReadOptions {
        ReadOptions { assume_year: Some(y), ..ReadOptions::default() }
    }

    fn run(input: &str) -> Run {
        run_with(input.as_bytes(), year(2026), None)
    }

    impl Run {
        fn event(&self, i: usize) -> &Event {
            self.results[i].as_ref().unwrap()
        }

        fn fields(&self, i: usize) -> Vec<(&str, String)> {
            let event = self.event(i);
            event.fields.iter().map(|(f, v)| (self.names.resolve(*f), v.to_string())).collect()
        }

        fn field(&self, i: usize, name: &str) -> Option<&Value> {
            self.event(i).get(&self.names, name)
        }

        fn times(&self) -> Vec<String> {
            let time = |r: &ReadResult| r.as_ref().unwrap().timestamp.unwrap().to_string();
            self.results.iter().map(time).collect()
        }
    }

    fn owned<'a>(pairs: &[(&'a str, &str)]) -> Vec<(&'a str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn rfc3164_line_becomes_an_event_with_header_and_auth_fields() {
        let line = "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186";
        let r = run(line);
        let event = r.event(0);
        assert_eq!(event.kind, SourceKind::Syslog);
        assert_eq!(event.provenance.to_string(), "test.log:1");
        assert_eq!(event.raw.as_deref(), Some(line));
        assert_eq!(event.timestamp.unwrap().to_string(), "2026-12-10T06:55:46Z");
        assert_eq!(
            r.fields(0),
            owned(&[
                ("hostname", "LabSZ"),
                ("program", "sshd"),
                ("pid", "24200"),
                ("message", "Invalid user webmaster from 173.234.31.186"),
                ("event.category", "authentication"),
                ("event.action", "ssh_invalid_user"),
                ("event.outcome", "failure"),
                ("user.name", "webmaster"),
                ("source.ip", "173.234.31.186"),
            ])
        );
        assert_eq!(r.field(0, "pid"), Some(&Value::Number("24200".into())));
    }

    #[test]
    fn rfc3164_day_padding_and_tag_shapes() {
        let r = run("Jul  7 08:06:15 combo kernel: Linux version 2.6.5\n\
             Jul 07 08:06:16 combo cups: cupsd startup succeeded\n\
             Jul 7 08:06:17 combo sshd(pam_unix)[19939]: check pass; user unknown\n\
             Jul  7 08:06:18 host su[12] no colon here\n\
             Jul  7 08:06:19 host postfix/smtpd[77]:no space\n");
        assert_eq!(
            r.times(),
            [
                "2026-07-07T08:06:15Z",
                "2026-07-07T08:06:16Z",
                "2026-07-07T08:06:17Z",
                "2026-07-07T08:06:18Z",
                "2026-07-07T08:06:19Z"
            ]
        );
        let fields = |i| r.fields(i);
        assert_eq!(
            fields(0),
            owned(&[("hostname", "combo"), ("program", "kernel"), ("message", "Linux version 2.6.5")])
        );
        assert_eq!(fields(2)[1], ("program", "sshd(pam_unix)".to_owned()));
        assert_eq!(fields(2)[2], ("pid", "19939".to_owned()));
        assert_eq!(
            fields(3),
            owned(&[("hostname", "host"), ("program", "su"), ("pid", "12"), ("message", "no colon here")])
        );
        assert_eq!(fields(4)[1..], owned(&[("program", "postfix/smtpd"), ("pid", "77"), ("message", "no space")]));
    }

    #[test]
    fn untagged_lines_keep_the_whole_text_as_message() {
        let r = run("Jun 19 04:09:11 combo syslogd 1.4.1: restart.\n\
             Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2\n\
             Jul  7 08:06:16 combo\n\
             Dec 10 06:55:46 sshd[24200]: no hostname\n");
        assert_eq!(r.fields(0), owned(&[("hostname", "combo"), ("message", "syslogd 1.4.1: restart.")]));
        assert_eq!(r.fields(1), owned(&[("hostname", "combo"), ("message", "-- root[2421]: ROOT LOGIN ON tty2")]));
        assert_eq!(r.fields(2), owned(&[("hostname", "combo")]));
        assert_eq!(r.fields(3), owned(&[("program", "sshd"), ("pid", "24200"), ("message", "no hostname")]));
    }

    #[test]
    fn pri_is_decoded_to_facility_and_severity_names() {
        let r = run("<38>Dec  1 00:00:00 h sshd[1]: x\n\
             <86>Dec  1 00:00:00 h sudo: x\n\
             <0>Dec  1 00:00:00 h kernel: x\n\
             <191>Dec  1 00:00:00 h app: x\n\
             <13>2026-11-28T03:14:07Z h app: x\n");
        let names = |i| (r.field(i, "facility").unwrap().to_string(), r.field(i, "severity").unwrap().to_string());
        assert_eq!(names(0), ("auth".into(), "info".into()));
        assert_eq!(names(1), ("authpriv".into(), "info".into()));
        assert_eq!(names(2), ("kern".into(), "emerg".into()));
        assert_eq!(names(3), ("local7".into(), "debug".into()));
        assert_eq!(names(4), ("user".into(), "notice".into()));
        let no_pri = run("Dec  1 00:00:00 h app: x");
        assert_eq!(no_pri.field(0, "facility"), None);
        for bad in [
            "<192>Dec  1 00:00:00 h a: x",
            "<1000>Dec  1 00:00:00 h a: x",
            "<>Dec  1 00:00:00 h a: x",
            "<x>Dec  1 00:00:00 h a: x",
        ] {
            assert!(run(bad).results[0].is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc5424_header_structured_data_and_bom() {
        let r = run("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 \
             [exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"] \
             \u{feff}An application event log entry...");
        assert_eq!(r.event(0).timestamp.unwrap().to_string(), "2003-10-11T22:14:15.003Z");
        assert_eq!(
            r.fields(0),
            owned(&[
                ("hostname", "mymachine.example.com"),
                ("program", "evntslog"),
                ("message", "An application event log entry..."),
                ("facility", "local4"),
                ("severity", "notice"),
                ("msgid", "ID47"),
                ("sd.exampleSDID@32473.iut", "3"),
                ("sd.exampleSDID@32473.eventSource", "Application"),
                ("sd.exampleSDID@32473.eventID", "1011"),
                ("sd.examplePriority@32473.class", "high"),
            ])
        );
    }

    #[test]
    fn rfc5424_offsets_nil_values_and_escapes() {
        let r = run(
            "<34>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.\n\
             <34>1 - - - - - -\n\
             <86>1 2026-11-28T03:14:07+01:00 web-01 sshd 812 - [x@1 a=\"q\\\"uote\" b=\"back\\\\slash\" c=\"br\\]acket\" d=\"keep\\n\" e=\"\"] Accepted password for root from 203.0.113.7 port 52144 ssh2\n",
        );
        assert_eq!(r.event(0).timestamp.unwrap().to_string(), "2003-08-24T12:14:15.000003Z");
        assert_eq!(r.field(0, "pid"), Some(&Value::Number("8710".into())));
        assert_eq!(r.field(0, "message").unwrap().to_string(), "%% It's time to make the do-nuts.");
        assert_eq!(r.event(1).timestamp, None);
        assert_eq!(r.fields(1), owned(&[("facility", "auth"), ("severity", "crit")]));
        assert_eq!(r.event(2).timestamp.unwrap().to_string(), "2026-11-28T02:14:07Z");
        let sd: Vec<_> = r.fields(2).into_iter().filter(|(k, _)| k.starts_with("sd.")).collect();
        assert_eq!(
            sd,
            owned(&[
                ("sd.x@1.a", "q\"uote"),
                ("sd.x@1.b", "back\\slash"),
                ("sd.x@1.c", "br]acket"),
                ("sd.x@1.d", "keep\\n"),
                ("sd.x@1.e", "")
            ])
        );
        assert_eq!(r.field(2, "event.action").unwrap().to_string(), "ssh_login");
        for bad in [
            "<34>1 2003-08-24T05:14:15Z host app - -",
            "<34>1 2003-08-24T05:14:15Z host app - - [x a=\"unterminated]",
            "<34>1 2003-08-24T05:14:15Z host app - - [x a=unquoted]",
            "<34>1 2003-08-24T05:14:15Z host app - - [x a=\"1\"]junk",
            "<34>1 2003-08-24 05:14:15Z host app - - -",
        ] {
            assert!(run(bad).results[0].is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_rsyslog_lines_convert_to_utc() {
        let r = run(
            "2026-11-28T03:14:07.123456+00:00 web-01 sshd[812]: Accepted publickey for alice from 10.0.0.5 port 50000 ssh2: ED25519 SHA256:abc\n\
             2026-11-28T03:14:08Z web-01 CRON[9]: (root) CMD (true)\n\
             2026-11-28T01:00:00-05:30 web-01 app: x\n",
        );
        assert_eq!(r.times(), ["2026-11-28T03:14:07.123456Z", "2026-11-28T03:14:08Z", "2026-11-28T06:30:00Z"]);
        assert_eq!(r.fields(0)[..3], owned(&[("hostname", "web-01"), ("program", "sshd"), ("pid", "812")]));
        assert_eq!(r.field(0, "ssh.method").unwrap().to_string(), "publickey");
        assert!(run("2026-02-30T00:00:00Z h app: x").results[0].is_err());
        assert!(run("2026-11-28T03:14:07 h app: no offset").results[0].is_err());
    }

    #[test]
    fn assumed_year_applies_and_invalid_dates_are_errors() {
        let r = run_with("Feb 29 12:00:00 h a: x\n".as_bytes(), year(2024), None);
        assert_eq!(r.times(), ["2024-02-29T12:00:00Z"]);
        let r = run_with("Feb 29 12:00:00 h a: x\nFeb 28 12:00:00 h a: y\n".as_bytes(), year(2023), None);
        let err = r.results[0].as_ref().unwrap_err();
        assert_eq!(err.location, Some(Location::Line(1)));
        assert!(err.message.contains("invalid date"), "{err}");
        assert_eq!(r.event(1).timestamp.unwrap().to_string(), "2023-02-28T12:00:00Z");
        assert!(run("Feb 30 12:00:00 h a: x").results[0].is_err());
        assert!(run("Apr 31 12:00:00 h a: x").results[0].is_err());
    }

    #[test]
    fn year_comes_from_mtime_and_steps_back_for_lines_after_it() {
        let mtime = Some("2026-01-05T10:00:00Z");
        let first = |line: &str| run_with(line.as_bytes(), ReadOptions::default(), mtime).times();
        assert_eq!(first("Jan  5 09:00:00 h a: x"), ["2026-01-05T09:00:00Z"]);
        // One day of slack for zone differences, then the previous year.
        assert_eq!(first("Jan  6 23:00:00 h a: x"), ["2026-01-06T23:00:00Z"]);
        assert_eq!(first("Jan  7 00:00:00 h a: x"), ["2025-01-07T00:00:00Z"]);
        assert_eq!(first("Dec 30 00:00:00 h a: x"), ["2025-12-30T00:00:00Z"]);
        // On Dec 31 every month/day is on or before tomorrow: same year.
        let dec31 = run_with("Dec 31 22:00:00 h a: x".as_bytes(), ReadOptions::default(), Some("2025-12-31T12:00:00Z"));
        assert_eq!(dec31.times(), ["2025-12-31T22:00:00Z"]);
    }

    #[test]
    fn new_year_rollover_keeps_years_monotone() {
        let log = "Dec 30 23:00:00 h a: 1\nDec 31 23:59:59 h a: 2\nJan  1 00:00:01 h a: 3\n\
                   Dec 31 23:59:58 h a: late\nJan  2 00:00:00 h a: 4\n";
        let expected = [
            "2025-12-30T23:00:00Z",
            "2025-12-31T23:59:59Z",
            "2026-01-01T00:00:01Z",
            // A late line does not send the year back; the year stays
            // monotone (it is out of order, as in the file).
            "2026-12-31T23:59:58Z",
            "2027-01-02T00:00:00Z",
        ];
        let by_mtime = run_with(log.as_bytes(), ReadOptions::default(), Some("2026-01-02T08:00:00Z"));
        assert_eq!(by_mtime.times()[..3], expected[..3]);
        let assumed = run_with(log.as_bytes(), year(2025), None);
        assert_eq!(assumed.times(), expected);
        // Small backward steps (disorder around a month boundary) are not
        // a rollover.
        let small = run("Mar  1 00:00:01 h a: x\nFeb 28 23:59:59 h a: y\n");
        assert_eq!(small.times(), ["2026-03-01T00:00:01Z", "2026-02-28T23:59:59Z"]);
        // A line with a full date sets the year for later yearless lines.
        let mixed = run("2025-12-31T23:59:59Z h a: x\nJan  1 00:00:00 h a: y\n");
        assert_eq!(mixed.times(), ["2025-12-31T23:59:59Z", "2026-01-01T00:00:00Z"]);
    }

    #[test]
    fn bad_lines_are_errors_with_line_numbers_and_reading_goes_on() {
        let r = run(
            "garbage here\nDec 10 06:55:46 h a: ok\n\n   \n<999>x\nDec 10 06:55:47 h a: ok2\nDec 10 6:55:48 h a: bad time\n",
        );
        let shape: Vec<Result<u64, u64>> = r
            .results
            .iter()
            .map(|res| match res {
                Ok(e) => Ok(match e.provenance.location {
                    Location::Line(n) => n,
                    other => panic!("{other}"),
                }),
                Err(e) => {
                    assert_eq!(&*e.source, "test.log");
                    assert!(!e.message.is_empty());
                    match e.location {
                        Some(Location::Line(n)) => Err(n),
                        other => panic!("{other:?}"),
                    }
                }
            })
            .collect();
        assert_eq!(shape, [Err(1), Ok(2), Err(5), Ok(6), Err(7)]);
        assert_eq!(r.counts, (7, 5));
        assert_eq!(
            r.results[0].as_ref().unwrap_err().to_string(),
            "test.log: line 1: not a syslog line (no timestamp)"
        );
    }

    #[test]
    fn crlf_bom_and_long_lines() {
        let input = "\u{feff}Dec 10 06:55:46 h a: first\r\nDec 10 06:55:47 h a: 0123456789012345678901234567890123456789\r\nDec 10 06:55:48 h a: third\r\n";
        let options = ReadOptions { max_line_bytes: 40, ..year(2026) };
        let r = run_with(input.as_bytes(), options, None);
        assert_eq!(r.field(0, "message").unwrap().to_string(), "first");
        assert_eq!(r.event(0).raw.as_deref(), Some("Dec 10 06:55:46 h a: first"), "the BOM is the file's");
        let err = r.results[1].as_ref().unwrap_err();
        assert_eq!(err.location, Some(Location::Line(2)));
        assert!(err.message.contains("longer than"), "{err}");
        assert_eq!(r.event(2).raw.as_deref(), Some("Dec 10 06:55:48 h a: third"));
        assert_eq!(r.counts, (3, 1));
    }

    #[test]
    fn io_error_is_reported_once_and_ends_reading() {
        struct Broken(bool);
        impl Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, true) {
                    return Err(io::Error::other("disk on fire"));
                }
                let line = b"Dec 10 06:55:46 h a: ok\n";
                buf[..line.len()].copy_from_slice(line);
                Ok(line.len())
            }
        }
        let r = run_with(BufReader::new(Broken(false)), year(2026), None);
        assert_eq!(r.results.len(), 2);
        assert!(r.results[0].is_ok());
        let err = r.results[1].as_ref().unwrap_err();
        assert_eq!(err.location, Some(Location::Line(2)));
        assert!(err.message.contains("disk on fire"));
    }

    #[test]
    fn sniffing_accepts_the_three_formats_and_rejects_other_text() {
        for yes in [
            "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
            "Jun 19 04:09:11 combo syslogd 1.4.1: restart.\r\n",
            "<38>Dec  1 00:00:00 h sshd[1]: x",
            "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - msg",
            "2026-11-28T03:14:07.123456+00:00 web-01 sshd[812]: hello",
            "\u{feff}2026-11-28T03:14:07Z web-01 sshd: hello",
        ] {
            assert!(looks_like_syslog(yes), "{yes}");
        }
        for no in [
            "",
            "hello world",
            "{\"EventID\": 4624}",
            "time,host,message",
            "Dec 10 06:55:46",
            "December 10 06:55:46 host x",
            "Dex 10 06:55:46 host x",
            "Dec 32 06:55:46 host x",
            "Dec 10 25:55:46 host x",
            "2026-11-28 03:14:07 host x",
            "2026-11-28T03:14:07 host x",
            "<13>2 2026-11-28T03:14:07Z host app - - -",
            "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok",
        ] {
            assert!(!looks_like_syslog(no), "{no}");
        }
    }

    #[test]
    fn every_truncation_of_every_format_is_an_event_or_an_error() {
        // Hostile input must never panic: cut sample lines at every char
        // boundary and at every byte (lossy framing may split a char).
        let samples = [
            "<165>1 2003-10-11T22:14:15.003Z host app 12 ID47 [a@1 x=\"\\]ü\\\"\"][b y=\"2\"] \u{feff}msg ü",
            "<38>Dec  1 06:55:46 LabSZ sshd[24200]: Failed password for invalid user  0101 from 1.2.3.4 port 22 ssh2",
            "2026-11-28T03:14:07.123456+05:30 web-01 sudo:   alice : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/ls",
            "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 rhost=h  user=r",
            "Jul  7 08:06:15 combo su: message repeated 3 times: [ (to root) ü on pts/0]",
        ];
        for sample in samples {
            for cut in 0..=sample.len() {
                let bytes = &sample.as_bytes()[..cut];
                let _ = run_with(bytes, year(2026), None).results;
                if let Some(text) = sample.get(..cut) {
                    let _ = looks_like_syslog(text);
                }
            }
        }
    }
}
