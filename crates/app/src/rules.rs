//! Finding and reading rule files: user paths and ferret's embedded rules.

use std::borrow::Cow;
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
    let (files, mut diags) = list_rule_files(paths);
    let (sources, unreadable) = read_rule_files(&files);
    diags.extend(unreadable);
    (sources, diags)
}

/// The `.yml`/`.yaml` files under the given files and directories
/// (recursively, in sorted order), and what could not be listed.
pub fn list_rule_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for path in paths {
        if path.is_dir() {
            let (more, problems) = collect(path);
            files.extend(more);
            diags.extend(problems);
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
    (files, diags)
}

/// Reads rule files, in their order; those that cannot be read, or are
/// not UTF-8, become diagnostics.
pub fn read_rule_files(files: &[PathBuf]) -> (Vec<RuleSource>, Vec<Diagnostic>) {
    // Thousands of small files: read them in parallel, keep their order.
    let read: Vec<Result<RuleSource, Diagnostic>> = files.par_iter().map(|file| read_rule_file(file)).collect();
    let mut sources = Vec::with_capacity(read.len());
    let mut diags = Vec::new();
    for result in read {
        match result {
            Ok(source) => sources.push(source),
            Err(d) => diags.push(d),
        }
    }
    (sources, diags)
}

/// The name a rule file's source and diagnostics go by (its path; bytes
/// beyond UTF-8 replaced, as in `Path::display`).
pub(crate) fn source_name(file: &Path) -> Cow<'_, str> {
    file.to_string_lossy()
}

fn read_rule_file(file: &Path) -> Result<RuleSource, Diagnostic> {
    let name = source_name(file).into_owned();
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

/// The rule files under `dir`, in name order, with what could not be
/// listed. Subdirectories are listed in parallel (SigmaHQ's rules are in
/// hundreds of them).
fn collect(dir: &Path) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            let name = dir.display().to_string();
            return (Vec::new(), vec![Diagnostic::new(Code::YamlSyntax, &name, None, format!("cannot list: {e}"))]);
        }
    };
    // The entry's type comes with the listing: no stat per file (thousands
    // in the SigmaHQ corpus), except to follow symbolic links.
    // Sorted by name (the same order as by path within one directory, and
    // cheaper to compare).
    let mut entries: Vec<std::fs::DirEntry> = entries.flatten().collect();
    entries.sort_by_cached_key(|e| e.file_name());
    enum Found {
        File(PathBuf),
        Dir(PathBuf),
        Listed(Vec<PathBuf>, Vec<Diagnostic>),
    }
    let mut found: Vec<Found> = entries
        .into_iter()
        .filter_map(|entry| {
            let path = entry.path();
            let dir = match entry.file_type() {
                Ok(kind) if !kind.is_symlink() => kind.is_dir(),
                _ => path.is_dir(),
            };
            if dir {
                Some(Found::Dir(path))
            } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                Some(Found::File(path))
            } else {
                None
            }
        })
        .collect();
    found.par_iter_mut().for_each(|found| {
        if let Found::Dir(path) = found {
            let (files, diags) = collect(path);
            *found = Found::Listed(files, diags);
        }
    });
    let mut files = Vec::new();
    let mut diags = Vec::new();
    for found in found {
        match found {
            Found::File(path) => files.push(path),
            Found::Listed(more, problems) => {
                files.extend(more);
                diags.extend(problems);
            }
            Found::Dir(_) => unreachable!("every directory was listed"),
        }
    }
    (files, diags)
}
