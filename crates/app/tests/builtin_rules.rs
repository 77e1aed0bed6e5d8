//! Every built-in rule (`rules/**/*.yml`) has a test file beside it
//! (`*.tests.json`) with log lines or Windows events that must and must not
//! make that rule fire. Lines go through the real syslog (or web access
//! log) reader and events through the real JSON reader, so the test covers
//! the field names the readers produce, not only the rule logic.
//!
//! A file of several rule documents (the helper rules of a correlation
//! file, `rules/correlation/`) has one test file with a case set per rule
//! `name`: `{"rules": {"<name>": {"kind": ..., "match": ..., "no_match": ...}}}`.
//! The correlations themselves are tested in `correlation_rules.rs`.

mod common;

use std::path::{Path, PathBuf};

use ferret_app::load_rules;
use ferret_model::{Event, FieldNames};
use ferret_read::json::JsonReader;
use ferret_read::syslog::SyslogReader;
use ferret_read::web::WebReader;
use ferret_read::{ReadOptions, SourceContext};
use ferret_sigma::{RuleSet, Scanner};
use serde_json::Value as Json;

fn test_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            test_files(&path, out);
        } else if path.to_string_lossy().ends_with(".tests.json") {
            out.push(path);
        }
    }
}

fn events(kind: &str, input: &Json, names: &std::sync::Arc<FieldNames>) -> Vec<Event> {
    let ctx = SourceContext::new("test", names.clone(), ReadOptions::default());
    let results: Vec<_> = match kind {
        "syslog" => {
            let line = input.as_str().expect("syslog cases are lines").to_owned() + "\n";
            SyslogReader::new(line.as_bytes(), ctx).collect()
        }
        "web" => {
            let line = input.as_str().expect("web cases are lines").to_owned() + "\n";
            WebReader::new(line.as_bytes(), ctx).collect()
        }
        "windows" => {
            let line = serde_json::to_string(input).unwrap() + "\n";
            JsonReader::new(line.as_bytes(), ctx).collect()
        }
        other => panic!("unknown test kind {other}"),
    };
    results.into_iter().map(|r| r.unwrap_or_else(|e| panic!("test input does not read: {e}"))).collect()
}

fn fires(set: &RuleSet, rule_id: &str, events: &[Event]) -> bool {
    let mut scanner = Scanner::new(set);
    let mut out = Vec::new();
    for event in events {
        scanner.scan(event, &mut out);
    }
    out.iter().any(|m| set.rule(m.rule).id == rule_id)
}

#[test]
fn every_builtin_rule_passes_its_tests() {
    let rules_dir = common::repo_root().join("rules");
    let names = FieldNames::new();
    let ferret_app::LoadedRules { set, diagnostics: diags, .. } =
        load_rules(&[], true, names.clone(), &ferret_sigma::Mappings::builtin(), None);
    assert!(diags.is_empty(), "built-in rules load without diagnostics: {diags:#?}");
    let mut files = Vec::new();
    test_files(&rules_dir, &mut files);
    let mut tested = 0;
    let mut failures = Vec::new();
    for file in &files {
        let rule_file = file.to_string_lossy().replace(".tests.json", ".yml");
        let rel = Path::new(&rule_file).strip_prefix(&rules_dir).unwrap().to_string_lossy().replace('\\', "/");
        let spec: Json = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        // One case set for the file's rule, or one per named rule.
        let case_sets: Vec<(Option<&str>, &Json)> = match spec["rules"].as_object() {
            Some(by_name) => by_name.iter().map(|(name, cases)| (Some(name.as_str()), cases)).collect(),
            None => vec![(None, &spec)],
        };
        for (name, spec) in case_sets {
            let rule = set
                .rules()
                .find(|r| r.file == format!("builtin:{rel}") && (name.is_none() || r.name.as_deref() == name))
                .unwrap_or_else(|| panic!("no built-in rule {name:?} for {}", file.display()));
            let label = match name {
                Some(name) => format!("{rel} ({name})"),
                None => rel.clone(),
            };
            tested += 1;
            assert!(rule.tags.iter().any(|t| t.starts_with("attack.t")), "{label} has an ATT&CK technique tag");
            let kind = spec["kind"].as_str().unwrap();
            let cases = |key: &str| spec[key].as_array().cloned().unwrap_or_default();
            assert!(
                !cases("match").is_empty() && !cases("no_match").is_empty(),
                "{label}: both match and no_match cases"
            );
            for (key, want) in [("match", true), ("no_match", false)] {
                for case in cases(key) {
                    if fires(&set, &rule.id, &events(kind, &case, &names)) != want {
                        failures
                            .push(format!("{label}: expected {} on {case}", if want { "a match" } else { "no match" }));
                    }
                }
            }
        }
    }
    assert_eq!(tested, set.len(), "one test case set per built-in rule");
    for correlation in &set.correlations().correlations {
        let spec = &correlation.spec;
        assert!(spec.tags.iter().any(|t| t.starts_with("attack.t")), "{} has an ATT&CK technique tag", spec.title);
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
