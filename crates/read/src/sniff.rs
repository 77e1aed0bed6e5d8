//! Format sniffing: decided from the first bytes of the content, never from
//! the file name (evidence is often renamed, rotated or extension-less).

use std::fmt;

use crate::auditd::looks_like_audit;
use crate::cef::looks_like_cef;
use crate::kv::looks_like_kv;
use crate::syslog::looks_like_syslog;
use crate::web::{looks_like_access_log, looks_like_w3c};
use crate::zeek::looks_like_zeek;

/// How many bytes the sniffer wants to see.
pub const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Evtx,
    Json,
    Syslog,
    Csv {
        delimiter: u8,
    },
    /// Linux audit logs (`type=... msg=audit(...)`).
    Auditd,
    /// `journalctl -o export` output.
    JournalExport,
    /// Web server and proxy access logs (common/combined, W3C extended).
    Web,
    /// Zeek TSV logs.
    Zeek,
    /// ArcSight Common Event Format lines.
    Cef,
    /// Generic `key=value` lines.
    Kv,
    Gzip,
    Zip,
    /// A tar archive (a triage collector's bundle), read member by member.
    Tar,
    /// Nothing in it: not an error, just no events.
    Empty,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Evtx => "evtx",
            Format::Json => "json",
            Format::Syslog => "syslog",
            Format::Csv { .. } => "csv",
            Format::Auditd => "auditd",
            Format::JournalExport => "journal",
            Format::Web => "web",
            Format::Zeek => "zeek",
            Format::Cef => "cef",
            Format::Kv => "kv",
            Format::Gzip => "gzip",
            Format::Zip => "zip",
            Format::Tar => "tar",
            Format::Empty => "empty",
        })
    }
}

/// The format of content that starts with `head`, or why it is none that
/// ferret reads.
pub fn sniff(head: &[u8]) -> Result<Format, String> {
    if head.starts_with(crate::evtx::MAGIC) {
        return Ok(Format::Evtx);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Format::Gzip);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Ok(Format::Zip);
    }
    // POSIX and GNU tar: "ustar" at offset 257 of the first header.
    if head.get(257..262) == Some(b"ustar") {
        return Ok(Format::Tar);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.iter().all(u8::is_ascii_whitespace) {
        return Ok(Format::Empty);
    }
    // Before the binary check: export binary fields hold NUL bytes.
    if crate::journald::looks_like_export(head) {
        return Ok(Format::JournalExport);
    }
    if looks_binary(head) {
        return Err("binary content, not a log format ferret reads".into());
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Ok(Format::Json);
    }
    // Only whole lines: the last one may be cut by the sniff window.
    let complete = match text.rfind('\n') {
        Some(end) if head.len() == SNIFF_BYTES => &text[..end],
        _ => &text[..],
    };
    let lines: Vec<&str> = complete.lines().filter(|l| !l.trim().is_empty()).take(8).collect();
    let first_line = lines.first().copied().unwrap_or("");
    if looks_like_zeek(first_line) {
        return Ok(Format::Zeek);
    }
    if looks_like_w3c(first_line) {
        return Ok(Format::Web);
    }
    // At least half of the first lines, as for syslog: one odd line must
    // not make a file unreadable.
    let most = |looks: fn(&str) -> bool| {
        let n = lines.iter().filter(|l| looks(l)).count();
        n > 0 && n * 2 >= lines.len()
    };
    // Before syslog and kv: audit records may follow a syslog header, and
    // they are key=value lines.
    if most(looks_like_audit) {
        return Ok(Format::Auditd);
    }
    if most(looks_like_cef) {
        return Ok(Format::Cef);
    }
    if most(looks_like_syslog) {
        return Ok(Format::Syslog);
    }
    if most(looks_like_access_log) {
        return Ok(Format::Web);
    }
    if let Some(delimiter) = csv_delimiter(complete) {
        return Ok(Format::Csv { delimiter });
    }
    // `key=value` is the loosest shape: the first line and three quarters
    // of the first lines must hold three pairs or more.
    let kv = lines.iter().filter(|l| looks_like_kv(l)).count();
    if looks_like_kv(first_line) && kv * 4 >= lines.len() * 3 {
        return Ok(Format::Kv);
    }
    let first: String = lines.first().map_or("", |l| l).chars().take(80).collect();
    Err(format!("unrecognised text format (first line: {first:?})"))
}

