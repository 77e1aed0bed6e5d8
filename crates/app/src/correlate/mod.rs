//! Correlation in a hunt: hits from every input are put in time order
//! ([`spill`]), run through the engine, and each closed episode becomes an
//! alert ([`firing_alert`]).

pub mod spill;

use std::sync::Mutex;

use ferret_model::{Alert, AlertRule, ContributingRule, Correlated, FieldValues, MatchedField, attack_techniques};
use ferret_sigma::correlation::{Kind, SavedBaselines, Source};
use ferret_sigma::{Correlator, Firing, Hit, RuleSet};
use jiff::SignedDuration;

pub use spill::{DEFAULT_BUDGET, HitSorter};

/// What correlation did in a hunt, for the summary.
#[derive(Clone, Debug, Default)]
pub struct CorrelationStats {
    /// Rule matches that fed a correlation.
    pub hits: u64,
    /// Matches without a timestamp (they cannot be placed in a window).
    pub untimed: u64,
    /// Hits written to temporary files to keep memory bounded.
    pub spilled: u64,
    /// Metric hits whose field was not a number.
    pub excluded: u64,
    /// Saved baselines that match no loaded baseline document.
    pub unused_baselines: Vec<String>,
}

/// The hit sorter shared by the hunt's workers, and the first error it met.
pub struct SharedSorter {
    pub sorter: Mutex<(HitSorter, Option<std::io::Error>)>,
}

impl SharedSorter {
    pub fn new(budget: usize) -> Self {
        SharedSorter { sorter: Mutex::new((HitSorter::new(budget), None)) }
    }

    /// Adds a batch of `(input, seq, hit)`.
    pub fn push(&self, batch: &mut Vec<(u32, u64, Hit)>) {
        let mut guard = self.sorter.lock().unwrap_or_else(|e| e.into_inner());
        let (sorter, error) = &mut *guard;
        for (input, seq, hit) in batch.drain(..) {
            if error.is_some() {
                break;
            }
            if let Err(e) = sorter.push(input, seq, hit) {
                *error = Some(e);
            }
        }
    }

    /// Runs the correlations over every hit in time order and returns the
    /// firings sorted by time (then correlation, then group), plus stats.
    /// `baselines`: saved baselines to start from; `save`: where to put
    /// the learned ones afterwards.
    pub fn correlate(
        self,
        rules: &RuleSet,
        baselines: Option<&SavedBaselines>,
        stats: &mut CorrelationStats,
    ) -> std::io::Result<(Vec<Firing>, SavedBaselines)> {
        let (sorter, error) = self.sorter.into_inner().unwrap_or_else(|e| e.into_inner());
        if let Some(error) = error {
            return Err(error);
        }
        stats.spilled = sorter.spilled();
        let mut engine = Correlator::new(rules.correlations());
        if let Some(saved) = baselines {
            stats.unused_baselines = engine.load_baselines(saved);
        }
        for hit in sorter.into_sorted()? {
            engine.push(hit?);
        }
        stats.excluded = engine.excluded();
        let learned = engine.save_baselines();
        let mut firings = engine.finish();
        firings.sort_by(|a, b| (a.fired_at, a.correlation, &a.group).cmp(&(b.fired_at, b.correlation, &b.group)));
        Ok((firings, learned))
    }
}

/// `10m`, `1h30m`... as the rule would write it (the largest exact unit).
pub fn format_span(span: SignedDuration) -> String {
    let seconds = span.as_secs();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

/// The condition as the alert states it.
fn describe_condition(spec: &ferret_sigma::correlation::Correlation) -> String {
    if let Some(b) = &spec.baseline {
        return match spec.kind {
            Kind::FirstSeen => format!(
                "{} not seen for the entity in the first {}",
                spec.condition.field.join(", "),
                format_span(b.learn)
            ),
            _ => format!(
                "at least {} per {} and above {}× the mean or robust z > {} (learned over {})",
                b.min_count,
                format_span(b.bucket),
                b.multiplier,
                b.zscore,
                format_span(b.learn)
            ),
        };
    }
    match spec.condition.field.as_slice() {
        [] => spec.condition.describe(),
        fields => format!("{} of {}", spec.condition.describe(), fields.join(", ")),
    }
}

/// The alert for one correlation episode.
pub fn firing_alert(firing: &Firing, rules: &RuleSet) -> Alert {
    let set = rules.correlations();
    let resolved = &set.correlations[firing.correlation];
    let spec = &resolved.spec;
    let contributing = resolved
        .sources
        .iter()
        .zip(&firing.per_rule)
        .map(|(source, events)| match *source {
            Source::Rule(r) => {
                let rule = rules.rule(r);
                ContributingRule {
                    id: rule.id.clone(),
                    title: rule.title.clone(),
                    kind: "rule".into(),
                    events: *events,
                }
            }
            Source::Correlation(c) => {
                let inner = &set.correlations[c].spec;
                ContributingRule {
                    id: inner.id.clone(),
                    title: inner.title.clone(),
                    kind: inner.kind.as_str().into(),
                    events: *events,
                }
            }
        })
        .collect();
    let group: Vec<MatchedField> =
        firing.group.iter().map(|(field, value)| MatchedField { field: field.clone(), value: value.clone() }).collect();
    Alert {
        timestamp: Some(firing.fired_at),
        rule: std::sync::Arc::new(AlertRule {
            id: spec.id.clone(),
            title: spec.title.clone(),
            level: spec.level,
            status: spec.status.clone(),
            attack: attack_techniques(&spec.tags),
            tags: spec.tags.clone(),
            source: spec.file.clone(),
        }),
        host: firing.trigger.host.as_deref().map(str::to_owned),
        matched: group.clone(),
        provenance: firing.trigger.provenance.clone(),
        explanation: None,
        correlation: Some(Box::new(Correlated {
            kind: spec.kind.as_str().into(),
            timespan: format_span(spec.timespan),
            condition: describe_condition(spec),
            group,
            first_seen: firing.first_seen,
            last_seen: firing.last_seen,
            events: firing.events,
            value: firing.value,
            peak: firing.peak,
            rules: contributing,
            fields: firing
                .details
                .iter()
                .map(|d| FieldValues {
                    field: d.field.clone(),
                    distinct: d.distinct,
                    values: d.values.clone(),
                    more: d.more,
                })
                .collect(),
            samples: firing.samples.iter().map(|o| o.provenance.clone()).collect(),
            expected: firing.expected,
            score: firing.score,
        })),
    }
}
