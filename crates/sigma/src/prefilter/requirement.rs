//! What a rule requires of an event's text: the needle clauses derived
//! from its condition (each a set of literals one of which must occur), and
//! the EventIDs it can only match under.

use std::collections::BTreeSet;

use ferret_model::Field;
use ferret_model::value::Num;

use crate::detection::{Detection, Expr, Item, Search, Target};
use crate::pattern::{Pattern, StrMatch};

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

/// Hex digits a searched needle keeps of a longer run of them.
const HEX_KEPT: usize = 12;

/// Where a needle searched for within values is cut: after the first
/// `HEX_KEPT` digits of its first longer run of hex digits, else nowhere.
/// Hash lists (`Hashes|contains: 'SHA256=…'`, 5,700 of them in the SigmaHQ
/// corpus) gave a 3 MB automaton of one state per hex digit, walked for
/// every `Hashes` value; twelve random hex digits are as rare as sixty-four
/// in logs, and a needle only gates, so a prefix of the literal (which
/// occurs wherever the literal does) serves as well. Cut: 766 KB, the
/// prefilter's searches 12% fewer instructions, as many rules evaluated.
/// Longer literals in general cannot be cut so: with every needle cut to
/// 20 bytes, common prefixes (`c:\windows\system32\`) evaluated 40% more
/// rules.
pub(super) fn hex_cut(literal: &str) -> usize {
    let mut run = 0;
    for (i, byte) in literal.bytes().enumerate() {
        run = if byte.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run > HEX_KEPT {
            return i;
        }
    }
    literal.len()
}

/// A literal that must occur in a value of `field` (`None`: in any value
/// or the raw line); `whole`: as the entire value (`Channel: Security`),
/// which a hash lookup of the value decides without searching it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct Needle {
    pub(super) literal: String,
    pub(super) field: Option<Field>,
    pub(super) whole: bool,
}

/// A set of needles at least one of which must occur.
pub(super) type Need = Vec<Needle>;

/// Clauses kept per rule (the best ones): each must hold. A third one
/// spares evaluations where the two best are common ("Suspicious SYSTEM
/// User Process Creation" needs `System` and `AUTHORI`, on every SYSTEM
/// process, and one of its forty command-line needles): the EVTX samples'
/// second copy 753.5 → 749.6 M instructions, x10 wall −2%; a fourth gave
/// nothing more.
const MAX_CLAUSES: usize = 3;

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
pub(super) fn requirement(expr: &Expr, searches: &[Search]) -> Vec<Need> {
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

    #[test]
    fn searched_needles_keep_twelve_digits_of_a_longer_hex_run() {
        let sha = "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        assert_eq!(&sha[..hex_cut(sha)], "sha256=9f86d081884c");
        // Twelve digits or fewer are kept whole, a GUID's groups included.
        for kept in ["md5=0123456789ab", "{7c5a40ef-a0fb-4bfc-874a-c0f2e0b9fa8e}", "\\cmd.exe", ""] {
            assert_eq!(hex_cut(kept), kept.len(), "{kept}");
        }
        // The first long run decides; what follows it goes with it.
        assert_eq!(&"x 0123456789abcdef y"[..hex_cut("x 0123456789abcdef y")], "x 0123456789ab");
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
    fn three_clauses_are_kept_and_the_weakest_beyond_them_dropped() {
        let found = clauses(
            "sel:\n    IntegrityLevel: 'System'\n    User|contains: 'AUTHORI'\n    CommandLine|contains: 'sekurlsa::'\n    ParentImage|endswith: 'ab'\ncondition: sel",
        );
        assert_eq!(
            found,
            vec![
                clause(&[("CommandLine", "sekurlsa::")]),
                clause(&[("IntegrityLevel", "system")]),
                clause(&[("User", "authori")]),
            ]
        );
    }
}
