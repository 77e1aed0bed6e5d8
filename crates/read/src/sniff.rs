//! Format sniffing: decided from the first bytes of the content, never from
//! the file name (evidence is often renamed, rotated or extension-less).

use std::fmt;

use crate::syslog::looks_like_syslog;

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
    Gzip,
    Zip,
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
            Format::Gzip => "gzip",
            Format::Zip => "zip",
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
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if head.iter().all(u8::is_ascii_whitespace) {
        return Ok(Format::Empty);
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
    let syslog = lines.iter().filter(|l| looks_like_syslog(l)).count();
    if syslog > 0 && syslog * 2 >= lines.len() {
        return Ok(Format::Syslog);
    }
    if let Some(delimiter) = csv_delimiter(complete) {
        return Ok(Format::Csv { delimiter });
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
        assert!(sniff(zeek.as_bytes()).is_err());
    }

    #[test]
    fn binary_and_unknown_text_are_refused_with_a_reason() {
        assert!(sniff(b"\x7fELF\x02\x01\x01\0\0\0").unwrap_err().contains("binary"));
        assert!(sniff(b"hello world\nthis is prose\n").unwrap_err().contains("hello world"));
    }
}
