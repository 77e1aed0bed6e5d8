//! Property tests for the text readers and the sniffer.
//!
//! * Hostile input: any bytes through the JSON, syslog, auditd, journal
//!   export and CSV readers and `sniff` never panic, and every error (and
//!   every event) names its source.
//! * JSON Lines: N generated objects (strings with escapes, quotes, braces
//!   and any Unicode) are exactly N events on lines 1..N.
//! * Syslog: RFC 3339-stamped lines built from random valid parts give back
//!   their instant and their header fields.

use std::sync::Arc;

use ferret_model::{Event, FieldNames, Location, Timestamp, Value};
use ferret_read::auditd::AuditdReader;
use ferret_read::csv::CsvReader;
use ferret_read::journald::JournalExportReader;
use ferret_read::json::JsonReader;
use ferret_read::sniff::sniff;
use ferret_read::syslog::SyslogReader;
use ferret_read::{ReadOptions, ReadResult, SourceContext};
use jiff::civil::DateTime;
use jiff::tz::Offset;
use proptest::prelude::*;
use serde_json::{Map, Value as Json};

const SOURCE: &str = "evidence/hostile.input";

fn context(names: &Arc<FieldNames>, max_line_bytes: usize) -> SourceContext {
    let options = ReadOptions { assume_year: Some(2026), max_line_bytes, ..ReadOptions::default() };
    SourceContext::new(SOURCE, names.clone(), options)
}

/// Every result names the source it came from, and errors say something.
fn check_sources(reader: &str, results: impl Iterator<Item = ReadResult>) -> Result<(), TestCaseError> {
    for result in results {
        match result {
            Ok(event) => prop_assert_eq!(&*event.provenance.source, SOURCE, "{} event", reader),
            Err(error) => {
                prop_assert_eq!(&*error.source, SOURCE, "{} error {}", reader, error);
                prop_assert!(error.to_string().starts_with(SOURCE), "{}: {}", reader, error);
                prop_assert!(!error.message.is_empty(), "{}: empty message", reader);
            }
        }
    }
    Ok(())
}

/// Pieces of the formats' syntax, so that random input gets past the first
/// byte of each parser and into its corners.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    "\\",
    "\\\"",
    ",",
    ":",
    "\n",
    "\r\n",
    " ",
    "\t",
    "null",
    "true",
    "-1.5e3",
    "\"k\":",
    "\u{feff}",
    "é",
    "😀",
    "\u{2028}",
    "<13>",
    "<191>",
    "<999>",
    "1 ",
    "- ",
    "Mar  3 ",
    "Feb 29 ",
    "07:01:12 ",
    "23:59:60 ",
    "2026-03-03T07:20:01.5+01:00 ",
    "2026-02-30T00:00:00Z ",
    "host ",
    "sshd[42]: ",
    "su: ",
    "[x@1 a=\"\\]\"]",
    "[",
    "=\"",
    "Accepted password for root from 203.0.113.7 port 22 ssh2",
    "pam_unix(sshd:auth): authentication failure; rhost= user=",
    "message repeated 3 times: [ ",
    "a,b,c\n",
    "\"q,\"\"x\"\"\n",
    ";",
    "ElfFile\0",
    "PK\x03\x04",
    "\x1f\u{8b}",
    "type=SYSCALL msg=audit(1700000000.123:45): ",
    "type=EXECVE ",
    "msg=audit(1700000000.1:7):",
    "a1=2F746D70 ",
    "a1[0]=",
    "msg='op=x ",
    "\u{1d}UID=\"root\" ",
    "__CURSOR=s\n",
    "MESSAGE\n",
    "\u{5}\0\0\0\0\0\0\0",
    "{\"Records\": [",
];

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 1..8),
        3 => prop::sample::select(FRAGMENTS).prop_map(|f| f.as_bytes().to_vec()),
    ];
    prop::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

