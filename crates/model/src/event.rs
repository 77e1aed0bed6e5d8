//! The event: one log record, flattened.

use serde_json::{Map, Value as Json};

use crate::{Field, FieldNames, Provenance, Timestamp, Value};

/// The family of reader an event came from. Logsource routing uses it to
/// decide which rules may apply (a Windows rule never sees a syslog line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A Windows event (EVTX, or a Windows event shipped as JSON).
    Windows,
    /// A syslog line (RFC 3164/5424, auth.log).
    Syslog,
    /// A JSON object of no recognised family.
    Json,
    /// A CSV row.
    Csv,
    /// A web server or proxy access-log line (Sigma `webserver`/`proxy`).
    Web,
    /// A Linux audit record (`product: linux, service: auditd`).
    Auditd,
    /// A Zeek log record; the `_path` field names the log (conn, dns...).
    Zeek,
    /// A cloud audit record (CloudTrail, Azure, GCP, Okta, M365, GitHub,
    /// Kubernetes); `cloud.provider` and `cloud.service` name its source.
    Cloud,
}

impl SourceKind {
    pub const ALL: [SourceKind; 8] = [
        SourceKind::Windows,
        SourceKind::Syslog,
        SourceKind::Json,
        SourceKind::Csv,
        SourceKind::Web,
        SourceKind::Auditd,
        SourceKind::Zeek,
        SourceKind::Cloud,
    ];

    pub fn parse(name: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Windows => "windows",
            SourceKind::Syslog => "syslog",
            SourceKind::Json => "json",
            SourceKind::Csv => "csv",
            SourceKind::Web => "web",
            SourceKind::Auditd => "auditd",
            SourceKind::Zeek => "zeek",
            SourceKind::Cloud => "cloud",
        }
    }
}

/// One record as a flat list of fields.
///
/// A name may occur more than once: unnamed EVTX `Data` elements and JSON
/// arrays fan out into repeated fields, and a condition on such a field is
/// true when any of its values satisfies it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: SourceKind,
    /// When the record says it happened, in UTC; `None` when the record
    /// carries no time ferret could read.
    pub timestamp: Option<Timestamp>,
    pub fields: Vec<(Field, Value)>,
    pub provenance: Provenance,
    /// The raw text of a line-based record; keyword searches run over it.
    pub raw: Option<Box<str>>,
}

impl Event {
    pub fn new(kind: SourceKind, provenance: Provenance) -> Self {
        Self { kind, timestamp: None, fields: Vec::new(), provenance, raw: None }
    }

    pub fn push(&mut self, field: Field, value: Value) {
        self.fields.push((field, value));
    }

    /// Every value of `field`, in record order.
    pub fn values(&self, field: Field) -> impl Iterator<Item = &Value> {
        self.fields.iter().filter(move |(f, _)| *f == field).map(|(_, v)| v)
    }

    /// The first value of `field`.
    pub fn first(&self, field: Field) -> Option<&Value> {
        self.values(field).next()
    }

    pub fn has(&self, field: Field) -> bool {
        self.fields.iter().any(|(f, _)| *f == field)
    }

    /// The first value of the field named `name`, if the run knows the name.
    pub fn get(&self, names: &FieldNames, name: &str) -> Option<&Value> {
        names.get(name).and_then(|f| self.first(f))
    }

    /// The fields as a JSON object (repeated names become arrays), in first
    /// appearance order. Used for golden files and `--format jsonl` dumps.
    pub fn fields_json(&self, names: &FieldNames) -> Map<String, Json> {
        let mut out = Map::new();
        for (field, value) in &self.fields {
            let value = serde_json::to_value(value).unwrap_or(Json::Null);
            match out.get_mut(names.resolve(*field)) {
                None => {
                    out.insert(names.resolve(*field).to_owned(), value);
                }
                // Values are scalars, so an array here is an earlier fan-out.
                Some(Json::Array(items)) => items.push(value),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Json::Array(vec![first, value]);
                }
            }
        }
        out
    }
}
