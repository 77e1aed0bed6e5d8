//! Value modifiers: `field|mod1|mod2` applied in the order written, with
//! the chain checks of SIGMA.md §1.5. A raw value becomes an OR-group of
//! patterns (expanding modifiers such as `windash` and `base64offset` make
//! several); `all` then ANDs the groups.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferret_model::value::Num;
use ipnet::IpNet;
use regex::Regex;

use crate::diagnostic::Code;
use crate::pattern::{CmpOp, Pattern, RefMode, StrMatch, TimePart};
use crate::string::{Part, SigmaString};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Cased,
    Exists,
    Neq,
    Windash,
    Re,
    ReI,
    ReM,
    ReS,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Wide,
    Cidr,
    Cmp(CmpOp),
    FieldRef,
    Expand,
    TimePart(TimePart),
}

impl Modifier {
    pub fn parse(name: &str) -> Option<Modifier> {
        use Modifier::*;
        Some(match name {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "cased" => Cased,
            "exists" => Exists,
            "neq" => Neq,
            "windash" => Windash,
            "re" => Re,
            "i" | "ignorecase" => ReI,
            "m" | "multiline" => ReM,
            "s" | "dotall" => ReS,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "utf16le" => Utf16Le,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "wide" => Wide,
            "cidr" => Cidr,
            "lt" => Cmp(CmpOp::Lt),
            "lte" => Cmp(CmpOp::Lte),
            "gt" => Cmp(CmpOp::Gt),
            "gte" => Cmp(CmpOp::Gte),
            "fieldref" => FieldRef,
            "expand" => Expand,
            "minute" => TimePart(crate::pattern::TimePart::Minute),
            "hour" => TimePart(crate::pattern::TimePart::Hour),
            "day" => TimePart(crate::pattern::TimePart::Day),
            "week" => TimePart(crate::pattern::TimePart::Week),
            "month" => TimePart(crate::pattern::TimePart::Month),
            "year" => TimePart(crate::pattern::TimePart::Year),
            _ => return None,
        })
    }
}

/// A modifier problem: the diagnostic code and the message.
pub type ModError = (Code, String);

/// The modifiers of one detection key, checked as a chain.
#[derive(Clone, Debug, Default)]
pub struct Chain {
    pub mods: Vec<Modifier>,
    pub all: bool,
    pub negate: bool,
    pub cased: bool,
}

impl Chain {
    pub fn parse(names: &[&str]) -> Result<Chain, ModError> {
        let mut chain = Chain::default();
        for name in names {
            let Some(m) = Modifier::parse(name) else {
                return Err((Code::UnknownModifier, format!("unknown modifier '{name}'")));
            };
            match m {
                Modifier::All => chain.all = true,
                Modifier::Neq => chain.negate = true,
                Modifier::Cased => chain.cased = true,
                _ => {}
            }
            chain.mods.push(m);
        }
        let first_only = |m: Modifier, what: &str| -> Result<(), ModError> {
            match chain.mods.iter().position(|x| *x == m) {
                Some(i)
                    if chain.mods[..i]
                        .iter()
                        .any(|x| !matches!(x, Modifier::All | Modifier::Neq | Modifier::Cased)) =>
                {
                    Err((Code::InvalidModifierChain, format!("'{what}' must come first in the modifier chain")))
                }
                _ => Ok(()),
            }
        };
        first_only(Modifier::Re, "re")?;
        first_only(Modifier::Cidr, "cidr")?;
        first_only(Modifier::Exists, "exists")?;
        let has = |m: Modifier| chain.mods.contains(&m);
        if (has(Modifier::ReI) || has(Modifier::ReM) || has(Modifier::ReS)) && !has(Modifier::Re) {
            return Err((Code::InvalidModifierChain, "regex flags i, m and s need 're'".into()));
        }
        Ok(chain)
    }

    fn has(&self, m: Modifier) -> bool {
        self.mods.contains(&m)
    }
}

/// A value on its way through the chain: text with wildcards, or bytes
/// after a UTF-16 encoding (only meaningful before base64).
#[derive(Clone, Debug)]
enum Stage {
    Text(SigmaString),
    Bytes(Vec<u8>),
}

/// The raw rule value: its text, and whether YAML wrote it as `null`.
pub struct RawValue<'a> {
    pub text: &'a str,
    pub null: bool,
}

