//! Golden files for the compiler: each rule file under `tests/rules/` →
//! the compiled plan of every rule it holds (`Rule::dump`) and the rendered
//! diagnostics, in `tests/golden/<name>.txt`. `FERRET_UPDATE_GOLDEN=1`
//! regenerates them.

use std::path::Path;

use ferret_model::FieldNames;
use ferret_sigma::{Mappings, RuleSet, RuleSource};

fn render(name: &str, text: &str) -> String {
    let (set, diags) = RuleSet::compile(
        &[RuleSource { name: name.to_owned(), text: text.to_owned() }],
        FieldNames::new(),
        &Mappings::builtin(),
    );
    let mut out = String::new();
    for rule in set.rules() {
        out.push_str(&rule.dump());
        out.push('\n');
    }
    for d in &diags {
        out.push_str(&format!("{d}\n\n"));
    }
    out
}

#[test]
fn compiled_rules_and_diagnostics_match_their_golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut names: Vec<_> = std::fs::read_dir(dir.join("rules")).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    let update = std::env::var_os("FERRET_UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for name in names {
        let name = name.to_string_lossy().into_owned();
        let actual = render(&name, &std::fs::read_to_string(dir.join("rules").join(&name)).unwrap());
        let golden = dir.join("golden").join(name.replace(".yml", ".txt"));
        if update {
            std::fs::write(&golden, &actual).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(actual.as_str()) {
            failures.push(format!("{name} differs from {}:\n{actual}", golden.display()));
        }
    }
    assert!(failures.is_empty(), "{}\n(FERRET_UPDATE_GOLDEN=1 regenerates)", failures.join("\n"));
}
