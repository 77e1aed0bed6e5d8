//! The correlation engine: hits in event-time order in, firings out.
//!
//! Semantics (docs/CORRELATION.md has examples):
//! * Windows slide with the events: when a hit arrives at time `t`, the
//!   window of its group holds the group's hits in `[t - timespan, t]`
//!   (both ends included), and the condition is evaluated on it. A burst
//!   that straddles a clock boundary is seen whole; a window never spans
//!   more than `timespan` (SIGMA.md EC-49).
//! * An episode opens at the first hit that makes the condition true and
//!   stays open while each later hit of the group keeps it true; it closes
//!   at the first hit that makes it false, when the group has been idle for
//!   a timespan, or at the end of the input. One firing (alert) per
//!   episode, with the first and last hit, counts and samples, so a
//!   brute force of 10,000 attempts is one alert, not 9,990.
//! * A referenced correlation matches at every hit at which its condition
//!   holds; each such moment is a hit for the correlations built on it.
//! * State per group expires with the window: memory holds the groups seen
//!   within the last timespan, and each window holds at most what the
//!   condition needs (the last N hits for `gte: N`).

use std::collections::VecDeque;

// Keyed by log values (group-by fields): foldhash, seeded per process,
// several times cheaper per hit than SipHash.
use foldhash::{HashMap, HashSet};

use ferret_model::{Provenance, Timestamp};
use jiff::SignedDuration;

use super::baseline::{BaselineState, Saved};
use super::set::CorrelationSet;
use super::spec::Kind;

/// Origins sampled per alert (the first ones of the episode).
pub const SAMPLE_ORIGINS: usize = 10;
/// Distinct values listed per summarised field.
pub const LISTED_VALUES: usize = 20;
/// Distinct values counted per summarised field; beyond, "at least".
const COUNTED_VALUES: usize = 10_000;
/// Hits kept per group by temporal types (only for samples and fields).
const TEMPORAL_WINDOW: usize = 64;

/// Where a hit came from: its event's provenance and host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub provenance: Provenance,
    pub host: Option<Box<str>>,
}

/// One rule match (or inner correlation match) as a correlation sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub time: Timestamp,
    pub correlation: u32,
    /// Which of the correlation's `rules` matched.
    pub slot: u16,
    /// The group-by values, in `group-by` order.
    pub group: Box<[Box<str>]>,
    /// value_count and metrics: the condition field(s).
    pub value: Option<Box<[Box<str>]>>,
    /// (index into the correlation's `fields`, value).
    pub details: Vec<(u16, Box<str>)>,
    pub origin: Origin,
    /// How many occurrences the record stands for: syslog's "message
    /// repeated 5 times" is five failed logins (`event.count`), else 1.
    pub weight: u32,
}

/// Distinct values of one summarised field in an episode.
#[derive(Clone, Debug, PartialEq)]
pub struct Detail {
    pub field: String,
    /// Distinct values counted (at least this many when `more`).
    pub distinct: usize,
    /// The first distinct values, in order of appearance.
    pub values: Vec<String>,
    pub more: bool,
}

/// A correlation episode: what an alert reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Firing {
    pub correlation: usize,
    /// The hit that first made the condition true.
    pub fired_at: Timestamp,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// (group-by name, value).
    pub group: Vec<(String, String)>,
    /// Hits in the episode, in total and per referenced rule.
    pub events: u64,
    pub per_rule: Vec<u64>,
    /// The aggregate (count, distinct values, sum...) when it fired, and
    /// its highest value during the episode.
    pub value: f64,
    pub peak: f64,
    pub details: Vec<Detail>,
    /// The first hits' origins.
    pub samples: Vec<Origin>,
    pub trigger: Origin,
    /// Baselines: the entity's learned rate per bucket (0 for a value never
    /// seen), and the bucket's robust z-score when defined.
    pub expected: Option<f64>,
    pub score: Option<f64>,
}

