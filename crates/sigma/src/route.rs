//! Routes compiled for matching: which events a rule may see, and how the
//! rule's field names read the event (renames and value transforms for
//! alternative sources such as Security 4688 for process_creation).

use std::collections::HashSet;

use ferret_model::{Event, Field, FieldNames, SourceKind, Value};

use crate::logsource::{Route, Selector, Transform};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CompiledSelector {
    pub(crate) event_ids: Vec<String>,
    pub(crate) providers: Vec<String>,
    pub(crate) fields: Vec<(Field, Vec<String>)>,
    pub(crate) channels: Vec<String>,
    pub(crate) programs: Vec<String>,
    /// How rules read events accepted by this selector; `None` reads the
    /// event's own field names.
    pub(crate) view: Option<View>,
}

/// A field view for an alternative source: rule field → event field.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct View {
    fields: foldhash::HashMap<Field, Option<Source>>,
}

/// Where an alternative source keeps a Sigma field.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Source {
    field: Field,
    /// Fields whose first values are appended, `\`-separated.
    join: Vec<Field>,
    transform: Option<Transform>,
}

/// Where a rule's field is read in the current event.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Resolved<'a> {
    /// This event field, with this transform applied to its values.
    Field(Field, Option<Transform>),
    /// The first values of these fields joined with `\`, then transformed.
    Joined(Field, &'a [Field], Option<Transform>),
    /// The source never has it: read as absent.
    Absent,
}

impl View {
    /// The rule fields this view reads from somewhere else (renamed,
    /// joined or transformed).
    pub(crate) fn mapped_fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.fields.iter().filter(|(_, source)| source.is_some()).map(|(field, _)| *field)
    }

    /// Equal for views that read events the same way (each rule compiles
    /// its own copy of its mapping's views).
    pub(crate) fn signature(&self) -> String {
        let mut entries: Vec<String> = self.fields.iter().map(|(f, s)| format!("{f:?}={s:?}")).collect();
        entries.sort_unstable();
        entries.join(";")
    }

    pub(crate) fn resolve(view: Option<&View>, field: Field) -> Resolved<'_> {
        match view.and_then(|v| v.fields.get(&field)) {
            None => Resolved::Field(field, None),
            Some(Some(source)) if source.join.is_empty() => Resolved::Field(source.field, source.transform),
            Some(Some(source)) => Resolved::Joined(source.field, &source.join, source.transform),
            Some(None) => Resolved::Absent,
        }
    }
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct CompiledRoute {
    pub(crate) selectors: Vec<CompiledSelector>,
    pub(crate) and: Vec<CompiledSelector>,
    /// No check is left once the index has matched channel and EventID:
    /// no `and` selectors, providers or extra fields (most rules).
    pub(crate) trivial: bool,
    /// The event kinds the rule is filed under.
    pub(crate) kinds: Vec<SourceKind>,
}

impl CompiledRoute {
    pub(crate) fn new(selectors: Vec<CompiledSelector>, and: Vec<CompiledSelector>, kinds: Vec<SourceKind>) -> Self {
        let trivial = and.is_empty() && selectors.iter().all(|s| s.providers.is_empty() && s.fields.is_empty());
        CompiledRoute { selectors, and, trivial, kinds }
    }
}

/// The routing keys of one event, computed once per event.
#[derive(Default)]
pub(crate) struct EventKeys {
    pub(crate) channel: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) event_id: Option<String>,
    pub(crate) program: Option<String>,
}

/// Sets a key buffer to `text` as `write` writes it (copied, lowercased),
/// reusing the buffer's allocation; `None` empties the slot.
pub(crate) fn set_key(slot: &mut Option<String>, text: Option<&str>, write: fn(&mut String, &str)) {
    match text {
        None => *slot = None,
        Some(text) => {
            let buf = slot.get_or_insert_with(String::new);
            buf.clear();
            write(buf, text);
        }
    }
}

/// Every selector a route has, or this for a route without selectors.
pub(crate) const ANY_SELECTOR: u16 = u16::MAX;

