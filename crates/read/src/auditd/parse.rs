//! One audit record line → its type, node, stamp, serial and fields.
//!
//! See the parent module for the decisions (hex decoding, the nested
//! `msg='...'` of user-space records, the ENRICHED fields, syscall names).

use ferret_model::Timestamp;

use crate::time::parse_epoch;

/// One parsed audit record.
#[derive(Debug, Default)]
pub struct Record {
    /// `node=` (set when auditd writes `name_format=hostname`).
    pub node: Option<String>,
    /// The record type as auditd names it (`SYSCALL`, `EXECVE`...).
    pub kind: String,
    /// The number of a numeric type (kernel `audit: type=1300 ...` lines).
    pub type_id: Option<String>,
    /// `EPOCH` of `audit(EPOCH:SERIAL)`, as written.
    pub stamp: String,
    pub serial: String,
    pub timestamp: Option<Timestamp>,
    /// The record's own key=value pairs, in order, decoded.
    pub fields: Vec<(String, Val)>,
    /// The interpreted fields after `\x1d` (ENRICHED format), and a
    /// `SYSCALL` name when the record has none of its own.
    pub enriched: Vec<(String, String)>,
    /// EXECVE only: the arguments joined with spaces.
    pub command_line: Option<String>,
}

impl Record {
    /// The first value of `key` among the record's own fields.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// A field value: an unquoted token (may read as a number) or text
/// (quoted, or decoded from hex).
#[derive(Debug, PartialEq, Eq)]
pub enum Val {
    Bare(String),
    Text(String),
}

impl Val {
    pub fn as_str(&self) -> &str {
        match self {
            Val::Bare(s) | Val::Text(s) => s,
        }
    }
}

/// Numeric record types as the kernel prints them, and their names.
const TYPES: &[(&str, &str)] = &[
    ("1006", "LOGIN"),
    ("1100", "USER_AUTH"),
    ("1101", "USER_ACCT"),
    ("1102", "USER_MGMT"),
    ("1103", "CRED_ACQ"),
    ("1104", "CRED_DISP"),
    ("1105", "USER_START"),
    ("1106", "USER_END"),
    ("1107", "USER_AVC"),
    ("1112", "USER_LOGIN"),
    ("1113", "USER_LOGOUT"),
    ("1123", "USER_CMD"),
    ("1130", "SERVICE_START"),
    ("1131", "SERVICE_STOP"),
    ("1300", "SYSCALL"),
    ("1302", "PATH"),
    ("1305", "CONFIG_CHANGE"),
    ("1306", "SOCKADDR"),
    ("1307", "CWD"),
    ("1309", "EXECVE"),
    ("1320", "EOE"),
    ("1326", "SECCOMP"),
    ("1327", "PROCTITLE"),
    ("1400", "AVC"),
];

/// Syscall numbers of the names Sigma rules use (and a few more), for raw
/// logs that carry only `syscall=N`: x86_64 (`arch=c000003e`).
const X86_64: &[(&str, &str)] = &[
    ("2", "open"),
    ("41", "socket"),
    ("42", "connect"),
    ("43", "accept"),
    ("49", "bind"),
    ("50", "listen"),
    ("56", "clone"),
    ("57", "fork"),
    ("58", "vfork"),
    ("59", "execve"),
    ("62", "kill"),
    ("87", "unlink"),
    ("90", "chmod"),
    ("92", "chown"),
    ("99", "sysinfo"),
    ("101", "ptrace"),
    ("103", "syslog"),
    ("105", "setuid"),
    ("133", "mknod"),
    ("135", "personality"),
    ("175", "init_module"),
    ("176", "delete_module"),
    ("257", "openat"),
    ("259", "mknodat"),
    ("263", "unlinkat"),
    ("268", "fchmodat"),
    ("313", "finit_module"),
    ("319", "memfd_create"),
    ("322", "execveat"),
];

/// The same for aarch64 (`arch=c00000b7`, the asm-generic numbers).
const AARCH64: &[(&str, &str)] = &[
    ("33", "mknodat"),
    ("35", "unlinkat"),
    ("53", "fchmodat"),
    ("56", "openat"),
    ("92", "personality"),
    ("105", "init_module"),
    ("106", "delete_module"),
    ("116", "syslog"),
    ("117", "ptrace"),
    ("129", "kill"),
    ("146", "setuid"),
    ("179", "sysinfo"),
    ("198", "socket"),
    ("200", "bind"),
    ("201", "listen"),
    ("202", "accept"),
    ("203", "connect"),
    ("220", "clone"),
    ("221", "execve"),
    ("273", "finit_module"),
    ("279", "memfd_create"),
    ("281", "execveat"),
];

/// Keys whose unquoted values auditd hex-encodes when the text holds a
/// space, a quote, a control or a non-ASCII byte (`aN` of EXECVE besides).
const ENCODED: &[&str] = &[
    "acct",
    "cmd",
    "comm",
    "cwd",
    "data",
    "dir",
    "exe",
    "file",
    "grp",
    "key",
    "name",
    "new_group",
    "ocomm",
    "old",
    "path",
    "proctitle",
    "root_dir",
    "vm",
    "watch",
];

/// True when `line` holds an audit record (`type=X msg=audit(...)`, maybe
/// behind a syslog or `node=` prefix).
pub fn looks_like_audit(line: &str) -> bool {
    parse(line).is_ok()
}

/// Parses one line.
pub fn parse(line: &str) -> Result<Record, String> {
    let (main, enriched) = line.split_once('\x1d').unwrap_or((line, ""));
    let start = record_start(main).ok_or("not an audit record (no type=... audit(TIME:SERIAL))")?;
    let mut rec = Record::default();
    let mut args: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut stamped = false;
    for token in tokens(&main[start..])? {
        match token {
            Token::Bare(text) if !stamped && text.starts_with("audit(") => {
                stamp(&mut rec, text)?;
                stamped = true;
            }
            // SELinux AVC prose (`avc:  denied  { read } for`): not fields.
            Token::Bare(_) => {}
            Token::Pair { key: "node", value, .. } if rec.kind.is_empty() => rec.node = Some(value.to_owned()),
            Token::Pair { key: "type", value, .. } if rec.kind.is_empty() => set_type(&mut rec, value),
            Token::Pair { key: "msg", value, quote: None } if !stamped && value.starts_with("audit(") => {
                stamp(&mut rec, value)?;
                stamped = true;
            }
            // User-space records nest their own pairs: msg='op=login ...'.
            Token::Pair { key: "msg", value, quote: Some(b'\'') } => {
                for inner in tokens(value)? {
                    if let Token::Pair { key, value, quote } = inner {
                        let key = key.trim_start_matches('(');
                        let value = if quote.is_none() { value.trim_end_matches([',', ')']) } else { value };
                        push(&mut rec, &mut args, key, value, quote);
                    }
                }
            }
            Token::Pair { key, value, quote } => push(&mut rec, &mut args, key, value, quote),
        }
    }
    if rec.kind.is_empty() {
        return Err("audit record without type=".into());
    }
    if !stamped {
        return Err("audit record without audit(TIME:SERIAL)".into());
    }
    for (n, bytes) in &args {
        let text = text_of(bytes, Mode::Plain).unwrap_or_else(|| hex_of(bytes));
        rec.fields.push((format!("a{n}"), Val::Text(text)));
    }
    if rec.kind == "EXECVE" {
        rec.command_line = Some(command_line(&rec));
    }
    for token in tokens(enriched)? {
        if let Token::Pair { key, value, .. } = token {
            rec.enriched.push((key.to_owned(), value.to_owned()));
        }
    }
    if rec.kind == "SYSCALL"
        && !rec.enriched.iter().any(|(k, _)| k == "SYSCALL")
        && let Some(name) = syscall_name(rec.get("arch"), rec.get("syscall"))
    {
        rec.enriched.push(("SYSCALL".into(), name.into()));
    }
    Ok(rec)
}

/// Where the record starts: the `type=` token before the first
/// `audit(` marker, or a `node=` token right before that.
fn record_start(main: &str) -> Option<usize> {
    let bytes = main.as_bytes();
    let marker = main.match_indices("audit(").map(|(i, _)| i).find_map(|i| {
        if bytes[..i].ends_with(b"msg=") {
            Some(i - 4)
        } else if i > 0 && matches!(bytes[i - 1], b' ' | b'\t') {
            Some(i)
        } else {
            None
        }
    })?;
    let before = &main[..marker];
    let at_word = |i: &usize| *i == 0 || matches!(bytes[i - 1], b' ' | b'\t');
    let type_at = before.match_indices("type=").map(|(i, _)| i).filter(at_word).last()?;
    let head = before[..type_at].trim_end_matches([' ', '\t']);
    let last = head.rfind([' ', '\t']).map_or(0, |i| i + 1);
    Some(if head[last..].starts_with("node=") { last } else { type_at })
}

fn set_type(rec: &mut Record, value: &str) {
    match TYPES.iter().find(|(id, _)| *id == value) {
        Some((id, name)) => {
            rec.kind = (*name).to_owned();
            rec.type_id = Some((*id).to_owned());
        }
        None => {
            rec.kind = value.to_owned();
            if value.bytes().all(|b| b.is_ascii_digit()) {
                rec.type_id = Some(value.to_owned());
            }
        }
    }
}

/// `audit(1700000000.123:4567):` → stamp, serial, timestamp.
fn stamp(rec: &mut Record, text: &str) -> Result<(), String> {
    let inner = text.strip_prefix("audit(").and_then(|t| t.split(')').next()).unwrap_or("");
    let bad = || format!("invalid audit stamp {text:?} (want audit(SECONDS.MILLIS:SERIAL))");
    let (epoch, serial) = inner.split_once(':').ok_or_else(bad)?;
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    rec.timestamp = Some(parse_epoch(epoch).ok_or_else(bad)?);
    rec.stamp = epoch.to_owned();
    rec.serial = serial.to_owned();
    Ok(())
}

fn push(rec: &mut Record, args: &mut Vec<(u32, Vec<u8>)>, key: &str, value: &str, quote: Option<u8>) {
    let execve = rec.kind == "EXECVE";
    // A long EXECVE argument comes in pieces: a1_len=N a1[0]=... a1[1]=...
    if execve && let Some(n) = arg_chunk(key) {
        let bytes = match quote {
            Some(_) => value.as_bytes().to_vec(),
            None => unhex(value).unwrap_or_else(|| value.as_bytes().to_vec()),
        };
        match args.iter_mut().find(|(i, _)| *i == n) {
            Some((_, all)) => all.extend_from_slice(&bytes),
            None => args.push((n, bytes)),
        }
    }
    let encoded = ENCODED.contains(&key) || (execve && is_arg(key)) || (execve && arg_chunk(key).is_some());
    if quote.is_some() || !encoded {
        // SYSCALL's a0..a3 are hex numbers: text, never decimal numbers.
        let text = quote.is_some() || (rec.kind == "SYSCALL" && is_arg(key));
        let val = if text { Val::Text(value.to_owned()) } else { Val::Bare(value.to_owned()) };
        rec.fields.push((key.to_owned(), val));
        return;
    }
    let mode = match key {
        "proctitle" => Mode::Proctitle,
        "key" => Mode::Keys,
        _ => Mode::Plain,
    };
    match unhex(value).and_then(|bytes| decode(&bytes, mode)) {
        Some(texts) => {
            for text in texts {
                rec.fields.push((key.to_owned(), Val::Text(text)));
            }
        }
        None => rec.fields.push((key.to_owned(), Val::Bare(value.to_owned()))),
    }
}

/// `a12` → true.
fn is_arg(key: &str) -> bool {
    key.strip_prefix('a').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `a1[0]` → 1.
fn arg_chunk(key: &str) -> Option<u32> {
    let (arg, rest) = key.split_once('[')?;
    let index = rest.strip_suffix(']')?;
    if !is_arg(arg) || index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    arg[1..].parse().ok()
}

/// EXECVE's arguments a0..aN in numeric order, joined with spaces.
fn command_line(rec: &Record) -> String {
    let mut args: Vec<(u32, &str)> = rec
        .fields
        .iter()
        .filter(|(k, _)| is_arg(k))
        .filter_map(|(k, v)| Some((k[1..].parse().ok()?, v.as_str())))
        .collect();
    args.sort_by_key(|(n, _)| *n);
    args.dedup_by_key(|(n, _)| *n);
    args.iter().map(|(_, v)| *v).collect::<Vec<_>>().join(" ")
}

fn syscall_name(arch: Option<&str>, number: Option<&str>) -> Option<&'static str> {
    let table = match arch? {
        "c000003e" => X86_64,
        "c00000b7" => AARCH64,
        _ => return None,
    };
    let number = number?;
    table.iter().find(|(n, _)| *n == number).map(|(_, name)| *name)
}

#[derive(Clone, Copy)]
enum Mode {
    Plain,
    /// NUL-separated argv: NULs become spaces.
    Proctitle,
    /// Several keys separated by `\x01`: one value each.
    Keys,
}

/// Uppercase hex of even length → bytes (auditd writes uppercase only, so
/// lowercase hex numbers such as syscall arguments never match).
fn unhex(text: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    if text.is_empty() || !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes().chunks(2).map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?)).collect()
}

