//! The literal prefilter: most rules are never evaluated on most events.
//!
//! For every rule, compilation derives a set of lowercase *needles* such
//! that the rule can only match an event in which at least one needle
//! occurs in some value (or the raw line). The event's values are
//! lowercased (case-insensitive by folding) and each is searched with an
//! Aho-Corasick automaton over the needles bound to its field; a rule none
//! of whose needles was seen is skipped without evaluating its condition.
//!
//! Needles are tied to the field the rule reads (`Image|endswith:
//! '\\cmd.exe'` needs `\\cmd.exe` in `Image`, not anywhere), except for
//! keywords (searched for in every value, see `keywords`), and for cloud
//! events whose field names are matched case-insensitively.
//!
//! A rule's requirement is a conjunction of such needle sets (clauses): a
//! selection `Image|endswith: '\\cmd.exe'` and `CommandLine|contains:
//! 'whoami'` gives two clauses, and the rule is only evaluated on events
//! where both hold, so a common needle (`\\cmd.exe`) alone does not make
//! it a candidate.
//!
//! `|re` values give the literals one of which every match must start (or
//! end) with, when the regex has such a finite set.
//!
//! The derivation is conservative: where a rule can match without any
//! literal (a regex with no required literal, a CIDR, a number, `null`, a
//! `not`), it gets no requirement and is always evaluated.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferret_model::Field;

use crate::detection::Detection;
use crate::keywords::{KeywordTable, Keywords, Searchers};
use crate::literals::{Engine, Literals};
use crate::value_cache::{MIN_CACHED, ValueCache};

mod requirement;

pub(crate) use requirement::required_integers;
use requirement::{Need, Needle, hex_cut, requirement};

/// The compiled prefilter of a rule set.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Prefilter {
    /// Per field some needle may occur anywhere in (by field index): its
    /// automaton in `automata`.
    by_field: Vec<Option<u32>>,
    /// One automaton per field, over the literals bound to that field
    /// alone: a `CommandLine` value is searched for the 9,400 `CommandLine`
    /// literals of the SigmaHQ corpus, not for its 21,500 literals of every
    /// field. A small automaton steps through fewer states per byte and
    /// stays in the core's cache.
    automata: Vec<FieldAutomaton>,
    /// Cloud events, whose field names match case-insensitively: the
    /// literals of the rules that can read them, whatever their field.
    any_field: Option<AnyField>,
    /// The searchers of `automata`, in order, then that of `any_field`.
    /// Stored apart by the cache (see `searchers_to_bytes`), which gives a
    /// loaded set its own.
    #[serde(skip)]
    searchers: Vec<Literals>,
    /// The keyword needles by rule: an event's values and its raw line are
    /// searched for those of the rules its routing reaches.
    keywords: KeywordTable,
    /// Whole-value needles: lowercased value → (field, needle).
    whole: foldhash::HashMap<Box<[u8]>, Vec<(Field, u32)>>,
    /// The fields some whole-value needle is bound to.
    whole_fields: FieldBits,
    /// Per rule: how many clauses must hold (0: the rule is not gated).
    clauses: Vec<u8>,
    /// Per needle: the rules whose first clause (the strongest) it
    /// satisfies, as (rule, 0). Only these lead from needles to rules: a
    /// common needle of a rule's second clause (`\\cmd.exe`) does not
    /// touch every rule it serves on every event it occurs in.
    first: Postings,
    /// Per rule: the needles of its other clauses, as (needle, clause),
    /// checked against the event's needles once the first clause holds.
    rest: Postings,
    needles: usize,
}

/// The literals that may occur anywhere in a value of one field (the
/// searcher for them is in `Prefilter::searchers`, at the same index).
#[derive(serde::Serialize, serde::Deserialize)]
struct FieldAutomaton {
    field: Field,
    /// Per pattern: its needle (a literal is one needle per field).
    needles: Vec<u32>,
}

/// The literals cloud events are searched for, in any of their values
/// (the searcher is the last of `Prefilter::searchers`).
#[derive(serde::Serialize, serde::Deserialize)]
struct AnyField {
    /// Per pattern: its needles (the same literal bound to several fields).
    needles: Vec<Vec<u32>>,
}

/// Where a value sits in the haystack, its field, and whether its field's
/// automaton searches it (`false`: it is only looked up whole).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Segment {
    pub(crate) start: u32,
    pub(crate) end: u32,
    pub(crate) field: Field,
    pub(crate) searched: bool,
}

