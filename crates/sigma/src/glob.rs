//! Wildcard matching without regular expressions.
//!
//! A Sigma value with wildcards in the middle (`c-uri: .ghostbin.co/paste/*/raw/`)
//! is split at its `*` tokens into segments of literal text and `?`
//! (exactly one character). The first segment is anchored at the start,
//! the last at the end, and the middle ones are found left to right at their
//! earliest position, which is optimal because every gap between segments is
//! a `*`. Linear in the haystack per segment, and a few bytes per pattern
//! where a compiled regex costs tens of kilobytes.

use crate::string::Part;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Piece {
    Text(String),
    /// `?`: one character.
    One,
}

/// A run of pieces between two `*`.
#[derive(Clone, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
struct Segment(Vec<Piece>);

impl Segment {
    /// Where the segment ends if it matches `hay` at byte `at`.
    fn match_at(&self, hay: &str, mut at: usize) -> Option<usize> {
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => {
                    if !hay[at..].starts_with(t.as_str()) {
                        return None;
                    }
                    at += t.len();
                }
                Piece::One => at += hay[at..].chars().next()?.len_utf8(),
            }
        }
        Some(at)
    }

    /// The earliest match at or after byte `from`: (start, end).
    fn find_from(&self, hay: &str, from: usize) -> Option<(usize, usize)> {
        let mut start = from;
        loop {
            // Jump to the next place the leading text occurs (memchr's
            // searcher: `str::find` sets up a two-way searcher per call,
            // which cost more than the search in short values).
            if let Some(Piece::Text(t)) = self.0.first() {
                start += memchr::memmem::find(&hay.as_bytes()[start..], t.as_bytes())?;
            }
            if let Some(end) = self.match_at(hay, start) {
                return Some((start, end));
            }
            start += hay[start..].chars().next()?.len_utf8();
        }
    }

    /// The length of what the segment matches, in characters (`?` is one).
    fn chars(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.chars().count(),
                Piece::One => 1,
            })
            .sum()
    }
}

/// A compiled wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Glob {
    /// Segments split at `*`; a pattern without `*` has one segment.
    segments: Vec<Segment>,
}

impl Glob {
    /// Builds the matcher from a tokenized Sigma string; `fold` maps literal
    /// text (lowercasing for case-insensitive matching).
    pub fn new(parts: &[Part], fold: impl Fn(&str) -> String) -> Self {
        let mut segments = vec![Segment::default()];
        for part in parts {
            match part {
                Part::AnyRun => segments.push(Segment::default()),
                Part::AnyOne => segments.last_mut().unwrap().0.push(Piece::One),
                Part::Text(t) => segments.last_mut().unwrap().0.push(Piece::Text(fold(t))),
            }
        }
        Glob { segments }
    }

    /// The longest literal piece, which every match contains.
    pub fn longest_literal(&self) -> Option<String> {
        self.segments
            .iter()
            .flat_map(|s| &s.0)
            .filter_map(|p| match p {
                Piece::Text(t) => Some(t),
                Piece::One => None,
            })
            .max_by_key(|t| t.len())
            .cloned()
    }

    pub fn is_match(&self, hay: &str) -> bool {
        let (first, rest) = self.segments.split_first().expect("at least one segment");
        let Some(mut at) = first.match_at(hay, 0) else { return false };
        let Some((last, middle)) = rest.split_last() else {
            return at == hay.len();
        };
        for segment in middle {
            match segment.find_from(hay, at) {
                Some((_, end)) => at = end,
                None => return false,
            }
        }
        // The last segment ends the haystack: it starts a fixed number of
        // characters before the end.
        let Some(start) = hay
            .char_indices()
            .rev()
            .nth(last.chars().wrapping_sub(1))
            .map(|(i, _)| i)
            .or_else(|| (last.chars() == 0).then_some(hay.len()))
        else {
            return false;
        };
        start >= at && last.match_at(hay, start) == Some(hay.len())
    }
}

impl std::fmt::Display for Glob {
    /// The pattern in Sigma notation, with `*` between segments.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str("*")?;
            }
            for piece in &segment.0 {
                match piece {
                    Piece::Text(t) => write!(f, "{}", t.replace('\\', "\\\\").replace('*', "\\*").replace('?', "\\?"))?,
                    Piece::One => f.write_str("?")?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::string::SigmaString;

    fn glob(pattern: &str) -> Glob {
        Glob::new(&SigmaString::parse(pattern).0, str::to_owned)
    }

    #[test]
    fn anchored_segments_and_single_characters() {
        let g = glob(".ghostbin.co/paste/*/raw/");
        assert!(g.is_match(".ghostbin.co/paste/abc/raw/"));
        assert!(g.is_match(".ghostbin.co/paste//raw/"));
        assert!(!g.is_match("x.ghostbin.co/paste/abc/raw/"));
        assert!(!g.is_match(".ghostbin.co/paste/abc/raw/x"));
        let g = glob("a?c");
        assert!(g.is_match("abc") && g.is_match("a\nc") && g.is_match("aéc"));
        assert!(!g.is_match("ac") && !g.is_match("abbc"));
        let g = glob("*a*b?*");
        assert!(g.is_match("xxaxxbz") && g.is_match("abz"));
        assert!(!g.is_match("ab") && !g.is_match("ba"));
        assert!(glob("*").is_match("") && glob("**").is_match("anything"));
        assert!(glob("?*").is_match("x") && !glob("?*").is_match(""));
        assert!(glob("*x?").is_match("axé") && !glob("*x?").is_match("ax"));
    }

    #[test]
    fn agrees_with_the_regex_translation() {
        let patterns = ["*a*", "a*b", "*ab?", "?b*c*", "a?*?b", "*\\\\*", "*.exe* -*", "??", "*??*a"];
        let hays = ["", "a", "ab", "abc", "aab", "bca", "a\\b", "x.exe -y", "cmd.exe/c", "aaab", "xyza", "éa"];
        for p in patterns {
            let s = SigmaString::parse(p);
            let re = regex::Regex::new(&s.to_regex(false)).unwrap();
            let g = Glob::new(&s.0, str::to_owned);
            for h in hays {
                assert_eq!(g.is_match(h), re.is_match(h), "{p} on {h:?}");
            }
        }
    }
}
