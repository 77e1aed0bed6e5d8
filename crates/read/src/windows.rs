//! The Windows event field view shared by the EVTX reader and the JSON
//! reader (for `evtx_dump`-style JSON, whose shape is the same).
//!
//! Input: the `Event` object as the evtx crate renders it (`System`,
//! `EventData` or `UserData`, attributes under `#attributes`). Output: the
//! flat names Sigma rules use (`../shared/SIGMA.md` §3.4).

use ferret_model::{Event, FieldCache, Value};
use serde_json::Value as Json;

use crate::time::parse_timestamp;

/// A parsed JSON value as the readers see it: sonic-rs's tree (what the
/// EVTX and JSON readers parse records into: about four times as fast as
/// serde_json building its ordered maps) or serde_json's (tests, and what
/// other code already holds). Both keep object keys in document order; a
/// key written twice is kept twice by sonic-rs (both values are seen).
pub trait JsonTree: Sized {
    /// A scalar as a [`Value`] (`Value::Null` for null); `None` for arrays
    /// and objects.
    fn scalar(&self) -> Option<Value>;
    fn is_object(&self) -> bool;
    /// An object's entries in document order (none for other values).
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)>;
    /// An array's items; `None` for other values.
    fn items(&self) -> Option<impl Iterator<Item = &Self>>;
    /// An object's value for `key`.
    fn get(&self, key: &str) -> Option<&Self>;
    /// A string's text.
    fn text(&self) -> Option<&str>;
    fn as_u64(&self) -> Option<u64>;
    /// The value written back as compact JSON.
    fn to_json(&self) -> String;
}

impl JsonTree for Json {
    fn scalar(&self) -> Option<Value> {
        match self {
            Json::Null => Some(Value::Null),
            Json::Bool(b) => Some(Value::Bool(*b)),
            Json::Number(n) => Some(Value::number(n.to_string())),
            Json::String(s) => Some(Value::text(s.as_str())),
            _ => None,
        }
    }
    fn is_object(&self) -> bool {
        self.is_object()
    }
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)> {
        self.as_object().into_iter().flatten().map(|(k, v)| (k.as_str(), v))
    }
    fn items(&self) -> Option<impl Iterator<Item = &Self>> {
        self.as_array().map(|items| items.iter())
    }
    fn get(&self, key: &str) -> Option<&Self> {
        self.as_object()?.get(key)
    }
    fn text(&self) -> Option<&str> {
        self.as_str()
    }
    fn as_u64(&self) -> Option<u64> {
        self.as_u64()
    }
    fn to_json(&self) -> String {
        self.to_string()
    }
}

impl JsonTree for sonic_rs::Value {
    fn scalar(&self) -> Option<Value> {
        use sonic_rs::JsonValueTrait;
        if self.is_null() {
            Some(Value::Null)
        } else if let Some(b) = self.as_bool() {
            Some(Value::Bool(b))
        } else if let Some(n) = self.as_number() {
            Some(Value::number(n.to_string()))
        } else {
            self.as_str().map(Value::text)
        }
    }
    fn is_object(&self) -> bool {
        sonic_rs::JsonValueTrait::is_object(self)
    }
    fn entries(&self) -> impl Iterator<Item = (&str, &Self)> {
        sonic_rs::JsonContainerTrait::as_object(self).into_iter().flat_map(|object| object.iter())
    }
    fn items(&self) -> Option<impl Iterator<Item = &Self>> {
        sonic_rs::JsonContainerTrait::as_array(self).map(|items| items.iter())
    }
    fn get(&self, key: &str) -> Option<&Self> {
        sonic_rs::JsonContainerTrait::as_object(self)?.get(&key)
    }
    fn text(&self) -> Option<&str> {
        sonic_rs::JsonValueTrait::as_str(self)
    }
    fn as_u64(&self) -> Option<u64> {
        sonic_rs::JsonValueTrait::as_u64(self)
    }
    fn to_json(&self) -> String {
        sonic_rs::to_string(self).unwrap_or_default()
    }
}

/// Flattens a rendered `Event` object into `event`, and takes the event's
/// time from `TimeCreated` when it reads as a timestamp.
pub fn flatten_event<J: JsonTree>(root: &J, event: &mut Event, fields: &mut FieldCache) {
    if let Some(system) = root.get("System").filter(|s| s.is_object()) {
        flatten_system(system, event, fields);
    }
    match root.get("EventData") {
        Some(data) if data.is_object() => flatten_event_data(data, event, fields),
        // Text, numbers and arrays are unnamed data; null and booleans are
        // not.
        Some(data) if data.items().is_some() || matches!(data.scalar(), Some(Value::Text(_) | Value::Number(_))) => {
            push_data(data, event, fields)
        }
        _ => {}
    }
    if let Some(user_data) = root.get("UserData").filter(|u| u.is_object()) {
        for (element, content) in user_data.entries() {
            if element == "#attributes" {
                continue;
            }
            flatten_user_data(element, content, event, fields);
        }
    }
    if event.timestamp.is_none() {
        let created = fields.get("TimeCreated_SystemTime");
        event.timestamp = created.and_then(|f| event.first(f)).and_then(Value::as_str).and_then(parse_timestamp);
    }
}

