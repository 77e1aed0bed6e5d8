//! Compile once, scan many: an immutable [`RuleSet`] (`Send + Sync`) and a
//! per-thread [`Scanner`] that holds all mutable state.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ferret_model::{Field, FieldNames, SourceKind};

use crate::correlation::{Correlation, CorrelationSet};
use crate::diagnostic::{Code, Diagnostic};
use crate::filter::{Filter, Targets};
use crate::literals::Engine;
use crate::logsource::{Mappings, Route, RouteProblem, Selector};
use crate::prefilter::{FieldBits, Prefilter, required_integers};
use crate::route::{CompiledRoute, RouteKey, compile_selector, route_keys};
use crate::rule::{Ctx, Loaded, Logsource, Rule, load_document};
use crate::yaml;
use rayon::prelude::*;

/// One rule file's text and the name to report it under.
pub struct RuleSource {
    pub name: String,
    pub text: String,
}

/// A rule with the compiled route it runs on.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Routed {
    /// Stored apart by the cache (see `cache`), which sets it on loading.
    #[serde(skip)]
    pub(crate) rule: crate::lazy::LazyRule,
    /// The rule's compiled route, in `RuleSet::routes`: rules of the same
    /// logsource share one (a copy per rule was most of what loading a
    /// cached set decoded).
    pub(crate) route: u32,
    /// The Windows EventIDs the rule's condition requires (one of), when
    /// no selector renames EventID: checked before evaluating a rule
    /// reached through the prefilter.
    pub(crate) event_ids: Option<BTreeSet<String>>,
}
/// Immutable compiled rules plus the index that sends each event only to
/// the rules whose logsource can apply.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct RuleSet {
    /// Stored apart, in chunks decoded in parallel (see `cache`).
    #[serde(skip)]
    pub(crate) rules: Vec<Routed>,
    /// The distinct compiled routes of the rules (see `Routed::route`).
    pub(crate) routes: Vec<CompiledRoute>,
    /// Not stored: the cache stores the names table and restores it.
    #[serde(skip)]
    names: Arc<FieldNames>,
    /// By event kind, then by (lowercase channel or program, EventID);
    /// `None` holds rules that accept any.
    pub(crate) index: Index,
    /// The same without narrowing by the EventIDs rules test: the
    /// reference the optimised paths are checked against.
    pub(crate) plain: Index,
    /// The same, for rules the prefilter cannot gate (see `compile`).
    pub(crate) ungated: Index,
    /// By event kind and key: one (rule, selector) per distinct field view
    /// that events of the key are read through.
    pub(crate) views: Index,
    pub(crate) keys: KeyFields,
    pub(crate) prefilter: Prefilter,
    /// By event kind and key: the fields the needles of the key's rules
    /// are bound to (searched, looked up whole). An event's other values
    /// are not searched: no rule it can reach needs them.
    pub(crate) read: PerKey<(FieldBits, FieldBits)>,
    correlations: CorrelationSet,
}

/// The fields routing reads from every event.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyFields {
    pub(crate) channel: Field,
    pub(crate) provider: Field,
    pub(crate) event_id: Field,
    pub(crate) program: Field,
}

impl RuleSet {
    /// Compiles every document of every source. Returns the rule set and
    /// the diagnostics; a bad rule is reported and skipped, never fatal.
    pub fn compile(sources: &[RuleSource], names: Arc<FieldNames>, mappings: &Mappings) -> (RuleSet, Vec<Diagnostic>) {
        Self::compile_with(sources, names, mappings, Engine::Quick)
    }

    /// The same, for a set that will be stored in the compiled-rule cache
    /// ([`RuleSet::to_bytes`]): its prefilter automaton takes longer to
    /// build (~80 ms more for the SigmaHQ corpus) but can be stored, and
    /// searches faster.
    pub fn compile_storable(
        sources: &[RuleSource],
        names: Arc<FieldNames>,
        mappings: &Mappings,
    ) -> (RuleSet, Vec<Diagnostic>) {
        Self::compile_with(sources, names, mappings, Engine::Storable)
    }

