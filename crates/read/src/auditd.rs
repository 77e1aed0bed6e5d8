//! Linux audit logs (`/var/log/audit/audit.log`, auditd's RAW and ENRICHED
//! formats, and audit records behind a syslog, `audispd` or kernel prefix).
//!
//! Each record line becomes an [`Event`] of kind [`SourceKind::Auditd`]
//! (Sigma rules on `service: auditd` match record by record), with the
//! provenance of its line, the line as `raw`, and the time of its
//! `audit(EPOCH:SERIAL)` stamp. Fields:
//!
//! * `type` (`SYSCALL`, `EXECVE`, `PATH`...), `node` when present, then
//!   every key of the record as written (`arch`, `syscall`, `a0`, `exe`,
//!   `key`, `name`, `nametype`...), a key that repeats repeating too;
//! * `audit.serial`: the SERIAL of the stamp, shared by the records of one
//!   event; `audit.type_id` when the type was numeric (`type=1300`, as the
//!   kernel prints records when auditd is not running; the name of a
//!   known number goes to `type`);
//! * the interpreted fields of the ENRICHED format (after the `\x1d`
//!   separator: `UID`, `AUID`, `SYSCALL`, `ARCH`...), under their own
//!   uppercase names;
//! * `SYSCALL` for a raw SYSCALL record of x86_64 or aarch64 whose number
//!   is in a short table (the names Sigma rules use: `execve`, `socket`,
//!   `memfd_create`...), so those rules also work on non-ENRICHED logs;
//! * derived process fields, see below.
//!
//! # Decisions
//!
//! * **Hex values.** auditd writes a value that holds a space, a quote, a
//!   control or a non-ASCII byte as uppercase hex without quotes. For the
//!   keys it encodes that way (`aN` and `aN[i]` of EXECVE, `proctitle`,
//!   `name`, `cwd`, `exe`, `comm`, `cmd`, `acct`, `key`, `path`, `data`...)
//!   an unquoted even-length uppercase-hex value is decoded and **only the
//!   decoded text** is kept under the key: rules are written against the
//!   decoded text (`a1: '-vv'`), and the hex stays in `raw` for keyword
//!   searches. Decoding happens only when the bytes are UTF-8 without
//!   control characters (tab and newline allowed); otherwise the hex is
//!   kept. `proctitle`'s NUL separators become spaces; a `key` holding
//!   several keys (`\x01`-separated) gives one `key` value each. SYSCALL's
//!   `a0`..`a3` are hex numbers: never decoded, and kept as text (not as
//!   decimal numbers). Other unquoted values are numbers when decimal.
//! * **Nested messages.** User-space records (`USER_LOGIN`, `USER_CMD`...)
//!   carry their own pairs inside `msg='op=login acct="root" ...'`; those
//!   pairs are fields of the record like the others.
//! * **Long arguments** (`a1_len=N a1[0]=.. a1[1]=..`) keep their pieces
//!   and are also joined into `a1`.
//! * **Derived process fields.** An EXECVE record gets `CommandLine`, its
//!   arguments in order joined with spaces. Records of one serial are
//!   adjacent in practice; the reader holds them (at most 64 records or
//!   4 MiB, flushed when the serial changes, at `EOE` and at the end) and,
//!   when the group has both a SYSCALL and an EXECVE record, gives both
//!   `Image` (the SYSCALL's `exe`), `CommandLine`, and `CurrentDirectory`
//!   (the `cwd` of the group's CWD record, when there is one). Records that
//!   are not adjacent get no derived fields beyond EXECVE's `CommandLine`.
//! * A line that holds no `type=... audit(TIME:SERIAL)`, has a bad stamp or
//!   an unterminated quote (a truncated record) is a [`ReadError`]; reading
//!   goes on. SELinux AVC prose (`avc:  denied  { read } for`) is not
//!   turned into fields.
//! * A syslog prefix (`Nov 14 ... host audispd: `) is kept in `raw` only.

mod parse;

use std::collections::VecDeque;
use std::io::BufRead;

use ferret_model::{Event, Location, SourceKind, Value};

use crate::lines::{LineError, Lines};
use crate::{ReadError, ReadResult, SourceContext};
pub use parse::looks_like_audit;
use parse::{Record, Val, parse};

/// The most records held back while waiting for the rest of one event.
const MAX_GROUP: usize = 64;
/// The most bytes of lines held back.
const MAX_GROUP_BYTES: usize = 4 << 20;

