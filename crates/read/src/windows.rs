//! The Windows event field view shared by the EVTX reader and the JSON
//! reader (for `evtx_dump`-style JSON, whose shape is the same).
//!
//! Input: the `Event` object as the evtx crate renders it (`System`,
//! `EventData` or `UserData`, attributes under `#attributes`). Output: the
//! flat names Sigma rules use (`../shared/SIGMA.md` §3.4).

use ferret_model::{Event, FieldCache, Value};
use serde_json::{Map, Value as Json};

use crate::time::parse_timestamp;

/// Flattens a rendered `Event` object into `event`. Returns the record's
/// `TimeCreated` when it reads as a timestamp.
pub fn flatten_event(root: &Map<String, Json>, event: &mut Event, fields: &mut FieldCache) {
    if let Some(Json::Object(system)) = root.get("System") {
        flatten_system(system, event, fields);
    }
    match root.get("EventData") {
        Some(Json::Object(data)) => flatten_event_data(data, event, fields),
        Some(other @ (Json::String(_) | Json::Number(_) | Json::Array(_))) => push_data(other, event, fields),
        _ => {}
    }
    if let Some(Json::Object(user_data)) = root.get("UserData") {
        for (element, content) in user_data {
            if element == "#attributes" {
                continue;
            }
            flatten_user_data(element, content, event, fields);
        }
    }
    if event.timestamp.is_none() {
        let created = fields.names().get("TimeCreated_SystemTime");
        event.timestamp = created.and_then(|f| event.first(f)).and_then(Value::as_str).and_then(parse_timestamp);
    }
}

/// `System` children: plain values keep their name; attributes become
/// `Element_Attribute` (`Provider_Name`, `Execution_ProcessID`); an element
/// with both attributes and text (`EventID` with `Qualifiers`) keeps its
/// text under its own name.
fn flatten_system(system: &Map<String, Json>, event: &mut Event, fields: &mut FieldCache) {
    // `Element_Attribute` names are built in one buffer, not one string each.
    let mut joined = String::new();
    for (name, value) in system {
        match value {
            Json::Object(obj) => {
                if let Some(Json::Object(attrs)) = obj.get("#attributes") {
                    for (attr, attr_value) in attrs {
                        if let Some(v) = scalar(attr_value) {
                            joined.clear();
                            joined.push_str(name);
                            joined.push('_');
                            joined.push_str(attr);
                            event.push(fields.intern(&joined), v);
                        }
                    }
                }
                if let Some(v) = obj.get("#text").and_then(scalar) {
                    event.push(fields.intern(name), v);
                }
            }
            // An empty element (`<Correlation />`, `<Security />`) is not a value.
            Json::Null => {}
            other => {
                if let Some(v) = scalar(other) {
                    event.push(fields.intern(name), v);
                }
            }
        }
    }
}

fn flatten_event_data(data: &Map<String, Json>, event: &mut Event, fields: &mut FieldCache) {
    for (name, value) in data {
        match name.as_str() {
            // Attributes of <EventData> itself (TaskScheduler's `Name`) are
            // not event fields.
            "#attributes" => {}
            "Data" | "#text" => push_data(value, event, fields),
            _ => push_named(name, value, event, fields),
        }
    }
}

/// Unnamed `<Data>` elements: one repeated `Data` field.
fn push_data(value: &Json, event: &mut Event, fields: &mut FieldCache) {
    let field = fields.intern("Data");
    match value {
        Json::Object(obj) => {
            if let Some(text) = obj.get("#text") {
                push_data(text, event, fields);
            }
        }
        Json::Array(items) => {
            for item in items {
                push_data(item, event, fields);
            }
        }
        other => event.push(field, evtx_scalar(other)),
    }
}

/// A named `<Data Name="...">`. Names with spaces are also indexed with the
/// spaces removed (the specification's rule) and with `_` for spaces (what
/// some corpus rules write), see SIGMA.md D6.
fn push_named(name: &str, value: &Json, event: &mut Event, fields: &mut FieldCache) {
    let spaced = name.contains(' ');
    let mut push = |event: &mut Event, v: Value| {
        if spaced {
            event.push(fields.intern(name), v.clone());
            event.push(fields.intern(&name.replace(' ', "")), v.clone());
            event.push(fields.intern(&name.replace(' ', "_")), v);
        } else {
            // The common case: the value moves in, no copy.
            event.push(fields.intern(name), v);
        }
    };
    match value {
        Json::Object(obj) => {
            if let Some(text) = obj.get("#text") {
                push(event, evtx_scalar(text));
            }
        }
        Json::Array(items) => items.iter().for_each(|item| push(event, evtx_scalar(item))),
        other => push(event, evtx_scalar(other)),
    }
}

