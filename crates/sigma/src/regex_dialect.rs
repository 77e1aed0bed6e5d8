//! Sigma regular expressions are PCRE-flavoured; the `regex` crate differs
//! in a few places (SIGMA.md EC-61). This rewrites a pattern so it means in
//! Rust what it means in PCRE:
//!
//! * `\<` and `\>` are literal `<` and `>` (Rust: word boundaries);
//! * `\d \w \s \b \B` (and `\D \W \S` outside classes) are ASCII, as in
//!   PCRE without Unicode mode (Rust: Unicode, so `\d` matches `٣`).
//!
//! Escaped backslashes are kept as they are, so `\\d` stays a backslash
//! followed by `d`.

/// The pattern in the `regex` crate's dialect.
pub fn to_rust(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // Inside `[...]`: ASCII classes are written without their own brackets.
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(next) = chars.next() else {
                out.push('\\');
                break;
            };
            let replacement = match (next, in_class) {
                ('<' | '>', _) => Some(next.to_string()),
                ('d', false) => Some("[0-9]".into()),
                ('d', true) => Some("0-9".into()),
                ('w', false) => Some("[0-9A-Za-z_]".into()),
                ('w', true) => Some("0-9A-Za-z_".into()),
                ('s', false) => Some(r"[\t\n\x0B\x0C\r ]".into()),
                ('s', true) => Some(r"\t\n\x0B\x0C\r ".into()),
                ('D', false) => Some("[^0-9]".into()),
                ('W', false) => Some("[^0-9A-Za-z_]".into()),
                ('S', false) => Some(r"[^\t\n\x0B\x0C\r ]".into()),
                ('b', false) => Some(r"(?-u:\b)".into()),
                ('B', false) => Some(r"(?-u:\B)".into()),
                _ => None,
            };
            match replacement {
                Some(r) => out.push_str(&r),
                None => {
                    out.push('\\');
                    out.push(next);
                }
            }
            class_start = false;
            continue;
        }
        match c {
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                // `[^` and a leading `]` belong to the class.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap());
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap());
                }
                continue;
            }
            ']' if in_class && !class_start => in_class = false,
            _ => {}
        }
        class_start = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, hay: &str) -> bool {
        regex::Regex::new(&to_rust(pattern)).unwrap().is_match(hay)
    }

    #[test]
    fn pcre_meanings() {
        assert!(is_match(r"a\<b", "a<b"), "\\< is a literal <");
        assert!(is_match(r"^\d$", "7") && !is_match(r"^\d$", "٣"), "\\d is ASCII");
        assert!(!is_match(r"^\w$", "é"));
        assert!(is_match(r"^[\d_]+$", "1_2") && !is_match(r"^[\d_]+$", "٣"));
        assert!(is_match(r"^\D$", "x") && !is_match(r"^\D$", "5"));
        assert!(is_match(r"\bcmd\b", "run cmd now") && !is_match(r"\bcmd\b", "runcmdnow"));
        assert!(is_match(r"\\d", r"\d") && !is_match(r"\\d", "5"), "an escaped backslash stays");
        assert!(is_match(r"[]a]", "]") && is_match(r"[^]a]", "b"));
        assert!(is_match(r"\s+", "a \t b") && !is_match(r"^\s$", "\u{a0}"));
    }
}
