//! Anomaly baselines (ferret `baseline` documents, beyond Sigma).
//!
//! * `rate`: hits per entity (the `group-by` tuple) per bucket, buckets
//!   aligned to the Unix epoch. The first `learn` of the data (from the
//!   correlation's first hit, rounded to whole buckets) is the training
//!   window: every bucket of it counts, empty ones as 0, giving the
//!   entity's mean, median and MAD. After it, a bucket alerts when it holds
//!   at least `min_count` hits and more than `multiplier` × the mean, or a
//!   robust z-score `0.6745 × (count − median) / MAD` above `zscore`. An
//!   entity never seen in training has a baseline of 0.
//! * `first_seen`: during training every (entity, value) pair is learned;
//!   after it, a value the entity never had alerts once and is learned.
//!
//! A saved baseline ([`Saved`]) replaces training: every hit is scored.
//! State is bounded by the entities and pairs seen, never by the length of
//! the input (a rate entity keeps one count per training bucket).

use std::collections::{HashMap, HashSet};

use ferret_model::Timestamp;
use serde::{Deserialize, Serialize};

use super::engine::{Detail, Firing, Origin, SAMPLE_ORIGINS, Tracker, get_or_insert};
use super::spec::{BaselineParams, Correlation, Kind};

type Key = Box<[Box<str>]>;

/// Learned statistics of one entity's rate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RateStats {
    pub mean: f64,
    pub median: f64,
    pub mad: f64,
}

impl RateStats {
    fn of(counts: &[u32]) -> RateStats {
        if counts.is_empty() {
            return RateStats { mean: 0.0, median: 0.0, mad: 0.0 };
        }
        let mean = counts.iter().map(|&c| c as f64).sum::<f64>() / counts.len() as f64;
        let median = median(counts.iter().map(|&c| c as f64).collect());
        let mad = median_abs_dev(counts, median);
        RateStats { mean, median, mad }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        0.0
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn median_abs_dev(counts: &[u32], center: f64) -> f64 {
    median(counts.iter().map(|&c| (c as f64 - center).abs()).collect())
}

/// One saved baseline, as `--save-baseline` writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Saved {
    Rate { bucket_seconds: i64, entities: Vec<(Vec<String>, RateStats)> },
    FirstSeen { known: Vec<(Vec<String>, Vec<Vec<String>>)> },
}

struct Bucket {
    index: i64,
    count: u64,
    first: Timestamp,
    last: Timestamp,
    samples: Vec<Origin>,
    trigger: Origin,
    trackers: Vec<Tracker>,
}

#[derive(Default)]
struct Entity {
    /// Counts per training bucket (index from the training start).
    training: Vec<u32>,
    stats: Option<RateStats>,
    current: Option<Bucket>,
}

/// The state of one baseline document.
pub(crate) struct BaselineState {
    params: BaselineParams,
    /// Hits before this time train; `None` once a saved baseline is loaded.
    learn_until: Option<Timestamp>,
    learning: bool,
    first_bucket: Option<i64>,
    entities: HashMap<Key, Entity>,
    known: HashMap<Key, HashSet<Key>>,
    loaded: bool,
}

impl BaselineState {
    pub(crate) fn new(spec: &Correlation) -> Self {
        BaselineState {
            params: spec.baseline.clone().expect("baseline documents have parameters"),
            learn_until: None,
            learning: true,
            first_bucket: None,
            entities: HashMap::new(),
            known: HashMap::new(),
            loaded: false,
        }
    }

    /// Starts from a saved baseline: no training, every hit is scored.
    pub(crate) fn load(&mut self, saved: &Saved) {
        self.learning = false;
        self.loaded = true;
        let key = |v: &Vec<String>| v.iter().map(|s| Box::from(s.as_str())).collect::<Key>();
        match saved {
            Saved::Rate { entities, .. } => {
                for (entity, stats) in entities {
                    self.entities.entry(key(entity)).or_default().stats = Some(*stats);
                }
            }
            Saved::FirstSeen { known } => {
                for (entity, values) in known {
                    self.known.entry(key(entity)).or_default().extend(values.iter().map(key));
                }
            }
        }
    }

    fn bucket_of(&self, time: Timestamp) -> i64 {
        time.as_second().div_euclid(self.params.bucket.as_secs().max(1))
    }

    /// Whether `time` is still in the training window (which starts at the
    /// first hit and ends on a bucket boundary).
    fn training(&mut self, time: Timestamp) -> bool {
        if !self.learning {
            return false;
        }
        let first =
            *self.first_bucket.get_or_insert_with(|| time.as_second().div_euclid(self.params.bucket.as_secs().max(1)));
        let buckets =
            (self.params.learn.as_secs() + self.params.bucket.as_secs() - 1) / self.params.bucket.as_secs().max(1);
        let until =
            Timestamp::from_second((first + buckets.max(1)) * self.params.bucket.as_secs()).unwrap_or(Timestamp::MAX);
        self.learn_until = Some(until);
        if time < until {
            return true;
        }
        // Training is over: every entity's statistics are final.
        self.learning = false;
        let n = buckets.max(1) as usize;
        for entity in self.entities.values_mut() {
            entity.training.resize(n, 0);
            entity.stats = Some(RateStats::of(&entity.training));
            entity.training = Vec::new();
        }
        false
    }