/// `UserData` leaves: available by leaf name and as `Element.Leaf`.
fn flatten_user_data(element: &str, content: &Json, event: &mut Event, fields: &mut FieldCache) {
    let Json::Object(obj) = content else {
        if let Some(v) = scalar(content) {
            event.push(fields.intern(element), v);
        }
        return;
    };
    for (name, value) in obj {
        if name == "#attributes" {
            continue;
        }
        match value {
            Json::Object(inner) if !inner.contains_key("#text") => {
                flatten_user_data(&format!("{element}.{name}"), value, event, fields)
            }
            _ => {
                let leaf = match value {
                    Json::Object(inner) => inner.get("#text").map(evtx_scalar),
                    Json::Array(_) => None,
                    other => Some(evtx_scalar(other)),
                };
                let values: Vec<Value> = match (leaf, value) {
                    (Some(v), _) => vec![v],
                    (None, Json::Array(items)) => items.iter().map(evtx_scalar).collect(),
                    (None, _) => Vec::new(),
                };
                let short = fields.intern(name);
                let long = fields.intern(&format!("{element}.{name}"));
                for v in values {
                    event.push(short, v.clone());
                    event.push(long, v);
                }
            }
        }
    }
}

/// A JSON scalar as a [`Value`] (`None` for objects and arrays).
pub fn scalar(value: &Json) -> Option<Value> {
    match value {
        Json::Null => Some(Value::Null),
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => Some(Value::number(n.to_string())),
        Json::String(s) => Some(Value::text(s.as_str())),
        _ => None,
    }
}

/// EVTX XML cannot say null: an empty `<Data Name="X"/>` is a present,
/// empty value, which the evtx crate renders as JSON null.
fn evtx_scalar(value: &Json) -> Value {
    match scalar(value) {
        Some(Value::Null) | None => Value::text(""),
        Some(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_model::{FieldNames, Location, Provenance, SourceKind};

    fn flatten(json: serde_json::Value) -> (Event, std::sync::Arc<FieldNames>) {
        let names = FieldNames::new();
        let mut cache = FieldCache::new(names.clone());
        let mut event =
            Event::new(SourceKind::Windows, Provenance { source: "t".into(), location: Location::Record(1) });
        let Json::Object(root) = json else { panic!() };
        flatten_event(&root, &mut event, &mut cache);
        (event, names)
    }

    fn get(event: &Event, names: &FieldNames, name: &str) -> Option<String> {
        event.get(names, name).map(|v| v.to_string())
    }

    #[test]
    fn ec45_event_id_with_qualifiers_reads_its_text() {
        let (e, n) = flatten(serde_json::json!({
            "System": {"EventID": {"#attributes": {"Qualifiers": 16384}, "#text": 7045},
                       "Provider": {"#attributes": {"Name": "Service Control Manager"}}, "Correlation": null}
        }));
        assert_eq!(get(&e, &n, "EventID").as_deref(), Some("7045"));
        assert_eq!(get(&e, &n, "EventID_Qualifiers").as_deref(), Some("16384"));
        assert_eq!(get(&e, &n, "Provider_Name").as_deref(), Some("Service Control Manager"));
        assert_eq!(get(&e, &n, "Correlation"), None, "empty elements are not fields");
    }

    #[test]
    fn ec42_ec43_ec44_data_names_unnamed_data_and_user_data() {
        let (e, n) = flatten(serde_json::json!({
            "System": {"EventID": 1119},
            "EventData": {"Feature Name": "%%886", "Threat Name": "Tool:Win32/EICAR_Test_File", "Empty": null}
        }));
        for name in ["Feature Name", "FeatureName", "Feature_Name"] {
            assert_eq!(get(&e, &n, name).as_deref(), Some("%%886"), "{name}");
        }
        assert_eq!(get(&e, &n, "ThreatName").as_deref(), Some("Tool:Win32/EICAR_Test_File"));
        assert_eq!(get(&e, &n, "Empty").as_deref(), Some(""), "an empty <Data> is present and empty");
        let (e, n) = flatten(serde_json::json!({
            "System": {"EventID": 400}, "EventData": {"Data": {"#text": ["Available", "None", "HostApplication=powershell -nop"]}}
        }));
        let data: Vec<String> = e.values(n.get("Data").unwrap()).map(|v| v.to_string()).collect();
        assert_eq!(data, ["Available", "None", "HostApplication=powershell -nop"]);
        let (e, n) = flatten(serde_json::json!({
            "System": {"EventID": 5858},
            "UserData": {"Operation_ClientFailure": {"#attributes": {"xmlns": "x"}, "Operation": "Start IWbemServices::ExecMethod"}}
        }));
        assert_eq!(get(&e, &n, "Operation").as_deref(), Some("Start IWbemServices::ExecMethod"));
        assert_eq!(
            get(&e, &n, "Operation_ClientFailure.Operation").as_deref(),
            Some("Start IWbemServices::ExecMethod")
        );
        assert_eq!(get(&e, &n, "xmlns"), None);
    }
}
