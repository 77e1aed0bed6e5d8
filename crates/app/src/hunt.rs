//! The hunt use case: read every input in parallel, route each event to the
//! rules of its logsource, and hand the alerts to a sink in a deterministic
//! order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferret_model::{Alert, AlertRule, AlertSink, Event, FieldNames, Level, MatchedField, attack_techniques};
use ferret_read::{
    Input, InputPart, ReadError, ReadOptions, ReadResult, StreamVisitor, expand_inputs, read_input_part, split_inputs,
};
use ferret_sigma::correlation::{SavedBaselines, Tuning};
use ferret_sigma::{Diagnostic, Hit, Mappings, Match, RuleSet, Scanner, Severity};

use crate::cache_key;
use crate::correlate::{CorrelationStats, DEFAULT_BUDGET, SharedSorter, firing_alert};
use crate::host::host_of;
use crate::ordered::{Parts, run_ordered};
use crate::rule_cache::{self, CacheReport};
use crate::rules::{builtin_sources, list_rule_files, read_rule_files};

/// What to hunt in and with.
#[derive(Clone, Debug, Default)]
pub struct HuntConfig {
    /// Files, directories, archives; `-` for stdin.
    pub inputs: Vec<PathBuf>,
    /// Rule files and directories given by the user.
    pub rule_paths: Vec<PathBuf>,
    /// Also use ferret's embedded rules.
    pub builtin_rules: bool,
    /// Only report alerts at or above this level.
    pub min_level: Option<Level>,
    /// Attach to every alert the explanation of why its rule fired.
    pub explain: bool,
    /// A mapping file (logsources, placeholders) on top of the built-in one.
    pub mappings: Option<PathBuf>,
    pub read: ReadOptions,
    /// Correlation hits held in memory before sorted runs spill to
    /// temporary files (0: the default).
    pub correlation_budget: usize,
    /// Correlation thresholds and windows set by the user.
    pub tuning: Tuning,
    /// Baselines saved by an earlier run, to score against instead of
    /// learning from this data.
    pub baseline: Option<PathBuf>,
    /// Where to save the baselines this run learned (or loaded).
    pub save_baseline: Option<PathBuf>,
    /// The compiled-rule cache directory (`None`: always compile).
    pub rule_cache: Option<PathBuf>,
}

/// Reports progress to whoever drives the hunt (a progress bar, a log).
/// Every method has a no-op default.
pub trait Progress: Sync {
    /// The number of inputs, once known.
    fn inputs(&self, _count: usize) {}
    /// One input is done (all its parts: a large file is read in
    /// segments), with the events read from it; reported in input order.
    fn input_done(&self, _name: &str, _events: u64) {}
    /// A record or file could not be read (reported as it happens).
    fn read_error(&self, _error: &ReadError) {}
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What a hunt did, for the summary that ends a run.
#[derive(Clone, Debug, Default)]
pub struct HuntSummary {
    /// Inputs found (files, archive members count as their archive).
    pub files: usize,
    /// Streams read (a zip with five logs is five streams).
    pub streams: usize,
    pub events: u64,
    /// Records that could not be read and were skipped.
    pub records_skipped: u64,
    /// Files or archive members that could not be read at all.
    pub unreadable: Vec<ReadError>,
    /// Streams by format name.
    pub formats: BTreeMap<String, usize>,
    pub rules_loaded: usize,
    /// Rule files/documents that did not load (error diagnostics).
    pub rules_with_errors: usize,
    pub rules_with_warnings: usize,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the rules came from the compiled-rule cache.
    pub rule_cache: CacheReport,
    pub alerts_by_level: BTreeMap<Level, usize>,
    /// Correlation rules loaded, and what they did.
    pub correlations_loaded: usize,
    pub correlation: CorrelationStats,
    pub elapsed: Duration,
}

impl HuntSummary {
    pub fn alerts(&self) -> usize {
        self.alerts_by_level.values().sum()
    }

    /// Nothing at all could be read from the inputs.
    pub fn nothing_read(&self) -> bool {
        self.streams == 0 && self.files + self.unreadable.len() > 0
    }

    /// Any input problem: unreadable files or skipped records.
    pub fn had_read_errors(&self) -> bool {
        !self.unreadable.is_empty() || self.records_skipped > 0
    }
}

/// Hunt errors that stop the run before it starts.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    #[error("no rules to hunt with: --no-builtin is set and no --rules were given")]
    NoRules,
    #[error("{0}")]
    Tuning(String),
    #[error("baseline file {0}")]
    Baseline(String),
    #[error("bad mapping file {0}")]
    Mappings(String),
    #[error("writing alerts failed: {0}")]
    Output(std::io::Error),
    #[error("sorting correlation hits failed (temporary files): {0}")]
    Correlation(std::io::Error),
}

