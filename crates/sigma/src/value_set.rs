//! Long lists of plain string values, looked up instead of tried one by
//! one.
//!
//! SigmaHQ rules carry lists of hundreds of values for one field
//! ("Potential System DLL Sideloading From Non System Locations" tests
//! `ImageLoaded|endswith` against 700 DLL names; hash and driver lists
//! are longer). Tried in turn, each evaluation reads every pattern and its
//! text: hundreds of cache lines for one answer. Here, equality is one
//! hash lookup of the value, `startswith`/`endswith` one lookup per
//! distinct pattern length, and substrings one SIMD pass for up to 64 of
//! them (aho-corasick's packed searcher: "Suspicious SYSTEM User Process
//! Creation" looks for 40 in `CommandLine`); what cannot be looked up
//! (wildcards, regexes, numbers, case-sensitive values) is still tried in
//! turn, so the answer is always the same as trying every pattern.

use std::sync::OnceLock;

use aho_corasick::packed;
use foldhash::{HashMap, HashSet};

use crate::detection::Item;
use crate::pattern::{Pattern, StrMatch};

/// Below this many values, trying each is as quick as a lookup.
const MIN_INDEXED: usize = 8;

/// How the scanner evaluates an item, worked out on its first evaluation.
#[derive(Debug, Default)]
pub(crate) struct ItemPlan {
    /// Every pattern compares a value by itself (strings, regexes, CIDRs,
    /// numbers): the item can be answered value by value.
    pub(crate) plain: bool,
    /// The item's values indexed, when it has many lookup-able ones.
    pub(crate) set: Option<ValueSet>,
}

/// An item's plan, kept beside it (never stored: rebuilt on first use).
#[derive(Debug, Default)]
pub struct PlanCell(OnceLock<ItemPlan>);

impl Clone for PlanCell {
    /// A copy works its plan out again.
    fn clone(&self) -> Self {
        PlanCell::default()
    }
}

impl PlanCell {
    pub(crate) fn get(&self, item: &Item) -> &ItemPlan {
        self.0.get_or_init(|| ItemPlan::new(item))
    }
}

impl ItemPlan {
    fn new(item: &Item) -> ItemPlan {
        let plain = item.groups.iter().flatten().all(|p| {
            matches!(
                p,
                Pattern::Str { .. }
                    | Pattern::Regex(_)
                    | Pattern::Cidr(_)
                    | Pattern::Compare(..)
                    | Pattern::TimePart(..)
            )
        });
        let set = (plain && !item.all).then(|| ValueSet::new(&item.groups)).flatten();
        ItemPlan { plain, set }
    }
}

/// Lowercase values by how they compare; `rest` says where the patterns
/// tried in turn are in the item (group, position), so they are not copied
/// (a copied regex would be compiled twice).
#[derive(Debug)]
pub(crate) struct ValueSet {
    exact: HashSet<Box<str>>,
    /// (length, values of that length), longest first.
    prefixes: Vec<(usize, HashSet<Box<str>>)>,
    suffixes: Vec<(usize, HashSet<Box<str>>)>,
    /// Substrings, up to 64 per searcher (what the SIMD searcher takes).
    substrings: Vec<packed::Searcher>,
    rest: Vec<(u32, u32)>,
}

