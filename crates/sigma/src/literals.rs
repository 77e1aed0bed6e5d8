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
//!
//! A loaded automaton stays in its stored bytes until a value is first
//! searched with it: a hunt only searches the fields its events have, and
//! reading every field's automaton was a fifth of the instructions of a
//! start-up from the cache.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use daachorse::{DoubleArrayAhoCorasick, DoubleArrayAhoCorasickBuilder};

use crate::stored::Span;

/// Which automaton to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// Quick to build, not storable.
    Quick,
    /// Storable, and faster to search.
    Storable,
    /// Storable, with daachorse's 2-gram filter, which skips the parts of
    /// the text where no literal can start: for the large keyword sets,
    /// searched over whole raw lines (see `keywords`).
    Filtered,
}

/// An automaton over distinct, non-empty literals; pattern `i` is
/// `literals[i]`.
pub(crate) enum Literals {
    Quick(AhoCorasick),
    Storable(DoubleArrayAhoCorasick<u32>),
    /// Loaded: read from its stored bytes on first use.
    Stored {
        bytes: Span,
        automaton: OnceLock<DoubleArrayAhoCorasick<u32>>,
    },
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
                    // Left to choose, it builds a DFA for the smaller
                    // automata: slower to build, for a set used once.
                    .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
                    .build(literals)
                    .expect("needles build an automaton"),
            ),
            Engine::Storable | Engine::Filtered => Literals::Storable(
                DoubleArrayAhoCorasickBuilder::new()
                    .match_kind(daachorse::MatchKind::Standard)
                    // Its 2-gram filter takes 64 KiB per automaton: for
                    // the field automata (one per field, 9 MB more for the
                    // SigmaHQ corpus) it made searching no faster over the
                    // EVTX samples; for the syslog keyword sets, 2% fewer
                    // instructions and 3-4% less time.
                    .use_prefilter(engine == Engine::Filtered)
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
            Literals::Storable(automaton) => search(automaton, haystack, found),
            Literals::Stored { bytes, automaton } => {
                let automaton =
                    automaton.get_or_init(|| read(bytes.bytes()).expect("the automaton this executable stored"));
                search(automaton, haystack, found)
            }
        }
    }

    /// The automaton as bytes; `None` for the quick engine.
    pub(crate) fn to_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Literals::Quick(_) => None,
            Literals::Storable(automaton) => Some(automaton.serialize()),
            Literals::Stored { bytes, .. } => Some(bytes.bytes().to_vec()),
        }
    }

    /// Loads what [`Literals::to_bytes`] wrote, as bytes read when first
    /// searched with. The bytes are those this executable wrote: the
    /// compiled-rule cache keeps nothing of a file whose checksum does not
    /// hold (and is keyed on the executable), and daachorse's validating
    /// reader then reads them.
    pub(crate) fn stored(bytes: Span) -> Literals {
        Literals::Stored { bytes, automaton: OnceLock::new() }
    }
}

#[inline]
fn search(automaton: &DoubleArrayAhoCorasick<u32>, haystack: &[u8], mut found: impl FnMut(usize, usize)) {
    for m in automaton.find_overlapping_iter(haystack) {
        found(m.start(), m.value() as usize);
    }
}

/// daachorse's validating reader: damaged bytes are an error, never
/// undefined behaviour.
fn read(bytes: &[u8]) -> Result<DoubleArrayAhoCorasick<u32>, String> {
    let (automaton, rest) = DoubleArrayAhoCorasick::<u32>::deserialize(bytes).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} trailing bytes after the automaton", rest.len()));
    }
    Ok(automaton)
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
    fn every_engine_reports_every_overlapping_occurrence() {
        let needles = ["cmd.exe", "\\cmd.exe", "exe", "whoami"];
        let want = vec![(0, 1), (1, 0), (5, 2), (14, 2)];
        for engine in [Engine::Quick, Engine::Storable, Engine::Filtered] {
            let literals = Literals::build(&needles, engine).unwrap();
            assert_eq!(found(&literals, "\\cmd.exe /c x.exe"), want, "{engine:?}");
        }
        let stored = Literals::build(&needles, Engine::Storable).unwrap().to_bytes().unwrap();
        let file: crate::stored::StoredFile = std::sync::Arc::new(stored.clone());
        let loaded = Literals::stored(crate::stored::Span::within(&file, (*file).as_ref()).unwrap());
        assert_eq!(loaded.to_bytes().unwrap(), stored, "stored again as loaded");
        assert_eq!(found(&loaded, "\\cmd.exe /c x.exe"), want);
        assert_eq!(found(&loaded, "whoami"), vec![(0, 3)], "searched again once read");
        assert!(Literals::build(&needles, Engine::Quick).unwrap().to_bytes().is_none());
        assert!(Literals::build::<&str>(&[], Engine::Quick).is_none());
    }

    #[test]
    fn damaged_bytes_are_an_error() {
        let bytes = Literals::build(&["mimikatz", "sekurlsa"], Engine::Storable).unwrap().to_bytes().unwrap();
        assert!(read(&bytes).is_ok());
        assert!(read(&bytes[..bytes.len() / 2]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&longer).is_err());
    }
}
