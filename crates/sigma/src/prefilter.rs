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

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ferret_model::Field;
use ferret_model::value::Num;

use crate::detection::{Detection, Expr, Item, Search, Target};
use crate::keywords::{KeywordTable, Keywords, Searchers};
use crate::literals::{Engine, Literals};
use crate::pattern::{Pattern, StrMatch};
use crate::value_cache::{MIN_CACHED, ValueCache};

/// Needles shorter than this are too common to be worth checking. Two
/// bytes still gate: a rule needing `^^` or `,;,` ("Potential Dosfuscation
/// Activity") was evaluated on every process creation while one of its
/// values was too short to be a needle; a common two-byte needle costs no
/// more than no needle.
const MIN_NEEDLE: usize = 2;

/// Single bytes rare enough in logs to gate on their own: PowerShell's
/// escape character, which only obfuscation puts inside a command line
/// ("Powershell Token Obfuscation" requires two and no longer literal, and
/// was evaluated on every process creation).
const RARE_BYTES: &[&str] = &["`"];

/// Whether `literal` is long enough, or rare enough, to be a needle.
fn needle_worthy(literal: &str) -> bool {
    literal.len() >= MIN_NEEDLE || RARE_BYTES.contains(&literal)
}

/// A literal that must occur in a value of `field` (`None`: in any value
/// or the raw line); `whole`: as the entire value (`Channel: Security`),
/// which a hash lookup of the value decides without searching it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Needle {
    literal: String,
    field: Option<Field>,
    whole: bool,
}

/// A set of needles at least one of which must occur.
type Need = Vec<Needle>;

/// Clauses kept per rule (the best ones): each must hold.
const MAX_CLAUSES: usize = 2;

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
                for Needle { literal, field, whole } in need {
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

/// How good a requirement is: its weakest needle's length (longer is
/// rarer), then fewer needles.
fn score(need: &Need) -> (usize, std::cmp::Reverse<usize>) {
    (need.iter().map(|needle| needle.literal.len()).min().unwrap_or(0), std::cmp::Reverse(need.len()))
}

/// The union of requirements one of which holds (OR); none if any has none.
fn union(needs: impl Iterator<Item = Option<Need>>) -> Option<Need> {
    let mut all = Vec::new();
    for need in needs {
        all.extend(need?);
    }
    all.sort();
    all.dedup();
    (!all.is_empty()).then_some(all)
}

/// Literals one of which every match of an (unanchored) regex contains:
/// its possible prefixes, its possible suffixes, or literals required
/// anywhere in it (`regex_facts`), whichever set is most selective. Only
/// ASCII literals of at least `MIN_NEEDLE` bytes make a requirement
/// (lowercasing an ASCII substring gives a substring of the lowercased
/// value, which is not always so beyond ASCII).
fn regex_need(pattern: &str, field: Option<Field>) -> Option<Need> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let needs = [ExtractKind::Prefix, ExtractKind::Suffix].map(|kind| {
        let seq = Extractor::new().kind(kind).extract(&hir);
        let literals = seq.literals()?;
        if literals.is_empty() || literals.len() > 64 {
            return None;
        }
        let mut need: Need = literals
            .iter()
            .map(|l| {
                let text = std::str::from_utf8(l.as_bytes()).ok().filter(|t| t.is_ascii() && t.len() >= MIN_NEEDLE)?;
                Some(Needle { literal: text.to_ascii_lowercase(), field, whole: false })
            })
            .collect::<Option<_>>()?;
        need.sort();
        need.dedup();
        Some(need)
    });
    // Literals of two bytes or more; else single bytes, if all are rare.
    let inner = crate::regex_facts::required_literals(&hir, MIN_NEEDLE)
        .or_else(|| {
            crate::regex_facts::required_literals(&hir, 1).filter(|literals| literals.iter().all(|l| needle_worthy(l)))
        })
        .map(|literals| literals.into_iter().map(|literal| Needle { literal, field, whole: false }).collect());
    needs.into_iter().chain([inner]).flatten().max_by_key(score)
}