pub(crate) type Segments = Vec<Segment>;

/// An event's lowercased values as the prefilter reads them.
pub(crate) struct Haystack<'a> {
    /// The values, `\0`-separated: those of fields some needle is bound
    /// to and, when the event's rules have keywords, the raw line or, if
    /// it has none, every other value.
    pub(crate) bytes: &'a [u8],
    /// Where the values end (and the raw line, if any, starts).
    pub(crate) values_end: usize,
    /// Where the keyword search starts: at the raw line when the event has
    /// one (rules match keywords against it alone, SIGMA.md D2), else at
    /// the first value.
    pub(crate) keywords_from: usize,
    /// The values of fields some needle is bound to.
    pub(crate) segments: &'a Segments,
    /// Cloud events: a needle counts in any field.
    pub(crate) any_field: bool,
    /// The keywords of the rules the event can reach.
    pub(crate) keywords: Option<&'a Keywords>,
}

impl Prefilter {
    /// `any_field`: per rule, whether it can read cloud events.
    pub(crate) fn build(detections: &[&Detection], any_field: &[bool], engine: Engine) -> Prefilter {
        use rayon::prelude::*;
        // Deriving each rule's requirement is independent: in parallel.
        let requirements: Vec<Vec<Need>> =
            detections.par_iter().map(|d| requirement(&d.condition, &d.searches)).collect();
        // A needle is (literal, field); it is looked up as a whole value
        // only when every rule needing it needs the whole value.
        let mut needle_ids: foldhash::HashMap<(String, Option<Field>), u32> = Default::default();
        let mut whole_only: Vec<bool> = Vec::new();
        let mut clauses = Vec::new();
        let mut postings: Vec<Vec<(u32, u8)>> = Vec::new();
        let mut rest: Vec<Vec<(u32, u8)>> = Vec::with_capacity(requirements.len());
        for (rule, needs) in requirements.into_iter().enumerate() {
            clauses.push(needs.len() as u8);
            let mut others = Vec::new();
            for (clause, need) in needs.into_iter().enumerate() {
                for Needle { mut literal, field, whole } in need {
                    if !whole {
                        literal.truncate(hex_cut(&literal));
                    }
                    let next = needle_ids.len() as u32;
                    let id = *needle_ids.entry((literal, field)).or_insert_with(|| {
                        postings.push(Vec::new());
                        whole_only.push(true);
                        next
                    }) as usize;
                    whole_only[id] &= whole && field.is_some();
                    let posting = &mut postings[id];
                    if posting.last() != Some(&(rule as u32, clause as u8)) {
                        posting.push((rule as u32, clause as u8));
                    }
                    if clause > 0 {
                        others.push((id as u32, clause as u8));
                    }
                }
            }
            others.sort_unstable();
            others.dedup();
            rest.push(others);
        }
        let mut whole: foldhash::HashMap<Box<[u8]>, Vec<(Field, u32)>> = Default::default();
        let mut whole_fields = FieldBits::default();
        let mut keywords = Vec::new();
        let mut by_field: BTreeMap<Field, (Vec<&str>, Vec<u32>)> = BTreeMap::new();
        let mut cloud: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        // In needle order, so the automata do not depend on hash order.
        let mut by_id: Vec<(&(String, Option<Field>), &u32)> = needle_ids.iter().collect();
        by_id.sort_unstable_by_key(|(_, id)| **id);
        for ((literal, field), &id) in by_id {
            let rules = || postings[id as usize].iter().map(|&(rule, _)| rule);
            let Some(field) = *field else {
                // Repeats are fine: the table keeps each rule's list
                // sorted and distinct.
                keywords.push((literal.clone(), id, rules().collect()));
                continue;
            };
            if whole_only[id as usize] {
                whole.entry(literal.as_bytes().into()).or_default().push((field, id));
                whole_fields.insert(field);
                continue;
            }
            let (literals, needles) = by_field.entry(field).or_default();
            literals.push(literal);
            needles.push(id);
            if rules().any(|rule| any_field[rule as usize]) {
                cloud.entry(literal).or_default().push(id);
            }
        }
        let keywords = KeywordTable::new(clauses.len(), keywords);
        // The automata are independent: built in parallel (this is the
        // slowest part of compiling a rule set).
        let (automata, any_field) = rayon::join(
            || {
                // Largest first, each taken by the next free thread: the
                // few large automata (CommandLine's, Image's) start at once
                // rather than last, alone on one core.
                let mut by_size: Vec<_> = by_field.into_iter().collect();
                by_size.sort_by_key(|(_, (literals, _))| {
                    std::cmp::Reverse(literals.iter().map(|l| l.len()).sum::<usize>())
                });
                let mut built: Vec<_> = by_size
                    .into_iter()
                    .par_bridge()
                    .filter_map(|(field, (literals, needles))| {
                        Some((FieldAutomaton { field, needles }, Literals::build(&literals, engine)?))
                    })
                    .collect();
                built.sort_unstable_by_key(|(automaton, _)| automaton.field);
                built
            },
            || {
                let literals: Vec<&str> = cloud.keys().copied().collect();
                Some((AnyField { needles: cloud.into_values().collect() }, Literals::build(&literals, engine)?))
            },
        );
        let (automata, mut searchers): (Vec<FieldAutomaton>, Vec<Literals>) = automata.into_iter().unzip();
        let any_field = any_field.map(|(any_field, searcher)| {
            searchers.push(searcher);
            any_field
        });
        let mut by_field_index = Vec::new();
        for (i, automaton) in automata.iter().enumerate() {
            let slot = automaton.field.index();
            if by_field_index.len() <= slot {
                by_field_index.resize(slot + 1, None);
            }
            by_field_index[slot] = Some(i as u32);
        }
        Prefilter {
            by_field: by_field_index,
            automata,
            any_field,
            searchers,
            keywords,
            whole,
            whole_fields,
            clauses,
            first: Postings::new(
                postings
                    .into_iter()
                    .map(|pairs| pairs.into_iter().filter(|&(_, clause)| clause == 0).collect())
                    .collect(),
            ),
            rest: Postings::new(rest),
            needles: needle_ids.len(),
        }
    }

