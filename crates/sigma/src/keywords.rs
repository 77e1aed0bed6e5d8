//! Keyword needles (literals that may occur in any value of an event, or
//! its raw line) are searched per routing, not per event kind.
//!
//! Every value of an event has to be searched for the keywords of the rules
//! it can reach, so the size of that set is paid on every byte of every
//! event. Per kind it is large (122 literals for Windows with the SigmaHQ
//! corpus: antivirus names for the Application channel, Exchange cmdlets,
//! Service Bus URLs...), while a Sysmon event only reaches the 20 literals
//! of the one rule that reads every Windows channel. A small set is also
//! what aho-corasick's SIMD prefilter handles (up to 64 literals), which
//! skips the bytes no literal can start at instead of stepping an automaton
//! through each of them.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::packed;

use crate::literals::{Engine, Literals};

/// The keyword literals of a rule set, and which rules need which.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct KeywordTable {
    /// Distinct keyword literals (lowercase), with the prefilter's id of
    /// the needle each is.
    literals: Vec<(String, u32)>,
    /// Per rule: the keyword literals (indexes into `literals`) among its
    /// needles, sorted.
    by_rule: Vec<Vec<u32>>,
}

/// The searchers built so far, by keyword set: routings mostly share one
/// (every Sysmon channel and EventID reaches the same keyword rule), and
/// building one takes ~100 µs.
pub(crate) type Searchers = HashMap<Box<[u32]>, Arc<Keywords>>;

/// A searcher over the keywords some set of rules needs.
pub(crate) struct Keywords {
    /// Finds the leftmost occurrence of any keyword, with the SIMD
    /// prefilter (which only leftmost semantics have); `None` for sets too
    /// large for it.
    first: Option<packed::Searcher>,
    /// Reports every occurrence, overlapping ones included (a keyword
    /// inside another must not be missed), from the leftmost on.
    automaton: Literals,
    /// Per pattern of `automaton`: the prefilter's needle id.
    needle_ids: Vec<u32>,
}

impl KeywordTable {
    /// `keywords`: (text, prefilter needle id, rules needing it).
    pub(crate) fn new(rules: usize, keywords: impl IntoIterator<Item = (String, u32, Vec<u32>)>) -> KeywordTable {
        let mut table = KeywordTable { literals: Vec::new(), by_rule: vec![Vec::new(); rules] };
        for (text, literal, needing) in keywords {
            let index = table.literals.len() as u32;
            table.literals.push((text, literal));
            for rule in needing {
                table.by_rule[rule as usize].push(index);
            }
        }
        for list in &mut table.by_rule {
            list.sort_unstable();
            list.dedup();
        }
        table
    }

    /// The searcher for the keywords of `rules` (`None` when they need
    /// none), from `built` if an earlier call built it.
    pub(crate) fn searcher(
        &self,
        rules: impl IntoIterator<Item = usize>,
        built: &mut Searchers,
    ) -> Option<Arc<Keywords>> {
        let mut wanted: Vec<u32> =
            rules.into_iter().filter_map(|rule| self.by_rule.get(rule)).flatten().copied().collect();
        if wanted.is_empty() {
            return None;
        }
        wanted.sort_unstable();
        wanted.dedup();
        if let Some(keywords) = built.get(wanted.as_slice()) {
            return Some(keywords.clone());
        }
        let keywords = Arc::new(self.build(&wanted));
        built.insert(wanted.into(), keywords.clone());
        Some(keywords)
    }

    fn build(&self, wanted: &[u32]) -> Keywords {
        let texts: Vec<&str> = wanted.iter().map(|&k| self.literals[k as usize].0.as_str()).collect();
        let first = packed::Config::new().builder().extend(&texts).build();
        // Built for each distinct keyword set. Behind the SIMD prefilter,
        // aho-corasick's contiguous NFA (the quickest to build) runs only
        // past a hit. A set too large for the prefilter (the syslog routes
        // reach a few hundred keywords) has no such pass: the NFA walked
        // every byte, its failure links costing 100 instructions a byte.
        // daachorse's double array takes one transition a byte, builds in a
        // fraction of the time aho-corasick's DFA took (85 M instructions),
        // and its 2-gram filter skips the stretches where no keyword can
        // start (see `Engine::Filtered`).
        let engine = if first.is_some() { Engine::Quick } else { Engine::Filtered };
        let automaton = Literals::build(&texts, engine).expect("a keyword set is not empty");
        let needle_ids = wanted.iter().map(|&k| self.literals[k as usize].1).collect();
        Keywords { first, automaton, needle_ids }
    }
}

