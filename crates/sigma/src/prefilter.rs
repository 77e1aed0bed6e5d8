//! The literal prefilter: most rules are never evaluated on most events.
//!
//! For every rule, compilation derives a set of lowercase *needles* such
//! that the rule can only match an event in which at least one needle
//! occurs in some value (or the raw line). One case-insensitive-by-folding
//! Aho-Corasick automaton over all rules' needles runs once per event over
//! the event's lowercased values; a rule none of whose needles was seen is
//! skipped without evaluating its condition.
//!
//! Needles are tied to the field the rule reads (`Image|endswith:
//! '\\cmd.exe'` needs `\\cmd.exe` in `Image`, not anywhere), except for
//! keywords, and for cloud events whose field names are matched
//! case-insensitively.
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

use std::collections::{BTreeSet, HashMap};

use ferret_model::Field;
use ferret_model::value::Num;

use crate::detection::{Detection, Expr, Item, Search, Target};
use crate::literals::{Engine, Literals};
use crate::pattern::{Pattern, StrMatch};

/// Needles shorter than this are too common to be worth checking.
const MIN_NEEDLE: usize = 3;

/// A set of needles (literal, and the field it must occur in; `None`: any
/// value or the raw line) at least one of which must occur.
type Need = Vec<(String, Option<Field>)>;

/// Clauses kept per rule (the best ones): each must hold.
const MAX_CLAUSES: usize = 2;

/// The compiled prefilter of a rule set.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Prefilter {
    /// Every literal; searched in the values of fields some needle is bound
    /// to (and everywhere for cloud events).
    automaton: Option<Literals>,
    /// The literals of keyword needles (pattern → literal id), searched in
    /// the other values and the raw line.
    keywords: Option<(Literals, Vec<usize>)>,
    /// By field index: some needle is bound to the field.
    fields: Vec<bool>,
    /// Per rule: how many clauses must hold (0: the rule is not gated).
    clauses: Vec<u8>,
    /// Per needle: the (rule, clause) pairs it satisfies.
    postings: Vec<Vec<(u32, u8)>>,
    /// Per automaton pattern (a distinct literal): its needles and fields.
    by_literal: Vec<Vec<(Option<Field>, u32)>>,
    needles: usize,
}

/// Where each value sits in the haystack: (start offset, field; `None` for
/// the raw line), in order.
pub(crate) type Segments = Vec<(u32, Option<Field>)>;

impl Prefilter {
    pub(crate) fn build(detections: &[&Detection], engine: Engine) -> Prefilter {
        use rayon::prelude::*;
        // Deriving each rule's requirement is independent: in parallel.
        let requirements: Vec<Vec<Need>> =
            detections.par_iter().map(|d| requirement(&d.condition, &d.searches)).collect();
        let mut needle_ids: HashMap<(String, Option<Field>), u32> = HashMap::new();
        let mut literal_ids: HashMap<String, usize> = HashMap::new();
        let mut literals: Vec<String> = Vec::new();
        let mut by_literal: Vec<Vec<(Option<Field>, u32)>> = Vec::new();
        let mut clauses = Vec::new();
        let mut postings: Vec<Vec<(u32, u8)>> = Vec::new();
        for (rule, needs) in requirements.into_iter().enumerate() {
            clauses.push(needs.len() as u8);
            for (clause, need) in needs.into_iter().enumerate() {
                for (literal, field) in need {
                    let next = needle_ids.len() as u32;
                    let id = *needle_ids.entry((literal.clone(), field)).or_insert_with(|| {
                        let lit = *literal_ids.entry(literal.clone()).or_insert_with(|| {
                            literals.push(literal);
                            by_literal.push(Vec::new());
                            literals.len() - 1
                        });
                        by_literal[lit].push((field, next));
                        postings.push(Vec::new());
                        next
                    });
                    let posting = &mut postings[id as usize];
                    if posting.last() != Some(&(rule as u32, clause as u8)) {
                        posting.push((rule as u32, clause as u8));
                    }
                }
            }
        }
        let keyword_ids: Vec<usize> =
            (0..literals.len()).filter(|&l| by_literal[l].iter().any(|(field, _)| field.is_none())).collect();
        let keyword_literals: Vec<&String> = keyword_ids.iter().map(|&l| &literals[l]).collect();
        let (automaton, keywords) = rayon::join(
            || Literals::build(&literals, engine),
            || Literals::build(&keyword_literals, engine).map(|automaton| (automaton, keyword_ids)),
        );
        let mut fields = Vec::new();
        for field in needle_ids.keys().filter_map(|(_, field)| *field) {
            if fields.len() <= field.index() {
                fields.resize(field.index() + 1, false);
            }
            fields[field.index()] = true;
        }
        Prefilter { automaton, keywords, fields, clauses, postings, by_literal, needles: needle_ids.len() }
    }

    /// Does rule `rule` have a literal requirement at all?
    pub(crate) fn gates(&self, rule: usize) -> bool {
        self.clauses[rule] > 0
    }

    /// The rules whose every clause has a needle in `seen`, sorted.
    pub(crate) fn unlocked(&self, seen: &mut Seen, out: &mut Vec<u32>) {
        out.clear();
        if seen.held.len() < self.clauses.len() {
            seen.held.resize(self.clauses.len(), 0);
        }
        for &word in &seen.set {
            let mut bits = seen.bits[word];
            while bits != 0 {
                let needle = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for &(rule, clause) in &self.postings[needle] {
                    let held = &mut seen.held[rule as usize];
                    if *held == 0 {
                        seen.touched.push(rule);
                    }
                    *held |= 1 << clause;
                }
            }
        }
        for rule in seen.touched.drain(..) {
            let held = std::mem::take(&mut seen.held[rule as usize]);
            if held.count_ones() == u32::from(self.clauses[rule as usize]) {
                out.push(rule);
            }
        }
        out.sort_unstable();
    }