/// By hand rather than `#[from]`, which would also make the error its
/// source: the message already holds it, and a report that prints the
/// chain said it twice ("No space left on device (os error 28): No space
/// left on device (os error 28)").
impl From<std::io::Error> for HuntError {
    fn from(error: std::io::Error) -> Self {
        HuntError::Output(error)
    }
}

/// The built-in logsource mapping, with the user's file on top when given.
pub fn load_mappings(path: Option<&Path>) -> Result<Mappings, HuntError> {
    let Some(path) = path else { return Ok(Mappings::builtin()) };
    let text = std::fs::read_to_string(path).map_err(|e| HuntError::Mappings(format!("{}: {e}", path.display())))?;
    Mappings::with_overrides(&text).map_err(|e| HuntError::Mappings(format!("{}: {e}", path.display())))
}

/// The rules a hunt (or `rules check`) uses, compiled or from the cache.
pub struct LoadedRules {
    pub set: RuleSet,
    /// Unreadable rule files, then what compiling them reported.
    pub diagnostics: Vec<Diagnostic>,
    pub cache: CacheReport,
}

/// Loads and compiles the rules a hunt (or `rules check`) uses; with a
/// cache directory, a set compiled by an earlier run with the same rules
/// (and the same ferret) is loaded instead, and a newly compiled one is
/// stored (see `rule_cache`).
pub fn load_rules(
    rule_paths: &[PathBuf],
    builtin: bool,
    names: Arc<FieldNames>,
    mappings: &Mappings,
    cache_dir: Option<&Path>,
) -> LoadedRules {
    let (files, mut diagnostics) = list_rule_files(rule_paths);
    let builtins = if builtin { builtin_sources() } else { Vec::new() };
    let mut refused = None;
    let mut load = |dir: &Path, key: &[u8; 32]| match rule_cache::load(dir, key, &names) {
        Ok(found) => found,
        Err(why) => {
            refused = Some(why);
            None
        }
    };
    // From the cache, the rule files are only hashed, not kept.
    let mut hashed = None;
    if let Some(dir) = cache_dir {
        hashed = cache_key::key_of(&cache_key::unread(&builtins, &files), mappings);
        if let Some(key) = &hashed
            && let Some(found) = load(dir, key)
        {
            return from_cache(found, diagnostics);
        }
    }
    let (read, unreadable) = read_rule_files(&files);
    diagnostics.extend(unreadable);
    let mut sources = builtins;
    sources.extend(read);
    // Keyed on the texts compiled. Hashing the files gave no key when one
    // could not be read, a key no set is stored under when one is not
    // UTF-8, and another when one changed since: the set of what was read
    // may be stored.
    let key = cache_dir.and_then(|dir| Some((dir, cache_key::key(&sources, mappings)?)));
    if let Some((dir, key)) = &key
        && hashed.as_ref() != Some(key)
        && let Some(found) = load(dir, key)
    {
        return from_cache(found, diagnostics);
    }
    let (set, compiled) = match key {
        Some(_) => RuleSet::compile_storable(&sources, names, mappings),
        None => RuleSet::compile(&sources, names, mappings),
    };
    let cache = match (&key, cache_dir) {
        (Some((dir, key)), _) => match rule_cache::store(dir, key, &set, &compiled) {
            Ok(path) => CacheReport::Stored { path, replaced: refused },
            Err(why) => CacheReport::Unusable(why),
        },
        (None, Some(_)) => CacheReport::Unusable("the running executable cannot be identified".into()),
        (None, None) => CacheReport::Disabled,
    };
    diagnostics.extend(compiled);
    LoadedRules { set, diagnostics, cache }
}

/// A rule set the cache gave, after the diagnostics of listing and reading
/// its files.
fn from_cache(
    (set, compiled, path): (RuleSet, Vec<Diagnostic>, PathBuf),
    mut diagnostics: Vec<Diagnostic>,
) -> LoadedRules {
    diagnostics.extend(compiled);
    LoadedRules { set, diagnostics, cache: CacheReport::Loaded(path) }
}