/// The longest line the readers take: tiny, to reach the "too long" paths,
/// or the default.
fn line_limit() -> impl Strategy<Value = usize> {
    prop_oneof![1 => 1usize..32, 3 => Just(ReadOptions::default().max_line_bytes)]
}

/// Strings with the characters that trip JSON scanners: quotes, escapes,
/// braces, brackets, newlines, and any Unicode.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\"\\\\{}\\[\\],:\n\r\t é😀\u{0}\u{1f}\u{2028}a-z]{0,12}",
        Just("\\\"}{][".to_owned()),
    ]
}

fn json_value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<u64>().prop_map(Json::from),
        (-1.0e9f64..1.0e9).prop_map(Json::from),
        tricky_string().prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            prop::collection::btree_map(tricky_string(), inner, 0..4)
                .prop_map(|m| Json::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Json>> {
    prop::collection::btree_map(tricky_string(), json_value(), 0..6).prop_map(|m| m.into_iter().collect())
}

/// One RFC 3339-stamped syslog line and what it must read back as.
#[derive(Debug, Clone)]
struct Line {
    text: String,
    instant: Timestamp,
    host: String,
    tag: String,
    pid: Option<u32>,
    message: String,
}

fn rfc3339_line() -> impl Strategy<Value = Line> {
    let date = (1971i16..2100, 1i8..=12, 1i8..=31)
        .prop_filter("a real date", |&(y, m, d)| jiff::civil::Date::new(y, m, d).is_ok());
    let time = (0i8..24, 0i8..60, 0i8..60);
    // Fraction digits and their value, e.g. (3, 7) is `.007`.
    let fraction = (0u32..=9).prop_flat_map(|digits| (Just(digits), 0u32..10u32.pow(digits)));
    // `Z` or an offset of up to ±23:59.
    let offset = prop_oneof![Just(None), (any::<bool>(), 0i32..24, 0i32..60).prop_map(Some)];
    let host = "[A-Za-z0-9][A-Za-z0-9.-]{0,20}";
    let tag = "[A-Za-z][A-Za-z0-9_./()-]{0,15}";
    let pid = prop::option::of(0u32..10_000_000);
    let message = "[ -~é😀]{0,60}";
    (date, time, fraction, offset, host, tag, pid, message).prop_map(
        |((y, mo, d), (h, mi, s), (digits, value), offset, host, tag, pid, message)| {
            let nanos = if digits == 0 { 0 } else { value * 10u32.pow(9 - digits) };
            let civil = DateTime::new(y, mo, d, h, mi, s, nanos as i32).expect("a valid date-time");
            let (offset_text, offset_seconds) = match offset {
                None => ("Z".to_owned(), 0),
                Some((negative, oh, om)) => {
                    let sign = if negative { '-' } else { '+' };
                    let seconds = (oh * 3600 + om * 60) * if negative { -1 } else { 1 };
                    (format!("{sign}{oh:02}:{om:02}"), seconds)
                }
            };
            let frac_text =
                if digits == 0 { String::new() } else { format!(".{value:0width$}", width = digits as usize) };
            let stamp = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac_text}{offset_text}");
            let instant = Offset::from_seconds(offset_seconds).unwrap().to_timestamp(civil).expect("in range");
            let header = match pid {
                Some(pid) => format!("{tag}[{pid}]:"),
                None => format!("{tag}:"),
            };
            let text = format!("{stamp} {host} {header} {message}");
            Line { text, instant, host, tag, pid, message }
        },
    )
}

