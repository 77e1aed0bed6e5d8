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
            let (more, problems) = collect(path, None);
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

/// A directory being listed and those it is listed under: a symbolic link
/// back to one of them would be followed forever.
struct Listing<'a> {
    id: Option<DirId>,
    under: Option<&'a Listing<'a>>,
}

impl Listing<'_> {
    fn contains(&self, id: DirId) -> bool {
        self.id == Some(id) || self.under.is_some_and(|under| under.contains(id))
    }
}

/// A directory's device and inode.
type DirId = (u64, u64);

#[cfg(unix)]
fn dir_id(dir: &Path) -> Option<DirId> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir).ok().map(|meta| (meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn dir_id(_dir: &Path) -> Option<DirId> {
    None
}

/// The rule files under `dir`, in name order, with what could not be
/// listed. Subdirectories are listed in parallel (SigmaHQ's rules are in
/// hundreds of them); a directory already being listed above (reached
/// again through a symbolic link) is reported and not listed again.
fn collect(dir: &Path, under: Option<&Listing>) -> (Vec<PathBuf>, Vec<Diagnostic>) {
    let listing = Listing { id: dir_id(dir), under };
    if let (Some(id), Some(under)) = (listing.id, under)
        && under.contains(id)
    {
        let name = dir.display().to_string();
        let message = "a symbolic link back to a folder it is in: not listed again";
        return (Vec::new(), vec![Diagnostic::new(Code::YamlSyntax, &name, None, message)]);
    }
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
            let (files, diags) = collect(path, Some(&listing));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_files_are_listed_in_name_order_through_nested_folders() {
        let dir = tempfile::TempDir::new().unwrap();
        for path in ["b/z.yml", "b/a.yaml", "a.yml", "c/d/e.yml", "c/notes.txt", "b.yml"] {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "title: x\n").unwrap();
        }
        let (files, diags) = list_rule_files(&[dir.path().to_owned()]);
        let names: Vec<String> =
            files.iter().map(|f| f.strip_prefix(dir.path()).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a.yml", "b/a.yaml", "b/z.yml", "b.yml", "c/d/e.yml"]);
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_loop_is_reported_not_followed_forever() {
        let dir = tempfile::TempDir::new().unwrap();
        let rules = dir.path().join("rules");
        std::fs::create_dir_all(rules.join("a/b")).unwrap();
        std::fs::write(rules.join("a/b/r.yml"), "title: x\n").unwrap();
        // a/b/up -> .. (a), and a/b/other -> a sibling with its own rule.
        std::os::unix::fs::symlink("..", rules.join("a/b/up")).unwrap();
        std::fs::create_dir_all(dir.path().join("other")).unwrap();
        std::fs::write(dir.path().join("other/o.yml"), "title: o\n").unwrap();
        std::os::unix::fs::symlink(dir.path().join("other"), rules.join("a/b/other")).unwrap();
        let (files, diags) = list_rule_files(std::slice::from_ref(&rules));
        let names: Vec<String> = files.iter().map(|f| f.strip_prefix(&rules).unwrap().display().to_string()).collect();
        assert_eq!(names, ["a/b/other/o.yml", "a/b/r.yml"]);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(diags[0].file.ends_with("a/b/up") && diags[0].message.contains("symbolic link"), "{diags:?}");
    }
}