/// NUL bytes or mostly non-text bytes mean binary content.
fn looks_binary(head: &[u8]) -> bool {
    let window = &head[..head.len().min(8192)];
    if window.contains(&0) {
        return true;
    }
    let odd = window.iter().filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b) || b == 0x7f).count();
    odd * 10 > window.len()
}

/// A header row of at least two cells, then rows of at least two cells of
/// which at least half are as wide as the header. Rows are CSV records, not
/// lines: a quoted cell may hold newlines (exported Windows messages do), and
/// the reader keeps short and long rows, so sniffing accepts them too. A
/// first line starting with `#` is no header.
fn csv_delimiter(text: &str) -> Option<u8> {
    // `#` lines are the headers of Zeek and W3C (IIS) logs: their first
    // rows are not a CSV header, and reading them as one yields nonsense.
    if text.trim_start().starts_with('#') {
        return None;
    }
    [b',', b'\t', b';'].into_iter().find(|&d| {
        let mut rows = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes())
            .into_records();
        let width = match rows.next() {
            Some(Ok(header)) if header.len() >= 2 => header.len(),
            _ => return false,
        };
        let widths: Vec<usize> = rows.take(8).map_while(Result::ok).map(|row| row.len()).collect();
        let full = widths.iter().filter(|&&w| w == width).count();
        !widths.is_empty() && widths.iter().all(|&w| w >= 2) && full * 2 >= widths.len()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_content() {
        assert_eq!(sniff(b"ElfFile\0rest"), Ok(Format::Evtx));
        assert_eq!(sniff(b"\x1f\x8b\x08"), Ok(Format::Gzip));
        assert_eq!(sniff(b"PK\x03\x04"), Ok(Format::Zip));
        assert_eq!(sniff(b"  \n"), Ok(Format::Empty));
        assert_eq!(sniff(b"\xEF\xBB\xBF[{\"a\":1}]"), Ok(Format::Json));
        assert_eq!(sniff(b"{\"a\":1}\n"), Ok(Format::Json));
        assert_eq!(sniff(b"a,b,c\n1,2,3\n4,5,6\n"), Ok(Format::Csv { delimiter: b',' }));
        assert_eq!(sniff(b"a\tb\n1\t2\n"), Ok(Format::Csv { delimiter: b'\t' }));
        assert_eq!(
            sniff(b"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\n"),
            Ok(Format::Syslog)
        );
    }

    #[test]
    fn csv_with_multi_line_cells_and_ragged_rows() {
        // Cut at lines, the quoted cell's second line has one cell and the
        // short and long rows do not match the header: still CSV.
        let table = "time,host,user,details\n\
                     1,web-01,bob,\"multi\nline, quoted\"\n\
                     2,web-01,carol\n\
                     3,web-01,dave,x,extra\n\
                     4,web-01,eve,y\n";
        assert_eq!(sniff(table.as_bytes()), Ok(Format::Csv { delimiter: b',' }));
        assert_eq!(sniff(b"a;b\n\"x\ny\";2\n"), Ok(Format::Csv { delimiter: b';' }));
        // Prose stays prose: a first line of one cell, or rows that mostly
        // disagree with the first line.
        assert!(sniff(b"Notes\nalice, then bob\n").is_err());
        assert!(sniff(b"one, two\nthree, four, five\nsix, seven, eight\nnine\n").is_err());
        let zeek = "#separator\t\\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
                    #open\t2026-03-03-14-00-00\n#fields\tts\tuid\tproto\n#types\ttime\tstring\tenum\n1.5\tC1\ttcp\n";
        assert_eq!(sniff(zeek.as_bytes()), Ok(Format::Zeek));
    }

    #[test]
    fn web_zeek_cef_and_kv() {
        let combined = b"203.0.113.7 - - [03/Mar/2026:07:01:12 +0000] \"GET / HTTP/1.1\" 200 512 \"-\" \"curl/8.5\"\n";
        assert_eq!(sniff(combined), Ok(Format::Web));
        let w3c = b"#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Fields: date time c-ip\n";
        assert_eq!(sniff(w3c), Ok(Format::Web));
        assert_eq!(sniff(b"#Fields: date time c-ip\n2026-03-03 07:01:12 10.0.0.1\n"), Ok(Format::Web));
        assert_eq!(sniff(b"#separator \\x09\n#set_separator\t,\n#fields\tts\n"), Ok(Format::Zeek));
        assert_eq!(sniff(b"#fields\tindicator\tindicator_type\n1.2.3.4\tIntel::ADDR\n"), Ok(Format::Zeek));
        assert_eq!(sniff(b"CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.1\n"), Ok(Format::Cef));
        // CEF after a syslog header is CEF, not syslog.
        let cef = b"<134>Mar  3 07:01:12 fw-01 CEF:0|Vendor|Product|1.0|100|Name|5|src=10.0.0.1\n";
        assert_eq!(sniff(cef), Ok(Format::Cef));
        let kv = b"date=2026-03-03 time=07:01:12 srcip=10.0.0.1 action=deny\nsrcip=10.0.0.2 dstip=10.0.0.3 action=\"allow all\"\n";
        assert_eq!(sniff(kv), Ok(Format::Kv));
        // Fewer than three pairs per line is prose, and syslog lines with
        // pairs (sudo) stay syslog.
        assert!(sniff(b"user=alice logged in\nthen left\n").is_err());
        let sudo = b"Mar  3 07:01:12 h sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/id\n";
        assert_eq!(sniff(sudo), Ok(Format::Syslog));
    }

    #[test]
    fn audit_logs_and_journal_exports() {
        let audit = b"type=SYSCALL msg=audit(1700000000.123:4567): arch=c000003e syscall=59 success=yes exit=0\n\
                      type=EXECVE msg=audit(1700000000.123:4567): argc=1 a0=\"id\"\n";
        assert_eq!(sniff(audit), Ok(Format::Auditd));
        let node = b"node=web-01 type=USER_LOGIN msg=audit(1700000000.5:77): pid=1 uid=0 msg='op=login res=failed'\n";
        assert_eq!(sniff(node), Ok(Format::Auditd));
        // Behind a syslog header, audit records are still audit records.
        let prefixed =
            b"Nov 14 22:13:20 web-01 audispd: node=web-01 type=EXECVE msg=audit(1700000000.1:7): argc=1 a0=\"id\"\n";
        assert_eq!(sniff(prefixed), Ok(Format::Auditd));
        let kernel = b"Nov 14 22:13:21 web-01 kernel: audit: type=1400 audit(1700000001.250:12): apparmor=\"DENIED\"\n";
        assert_eq!(sniff(kernel), Ok(Format::Auditd));
        let mut export = b"__CURSOR=s=1;i=1\n__REALTIME_TIMESTAMP=1700000000000000\nMESSAGE\n".to_vec();
        export.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0, b'h', b'\n', b'\n', b'\n']);
        assert_eq!(sniff(&export), Ok(Format::JournalExport));
        assert_eq!(Format::Auditd.to_string(), "auditd");
        assert_eq!(Format::JournalExport.to_string(), "journal");
        // A syslog file with an audit line among many others stays syslog.
        let mixed = b"Nov 14 22:13:20 h sshd[1]: a\nNov 14 22:13:20 h sshd[1]: b\nNov 14 22:13:20 h sshd[1]: c\n\
                      Nov 14 22:13:21 h kernel: audit: type=1400 audit(1700000001.250:12): x=1\n";
        assert_eq!(sniff(mixed), Ok(Format::Syslog));
    }

    #[test]
    fn binary_and_unknown_text_are_refused_with_a_reason() {
        assert!(sniff(b"\x7fELF\x02\x01\x01\0\0\0").unwrap_err().contains("binary"));
        assert!(sniff(b"hello world\nthis is prose\n").unwrap_err().contains("hello world"));
    }
}