/// Streams the records of an audit log as events.
pub struct AuditdReader<R> {
    lines: Lines<R>,
    ctx: SourceContext,
    /// Records of the current serial (and errors between them), in order.
    group: Vec<Item>,
    group_key: Option<(Option<String>, String, String)>,
    group_bytes: usize,
    out: VecDeque<ReadResult>,
    last_line: u64,
    done: bool,
}

enum Item {
    Record { line: u64, text: String, record: Record },
    Error(ReadError),
}

/// What the records of one serial tell each other.
#[derive(Default)]
struct Derived {
    image: Option<String>,
    command_line: Option<String>,
    cwd: Option<String>,
}

impl<R: BufRead> AuditdReader<R> {
    pub fn new(input: R, ctx: SourceContext) -> Self {
        Self {
            lines: Lines::new(input, ctx.options.max_line_bytes),
            ctx,
            group: Vec::new(),
            group_key: None,
            group_bytes: 0,
            out: VecDeque::new(),
            last_line: 0,
            done: false,
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> ReadError {
        ReadError::new(&self.ctx.source, Some(Location::Line(line)), message)
    }

    /// Reads one line into the group or the output.
    fn step(&mut self) {
        let line = match self.lines.next() {
            None => {
                self.flush();
                self.done = true;
                return;
            }
            Some(Ok(line)) => line,
            Some(Err(LineError::TooLong { number, len, .. })) => {
                self.last_line = number;
                let limit = self.ctx.options.max_line_bytes;
                let error =
                    self.error(number, format!("line of {len} bytes is longer than the limit of {limit}; skipped"));
                return self.hold(Item::Error(error), 0);
            }
            Some(Err(LineError::Io(e))) => {
                self.flush();
                let error = self.error(self.last_line + 1, format!("read error: {e}"));
                self.out.push_back(Err(error));
                self.done = true;
                return;
            }
        };
        self.last_line = line.number;
        if line.text.trim().is_empty() {
            return;
        }
        match parse(&line.text) {
            Ok(record) => {
                let key = (record.node.clone(), record.stamp.clone(), record.serial.clone());
                if self.group_key.as_ref() != Some(&key) {
                    self.flush();
                }
                let end = record.kind == "EOE";
                let len = line.text.len();
                self.hold(Item::Record { line: line.number, text: line.text, record }, len);
                self.group_key = Some(key);
                if end {
                    self.flush();
                }
            }
            Err(reason) => {
                let error = self.error(line.number, reason);
                self.hold(Item::Error(error), 0);
            }
        }
    }

    /// Adds an item to the group (an error with no group goes straight out).
    fn hold(&mut self, item: Item, len: usize) {
        if self.group.is_empty() {
            if let Item::Error(error) = item {
                self.out.push_back(Err(error));
                return;
            }
        } else if self.group.len() >= MAX_GROUP || self.group_bytes + len > MAX_GROUP_BYTES {
            self.flush();
        }
        self.group_bytes += len;
        self.group.push(item);
    }

    /// Emits the group's records with their derived fields.
    fn flush(&mut self) {
        let items = std::mem::take(&mut self.group);
        self.group_key = None;
        self.group_bytes = 0;
        let first = |kind: &str| {
            items.iter().find_map(|item| match item {
                Item::Record { record, .. } if record.kind == kind => Some(record),
                _ => None,
            })
        };
        let process = match (first("SYSCALL"), first("EXECVE")) {
            (Some(syscall), Some(execve)) => Some(Derived {
                image: syscall.get("exe").map(str::to_owned),
                command_line: execve.command_line.clone(),
                cwd: first("CWD").and_then(|cwd| cwd.get("cwd")).map(str::to_owned),
            }),
            _ => None,
        };
        for item in items {
            match item {
                Item::Error(error) => self.out.push_back(Err(error)),
                Item::Record { line, text, record } => {
                    let derived = match (&process, record.kind.as_str()) {
                        (Some(process), "SYSCALL" | "EXECVE") => Some(process),
                        _ => None,
                    };
                    let event = self.event(line, text, record, derived);
                    self.out.push_back(Ok(event));
                }
            }
        }
    }

    fn event(&mut self, line: u64, text: String, record: Record, derived: Option<&Derived>) -> Event {
        let mut event = Event::new(SourceKind::Auditd, self.ctx.provenance(Location::Line(line)));
        event.timestamp = record.timestamp;
        let fields = &mut self.ctx.fields;
        event.push(fields.intern("type"), Value::text(record.kind));
        if let Some(node) = record.node {
            event.push(fields.intern("node"), Value::text(node));
        }
        for (key, value) in record.fields {
            let value = match value {
                Val::Bare(text) => Value::number(text),
                Val::Text(text) => Value::text(text),
            };
            event.push(fields.intern(&key), value);
        }
        event.push(fields.intern("audit.serial"), Value::number(record.serial));
        if let Some(id) = record.type_id {
            event.push(fields.intern("audit.type_id"), Value::number(id));
        }
        for (key, value) in record.enriched {
            event.push(fields.intern(&key), Value::text(value));
        }
        let command_line = record.command_line.or_else(|| derived.and_then(|d| d.command_line.clone()));
        let derived = [
            ("Image", derived.and_then(|d| d.image.clone())),
            ("CommandLine", command_line),
            ("CurrentDirectory", derived.and_then(|d| d.cwd.clone())),
        ];
        for (name, value) in derived {
            if let Some(value) = value {
                event.push(fields.intern(name), Value::text(value));
            }
        }
        event.raw = Some(text.into_boxed_str());
        event
    }
}

impl<R: BufRead> Iterator for AuditdReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        loop {
            if let Some(result) = self.out.pop_front() {
                return Some(result);
            }
            if self.done {
                return None;
            }
            self.step();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferret_model::FieldNames;

    use super::*;
    use crate::ReadOptions;

    struct Run {
        names: Arc<FieldNames>,
        results: Vec<ReadResult>,
    }

    fn run_with(input: &str, options: ReadOptions) -> Run {
        let names = FieldNames::new();
        let ctx = SourceContext::new("audit.log", names.clone(), options);
        let results = AuditdReader::new(input.as_bytes(), ctx).collect();
        Run { names, results }
    }

    fn run(input: &str) -> Run {
        run_with(input, ReadOptions::default())
    }

    impl Run {
        fn event(&self, i: usize) -> &Event {
            self.results[i].as_ref().unwrap()
        }

        fn get(&self, i: usize, name: &str) -> Option<String> {
            self.event(i).get(&self.names, name).map(ToString::to_string)
        }

        fn lines(&self) -> Vec<Result<u64, u64>> {
            let line = |l: Option<Location>| match l {
                Some(Location::Line(n)) => n,
                other => panic!("{other:?}"),
            };
            self.results
                .iter()
                .map(|r| match r {
                    Ok(e) => Ok(line(Some(e.provenance.location))),
                    Err(e) => Err(line(e.location)),
                })
                .collect()
        }
    }

    const EXEC: &str = "\
type=SYSCALL msg=audit(1700000000.123:4567): arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=1200 pid=1234 auid=1000 uid=0 comm=\"cat\" exe=\"/usr/bin/cat\" key=\"exec\"
type=EXECVE msg=audit(1700000000.123:4567): argc=2 a0=\"cat\" a1=2F746D702F6D792066696C65
type=CWD msg=audit(1700000000.123:4567): cwd=\"/root\"
type=PATH msg=audit(1700000000.123:4567): item=0 name=\"/usr/bin/cat\" inode=1 nametype=NORMAL
type=PROCTITLE msg=audit(1700000000.123:4567): proctitle=636174002F746D702F6D792066696C65
type=EOE msg=audit(1700000000.123:4567):
";

    #[test]
    fn one_execve_event_gives_one_event_per_record_with_process_fields() {
        let r = run(EXEC);
        assert_eq!(r.lines(), [Ok(1), Ok(2), Ok(3), Ok(4), Ok(5), Ok(6)]);
        let e = r.event(0);
        assert_eq!(e.kind, SourceKind::Auditd);
        assert_eq!(e.timestamp.unwrap().to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(e.raw.as_deref(), EXEC.lines().next());
        assert_eq!(r.get(0, "type").as_deref(), Some("SYSCALL"));
        assert_eq!(r.get(0, "audit.serial").as_deref(), Some("4567"));
        assert_eq!(r.get(0, "SYSCALL").as_deref(), Some("execve"));
        assert_eq!(r.get(0, "Image").as_deref(), Some("/usr/bin/cat"));
        assert_eq!(r.get(0, "CommandLine").as_deref(), Some("cat /tmp/my file"));
        assert_eq!(r.get(0, "CurrentDirectory").as_deref(), Some("/root"));
        assert_eq!(r.get(1, "a1").as_deref(), Some("/tmp/my file"));
        assert_eq!(r.get(1, "CommandLine").as_deref(), Some("cat /tmp/my file"));
        assert_eq!(r.get(1, "Image").as_deref(), Some("/usr/bin/cat"));
        assert_eq!(r.get(3, "nametype").as_deref(), Some("NORMAL"));
        assert_eq!(r.get(3, "Image"), None, "only SYSCALL and EXECVE get process fields");
        assert_eq!(r.get(4, "proctitle").as_deref(), Some("cat /tmp/my file"));
        assert_eq!(r.event(1).get(&r.names, "pid"), None);
        assert_eq!(r.event(0).get(&r.names, "pid"), Some(&Value::Number("1234".into())));
    }

    #[test]
    fn records_of_other_serials_do_not_share_fields() {
        let input = "\
type=SYSCALL msg=audit(1700000000.1:1): arch=c000003e syscall=59 exe=\"/bin/a\"
type=EXECVE msg=audit(1700000000.2:2): argc=1 a0=\"b\"
type=SYSCALL msg=audit(1700000000.2:2): arch=c000003e syscall=42 exe=\"/bin/b\"
";
        let r = run(input);
        assert_eq!(r.get(0, "Image"), None);
        assert_eq!(r.get(1, "CommandLine").as_deref(), Some("b"));
        assert_eq!(r.get(1, "Image").as_deref(), Some("/bin/b"), "EXECVE before SYSCALL in one serial");
        assert_eq!(r.get(2, "SYSCALL").as_deref(), Some("connect"));
        assert_eq!(r.get(2, "CurrentDirectory"), None);
    }

    #[test]
    fn errors_keep_their_place_and_reading_goes_on() {
        let input = "\
type=SYSCALL msg=audit(1700000000.1:7): arch=c000003e syscall=59 exe=\"/bin/a\"
garbage
type=EXECVE msg=audit(1700000000.1:7): argc=1 a0=\"a\"

type=USER_LOGIN msg=audit(1700000001.0:8): pid=1 msg='op=login acct=\"root\" res=failed'
type=SYSCALL msg=audit(1700000001.0:9): comm=\"trunc
";
        let r = run(input);
        assert_eq!(r.lines(), [Ok(1), Err(2), Ok(3), Ok(5), Err(6)]);
        assert_eq!(r.get(0, "Image").as_deref(), Some("/bin/a"), "an error line does not split the group");
        assert_eq!(r.get(3, "acct").as_deref(), Some("root"));
        let message = &r.results[1].as_ref().unwrap_err().message;
        assert!(message.contains("not an audit record"), "{message}");
    }

    #[test]
    fn groups_are_bounded() {
        let mut input = String::new();
        for _ in 0..(MAX_GROUP + 5) {
            input.push_str("type=PATH msg=audit(1700000000.1:7): name=\"/x\"\n");
        }
        let r = run(&input);
        assert_eq!(r.results.len(), MAX_GROUP + 5);
        assert!(r.results.iter().all(Result::is_ok));
    }

    #[test]
    fn long_lines_are_errors() {
        let options = ReadOptions { max_line_bytes: 60, ..ReadOptions::default() };
        let r = run_with(
            "type=PATH msg=audit(1700000000.1:7): name=\"/x\"\ntype=PATH msg=audit(1700000000.1:7): name=\"/0123456789012345678901234567890\"\n",
            options,
        );
        assert_eq!(r.lines(), [Ok(1), Err(2)]);
    }

    #[test]
    fn syslog_prefixed_and_kernel_records() {
        let r = run(
            "Nov 14 22:13:20 web-01 audispd: node=web-01 type=EXECVE msg=audit(1700000000.1:7): argc=1 a0=\"id\"\n\
             Nov 14 22:13:21 web-01 kernel: [ 12.5] audit: type=1400 audit(1700000001.250:12): apparmor=\"DENIED\"\n",
        );
        assert_eq!(r.get(0, "node").as_deref(), Some("web-01"));
        assert_eq!(r.get(0, "CommandLine").as_deref(), Some("id"));
        assert_eq!(r.get(1, "type").as_deref(), Some("AVC"));
        assert_eq!(r.get(1, "audit.type_id").as_deref(), Some("1400"));
        assert_eq!(r.get(1, "apparmor").as_deref(), Some("DENIED"));
    }
}
