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
    if let Some(delimiter) = csv_delimiter(&lines) {
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

/// A header row and data rows with the same number (at least two) of cells.
fn csv_delimiter(lines: &[&str]) -> Option<u8> {
    if lines.len() < 2 {
        return None;
    }
    [b',', b'\t', b';'].into_iter().find(|&d| {
        let count = |line: &str| {
            csv::ReaderBuilder::new()
                .delimiter(d)
                .has_headers(false)
                .from_reader(line.as_bytes())
                .records()
                .next()
                .and_then(Result::ok)
                .map_or(0, |r| r.len())
        };
        let header = count(lines[0]);
        header >= 2 && lines[1..].iter().all(|l| count(l) == header)
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
    fn binary_and_unknown_text_are_refused_with_a_reason() {
        assert!(sniff(b"\x7fELF\x02\x01\x01\0\0\0").unwrap_err().contains("binary"));
        assert!(sniff(b"hello world\nthis is prose\n").unwrap_err().contains("hello world"));
    }
}
