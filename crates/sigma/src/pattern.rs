//! Compiled value patterns and how they meet event values.

use std::net::IpAddr;

use ferret_model::value::Num;
use ipnet::IpNet;

pub use crate::lazy::{LazyRegex, Substring};

/// How a string pattern compares, cheapest first.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum StrMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    /// A substring, with its searcher built once at compile time.
    Contains(Substring),
    /// Wildcards in the middle.
    Glob(crate::glob::Glob),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// A part of a date-time for the time modifiers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    /// The ISO 8601 week number, 1 to 53 (the specification says 1-52, but
    /// ISO years have 53 weeks about every five or six years).
    Week,
    Month,
    Year,
}

impl TimePart {
    /// The part of a date-time written `YYYY-MM-DD[T ]HH:MM[:SS...]`, as the
    /// source wrote it: no time-zone conversion (the specification's rule).
    pub fn extract(self, text: &str) -> Option<i128> {
        let text = text.trim();
        let date: jiff::civil::Date = text.get(..10)?.parse().ok()?;
        let clock = text.get(11..16);
        let (hour, minute) = match clock {
            Some(c) if matches!(text.as_bytes()[10], b'T' | b't' | b' ') => {
                let (h, m) = c.split_once(':')?;
                (h.parse::<i128>().ok()?, m.parse::<i128>().ok()?)
            }
            _ => (0, 0),
        };
        Some(match self {
            TimePart::Minute => minute,
            TimePart::Hour => hour,
            TimePart::Day => date.day().into(),
            TimePart::Week => date.iso_week_date().week().into(),
            TimePart::Month => date.month().into(),
            TimePart::Year => date.year().into(),
        })
    }
}

/// How a `fieldref` compares the two fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RefMode {
    Equal,
    Contains,
    Prefix,
    Suffix,
}

/// One value of a detection item, compiled.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Pattern {
    /// `null`: the field is absent or JSON null.
    Null,
    /// `|exists: true/false`.
    Exists(bool),
    /// A string comparison. Patterns that are not `cased` hold lowercase text
    /// and are compared against the lowercased event value.
    Str {
        matcher: StrMatch,
        cased: bool,
        /// The rule value read as a number, so `4688` also equals `4688.0`.
        number: Option<Num>,
    },
    /// `|re`: an unanchored search (SIGMA.md D1).
    Regex(LazyRegex),
    Cidr(IpNet),
    Compare(CmpOp, Num),
    /// `|hour: 3`, `|hour|gte: 22`: a part of a date-time value.
    TimePart(TimePart, Option<CmpOp>, Num),
    FieldRef {
        field: ferret_model::Field,
        mode: RefMode,
        cased: bool,
    },
}

impl Pattern {
    /// Does a (non-null) event value satisfy the pattern? `lower` is the
    /// value lowercased, computed once per event value by the caller.
    pub fn matches_text(&self, text: &str, lower: &str) -> bool {
        match self {
            Pattern::Str { matcher, cased, number } => {
                let hay = if *cased { text } else { lower };
                let hit = match matcher {
                    StrMatch::Exact(s) => hay == s,
                    StrMatch::Prefix(s) => hay.starts_with(s.as_str()),
                    StrMatch::Suffix(s) => hay.ends_with(s.as_str()),
                    StrMatch::Contains(substring) => substring.is_in(hay.as_bytes()),
                    StrMatch::Glob(glob) => glob.is_match(hay),
                };
                // Numerically equal with different text (`04688`, `4688.0`)?
                // Not if both texts are plain integers (`EventID: 4688`
                // against `1`, as most EventIDs are tested): no parse.
                let both_plain =
                    || matches!(matcher, StrMatch::Exact(s) if Num::is_canonical_int(s) && Num::is_canonical_int(text));
                hit || number.is_some_and(|n| {
                    !both_plain()
                        && Num::parse(text).is_some_and(|v| v.partial_cmp(&n) == Some(std::cmp::Ordering::Equal))
                })
            }
            Pattern::Regex(re) => re.is_match(text),
            Pattern::Cidr(net) => parse_ip(text).is_some_and(|ip| net.contains(&ip)),
            Pattern::Compare(op, rule) => Num::parse(text.trim()).is_some_and(|v| compare(Some(*op), v, *rule)),
            Pattern::TimePart(part, op, rule) => part.extract(text).is_some_and(|v| compare(*op, Num::Int(v), *rule)),
            // Handled by the evaluator, which sees the whole event.
            Pattern::Null | Pattern::Exists(_) | Pattern::FieldRef { .. } => false,
        }
    }
}