struct Entry {
    time: Timestamp,
    weight: u32,
    slot: u16,
    value: Option<Box<[Box<str>]>>,
    number: f64,
    details: Vec<(u16, Box<str>)>,
    origin: Origin,
}

/// Distinct values of one summarised field.
#[derive(Default)]
pub(crate) struct Tracker {
    seen: HashSet<Box<str>>,
    listed: Vec<String>,
    more: bool,
}

impl Tracker {
    pub(crate) fn into_detail(self, field: &str) -> Detail {
        Detail { field: field.to_owned(), distinct: self.seen.len(), values: self.listed, more: self.more }
    }

    pub(crate) fn add(&mut self, value: &str) {
        if self.seen.contains(value) {
            return;
        }
        if self.seen.len() >= COUNTED_VALUES {
            self.more = true;
            return;
        }
        self.seen.insert(value.into());
        if self.listed.len() < LISTED_VALUES {
            self.listed.push(value.to_owned());
        } else {
            self.more = true;
        }
    }
}

struct Episode {
    fired_at: Timestamp,
    first_seen: Timestamp,
    last_seen: Timestamp,
    events: u64,
    per_rule: Vec<u64>,
    value: f64,
    peak: f64,
    trackers: Vec<Tracker>,
    samples: Vec<Origin>,
    trigger: Origin,
}

impl Episode {
    fn add(&mut self, entry: &Entry) {
        self.first_seen = self.first_seen.min(entry.time);
        self.last_seen = self.last_seen.max(entry.time);
        self.events += u64::from(entry.weight);
        self.per_rule[entry.slot as usize] += u64::from(entry.weight);
        for (i, value) in &entry.details {
            self.trackers[*i as usize].add(value);
        }
        if self.samples.len() < SAMPLE_ORIGINS {
            self.samples.push(entry.origin.clone());
        }
    }
}

#[derive(Default)]
struct Group {
    window: VecDeque<Entry>,
    /// event_count: every hit's time and weight in the window, and their
    /// sum. `window` may keep only the newest entries (for samples); this
    /// keeps the true count for `value` and `peak`.
    times: VecDeque<(Timestamp, u32)>,
    count: u64,
    /// value_count: occurrences of each value tuple in the window.
    distinct: HashMap<Box<[Box<str>]>, u32>,
    /// Metrics: sum of the window's numbers.
    sum: f64,
    /// temporal: the latest hit time per rule; temporal_ordered: per rule
    /// i, the latest start of an in-order sequence of rules 0..=i.
    marks: Vec<Option<Timestamp>>,
    episode: Option<Episode>,
    last: Option<Timestamp>,
}

/// Baselines saved by one run for the next (`--save-baseline`), by
/// correlation id.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedBaselines {
    pub version: u32,
    pub baselines: std::collections::BTreeMap<String, Saved>,
}

/// Runs every correlation of a set over hits given in time order.
pub struct Correlator<'s> {
    set: &'s CorrelationSet,
    groups: Vec<HashMap<Box<[Box<str>]>, Group>>,
    now: Option<Timestamp>,
    last_sweep: Option<Timestamp>,
    sweep_every: SignedDuration,
    firings: Vec<Firing>,
    late: u64,
    excluded: u64,
    pending: Vec<Hit>,
    /// Per correlation: the state of `baseline` documents.
    baselines: Vec<Option<BaselineState>>,
}

impl<'s> Correlator<'s> {
    pub fn new(set: &'s CorrelationSet) -> Self {
        let sweep_every = set
            .correlations
            .iter()
            .map(|c| c.spec.timespan)
            .min()
            .unwrap_or(SignedDuration::from_secs(60))
            .max(SignedDuration::from_secs(1));
        Correlator {
            set,
            groups: (0..set.len()).map(|_| HashMap::default()).collect(),
            now: None,
            last_sweep: None,
            sweep_every,
            firings: Vec::new(),
            late: 0,
            excluded: 0,
            pending: Vec::new(),
            baselines: set
                .correlations
                .iter()
                .map(|c| c.spec.baseline.is_some().then(|| BaselineState::new(&c.spec)))
                .collect(),
        }
    }

