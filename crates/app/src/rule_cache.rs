//! The compiled-rule cache: a rule set compiled once is stored on disk and
//! loaded by later runs with the same rules, skipping the compilation
//! (~0.2 s for the SigmaHQ corpus).
//!
//! Never trusted blindly:
//! - the key is a BLAKE3 hash of every rule file's name and content, the
//!   user's logsource mapping, ferret's version and the identity (size,
//!   modification time) of the running executable (see `cache_key`), so
//!   any change to the rules or to ferret gives a new key and the file of
//!   the old one is never read;
//! - a file holds its full key, checked before its body is read, and a
//!   BLAKE3 checksum of its body, taken beside the decoding: nothing
//!   decoded is kept unless it matches, so what a run uses is what this
//!   executable wrote; a set whose field names do not line up with the
//!   run's is refused, and the automata, read when first searched with,
//!   go through daachorse's validating reader;
//! - on Unix, a file that another user owns or that others may write is
//!   ignored (someone else could have planted a rule set);
//! - anything wrong means compiling from the rules, as without a cache,
//!   and the reason is reported.
//!
//! Files are written to a temporary name and renamed, so a reader never
//! sees half a file; the directory keeps the most recently written few.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_model::FieldNames;
use ferret_sigma::diagnostic::Diagnostic;
use ferret_sigma::{RuleSet, StoredFile};

/// Bumped when the stored layout changes in a way the executable identity
/// would not catch (it always changes with the code, so rarely needed).
pub(crate) const FORMAT: u32 = 8;
const MAGIC: &[u8; 8] = b"FERRETRC";
const HEADER: usize = MAGIC.len() + 32 + 32;
/// Cache files kept in the directory (one per rule set used recently).
const KEEP: usize = 8;

/// What the cache did for this run, for the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CacheReport {
    /// No cache directory (disabled, or no home directory).
    #[default]
    Disabled,
    /// The rule set was loaded from this file.
    Loaded(PathBuf),
    /// Compiled, and stored in this file for next time; `replaced` says
    /// why the file there before was refused.
    Stored { path: PathBuf, replaced: Option<String> },
    /// Compiled; the cache could not be used or written (why).
    Unusable(String),
}

/// The default cache directory: `$FERRET_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/ferret`, else `$HOME/.cache/ferret`.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("FERRET_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("ferret")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("ferret")))
}

fn file_for(dir: &Path, key: &[u8; 32]) -> PathBuf {
    let hex: String = key[..16].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("rules-{hex}.bin"))
}

/// The rule set stored under `key`, if there is a sound one. `Ok(None)`:
/// no file (the normal miss); `Err`: a file was there and refused.
pub(crate) fn load(
    dir: &Path,
    key: &[u8; 32],
    names: &Arc<FieldNames>,
) -> Result<Option<(RuleSet, Vec<Diagnostic>, PathBuf)>, String> {
    let path = file_for(dir, key);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let refuse = |why: &str| Err(format!("{}: {why}; compiled the rules instead", path.display()));
    // Owner and mode of the file opened, not of whatever the path names a
    // moment later.
    let checked = file.metadata().map_err(|e| e.to_string()).and_then(|meta| owned_by_us(&meta));
    if let Err(why) = checked {
        return refuse(&why);
    }
    let mapped = match map(&file) {
        Ok(mapped) => mapped,
        Err(e) => return refuse(&e.to_string()),
    };
    let bytes = (*mapped).as_ref();
    if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
        return refuse("not a ferret rule cache file");
    }
    if bytes[MAGIC.len()..MAGIC.len() + 32] != key[..] {
        return refuse("stored for other rules");
    }
    let body = &bytes[HEADER..];
    let checksum = || match bytes[MAGIC.len() + 32..HEADER] == blake3::hash(body).as_bytes()[..] {
        true => Ok(()),
        false => Err("checksum mismatch (damaged)".to_owned()),
    };
    // The set reads its rules and automata from the file's bytes when first
    // used: shared, not copied. The checksum is taken beside the decoding.
    match RuleSet::from_bytes(&mapped, HEADER, names.clone(), checksum) {
        Ok((set, diagnostics)) => Ok(Some((set, diagnostics, path))),
        Err(why) => refuse(&why),
    }
}

/// The bytes of a cache file, mapped rather than read: a start-up from
/// the cache wrote the whole file (10 MB for the SigmaHQ corpus) into
/// fresh memory, a tenth of its time, and kept it; mapped, its pages are
/// the page cache's and only those used are touched.
fn map(file: &std::fs::File) -> std::io::Result<StoredFile> {
    // SAFETY: the mapping is read-only, and the file is this user's and
    // not writable by others (checked by the caller). Cache files are
    // written under a temporary name and renamed into place, never written
    // in place, and pruning unlinks them, which leaves a mapping intact;
    // only this user truncating the file by hand during the run could
    // change what is mapped.
    let mapped = unsafe { memmap2::Mmap::map(file)? };
    Ok(Arc::new(mapped))
}

/// Stores a compiled set under `key`; returns the file written.
pub(crate) fn store(dir: &Path, key: &[u8; 32], set: &RuleSet, diagnostics: &[Diagnostic]) -> Result<PathBuf, String> {
    let fail = |e: std::io::Error| format!("cannot write the rule cache in {}: {e}", dir.display());
    std::fs::create_dir_all(dir).map_err(fail)?;
    let body = set.to_bytes(diagnostics);
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    file.write_all(MAGIC).map_err(fail)?;
    file.write_all(key).map_err(fail)?;
    file.write_all(blake3::hash(&body).as_bytes()).map_err(fail)?;
    file.write_all(&body).map_err(fail)?;
    let path = file_for(dir, key);
    file.persist(&path).map_err(|e| fail(e.error))?;
    prune(dir, &path);
    Ok(path)
}

/// Keeps the `KEEP` most recently written cache files (best effort).
fn prune(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with("rules-") && name.ends_with(".bin")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .filter(|(_, path)| path != keep)
        .collect();
    files.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    for (_, path) in files.into_iter().skip(KEEP - 1) {
        let _ = std::fs::remove_file(path);
    }
}

/// A cache file is only read if this user owns it and no one else may
/// write it.
#[cfg(unix)]
fn owned_by_us(meta: &std::fs::Metadata) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!("owned by uid {}, not by this user (uid {me})", meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!("writable by others (mode {:o})", meta.mode() & 0o777));
    }
    Ok(())
}

#[cfg(not(unix))]
fn owned_by_us(_meta: &std::fs::Metadata) -> Result<(), String> {
    Ok(())
}