/// The integers `field` must equal for the rule to match (the EventIDs a
/// rule tests), when its condition requires one of them; `None` when it can
/// match otherwise. Routing files the rule under these values only, so a
/// rule for EventID 4720 is not tried on every Security event.
pub(crate) fn required_integers(detection: &Detection, field: Field) -> Option<BTreeSet<String>> {
    fn item_ids(item: &Item, field: Field) -> Option<BTreeSet<String>> {
        let is_field = matches!(&item.target, Target::Field { field: f, .. } if *f == field);
        if !is_field || item.negate || (item.all && item.groups.len() > 1) {
            return None;
        }
        item.groups
            .iter()
            .flatten()
            .map(|p| match p {
                Pattern::Str { matcher: StrMatch::Exact(text), number: Some(Num::Int(n)), .. }
                    if *text == n.to_string() =>
                {
                    Some(text.clone())
                }
                _ => None,
            })
            .collect()
    }
    fn expr_ids(expr: &Expr, searches: &[Search], field: Field) -> Option<BTreeSet<String>> {
        match expr {
            Expr::And(terms) => terms
                .iter()
                .filter_map(|t| expr_ids(t, searches, field))
                .reduce(|a, b| a.intersection(&b).cloned().collect()),
            Expr::Or(terms) => {
                let mut all = BTreeSet::new();
                for t in terms {
                    all.extend(expr_ids(t, searches, field)?);
                }
                Some(all)
            }
            Expr::Search(i) => {
                let mut all = BTreeSet::new();
                for items in &searches[*i].alternatives {
                    let ids = items
                        .iter()
                        .filter_map(|item| item_ids(item, field))
                        .reduce(|a, b| a.intersection(&b).cloned().collect())?;
                    all.extend(ids);
                }
                Some(all)
            }
            Expr::Not(_) => None,
        }
    }
    expr_ids(&detection.condition, &detection.searches, field)
}

/// A rule's clauses, each a necessary condition: the best `MAX_CLAUSES`.
fn requirement(expr: &Expr, searches: &[Search]) -> Vec<Need> {
    strongest(cnf(expr, searches), MAX_CLAUSES)
}

/// Clauses kept from each side of an OR before it is distributed.
const OR_CLAUSES: usize = 3;

/// Necessary clauses of `expr`, all of which hold whenever it does (none:
/// it can match without a literal). An AND gives the clauses of each term;
/// an OR is distributed over them, `(A ∧ B) ∨ C` giving `(A ∨ C) ∧ (B ∨ C)`:
/// `1 of selection_*` with a common needle in one selection (`Image`
/// contains `\windows\`) and rare ones in another still gets a rare
/// clause.
fn cnf(expr: &Expr, searches: &[Search]) -> Vec<Need> {
    match expr {
        Expr::And(terms) => terms.iter().flat_map(|t| cnf(t, searches)).collect(),
        Expr::Or(terms) => or_cnf(terms.iter().map(|t| cnf(t, searches))),
        Expr::Search(i) => {
            or_cnf(searches[*i].alternatives.iter().map(|items| items.iter().flat_map(item_clauses).collect()))
        }
        Expr::Not(_) => Vec::new(),
    }
}

/// The clauses of an OR of alternatives given by their clauses. Dropping
/// clauses only weakens a conjunction, so keeping the strongest few of
/// each side keeps the result a necessary condition.
fn or_cnf(alternatives: impl Iterator<Item = Vec<Need>>) -> Vec<Need> {
    let mut acc: Option<Vec<Need>> = None;
    for clauses in alternatives {
        let clauses = strongest(clauses, OR_CLAUSES);
        if clauses.is_empty() {
            // This alternative can match without a literal: so can the OR.
            return Vec::new();
        }
        acc = Some(match acc {
            None => clauses,
            Some(before) => {
                let mut product = Vec::with_capacity(before.len() * clauses.len());
                for a in &before {
                    for b in &clauses {
                        let mut either: Need = a.iter().chain(b).cloned().collect();
                        either.sort();
                        either.dedup();
                        product.push(either);
                    }
                }
                strongest(product, OR_CLAUSES)
            }
        });
    }
    acc.unwrap_or_default()
}

/// The `n` best clauses.
fn strongest(mut clauses: Vec<Need>, n: usize) -> Vec<Need> {
    clauses.sort_by_key(|need| std::cmp::Reverse(score(need)));
    clauses.truncate(n);
    clauses
}

/// An item's clauses: one (any of its values), or with `|all` one per
/// value group.
fn item_clauses(item: &Item) -> Vec<Need> {
    if item.negate {
        return Vec::new();
    }
    let field = match &item.target {
        Target::Field { field, .. } => Some(*field),
        Target::Keywords => None,
    };
    let group_need = |group: &Vec<Pattern>| union(group.iter().map(|p| pattern_need(p, field)));
    if item.all {
        item.groups.iter().filter_map(group_need).collect()
    } else {
        union(item.groups.iter().map(group_need)).into_iter().collect()
    }
}