    /// Does rule `rule` have a literal requirement at all?
    pub(crate) fn gates(&self, rule: usize) -> bool {
        self.clauses[rule] > 0
    }

    /// The rules whose every clause has a needle in `seen`, sorted: those
    /// the needles of a first clause lead to, whose other clauses each
    /// have a needle in `seen` too.
    pub(crate) fn unlocked(&self, seen: &mut Seen, out: &mut Vec<u32>) {
        out.clear();
        if seen.reached.len() < self.clauses.len() {
            seen.reached.resize(self.clauses.len(), false);
        }
        for &word in &seen.set {
            let mut bits = seen.bits[word];
            while bits != 0 {
                let needle = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for &(rule, _) in self.first.of(needle) {
                    let reached = &mut seen.reached[rule as usize];
                    if !*reached {
                        *reached = true;
                        seen.touched.push(rule);
                    }
                }
            }
        }
        let mut touched = std::mem::take(&mut seen.touched);
        for rule in touched.drain(..) {
            seen.reached[rule as usize] = false;
            // The first clause holds; each other one needs a needle seen.
            let mut held: u8 = 1;
            for &(needle, clause) in self.rest.of(rule as usize) {
                if seen.contains(needle as usize) {
                    held |= 1 << clause;
                }
            }
            if held.count_ones() == u32::from(self.clauses[rule as usize]) {
                out.push(rule);
            }
        }
        seen.touched = touched;
        out.sort_unstable();
    }

    pub(crate) fn needles(&self) -> usize {
        self.needles
    }

    /// The searchers' bytes, for the cache; `None` if they were built
    /// with the quick engine, which cannot be stored.
    pub(crate) fn searchers_to_bytes(&self) -> Option<Vec<Vec<u8>>> {
        self.searchers.iter().map(Literals::to_bytes).collect()
    }

    /// A loaded prefilter's searchers, from the spans of their stored
    /// bytes (read on first use: see `literals`).
    pub(crate) fn set_searchers(&mut self, stored: Vec<crate::stored::Span>) -> Result<(), String> {
        let want = self.automata.len() + usize::from(self.any_field.is_some());
        if stored.len() != want {
            return Err(format!("{} automata stored, {want} expected", stored.len()));
        }
        self.searchers = stored.into_iter().map(Literals::stored).collect();
        Ok(())
    }

    /// Rules with a requirement.
    pub(crate) fn filtered_rules(&self) -> usize {
        self.clauses.iter().filter(|c| **c > 0).count()
    }

