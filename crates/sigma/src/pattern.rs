//! Compiled value patterns and how they meet event values.

use std::net::IpAddr;

use ferret_model::value::Num;
use ipnet::IpNet;
use regex::Regex;

/// How a string pattern compares, cheapest first.
#[derive(Clone, Debug)]
pub enum StrMatch {
    Exact(String),
    Prefix(String),
    Suffix(String),
    /// A substring, with its searcher built once at compile time.
    Contains(Box<memchr::memmem::Finder<'static>>),
    /// Wildcards in the middle.
    Glob(crate::glob::Glob),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// How a `fieldref` compares the two fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefMode {
    Equal,
    Contains,
    Prefix,
    Suffix,
}

/// One value of a detection item, compiled.
#[derive(Clone, Debug)]
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
    Regex(Regex),
    Cidr(IpNet),
    Compare(CmpOp, Num),
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
                    StrMatch::Contains(finder) => finder.find(hay.as_bytes()).is_some(),
                    StrMatch::Glob(glob) => glob.is_match(hay),
                };
                hit || number.is_some_and(|n| {
                    Num::parse(text).is_some_and(|v| v.partial_cmp(&n) == Some(std::cmp::Ordering::Equal))
                })
            }
            Pattern::Regex(re) => re.is_match(text),
            Pattern::Cidr(net) => parse_ip(text).is_some_and(|ip| net.contains(&ip)),
            Pattern::Compare(op, rule) => Num::parse(text.trim()).is_some_and(|v| {
                let Some(ord) = v.partial_cmp(rule) else { return false };
                match op {
                    CmpOp::Lt => ord.is_lt(),
                    CmpOp::Lte => ord.is_le(),
                    CmpOp::Gt => ord.is_gt(),
                    CmpOp::Gte => ord.is_ge(),
                }
            }),
            // Handled by the evaluator, which sees the whole event.
            Pattern::Null | Pattern::Exists(_) | Pattern::FieldRef { .. } => false,
        }
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

/// Compares two field values for `fieldref`.
pub fn compare_fields(mode: RefMode, value: &str, other: &str, cased: bool) -> bool {
    let (value, other) =
        if cased { (value.to_owned(), other.to_owned()) } else { (value.to_lowercase(), other.to_lowercase()) };
    match mode {
        RefMode::Equal => value == other,
        RefMode::Contains => value.contains(&other),
        RefMode::Prefix => value.starts_with(&other),
        RefMode::Suffix => value.ends_with(&other),
    }
}