    fn compile_with(
        sources: &[RuleSource],
        names: Arc<FieldNames>,
        mappings: &Mappings,
        engine: Engine,
    ) -> (RuleSet, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut rules = Vec::new();
        let mut seen_ids: foldhash::HashMap<String, String> = Default::default();
        // The rules of a logsource share its route: mapping one clones its
        // selectors and their renames, and sharing the compiled routes
        // then hashed every rule's copy.
        let mut routed_by: foldhash::HashMap<Logsource, Result<(Arc<Route>, bool), RouteProblem>> = Default::default();
        let mut filters: Vec<Filter> = Vec::new();
        let mut correlations: Vec<Correlation> = Vec::new();
        // Parsing and compiling each file is independent: done in parallel,
        // then merged in file order so ids, diagnostics and rule order are
        // the same whatever the thread count.
        let ctx = Ctx { names: &names, placeholders: &mappings.placeholders };
        let loaded: Vec<(Vec<Loaded>, Vec<Diagnostic>)> = sources
            .par_iter()
            .map(|source| {
                let mut diags = Vec::new();
                let docs = match yaml::parse(&source.text) {
                    Ok(docs) => docs,
                    Err(e) => {
                        diags.push(Diagnostic::new(Code::YamlSyntax, &source.name, Some(e.line), e.message));
                        return (Vec::new(), diags);
                    }
                };
                let loaded = docs.iter().map(|doc| load_document(doc, &source.name, &ctx, &mut diags)).collect();
                (loaded, diags)
            })
            .collect();
        for (documents, file_diags) in loaded {
            diags.extend(file_diags);
            for document in documents {
                let rule = match document {
                    Loaded::Rule(rule) => rule,
                    Loaded::Filter(filter) => {
                        filters.push(*filter);
                        continue;
                    }
                    Loaded::Correlation(correlation) => {
                        correlations.push(*correlation);
                        continue;
                    }
                    Loaded::Skipped => continue,
                };
                let mut rule = *rule;
                if let Some(first) = seen_ids.get(&rule.id) {
                    diags
                        .push(rule.diagnostic(Code::DuplicateId, format!("id {} is already used by {first}", rule.id)));
                    continue;
                }
                let mapped = match routed_by.get(&rule.logsource) {
                    Some(mapped) => mapped.clone(),
                    None => {
                        let mapped = mappings.route(&rule.logsource).map(|(route, mapped)| (Arc::new(route), mapped));
                        routed_by.insert(rule.logsource.clone(), mapped.clone());
                        mapped
                    }
                };
                let route = match mapped {
                    Ok((route, mapped)) => {
                        if !mapped {
                            diags.push(rule.diagnostic(
                                Code::UnmappedLogsource,
                                format!(
                                    "no mapping for logsource {}; the rule runs on generic JSON and CSV events",
                                    rule.logsource
                                ),
                            ));
                        }
                        route
                    }
                    Err(RouteProblem::Unsupported(reason)) => {
                        let message = format!("logsource {} cannot be served: {reason}", rule.logsource);
                        diags.push(rule.diagnostic(Code::UnsupportedLogsource, message));
                        continue;
                    }
                };
                seen_ids.insert(rule.id.clone(), rule.file.clone());
                rule.title = rule.title.trim().to_owned();
                rules.push((rule, route));
            }
        }
        apply_filters(&filters, &mut rules, &mut diags);
        let rule_refs: Vec<&Rule> = rules.iter().map(|(rule, _)| rule).collect();
        let (correlations, correlation_diags) = CorrelationSet::resolve(correlations, &rule_refs, &names);
        diags.extend(correlation_diags);
        // Diagnostics in file order, then line order, however they were made.
        let order: HashMap<&str, usize> = sources.iter().enumerate().map(|(i, s)| (s.name.as_str(), i)).collect();
        diags.sort_by_key(|d| (order.get(d.file.as_str()).copied().unwrap_or(usize::MAX), d.line.unwrap_or(0)));
        let keys = KeyFields {
            channel: names.intern("Channel"),
            provider: names.intern("Provider_Name"),
            event_id: names.intern("EventID"),
            program: names.intern("program"),
        };
        // The literal prefilter (its automata are the slowest part of
        // loading) is built while the routing index is.
        let detections: Vec<&crate::detection::Detection> = rules.iter().map(|(rule, _)| &rule.detection).collect();
        let reads_cloud: Vec<bool> = rules.iter().map(|(_, route)| route.kinds.contains(&SourceKind::Cloud)).collect();
        let (prefilter, Indexes { index, plain, compiled, routes }) =
            rayon::join(|| Prefilter::build(&detections, &reads_cloud, engine), || build_indexes(&rules, &names));
        let routed: Vec<Routed> = rules
            .into_iter()
            .zip(compiled)
            .map(|((rule, _), (route, event_ids))| Routed { rule: crate::lazy::LazyRule::new(rule), route, event_ids })
            .collect();
        // What the scanner visits without the prefilter's help: rules with
        // no literal requirement. The other rules are reached from the
        // needles found (in the event's values and in its views' values).
        let ungated =
            per_key(&index, |list| Some(list.iter().copied().filter(|&(rule, _)| !prefilter.gates(rule)).collect()));
        // The views events of each key may be read through, once each: the
        // prefilter sees their fields too (renamed, joined, transformed).
        // A view's signature is taken once per route selector (the rules of
        // a logsource share its route): formatted per rule and key, it was
        // a twentieth of compiling the SigmaHQ corpus.
        let mut signatures: foldhash::HashMap<(u32, u16), Option<Arc<str>>> = Default::default();
        let views = per_key(&index, |list| {
            let mut seen = foldhash::HashSet::default();
            let reps: Vec<(usize, u16)> = list
                .iter()
                .copied()
                .filter(|&(rule, sel)| {
                    let route = routed[rule].route;
                    let signature = signatures.entry((route, sel)).or_insert_with(|| {
                        let view = routes[route as usize].selectors.get(sel as usize).and_then(|s| s.view.as_ref());
                        view.filter(|view| view.mapped_fields().next().is_some()).map(|view| view.signature().into())
                    });
                    signature.as_ref().is_some_and(|signature| seen.insert(signature.clone()))
                })
                .collect();
            (!reps.is_empty()).then_some(reps)
        });
        // The fields the needles of each key's rules are bound to.
        let by_rule = prefilter.fields_by_rule();
        let read = per_key(&index, |list| {
            let mut fields: (FieldBits, FieldBits) = Default::default();
            for &(rule, _) in list {
                fields.0.union_with(&by_rule[rule].0);
                fields.1.union_with(&by_rule[rule].1);
            }
            Some(fields)
        });
        (
            RuleSet { rules: routed, routes, names, index, plain, ungated, views, keys, prefilter, read, correlations },
            diags,
        )
    }