    /// Per rule: the fields its needles are bound to, as (searched,
    /// looked up whole).
    pub(crate) fn fields_by_rule(&self) -> Vec<(FieldBits, FieldBits)> {
        let mut by_rule: Vec<(FieldBits, FieldBits)> = (0..self.clauses.len()).map(|_| Default::default()).collect();
        let searched = self
            .automata
            .iter()
            .flat_map(|automaton| automaton.needles.iter().map(|&needle| (automaton.field, needle, false)));
        let whole = self.whole.values().flatten().map(|&(field, needle)| (field, needle, true));
        // Each needle's field (keywords have none), then the rules of
        // every clause it serves.
        let mut bound: Vec<Option<(Field, bool)>> = vec![None; self.needles];
        for (field, needle, whole) in searched.chain(whole) {
            bound[needle as usize] = Some((field, whole));
        }
        let mut mark = |rule: u32, needle: u32| {
            if let Some((field, whole)) = bound[needle as usize] {
                let (search, lookup) = &mut by_rule[rule as usize];
                if whole { lookup.insert(field) } else { search.insert(field) }
            }
        };
        for needle in 0..self.needles {
            for &(rule, _) in self.first.of(needle) {
                mark(rule, needle as u32);
            }
        }
        for rule in 0..self.clauses.len() {
            for &(needle, _) in self.rest.of(rule) {
                mark(rule as u32, needle);
            }
        }
        by_rule
    }

    /// Is some whole-value needle bound to `field` (must its values be
    /// looked up)?
    pub(crate) fn reads_whole(&self, field: Field) -> bool {
        self.whole_fields.contains(field)
    }

    /// The searcher for the keywords `rules` need (`None`: they need none,
    /// and an event's other values need not be searched).
    pub(crate) fn keywords_of(
        &self,
        rules: impl IntoIterator<Item = usize>,
        built: &mut Searchers,
    ) -> Option<Arc<Keywords>> {
        self.keywords.searcher(rules, built)
    }

    /// Marks in `seen` (a bitset) the needles of an event found in its
    /// values (see [`Haystack`]); `cache` remembers what long values held.
    pub(crate) fn scan(&self, haystack: &Haystack<'_>, seen: &mut Seen, cache: &mut ValueCache) {
        seen.reset(self.needles);
        let Haystack { bytes: haystack, values_end, keywords_from, segments, any_field, keywords } = *haystack;
        let values_end = values_end.min(haystack.len());
        if let Some(keywords) = keywords {
            keywords.for_each(&haystack[keywords_from.min(haystack.len())..], |needle| seen.set(needle as usize));
        }
        if !self.whole.is_empty() {
            for &Segment { start, end, field, .. } in segments {
                if !(any_field || self.reads_whole(field)) {
                    continue;
                }
                for &(needle_field, needle) in
                    self.whole.get(&haystack[start as usize..end as usize]).into_iter().flatten()
                {
                    if any_field || needle_field == field {
                        seen.set(needle as usize);
                    }
                }
            }
        }
        if any_field {
            // Cloud events: any needle counts in any value, one pass.
            if let Some(AnyField { needles }) = &self.any_field {
                self.searchers[self.automata.len()].for_each(&haystack[..values_end], |_, pattern| {
                    needles[pattern].iter().for_each(|&needle| seen.set(needle as usize));
                });
            }
            return;
        }
        // Value by value, with its field's automaton: a long value seen
        // before in the same field gives back the needles found then.
        for &Segment { start, end, field, searched } in segments {
            if !searched {
                continue;
            }
            let Some(&Some(automaton)) = self.by_field.get(field.index()) else { continue };
            let FieldAutomaton { needles, .. } = &self.automata[automaton as usize];
            let literals = &self.searchers[automaton as usize];
            let value = &haystack[start as usize..end as usize];
            let cached = value.len() >= MIN_CACHED;
            if cached && let Some(needles) = cache.get(field, value) {
                needles.iter().for_each(|&needle| seen.set(needle as usize));
                continue;
            }
            if !cached {
                literals.for_each(value, |_, pattern| seen.set(needles[pattern] as usize));
                continue;
            }
            let mut found = std::mem::take(&mut seen.found);
            found.clear();
            literals.for_each(value, |_, pattern| found.push(needles[pattern]));
            found.sort_unstable();
            found.dedup();
            found.iter().for_each(|&needle| seen.set(needle as usize));
            cache.insert(field, value, &found);
            seen.found = found;
        }
    }
}

