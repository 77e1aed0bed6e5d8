//! The prefilter's multi-literal searcher, in one of two engines that find
//! exactly the same occurrences:
//!
//! - `aho-corasick`'s contiguous NFA builds fast (~50 ms for the SigmaHQ
//!   corpus's 22,864 needles) and is used when the rules are compiled for
//!   one run;
//! - daachorse's double-array automaton builds slower (~130 ms) but
//!   searches lowercased event text about 1.3 times as fast and can be
//!   written to bytes and loaded back in milliseconds: it is used when the
//!   compiled rules go to the compiled-rule cache, and by every run that
//!   loads them from it (bench/RESULTS.md has the figures).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use daachorse::{DoubleArrayAhoCorasick, DoubleArrayAhoCorasickBuilder};

/// Which automaton to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Quick to build, not storable.
    Quick,
    /// Storable, and faster to search.
    Storable,
}

/// An automaton over distinct, non-empty literals; pattern `i` is
/// `literals[i]`.
pub(crate) enum Literals {
    Quick(AhoCorasick),
    Storable(DoubleArrayAhoCorasick<u32>),
}

impl Literals {
    /// `None` when there is nothing to search for.
    pub(crate) fn build<L: AsRef<[u8]>>(literals: &[L], engine: Engine) -> Option<Literals> {
        if literals.is_empty() {
            return None;
        }
        Some(match engine {
            Engine::Quick => Literals::Quick(
                AhoCorasickBuilder::new()
                    .match_kind(aho_corasick::MatchKind::Standard)
                    .build(literals)
                    .expect("needles build an automaton"),
            ),
            Engine::Storable => Literals::Storable(
                DoubleArrayAhoCorasickBuilder::new()
                    .match_kind(daachorse::MatchKind::Standard)
                    // Its 2-gram filter takes 64 KiB per automaton (one per
                    // field: 9 MB more for the SigmaHQ corpus) and made
                    // searching no faster over the EVTX samples.
                    .use_prefilter(false)
                    .build(literals)
                    .expect("distinct non-empty needles build an automaton"),
            ),
        })
    }

    /// Calls `found(start, pattern)` for every occurrence of every literal
    /// in `haystack`, overlapping ones included.
    #[inline]
    pub(crate) fn for_each(&self, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
        match self {
            Literals::Quick(automaton) => {
                for m in automaton.find_overlapping_iter(haystack) {
                    found(m.start(), m.pattern().as_usize());
                }
            }
            Literals::Storable(automaton) => {
                for m in automaton.find_overlapping_iter(haystack) {
                    found(m.start(), m.value() as usize);
                }
            }
        }
    }

    /// The automaton as bytes; `None` for the quick engine.
    pub(crate) fn to_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Literals::Quick(_) => None,
            Literals::Storable(automaton) => Some(automaton.serialize()),
        }
    }

    /// Loads what [`Literals::to_bytes`] wrote, checking its structure
    /// (daachorse's validating reader: a damaged file is an error, never
    /// undefined behaviour).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Literals, String> {
        let (automaton, rest) = DoubleArrayAhoCorasick::<u32>::deserialize(bytes).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err(format!("{} trailing bytes after the automaton", rest.len()));
        }
        Ok(Literals::Storable(automaton))
    }
}

impl serde::Serialize for Literals {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self
            .to_bytes()
            .ok_or_else(|| serde::ser::Error::custom("the rules were compiled with the quick, unstorable automaton"))?;
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> serde::Deserialize<'de> for Literals {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Literals, D::Error> {
        crate::stored::bytes(deserializer, Literals::from_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(literals: &Literals, haystack: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        literals.for_each(haystack.as_bytes(), |start, pattern| out.push((start, pattern)));
        out.sort();
        out
    }

    #[test]
    fn both_engines_report_every_overlapping_occurrence() {
        let needles = ["cmd.exe", "\\cmd.exe", "exe", "whoami"];
        let want = vec![(0, 1), (1, 0), (5, 2), (14, 2)];
        for engine in [Engine::Quick, Engine::Storable] {
            let literals = Literals::build(&needles, engine).unwrap();
            assert_eq!(found(&literals, "\\cmd.exe /c x.exe"), want, "{engine:?}");
        }
        let stored = Literals::build(&needles, Engine::Storable).unwrap().to_bytes().unwrap();
        assert_eq!(found(&Literals::from_bytes(&stored).unwrap(), "\\cmd.exe /c x.exe"), want);
        assert!(Literals::build(&needles, Engine::Quick).unwrap().to_bytes().is_none());
        assert!(Literals::build::<&str>(&[], Engine::Quick).is_none());
    }

    #[test]
    fn damaged_bytes_are_an_error() {
        let bytes = Literals::build(&["mimikatz", "sekurlsa"], Engine::Storable).unwrap().to_bytes().unwrap();
        assert!(Literals::from_bytes(&bytes[..bytes.len() / 2]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Literals::from_bytes(&longer).is_err());
    }
}