/// Compiles one raw value through the chain into an OR-group of patterns.
/// `resolve_field` interns the field a `fieldref` names.
pub fn compile_value(
    chain: &Chain,
    value: &RawValue<'_>,
    placeholders: &HashMap<String, Vec<String>>,
    resolve_field: &mut dyn FnMut(&str) -> ferret_model::Field,
) -> Result<Vec<Pattern>, ModError> {
    if value.null {
        if chain.mods.iter().any(|m| !matches!(m, Modifier::All | Modifier::Neq)) {
            return Err((Code::InvalidValue, "null cannot take value modifiers".into()));
        }
        return Ok(vec![Pattern::Null]);
    }
    let text = value.text;
    if chain.has(Modifier::Exists) {
        return match text {
            "true" | "True" | "TRUE" => Ok(vec![Pattern::Exists(true)]),
            "false" | "False" | "FALSE" => Ok(vec![Pattern::Exists(false)]),
            _ => Err((Code::InvalidValue, format!("'exists' takes true or false, not '{text}'"))),
        };
    }
    if chain.has(Modifier::Re) {
        return compile_regex(chain, text).map(|re| vec![Pattern::Regex(crate::pattern::LazyRegex::new(re))]);
    }
    if chain.has(Modifier::Cidr) {
        let net: IpNet = text.parse().map_err(|_| (Code::InvalidValue, format!("'{text}' is not a CIDR network")))?;
        if net.trunc() != net {
            return Err((Code::InvalidValue, format!("'{text}' has host bits set (did you mean {}?)", net.trunc())));
        }
        return Ok(vec![Pattern::Cidr(net)]);
    }
    let compare = chain.mods.iter().find_map(|m| match m {
        Modifier::Cmp(op) => Some(*op),
        _ => None,
    });
    if let Some(part) = chain.mods.iter().find_map(|m| match m {
        Modifier::TimePart(p) => Some(*p),
        _ => None,
    }) {
        let n = Num::parse(text)
            .ok_or((Code::InvalidValue, format!("a time-part modifier needs a number, not '{text}'")))?;
        return Ok(vec![Pattern::TimePart(part, compare, n)]);
    }
    if let Some(op) = compare {
        let n =
            Num::parse(text).ok_or((Code::InvalidValue, format!("numeric comparison needs a number, not '{text}'")))?;
        return Ok(vec![Pattern::Compare(op, n)]);
    }
    if chain.has(Modifier::FieldRef) {
        if text.contains(['*', '?']) {
            return Err((Code::InvalidValue, format!("'fieldref' names a field; '{text}' has wildcards")));
        }
        let mode = chain
            .mods
            .iter()
            .find_map(|m| match m {
                Modifier::Contains => Some(RefMode::Contains),
                Modifier::StartsWith => Some(RefMode::Prefix),
                Modifier::EndsWith => Some(RefMode::Suffix),
                _ => None,
            })
            .unwrap_or(RefMode::Equal);
        return Ok(vec![Pattern::FieldRef { field: resolve_field(text), mode, cased: chain.cased }]);
    }
    let texts = if chain.has(Modifier::Expand) { expand(text, placeholders)? } else { vec![text.to_owned()] };
    let mut stages: Vec<Stage> = texts.iter().map(|t| Stage::Text(SigmaString::parse(t))).collect();
    for m in &chain.mods {
        stages = apply(*m, stages)?;
    }
    let number =
        if chain.mods.iter().all(|m| matches!(m, Modifier::All | Modifier::Neq)) { Num::parse(text) } else { None };
    stages
        .into_iter()
        .map(|stage| match stage {
            Stage::Text(s) => Ok(string_pattern(&s, chain.cased, number)),
            Stage::Bytes(_) => {
                Err((Code::InvalidModifierChain, "UTF-16 encoding must be followed by base64 or base64offset".into()))
            }
        })
        .collect()
}

