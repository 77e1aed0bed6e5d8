//! Correlations resolved against the loaded rules: references to rule or
//! correlation ids and names, cycle detection, which rules still alert on
//! their own (`generate`), and where each correlation reads its fields.

use std::collections::HashMap;

use ferret_model::{Event, Field, FieldNames, Timestamp};

use super::engine::{Hit, Origin};
use super::fields::Lookup;
use super::spec::Correlation;
use crate::diagnostic::{Code, Diagnostic};
use crate::rule::Rule;

/// What a correlation's `rules` entry refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Source {
    Rule(usize),
    Correlation(usize),
}

/// How a correlation reads the events (or firings) of one referenced rule.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub group: Vec<Lookup>,
    /// value_count and metrics: the condition's field(s).
    pub value: Vec<Lookup>,
    /// The `fields` the alert summarises.
    pub details: Vec<Lookup>,
}

/// A hit's fields: group-by values, the value tuple, summarised fields.
type HitFields = (Box<[Box<str>]>, Option<Box<[Box<str>]>>, Vec<(u16, Box<str>)>);

impl Plan {
    /// Reads the hit's fields through `values` (every value a lookup
    /// finds); `None` when a group-by or value field is missing, which
    /// leaves the hit out of the correlation (SIGMA.md C3).
    fn read<'v>(&self, values: impl Fn(&Lookup) -> Vec<&'v str>) -> Option<HitFields> {
        let first = |l: &Lookup| values(l).first().map(|v| Box::<str>::from(*v));
        let group = self.group.iter().map(first).collect::<Option<Box<[_]>>>()?;
        let value = if self.value.is_empty() {
            None
        } else {
            Some(self.value.iter().map(first).collect::<Option<Box<[_]>>>()?)
        };
        let details = self
            .details
            .iter()
            .enumerate()
            .flat_map(|(i, l)| values(l).into_iter().map(move |v| (i as u16, Box::from(v))))
            .collect();
        Some((group, value, details))
    }
}

/// A loaded correlation with its references resolved.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Resolved {
    pub spec: Correlation,
    pub sources: Vec<Source>,
    pub plans: Vec<Plan>,
    /// Correlations that reference this one, with the slot.
    pub parents: Vec<(usize, u16)>,
    /// Whether its firings are alerts of their own (not only input to a
    /// referencing correlation).
    pub alerts: bool,
}

/// Every resolved correlation of a rule set.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CorrelationSet {
    pub correlations: Vec<Resolved>,
    /// Per rule index: the (correlation, slot) pairs its matches feed.
    consumers: Vec<Vec<(u32, u16)>>,
    /// Per rule index: whether its matches are also alerts.
    rule_alerts: Vec<bool>,
    /// `event.count`: how many occurrences a record stands for.
    count_field: Option<Field>,
}