impl Keywords {
    /// Calls `found(needle)` (the prefilter's needle id) for every
    /// occurrence of a keyword in `haystack`, overlapping ones included.
    #[inline]
    pub(crate) fn for_each(&self, haystack: &[u8], mut found: impl FnMut(u32)) {
        // Most events hold no keyword at all: one SIMD pass says so. No
        // occurrence starts before the leftmost one.
        let from = match &self.first {
            None => 0,
            Some(first) => match first.find(haystack) {
                None => return,
                Some(m) => m.start(),
            },
        };
        self.automaton.for_each(&haystack[from..], |_, pattern| found(self.needle_ids[pattern]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(keywords: &Keywords, haystack: &str) -> Vec<u32> {
        let mut out = Vec::new();
        keywords.for_each(haystack.as_bytes(), |needle| out.push(needle));
        out.sort_unstable();
        out
    }

    #[test]
    fn a_searcher_holds_only_the_keywords_of_its_rules() {
        // Rule 0 needs `mimikatz` (needle 7) and `sekurlsa::` (9); rule 1
        // needs `kali` (12); rule 2 needs none.
        let table = KeywordTable::new(
            3,
            [
                ("mimikatz".to_owned(), 7, vec![0]),
                ("sekurlsa::".to_owned(), 9, vec![0]),
                ("kali".to_owned(), 12, vec![1]),
            ],
        );
        let mut built = Searchers::new();
        let first = table.searcher([0], &mut built).unwrap();
        assert_eq!(found(&first, "mimikatz sekurlsa::logonpasswords kali"), vec![7, 9]);
        let both = table.searcher([1, 0], &mut built).unwrap();
        assert_eq!(found(&both, "mimikatz sekurlsa::logonpasswords kali"), vec![7, 9, 12]);
        assert!(table.searcher([2], &mut built).is_none());
        assert!(table.searcher([], &mut built).is_none());
        // The same set again (rule 2 adds nothing): the searcher built then.
        assert!(Arc::ptr_eq(&table.searcher([0, 2], &mut built).unwrap(), &first));
        assert_eq!(built.len(), 2);
    }

    #[test]
    fn a_set_too_large_for_the_simd_prefilter_finds_the_same_occurrences() {
        // 100 keywords (the syslog routes reach a few hundred): no SIMD
        // first pass, the double-array automaton (behind its 2-gram
        // filter) finds them all.
        let mut keywords: Vec<(String, u32, Vec<u32>)> = (0..100).map(|i| (format!("kw{i:03}x"), i, vec![0])).collect();
        keywords.push(("eo.oe.kiwi".to_owned(), 100, vec![0]));
        keywords.push(("<3 eo.oe".to_owned(), 101, vec![0]));
        let table = KeywordTable::new(1, keywords);
        let searcher = table.searcher([0], &mut Searchers::new()).unwrap();
        assert!(searcher.first.is_none());
        assert_eq!(found(&searcher, "kw007x and <3 eo.oe.kiwi then kw099xkw007x"), vec![7, 7, 99, 100, 101]);
        assert_eq!(found(&searcher, "nothing here kw1000"), Vec::<u32>::new());
    }

    #[test]
    fn overlapping_occurrences_are_all_reported() {
        let table = KeywordTable::new(1, [("eo.oe.kiwi".to_owned(), 0, vec![0]), ("<3 eo.oe".to_owned(), 1, vec![0])]);
        let keywords = table.searcher([0], &mut Searchers::new()).unwrap();
        assert_eq!(found(&keywords, "mimikatz <3 eo.oe.kiwi"), vec![0, 1]);
    }
}
