//! A compiled rule set as bytes and back: what the compiled-rule cache
//! stores (the app decides where the files live, what they are keyed by and
//! checks their integrity; see `ferret_app::rule_cache`).
//!
//! Loading skips everything compilation costs (YAML, modifiers, the
//! prefilter's requirements and automaton build, the routing indexes):
//! the bytes are postcard, the prefilter automaton is stored in
//! daachorse's own format, and regular expressions are compiled again from
//! their source.
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
use crate::ruleset::{Routed, RuleSet};
use crate::stored::ByteStr;

/// The rules (most of a file, and of the time loading it takes) are stored
/// in this many chunks, decoded in parallel with each other and with the
/// rest of the set.
const CHUNKS: usize = 32;

#[derive(Serialize)]
struct Storing<'a> {
    names: Vec<String>,
    /// How many rules the chunks hold (checked on loading: the indexes
    /// refer to rules by position).
    count: usize,
    /// The set without its rules, and the diagnostics: postcard.
    rest: ByteStr<'a>,
    /// Chunks of the rules, each postcard.
    rules: Vec<ByteStr<'a>>,
}

#[derive(Deserialize)]
struct Stored<'a> {
    names: Vec<String>,
    count: usize,
    #[serde(borrow)]
    rest: &'a [u8],
    #[serde(borrow)]
    rules: Vec<&'a [u8]>,
}

impl RuleSet {
    /// The rule set and the diagnostics its compilation gave, as bytes.
    pub fn to_bytes(&self, diagnostics: &[Diagnostic]) -> Vec<u8> {
        let rest = encode(&(self, diagnostics));
        let size = self.rules.len().div_ceil(CHUNKS).max(1);
        let chunks: Vec<Vec<u8>> = self.rules.par_chunks(size).map(|chunk| encode(&chunk)).collect();
        let storing = Storing {
            names: self.names().in_order(),
            count: self.rules.len(),
            rest: ByteStr(&rest),
            rules: chunks.iter().map(|c| ByteStr(c)).collect(),
        };
        encode(&storing)
    }

    /// Reads what [`RuleSet::to_bytes`] wrote, interning its field names
    /// into `names` (which must not hold other names first).
    pub fn from_bytes(bytes: &[u8], names: Arc<FieldNames>) -> Result<(RuleSet, Vec<Diagnostic>), String> {
        let unreadable = |e: postcard::Error| format!("unreadable rule set: {e}");
        let stored: Stored = postcard::from_bytes(bytes).map_err(unreadable)?;
        let (rest, rules) = rayon::join(
            || postcard::from_bytes::<(RuleSet, Vec<Diagnostic>)>(stored.rest),
            || {
                let chunks: Vec<Vec<Routed>> =
                    stored.rules.par_iter().map(|chunk| postcard::from_bytes(chunk)).collect::<Result<_, _>>()?;
                Ok(chunks.into_iter().flatten().collect::<Vec<Routed>>())
            },
        );
        let (mut set, diagnostics) = rest.map_err(unreadable)?;
        let rules = rules.map_err(unreadable)?;
        if rules.len() != stored.count {
            return Err(format!("{} rules stored, {} expected", rules.len(), stored.count));
        }
        set.set_rules(rules);
        if !names.restore(&stored.names) {
            return Err("the field names of this run do not match the stored ones".into());
        }
        set.set_names(names);
        Ok((set, diagnostics))
    }
}

fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("compiled rules serialize")
}
