//! `rules test`: SigmaHQ's regression convention. A rule names an
//! `info.yml` with `regression_tests_path`; that file lists samples (EVTX)
//! on which the rule must fire, `match_count` times when given (at least
//! once otherwise), as SigmaHQ's own runner checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_model::{Event, FieldNames};
use ferret_read::{Format, Input, ReadError, ReadOptions, ReadResult, StreamVisitor, read_input};
use ferret_sigma::yaml::{self, Node, NodeKind};
use ferret_sigma::{Mappings, RuleSet, Scanner};

use crate::rules::read_rule_paths;

/// The outcome of one regression sample.
#[derive(Clone, Debug)]
pub struct SampleResult {
    pub rule_id: String,
    pub rule_title: String,
    pub rule_file: String,
    pub sample: PathBuf,
    /// `match_count` from info.yml; `None` means "at least one".
    pub expected: Option<u64>,
    pub found: u64,
    pub passed: bool,
    /// Why it failed: read errors, or each event's explanation.
    pub details: Vec<String>,
}

/// Everything `rules test` found.
#[derive(Clone, Debug, Default)]
pub struct RegressionReport {
    pub results: Vec<SampleResult>,
    /// Rules whose `regression_tests_path` names no file here (the shared
    /// data holds a subset of SigmaHQ's samples), and other notes.
    pub skipped: Vec<String>,
}

impl RegressionReport {
    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }
}

/// Runs the regression samples of every rule under `rule_paths`.
pub fn regression_test(rule_paths: &[PathBuf], mappings: &Mappings) -> RegressionReport {
    let names = FieldNames::new();
    let (sources, _) = read_rule_paths(rule_paths);
    let (set, diags) = RuleSet::compile(&sources, names.clone(), mappings);
    let mut report = RegressionReport::default();
    // A rule that did not load cannot pass its samples: say so.
    for source in sources.iter().filter(|s| s.text.contains("\nregression_tests_path:")) {
        if !set.rules().any(|r| r.file == source.name) {
            let reasons: Vec<String> = diags.iter().filter(|d| d.file == source.name).map(|d| d.to_string()).collect();
            report.results.push(SampleResult {
                rule_id: String::new(),
                rule_title: source.name.clone(),
                rule_file: source.name.clone(),
                sample: PathBuf::new(),
                expected: None,
                found: 0,
                passed: false,
                details: reasons,
            });
        }
    }
    for (index, rule) in set.rules().enumerate() {
        let Some(rel) = &rule.regression_tests_path else { continue };
        let Some(info) = find_upwards(Path::new(&rule.file), rel) else {
            report.skipped.push(format!("{}: {rel} not found", rule.file));
            continue;
        };
        let root = info.ancestors().nth(rel.split('/').count()).unwrap_or(Path::new(".")).to_owned();
        match samples(&info) {
            Ok(entries) => {
                if entries.is_empty() {
                    report.skipped.push(format!("{}: {} lists no active sample", rule.file, info.display()));
                }
                for entry in entries {
                    if entry.kind != "evtx" {
                        report.skipped.push(format!("{}: sample type '{}' is not run", rule.file, entry.kind));
                        continue;
                    }
                    report.results.push(run_sample(&set, index, &names, &root.join(&entry.path), entry.match_count));
                }
            }
            Err(message) => report.results.push(SampleResult {
                rule_id: rule.id.clone(),
                rule_title: rule.title.clone(),
                rule_file: rule.file.clone(),
                sample: info.clone(),
                expected: None,
                found: 0,
                passed: false,
                details: vec![message],
            }),
        }
    }
    report
}

/// `rel` resolved against the rule file's ancestors (the corpus root is
/// some levels up from the rule).
fn find_upwards(rule_file: &Path, rel: &str) -> Option<PathBuf> {
    rule_file.ancestors().skip(1).map(|dir| dir.join(rel)).find(|p| p.is_file())
}

struct SampleEntry {
    kind: String,
    path: String,
    match_count: Option<u64>,
}

fn samples(info: &Path) -> Result<Vec<SampleEntry>, String> {
    let text = std::fs::read_to_string(info).map_err(|e| format!("{}: {e}", info.display()))?;
    let docs = yaml::parse(&text).map_err(|e| format!("{}:{}: {}", info.display(), e.line, e.message))?;
    let Some(NodeKind::Seq(entries)) = docs.first().and_then(|d| d.get("regression_tests_info")).map(|n| &n.kind)
    else {
        return Ok(Vec::new());
    };
    Ok(entries
        .iter()
        .map(|e| SampleEntry {
            kind: e.get("type").and_then(Node::as_str).unwrap_or_default().to_owned(),
            path: e.get("path").and_then(Node::as_str).unwrap_or_default().to_owned(),
            match_count: e.get("match_count").and_then(Node::as_str).and_then(|s| s.parse().ok()),
        })
        .collect())
}

struct Collect {
    events: Vec<Event>,
    errors: Vec<String>,
}

impl StreamVisitor for Collect {
    fn stream(&mut self, _: &Arc<str>, _: Format, events: &mut dyn Iterator<Item = ReadResult>) {
        for event in events {
            match event {
                Ok(e) => self.events.push(e),
                Err(e) => self.errors.push(e.to_string()),
            }
        }
    }
    fn unreadable(&mut self, error: ReadError) {
        self.errors.push(error.to_string());
    }
}

fn run_sample(
    set: &RuleSet,
    index: usize,
    names: &Arc<FieldNames>,
    sample: &Path,
    expected: Option<u64>,
) -> SampleResult {
    let rule = set.rule(index);
    let mut collect = Collect { events: Vec::new(), errors: Vec::new() };
    read_input(&Input::File(sample.to_owned()), names, &ReadOptions::default(), &mut collect);
    let mut scanner = Scanner::new(set);
    let mut matches = Vec::new();
    let mut found = 0;
    for event in &collect.events {
        matches.clear();
        scanner.scan(event, &mut matches);
        found += matches.iter().filter(|m| m.rule == index).count() as u64;
    }
    let passed = found >= expected.unwrap_or(1);
    let mut details = collect.errors;
    if !passed {
        for event in &collect.events {
            details.push(format!("{}: {}", event.provenance, scanner.explain(index, event)));
        }
    }
    SampleResult {
        rule_id: rule.id.clone(),
        rule_title: rule.title.clone(),
        rule_file: rule.file.clone(),
        sample: sample.to_owned(),
        expected,
        found,
        passed,
        details,
    }
}
