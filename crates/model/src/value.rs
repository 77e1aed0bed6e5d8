//! Field values.
//!
//! A [`Value`] keeps the text the source wrote: `0x1c10` stays `0x1c10`,
//! `%%1936` stays `%%1936`, `00000429` stays `00000429`. Numeric comparison
//! is an interpretation made at comparison time, and only when both sides
//! read as decimal numbers.

use std::cmp::Ordering;
use std::fmt;

use serde::{Serialize, Serializer};

/// One field value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// An explicit null (JSON `null`). An absent field is not a value at all.
    Null,
    Bool(bool),
    /// A number as the source wrote it (`4688`, `-1`, `0.5`).
    Number(Box<str>),
    Text(Box<str>),
}

/// A number read from a value, for numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    /// Reads a plain decimal number: optional sign, digits, optional
    /// fraction and exponent. No hex, no thousands separators, no spaces.
    pub fn parse(text: &str) -> Option<Num> {
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if digits.is_empty() || !digits.as_bytes()[0].is_ascii_digit() {
            return None;
        }
        if digits.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse::<i128>().ok().map(Num::Int);
        }
        let plausible = digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        if !plausible {
            return None;
        }
        text.parse::<f64>().ok().filter(|f| f.is_finite()).map(Num::Float)
    }

    /// Whether `text` is a non-negative integer in its shortest form (`0`,
    /// `4688`; not `04688`, `+1`, ` 1` or `1.0`): two such texts are the
    /// same number exactly when they are the same text, so no parsing is
    /// needed to compare them.
    pub fn is_canonical_int(text: &str) -> bool {
        match text.as_bytes() {
            [] => false,
            [b'0'] => true,
            [b'0', ..] => false,
            bytes => bytes.iter().all(u8::is_ascii_digit),
        }
    }

    fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(b)),
            _ => self.as_f64().partial_cmp(&other.as_f64()),
        }
    }
}

impl Value {
    pub fn text(text: impl Into<Box<str>>) -> Self {
        Value::Text(text.into())
    }

    /// A number from its source text. Falls back to text when it does not
    /// read as a decimal number, so nothing the source wrote is lost.
    pub fn number(text: impl Into<Box<str>>) -> Self {
        let text = text.into();
        if Num::parse(&text).is_some() { Value::Number(text) } else { Value::Text(text) }
    }

    /// The value as a string, as Sigma compares it: numbers and booleans by
    /// their text, `None` for null.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Null => None,
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Number(s) | Value::Text(s) => Some(s),
        }
    }

    /// The value as a number, when its text is a decimal number (a numeric
    /// string such as `"4688"` counts).
    pub fn as_num(&self) -> Option<Num> {
        match self {
            Value::Number(s) | Value::Text(s) => Num::parse(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Equality as a responder expects it: numerically when both sides are
    /// numbers (`4688` = `"4688"` = `4688.0`), otherwise by exact text.
    pub fn loose_eq(&self, other: &Value) -> bool {
        if let (Some(a), Some(b)) = (self.as_num(), other.as_num()) {
            return a.partial_cmp(&b) == Some(Ordering::Equal);
        }
        self.as_str() == other.as_str()
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str().unwrap_or("null"))
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Number(s) => match Num::parse(s) {
                // Only when the JSON number reads back as the same text:
                // `007` or `1e3` stay strings, exactly as written.
                Some(Num::Int(i)) if i.to_string() == **s => match i64::try_from(i) {
                    Ok(i) => serializer.serialize_i64(i),
                    Err(_) => serializer.serialize_str(s),
                },
                // Floats too, when the JSON number reads back as the text.
                Some(Num::Float(f)) if serde_json::Number::from_f64(f).is_some_and(|n| n.to_string() == **s) => {
                    serializer.serialize_f64(f)
                }
                _ => serializer.serialize_str(s),
            },
            Value::Text(s) => serializer.serialize_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_text_by_text() {
        assert!(Value::number("4688").loose_eq(&Value::text("4688")));
        assert!(Value::number("4688").loose_eq(&Value::number("4688.0")));
        assert!(!Value::number("4688").loose_eq(&Value::number("46880")));
        assert!(!Value::text("0x10").loose_eq(&Value::number("16")), "no hex coercion");
        assert!(Value::Bool(true).loose_eq(&Value::text("true")));
        assert!(!Value::Null.loose_eq(&Value::text("")));
    }

    #[test]
    fn canonical_integers_are_equal_only_as_the_same_text() {
        for plain in ["0", "1", "4688", "99999999999999999999999999999999999999999"] {
            assert!(Num::is_canonical_int(plain), "{plain}");
        }
        for other in ["", "00", "04688", "+1", "-1", " 1", "1.0", "1e3", "12a"] {
            assert!(!Num::is_canonical_int(other), "{other:?}");
        }
        // What makes skipping the parse sound: distinct canonical texts
        // never parse to equal numbers.
        for (a, b) in [("4688", "4689"), ("1", "10"), ("0", "1")] {
            assert_ne!(Num::parse(a), Num::parse(b));
        }
    }

    #[test]
    fn original_text_is_kept() {
        assert_eq!(Value::number("00000429").as_str(), Some("00000429"));
        assert_eq!(Value::number("0x1c10"), Value::text("0x1c10"));
        assert_eq!(Num::parse("1e3"), Some(Num::Float(1000.0)));
        assert_eq!(Num::parse("-"), None);
        assert_eq!(Num::parse("12a"), None);
    }

    #[test]
    fn serializes_to_natural_json() {
        let json = serde_json::to_string(&[
            Value::Null,
            Value::Bool(false),
            Value::number("42"),
            Value::number("007"),
            Value::number("0.25"),
            Value::number("1e3"),
            Value::text("x"),
        ])
        .unwrap();
        assert_eq!(json, r#"[null,false,42,"007",0.25,"1e3","x"]"#);
    }
}