/// Runs a hunt, writing alerts to `sink` input by input (paths in sorted
/// order, directories expanded), and within an input in record order, then
/// rule order: the same output whatever the thread count.
pub fn hunt(config: &HuntConfig, sink: &mut dyn AlertSink, progress: &dyn Progress) -> Result<HuntSummary, HuntError> {
    let started = Instant::now();
    let names = FieldNames::new();
    let mappings = load_mappings(config.mappings.as_deref())?;
    // The inputs are listed (and large files cut into segments) while
    // the rules load: both wait on the file system, and a triage collection
    // of many thousand files takes about half as long to list as the corpus
    // to load from the cache.
    let (LoadedRules { set: mut rules, diagnostics, cache }, (inputs, missing, input_parts)) =
        std::thread::scope(|scope| {
            let listing = scope.spawn(|| {
                let (inputs, missing) = expand_inputs(&config.inputs);
                let parts = split_inputs(&inputs, &config.read);
                (inputs, missing, parts)
            });
            let rules = load_rules(
                &config.rule_paths,
                config.builtin_rules,
                names.clone(),
                &mappings,
                config.rule_cache.as_deref(),
            );
            (rules, listing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
    rules.tune_correlations(&config.tuning).map_err(HuntError::Tuning)?;
    // Rule paths that hold no rules are allowed (reading and validating the
    // input alone, or measuring it); no rules asked for at all is a mistake.
    if rules.is_empty() && config.rule_paths.is_empty() {
        return Err(HuntError::NoRules);
    }
    let mut summary = HuntSummary {
        rules_loaded: rules.len(),
        correlations_loaded: rules.correlations().len(),
        rules_with_errors: diagnostics.iter().filter(|d| d.severity == Severity::Error).count(),
        rules_with_warnings: count_rules(&diagnostics, Severity::Warning),
        diagnostics,
        rule_cache: cache,
        ..HuntSummary::default()
    };
    for error in &missing {
        progress.read_error(error);
    }
    summary.unreadable.extend(missing);
    summary.files = inputs.len();
    progress.inputs(inputs.len());

    // Inputs are read in parallel and their alerts written in input order
    // as each input is next (see `ordered`): output streams, memory holds
    // at most `PARTS_AHEAD` batches of later inputs' alerts, and the output
    // is the same whatever the thread count. The window lets the other
    // threads get well ahead of a large input.
    let window = rayon::current_num_threads().max(1) * 64;
    // Correlation hits of every input, put in time order once all are read.
    let budget = if config.correlation_budget == 0 { DEFAULT_BUDGET } else { config.correlation_budget };
    let sorter = SharedSorter::new(budget);
    let alert_rules: AlertRules = (0..rules.len()).map(|_| std::sync::OnceLock::new()).collect();
    let scanners = Mutex::new(Vec::new());
    let shared = Shared {
        rules: &rules,
        alert_rules: &alert_rules,
        names: &names,
        config,
        progress,
        sorter: &sorter,
        scanners: &scanners,
    };
    // Work in parts: an input, or a segment of a large file; numbered
    // in order, as correlation hits are ordered by part then record.
    let numbered: Vec<(u32, &InputPart)> = input_parts.iter().enumerate().map(|(i, part)| (i as u32, part)).collect();
    let work = |&(index, part): &(u32, &InputPart), parts: &mut Parts<'_, Part>| {
        let input = &inputs[part.input];
        let mut result = hunt_input(index, input, part, &shared, parts);
        result.ends_input = part.ends_input().then(|| input.name());
        parts.finish(Part::Finished(result));
    };
    // An input's parts are written one after the other: its events are
    // summed until its last part is.
    let mut input_events = 0;
    run_ordered(&numbered, window, PARTS_AHEAD, work, |part: Part| -> std::io::Result<()> {
        let result = match part {
            Part::Alerts(alerts) => {
                for alert in &alerts {
                    *summary.alerts_by_level.entry(alert.rule.level).or_default() += 1;
                    sink.alert(alert)?;
                }
                return Ok(());
            }
            Part::Finished(result) => result,
        };
        summary.correlation.hits += result.hits;
        summary.correlation.untimed += result.untimed;
        summary.streams += result.streams;
        summary.events += result.events;
        input_events += result.events;
        if let Some(name) = &result.ends_input {
            progress.input_done(name, std::mem::take(&mut input_events));
        }
        summary.records_skipped += result.records_skipped;
        summary.unreadable.extend(result.unreadable);
        for (format, n) in result.formats {
            *summary.formats.entry(format).or_default() += n;
        }
        Ok(())
    })?;
    if !rules.correlations().is_empty() {
        let saved = config.baseline.as_deref().map(read_baselines).transpose()?;
        let (firings, learned) =
            sorter.correlate(&rules, saved.as_ref(), &mut summary.correlation).map_err(HuntError::Correlation)?;
        if let Some(path) = &config.save_baseline {
            let text = serde_json::to_string_pretty(&learned).expect("baselines serialize");
            std::fs::write(path, text).map_err(|e| HuntError::Baseline(format!("writing {}: {e}", path.display())))?;
        }
        for firing in firings.iter().filter(|f| rules.correlations().correlations[f.correlation].alerts) {
            let alert = firing_alert(firing, &rules);
            if config.min_level.is_some_and(|min| alert.rule.level < min) {
                continue;
            }
            *summary.alerts_by_level.entry(alert.rule.level).or_default() += 1;
            sink.alert(&alert)?;
        }
    }
    sink.finish()?;
    summary.elapsed = started.elapsed();
    // Freeing a whole corpus of compiled rules (millions of small
    // allocations) takes tens of milliseconds the caller need not wait
    // for: it happens on a thread of its own (or not at all if the process
    // exits first).
    std::thread::spawn(move || drop(rules));
    Ok(summary)
}

fn read_baselines(path: &Path) -> Result<SavedBaselines, HuntError> {
    let text = std::fs::read_to_string(path).map_err(|e| HuntError::Baseline(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        HuntError::Baseline(format!("{}:{}:{}: not a ferret baseline file: {e}", path.display(), e.line(), e.column()))
    })
}

/// Distinct rules (by file and rule label) with diagnostics of a severity.
fn count_rules(diags: &[Diagnostic], severity: Severity) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    for d in diags.iter().filter(|d| d.severity == severity) {
        seen.insert((d.file.as_str(), d.rule.as_deref()));
    }
    seen.len()
}

/// What an input's worker hands over: its alerts in batches as it goes,
/// then its figures.
enum Part {
    Alerts(Vec<Alert>),
    Finished(FileResult),
}

/// Alerts per batch handed over by a worker.
const ALERT_BATCH: usize = 1024;
/// Batches the inputs not yet being written may hold in all before their
/// workers wait: memory stays bounded however many alerts inputs make.
const PARTS_AHEAD: usize = 32;

#[derive(Default)]
struct FileResult {
    streams: usize,
    events: u64,
    records_skipped: u64,
    unreadable: Vec<ReadError>,
    formats: BTreeMap<String, usize>,
    /// Correlation hits made, and matches that could not make one.
    hits: u64,
    untimed: u64,
    /// The input's name, when this part is its last.
    ends_input: Option<String>,
}

/// `'a`: the worker's borrows; `'r`: the rule set's (a scanner outlives
/// the input it served, see `Shared::scanners`).
struct HuntVisitor<'a, 'p, 'r> {
    parts: &'a mut Parts<'p, Part>,
    alerts: Vec<Alert>,
    scanner: Scanner<'r>,
    rules: &'a RuleSet,
    min_level: Option<Level>,
    explain: bool,
    progress: &'a dyn Progress,
    result: FileResult,
    /// Whether a stream read here is one of the input's own (a segment after
    /// a file's first continues its stream).
    counts_streams: bool,
    matches: Vec<Match>,
    /// Correlation hits: the number of this part of the inputs (parts are
    /// numbered in input and record order, and hits at the same time are
    /// ordered by it), the next hit number, a batch handed to the shared
    /// sorter when full.
    input: u32,
    seq: u64,
    hits: Vec<Hit>,
    batch: Vec<(u32, u64, Hit)>,
    sorter: &'a SharedSorter,
    alert_rules: &'a AlertRules,
}