    /// Starts baselines from saved ones (by correlation id); returns the
    /// ids that matched no loaded baseline document of the same type.
    pub fn load_baselines(&mut self, saved: &SavedBaselines) -> Vec<String> {
        let mut unused = Vec::new();
        for (id, baseline) in &saved.baselines {
            let target = self.set.correlations.iter().position(|c| {
                c.spec.id == *id
                    && matches!(
                        (c.spec.kind, baseline),
                        (Kind::BaselineRate, Saved::Rate { .. }) | (Kind::FirstSeen, Saved::FirstSeen { .. })
                    )
            });
            match target.and_then(|i| self.baselines[i].as_mut()) {
                Some(state) => state.load(baseline),
                None => unused.push(id.clone()),
            }
        }
        unused
    }

    /// The learned baselines, to reuse on a later run.
    pub fn save_baselines(&self) -> SavedBaselines {
        let mut baselines = std::collections::BTreeMap::new();
        for (c, state) in self.baselines.iter().enumerate() {
            let spec = &self.set.correlations[c].spec;
            if let Some(saved) = state.as_ref().and_then(|s| s.save(spec.kind)) {
                baselines.insert(spec.id.clone(), saved);
            }
        }
        SavedBaselines { version: 1, baselines }
    }

    /// Hits that arrived earlier than one already processed (the caller's
    /// ordering failed); they are processed at their own time.
    pub fn late(&self) -> u64 {
        self.late
    }

    /// Hits whose metric field was not a number (excluded).
    pub fn excluded(&self) -> u64 {
        self.excluded
    }

    /// Live groups across all correlations (for memory accounting).
    pub fn groups(&self) -> usize {
        self.groups.iter().map(HashMap::len).sum()
    }

    /// Processes one hit. Hits must come in non-decreasing time order.
    pub fn push(&mut self, hit: Hit) {
        match self.now {
            Some(now) if hit.time < now => self.late += 1,
            _ => self.now = Some(hit.time),
        }
        let now = self.now.unwrap_or(hit.time);
        if self.last_sweep.is_none_or(|last| now.duration_since(last) >= self.sweep_every) {
            self.sweep(now);
            self.last_sweep = Some(now);
        }
        self.pending.push(hit);
        // Inner correlations' matches are processed at once, in order.
        while let Some(hit) = self.pending.pop() {
            self.process(hit);
        }
    }

    /// Firings of the episodes that have closed so far.
    pub fn take_firings(&mut self) -> Vec<Firing> {
        std::mem::take(&mut self.firings)
    }

