//! Which host an event is about.

use ferret_model::{Event, FieldNames, Value};

/// Fields that name the host, most specific first: EVTX `Computer`, syslog
/// `hostname`, agent and ECS spellings.
const HOST_FIELDS: &[&str] =
    &["Computer", "hostname", "Hostname", "host.name", "host.hostname", "ComputerName", "host"];

/// The host an event is about, if it says.
pub fn host_of(event: &Event, names: &FieldNames) -> Option<String> {
    HOST_FIELDS.iter().find_map(|name| {
        let value = event.get(names, name)?;
        match value {
            Value::Text(s) if !s.is_empty() && s.as_ref() != "-" => Some(s.to_string()),
            _ => None,
        }
    })
}
