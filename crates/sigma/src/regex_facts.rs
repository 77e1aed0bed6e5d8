//! What can be known about a `|re` value without running it:
//!
//! - [`MinRun`]: the regex only asks for a run of at least N characters
//!   (`.{1000,}`, SigmaHQ's "unusually long command line" idiom), which a
//!   count decides far faster than the regex engine does, whose automaton
//!   for a thousand-fold repetition is huge;
//! - [`required_literals`]: literals one of which every match contains
//!   anywhere (not only at its start or end), for the prefilter.

use regex_syntax::hir::{Class, Dot, Hir, HirKind};

/// A regex that matches exactly the texts holding `chars` consecutive
/// characters other than a line feed (or any `chars` characters, with
/// `(?s)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MinRun {
    chars: usize,
    across_lines: bool,
}

impl MinRun {
    /// The shape of `hir`, when it is `.{n,}` or `.{n,m}` (in a group or
    /// not, the dot in a group or not), with n at least 1.
    pub(crate) fn of(hir: &Hir) -> Option<MinRun> {
        let hir = strip_groups(hir);
        // `.{1}` is a plain dot once parsed.
        let (min, dot) = match hir.kind() {
            HirKind::Repetition(repetition) if repetition.min > 0 => (repetition.min, strip_groups(&repetition.sub)),
            _ => (1, hir),
        };
        let across_lines = if *dot == Hir::dot(Dot::AnyChar) {
            true
        } else if *dot == Hir::dot(Dot::AnyCharExceptLF) {
            false
        } else {
            return None;
        };
        Some(MinRun { chars: min as usize, across_lines })
    }

    /// Does `text` hold such a run? (A repetition with a maximum matches
    /// whenever its minimum does: the search is unanchored.)
    pub(crate) fn is_match(&self, text: &str) -> bool {
        // A character takes at least one byte: shorter text cannot match.
        let long_enough = |part: &str| part.len() >= self.chars && part.chars().count() >= self.chars;
        if self.across_lines { long_enough(text) } else { text.split('\n').any(long_enough) }
    }
}

fn strip_groups(hir: &Hir) -> &Hir {
    match hir.kind() {
        HirKind::Capture(capture) => strip_groups(&capture.sub),
        _ => hir,
    }
}

/// At most this many alternatives make a requirement.
const MAX_LITERALS: usize = 64;

/// Lowercase ASCII literals of at least `min_len` bytes, one of which
/// every match of `hir` contains, in the text lowercased; `None` when
/// there is no such set.
///
/// Only ASCII counts as literal text: lowercasing an ASCII substring gives
/// a substring of the lowercased text, which beyond ASCII is not always so.
/// A case-insensitive letter (`(?i)w`, a class `[Ww]`) is literal text when
/// every character of its class lowercases to the same ASCII letter; `(?i)k`
/// also matches the Kelvin sign, which lowercases to `k` as well, but
/// `(?i)s` matches `ſ`, which does not lowercase to `s`, so it ends the
/// literal there.
pub(crate) fn required_literals(hir: &Hir, min_len: usize) -> Option<Vec<String>> {
    match hir.kind() {
        HirKind::Capture(capture) => required_literals(&capture.sub, min_len),
        HirKind::Repetition(repetition) if repetition.min > 0 => required_literals(&repetition.sub, min_len),
        HirKind::Concat(parts) => {
            let mut best: Option<Vec<String>> = None;
            let mut consider = |candidate: Option<Vec<String>>| {
                if let Some(candidate) = candidate
                    && best.as_ref().is_none_or(|b| weakest(&candidate) > weakest(b))
                {
                    best = Some(candidate);
                }
            };
            // Consecutive literal pieces make one literal.
            let mut run = String::new();
            for part in parts {
                if let Some(text) = literal_text(part) {
                    run.push_str(&text);
                    continue;
                }
                consider((run.len() >= min_len).then(|| vec![std::mem::take(&mut run)]));
                run.clear();
                consider(required_literals(part, min_len));
            }
            consider((run.len() >= min_len).then(|| vec![run]));
            best
        }
        HirKind::Alternation(alternatives) => {
            let mut all = Vec::new();
            for alternative in alternatives {
                all.extend(required_literals(alternative, min_len)?);
            }
            all.sort();
            all.dedup();
            (all.len() <= MAX_LITERALS).then_some(all)
        }
        _ => literal_text(hir).filter(|text| text.len() >= min_len).map(|text| vec![text]),
    }
}

/// The length of the shortest literal: how selective a set is.
fn weakest(literals: &[String]) -> usize {
    literals.iter().map(String::len).min().unwrap_or(0)
}

