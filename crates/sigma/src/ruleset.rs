//! Compile once, scan many: an immutable [`RuleSet`] (`Send + Sync`) and a
//! per-thread [`Scanner`] that holds all mutable state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferret_model::{Event, Explanation, Field, FieldNames, ItemTrace, SelectionTrace, SourceKind, Value};

use crate::detection::{Expr, Item, Target};
use crate::diagnostic::{Code, Diagnostic};
use crate::filter::{Filter, Targets};
use crate::logsource::{Mappings, Route, RouteProblem, Selector};
use crate::pattern::{Pattern, compare_fields};
use crate::rule::{Loaded, Rule, load_document};
use crate::yaml;

/// One rule file's text and the name to report it under.
pub struct RuleSource {
    pub name: String,
    pub text: String,
}

/// A rule with the compiled route it runs on.
struct Routed {
    rule: Rule,
    route: CompiledRoute,
}

#[derive(Debug)]
struct CompiledSelector {
    event_ids: Vec<String>,
    providers: Vec<String>,
    fields: Vec<(Field, Vec<String>)>,
    channels: Vec<String>,
    programs: Vec<String>,
}

#[derive(Debug)]
struct CompiledRoute {
    selectors: Vec<CompiledSelector>,
    and: Vec<CompiledSelector>,
}

/// The routing keys of one event, computed once per event.
struct EventKeys {
    channel: Option<String>,
    provider: Option<String>,
    event_id: Option<String>,
    program: Option<String>,
}

/// Immutable compiled rules plus the index that sends each event only to
/// the rules whose logsource can apply.
pub struct RuleSet {
    rules: Vec<Routed>,
    names: Arc<FieldNames>,
    /// By event kind, then by the lowercase channel (Windows) or program
    /// (syslog); `None` holds rules that accept any channel/program.
    index: HashMap<SourceKind, HashMap<Option<String>, Vec<usize>>>,
    keys: KeyFields,
}

struct KeyFields {
    channel: Field,
    provider: Field,
    event_id: Field,
    program: Field,
}

impl RuleSet {
    /// Compiles every document of every source. Returns the rule set and
    /// the diagnostics; a bad rule is reported and skipped, never fatal.
    pub fn compile(sources: &[RuleSource], names: Arc<FieldNames>, mappings: &Mappings) -> (RuleSet, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut rules = Vec::new();
        let mut seen_ids: HashMap<String, String> = HashMap::new();
        let mut filters: Vec<Filter> = Vec::new();
        for source in sources {
            let docs = match yaml::parse(&source.text) {
                Ok(docs) => docs,
                Err(e) => {
                    diags.push(Diagnostic::new(Code::YamlSyntax, &source.name, Some(e.line), e.message));
                    continue;
                }
            };
            for doc in &docs {
                let rule = match load_document(doc, &source.name, &names, &mut diags) {
                    Loaded::Rule(rule) => rule,
                    Loaded::Filter(filter) => {
                        filters.push(*filter);
                        continue;
                    }
                    Loaded::Skipped => continue,
                };
                let mut rule = *rule;
                if let Some(first) = seen_ids.get(&rule.id) {
                    let mut d = Diagnostic::new(
                        Code::DuplicateId,
                        &rule.file,
                        Some(rule.line),
                        format!("id {} is already used by {first}", rule.id),
                    );
                    d.rule = Some(rule.label());
                    diags.push(d);
                    continue;
                }
                let route = match mappings.route(&rule.logsource) {
                    Ok((route, mapped)) => {
                        if !mapped {
                            let mut d = Diagnostic::new(
                                Code::UnmappedLogsource,
                                &rule.file,
                                Some(rule.line),
                                format!(
                                    "no mapping for logsource {}; the rule runs on generic JSON and CSV events",
                                    rule.logsource
                                ),
                            );
                            d.rule = Some(rule.label());
                            diags.push(d);
                        }
                        route
                    }
                    Err(RouteProblem::Unsupported(reason)) => {
                        let mut d = Diagnostic::new(
                            Code::UnsupportedLogsource,
                            &rule.file,
                            Some(rule.line),
                            format!("logsource {} cannot be served: {reason}", rule.logsource),
                        );
                        d.rule = Some(rule.label());
                        diags.push(d);
                        continue;
                    }
                };
                seen_ids.insert(rule.id.clone(), rule.file.clone());
                rule.title = rule.title.trim().to_owned();
                rules.push((rule, route));
            }
        }
        apply_filters(&filters, &mut rules, &mut diags);
        let keys = KeyFields {
            channel: names.intern("Channel"),
            provider: names.intern("Provider_Name"),
            event_id: names.intern("EventID"),
            program: names.intern("program"),
        };
        let mut index: HashMap<SourceKind, HashMap<Option<String>, Vec<usize>>> = HashMap::new();
        let mut routed = Vec::with_capacity(rules.len());
        for (i, (rule, route)) in rules.into_iter().enumerate() {
            for kind in &route.kinds {
                let by_key = index.entry(*kind).or_default();
                let keys: HashSet<Option<String>> = route_keys(&route, *kind);
                for key in keys {
                    by_key.entry(key).or_default().push(i);
                }
            }
            let compile = |sels: &[Selector]| sels.iter().map(|s| compile_selector(s, &names)).collect();
            routed.push(Routed {
                route: CompiledRoute { selectors: compile(&route.selectors), and: compile(&route.and) },
                rule,
            });
        }
        (RuleSet { rules: routed, names, index, keys }, diags)
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules[index].rule
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| &r.rule)
    }

    pub fn names(&self) -> &Arc<FieldNames> {
        &self.names
    }
}