fn pattern_need(pattern: &Pattern, field: Option<Field>) -> Option<Need> {
    if let Pattern::Regex(re) = pattern {
        return regex_need(re.as_str(), field);
    }
    let Pattern::Str { matcher, number: None, .. } = pattern else { return None };
    let whole = matches!(matcher, StrMatch::Exact(_));
    let literal = match matcher {
        StrMatch::Exact(s) | StrMatch::Prefix(s) | StrMatch::Suffix(s) => s.clone(),
        StrMatch::Contains(substring) => String::from_utf8_lossy(substring.needle()).into_owned(),
        StrMatch::Glob(glob) => glob.longest_literal()?,
    };
    let literal = literal.to_lowercase();
    // A character beyond ASCII is rare enough to be a needle on its own
    // (the homoglyph rules look for single Cyrillic and Greek letters).
    let long_enough = needle_worthy(&literal) || (!literal.is_ascii() && literal.chars().count() == 1);
    long_enough.then(|| vec![Needle { literal, field, whole }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Mappings, RuleSet, RuleSource};

    /// The requirement of a one-rule set's rule, as (field, literal) lists.
    fn clauses(detection: &str) -> Vec<Vec<(String, String)>> {
        let detection: String = detection.lines().map(|l| format!("    {l}\n")).collect();
        let text = format!(
            "title: t\nid: 00000000-0000-0000-0000-000000000001\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n{detection}"
        );
        let names = ferret_model::FieldNames::new();
        let (set, diagnostics) =
            RuleSet::compile(&[RuleSource { name: "t.yml".into(), text }], names.clone(), &Mappings::builtin());
        assert_eq!(set.len(), 1, "{diagnostics:?}");
        let detection = &set.rules[0].rule.get().detection;
        let mut found: Vec<Vec<(String, String)>> = requirement(&detection.condition, &detection.searches)
            .into_iter()
            .map(|need| {
                need.into_iter()
                    .map(|n| (n.field.map(|f| names.resolve(f).to_owned()).unwrap_or_default(), n.literal))
                    .collect()
            })
            .collect();
        found.sort();
        found
    }

    fn clause(needles: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut clause: Vec<(String, String)> = needles.iter().map(|(f, l)| (f.to_string(), l.to_string())).collect();
        clause.sort();
        clause
    }

    #[test]
    fn an_or_is_distributed_over_its_selections_clauses() {
        let found = clauses(
            "selection_a:\n    Image|contains: '\\Windows\\'\n    CommandLine|contains: '\\..\\..\\'\nselection_b:\n    CommandLine|contains: '.exe\\..\\'\ncondition: 1 of selection_*",
        );
        // (Image ∧ CommandLine) ∨ CommandLine': both clauses, so the common
        // `\windows\` alone does not make the rule a candidate.
        assert_eq!(
            found,
            vec![
                clause(&[("CommandLine", "\\..\\..\\"), ("CommandLine", ".exe\\..\\")]),
                clause(&[("Image", "\\windows\\"), ("CommandLine", ".exe\\..\\")]),
            ]
        );
    }

    #[test]
    fn negations_and_literal_free_alternatives_need_nothing() {
        assert!(clauses("sel:\n    Image|endswith: '\\cmd.exe'\ncondition: not sel").is_empty());
        assert!(
            clauses("a:\n    Image|endswith: '\\cmd.exe'\nb:\n    CommandLine|re: '\\d+'\ncondition: a or b")
                .is_empty()
        );
    }

    #[test]
    fn two_byte_values_still_gate() {
        let found = clauses("sel:\n    CommandLine|contains:\n        - '^^'\n        - ',;,'\ncondition: sel");
        assert_eq!(found, vec![clause(&[("CommandLine", ",;,"), ("CommandLine", "^^")])]);
        assert!(clauses("sel:\n    CommandLine|contains: '^'\ncondition: sel").is_empty());
    }

    #[test]
    fn a_rare_single_byte_gates_where_nothing_longer_is_required() {
        // "Powershell Token Obfuscation": two backticks, nothing longer.
        let found = clauses("sel:\n    CommandLine|re: '\\w+`(?:\\w+|-|.)`[\\w+|\\s]'\ncondition: sel");
        assert_eq!(found, vec![clause(&[("CommandLine", "`")])]);
        // A longer literal wins; a common single byte gates nothing.
        let found = clauses("sel:\n    CommandLine|re: '`\\w+-enc'\ncondition: sel");
        assert_eq!(found, vec![clause(&[("CommandLine", "-enc")])]);
        assert!(clauses("sel:\n    CommandLine|re: '\\w+:\\d+'\ncondition: sel").is_empty());
    }

    #[test]
    fn all_gives_a_clause_per_value() {
        let found = clauses(
            "sel:\n    CommandLine|contains|all:\n        - 'vssadmin'\n        - 'shadowcopy'\ncondition: sel",
        );
        assert_eq!(found, vec![clause(&[("CommandLine", "shadowcopy")]), clause(&[("CommandLine", "vssadmin")])]);
    }

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
