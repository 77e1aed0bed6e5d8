//! Sigma strings: literal text and wildcard tokens.
//!
//! The tokenizer follows the specification's escaping rules (SIGMA.md F21,
//! EC-03…EC-09): `*` and `?` are wildcards; `\*`, `\?` and `\\` are the
//! literal characters; a backslash before anything else is itself literal.
//! Modifiers add wildcard *tokens*, never characters, so `'\pipe\'` with
//! `startswith` is `\pipe\` followed by a wildcard, not an escaped `*`.

use std::fmt::Write;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    Text(String),
    /// `*`: any run of characters, newlines included.
    AnyRun,
    /// `?`: exactly one character.
    AnyOne,
}

/// A tokenized Sigma string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct SigmaString(pub Vec<Part>);

impl SigmaString {
    /// Tokenizes a rule value.
    pub fn parse(raw: &str) -> Self {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = raw.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.peek() {
                    Some(&next @ ('*' | '?' | '\\')) => {
                        text.push(next);
                        chars.next();
                    }
                    _ => text.push('\\'),
                },
                '*' | '?' => {
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(if c == '*' { Part::AnyRun } else { Part::AnyOne });
                }
                _ => text.push(c),
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        SigmaString(parts)
    }

    /// A string of literal text only (no wildcard interpretation).
    pub fn literal(text: impl Into<String>) -> Self {
        let text = text.into();
        if text.is_empty() { SigmaString(Vec::new()) } else { SigmaString(vec![Part::Text(text)]) }
    }

    pub fn has_wildcards(&self) -> bool {
        self.0.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    /// Adds a `*` token at the start unless one is there.
    pub fn prepend_any(&mut self) {
        if self.0.first() != Some(&Part::AnyRun) {
            self.0.insert(0, Part::AnyRun);
        }
    }

    /// Adds a `*` token at the end unless one is there.
    pub fn append_any(&mut self) {
        if self.0.last() != Some(&Part::AnyRun) {
            self.0.push(Part::AnyRun);
        }
    }

    /// The literal text when there are no wildcards.
    pub fn as_plain(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Maps every literal piece (windash, case folding...).
    pub fn map_text(&self, f: impl Fn(&str) -> String) -> Self {
        SigmaString(
            self.0
                .iter()
                .map(|p| match p {
                    Part::Text(t) => Part::Text(f(t)),
                    other => other.clone(),
                })
                .collect(),
        )
    }

    /// An anchored regular expression equivalent to the wildcard pattern:
    /// the reference the wildcard matcher (`glob`) is tested against.
    #[cfg(test)]
    pub fn to_regex(&self, case_insensitive: bool) -> String {
        let mut re = String::from(if case_insensitive { "(?si)^" } else { "(?s)^" });
        for part in &self.0 {
            match part {
                Part::Text(t) => re.push_str(&regex::escape(t)),
                Part::AnyRun => re.push_str(".*"),
                Part::AnyOne => re.push('.'),
            }
        }
        re.push('$');
        re
    }

    /// The value as a rule author would write it (for explanations).
    pub fn display(&self) -> String {
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => {
                    for c in t.chars() {
                        if matches!(c, '*' | '?') {
                            out.push('\\');
                        }
                        let _ = out.write_char(c);
                    }
                }
                Part::AnyRun => out.push('*'),
                Part::AnyOne => out.push('?'),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Part::*;

    fn t(s: &str) -> Part {
        Text(s.into())
    }

    #[test]
    fn escapes_follow_the_specification() {
        assert_eq!(SigmaString::parse("a*b?c").0, vec![t("a"), AnyRun, t("b"), AnyOne, t("c")]);
        assert_eq!(SigmaString::parse(r"\*.lnk").0, vec![t("*.lnk")], "EC-03");
        assert_eq!(SigmaString::parse(r"\?").0, vec![t("?")]);
        assert_eq!(SigmaString::parse(r"a\\*").0, vec![t(r"a\"), AnyRun], "EC-05: \\\\* is backslash + wildcard");
        assert_eq!(SigmaString::parse(r"a\\\*").0, vec![t(r"a\*")]);
        assert_eq!(SigmaString::parse(r"\\\\").0, vec![t(r"\\")]);
        assert_eq!(SigmaString::parse(r"C:\Windows\").0, vec![t(r"C:\Windows\")], "lone backslash is literal");
        assert_eq!(SigmaString::parse(r"\\\\\?\\GLOBALROOT").0, vec![t(r"\\?\GLOBALROOT")], "EC-05 shadow copy path");
    }

    #[test]
    fn modifiers_add_tokens_not_characters() {
        let mut s = SigmaString::parse(r"\pipe\");
        s.append_any();
        assert_eq!(s.0, vec![t(r"\pipe\"), AnyRun], "EC-06");
        s.append_any();
        s.prepend_any();
        assert_eq!(s.0, vec![AnyRun, t(r"\pipe\"), AnyRun]);
    }

    #[test]
    fn regex_form_is_anchored_and_escaped() {
        let re = regex::Regex::new(&SigmaString::parse("a.b*c?").to_regex(true)).unwrap();
        assert!(re.is_match("A.B\nxxCZ"));
        assert!(!re.is_match("axbc?"));
        assert!(!re.is_match("za.bcz"));
    }
}