/// Per rule: what its alerts say of it, made at its first alert and shared
/// by all (threads and inputs included).
type AlertRules = Vec<std::sync::OnceLock<Arc<AlertRule>>>;

/// Hits handed to the shared sorter at a time (one lock per batch).
const HIT_BATCH: usize = 4096;

impl StreamVisitor for HuntVisitor<'_, '_, '_> {
    fn stream(&mut self, _name: &Arc<str>, format: ferret_read::Format, events: &mut dyn Iterator<Item = ReadResult>) {
        if self.counts_streams {
            self.result.streams += 1;
            *self.result.formats.entry(format.to_string()).or_default() += 1;
        }
        for item in events {
            match item {
                Ok(event) => {
                    self.result.events += 1;
                    self.scan(&event);
                }
                Err(error) => {
                    self.result.records_skipped += 1;
                    self.progress.read_error(&error);
                }
            }
        }
    }

    fn unreadable(&mut self, error: ReadError) {
        self.progress.read_error(&error);
        self.result.unreadable.push(error);
    }
}

impl HuntVisitor<'_, '_, '_> {
    fn scan(&mut self, event: &Event) {
        self.matches.clear();
        self.scanner.scan(event, &mut self.matches);
        // Taken out and put back so `explain` can borrow the scanner.
        let mut matches = std::mem::take(&mut self.matches);
        let correlations = self.rules.correlations();
        // Looked up once per event that matched anything.
        let host = if matches.is_empty() { None } else { host_of(event, self.rules.names()) };
        for m in matches.drain(..) {
            if correlations.feeds(m.rule) {
                if correlations.hits(m.rule, event, host.as_deref(), &mut self.hits) {
                    for hit in self.hits.drain(..) {
                        self.batch.push((self.input, self.seq, hit));
                        self.seq += 1;
                        self.result.hits += 1;
                    }
                    if self.batch.len() >= HIT_BATCH {
                        self.sorter.push(&mut self.batch);
                    }
                } else {
                    self.result.untimed += 1;
                }
                if !correlations.rule_alerts(m.rule) {
                    continue;
                }
            }
            let rule = self.rules.rule(m.rule);
            if self.min_level.is_some_and(|min| rule.level < min) {
                continue;
            }
            let alert_rule = self.alert_rules[m.rule].get_or_init(|| {
                Arc::new(AlertRule {
                    id: rule.id.clone(),
                    title: rule.title.clone(),
                    level: rule.level,
                    status: rule.status.clone(),
                    attack: attack_techniques(&rule.tags),
                    tags: rule.tags.clone(),
                    source: rule.file.clone(),
                })
            });
            self.alerts.push(Alert {
                timestamp: event.timestamp,
                rule: alert_rule.clone(),
                host: host.clone(),
                matched: m.fields.into_iter().map(|(field, value)| MatchedField { field, value }).collect(),
                provenance: event.provenance.clone(),
                explanation: self.explain.then(|| self.scanner.explain(m.rule, event)),
                correlation: None,
            });
        }
        self.matches = matches;
        if self.alerts.len() >= ALERT_BATCH {
            self.parts.send(Part::Alerts(std::mem::take(&mut self.alerts)));
        }
    }
}