    pub(crate) fn needles(&self) -> usize {
        self.needles
    }

    /// Rules with a requirement.
    pub(crate) fn filtered_rules(&self) -> usize {
        self.clauses.iter().filter(|c| **c > 0).count()
    }

    /// Marks in `seen` (a bitset) every needle that occurs in `haystack`
    /// in its own field (`segments` says which value is where); with
    /// `any_field`, wherever it occurs.
    /// Is some needle bound to `field` (must its values be searched with
    /// the whole automaton)?
    pub(crate) fn reads(&self, field: Field) -> bool {
        self.fields.get(field.index()).copied().unwrap_or(false)
    }

    /// `haystack[..bound_end]` holds the values of fields some needle is
    /// bound to (and, for cloud events, every value): searched for every
    /// needle. The rest (other values, the raw line) only for keywords.
    pub(crate) fn scan(
        &self,
        haystack: &[u8],
        bound_end: usize,
        segments: &Segments,
        any_field: bool,
        seen: &mut Seen,
    ) {
        seen.reset(self.needles);
        let bound_end = bound_end.min(haystack.len());
        if let Some((automaton, ids)) = &self.keywords {
            automaton.for_each(&haystack[bound_end..], |_, pattern| {
                for &(needle_field, needle) in &self.by_literal[ids[pattern]] {
                    if needle_field.is_none() {
                        seen.set(needle as usize);
                    }
                }
            });
        }
        let Some(automaton) = &self.automaton else { return };
        automaton.for_each(&haystack[..bound_end], |start, pattern| {
            let at = start as u32;
            let segment = segments.partition_point(|&(start, _)| start <= at).checked_sub(1);
            let field = segment.and_then(|i| segments[i].1);
            for &(needle_field, needle) in &self.by_literal[pattern] {
                if any_field || needle_field.is_none() || needle_field == field {
                    seen.set(needle as usize);
                }
            }
        });
    }
}

/// The needles seen in the current event, as a bitset cleared per event.
#[derive(Default)]
pub(crate) struct Seen {
    bits: Vec<u64>,
    /// The words of `bits` that are not zero.
    set: Vec<usize>,
    /// Per rule: the clauses the seen needles satisfy (scratch for
    /// `unlocked`, zero between events), and the rules touched.
    held: Vec<u8>,
    touched: Vec<u32>,
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
    (need.iter().map(|(literal, _)| literal.len()).min().unwrap_or(0), std::cmp::Reverse(need.len()))
}

/// The best of several requirements that must all hold (AND).
fn best(needs: impl Iterator<Item = Option<Need>>) -> Option<Need> {
    needs.flatten().max_by_key(score)
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
                Some((text.to_ascii_lowercase(), field))
            })
            .collect::<Option<_>>()?;
        need.sort();
        need.dedup();
        Some(need)
    });
    let inner = crate::regex_facts::required_literals(&hir, MIN_NEEDLE)
        .map(|literals| literals.into_iter().map(|literal| (literal, field)).collect());
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
    let mut needs = expr_clauses(expr, searches);
    needs.sort_by_key(|n| std::cmp::Reverse(score(n)));
    needs.truncate(MAX_CLAUSES);
    needs
}

/// Necessary clauses of `expr` (all must hold): an AND gives those of each
/// term, a selection those of each of its items; anything else one clause
/// (or none when it can match without a literal).
fn expr_clauses(expr: &Expr, searches: &[Search]) -> Vec<Need> {
    match expr {
        Expr::And(terms) => terms.iter().flat_map(|t| expr_clauses(t, searches)).collect(),
        Expr::Search(i) if searches[*i].alternatives.len() == 1 => {
            searches[*i].alternatives[0].iter().filter_map(item_need).collect()
        }
        other => expr_need(other, searches).into_iter().collect(),
    }
}

fn expr_need(expr: &Expr, searches: &[Search]) -> Option<Need> {
    match expr {
        Expr::Search(i) => union(searches[*i].alternatives.iter().map(|items| best(items.iter().map(item_need)))),
        Expr::And(terms) => best(terms.iter().map(|t| expr_need(t, searches))),
        Expr::Or(terms) => union(terms.iter().map(|t| expr_need(t, searches))),
        Expr::Not(_) => None,
    }
}

fn item_need(item: &Item) -> Option<Need> {
    if item.negate {
        return None;
    }
    let field = match &item.target {
        Target::Field { field, .. } => Some(*field),
        Target::Keywords => None,
    };
    let group_need = |group: &Vec<Pattern>| union(group.iter().map(|p| pattern_need(p, field)));
    if item.all { best(item.groups.iter().map(group_need)) } else { union(item.groups.iter().map(group_need)) }
}

fn pattern_need(pattern: &Pattern, field: Option<Field>) -> Option<Need> {
    if let Pattern::Regex(re) = pattern {
        return regex_need(re.as_str(), field);
    }
    let Pattern::Str { matcher, number: None, .. } = pattern else { return None };
    let literal = match matcher {
        StrMatch::Exact(s) | StrMatch::Prefix(s) | StrMatch::Suffix(s) => s.clone(),
        StrMatch::Contains(substring) => String::from_utf8_lossy(substring.needle()).into_owned(),
        StrMatch::Glob(glob) => glob.longest_literal()?,
    };
    let literal = literal.to_lowercase();
    // A character beyond ASCII is rare enough to be a needle on its own
    // (the homoglyph rules look for single Cyrillic and Greek letters).
    let long_enough = literal.len() >= MIN_NEEDLE || (!literal.is_ascii() && literal.chars().count() == 1);
    long_enough.then(|| vec![(literal, field)])
}