/// `value <op> rule`, or equality without an operator.
fn compare(op: Option<CmpOp>, value: Num, rule: Num) -> bool {
    let Some(ord) = value.partial_cmp(&rule) else { return false };
    match op {
        None => ord.is_eq(),
        Some(CmpOp::Lt) => ord.is_lt(),
        Some(CmpOp::Lte) => ord.is_le(),
        Some(CmpOp::Gt) => ord.is_gt(),
        Some(CmpOp::Gte) => ord.is_ge(),
    }
}

/// An IP address as logs write it; IPv4-mapped IPv6 is read as IPv4
/// (SIGMA.md EC-23), a `%zone` suffix is dropped.
fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let text = text.split('%').next().unwrap_or(text);
    let ip: IpAddr = text.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// Compares two field values for `fieldref`. ASCII values (nearly all)
/// are compared case-insensitively in place; others are lowercased first.
pub fn compare_fields(mode: RefMode, value: &str, other: &str, cased: bool) -> bool {
    if cased || (value.is_ascii() && other.is_ascii()) {
        let (value, other) = (value.as_bytes(), other.as_bytes());
        let same = |a: &[u8], b: &[u8]| if cased { a == b } else { a.eq_ignore_ascii_case(b) };
        return match mode {
            RefMode::Equal => same(value, other),
            RefMode::Prefix => value.len() >= other.len() && same(&value[..other.len()], other),
            RefMode::Suffix => value.len() >= other.len() && same(&value[value.len() - other.len()..], other),
            RefMode::Contains => other.is_empty() || value.windows(other.len()).any(|w| same(w, other)),
        };
    }
    let (value, other) = (value.to_lowercase(), other.to_lowercase());
    match mode {
        RefMode::Equal => value == other,
        RefMode::Contains => value.contains(&other),
        RefMode::Prefix => value.starts_with(&other),
        RefMode::Suffix => value.ends_with(&other),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What `compare_fields` must agree with: both values lowercased (unless
    /// cased), then compared as strings.
    fn reference(mode: RefMode, value: &str, other: &str, cased: bool) -> bool {
        let (value, other) =
            if cased { (value.to_owned(), other.to_owned()) } else { (value.to_lowercase(), other.to_lowercase()) };
        match mode {
            RefMode::Equal => value == other,
            RefMode::Contains => value.contains(&other),
            RefMode::Prefix => value.starts_with(&other),
            RefMode::Suffix => value.ends_with(&other),
        }
    }

    const MODES: [RefMode; 4] = [RefMode::Equal, RefMode::Contains, RefMode::Prefix, RefMode::Suffix];

    #[test]
    fn field_references_compare_as_lowercased_strings() {
        let cases = [
            ("C:\\Windows\\System32\\cmd.exe", "c:\\windows\\system32\\CMD.EXE"),
            ("C:\\Windows\\System32\\cmd.exe", "CMD.exe"),
            ("C:\\Windows\\System32\\cmd.exe", "c:\\windows"),
            ("C:\\Windows\\System32\\cmd.exe", "system32"),
            ("", ""),
            ("abc", ""),
            ("", "abc"),
            ("ÄBC", "äbc"),
            ("\u{212A}elvin", "kelvin"),
        ];
        for (value, other) in cases {
            for mode in MODES {
                for cased in [false, true] {
                    assert_eq!(
                        compare_fields(mode, value, other, cased),
                        reference(mode, value, other, cased),
                        "{mode:?} {value:?} {other:?} cased={cased}"
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_lowercasing_first(value in "[a-cA-C\\\\é]{0,8}", other in "[a-cA-C\\\\é]{0,4}", cased: bool) {
            for mode in MODES {
                prop_assert_eq!(compare_fields(mode, &value, &other, cased), reference(mode, &value, &other, cased));
            }
        }
    }
}