/// Narrows every rule each filter applies to, in file order; reports
/// filter references to rules that were not loaded.
fn apply_filters(filters: &[Filter], rules: &mut [(Rule, Route)], diags: &mut Vec<Diagnostic>) {
    for (nth, filter) in filters.iter().enumerate() {
        if let Targets::Rules(refs) = &filter.targets {
            for r in refs {
                if !rules.iter().any(|(rule, _)| rule.id == *r || rule.name.as_deref() == Some(r.as_str())) {
                    let mut d = Diagnostic::new(
                        Code::Lint,
                        &filter.file,
                        Some(filter.line),
                        format!("the filter names rule '{r}', which is not loaded"),
                    );
                    d.rule = Some(filter.title.clone());
                    diags.push(d);
                }
            }
        }
        for (rule, _) in rules.iter_mut() {
            if filter.applies_to(rule) {
                filter.apply(rule, nth);
            }
        }
    }
}

/// The index keys a route files a rule under for one event kind.
fn route_keys(route: &Route, kind: SourceKind) -> HashSet<Option<String>> {
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

fn compile_selector(s: &Selector, names: &FieldNames) -> CompiledSelector {
    CompiledSelector {
        event_ids: s.event_ids.clone(),
        providers: s.providers.clone(),
        fields: s.fields.iter().map(|(k, v)| (names.intern(k), v.clone())).collect(),
        channels: s.channels.clone(),
        programs: s.programs.clone(),
    }
}

impl CompiledSelector {
    fn accepts(&self, event: &Event, keys: &EventKeys) -> bool {
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
    fn accepts(&self, event: &Event, keys: &EventKeys) -> bool {
        let any = |sels: &[CompiledSelector]| sels.is_empty() || sels.iter().any(|s| s.accepts(event, keys));
        any(&self.selectors) && any(&self.and)
    }
}

/// A rule that matched an event, with the fields that made it match.
#[derive(Clone, Debug, PartialEq)]
pub struct Match {
    pub rule: usize,
    pub fields: Vec<(String, String)>,
}

/// Per-thread matching state: lowercased copies of the current event's
/// values, made once per value and only when a rule needs them.
pub struct Scanner<'r> {
    set: &'r RuleSet,
    lower: Vec<Option<Box<str>>>,
    raw_lower: Option<Box<str>>,
    /// Per field symbol: 1 + the position of its first value in the
    /// current event (0 = absent). `next` chains repeated fields.
    first: Vec<u32>,
    next: Vec<u32>,
    touched: Vec<Field>,
}

impl<'r> Scanner<'r> {
    pub fn new(set: &'r RuleSet) -> Self {
        Self { set, lower: Vec::new(), raw_lower: None, first: Vec::new(), next: Vec::new(), touched: Vec::new() }
    }

    /// Appends to `out` every rule that matches `event`, in rule order.
    pub fn scan(&mut self, event: &Event, out: &mut Vec<Match>) {
        let Some(by_key) = self.set.index.get(&event.kind) else { return };
        let keys = self.keys(event);
        let routing_key = match event.kind {
            SourceKind::Windows => keys.channel.clone(),
            SourceKind::Syslog => keys.program.clone(),
            _ => None,
        };
        self.lower.clear();
        self.lower.resize(event.fields.len(), None);
        self.raw_lower = None;
        self.index_fields(event);
        let mut candidates: Vec<usize> = by_key.get(&None).cloned().unwrap_or_default();
        if routing_key.is_some() {
            candidates.extend(by_key.get(&routing_key).into_iter().flatten());
            candidates.sort_unstable();
            candidates.dedup();
        }
        for index in candidates {
            let routed = &self.set.rules[index];
            if !routed.route.accepts(event, &keys) {
                continue;
            }
            let detection = &routed.rule.detection;
            if self.eval(&detection.condition, &detection.searches, event) {
                let mut fields = Vec::new();
                self.collect(&detection.condition, &detection.searches, event, &mut fields);
                out.push(Match { rule: index, fields });
            }
        }
    }

    /// Builds the field → positions table for `event`, so a pattern looks
    /// only at the values of its own field.
    fn index_fields(&mut self, event: &Event) {
        // Clear only the slots the previous event set.
        for field in self.touched.drain(..) {
            self.first[field.index()] = 0;
        }
        self.next.clear();
        self.next.resize(event.fields.len(), 0);
        for (i, (field, _)) in event.fields.iter().enumerate().rev() {
            let slot = field.index();
            if slot >= self.first.len() {
                self.first.resize(slot + 1, 0);
            }
            self.next[i] = self.first[slot];
            self.first[slot] = i as u32 + 1;
            self.touched.push(*field);
        }
    }

    /// 1 + the position of `field`'s first value (0 when absent).
    fn head(&self, field: Field) -> u32 {
        self.first.get(field.index()).copied().unwrap_or(0)
    }

    /// Does `pattern` hold for any value of `field`? Returns the position.
    fn find_value(&mut self, pattern: &Pattern, field: Field, event: &Event) -> Option<usize> {
        let mut at = self.head(field);
        while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
            at = self.next[i];
            if self.pattern_at(pattern, i, event) {
                return Some(i);
            }
        }
        None
    }

    /// Evaluates one rule on one event and says why it matches or not:
    /// whether the event is routed to the rule at all, each selection's
    /// value, and each item's rule values and the event value that met it.
    pub fn explain(&mut self, rule: usize, event: &Event) -> Explanation {
        self.lower.clear();
        self.lower.resize(event.fields.len(), None);
        self.raw_lower = None;
        self.index_fields(event);
        let routed_rule = &self.set.rules[rule];
        let detection = &routed_rule.rule.detection;
        let keys = self.keys(event);
        let routed = routed_rule_kind_ok(self.set, rule, event.kind) && routed_rule.route.accepts(event, &keys);
        let matched = routed && self.eval(&detection.condition, &detection.searches, event);
        let selections = detection
            .searches
            .iter()
            .map(|search| {
                let mut chosen = None;
                for items in &search.alternatives {
                    if items.iter().all(|item| self.item(item, event)) {
                        chosen = Some(items);
                        break;
                    }
                }
                let matched = chosen.is_some();
                let maps: Vec<&Vec<Item>> = match chosen {
                    Some(items) => vec![items],
                    None => search.alternatives.iter().collect(),
                };
                let items = maps.into_iter().flatten().map(|item| self.trace_item(item, event)).collect();
                SelectionTrace { name: search.name.clone(), matched, items }
            })
            .collect();
        Explanation { condition: detection.condition_text.clone(), routed, matched, selections }
    }

    fn trace_item(&mut self, item: &Item, event: &Event) -> ItemTrace {
        let matched = self.item(item, event);
        let event_value = match &item.target {
            Target::Field { field, .. } if !item.negate => self.first_hit(item, *field, event),
            Target::Field { field, .. } => event.first(*field).and_then(Value::as_str).map(str::to_owned),
            Target::Keywords => None,
        };
        ItemTrace { key: item.key.clone(), rule_values: item.values.clone(), event_value, matched }
    }

    fn keys(&self, event: &Event) -> EventKeys {
        let k = &self.set.keys;
        let text = |f: Field| event.first(f).and_then(Value::as_str);
        EventKeys {
            channel: text(k.channel).map(str::to_lowercase),
            provider: text(k.provider).map(str::to_lowercase),
            event_id: text(k.event_id).map(str::to_owned),
            program: text(k.program).map(str::to_lowercase),
        }
    }

    fn eval(&mut self, expr: &Expr, searches: &[crate::detection::Search], event: &Event) -> bool {
        match expr {
            Expr::Search(i) => {
                searches[*i].alternatives.iter().any(|items| items.iter().all(|item| self.item(item, event)))
            }
            Expr::Not(inner) => !self.eval(inner, searches, event),
            Expr::And(terms) => terms.iter().all(|t| self.eval(t, searches, event)),
            Expr::Or(terms) => terms.iter().any(|t| self.eval(t, searches, event)),
        }
    }

    /// The fields of the items that made the positive parts of the
    /// condition true (items under `not` explain nothing).
    fn collect(
        &mut self,
        expr: &Expr,
        searches: &[crate::detection::Search],
        event: &Event,
        out: &mut Vec<(String, String)>,
    ) {
        match expr {
            Expr::Search(i) => {
                for items in &searches[*i].alternatives {
                    if items.iter().all(|item| self.item(item, event)) {
                        for item in items {
                            if let (Target::Field { field, name }, false) = (&item.target, item.negate)
                                && let Some(v) = self.first_hit(item, *field, event)
                                && !out.iter().any(|(n, _)| n == name)
                            {
                                out.push((name.clone(), v));
                            }
                        }
                        break;
                    }
                }
            }
            Expr::Not(_) => {}
            Expr::And(terms) | Expr::Or(terms) => {
                for t in terms {
                    if self.eval(t, searches, event) {
                        self.collect(t, searches, event, out);
                    }
                }
            }
        }
    }

    fn first_hit(&mut self, item: &Item, field: Field, event: &Event) -> Option<String> {
        let i = item.groups.iter().flatten().find_map(|p| self.find_value(p, field, event))?;
        event.fields[i].1.as_str().map(str::to_owned)
    }

    fn item(&mut self, item: &Item, event: &Event) -> bool {
        let hit = match &item.target {
            Target::Field { field, .. } => {
                let group = |s: &mut Self, g: &Vec<Pattern>| g.iter().any(|p| s.field_pattern(p, *field, event));
                if item.all {
                    item.groups.iter().all(|g| group(self, g))
                } else {
                    item.groups.iter().any(|g| group(self, g))
                }
            }
            Target::Keywords => {
                let group = |s: &mut Self, g: &Vec<Pattern>| g.iter().any(|p| s.keyword(p, event));
                if item.all {
                    item.groups.iter().all(|g| group(self, g))
                } else {
                    item.groups.iter().any(|g| group(self, g))
                }
            }
        };
        hit != item.negate
    }

    fn field_pattern(&mut self, pattern: &Pattern, field: Field, event: &Event) -> bool {
        match pattern {
            Pattern::Null => {
                let mut at = self.head(field);
                while let Some(i) = at.checked_sub(1).map(|i| i as usize) {
                    at = self.next[i];
                    if !event.fields[i].1.is_null() {
                        return false;
                    }
                }
                true
            }
            Pattern::Exists(want) => (self.head(field) != 0) == *want,
            Pattern::FieldRef { field: other, mode, cased } => event
                .values(field)
                .filter_map(Value::as_str)
                .any(|a| event.values(*other).filter_map(Value::as_str).any(|b| compare_fields(*mode, a, b, *cased))),
            _ => self.find_value(pattern, field, event).is_some(),
        }
    }

    /// A pattern against the value at `index` of the event.
    fn pattern_at(&mut self, pattern: &Pattern, index: usize, event: &Event) -> bool {
        let Some(text) = event.fields[index].1.as_str() else { return false };
        let lower = self.lower[index].get_or_insert_with(|| text.to_lowercase().into_boxed_str());
        pattern.matches_text(text, lower)
    }

    /// Keywords: the raw line of text sources, or each string value of a
    /// structured event separately, never a concatenation (SIGMA.md D2).
    fn keyword(&mut self, pattern: &Pattern, event: &Event) -> bool {
        if let Some(raw) = event.raw.as_deref() {
            let lower = self.raw_lower.get_or_insert_with(|| raw.to_lowercase().into_boxed_str());
            return pattern.matches_text(raw, lower);
        }
        (0..event.fields.len()).any(|i| self.pattern_at(pattern, i, event))
    }
}

/// Is the rule filed under the event's kind (Windows, syslog...)?
fn routed_rule_kind_ok(set: &RuleSet, rule: usize, kind: SourceKind) -> bool {
    set.index.get(&kind).is_some_and(|by_key| by_key.values().any(|rules| rules.contains(&rule)))
}

/// The rule set is shared by every thread.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleSet>();
};