fn apply(m: Modifier, stages: Vec<Stage>) -> Result<Vec<Stage>, ModError> {
    let chain_err = |what: &str| (Code::InvalidModifierChain, what.to_owned());
    let mut out = Vec::with_capacity(stages.len());
    for stage in stages {
        match (m, stage) {
            (Modifier::Contains, Stage::Text(mut s)) => {
                s.prepend_any();
                s.append_any();
                out.push(Stage::Text(s));
            }
            (Modifier::StartsWith, Stage::Text(mut s)) => {
                s.append_any();
                out.push(Stage::Text(s));
            }
            (Modifier::EndsWith, Stage::Text(mut s)) => {
                s.prepend_any();
                out.push(Stage::Text(s));
            }
            (Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith, Stage::Bytes(_)) => {
                return Err(chain_err("UTF-16 bytes must be base64-encoded before contains/startswith/endswith"));
            }
            (Modifier::Windash, Stage::Text(s)) => out.extend(windash(&s).into_iter().map(Stage::Text)),
            (Modifier::Utf16Le | Modifier::Wide | Modifier::Utf16Be | Modifier::Utf16, Stage::Text(s)) => {
                let text = s
                    .as_plain()
                    .ok_or_else(|| chain_err("UTF-16 encoding of a value with wildcards is not possible"))?;
                let mut bytes = Vec::new();
                if m == Modifier::Utf16 {
                    bytes.extend_from_slice(&[0xFF, 0xFE]);
                }
                for unit in text.encode_utf16() {
                    let pair = if m == Modifier::Utf16Be { unit.to_be_bytes() } else { unit.to_le_bytes() };
                    bytes.extend_from_slice(&pair);
                }
                out.push(Stage::Bytes(bytes));
            }
            (Modifier::Base64 | Modifier::Base64Offset, stage) => {
                let bytes = match stage {
                    Stage::Bytes(b) => b,
                    Stage::Text(s) => s
                        .as_plain()
                        .ok_or_else(|| {
                            (Code::InvalidValue, "base64 encoding of a value with wildcards is not allowed".to_owned())
                        })?
                        .into_bytes(),
                };
                if m == Modifier::Base64 {
                    out.push(Stage::Text(SigmaString::literal(STANDARD.encode(&bytes))));
                } else {
                    out.extend(base64_offsets(&bytes).into_iter().map(|v| Stage::Text(SigmaString::literal(v))));
                }
            }
            (
                Modifier::Utf16Le | Modifier::Wide | Modifier::Utf16Be | Modifier::Utf16 | Modifier::Windash,
                Stage::Bytes(_),
            ) => {
                return Err(chain_err("a value can be encoded only once"));
            }
            // Modifiers that shape the item, not the value.
            (_, stage) => out.push(stage),
        }
    }
    Ok(out)
}

/// Replaces each `%name%` placeholder by each of its configured values
/// (the cartesian product of variants, ORed); `\%` is a literal `%`. An
/// unknown placeholder rejects the rule, as the specification requires.
fn expand(text: &str, placeholders: &HashMap<String, Vec<String>>) -> Result<Vec<String>, ModError> {
    let mut variants = vec![String::new()];
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\%") {
            variants.iter_mut().for_each(|v| v.push('%'));
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix('%')
            && let Some(end) = after.find('%')
        {
            let name = &after[..end];
            let values = placeholders.get(name).ok_or_else(|| {
                (
                    Code::UnresolvedPlaceholder,
                    format!(
                        "placeholder '%{name}%' has no values; define it under 'placeholders:' in a --mappings file"
                    ),
                )
            })?;
            variants = variants.iter().flat_map(|v| values.iter().map(move |value| format!("{v}{value}"))).collect();
            rest = &after[end + 1..];
            continue;
        }
        let c = rest.chars().next().expect("not empty");
        variants.iter_mut().for_each(|v| v.push(c));
        rest = &rest[c.len_utf8()..];
    }
    Ok(variants)
}

/// The three Base64 forms of `bytes` at offsets 0, 1 and 2 of a stream,
/// trimmed to the characters that do not depend on neighbouring bytes.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|i| {
            let mut padded = vec![b' '; i];
            padded.extend_from_slice(bytes);
            let encoded = STANDARD.encode(&padded);
            let end = match (bytes.len() + i) % 3 {
                0 => encoded.len(),
                r => encoded.len() - END_TRIM[r],
            };
            encoded.get(START[i]..end).unwrap_or_default().to_owned()
        })
        .collect()
}

