//! Matchers built when an event first needs them, not when the rule is
//! compiled or loaded: most rules never see an event that reaches these
//! checks (the prefilter skips them), and building them all made up most
//! of loading a cached rule set.

use std::sync::OnceLock;

use memchr::memmem::Finder;
use regex::Regex;

use crate::regex_facts::MinRun;
use crate::stored::Span;

/// A `|re` value: compiled when the rule is (to report a bad one), and
/// kept with its source so that a rule set loaded from the compiled-rule
/// cache compiles it again only when an event first reaches it.
#[derive(Clone, Debug)]
pub struct LazyRegex {
    source: Box<str>,
    compiled: OnceLock<Regex>,
    /// Set when the regex only asks for a long enough run of characters:
    /// counted instead of run.
    run: Option<MinRun>,
}

impl LazyRegex {
    pub fn new(regex: Regex) -> Self {
        let run = regex_syntax::Parser::new().parse(regex.as_str()).ok().and_then(|hir| MinRun::of(&hir));
        LazyRegex { source: regex.as_str().into(), compiled: OnceLock::from(regex), run }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_match(&self, text: &str) -> bool {
        if let Some(run) = &self.run {
            return run.is_match(text);
        }
        self.compiled
            .get_or_init(|| {
                // The source compiled when the rule was compiled, by this
                // same executable (the cache is keyed on it), and loading
                // checked its syntax again.
                Regex::new(&self.source).expect("a stored regex compiled before")
            })
            .is_match(text)
    }
}

impl serde::Serialize for LazyRegex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for LazyRegex {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<LazyRegex, D::Error> {
        use serde::de::Error;
        let source = String::deserialize(deserializer)?;
        let hir =
            regex_syntax::Parser::new().parse(&source).map_err(|e| D::Error::custom(format!("stored regex: {e}")))?;
        Ok(LazyRegex { source: source.into(), compiled: OnceLock::new(), run: MinRun::of(&hir) })
    }
}

/// A `|contains` value: the substring searcher is built on first use.
#[derive(Clone, Debug)]
pub struct Substring {
    needle: Box<[u8]>,
    /// Boxed: a searcher is a few hundred bytes, and patterns are many.
    finder: OnceLock<Box<Finder<'static>>>,
}

impl Substring {
    pub fn new(needle: &[u8]) -> Self {
        Substring { needle: needle.into(), finder: OnceLock::new() }
    }

    pub fn needle(&self) -> &[u8] {
        &self.needle
    }

    pub fn is_in(&self, haystack: &[u8]) -> bool {
        self.finder.get_or_init(|| Box::new(Finder::new(&self.needle).into_owned())).find(haystack).is_some()
    }
}

impl serde::Serialize for Substring {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.needle)
    }
}

impl<'de> serde::Deserialize<'de> for Substring {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Substring, D::Error> {
        crate::stored::bytes(deserializer, |needle| Ok(Substring::new(needle)))
    }
}

/// A rule's metadata and detection. A rule set loaded from the
/// compiled-rule cache keeps each rule as its stored bytes and decodes it
/// when an event first reaches its detection or an alert names it: most
/// rules of a corpus never are in one hunt, and decoding them all was most
/// of loading a cached set.
#[derive(Debug, Default)]
pub(crate) struct LazyRule {
    rule: OnceLock<crate::rule::Rule>,
    /// The postcard bytes of the rule, for a loaded set. A default
    /// `LazyRule` has neither: the cache gives each loaded rule its bytes
    /// (they are stored apart from the rest of the set).
    stored: Option<Span>,
}

impl LazyRule {
    pub(crate) fn new(rule: crate::rule::Rule) -> Self {
        LazyRule { rule: OnceLock::from(rule), stored: None }
    }

    /// A rule decoded from `stored` when first used.
    pub(crate) fn stored(stored: Span) -> Self {
        LazyRule { rule: OnceLock::new(), stored: Some(stored) }
    }

    pub(crate) fn get(&self) -> &crate::rule::Rule {
        self.rule.get_or_init(|| {
            let bytes = self.stored.as_ref().expect("a rule is either compiled or stored").bytes();
            // The bytes were written by this same executable (the cache is
            // keyed on it) and passed the file's checksum when loaded.
            postcard::from_bytes(bytes).expect("a stored rule decodes")
        })
    }

    /// The rule's postcard bytes, as stored.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        match &self.stored {
            Some(span) => span.bytes().to_vec(),
            None => postcard::to_stdvec(self.get()).expect("a compiled rule serializes"),
        }
    }
}
