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
//! The derivation is conservative: where a rule can match without any
//! literal (a regex, a CIDR, a number, `null`, a `not`, a field read through
//! a value transform), it gets no requirement and is always evaluated.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use ferret_model::Field;

use crate::detection::{Detection, Expr, Item, Search, Target};
use crate::pattern::{Pattern, StrMatch};

/// Needles shorter than this are too common to be worth checking.
const MIN_NEEDLE: usize = 3;

/// A set of needles (literal, and the field it must occur in; `None`: any
/// value or the raw line) at least one of which must occur.
type Need = Vec<(String, Option<Field>)>;

/// The compiled prefilter of a rule set.
pub(crate) struct Prefilter {
    automaton: Option<AhoCorasick>,
    /// Per rule: the needle ids one of which must be seen, or `None`.
    rules: Vec<Option<Vec<u32>>>,
    /// Per needle: the rules it can unlock.
    postings: Vec<Vec<u32>>,
    /// Per automaton pattern (a distinct literal): its needles and fields.
    by_literal: Vec<Vec<(Option<Field>, u32)>>,
    needles: usize,
}

/// Where each value sits in the haystack: (start offset, field; `None` for
/// the raw line), in order.
pub(crate) type Segments = Vec<(u32, Option<Field>)>;

impl Prefilter {
    pub(crate) fn build<'a>(detections: impl Iterator<Item = &'a Detection>) -> Prefilter {
        let mut needle_ids: HashMap<(String, Option<Field>), u32> = HashMap::new();
        let mut literal_ids: HashMap<String, usize> = HashMap::new();
        let mut literals: Vec<String> = Vec::new();
        let mut by_literal: Vec<Vec<(Option<Field>, u32)>> = Vec::new();
        let rules: Vec<Option<Vec<u32>>> = detections
            .map(|d| {
                let need = expr_need(&d.condition, &d.searches)?;
                Some(
                    need.into_iter()
                        .map(|(literal, field)| {
                            let next = needle_ids.len() as u32;
                            *needle_ids.entry((literal.clone(), field)).or_insert_with(|| {
                                let lit = *literal_ids.entry(literal.clone()).or_insert_with(|| {
                                    literals.push(literal);
                                    by_literal.push(Vec::new());
                                    literals.len() - 1
                                });
                                by_literal[lit].push((field, next));
                                next
                            })
                        })
                        .collect(),
                )
            })
            .collect();
        let automaton = (!literals.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&literals)
                .expect("needles build an automaton")
        });
        let mut postings = vec![Vec::new(); needle_ids.len()];
        for (rule, needles) in rules.iter().enumerate() {
            for &n in needles.iter().flatten() {
                postings[n as usize].push(rule as u32);
            }
        }
        Prefilter { automaton, rules, postings, by_literal, needles: needle_ids.len() }
    }

    /// Does rule `rule` have a literal requirement at all?
    pub(crate) fn gates(&self, rule: usize) -> bool {
        self.rules[rule].is_some()
    }

    /// The rules the needles in `seen` unlock, sorted and distinct.
    pub(crate) fn unlocked(&self, seen: &Seen, out: &mut Vec<u32>) {
        out.clear();
        for &word in &seen.set {
            let mut bits = seen.bits[word];
            while bits != 0 {
                let needle = word * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                out.extend_from_slice(&self.postings[needle]);
            }
        }
        out.sort_unstable();
        out.dedup();
    }

    pub(crate) fn needles(&self) -> usize {
        self.needles
    }

    /// Rules with a requirement.
    pub(crate) fn filtered_rules(&self) -> usize {
        self.rules.iter().filter(|r| r.is_some()).count()
    }

    /// Marks in `seen` (a bitset) every needle that occurs in `haystack`
    /// in its own field (`segments` says which value is where); with
    /// `any_field`, wherever it occurs.
    pub(crate) fn scan(&self, haystack: &[u8], segments: &Segments, any_field: bool, seen: &mut Seen) {
        seen.reset(self.needles);
        let Some(automaton) = &self.automaton else { return };
        for m in automaton.find_overlapping_iter(haystack) {
            let at = m.start() as u32;
            let segment = segments.partition_point(|&(start, _)| start <= at).checked_sub(1);
            let field = segment.and_then(|i| segments[i].1);
            for &(needle_field, needle) in &self.by_literal[m.pattern().as_usize()] {
                if any_field || needle_field.is_none() || needle_field == field {
                    seen.set(needle as usize);
                }
            }
        }
    }
}

/// The needles seen in the current event, as a bitset cleared per event.
#[derive(Default)]
pub(crate) struct Seen {
    bits: Vec<u64>,
    /// The words of `bits` that are not zero.
    set: Vec<usize>,
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
    let Pattern::Str { matcher, number: None, .. } = pattern else { return None };
    let literal = match matcher {
        StrMatch::Exact(s) | StrMatch::Prefix(s) | StrMatch::Suffix(s) => s.clone(),
        StrMatch::Contains(finder) => String::from_utf8_lossy(finder.needle()).into_owned(),
        StrMatch::Glob(glob) => glob.longest_literal()?,
    };
    let literal = literal.to_lowercase();
    (literal.len() >= MIN_NEEDLE).then(|| vec![(literal, field)])
}