    /// The compiled route of rule `index`.
    pub(crate) fn route(&self, index: usize) -> &CompiledRoute {
        &self.routes[self.rules[index].route as usize]
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rule(&self, index: usize) -> &Rule {
        self.rules[index].rule.get()
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| r.rule.get())
    }

    /// Applies thresholds and windows given on the command line or in a
    /// file (see `correlation::tune`).
    pub fn tune_correlations(&mut self, tuning: &crate::correlation::Tuning) -> Result<(), String> {
        self.correlations.tune(tuning)
    }

    /// The correlation rules, resolved against these rules.
    pub fn correlations(&self) -> &CorrelationSet {
        &self.correlations
    }

    pub fn names(&self) -> &Arc<FieldNames> {
        &self.names
    }

    /// After loading from the cache: the interner the stored names were
    /// restored into.
    pub(crate) fn set_names(&mut self, names: Arc<FieldNames>) {
        self.names = names;
    }

    /// After loading from the cache: the rules, stored apart.
    pub(crate) fn set_rules(&mut self, rules: Vec<Routed>) {
        self.rules = rules;
    }

    /// The kinds of event (EVTX, syslog, web, cloud...) rule `index` runs on.
    pub fn event_kinds(&self, index: usize) -> Vec<SourceKind> {
        let mut kinds: Vec<SourceKind> = self
            .index
            .iter()
            .filter(|(_, by_key)| by_key.values().any(|rules| rules.iter().any(|(r, _)| *r == index)))
            .map(|(kind, _)| *kind)
            .collect();
        kinds.sort();
        kinds
    }

    /// (rules the literal prefilter can skip, distinct needles).
    pub fn prefilter_stats(&self) -> (usize, usize) {
        (self.prefilter.filtered_rules(), self.prefilter.needles())
    }
}

/// A table by event kind, then (channel or program, EventID). Looked up
/// per event: foldhash (seeded per process), not SipHash.
pub(crate) type PerKey<T> = foldhash::HashMap<SourceKind, foldhash::HashMap<RouteKey, T>>;