fn field<'a>(names: &FieldNames, event: &'a Event, name: &str) -> Option<&'a Value> {
    event.get(names, name)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn hostile_bytes_never_panic_and_errors_name_the_source(bytes in hostile_bytes(), limit in line_limit()) {
        let names = FieldNames::new();
        let _ = sniff(&bytes);
        check_sources("json", JsonReader::new(&bytes[..], context(&names, limit)))?;
        check_sources("syslog", SyslogReader::new(&bytes[..], context(&names, limit)))?;
        check_sources("auditd", AuditdReader::new(&bytes[..], context(&names, limit)))?;
        check_sources("journal", JournalExportReader::new(&bytes[..], context(&names, limit)))?;
        for delimiter in [b',', b'\t', b';'] {
            check_sources("csv", CsvReader::new(&bytes[..], delimiter, context(&names, limit)))?;
        }
    }

    #[test]
    fn raw_random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let names = FieldNames::new();
        let _ = sniff(&bytes);
        check_sources("json", JsonReader::new(&bytes[..], context(&names, 64)))?;
        check_sources("syslog", SyslogReader::new(&bytes[..], context(&names, 64)))?;
        check_sources("auditd", AuditdReader::new(&bytes[..], context(&names, 64)))?;
        check_sources("journal", JournalExportReader::new(&bytes[..], context(&names, 64)))?;
        check_sources("csv", CsvReader::new(&bytes[..], b',', context(&names, 64)))?;
    }

    #[test]
    fn n_json_objects_are_n_events_on_lines_1_to_n(
        objects in prop::collection::vec(json_object(), 0..12),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let lines: Vec<String> = objects.iter().map(|o| serde_json::to_string(o).unwrap()).collect();
        let mut text = lines.join(end);
        if final_newline && !text.is_empty() {
            text.push_str(end);
        }
        let names = FieldNames::new();
        let results: Vec<ReadResult> = JsonReader::new(text.as_bytes(), context(&names, 1 << 20)).collect();
        prop_assert_eq!(results.len(), objects.len());
        for (i, (result, object)) in results.iter().zip(&objects).enumerate() {
            let event = match result {
                Ok(event) => event,
                Err(e) => return Err(TestCaseError::fail(format!("line {}: {e}\n{}", i + 1, lines[i]))),
            };
            prop_assert_eq!(event.provenance.location, Location::Line(i as u64 + 1));
            // Top-level strings come back as written, whatever they hold.
            for (key, value) in object {
                if let Json::String(s) = value {
                    let found = names.get(key).is_some_and(|f| event.values(f).any(|v| v.as_str() == Some(s)));
                    prop_assert!(found, "{:?}: {:?} lost from {}", key, s, lines[i]);
                }
            }
        }
    }

    #[test]
    fn rfc3339_syslog_lines_round_trip(lines in prop::collection::vec(rfc3339_line(), 1..8)) {
        let text: String = lines.iter().map(|l| format!("{}\n", l.text)).collect();
        let names = FieldNames::new();
        let results: Vec<ReadResult> = SyslogReader::new(text.as_bytes(), context(&names, 1 << 20)).collect();
        prop_assert_eq!(results.len(), lines.len());
        for (i, (result, line)) in results.iter().zip(&lines).enumerate() {
            let event = match result {
                Ok(event) => event,
                Err(e) => return Err(TestCaseError::fail(format!("{e}\n{}", line.text))),
            };
            prop_assert_eq!(event.provenance.location, Location::Line(i as u64 + 1));
            prop_assert_eq!(event.timestamp, Some(line.instant), "{}", line.text);
            prop_assert_eq!(event.raw.as_deref(), Some(line.text.as_str()));
            prop_assert_eq!(field(&names, event, "hostname"), Some(&Value::text(line.host.as_str())));
            prop_assert_eq!(field(&names, event, "program"), Some(&Value::text(line.tag.as_str())));
            let pid = line.pid.map(|p| Value::number(p.to_string()));
            prop_assert_eq!(field(&names, event, "pid"), pid.as_ref());
            prop_assert_eq!(field(&names, event, "message"), Some(&Value::text(line.message.as_str())));
        }
    }
}

#[test]
fn sniffing_every_prefix_of_the_samples_never_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/samples");
    for entry in std::fs::read_dir(&dir).expect("samples") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("sample");
        for cut in 0..=bytes.len() {
            let _ = sniff(&bytes[..cut]);
        }
    }
}