    /// Processes one hit; closed buckets and new values become firings.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push(
        &mut self,
        c: usize,
        spec: &Correlation,
        time: Timestamp,
        weight: u32,
        key: Key,
        value: Option<Key>,
        details: &[(u16, Box<str>)],
        origin: Origin,
        out: &mut Vec<Firing>,
    ) {
        let training = self.training(time);
        match spec.kind {
            Kind::FirstSeen => {
                let Some(value) = value else { return };
                let known = get_or_insert(&mut self.known, &key);
                if known.contains(&value) {
                    return;
                }
                known.insert(value.clone());
                if training {
                    return;
                }
                let mut group: Vec<(String, String)> =
                    spec.group_by.iter().cloned().zip(key.iter().map(|v| v.to_string())).collect();
                group.extend(spec.condition.field.iter().cloned().zip(value.iter().map(|v| v.to_string())));
                let details = spec
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, field)| {
                        let values: Vec<String> =
                            details.iter().filter(|(d, _)| *d as usize == i).map(|(_, v)| v.to_string()).collect();
                        Detail { field: field.clone(), distinct: values.len(), values, more: false }
                    })
                    .collect();
                out.push(Firing {
                    correlation: c,
                    fired_at: time,
                    first_seen: time,
                    last_seen: time,
                    group,
                    events: 1,
                    per_rule: Vec::new(),
                    value: 1.0,
                    peak: 1.0,
                    details,
                    samples: vec![origin.clone()],
                    trigger: origin,
                    expected: Some(0.0),
                    score: None,
                });
            }
            Kind::BaselineRate => {
                let index = self.bucket_of(time);
                let first = self.first_bucket.unwrap_or(index);
                let entity = get_or_insert(&mut self.entities, &key);
                if training {
                    let i = (index - first).max(0) as usize;
                    if entity.training.len() <= i {
                        entity.training.resize(i + 1, 0);
                    }
                    entity.training[i] = entity.training[i].saturating_add(weight.max(1));
                    return;
                }
                if entity.current.as_ref().is_some_and(|b| b.index != index) {
                    let bucket = entity.current.take().expect("checked");
                    let stats = entity.stats.unwrap_or(RateStats { mean: 0.0, median: 0.0, mad: 0.0 });
                    if let Some(firing) = score(c, spec, &self.params, &key, bucket, stats) {
                        out.push(firing);
                    }
                }
                let bucket = entity.current.get_or_insert_with(|| Bucket {
                    index,
                    count: 0,
                    first: time,
                    last: time,
                    samples: Vec::new(),
                    trigger: origin.clone(),
                    trackers: spec.fields.iter().map(|_| Tracker::default()).collect(),
                });
                bucket.count += u64::from(weight.max(1));
                bucket.last = time;
                bucket.trigger = origin.clone();
                if bucket.samples.len() < SAMPLE_ORIGINS {
                    bucket.samples.push(origin);
                }
                for (i, v) in details {
                    bucket.trackers[*i as usize].add(v);
                }
            }
            _ => unreachable!("baseline kinds only"),
        }
    }

    /// Scores the buckets still open (end of input).
    pub(crate) fn finish(&mut self, c: usize, spec: &Correlation, out: &mut Vec<Firing>) {
        if self.learning {
            // The data ended inside the training window: nothing to score.
            return;
        }
        let mut keys: Vec<Key> = self.entities.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let entity = self.entities.get_mut(&key).expect("listed");
            if let Some(bucket) = entity.current.take() {
                let stats = entity.stats.unwrap_or(RateStats { mean: 0.0, median: 0.0, mad: 0.0 });
                if let Some(firing) = score(c, spec, &self.params, &key, bucket, stats) {
                    out.push(firing);
                }
            }
        }
    }

    /// What `--save-baseline` keeps: the learned (or loaded) statistics and
    /// known values.
    pub(crate) fn save(&self, kind: Kind) -> Option<Saved> {
        let text = |k: &Key| k.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match kind {
            Kind::BaselineRate => {
                if self.learning && !self.loaded {
                    return None;
                }
                let mut entities: Vec<(Vec<String>, RateStats)> =
                    self.entities.iter().filter_map(|(k, e)| e.stats.map(|s| (text(k), s))).collect();
                entities.sort_by(|a, b| a.0.cmp(&b.0));
                Some(Saved::Rate { bucket_seconds: self.params.bucket.as_secs(), entities })
            }
            Kind::FirstSeen => {
                let mut known: Vec<(Vec<String>, Vec<Vec<String>>)> = self
                    .known
                    .iter()
                    .map(|(k, values)| {
                        let mut values: Vec<Vec<String>> = values.iter().map(text).collect();
                        values.sort();
                        (text(k), values)
                    })
                    .collect();
                known.sort();
                Some(Saved::FirstSeen { known })
            }
            _ => None,
        }
    }
}

/// A bucket's firing, when it is anomalous for the entity.
fn score(
    c: usize,
    spec: &Correlation,
    params: &BaselineParams,
    key: &Key,
    bucket: Bucket,
    stats: RateStats,
) -> Option<Firing> {
    let count = bucket.count as f64;
    let z = (stats.mad > 0.0).then(|| 0.6745 * (count - stats.median) / stats.mad);
    let anomalous = bucket.count >= params.min_count
        && (count > params.multiplier * stats.mean || z.is_some_and(|z| z > params.zscore));
    if !anomalous {
        return None;
    }
    let start = Timestamp::from_second(bucket.index * params.bucket.as_secs()).unwrap_or(bucket.first);
    Some(Firing {
        correlation: c,
        fired_at: start,
        first_seen: bucket.first,
        last_seen: bucket.last,
        group: spec.group_by.iter().cloned().zip(key.iter().map(|v| v.to_string())).collect(),
        events: bucket.count,
        per_rule: Vec::new(),
        value: count,
        peak: count,
        details: spec.fields.iter().zip(bucket.trackers).map(|(f, t)| t.into_detail(f)).collect(),
        samples: bucket.samples,
        trigger: bucket.trigger,
        expected: Some(stats.mean),
        score: z,
    })
}
