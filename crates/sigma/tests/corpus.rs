//! Loads the whole SigmaHQ corpus (../shared/data/sigma/rules*): no panic,
//! and every rule that is not loaded is accounted for by a diagnostic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferret_model::FieldNames;
use ferret_sigma::{Code, Mappings, RuleSet, RuleSource, Severity};

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sigma");
    dir.is_dir().then_some(dir)
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn whole_corpus_loads_and_every_skip_is_explained() {
    let Some(dir) = corpus_dir() else {
        assert!(std::env::var_os("FERRET_REQUIRE_SHARED_DATA").is_none(), "../shared/data is required but missing");
        eprintln!("skipping: ../shared/data not found");
        return;
    };
    let mut files = Vec::new();
    for tree in [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-compliance",
        "rules-placeholder",
        "rules-dfir",
    ] {
        if dir.join(tree).is_dir() {
            yaml_files(&dir.join(tree), &mut files);
        }
    }
    let sources: Vec<RuleSource> = files
        .iter()
        .map(|p| RuleSource {
            name: p.strip_prefix(&dir).unwrap().display().to_string(),
            text: std::fs::read_to_string(p).unwrap(),
        })
        .collect();
    let (set, diags) = RuleSet::compile(&sources, FieldNames::new(), &Mappings::builtin());
    let errors: Vec<_> = diags.iter().filter(|d| d.severity == Severity::Error).collect();
    assert_eq!(set.len() + errors.len(), sources.len(), "every document is either loaded or has an error diagnostic");
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &diags {
        *by_code.entry(d.code.as_str()).or_default() += 1;
    }
    let mut report = format!("files: {}\nloaded: {}\n", sources.len(), set.len());
    for (code, n) in &by_code {
        report.push_str(&format!("{code}: {n}\n"));
    }
    // The count of each code is kept in a golden file so that a change in
    // what the engine accepts shows up in review.
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/corpus_diagnostics.txt");
    if std::env::var_os("FERRET_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &report).unwrap();
    } else {
        let expected = std::fs::read_to_string(&golden).unwrap();
        assert_eq!(report, expected, "diagnostic counts changed (FERRET_UPDATE_GOLDEN=1 regenerates)");
    }
    // Nothing in the corpus may fail for a reason other than the documented
    // gaps: ETW/unsupported logsources and placeholders without values.
    let unexpected: Vec<_> =
        errors.iter().filter(|d| !matches!(d.code, Code::UnsupportedLogsource | Code::UnresolvedPlaceholder)).collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    // Every Linux, web, proxy, cloud and network logsource is either served
    // by a reader (routed) or reported as unsupported: none falls back to
    // generic JSON/CSV matching.
    let families = [
        "linux",
        "aws",
        "azure",
        "gcp",
        "okta",
        "m365",
        "github",
        "kubernetes",
        "bitbucket",
        "onelogin",
        "zeek",
        "cisco",
        "juniper",
        "huawei",
        "fortigate",
        "fortios",
        "paloalto",
        "webserver",
        "proxy",
        "dns",
        "firewall",
        "macos",
    ];
    let generic: Vec<_> = diags
        .iter()
        .filter(|d| d.code == Code::UnmappedLogsource)
        .filter(|d| {
            families.iter().any(|f| d.message.contains(&format!(": {f}")) || d.message.contains(&format!(": {f},")))
        })
        .collect();
    assert!(generic.is_empty(), "{generic:#?}");
}