/// The lowercase ASCII text `hir` matches exactly (up to case), if any.
fn literal_text(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok().filter(|t| t.is_ascii())?;
            Some(text.to_ascii_lowercase())
        }
        HirKind::Class(Class::Unicode(class)) => {
            // A letter and its case variants: a few characters at most.
            let size: u32 = class.ranges().iter().map(|r| u32::from(r.end()) - u32::from(r.start()) + 1).sum();
            if size > 4 {
                return None;
            }
            let mut folded = None;
            for range in class.ranges() {
                for c in range.start()..=range.end() {
                    let mut lower = c.to_lowercase();
                    let (Some(l), None) = (lower.next(), lower.next()) else { return None };
                    if !l.is_ascii() || folded.is_some_and(|f| f != l) {
                        return None;
                    }
                    folded = Some(l);
                }
            }
            folded.map(String::from)
        }
        HirKind::Class(Class::Bytes(class)) => {
            if class.ranges().iter().map(|r| usize::from(r.end() - r.start()) + 1).sum::<usize>() > 4 {
                return None;
            }
            let mut folded = None;
            for range in class.ranges() {
                for b in range.start()..=range.end() {
                    let l = b.to_ascii_lowercase();
                    if !l.is_ascii() || folded.is_some_and(|f| f != l) {
                        return None;
                    }
                    folded = Some(l);
                }
            }
            folded.map(|b| char::from(b).to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    fn parse(pattern: &str) -> Hir {
        regex_syntax::Parser::new().parse(pattern).unwrap()
    }

    #[test]
    fn long_runs_are_recognised() {
        assert_eq!(MinRun::of(&parse(".{1000,}")), Some(MinRun { chars: 1000, across_lines: false }));
        assert_eq!(MinRun::of(&parse("(.){200,}")), Some(MinRun { chars: 200, across_lines: false }));
        assert_eq!(MinRun::of(&parse("(?s).{5,9}")), Some(MinRun { chars: 5, across_lines: true }));
        for other in [".*", "a{3,}", "^.{3,}$", ".{3,}x", "[^x]{3,}"] {
            assert_eq!(MinRun::of(&parse(other)), None, "{other}");
        }
        let run = MinRun::of(&parse(".{3,}")).unwrap();
        assert!(run.is_match("abc"));
        assert!(run.is_match("x\nééé"));
        assert!(!run.is_match("ab\ncd"));
        assert!(!run.is_match("éé"));
    }

    #[test]
    fn inner_literals_of_sigma_regexes() {
        let literals = |p: &str| required_literals(&parse(p), 3);
        // SigmaHQ's WSASS rule: neither its start nor its end is literal
        // (and `(?i)s` ends a literal, see above).
        assert_eq!(
            literals(r#"(?i)\.exe["']?\s+[^"]{0,64}werfaultsecure\.exe["']?\s+\d{2,10}"#),
            Some(vec!["ecure.exe".to_owned()])
        );
        assert_eq!(literals("(?:powershell|pwsh).{0,20}-enc"), Some(vec!["powershell".to_owned(), "pwsh".to_owned()]));
        assert_eq!(literals("ab(cd|e)"), None);
        assert_eq!(literals("[0-9]+"), None);
        assert_eq!(literals("(?i)bus"), None, "(?i)s also matches ſ");
        assert_eq!(literals("(?i)kit"), Some(vec!["kit".to_owned()]), "the Kelvin sign lowercases to k");
        assert_eq!(literals("x(?:abc)?y"), None);
        assert_eq!(
            literals("(?:abcd){2}"),
            Some(vec!["abcdabcd".to_owned()].into_iter().take(0).chain(["abcd".to_owned()]).collect())
        );
    }

    /// Small regexes over a small alphabet, so matches are frequent.
    fn small_regex() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            "[abcAB]{1,4}",
            Just(".".to_owned()),
            Just("[ab]".to_owned()),
            Just("(?i:ab)".to_owned()),
            Just("[^a]".to_owned()),
        ];
        leaf.prop_recursive(3, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(|parts| parts.concat()),
                prop::collection::vec(inner.clone(), 2..4).prop_map(|alts| format!("(?:{})", alts.join("|"))),
                (inner.clone(), 0u32..3, 0u32..3)
                    .prop_map(|(r, min, extra)| format!("(?:{r}){{{min},{}}}", min + extra)),
                inner.clone().prop_map(|r| format!("(?:{r})*")),
                inner.prop_map(|r| format!("(?:{r})+")),
            ]
        })
    }

    proptest! {
        /// Whenever a regex matches, the lowercased text holds one of its
        /// required literals: the prefilter never hides a match.
        #[test]
        fn every_match_holds_a_required_literal(pattern in small_regex(), text in "[abcABſK\n ]{0,16}") {
            let hir = parse(&pattern);
            if let Some(literals) = required_literals(&hir, 1) {
                let re = Regex::new(&pattern).unwrap();
                if re.is_match(&text) {
                    let lower = text.to_lowercase();
                    prop_assert!(literals.iter().any(|l| lower.contains(l.as_str())), "{pattern:?} {literals:?} {text:?}");
                }
            }
        }

        /// The long-run shortcut says what the regex says.
        #[test]
        fn long_runs_agree_with_the_regex(n in 1usize..6, dotall in any::<bool>(), max in proptest::option::of(0usize..3), text in "[aé\n]{0,12}") {
            let pattern = format!("{}.{{{n},{}}}", if dotall { "(?s)" } else { "" }, max.map(|m| (n + m).to_string()).unwrap_or_default());
            let run = MinRun::of(&parse(&pattern)).unwrap();
            prop_assert_eq!(run.is_match(&text), Regex::new(&pattern).unwrap().is_match(&text));
        }
    }
}
