//! Generic JSON objects and CSV rows → events: dotted paths, array fan-out,
//! and recognising Windows events shipped by log agents and Zeek JSON logs.

use ferret_model::{Event, FieldCache, SourceKind, Value};

use crate::time::{parse_epoch, parse_timestamp};
use crate::windows::{JsonTree, flatten_event};

/// Fields, in order of preference, that hold a generic record's time.
const TIME_FIELDS: &[&str] = &[
    "@timestamp",
    "_time",
    "timestamp",
    "EventTime",
    "TimeCreated",
    "TimeCreated_SystemTime",
    "eventTime",
    "time",
    "ts",
    "UtcTime",
    "date",
];

/// Turns a parsed JSON value into `event`'s fields and kind.
pub fn json_into_event<J: JsonTree>(json: &J, event: &mut Event, fields: &mut FieldCache) {
    if !json.is_object() {
        // A bare scalar or array: keep it whole under `value`.
        flatten_into(&mut "value".to_owned(), json, event, fields);
        event.kind = SourceKind::Json;
        return;
    }
    // `evtx_dump` / SigmaHQ regression JSON: {"Event": {"System": ...}}.
    if let Some(root) = json.get("Event").filter(|root| root.get("System").is_some()) {
        event.kind = SourceKind::Windows;
        flatten_event(root, event, fields);
        return;
    }
    // `journalctl -o json` records become syslog-like events.
    if crate::journald::is_journal_json(json) {
        crate::journald::json_into_event(json, event, fields);
        return;
    }
    let mut path = String::new();
    for (key, value) in json.entries() {
        path.clear();
        path.push_str(key);
        flatten_into(&mut path, value, event, fields);
    }
    event.kind = SourceKind::Json;
    // Cloud audit records (CloudTrail, Azure, GCP...): kind, provider, time.
    crate::cloud::annotate(json, event, fields);
    finish_flat(event, fields);
}

/// Dotted paths with fan-out: `{"a": {"b": [1, {"c": 2}]}}` gives `a.b = 1`
/// and `a.b.c = 2`. Arrays of objects share their parent's path, so a rule on
/// `target.displayName` sees every element's value.
///
/// The path is one buffer that nested keys extend and give back (no string
/// per key).
fn flatten_into<J: JsonTree>(path: &mut String, value: &J, event: &mut Event, fields: &mut FieldCache) {
    if value.is_object() {
        let len = path.len();
        for (key, inner) in value.entries() {
            path.push('.');
            path.push_str(key);
            flatten_into(path, inner, event, fields);
            path.truncate(len);
        }
    } else if let Some(items) = value.items() {
        for item in items {
            flatten_into(path, item, event, fields);
        }
    } else if let Some(v) = value.scalar() {
        event.push(fields.intern(path), v);
    }
}

/// Sets the timestamp and recognises Windows events in a flat record
/// (NXLog / Sigma-style `EventID` + `Channel`, or Winlogbeat's `winlog.*`),
/// adding the EVTX names a Windows rule expects when the agent used others.
pub fn finish_flat(event: &mut Event, fields: &mut FieldCache) {
    if event.timestamp.is_none() {
        event.timestamp = TIME_FIELDS.iter().find_map(|name| {
            let value = event.first(fields.intern(name))?;
            match value {
                Value::Number(n) => parse_epoch(n),
                other => other.as_str().and_then(|s| parse_timestamp(s).or_else(|| parse_epoch(s))),
            }
        });
    }
    // Zeek JSON logs: `ts` and a connection or file id. Their `_path` key
    // (when the writer added one) names the log.
    if event.kind == SourceKind::Json && event.has(fields.intern("ts")) {
        let zeek = ["uid", "uids", "id.orig_h", "fuid", "certificate.serial"];
        if zeek.iter().any(|key| event.has(fields.intern(key))) {
            event.kind = SourceKind::Zeek;
        }
    }
    let winlog = fields.intern("winlog.event_id");
    if event.has(winlog) {
        alias_winlogbeat(event, fields);
    }
    // Splunk's Windows event exports: EventCode, LogName, ComputerName.
    let event_code = fields.intern("EventCode");
    let log_name = fields.intern("LogName");
    if event.has(event_code) && event.has(log_name) {
        alias(event, fields, "EventCode", "EventID");
        alias(event, fields, "LogName", "Channel");
        alias(event, fields, "ComputerName", "Computer");
    }
    let event_id = fields.intern("EventID");
    let channel = fields.intern("Channel");
    let provider = fields.intern("Provider_Name");
    let source_name = fields.intern("SourceName");
    if event.has(event_id) && (event.has(channel) || event.has(provider) || event.has(source_name)) {
        event.kind = SourceKind::Windows;
        alias(event, fields, "SourceName", "Provider_Name");
        alias(event, fields, "Hostname", "Computer");
        alias(event, fields, "RecordNumber", "EventRecordID");
    }
}

/// Winlogbeat / Elastic Agent: `winlog.event_id`, `winlog.channel`,
/// `winlog.event_data.X`... mapped back to the EVTX view.
fn alias_winlogbeat(event: &mut Event, fields: &mut FieldCache) {
    alias(event, fields, "winlog.event_id", "EventID");
    alias(event, fields, "winlog.channel", "Channel");
    alias(event, fields, "winlog.provider_name", "Provider_Name");
    alias(event, fields, "winlog.computer_name", "Computer");
    alias(event, fields, "winlog.record_id", "EventRecordID");
    let renames: Vec<(String, Value)> = event
        .fields
        .iter()
        .filter_map(|(f, v)| {
            let name = fields.names().resolve(*f);
            let short = name.strip_prefix("winlog.event_data.").or_else(|| name.strip_prefix("winlog.user_data."))?;
            Some((short.to_owned(), v.clone()))
        })
        .collect();
    for (name, value) in renames {
        let field = fields.intern(&name);
        if !event.has(field) {
            event.push(field, value);
        }
    }
}

/// Adds `to` with the values of `from` when the event has no `to`.
fn alias(event: &mut Event, fields: &mut FieldCache, from: &str, to: &str) {
    let (from, to) = (fields.intern(from), fields.intern(to));
    if event.has(to) {
        return;
    }
    let values: Vec<Value> = event.values(from).cloned().collect();
    for v in values {
        event.push(to, v);
    }
}
