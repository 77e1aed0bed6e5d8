//! A readable dump of a compiled rule: what the engine will actually do
//! with each value (which matcher, which text, case handling). Golden files
//! of these dumps make any change in compilation visible in review.

use std::fmt::Write;

use crate::detection::{Item, Target};
use crate::pattern::{Pattern, RefMode, StrMatch};
use crate::rule::Rule;

impl Rule {
    /// The compiled plan of the rule, one line per item and pattern.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "rule {} \"{}\" [{}] {}", self.id, self.title, self.level, self.logsource);
        let _ = writeln!(out, "condition: {}", self.detection.condition_text);
        for search in &self.detection.searches {
            let _ = writeln!(out, "search {}:", search.name);
            for (i, items) in search.alternatives.iter().enumerate() {
                if search.alternatives.len() > 1 {
                    let _ = writeln!(out, "  or map {}:", i + 1);
                }
                for item in items {
                    dump_item(&mut out, item);
                }
            }
        }
        out
    }
}

fn dump_item(out: &mut String, item: &Item) {
    let target = match &item.target {
        Target::Field { name, .. } => format!("field {name}"),
        Target::Keywords => "keywords".to_owned(),
    };
    let link = if item.all { "all of" } else { "any of" };
    let negate = if item.negate { "not " } else { "" };
    let key = if item.key.is_empty() { String::new() } else { format!(" ({})", item.key) };
    let _ = writeln!(out, "    {negate}{target}{key} {link}:");
    for group in &item.groups {
        let patterns: Vec<String> = group.iter().map(describe).collect();
        let _ = writeln!(out, "      {}", patterns.join(" | "));
    }
}

fn describe(pattern: &Pattern) -> String {
    match pattern {
        Pattern::Null => "null".to_owned(),
        Pattern::Exists(b) => format!("exists={b}"),
        Pattern::Str { matcher, cased, number } => {
            let case = if *cased { "cased " } else { "" };
            let number = number.map(|n| format!(" (or number {n:?})")).unwrap_or_default();
            let m = match matcher {
                StrMatch::Exact(s) => format!("equals {s:?}"),
                StrMatch::Prefix(s) => format!("starts with {s:?}"),
                StrMatch::Suffix(s) => format!("ends with {s:?}"),
                StrMatch::Contains(s) => format!("contains {:?}", String::from_utf8_lossy(s.needle())),
                StrMatch::Glob(g) => format!("glob {g}"),
            };
            format!("{case}{m}{number}")
        }
        Pattern::Regex(re) => format!("regex {:?}", re.as_str()),
        Pattern::Cidr(net) => format!("cidr {net}"),
        Pattern::Compare(op, n) => format!("{op:?} {n:?}"),
        Pattern::TimePart(part, op, n) => {
            format!("{part:?} {} {n:?}", op.map_or("Eq".to_owned(), |o| format!("{o:?}")))
        }
        Pattern::FieldRef { mode, cased, .. } => {
            let mode = match mode {
                RefMode::Equal => "equals",
                RefMode::Contains => "contains",
                RefMode::Prefix => "starts with",
                RefMode::Suffix => "ends with",
            };
            format!("{}{mode} the referenced field", if *cased { "cased " } else { "" })
        }
    }
}