impl CorrelationSet {
    /// Resolves `specs` against `rules` (in rule-set order). Correlations
    /// with unknown references or in a reference cycle get an error and
    /// are dropped (and so are correlations that reference them).
    pub fn resolve(specs: Vec<Correlation>, rules: &[&Rule], names: &FieldNames) -> (CorrelationSet, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut seen_ids: HashMap<&str, &str> = rules.iter().map(|r| (r.id.as_str(), r.file.as_str())).collect();
        let mut keep = vec![true; specs.len()];
        for (i, spec) in specs.iter().enumerate() {
            if let Some(first) = seen_ids.insert(spec.id.as_str(), spec.file.as_str()) {
                diags.push(spec.diagnostic(Code::DuplicateId, format!("id {} is already used by {first}", spec.id)));
                keep[i] = false;
            }
        }
        // References → sources (unknown ones reported).
        let find = |reference: &str, from: &Correlation| -> Option<Source> {
            let same_file_first = |file: &str| if file == from.file { 0 } else { 1 };
            let rule = rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.id == reference || r.name.as_deref() == Some(reference))
                .min_by_key(|(_, r)| same_file_first(&r.file))
                .map(|(i, _)| Source::Rule(i));
            let correlation = specs
                .iter()
                .enumerate()
                .filter(|(_, c)| c.id == reference || c.name.as_deref() == Some(reference))
                .min_by_key(|(_, c)| same_file_first(&c.file))
                .map(|(i, _)| Source::Correlation(i));
            rule.or(correlation)
        };
        let mut sources: Vec<Vec<Source>> = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let mut resolved = Vec::new();
            for reference in &spec.rules {
                match find(reference, spec) {
                    Some(source) => resolved.push(source),
                    None => {
                        diags.push(spec.diagnostic(
                            Code::UnknownReference,
                            format!("'{reference}' is not a loaded rule or correlation (id or name)"),
                        ));
                        keep[i] = false;
                    }
                }
            }
            sources.push(resolved);
        }
        report_cycles(&specs, &sources, &mut keep, &mut diags);
        // A correlation built on a dropped one is dropped too.
        loop {
            let mut changed = false;
            for i in 0..specs.len() {
                if keep[i] && sources[i].iter().any(|s| matches!(s, Source::Correlation(j) if !keep[*j])) {
                    keep[i] = false;
                    changed = true;
                    diags.push(specs[i].diagnostic(
                        Code::UnknownReference,
                        "it references a correlation that could not be loaded (see its diagnostic)",
                    ));
                }
            }
            if !changed {
                break;
            }
        }
        // Renumber the kept correlations.
        let mut new_index = vec![usize::MAX; specs.len()];
        let mut n = 0;
        for (i, k) in keep.iter().enumerate() {
            if *k {
                new_index[i] = n;
                n += 1;
            }
        }
        let source_name = |source: &Source| match *source {
            Source::Rule(r) => rules[r].name.clone(),
            Source::Correlation(c) => specs[c].name.clone(),
        };
        let mut correlations: Vec<Resolved> = Vec::with_capacity(n);
        for (i, spec) in specs.iter().enumerate() {
            if !keep[i] {
                continue;
            }
            let srcs: Vec<Source> = sources[i]
                .iter()
                .map(|s| match *s {
                    Source::Correlation(c) => Source::Correlation(new_index[c]),
                    rule => rule,
                })
                .collect();
            let plans = sources[i]
                .iter()
                .map(|s| {
                    let rule_name = source_name(s);
                    let lookup = |name: &String| {
                        let field = match spec.alias_field(name, rule_name.as_deref()) {
                            Some(Some(field)) => field,
                            _ => name.as_str(),
                        };
                        Lookup::new(name, field, names)
                    };
                    Plan {
                        group: spec.group_by.iter().map(lookup).collect(),
                        value: spec.condition.field.iter().map(lookup).collect(),
                        details: spec.fields.iter().map(lookup).collect(),
                    }
                })
                .collect();
            correlations.push(Resolved { spec: spec.clone(), sources: srcs, plans, parents: Vec::new(), alerts: true });
        }
        let mut consumers: Vec<Vec<(u32, u16)>> = vec![Vec::new(); rules.len()];
        let mut rule_alerts = vec![true; rules.len()];
        let mut rule_referenced = vec![false; rules.len()];
        let mut corr_referenced = vec![false; correlations.len()];
        let mut corr_generated = vec![false; correlations.len()];
        for c in 0..correlations.len() {
            let generate = correlations[c].spec.generate;
            for (slot, source) in correlations[c].sources.clone().into_iter().enumerate() {
                match source {
                    Source::Rule(r) => {
                        consumers[r].push((c as u32, slot as u16));
                        rule_referenced[r] = true;
                    }
                    Source::Correlation(inner) => {
                        correlations[inner].parents.push((c, slot as u16));
                        corr_referenced[inner] = true;
                        corr_generated[inner] |= generate;
                    }
                }
            }
        }
        // A referenced document without a `level` of its own (the
        // specification's helper rules: only the outermost correlation
        // carries meta information) is input only, unless a correlation
        // using it says `generate: true`. One that states its level is a
        // detection in its own right (a SigmaHQ rule, a brute-force
        // correlation that a "followed by success" builds on) and keeps
        // alerting.
        for (c, resolved) in correlations.iter_mut().enumerate() {
            resolved.alerts = !corr_referenced[c] || corr_generated[c] || resolved.spec.has_level;
        }
        for r in 0..rules.len() {
            if rule_referenced[r] {
                rule_alerts[r] =
                    rules[r].has_level || consumers[r].iter().any(|(c, _)| correlations[*c as usize].spec.generate);
            }
        }
        let count_field = Some(names.intern("event.count"));
        (CorrelationSet { correlations, consumers, rule_alerts, count_field }, diags)
    }

    pub fn is_empty(&self) -> bool {
        self.correlations.is_empty()
    }

    pub fn len(&self) -> usize {
        self.correlations.len()
    }

    /// Whether rule `rule`'s matches feed any correlation.
    pub fn feeds(&self, rule: usize) -> bool {
        self.consumers.get(rule).is_some_and(|c| !c.is_empty())
    }

    /// Whether rule `rule`'s matches are alerts of their own.
    pub fn rule_alerts(&self, rule: usize) -> bool {
        self.rule_alerts.get(rule).copied().unwrap_or(true)
    }

    /// The correlation hits a match of `rule` on `event` makes: one per
    /// correlation slot the rule feeds whose fields the event has. Events
    /// without a timestamp cannot be placed in a window and make none
    /// (returns false). A group-by or value field missing from the event
    /// excludes it from that correlation (SIGMA.md C3).
    pub fn hits(&self, rule: usize, event: &Event, host: Option<&str>, out: &mut Vec<Hit>) -> bool {
        let Some(time) = event.timestamp else { return false };
        let Some(consumers) = self.consumers.get(rule) else { return true };
        let weight = self
            .count_field
            .and_then(|f| event.first(f))
            .and_then(|v| v.as_str()?.parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(1);
        for &(c, slot) in consumers {
            let plan = &self.correlations[c as usize].plans[slot as usize];
            let Some((group, value, details)) = plan.read(|l| l.read(event).into_iter().collect()) else { continue };
            out.push(Hit {
                time,
                correlation: c,
                slot,
                group,
                value,
                details,
                origin: Origin { provenance: event.provenance.clone(), host: host.map(Into::into) },
                weight,
            });
        }
        true
    }

    /// The hits a firing of correlation `inner` makes for the correlations
    /// that reference it, reading their fields from its group-by values
    /// and summarised fields (`pairs`).
    pub(crate) fn chained_hits(
        &self,
        inner: usize,
        time: Timestamp,
        pairs: &[(String, String)],
        origin: &Origin,
        out: &mut Vec<Hit>,
    ) {
        for &(c, slot) in &self.correlations[inner].parents {
            let plan = &self.correlations[c].plans[slot as usize];
            let Some((group, value, details)) = plan.read(|l| l.read_pairs(pairs)) else { continue };
            out.push(Hit {
                time,
                correlation: c as u32,
                slot,
                group,
                value,
                details,
                origin: origin.clone(),
                weight: 1,
            });
        }
    }
}