/// Lists of (number, clause) pairs by index (a needle's rules, a rule's
/// needles), in one array: the lists an event reaches are read one after
/// another, and a list of its own for each would cost a cache miss more.
#[derive(serde::Serialize, serde::Deserialize)]
struct Postings {
    /// Where each needle's pairs start in `pairs`; one more for the end.
    starts: Vec<u32>,
    pairs: Vec<(u32, u8)>,
}

impl Postings {
    fn new(lists: Vec<Vec<(u32, u8)>>) -> Postings {
        let mut starts = Vec::with_capacity(lists.len() + 1);
        let mut pairs = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        starts.push(0);
        for list in lists {
            pairs.extend(list);
            starts.push(pairs.len() as u32);
        }
        Postings { starts, pairs }
    }

    fn of(&self, index: usize) -> &[(u32, u8)] {
        &self.pairs[self.starts[index] as usize..self.starts[index + 1] as usize]
    }
}

/// A set of fields, by index.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct FieldBits(Vec<u64>);

impl FieldBits {
    pub(crate) fn insert(&mut self, field: Field) {
        let (word, bit) = (field.index() / 64, field.index() % 64);
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << bit;
    }

    pub(crate) fn contains(&self, field: Field) -> bool {
        self.0.get(field.index() / 64).is_some_and(|word| word & (1 << (field.index() % 64)) != 0)
    }

    pub(crate) fn union_with(&mut self, other: &FieldBits) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (word, theirs) in self.0.iter_mut().zip(&other.0) {
            *word |= theirs;
        }
    }
}

/// The needles seen in the current event, as a bitset cleared per event.
#[derive(Default)]
pub(crate) struct Seen {
    bits: Vec<u64>,
    /// The words of `bits` that are not zero.
    set: Vec<usize>,
    /// Per rule: whether a seen needle of its first clause reached it
    /// (scratch for `unlocked`, zero between events), and those rules.
    reached: Vec<bool>,
    touched: Vec<u32>,
    /// Scratch: the needles found in one value.
    found: Vec<u32>,
}

impl Seen {
    fn reset(&mut self, needles: usize) {
        if self.bits.len() * 64 < needles {
            self.bits.resize(needles.div_ceil(64), 0);
        }
        for word in self.set.drain(..) {
            self.bits[word] = 0;
        }
    }

    fn contains(&self, i: usize) -> bool {
        self.bits[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: usize) {
        let word = &mut self.bits[i / 64];
        if *word == 0 {
            self.set.push(i / 64);
        }
        *word |= 1 << (i % 64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mappings, RuleSet, RuleSource};

    #[test]
    fn a_rule_is_unlocked_only_when_each_clause_has_a_needle() {
        let text = "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\cmd.exe'\n        CommandLine|contains: 'whoami'\n    condition: sel\n";
        let names = ferret_model::FieldNames::new();
        let (set, _) = RuleSet::compile(
            &[RuleSource { name: "t.yml".into(), text: text.into() }],
            names.clone(),
            &Mappings::builtin(),
        );
        let fields = [names.intern("Image"), names.intern("CommandLine")];
        let unlocked = |values: [&str; 2]| {
            let mut bytes = String::new();
            let mut segments = Segments::new();
            for (field, value) in fields.into_iter().zip(values) {
                let start = bytes.len() as u32;
                bytes.push_str(value);
                segments.push(Segment { start, end: bytes.len() as u32, field, searched: true });
                bytes.push('\0');
            }
            let haystack = Haystack {
                bytes: bytes.as_bytes(),
                values_end: bytes.len(),
                keywords_from: 0,
                segments: &segments,
                any_field: false,
                keywords: None,
            };
            let (mut seen, mut out) = (Seen::default(), Vec::new());
            set.prefilter.scan(&haystack, &mut seen, &mut ValueCache::default());
            set.prefilter.unlocked(&mut seen, &mut out);
            out
        };
        assert_eq!(unlocked(["c:\\windows\\system32\\cmd.exe", "cmd /c whoami /all"]), vec![0]);
        // Either clause alone, whichever leads to the rule.
        assert!(unlocked(["c:\\windows\\system32\\cmd.exe", "cmd /c dir"]).is_empty());
        assert!(unlocked(["c:\\tools\\x.exe", "whoami"]).is_empty());
        // The needles in each other's field.
        assert!(unlocked(["c:\\whoami", "\\cmd.exe"]).is_empty());
    }
}