    /// Closes every open episode (end of input) and returns all firings
    /// not taken yet.
    pub fn finish(mut self) -> Vec<Firing> {
        for c in 0..self.baselines.len() {
            if let Some(state) = self.baselines[c].as_mut() {
                state.finish(c, &self.set.correlations[c].spec, &mut self.firings);
            }
        }
        for c in 0..self.groups.len() {
            let groups = std::mem::take(&mut self.groups[c]);
            let mut keys: Vec<_> = groups.into_iter().collect();
            // Deterministic order whatever the hash seed.
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, mut group) in keys {
                if let Some(episode) = group.episode.take() {
                    self.close(c, &key, episode);
                }
            }
        }
        self.firings
    }

    /// Drops groups idle for longer than their timespan, closing episodes.
    fn sweep(&mut self, now: Timestamp) {
        for c in 0..self.groups.len() {
            let span = self.set.correlations[c].spec.timespan;
            let mut expired: Vec<(Box<[Box<str>]>, Episode)> = Vec::new();
            self.groups[c].retain(|key, group| {
                let idle = group.last.is_none_or(|last| now.duration_since(last) > span);
                if idle && let Some(episode) = group.episode.take() {
                    expired.push((key.clone(), episode));
                }
                !idle
            });
            expired.sort_by(|a, b| a.0.cmp(&b.0));
            for (key, episode) in expired {
                self.close(c, &key, episode);
            }
        }
    }

    fn process(&mut self, hit: Hit) {
        let c = hit.correlation as usize;
        let resolved = &self.set.correlations[c];
        let spec = &resolved.spec;
        if let Some(state) = self.baselines[c].as_mut() {
            let Hit { time, group, value, details, origin, weight, .. } = hit;
            state.push(c, spec, time, weight, group, value, &details, origin, &mut self.firings);
            return;
        }
        let number = if spec.kind.is_metric() {
            match hit.value.as_ref().and_then(|v| v.first()).and_then(|v| v.trim().parse::<f64>().ok()) {
                Some(n) if n.is_finite() => n,
                _ => {
                    self.excluded += 1;
                    return;
                }
            }
        } else {
            0.0
        };
        let span = spec.timespan;
        let rules = resolved.sources.len();
        let Hit { time, slot, group: key, value, details, origin, weight, .. } = hit;
        let group = get_or_insert(&mut self.groups[c], &key);
        if group.marks.is_empty() {
            group.marks = vec![None; rules];
        }
        group.last = Some(group.last.map_or(time, |l| l.max(time)));
        let start = time - span;
        // Slide: drop hits older than the window.
        while group.window.front().is_some_and(|e| e.time < start) {
            let old = group.window.pop_front().expect("checked");
            forget(group, &old);
        }
        while group.times.front().is_some_and(|(t, _)| *t < start) {
            let (_, w) = group.times.pop_front().expect("checked");
            group.count -= u64::from(w);
        }
        let weight = weight.max(1);
        if spec.kind == Kind::EventCount {
            group.times.push_back((time, weight));
            group.count += u64::from(weight);
        }
        let entry = Entry { time, weight, slot, value, number, details, origin };
        remember(group, &entry, spec.kind, span);
        group.window.push_back(entry);
        let cap = match spec.kind {
            Kind::EventCount => spec.condition.lower_bound_count(),
            Kind::Temporal | Kind::TemporalOrdered => Some(TEMPORAL_WINDOW),
            _ => None,
        };
        if let Some(cap) = cap {
            while group.window.len() > cap {
                let old = group.window.pop_front().expect("non-empty");
                forget(group, &old);
            }
        }
        let aggregate = aggregate(group, spec.kind, spec.condition.percentile, time, span);
        let holds = spec.condition.holds(aggregate);
        let newest = group.window.back().expect("just pushed");
        if holds {
            match &mut group.episode {
                Some(episode) => {
                    episode.add(newest);
                    episode.peak = episode.peak.max(aggregate);
                }
                None => {
                    let mut episode = Episode {
                        fired_at: time,
                        first_seen: time,
                        last_seen: time,
                        events: 0,
                        per_rule: vec![0; rules],
                        value: aggregate,
                        peak: aggregate,
                        trackers: spec.fields.iter().map(|_| Tracker::default()).collect(),
                        samples: Vec::new(),
                        trigger: newest.origin.clone(),
                    };
                    for entry in &group.window {
                        episode.add(entry);
                    }
                    // Hits older than the kept entries (event_count keeps
                    // the newest N) still count.
                    if spec.kind == Kind::EventCount {
                        episode.events = episode.events.max(group.count);
                    }
                    group.episode = Some(episode);
                }
            }
            if !resolved.parents.is_empty() {
                // This correlation matches now: a hit for those built on it.
                let episode = group.episode.as_ref().expect("open");
                let mut pairs: Vec<(String, String)> =
                    spec.group_by.iter().cloned().zip(key.iter().map(|v| v.to_string())).collect();
                for (name, tracker) in spec.fields.iter().zip(&episode.trackers) {
                    pairs.extend(tracker.listed.iter().map(|v| (name.clone(), v.clone())));
                }
                let origin = newest.origin.clone();
                let mut chained = Vec::new();
                self.set.chained_hits(c, time, &pairs, &origin, &mut chained);
                // Processed in reference order (pending is a stack).
                self.pending.extend(chained.into_iter().rev());
            }
        } else if let Some(episode) = group.episode.take() {
            self.close(c, &key, episode);
        }
    }

    fn close(&mut self, c: usize, key: &[Box<str>], episode: Episode) {
        let spec = &self.set.correlations[c].spec;
        self.firings.push(Firing {
            correlation: c,
            fired_at: episode.fired_at,
            first_seen: episode.first_seen,
            last_seen: episode.last_seen,
            group: spec.group_by.iter().cloned().zip(key.iter().map(|v| v.to_string())).collect(),
            events: episode.events,
            per_rule: episode.per_rule,
            value: episode.value,
            peak: episode.peak,
            details: spec.fields.iter().zip(episode.trackers).map(|(field, t)| t.into_detail(field)).collect(),
            samples: episode.samples,
            trigger: episode.trigger,
            expected: None,
            score: None,
        });
    }
}