impl ValueSet {
    /// `None` when too few values can be looked up to be worth it.
    fn new(groups: &[Vec<Pattern>]) -> Option<ValueSet> {
        let mut exact = HashSet::default();
        let mut prefixes: HashMap<usize, HashSet<Box<str>>> = HashMap::default();
        let mut suffixes: HashMap<usize, HashSet<Box<str>>> = HashMap::default();
        let mut rest = Vec::new();
        let mut substrings: Vec<((u32, u32), &[u8])> = Vec::new();
        let mut indexed = 0;
        let positions = groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.iter().enumerate().map(move |(i, pattern)| ((g as u32, i as u32), pattern)));
        for (at, pattern) in positions {
            // Case-sensitive values compare the original text, and a value
            // that reads as a number also equals other spellings of it.
            let Pattern::Str { matcher, cased: false, number: None } = pattern else {
                rest.push(at);
                continue;
            };
            let (table, text) = match matcher {
                StrMatch::Exact(text) => (&mut exact, text),
                StrMatch::Prefix(text) => (prefixes.entry(text.len()).or_default(), text),
                StrMatch::Suffix(text) => (suffixes.entry(text.len()).or_default(), text),
                StrMatch::Contains(substring) if !substring.needle().is_empty() => {
                    substrings.push((at, substring.needle()));
                    indexed += 1;
                    continue;
                }
                StrMatch::Contains(_) | StrMatch::Glob(_) => {
                    rest.push(at);
                    continue;
                }
            };
            table.insert(text.as_str().into());
            indexed += 1;
        }
        let by_length = |table: HashMap<usize, HashSet<Box<str>>>| {
            let mut table: Vec<_> = table.into_iter().collect();
            table.sort_unstable_by_key(|(len, _)| std::cmp::Reverse(*len));
            table
        };
        if indexed < MIN_INDEXED {
            return None;
        }
        let mut searchers = Vec::new();
        for chunk in substrings.chunks(64) {
            // `None` where the CPU or the patterns do not suit it: those
            // are tried in turn.
            match packed::Config::new().builder().extend(chunk.iter().map(|(_, needle)| needle)).build() {
                Some(searcher) => searchers.push(searcher),
                None => rest.extend(chunk.iter().map(|(at, _)| *at)),
            }
        }
        Some(ValueSet {
            exact,
            prefixes: by_length(prefixes),
            suffixes: by_length(suffixes),
            substrings: searchers,
            rest,
        })
    }

    /// Does some value of the set (made from `groups`) match the event
    /// value (`lower`: the value lowercased)?
    pub(crate) fn matches(&self, groups: &[Vec<Pattern>], text: &str, lower: &str) -> bool {
        let len = lower.len();
        // `get` is `None` off a character boundary, where no value (whole
        // characters) can start or end.
        self.exact.contains(lower)
            || self.suffixes.iter().any(|(n, set)| *n <= len && lower.get(len - n..).is_some_and(|s| set.contains(s)))
            || self.prefixes.iter().any(|(n, set)| *n <= len && lower.get(..*n).is_some_and(|s| set.contains(s)))
            || self.substrings.iter().any(|searcher| searcher.find(lower).is_some())
            || self.rest.iter().any(|&(g, i)| groups[g as usize][i as usize].matches_text(text, lower))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn str_pattern(matcher: StrMatch, cased: bool) -> Pattern {
        Pattern::Str { matcher, cased, number: None }
    }

    /// Twelve DLL names to end with, a few prefixes and exact values, and
    /// patterns that stay in the list (a substring, a case-sensitive value).
    fn patterns() -> Vec<Pattern> {
        let mut all: Vec<Pattern> = [
            "\\version.dll",
            "\\winmm.dll",
            "\\dbghelp.dll",
            "\\wer.dll",
            "\\uxtheme.dll",
            "\\dwmapi.dll",
            "\\userenv.dll",
            "\\cryptbase.dll",
            "\\ä.dll",
            "\\propsys.dll",
            "\\mswsock.dll",
            "\\secur32.dll",
        ]
        .iter()
        .map(|s| str_pattern(StrMatch::Suffix((*s).into()), false))
        .collect();
        all.push(str_pattern(StrMatch::Prefix("c:\\temp\\".into()), false));
        all.push(str_pattern(StrMatch::Prefix("\\\\".into()), false));
        all.push(str_pattern(StrMatch::Exact("-".into()), false));
        all.push(str_pattern(StrMatch::Exact("".into()), false));
        all.push(str_pattern(StrMatch::Exact("Cased.DLL".into()), true));
        all.push(str_pattern(StrMatch::Contains(crate::pattern::Substring::new(b"\\appdata\\")), false));
        all.push(str_pattern(StrMatch::Contains(crate::pattern::Substring::new(b" -nop ")), false));
        all.push(str_pattern(StrMatch::Contains(crate::pattern::Substring::new(b"sekurlsa::")), false));
        all.push(str_pattern(StrMatch::Contains(crate::pattern::Substring::new(b"Cased")), true));
        all
    }

    fn one_by_one(patterns: &[Pattern], text: &str) -> bool {
        let lower = text.to_lowercase();
        patterns.iter().any(|p| p.matches_text(text, &lower))
    }

    fn looked_up(patterns: &[Pattern], text: &str) -> bool {
        // A group per value, as rules compile them.
        let groups: Vec<Vec<Pattern>> = patterns.iter().map(|p| vec![p.clone()]).collect();
        let set = ValueSet::new(&groups).expect("enough values to index");
        set.matches(&groups, text, &text.to_lowercase())
    }

    #[test]
    fn a_lookup_answers_as_trying_every_value_does() {
        let patterns = patterns();
        for (text, want) in [
            ("C:\\Windows\\System32\\VERSION.dll", true),
            ("C:\\x\\version.dll.bak", false),
            ("c:\\x\\Ä.DLL", true),
            ("C:\\Temp\\a.exe", true),
            ("\\\\server\\share", true),
            ("-", true),
            ("", true),
            ("Cased.DLL", true),
            ("cased.dll", false),
            ("C:\\Users\\a\\AppData\\b.exe", true),
            ("wer.dll", false),
            ("ä", false),
            ("powershell -NoP -c x", true),
            ("SEKURLSA::logonpasswords", true),
            ("-nop", false),
            ("a Cased b", true),
            ("a cased b", false),
        ] {
            assert_eq!(one_by_one(&patterns, text), want, "{text:?}");
            assert_eq!(looked_up(&patterns, text), want, "{text:?}");
        }
    }

    #[test]
    fn short_lists_are_tried_in_turn() {
        let few: Vec<Pattern> = patterns().into_iter().skip(14).collect();
        assert!(ValueSet::new(&[few]).is_none());
    }

    #[test]
    fn more_substrings_than_one_searcher_takes() {
        let patterns: Vec<Pattern> = (0..150)
            .map(|i| {
                str_pattern(StrMatch::Contains(crate::pattern::Substring::new(format!("k{i}x").as_bytes())), false)
            })
            .collect();
        let groups: Vec<Vec<Pattern>> = patterns.chunks(2).map(<[Pattern]>::to_vec).collect();
        let set = ValueSet::new(&groups).unwrap();
        // Each side of the 64-pattern chunks' edges.
        for (text, want) in [
            ("a k0x b", true),
            ("k63x", true),
            ("k64x", true),
            ("k127x", true),
            ("k128x", true),
            ("k149x", true),
            ("k150x", false),
            ("kx k150 k64", false),
        ] {
            assert_eq!(set.matches(&groups, text, text), want, "{text}");
            assert_eq!(one_by_one(&patterns, text), want, "{text}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_trying_every_value(text in "(?s)[a-zA-Z\\\\.:\\-äÄ ]{0,24}(version\\.dll|\\.DLL|temp| -nop |sekurlsa::)?[a-z ]{0,4}") {
            let patterns = patterns();
            prop_assert_eq!(looked_up(&patterns, &text), one_by_one(&patterns, &text));
        }
    }
}