fn decode(bytes: &[u8], mode: Mode) -> Option<Vec<String>> {
    match mode {
        Mode::Keys => bytes.split(|&b| b == 1).map(|part| text_of(part, Mode::Plain)).collect(),
        Mode::Plain | Mode::Proctitle => text_of(bytes, mode).map(|t| vec![t]),
    }
}

/// The text of decoded bytes when it is UTF-8 without control characters
/// (tabs and newlines allowed), else `None` and the hex stays.
fn text_of(bytes: &[u8], mode: Mode) -> Option<String> {
    let bytes = match mode {
        Mode::Proctitle => {
            let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
            bytes[..end].iter().map(|&b| if b == 0 { b' ' } else { b }).collect()
        }
        _ => bytes.to_vec(),
    };
    let text = String::from_utf8(bytes).ok()?;
    let printable = !text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'));
    printable.then_some(text)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

enum Token<'a> {
    Pair { key: &'a str, value: &'a str, quote: Option<u8> },
    Bare(&'a str),
}

/// Splits `key=value key="quoted value" key='nested' bare` into tokens.
fn tokens(text: &str) -> Result<Vec<Token<'_>>, String> {
    let b = text.as_bytes();
    let space = |c: u8| c == b' ' || c == b'\t';
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if space(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !space(b[i]) && b[i] != b'=' {
            i += 1;
        }
        if i == b.len() || space(b[i]) || i == start {
            while i < b.len() && !space(b[i]) {
                i += 1;
            }
            out.push(Token::Bare(&text[start..i]));
            continue;
        }
        let key = &text[start..i];
        i += 1;
        match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let close = memchr::memchr(q, &b[i + 1..])
                    .ok_or_else(|| format!("unterminated quoted value of {key} (truncated record?)"))?;
                out.push(Token::Pair { key, value: &text[i + 1..i + 1 + close], quote: Some(q) });
                i += close + 2;
            }
            _ => {
                let value_start = i;
                while i < b.len() && !space(b[i]) {
                    i += 1;
                }
                out.push(Token::Pair { key, value: &text[value_start..i], quote: None });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(rec: &Record) -> Vec<(&str, &str)> {
        rec.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn syscall_record_with_stamp_quotes_and_syscall_name() {
        let rec = parse(
            "type=SYSCALL msg=audit(1700000000.123:4567): arch=c000003e syscall=59 success=yes exit=0 \
             a0=55d0c1e8a0 a1=26 comm=\"ls\" exe=\"/usr/bin/ls\" key=\"exec\"",
        )
        .unwrap();
        assert_eq!((rec.kind.as_str(), rec.serial.as_str(), rec.stamp.as_str()), ("SYSCALL", "4567", "1700000000.123"));
        assert_eq!(rec.timestamp.unwrap().to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(rec.get("a1"), Some("26"), "syscall arguments are never hex-decoded");
        assert_eq!(rec.get("exe"), Some("/usr/bin/ls"));
        assert_eq!(rec.enriched, [("SYSCALL".to_owned(), "execve".to_owned())]);
    }

    #[test]
    fn hex_values_decode_only_for_encoded_keys() {
        let rec = parse("type=EXECVE msg=audit(1700000000.123:4567): argc=3 a0=\"cat\" a1=2F746D702F612062 a2=414243")
            .unwrap();
        assert_eq!(fields(&rec), [("argc", "3"), ("a0", "cat"), ("a1", "/tmp/a b"), ("a2", "ABC")]);
        assert_eq!(rec.command_line.as_deref(), Some("cat /tmp/a b ABC"));
        let rec = parse("type=PROCTITLE msg=audit(1700000000.123:1): proctitle=6C73002D6C00").unwrap();
        assert_eq!(rec.get("proctitle"), Some("ls -l"));
        // Lowercase, odd length or binary content: kept as written.
        let rec = parse("type=PATH msg=audit(1700000000.123:1): name=2f746d70 inode=ABCD dev=08:01").unwrap();
        assert_eq!(fields(&rec), [("name", "2f746d70"), ("inode", "ABCD"), ("dev", "08:01")]);
        let rec = parse("type=PATH msg=audit(1700000000.123:1): name=0001FF name=ABC").unwrap();
        assert_eq!(fields(&rec), [("name", "0001FF"), ("name", "ABC")]);
        let rec = parse("type=CONFIG_CHANGE msg=audit(1700000000.123:1): key=6B31016B32 res=1").unwrap();
        assert_eq!(fields(&rec), [("key", "k1"), ("key", "k2"), ("res", "1")]);
    }

    #[test]
    fn long_arguments_in_pieces_are_assembled() {
        let rec = parse("type=EXECVE msg=audit(1700000000.1:9): argc=2 a0=\"sh\" a1_len=6 a1[0]=2F746D a1[1]=702F78")
            .unwrap();
        assert_eq!(rec.get("a1[0]"), Some("/tm"));
        assert_eq!(rec.get("a1"), Some("/tmp/x"));
        assert_eq!(rec.command_line.as_deref(), Some("sh /tmp/x"));
    }

    #[test]
    fn prefixes_nested_messages_and_enriched_fields() {
        let rec = parse(
            "Nov 14 22:13:20 web-01 audispd: node=web-01 type=USER_LOGIN msg=audit(1700000000.5:77): pid=1 uid=0 \
             msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" addr=203.0.113.7 res=failed'\x1dUID=\"root\" AUID=\"unset\"",
        )
        .unwrap();
        assert_eq!(rec.node.as_deref(), Some("web-01"));
        assert_eq!(
            fields(&rec),
            [
                ("pid", "1"),
                ("uid", "0"),
                ("op", "login"),
                ("acct", "root"),
                ("exe", "/usr/sbin/sshd"),
                ("addr", "203.0.113.7"),
                ("res", "failed")
            ]
        );
        assert_eq!(rec.enriched.len(), 2);
        let rec =
            parse("[12.5] audit: type=1400 audit(1700000000.250:12): apparmor=\"DENIED\" name=\"/etc/x\"").unwrap();
        assert_eq!((rec.kind.as_str(), rec.type_id.as_deref()), ("AVC", Some("1400")));
    }

    #[test]
    fn malformed_records_are_errors() {
        for bad in [
            "hello world",
            "type=SYSCALL arch=c000003e",
            "type=SYSCALL msg=audit(abc:1): x=1",
            "type=SYSCALL msg=audit(1700000000.1): x=1",
            "type=SYSCALL msg=audit(1700000000.1:12): comm=\"trunc",
            "msg=audit(1700000000.1:12): x=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_truncation_is_a_record_or_an_error() {
        let line = "node=h type=EXECVE msg=audit(1700000000.1:9): argc=2 a0=\"sh\" a1[0]=2F74 msg='a=\"b\" (c=d,'\x1dX=\"y\" Z=ü";
        for cut in 0..=line.len() {
            if let Some(text) = line.get(..cut) {
                let _ = parse(text);
            }
        }
    }
}
