//! Routes compiled for matching: which events a rule may see, and how the
//! rule's field names read the event (renames and value transforms for
//! alternative sources such as Security 4688 for process_creation).

use std::collections::HashSet;

use ferret_model::{Event, Field, FieldNames, SourceKind, Value};

use crate::logsource::{Route, Selector};

#[derive(Debug)]
pub(crate) struct CompiledSelector {
    pub(crate) event_ids: Vec<String>,
    pub(crate) providers: Vec<String>,
    pub(crate) fields: Vec<(Field, Vec<String>)>,
    pub(crate) channels: Vec<String>,
    pub(crate) programs: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct CompiledRoute {
    pub(crate) selectors: Vec<CompiledSelector>,
    pub(crate) and: Vec<CompiledSelector>,
}

/// The routing keys of one event, computed once per event.
pub(crate) struct EventKeys {
    pub(crate) channel: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) program: Option<String>,
}

/// The index keys a route files a rule under for one event kind.
pub(crate) fn route_keys(route: &Route, kind: SourceKind) -> HashSet<Option<String>> {
    let key_of = |s: &Selector| -> Vec<Option<String>> {
        let list = match kind {
            SourceKind::Windows => &s.channels,
            SourceKind::Syslog => &s.programs,
            _ => return vec![None],
        };
        if list.is_empty() { vec![None] } else { list.iter().cloned().map(Some).collect() }
    };
    if route.selectors.is_empty() {
        return [None].into();
    }
    route.selectors.iter().flat_map(key_of).collect()
}

pub(crate) fn compile_selector(s: &Selector, names: &FieldNames) -> CompiledSelector {
    CompiledSelector {
        event_ids: s.event_ids.clone(),
        providers: s.providers.clone(),
        fields: s.fields.iter().map(|(k, v)| (names.intern(k), v.clone())).collect(),
        channels: s.channels.clone(),
        programs: s.programs.clone(),
    }
}

impl CompiledSelector {
    pub(crate) fn accepts(&self, event: &Event, keys: &EventKeys) -> bool {
        let within = |list: &[String], value: &Option<String>| {
            list.is_empty() || value.as_ref().is_some_and(|v| list.contains(v))
        };
        within(&self.channels, &keys.channel)
            && within(&self.programs, &keys.program)
            && within(&self.providers, &keys.provider)
            && within(&self.event_ids, &keys.event_id)
            && self.fields.iter().all(|(field, allowed)| {
                event.values(*field).filter_map(Value::as_str).any(|v| allowed.iter().any(|a| a == v))
            })
    }
}

impl CompiledRoute {
    pub(crate) fn accepts(&self, event: &Event, keys: &EventKeys) -> bool {
        let any = |sels: &[CompiledSelector]| sels.is_empty() || sels.iter().any(|s| s.accepts(event, keys));
        any(&self.selectors) && any(&self.and)
    }
}