/// Marks every correlation on a reference cycle as not kept, with an error.
fn report_cycles(specs: &[Correlation], sources: &[Vec<Source>], keep: &mut [bool], diags: &mut Vec<Diagnostic>) {
    // Colours: 0 unvisited, 1 on the DFS stack, 2 done.
    fn visit(i: usize, sources: &[Vec<Source>], colour: &mut [u8], stack: &mut Vec<usize>, cyclic: &mut Vec<bool>) {
        colour[i] = 1;
        stack.push(i);
        for source in &sources[i] {
            if let Source::Correlation(j) = *source {
                match colour[j] {
                    0 => visit(j, sources, colour, stack, cyclic),
                    1 => {
                        let from = stack.iter().rposition(|&k| k == j).unwrap_or(0);
                        for &k in &stack[from..] {
                            cyclic[k] = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        stack.pop();
        colour[i] = 2;
    }
    let mut colour = vec![0u8; specs.len()];
    let mut cyclic = vec![false; specs.len()];
    for i in 0..specs.len() {
        if colour[i] == 0 {
            visit(i, sources, &mut colour, &mut Vec::new(), &mut cyclic);
        }
    }
    for (i, is_cyclic) in cyclic.iter().enumerate() {
        if *is_cyclic {
            keep[i] = false;
            diags.push(specs[i].diagnostic(
                Code::CorrelationCycle,
                "the correlation references itself through its rules (a reference cycle); not loaded",
            ));
        }
    }
}