/// What every input's worker shares.
struct Shared<'a> {
    rules: &'a RuleSet,
    alert_rules: &'a AlertRules,
    names: &'a Arc<FieldNames>,
    config: &'a HuntConfig,
    progress: &'a dyn Progress,
    sorter: &'a SharedSorter,
    /// Scanners of finished inputs, for the next ones: a scanner's tables
    /// (routing, needle bitsets, buffers) warm up over its first events,
    /// and most inputs are small files.
    scanners: &'a Mutex<Vec<Scanner<'a>>>,
}

fn hunt_input<'r>(
    index: u32,
    input: &Input,
    part: &InputPart,
    shared: &Shared<'r>,
    parts: &mut Parts<'_, Part>,
) -> FileResult {
    let Shared { rules, alert_rules, names, config, progress, sorter, scanners } = *shared;
    let mut scanner = scanners.lock().unwrap_or_else(|e| e.into_inner()).pop().unwrap_or_else(|| Scanner::new(rules));
    // A segment after a file's first keeps what the scanner's value
    // cache learnt: the file's values repeat across its segments.
    if part.starts_input() {
        scanner.start_input();
    }
    let mut visitor = HuntVisitor {
        parts,
        alerts: Vec::new(),
        scanner,
        rules,
        min_level: config.min_level,
        explain: config.explain,
        progress,
        result: FileResult::default(),
        counts_streams: part.starts_input(),
        matches: Vec::new(),
        input: index,
        seq: 0,
        hits: Vec::new(),
        batch: Vec::new(),
        sorter,
        alert_rules,
    };
    read_input_part(input, part.segment.as_ref(), names, &config.read, &mut visitor);
    sorter.push(&mut visitor.batch);
    if !visitor.alerts.is_empty() {
        visitor.parts.send(Part::Alerts(std::mem::take(&mut visitor.alerts)));
    }
    scanners.lock().unwrap_or_else(|e| e.into_inner()).push(visitor.scanner);
    visitor.result
}
