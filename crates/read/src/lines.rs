//! Line framing for text formats, separate from parsing them.
//!
//! Reads `\n`-terminated lines (a trailing `\r` is dropped) with a bound on
//! line length, keeps the 1-based line number and the byte offset of each
//! line, and decodes invalid UTF-8 lossily so one bad byte never loses a line.

use std::io::{self, BufRead};

/// One line of a text source.
#[derive(Debug, PartialEq, Eq)]
pub struct Line {
    pub number: u64,
    pub offset: u64,
    pub text: String,
}

/// Why a line could not be framed.
#[derive(Debug)]
pub enum LineError {
    /// The line at `number` was longer than the limit; it was skipped.
    TooLong {
        number: u64,
        offset: u64,
        len: usize,
    },
    Io(io::Error),
}

pub struct Lines<R> {
    input: R,
    max_len: usize,
    number: u64,
    offset: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(input: R, max_len: usize) -> Self {
        Self { input, max_len, number: 0, offset: 0, buf: Vec::new() }
    }

    fn read_bounded(&mut self) -> io::Result<usize> {
        read_bounded_line(&mut self.input, &mut self.buf, self.max_len).map(|(len, _)| len)
    }
}

/// Reads up to the next newline into `buf` (cleared first) without letting
/// it grow past `max_len + 1` bytes; returns the full length of the line as
/// consumed (including the newline, 0 at the end of the input) and whether
/// it ended with a newline (the newline may be past what `buf` kept).
pub fn read_bounded_line<R: BufRead>(input: &mut R, buf: &mut Vec<u8>, max_len: usize) -> io::Result<(usize, bool)> {
    buf.clear();
    let mut total = 0;
    loop {
        let chunk = match input.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok((total, false));
        }
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        if buf.len() <= max_len {
            let room = (max_len + 1).saturating_sub(buf.len()).min(take);
            buf.extend_from_slice(&chunk[..room]);
        }
        input.consume(take);
        total += take;
        if done {
            return Ok((total, true));
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = Result<Line, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let len = match self.read_bounded() {
            Ok(0) => return None,
            Ok(len) => len,
            Err(e) => return Some(Err(LineError::Io(e))),
        };
        self.number += 1;
        let offset = self.offset;
        self.offset += len as u64;
        let mut content = len;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            content -= 1;
        }
        if content > self.max_len {
            return Some(Err(LineError::TooLong { number: self.number, offset, len: content }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        // A UTF-8 byte-order mark belongs to the file, not to its first line.
        if offset == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            self.buf.drain(..3);
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&self.buf).into_owned(),
        };
        Some(Ok(Line { number: self.number, offset, text }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(input: &[u8], max: usize) -> Vec<Result<(u64, u64, String), u64>> {
        Lines::new(input, max)
            .map(|r| match r {
                Ok(l) => Ok((l.number, l.offset, l.text)),
                Err(LineError::TooLong { number, .. }) => Err(number),
                Err(LineError::Io(e)) => panic!("{e}"),
            })
            .collect()
    }

    #[test]
    fn numbers_offsets_crlf_and_last_line_without_newline() {
        assert_eq!(
            frame(b"a\r\nbb\n\nccc", 100),
            vec![Ok((1, 0, "a".into())), Ok((2, 3, "bb".into())), Ok((3, 6, "".into())), Ok((4, 7, "ccc".into()))]
        );
    }

    #[test]
    fn long_lines_are_skipped_not_buffered() {
        assert_eq!(
            frame(b"ok\n0123456789\nfine\n", 5),
            vec![Ok((1, 0, "ok".into())), Err(2), Ok((3, 14, "fine".into()))]
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        assert_eq!(
            frame(b"\xEF\xBB\xBFa\n\xEF\xBB\xBFb\n", 10),
            vec![Ok((1, 0, "a".into())), Ok((2, 5, "\u{feff}b".into()))]
        );
    }

    #[test]
    fn invalid_utf8_is_kept_lossily() {
        assert_eq!(frame(b"a\xffb\n", 10), vec![Ok((1, 0, "a\u{fffd}b".into()))]);
    }
}