/// The dashes `windash` substitutes for a leading `-` or `/`.
const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Every variant of `s` with each `-`/`/` that starts a word (no word
/// character before it, one after it) replaced by each of [`DASHES`].
fn windash(s: &SigmaString) -> Vec<SigmaString> {
    let mut variants = vec![SigmaString(Vec::new())];
    let parts = &s.0;
    for (index, part) in parts.iter().enumerate() {
        let Part::Text(text) = part else {
            variants.iter_mut().for_each(|v| v.0.push(part.clone()));
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let mut pieces: Vec<String> = vec![String::new()];
        for (i, &c) in chars.iter().enumerate() {
            let before_is_word =
                if i > 0 { is_word(chars[i - 1]) } else { index > 0 && ends_with_word(&parts[index - 1]) };
            let after_is_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
            if matches!(c, '-' | '/') && !before_is_word && after_is_word {
                pieces = pieces.into_iter().flat_map(|p| DASHES.iter().map(move |d| format!("{p}{d}"))).collect();
            } else {
                pieces.iter_mut().for_each(|p| p.push(c));
            }
        }
        variants = variants
            .into_iter()
            .flat_map(|v| {
                pieces.iter().map(move |p| {
                    let mut v = v.clone();
                    v.0.push(Part::Text(p.clone()));
                    v
                })
            })
            .collect();
    }
    variants
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ends_with_word(part: &Part) -> bool {
    matches!(part, Part::Text(t) if t.chars().last().is_some_and(is_word))
}

fn compile_regex(chain: &Chain, text: &str) -> Result<Regex, ModError> {
    let mut flags = String::new();
    if chain.has(Modifier::ReI) {
        flags.push('i');
    }
    if chain.has(Modifier::ReM) {
        flags.push('m');
    }
    if chain.has(Modifier::ReS) {
        flags.push('s');
    }
    let pattern = crate::regex_dialect::to_rust(text);
    let pattern = if flags.is_empty() { pattern } else { format!("(?{flags}){pattern}") };
    Regex::new(&pattern).map_err(|e| (Code::InvalidValue, format!("invalid regular expression: {e}")))
}

/// The cheapest matcher for a wildcard string.
pub fn string_pattern(s: &SigmaString, cased: bool, number: Option<Num>) -> Pattern {
    let fold = |t: &str| if cased { t.to_owned() } else { t.to_lowercase() };
    let matcher = match s.0.as_slice() {
        [] => StrMatch::Exact(String::new()),
        [Part::Text(t)] => StrMatch::Exact(fold(t)),
        [Part::AnyRun] => StrMatch::Prefix(String::new()),
        [Part::Text(t), Part::AnyRun] => StrMatch::Prefix(fold(t)),
        [Part::AnyRun, Part::Text(t)] => StrMatch::Suffix(fold(t)),
        [Part::AnyRun, Part::Text(t), Part::AnyRun] => {
            StrMatch::Contains(crate::pattern::Substring::new(fold(t).as_bytes()))
        }
        parts => StrMatch::Glob(crate::glob::Glob::new(parts, fold)),
    };
    Pattern::Str { matcher, cased, number }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variants(chain: &[&str], value: &str) -> Vec<String> {
        let chain = Chain::parse(chain).unwrap();
        let mut stages = vec![Stage::Text(SigmaString::parse(value))];
        for m in &chain.mods {
            stages = apply(*m, stages).unwrap();
        }
        stages
            .into_iter()
            .map(|s| match s {
                Stage::Text(s) => s.display(),
                Stage::Bytes(b) => format!("{b:?}"),
            })
            .collect()
    }

    #[test]
    fn base64offset_matches_the_reference_variants() {
        assert_eq!(variants(&["base64offset"], "IEX ("), ["SUVYIC", "lFWCAo", "JRVggK"].map(String::from), "EC-19");
        assert_eq!(
            variants(&["utf16", "base64offset"], "ab"),
            ["//5hAGIA", "/+YQBiA", "//mEAYg"].map(String::from),
            "EC-21"
        );
        assert_eq!(variants(&["base64"], "ping"), ["cGluZw=="], "EC-22");
    }

    #[test]
    fn windash_expands_word_initial_dashes_only() {
        let v = variants(&["windash"], " -exec-policy /x");
        assert_eq!(v.len(), 25, "two positions, five dashes each: EC-17");
        assert!(v.contains(&" /exec-policy -x".to_owned()));
        assert!(v.iter().all(|s| s.contains("exec-policy")));
        assert_eq!(variants(&["windash"], "findstr"), ["findstr"]);
    }

    #[test]
    fn chain_checks() {
        assert_eq!(Chain::parse(&["contains", "re"]).unwrap_err().0, Code::InvalidModifierChain);
        assert_eq!(Chain::parse(&["Contains"]).unwrap_err().0, Code::UnknownModifier);
        assert!(Chain::parse(&["re", "i"]).is_ok());
        assert!(Chain::parse(&["i"]).is_err());
        let field = &mut |_: &str| -> ferret_model::Field { unreachable!() };
        let chain = Chain::parse(&["cidr"]).unwrap();
        let err = compile_value(&chain, &RawValue { text: "192.168.1.1/24", null: false }, &HashMap::new(), field)
            .unwrap_err();
        assert!(err.1.contains("host bits"), "{err:?}");
        let chain = Chain::parse(&["contains", "base64offset"]).unwrap();
        assert_eq!(
            compile_value(&chain, &RawValue { text: "x", null: false }, &HashMap::new(), field).unwrap_err().0,
            Code::InvalidValue
        );
    }
}
