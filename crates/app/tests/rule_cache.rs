//! The compiled-rule cache: a second run loads what the first stored and
//! finds the same alerts; anything changed or damaged is never used.

mod common;

use std::path::{Path, PathBuf};

use ferret_app::rule_cache::CacheReport;
use ferret_app::{HuntConfig, HuntSummary, NoProgress, hunt};
use ferret_model::{Alert, VecSink};
use tempfile::TempDir;

fn run(config: &HuntConfig) -> (HuntSummary, Vec<Alert>) {
    let mut sink = VecSink::default();
    let summary = hunt(config, &mut sink, &NoProgress).expect("hunt runs");
    (summary, sink.0)
}

/// A hunt of the example incident with the built-in rules plus `rules`.
fn config(cache: &Path, rules: Vec<PathBuf>) -> HuntConfig {
    HuntConfig {
        inputs: vec![common::repo_root().join("examples")],
        rule_paths: rules,
        builtin_rules: true,
        rule_cache: Some(cache.to_owned()),
        ..HuntConfig::default()
    }
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn stored(report: &CacheReport) -> (PathBuf, Option<String>) {
    match report {
        CacheReport::Stored { path, replaced } => (path.clone(), replaced.clone()),
        other => panic!("expected the rules to be compiled and stored, got {other:?}"),
    }
}

#[test]
fn a_second_run_loads_the_stored_rules_and_finds_the_same_alerts() {
    let cache = TempDir::new().unwrap();
    let (uncached, want) = run(&HuntConfig { rule_cache: None, ..config(cache.path(), vec![]) });
    assert_eq!(uncached.rule_cache, CacheReport::Disabled);
    assert!(want.len() > 10, "the example incident raises alerts");

    let (first, alerts) = run(&config(cache.path(), vec![]));
    let (path, replaced) = stored(&first.rule_cache);
    assert_eq!(replaced, None);
    assert_eq!(alerts, want);

    let (second, alerts) = run(&config(cache.path(), vec![]));
    assert_eq!(second.rule_cache, CacheReport::Loaded(path.clone()));
    assert_eq!(alerts, want);
    assert_eq!(
        (second.rules_loaded, second.correlations_loaded, second.diagnostics),
        (first.rules_loaded, first.correlations_loaded, first.diagnostics)
    );
    assert_eq!(cache_files(cache.path()), vec![path]);
}

#[test]
fn a_damaged_or_foreign_file_is_refused_and_replaced() {
    let cache = TempDir::new().unwrap();
    let (first, want) = run(&config(cache.path(), vec![]));
    let (path, _) = stored(&first.rule_cache);
    let good = std::fs::read(&path).unwrap();
    type Damage = Box<dyn Fn(&mut Vec<u8>)>;
    let damage: [(&str, Damage); 4] = [
        ("checksum mismatch", Box::new(|b: &mut Vec<u8>| *b.last_mut().unwrap() ^= 1)),
        ("checksum mismatch", Box::new(|b: &mut Vec<u8>| b.truncate(b.len() - 100))),
        ("not a ferret rule cache file", Box::new(|b: &mut Vec<u8>| b.truncate(20))),
        ("stored for other rules", Box::new(|b: &mut Vec<u8>| b[8] ^= 1)),
    ];
    for (why, damage) in damage {
        let mut bytes = good.clone();
        damage(&mut bytes);
        std::fs::write(&path, &bytes).unwrap();
        let (summary, alerts) = run(&config(cache.path(), vec![]));
        let (again, replaced) = stored(&summary.rule_cache);
        assert_eq!(again, path);
        let replaced = replaced.expect("the damaged file is reported");
        assert!(replaced.contains(why), "{why}: {replaced}");
        assert_eq!(alerts, want, "{why}");
        let (next, alerts) = run(&config(cache.path(), vec![]));
        assert_eq!(next.rule_cache, CacheReport::Loaded(path.clone()), "{why}: rewritten");
        assert_eq!(alerts, want, "{why}");
    }
}

#[cfg(unix)]
#[test]
fn a_file_others_may_write_is_not_trusted() {
    use std::os::unix::fs::PermissionsExt;
    let cache = TempDir::new().unwrap();
    let (first, _) = run(&config(cache.path(), vec![]));
    let (path, _) = stored(&first.rule_cache);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (summary, _) = run(&config(cache.path(), vec![]));
    let (_, replaced) = stored(&summary.rule_cache);
    assert!(replaced.unwrap().contains("writable by others"));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o022, 0, "the new file is private: {mode:o}");
    let (third, _) = run(&config(cache.path(), vec![]));
    assert!(matches!(third.rule_cache, CacheReport::Loaded(_)));
}