/// `System` children: plain values keep their name; attributes become
/// `Element_Attribute` (`Provider_Name`, `Execution_ProcessID`); an element
/// with both attributes and text (`EventID` with `Qualifiers`) keeps its
/// text under its own name.
fn flatten_system<J: JsonTree>(system: &J, event: &mut Event, fields: &mut FieldCache) {
    // `Element_Attribute` names are built in one buffer, not one string each.
    let mut joined = String::new();
    for (name, value) in system.entries() {
        if value.is_object() {
            if let Some(attrs) = value.get("#attributes") {
                for (attr, attr_value) in attrs.entries() {
                    if let Some(v) = attr_value.scalar() {
                        joined.clear();
                        joined.push_str(name);
                        joined.push('_');
                        joined.push_str(attr);
                        event.push(fields.intern(&joined), v);
                    }
                }
            }
            if let Some(v) = value.get("#text").and_then(JsonTree::scalar) {
                event.push(fields.intern(name), v);
            }
        } else {
            match value.scalar() {
                // An empty element (`<Correlation />`, `<Security />`) is
                // not a value.
                Some(Value::Null) | None => {}
                Some(v) => event.push(fields.intern(name), v),
            }
        }
    }
}

fn flatten_event_data<J: JsonTree>(data: &J, event: &mut Event, fields: &mut FieldCache) {
    for (name, value) in data.entries() {
        match name {
            // Attributes of <EventData> itself (TaskScheduler's `Name`) are
            // not event fields.
            "#attributes" => {}
            "Data" | "#text" => push_data(value, event, fields),
            _ => push_named(name, value, event, fields),
        }
    }
}

/// Unnamed `<Data>` elements: one repeated `Data` field.
fn push_data<J: JsonTree>(value: &J, event: &mut Event, fields: &mut FieldCache) {
    if value.is_object() {
        if let Some(text) = value.get("#text") {
            push_data(text, event, fields);
        }
    } else if let Some(items) = value.items() {
        for item in items {
            push_data(item, event, fields);
        }
    } else {
        let field = fields.intern("Data");
        event.push(field, evtx_scalar(value));
    }
}

/// A named `<Data Name="...">`. Names with spaces are also indexed with the
/// spaces removed (the specification's rule) and with `_` for spaces (what
/// some corpus rules write), see SIGMA.md D6.
fn push_named<J: JsonTree>(name: &str, value: &J, event: &mut Event, fields: &mut FieldCache) {
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
    if value.is_object() {
        if let Some(text) = value.get("#text") {
            push(event, evtx_scalar(text));
        }
    } else if let Some(items) = value.items() {
        items.for_each(|item| push(event, evtx_scalar(item)));
    } else {
        push(event, evtx_scalar(value));
    }
}

/// `UserData` leaves: available by leaf name and as `Element.Leaf`.
fn flatten_user_data<J: JsonTree>(element: &str, content: &J, event: &mut Event, fields: &mut FieldCache) {
    if !content.is_object() {
        if let Some(v) = content.scalar() {
            event.push(fields.intern(element), v);
        }
        return;
    }
    for (name, value) in content.entries() {
        if name == "#attributes" {
            continue;
        }
        if value.is_object() && value.get("#text").is_none() {
            flatten_user_data(&format!("{element}.{name}"), value, event, fields);
            continue;
        }
        let values: Vec<Value> = if value.is_object() {
            value.get("#text").map(evtx_scalar).into_iter().collect()
        } else if let Some(items) = value.items() {
            items.map(evtx_scalar).collect()
        } else {
            vec![evtx_scalar(value)]
        };
        let short = fields.intern(name);
        let long = fields.intern(&format!("{element}.{name}"));
        for v in values {
            event.push(short, v.clone());
            event.push(long, v);
        }
    }
}

/// EVTX XML cannot say null: an empty `<Data Name="X"/>` is a present,
/// empty value, which the evtx crate renders as JSON null.
fn evtx_scalar<J: JsonTree>(value: &J) -> Value {
    match value.scalar() {
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
        flatten_event(&json, &mut event, &mut cache);
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

    /// EVTX records are parsed with sonic-rs and JSON inputs with
    /// serde_json: over every record of the ATT&CK samples, both trees
    /// flatten to the same event.
    #[test]
    fn sonic_rs_and_serde_json_trees_flatten_alike() {
        let Some(data) = crate::shared_data() else { return };
        let dir = data.join("evtx-attack-samples");
        fn evtx_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    evtx_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "evtx") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        evtx_files(&dir, &mut files);
        let names = FieldNames::new();
        let mut cache = FieldCache::new(names.clone());
        let mut records = 0;
        for file in files {
            let Ok(mut parser) = ::evtx::EvtxParser::from_path(&file) else { continue };
            for record in parser.records_json().flatten() {
                let by_serde: Json = serde_json::from_str(&record.data).unwrap();
                let by_sonic: sonic_rs::Value = sonic_rs::from_str(&record.data).unwrap();
                let provenance = Provenance { source: "t".into(), location: Location::Record(record.event_record_id) };
                let mut a = Event::new(SourceKind::Windows, provenance.clone());
                let mut b = Event::new(SourceKind::Windows, provenance);
                flatten_event(JsonTree::get(&by_serde, "Event").unwrap(), &mut a, &mut cache);
                flatten_event(JsonTree::get(&by_sonic, "Event").unwrap(), &mut b, &mut cache);
                assert_eq!(a, b, "{} record {}", file.display(), record.event_record_id);
                records += 1;
            }
        }
        assert_eq!(records, 8255);
    }
}
