//! Finding and reading rule files: user paths and ferret's embedded rules.

use std::path::{Path, PathBuf};

use ferret_sigma::{Code, Diagnostic, RuleSource};
use rayon::prelude::*;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The name embedded rules are reported under.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// ferret's own rules, as sources named `builtin:<path>`.
pub fn builtin_sources() -> Vec<RuleSource> {
    BUILTIN_RULES
        .iter()
        .map(|(path, text)| RuleSource { name: format!("{BUILTIN_PREFIX}{path}"), text: (*text).to_owned() })
        .collect()
}

/// Reads every `.yml`/`.yaml` file under the given files and directories
/// (recursively, in sorted order). Files that cannot be read become
/// diagnostics; nothing stops the rest.
pub fn read_rule_paths(paths: &[PathBuf]) -> (Vec<RuleSource>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut files, &mut diags);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            diags.push(Diagnostic::new(
                Code::YamlSyntax,
                &path.display().to_string(),
                None,
                "no such rule file or directory",
            ));
        }
    }
    // Thousands of small files: read them in parallel, keep their order.
    let read: Vec<Result<RuleSource, Diagnostic>> = files.par_iter().map(|file| read_rule_file(file)).collect();
    let mut sources = Vec::with_capacity(read.len());
    for result in read {
        match result {
            Ok(source) => sources.push(source),
            Err(d) => diags.push(d),
        }
    }
    (sources, diags)
}

fn read_rule_file(file: &Path) -> Result<RuleSource, Diagnostic> {
    let name = file.display().to_string();
    let bytes =
        std::fs::read(file).map_err(|e| Diagnostic::new(Code::YamlSyntax, &name, None, format!("cannot read: {e}")))?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(RuleSource { name, text }),
        Err(e) => Err(Diagnostic::new(
            Code::YamlSyntax,
            &name,
            None,
            format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )),
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            diags.push(Diagnostic::new(
                Code::YamlSyntax,
                &dir.display().to_string(),
                None,
                format!("cannot list: {e}"),
            ));
            return;
        }
    };
    // The entry's type comes with the listing: no stat per file (thousands
    // in the SigmaHQ corpus), except to follow symbolic links.
    // Sorted by name (the same order as by path within one directory, and
    // cheaper to compare).
    let mut entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_cached_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let dir = match entry.file_type() {
            Ok(kind) if !kind.is_symlink() => kind.is_dir(),
            _ => path.is_dir(),
        };
        if dir {
            collect(&path, out, diags);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}