/// The index keys a route files a rule under for one event kind: the
/// channel (Windows) or program (syslog) and the EventID (`None` where the
/// selector accepts any), with the selector the key came from.
pub(crate) fn route_keys(route: &Route, kind: SourceKind) -> HashSet<(RouteKey, u16)> {
    let keys_of = |(n, s): (usize, &Selector)| -> Vec<(RouteKey, u16)> {
        let list = match kind {
            SourceKind::Windows => &s.channels,
            SourceKind::Syslog => &s.programs,
            _ => return vec![((None, None), n as u16)],
        };
        let first: Vec<Option<String>> =
            if list.is_empty() { vec![None] } else { list.iter().cloned().map(Some).collect() };
        let ids: Vec<Option<String>> = if s.event_ids.is_empty() || kind != SourceKind::Windows {
            vec![None]
        } else {
            s.event_ids.iter().cloned().map(Some).collect()
        };
        first.iter().flat_map(|f| ids.iter().map(move |i| ((f.clone(), i.clone()), n as u16))).collect()
    };
    if route.selectors.is_empty() {
        return [((None, None), ANY_SELECTOR)].into();
    }
    route.selectors.iter().enumerate().filter(|(_, s)| s.kinds.contains(&kind)).flat_map(keys_of).collect()
}

/// (channel or program, EventID), lowercase; `None` = any.
pub(crate) type RouteKey = (Option<String>, Option<String>);

pub(crate) fn compile_selector(s: &Selector, names: &FieldNames) -> CompiledSelector {
    CompiledSelector {
        event_ids: s.event_ids.clone(),
        providers: s.providers.clone(),
        fields: s.fields.iter().map(|(k, v)| (names.intern(k), v.clone())).collect(),
        channels: s.channels.clone(),
        programs: s.programs.clone(),
        view: (!s.rename.is_empty() || !s.unavailable.is_empty()).then(|| {
            let mut fields: foldhash::HashMap<Field, Option<Source>> = Default::default();
            for name in &s.unavailable {
                fields.insert(names.intern(name), None);
            }
            for (sigma, rename) in &s.rename {
                let source = Source {
                    field: names.intern(&rename.from),
                    join: rename.join.iter().map(|f| names.intern(f)).collect(),
                    transform: rename.transform,
                };
                fields.insert(names.intern(sigma), Some(source));
            }
            // A native field that a Sigma field is renamed to stays reachable
            // only under its Sigma name (4688's ProcessId is the parent's).
            for (_, rename) in &s.rename {
                let native = names.intern(&rename.from);
                fields.entry(native).or_insert(None);
            }
            View { fields }
        }),
    }
}

impl CompiledSelector {
    /// The checks the index cannot make: provider and extra fields.
    fn rest_accepts(&self, event: &Event, keys: &EventKeys) -> bool {
        (self.providers.is_empty() || keys.provider.as_ref().is_some_and(|p| self.providers.contains(p)))
            && self.fields.iter().all(|(field, allowed)| {
                event.values(*field).filter_map(Value::as_str).any(|v| allowed.iter().any(|a| a == v))
            })
    }

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

/// Routing's verdict for one rule and event.
pub(crate) enum Accept<'a> {
    No,
    /// Accepted; read the event through this view (`None`: as it is).
    Yes(Option<&'a View>),
}

impl CompiledRoute {
    /// Routing for an event the index filed under `selector` of this route:
    /// channel, program and EventID already agree.
    #[inline]
    pub(crate) fn accepts_via(&self, selector: u16, event: &Event, keys: &EventKeys) -> Accept<'_> {
        if self.trivial {
            return Accept::Yes(self.selectors.get(selector as usize).and_then(|s| s.view.as_ref()));
        }
        if !(self.and.is_empty() || self.and.iter().any(|s| s.accepts(event, keys))) {
            return Accept::No;
        }
        if selector == ANY_SELECTOR {
            return Accept::Yes(None);
        }
        let chosen = &self.selectors[selector as usize];
        if chosen.rest_accepts(event, keys) { Accept::Yes(chosen.view.as_ref()) } else { Accept::No }
    }

    pub(crate) fn accepts(&self, event: &Event, keys: &EventKeys) -> Accept<'_> {
        if !(self.and.is_empty() || self.and.iter().any(|s| s.accepts(event, keys))) {
            return Accept::No;
        }
        if self.selectors.is_empty() {
            return Accept::Yes(None);
        }
        match self.selectors.iter().find(|s| s.accepts(event, keys)) {
            Some(selector) => Accept::Yes(selector.view.as_ref()),
            None => Accept::No,
        }
    }
}
