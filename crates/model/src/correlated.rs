//! What a correlation alert adds to an [`Alert`](crate::Alert): the group,
//! the window, counts, the rules that contributed, distinct values of the
//! summarised fields and a bounded sample of the contributing records.
//!
//! In JSON Lines it is the `correlation` object:
//!
//! ```json
//! "correlation": {
//!   "type": "event_count", "timespan": "10m", "condition": "gte 10",
//!   "group": [{"field": "source.ip", "value": "203.0.113.45"}],
//!   "first_seen": "2026-11-28T02:31:02Z", "last_seen": "2026-11-28T02:47:30Z",
//!   "events": 57, "value": 10, "peak": 31,
//!   "rules": [{"id": "…", "title": "SSH failed login", "events": 57}],
//!   "fields": [{"field": "user.name", "distinct": 12, "values": ["root", "admin"], "more": false}],
//!   "samples": [{"source": "auth.log", "line": 120}]
//! }
//! ```
//!
//! `events` counts every hit of the episode; `value` is the aggregate
//! (count, distinct values, sum...) when the condition first held and
//! `peak` its highest value while it held; `samples` are the first
//! contributing records (at most ten), the alert's own `provenance` the one
//! that completed the condition.

use serde::{Serialize, Serializer};

use crate::{MatchedField, Provenance, Timestamp};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Correlated {
    #[serde(rename = "type")]
    pub kind: String,
    pub timespan: String,
    pub condition: String,
    pub group: Vec<MatchedField>,
    #[serde(serialize_with = "as_string")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "as_string")]
    pub last_seen: Timestamp,
    pub events: u64,
    pub value: f64,
    pub peak: f64,
    pub rules: Vec<ContributingRule>,
    pub fields: Vec<FieldValues>,
    #[serde(serialize_with = "provenances")]
    pub samples: Vec<Provenance>,
    /// Baselines: the entity's learned hits per bucket (0 for a value
    /// never seen before) and the bucket's robust z-score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// A rule (or inner correlation) the correlation references.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContributingRule {
    pub id: String,
    pub title: String,
    /// `rule`, or the correlation type of an inner correlation.
    pub kind: String,
    pub events: u64,
}

/// Distinct values of one summarised field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldValues {
    pub field: String,
    pub distinct: usize,
    pub values: Vec<String>,
    /// More distinct values than listed.
    pub more: bool,
}

impl Correlated {
    /// One line for tables and CSV: count, window, and the fields' values.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!(
            "{} events {} → {}",
            self.events,
            self.first_seen.strftime("%Y-%m-%d %H:%M:%S"),
            self.last_seen.strftime("%H:%M:%S")
        )];
        if let Some(expected) = self.expected {
            parts.push(format!("baseline {expected:.1} per {}", self.timespan));
        }
        for f in &self.fields {
            let more = if f.more || f.distinct > f.values.len() { ", …" } else { "" };
            parts.push(format!("{} ({}): {}{more}", f.field, f.distinct, f.values.join(", ")));
        }
        parts.join("; ")
    }
}

fn as_string<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

fn provenances<S: Serializer>(list: &[Provenance], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(crate::alert::ProvenanceJson))
}
