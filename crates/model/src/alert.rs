//! Alerts: what a detection produced.
//!
//! # JSON Lines schema (`ferret hunt --format jsonl`)
//!
//! One object per line, in a deterministic order: input by input (paths
//! sorted), in record order within an input, then rule order:
//!
//! ```json
//! {
//!   "timestamp": "2026-11-28T03:14:07Z",        // event time (UTC, RFC 3339) or null
//!   "rule": {
//!     "id": "5f0c…",                            // the rule's `id`
//!     "title": "Successful SSH login as root",
//!     "level": "high",                          // informational|low|medium|high|critical
//!     "status": "stable",                       // the rule's `status`, or null
//!     "tags": ["attack.initial_access", "attack.t1078.003"],
//!     "attack": ["T1078.003"],                  // ATT&CK technique ids from the tags
//!     "source": "builtin:linux/ssh_root_login.yml" // rule file
//!   },
//!   "host": "web-01",                           // Computer / hostname, or null
//!   "matched": [{"field": "user.name", "value": "root"}],
//!   "provenance": {"source": "examples/web-01/auth.log", "line": 42}
//! }
//! ```
//!
//! With `--explain`, an `explanation` object is added: the parsed
//! `condition`, and for each selection its name, whether it `matched`, and
//! its items (`key` with modifiers, `rule_values`, the `event_value` that
//! satisfied it, `matched`).
//!
//! `provenance` holds exactly one of `record` (EVTX EventRecordID), `line`
//! (1-based) or `offset` (byte offset) beside `source`; a file inside an
//! archive is named `archive.zip!member`. Fields may be added in later
//! versions; existing ones keep their meaning.

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::{Location, Provenance, Timestamp};

/// Sigma's rule levels, in increasing severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 5] = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| format!("unknown level '{s}' (expected one of informational, low, medium, high, critical)"))
    }
}

/// A field of the event that took part in the match, with its value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MatchedField {
    pub field: String,
    pub value: String,
}

/// The rule metadata an alert carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertRule {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub attack: Vec<String>,
    pub source: String,
}

/// One detection on one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub timestamp: Option<Timestamp>,
    /// Shared by every alert of the rule (not copied per alert).
    pub rule: std::sync::Arc<AlertRule>,
    pub host: Option<String>,
    pub matched: Vec<MatchedField>,
    pub provenance: Provenance,
    /// Why the rule fired, when the hunt was asked to explain (`--explain`).
    pub explanation: Option<crate::Explanation>,
    /// What a correlation rule saw (correlation alerts only).
    pub correlation: Option<Box<crate::Correlated>>,
}

impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.serialize_with_rule(&*self.rule, s)
    }
}

impl Alert {
    /// The alert as [`Serialize`] writes it, with `rule` written in place
    /// of its rule object: a sink writing many alerts of one rule can
    /// serialize that object once (serde_json's `RawValue`), which is
    /// about half of each JSON line.
    pub fn serialize_with_rule<R: Serialize, S: Serializer>(&self, rule: R, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Json<'a, R> {
            #[serde(serialize_with = "serialize_time")]
            timestamp: Option<&'a Timestamp>,
            rule: R,
            host: Option<&'a str>,
            matched: &'a [MatchedField],
            provenance: ProvenanceJson<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            explanation: Option<&'a crate::Explanation>,
            #[serde(skip_serializing_if = "Option::is_none")]
            correlation: Option<&'a crate::Correlated>,
        }
        // Destructured in full: a field added to `Alert` must be added here.
        let Alert { timestamp, rule: _, host, matched, provenance, explanation, correlation } = self;
        Json {
            timestamp: timestamp.as_ref(),
            rule,
            host: host.as_deref(),
            matched,
            provenance: ProvenanceJson(provenance),
            explanation: explanation.as_ref(),
            correlation: correlation.as_deref(),
        }
        .serialize(s)
    }
}

/// A provenance as the JSON `{"source": …, "line"|"record"|"offset": n}`.
pub(crate) struct ProvenanceJson<'a>(pub &'a Provenance);

impl Serialize for ProvenanceJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_provenance(self.0, s)
    }
}

/// ATT&CK technique ids (`T1078.003`) named by Sigma tags (`attack.t1078.003`).
pub fn attack_techniques(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| t.strip_prefix("attack.t"))
        .filter(|id| id.len() >= 4 && id[..4].bytes().all(|b| b.is_ascii_digit()))
        .map(|id| format!("T{}", id.to_ascii_uppercase()))
        .collect()
}

fn serialize_time<S: Serializer>(t: &Option<&Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

fn serialize_provenance<S: Serializer>(p: &Provenance, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("source", &*p.source)?;
    match p.location {
        Location::Record(n) => map.serialize_entry("record", &n)?,
        Location::Line(n) => map.serialize_entry("line", &n)?,
        Location::Offset(n) => map.serialize_entry("offset", &n)?,
    }
    map.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_ids_come_from_technique_tags_only() {
        let tags: Vec<String> =
            ["attack.initial_access", "attack.t1078.003", "attack.t1110", "cve.2021-1"].map(String::from).to_vec();
        assert_eq!(attack_techniques(&tags), ["T1078.003", "T1110"]);
    }

    #[test]
    fn levels_order_by_severity() {
        assert!(Level::Critical > Level::High && Level::Low > Level::Informational);
        assert_eq!("high".parse::<Level>(), Ok(Level::High));
        assert!("severe".parse::<Level>().is_err());
    }
}