#[test]
fn changed_rules_or_mappings_get_a_new_entry_and_old_entries_are_pruned() {
    let cache = TempDir::new().unwrap();
    let rules = TempDir::new().unwrap();
    let rule = rules.path().join("system_logon.yml");
    let write_rule = |title: &str| {
        let text = format!(
            "title: {title}\nid: 0b1a4d35-3c2a-4bb5-9c8e-6a7f3a3e5d11\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4624\n    TargetUserName: SYSTEM\n  condition: selection\nlevel: low\n"
        );
        std::fs::write(&rule, text).unwrap();
    };
    write_rule("System logon");
    let (first, alerts) = run(&config(cache.path(), vec![rules.path().to_owned()]));
    let (one, _) = stored(&first.rule_cache);
    assert!(alerts.iter().any(|a| a.rule.title == "System logon"));

    // The same rule retitled: a different key, compiled again.
    write_rule("Service logon as SYSTEM");
    let (second, alerts) = run(&config(cache.path(), vec![rules.path().to_owned()]));
    let (two, _) = stored(&second.rule_cache);
    assert_ne!(one, two);
    assert!(alerts.iter().any(|a| a.rule.title == "Service logon as SYSTEM"));
    assert!(!alerts.iter().any(|a| a.rule.title == "System logon"));

    // A mapping file laid over the built-in one: another key.
    let mappings = rules.path().join("mappings.yaml");
    std::fs::write(&mappings, "placeholders:\n  admins: [root]\n").unwrap();
    let (third, _) =
        run(&HuntConfig { mappings: Some(mappings.clone()), ..config(cache.path(), vec![rules.path().to_owned()]) });
    let (three, _) = stored(&third.rule_cache);
    assert!(one != three && two != three);

    // Ten rule sets later, only the eight most recent files are kept.
    for n in 0..10 {
        write_rule(&format!("System logon {n}"));
        run(&config(cache.path(), vec![rules.path().to_owned()]));
    }
    assert_eq!(cache_files(cache.path()).len(), 8);
}

#[test]
fn a_cache_that_cannot_be_written_leaves_the_hunt_unchanged() {
    let cache = TempDir::new().unwrap();
    let (_, want) = run(&HuntConfig { rule_cache: None, ..config(cache.path(), vec![]) });
    // The cache "directory" is a file: nothing can be stored in it.
    let not_a_dir = cache.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let (summary, alerts) = run(&config(&not_a_dir, vec![]));
    match summary.rule_cache {
        CacheReport::Unusable(why) => assert!(why.contains("cannot write the rule cache"), "{why}"),
        other => panic!("expected the cache to be reported unusable, got {other:?}"),
    }
    assert_eq!(alerts, want);
}

#[test]
fn a_rule_file_that_cannot_be_read_is_reported_from_the_cache_too() {
    let cache = TempDir::new().unwrap();
    let rules = TempDir::new().unwrap();
    let rule = "title: Whoami run\nlogsource:\n  category: process_creation\n  product: windows\n\
                detection:\n  selection:\n    Image|endswith: '\\whoami.exe'\n  condition: selection\n";
    std::fs::write(rules.path().join("a.yml"), rule).unwrap();
    std::fs::write(rules.path().join("b.yml"), b"title: \xff broken\n").unwrap();
    let (first, want) = run(&config(cache.path(), vec![rules.path().to_owned()]));
    let (path, _) = stored(&first.rule_cache);
    let broken: Vec<&str> =
        first.diagnostics.iter().filter(|d| d.message.contains("not UTF-8")).map(|d| d.file.as_str()).collect();
    assert_eq!(broken.len(), 1, "{:?}", first.diagnostics);
    assert!(broken[0].ends_with("b.yml"), "{broken:?}");
    // The key is then taken from the files that could be read: the second
    // run finds the stored set and reports the broken file again.
    let (second, alerts) = run(&config(cache.path(), vec![rules.path().to_owned()]));
    assert_eq!(second.rule_cache, CacheReport::Loaded(path));
    assert_eq!(second.diagnostics, first.diagnostics);
    assert_eq!(alerts, want);
}