/// Routing indexes: the (rule, selector) pairs filed under each key.
pub(crate) type Index = PerKey<Vec<(usize, u16)>>;

/// A table by the same kinds and keys as `index`, from each key's rule
/// list; a key `make` gives nothing for is left out.
fn per_key<T>(index: &Index, mut make: impl FnMut(&[(usize, u16)]) -> Option<T>) -> PerKey<T> {
    index
        .iter()
        .map(|(kind, by_key)| {
            let by_key = by_key.iter().filter_map(|(key, list)| Some((key.clone(), make(list)?))).collect();
            (*kind, by_key)
        })
        .collect()
}

struct Indexes {
    /// Rules that test EventIDs filed under them.
    index: Index,
    /// Without that narrowing (the reference path).
    plain: Index,
    /// Per rule: its route in `routes` and the EventIDs its condition
    /// requires.
    compiled: Vec<(u32, Option<BTreeSet<String>>)>,
    /// The distinct compiled routes.
    routes: Vec<CompiledRoute>,
}

/// Files every rule under the keys of the events it may see, sorted by
/// (rule, selector) within each key.
fn build_indexes(rules: &[(Rule, Arc<Route>)], names: &FieldNames) -> Indexes {
    let mut index = Index::default();
    let mut plain = Index::default();
    let mut compiled = Vec::with_capacity(rules.len());
    let mut routes = Vec::new();
    // Routes are shared by logsource (one `Arc` each), and two logsources
    // may still map to equal routes: found by the `Arc` first, by value
    // once per `Arc`.
    let mut by_arc: foldhash::HashMap<*const Route, u32> = Default::default();
    let mut distinct: foldhash::HashMap<&Route, u32> = Default::default();
    let mut keys_by_arc: foldhash::HashMap<(*const Route, SourceKind), Vec<(RouteKey, u16)>> = Default::default();
    let event_id_field = names.intern("EventID");
    let renames_id = |s: &Selector| s.rename.iter().any(|(name, _)| name == "EventID");
    for (i, (rule, route)) in rules.iter().enumerate() {
        let required_ids = required_integers(&rule.detection, event_id_field);
        for kind in &route.kinds {
            let by_key = index.entry(*kind).or_default();
            let keys = keys_by_arc
                .entry((Arc::as_ptr(route), *kind))
                .or_insert_with(|| route_keys(route, *kind).into_iter().collect());
            for ((first, id), selector) in keys.iter().cloned() {
                plain.entry(*kind).or_default().entry((first.clone(), id.clone())).or_default().push((i, selector));
                // A selector that takes any EventID, for a rule that tests
                // EventIDs itself: filed under those.
                let renames = route.selectors.get(selector as usize).is_some_and(renames_id);
                match (&required_ids, &id) {
                    (Some(ids), None) if *kind == SourceKind::Windows && !renames => {
                        for required in ids {
                            by_key.entry((first.clone(), Some(required.clone()))).or_default().push((i, selector));
                        }
                    }
                    _ => by_key.entry((first, id)).or_default().push((i, selector)),
                }
            }
        }
        let shared = *by_arc.entry(Arc::as_ptr(route)).or_insert_with(|| {
            let next = routes.len() as u32;
            *distinct.entry(route).or_insert_with(|| {
                let compile = |sels: &[Selector]| sels.iter().map(|s| compile_selector(s, names)).collect();
                routes.push(CompiledRoute::new(compile(&route.selectors), compile(&route.and), route.kinds.clone()));
                next
            })
        });
        compiled.push((shared, required_ids.filter(|_| !route.selectors.iter().any(renames_id))));
    }
    // Sorted by (rule, selector): the scanner merges these lists.
    for list in index.values_mut().chain(plain.values_mut()).flat_map(|by_key| by_key.values_mut()) {
        list.sort_unstable();
    }
    Indexes { index, plain, compiled, routes }
}

/// Narrows every rule each filter applies to, in file order; reports
/// filter references to rules that were not loaded.
fn apply_filters(filters: &[Filter], rules: &mut [(Rule, Arc<Route>)], diags: &mut Vec<Diagnostic>) {
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

/// The rule set is shared by every thread.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RuleSet>();
};
