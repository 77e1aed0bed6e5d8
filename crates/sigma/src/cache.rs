//! A compiled rule set as bytes and back: what the compiled-rule cache
//! stores (the app decides where the files live, what they are keyed by and
//! checks their integrity; see `ferret_app::rule_cache`).
//!
//! Loading skips everything compilation costs (YAML, modifiers, the
//! prefilter's requirements and automaton build, the routing indexes):
//! the bytes are postcard, the prefilter automata are stored in
//! daachorse's own format, and regular expressions are compiled again from
//! their source. Rules and automata are stored apart from the rest, and a
//! loaded set reads each from the file (which it shares) when an event
//! first needs it.
//!
//! Fields are interned symbols, meaningful only with the names they were
//! interned in: the names table is stored in interning order and restored
//! into the run's (fresh) interner, and a set whose names cannot get the
//! same indexes there is refused rather than misread.

use std::sync::Arc;

use ferret_model::FieldNames;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::lazy::LazyRule;
use crate::ruleset::{Routed, RuleSet};
use crate::stored::{ByteStr, Span, StoredFile};

/// The rules' routing entries (their shared route's index and the
/// EventIDs they require) are stored in this many chunks, decoded in
/// parallel with each other and with the rest of the set.
const CHUNKS: usize = 32;

#[derive(Serialize)]
struct Storing<'a> {
    names: Vec<String>,
    /// The set without its rules and searchers, and the diagnostics:
    /// postcard.
    rest: ByteStr<'a>,
    /// Chunks of the rules' routing entries (`Routed` without the rule),
    /// each postcard.
    routes: Vec<ByteStr<'a>>,
    /// Each rule, postcard: decoded when first used, from the file.
    rules: Vec<ByteStr<'a>>,
    /// The prefilter's automata, in daachorse's format: read when first
    /// searched with, from the file.
    searchers: Vec<ByteStr<'a>>,
}

#[derive(Deserialize)]
struct Stored<'a> {
    names: Vec<String>,
    #[serde(borrow)]
    rest: &'a [u8],
    #[serde(borrow)]
    routes: Vec<&'a [u8]>,
    #[serde(borrow)]
    rules: Vec<&'a [u8]>,
    #[serde(borrow)]
    searchers: Vec<&'a [u8]>,
}

impl RuleSet {
    /// The rule set and the diagnostics its compilation gave, as bytes.
    /// Panics if the set was compiled with the quick automaton (see
    /// [`RuleSet::compile_storable`]).
    pub fn to_bytes(&self, diagnostics: &[Diagnostic]) -> Vec<u8> {
        let rest = encode(&(self, diagnostics));
        let size = self.rules.len().div_ceil(CHUNKS).max(1);
        let (routes, rules): (Vec<Vec<u8>>, Vec<Vec<u8>>) = rayon::join(
            || self.rules.par_chunks(size).map(|chunk| encode(&chunk)).collect(),
            || self.rules.par_iter().map(|routed| routed.rule.to_bytes()).collect(),
        );
        let searchers = self.prefilter.searchers_to_bytes().expect("a stored set has storable automata");
        let storing = Storing {
            names: self.names().in_order(),
            rest: ByteStr(&rest),
            routes: routes.iter().map(|c| ByteStr(c)).collect(),
            rules: rules.iter().map(|r| ByteStr(r)).collect(),
            searchers: searchers.iter().map(|s| ByteStr(s)).collect(),
        };
        encode(&storing)
    }

    /// Reads what [`RuleSet::to_bytes`] wrote, from `file` starting at
    /// `start`, interning its field names into `names` (which must not
    /// hold other names first). The rules and automata stay in `file`
    /// until first used.
    ///
    /// `check` (the file's checksum) runs beside the decoding, and nothing
    /// decoded is kept, nor any name interned, unless it passes. Decoding
    /// damaged bytes is safe: an error or values that are thrown away.
    pub fn from_bytes(
        file: &StoredFile,
        start: usize,
        names: Arc<FieldNames>,
        check: impl FnOnce() -> Result<(), String> + Send,
    ) -> Result<(RuleSet, Vec<Diagnostic>), String> {
        let (checked, decoded) = rayon::join(check, || decode(file, start));
        checked?;
        let (mut set, diagnostics, stored_names) = decoded?;
        if !names.restore(&stored_names) {
            return Err("the field names of this run do not match the stored ones".into());
        }
        set.set_names(names);
        Ok((set, diagnostics))
    }
}

/// The set stored in `file` from `start`, its diagnostics and its field
/// names (in interning order).
fn decode(file: &StoredFile, start: usize) -> Result<(RuleSet, Vec<Diagnostic>, Vec<String>), String> {
    let unreadable = |e: postcard::Error| format!("unreadable rule set: {e}");
    let bytes = (**file).as_ref().get(start..).ok_or("the rule set starts past the end of its file")?;
    let stored: Stored = postcard::from_bytes(bytes).map_err(unreadable)?;
    let (rest, routes) = rayon::join(
        || postcard::from_bytes::<(RuleSet, Vec<Diagnostic>)>(stored.rest),
        || {
            let chunks: Vec<Vec<Routed>> =
                stored.routes.par_iter().map(|chunk| postcard::from_bytes(chunk)).collect::<Result<_, _>>()?;
            Ok(chunks.into_iter().flatten().collect::<Vec<Routed>>())
        },
    );
    let (mut set, diagnostics) = rest.map_err(unreadable)?;
    let mut routes = routes.map_err(unreadable)?;
    if routes.len() != stored.rules.len() {
        return Err(format!("{} rules stored, {} routes", stored.rules.len(), routes.len()));
    }
    let span = |part: &[u8]| Span::within(file, part).ok_or("stored bytes outside their file");
    for (routed, rule) in routes.iter_mut().zip(&stored.rules) {
        routed.rule = LazyRule::stored(span(rule)?);
    }
    set.set_rules(routes);
    set.prefilter.set_searchers(stored.searchers.iter().map(|s| span(s)).collect::<Result<_, _>>()?)?;
    Ok((set, diagnostics, stored.names))
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("compiled rules serialize")
}