/// Adds an entry's contribution to the group's running state.
fn remember(group: &mut Group, entry: &Entry, kind: Kind, span: SignedDuration) {
    let slot = entry.slot as usize;
    match kind {
        Kind::ValueCount => {
            if let Some(value) = &entry.value {
                *group.distinct.entry(value.clone()).or_default() += 1;
            }
        }
        Kind::ValueSum | Kind::ValueAvg | Kind::ValuePercentile => group.sum += entry.number,
        Kind::Temporal => group.marks[slot] = Some(entry.time),
        Kind::TemporalOrdered => {
            // The latest start of rules 0..=slot in order ending now.
            let start = if slot == 0 {
                Some(entry.time)
            } else {
                group.marks[slot - 1].filter(|s| entry.time.duration_since(*s) <= span)
            };
            if let Some(start) = start {
                group.marks[slot] = Some(group.marks[slot].map_or(start, |old| old.max(start)));
            }
        }
        Kind::EventCount | Kind::BaselineRate | Kind::FirstSeen => {}
    }
}

/// Removes an entry that left the window.
fn forget(group: &mut Group, entry: &Entry) {
    if let Some(value) = &entry.value
        && let Some(n) = group.distinct.get_mut(value)
    {
        *n -= 1;
        if *n == 0 {
            group.distinct.remove(value);
        }
    }
    group.sum -= entry.number;
    if group.window.is_empty() {
        group.sum = 0.0;
    }
}

/// The value the condition is evaluated on at time `now`.
fn aggregate(group: &Group, kind: Kind, percentile: f64, now: Timestamp, span: SignedDuration) -> f64 {
    let live = |t: &Option<Timestamp>| t.is_some_and(|t| now.duration_since(t) <= span);
    match kind {
        Kind::EventCount => group.count as f64,
        Kind::BaselineRate | Kind::FirstSeen => group.window.len() as f64,
        Kind::ValueCount => group.distinct.len() as f64,
        Kind::Temporal => group.marks.iter().filter(|t| live(t)).count() as f64,
        Kind::TemporalOrdered => group.marks.iter().rposition(live).map_or(0.0, |i| (i + 1) as f64),
        Kind::ValueSum => group.sum,
        Kind::ValueAvg => group.sum / group.window.len().max(1) as f64,
        Kind::ValuePercentile => {
            let mut numbers: Vec<f64> = group.window.iter().map(|e| e.number).collect();
            numbers.sort_by(f64::total_cmp);
            // Nearest rank.
            let rank = ((percentile / 100.0) * numbers.len() as f64).ceil().max(1.0) as usize;
            numbers.get(rank.min(numbers.len()) - 1).copied().unwrap_or(0.0)
        }
    }
}

/// The value under `key`, inserted (with a copy of the key) only when
/// missing: most hits find their group, and copying a key costs
/// allocations.
pub(crate) fn get_or_insert<'m, V: Default, S: std::hash::BuildHasher>(
    map: &'m mut std::collections::HashMap<Box<[Box<str>]>, V, S>,
    key: &[Box<str>],
) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.into(), V::default());
    }
    map.get_mut(key).expect("present")
}
