//! The compiled-rule cache: a rule set compiled once is stored on disk and
//! loaded by later runs with the same rules, skipping the compilation
//! (~0.2 s for the SigmaHQ corpus).
//!
//! Never trusted blindly:
//! - the key is a BLAKE3 hash of every rule file's name and content, the
//!   user's logsource mapping, ferret's version and the identity (size,
//!   modification time) of the running executable, so any change to the
//!   rules or to ferret gives a new key and the file of the old one is
//!   never read;
//! - a file holds its full key and a BLAKE3 checksum of its body, both
//!   checked before the body is decoded, so the bytes decoded are those
//!   this executable wrote; a set whose field names do not line up with
//!   the run's is refused, and the automata, read when first searched
//!   with, go through daachorse's validating reader;
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
use ferret_sigma::logsource::Mappings;
use ferret_sigma::{RuleSet, RuleSource, StoredFile};
use rayon::prelude::*;

use crate::rules::source_name;

/// Bumped when the stored layout changes in a way the executable identity
/// would not catch (it always changes with the code, so rarely needed).
const FORMAT: u32 = 8;
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

/// Rule sources hashed into one digest of the key. Groups are hashed in
/// parallel, and a group's sources go through one buffer handed to blake3
/// in large pieces, so that it hashes many 1 KiB chunks at a time with
/// SIMD: thousands of ~2 KB rule files hashed one by one went a chunk at a
/// time (that was 40% of the instructions of a start-up from the cache;
/// blake3's own threading made it no faster on two cores).
const GROUP: usize = 128;
/// Bytes a group gathers before blake3 gets them: 16 chunks, what it
/// hashes at once with AVX-512.
const PIECE: usize = 16 * 1024;

/// A rule source as the key sees it: text in memory, or a rule file read
/// as it is hashed (into a reused buffer: a start-up from the cache never
/// holds the corpus's ~18 MB of rule text, nor faults its pages in).
pub(crate) enum KeySource<'a> {
    Text { name: &'a str, text: &'a str },
    File(&'a Path),
}

/// The key of a rule set: see the module documentation.
pub(crate) fn key(sources: &[RuleSource], mappings: &Mappings) -> Option<[u8; 32]> {
    let sources: Vec<KeySource> = sources.iter().map(|s| KeySource::Text { name: &s.name, text: &s.text }).collect();
    key_of(&sources, mappings)
}

/// The key of the rule set the sources would compile to: the same key as
/// [`key`] gives once the files are read into sources with
/// `rules::read_rule_files`. `None` also when a file cannot be read or is
/// not UTF-8: reading the sources reports it, and the key is then taken
/// from what was read.
pub(crate) fn key_of(sources: &[KeySource], mappings: &Mappings) -> Option<[u8; 32]> {
    let exe = std::env::current_exe().and_then(std::fs::metadata).ok()?;
    let modified = exe.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    let groups: Vec<[u8; 32]> = sources.par_chunks(GROUP).map(group_digest).collect::<Option<_>>()?;
    let mut stream = Vec::with_capacity(256 + 32 * groups.len());
    stream.extend_from_slice(b"ferret compiled rules\0");
    stream.extend_from_slice(&FORMAT.to_le_bytes());
    push_field(&mut stream, env!("CARGO_PKG_VERSION").as_bytes());
    stream.extend_from_slice(&exe.len().to_le_bytes());
    stream.extend_from_slice(&modified.as_nanos().to_le_bytes());
    push_field(&mut stream, &[u8::from(mappings.overrides().is_some())]);
    push_field(&mut stream, mappings.overrides().unwrap_or("").as_bytes());
    stream.extend_from_slice(&(sources.len() as u64).to_le_bytes());
    for group in &groups {
        stream.extend_from_slice(group);
    }
    Some(*blake3::hash(&stream).as_bytes())
}

/// The digest of a group of sources: each one's name and text, length
/// first.
fn group_digest(group: &[KeySource]) -> Option<[u8; 32]> {
    let mut hasher = blake3::Hasher::new();
    let mut buffer = Vec::with_capacity(2 * PIECE);
    for source in group {
        match source {
            KeySource::Text { name, text } => {
                push_field(&mut buffer, name.as_bytes());
                push_field(&mut buffer, text.as_bytes());
            }
            KeySource::File(path) => {
                push_field(&mut buffer, source_name(path).as_bytes());
                push_file(&mut buffer, path)?;
            }
        }
        // Whole pieces only: blake3 hashes a piece that starts on a chunk
        // boundary with SIMD, and one that does not a block at a time.
        if buffer.len() >= PIECE {
            let whole = buffer.len() / PIECE * PIECE;
            hasher.update(&buffer[..whole]);
            buffer.drain(..whole);
        }
    }
    hasher.update(&buffer);
    Some(*hasher.finalize().as_bytes())
}

/// Appends `bytes` with its length first, so fields cannot run together.
fn push_field(stream: &mut Vec<u8>, bytes: &[u8]) {
    stream.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    stream.extend_from_slice(bytes);
}

/// Appends a file's content as [`push_field`] appends bytes; `None` if it
/// cannot be read or is not UTF-8 (what makes it no rule source).
fn push_file(stream: &mut Vec<u8>, path: &Path) -> Option<()> {
    let at = stream.len();
    stream.extend_from_slice(&0u64.to_le_bytes());
    let mut file = std::fs::File::open(path).ok()?;
    read_appending(&mut file, stream).ok()?;
    let text = &stream[at + 8..];
    std::str::from_utf8(text).ok()?;
    let len = text.len() as u64;
    stream[at..at + 8].copy_from_slice(&len.to_le_bytes());
    Some(())
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

/// Reads the rest of `file` onto the end of `out`. `File::read_to_end`
/// asks the file's size and position first (two system calls per rule
/// file, a tenth of a start-up from the cache); rule files are small, and
/// one read with room to spare, then one that finds the end, is all most
/// take.
fn read_appending(file: &mut std::fs::File, out: &mut Vec<u8>) -> std::io::Result<()> {
    const ROOM: usize = 16 * 1024;
    loop {
        let len = out.len();
        out.resize(len + ROOM, 0);
        match std::io::Read::read(file, &mut out[len..]) {
            Ok(0) => {
                out.truncate(len);
                return Ok(());
            }
            Ok(read) => out.truncate(len + read),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => out.truncate(len),
            Err(e) => {
                out.truncate(len);
                return Err(e);
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::read_rule_paths;

    /// Rule files over several of the key's groups, in nested folders, one
    /// larger than a piece and one of several reads.
    fn rule_tree() -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        for i in 0..300 {
            let sub = dir.path().join(format!("d{}", i % 7));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("r{i}.yml")), format!("title: rule {i}\n")).unwrap();
        }
        std::fs::write(dir.path().join("large.yml"), "x".repeat(3 * PIECE + 17)).unwrap();
        dir
    }

    fn files_key(builtins: &[RuleSource], root: &Path) -> Option<[u8; 32]> {
        let (files, _) = crate::rules::list_rule_files(&[root.to_owned()]);
        let sources: Vec<KeySource> = builtins
            .iter()
            .map(|s| KeySource::Text { name: &s.name, text: &s.text })
            .chain(files.iter().map(|f| KeySource::File(f)))
            .collect();
        key_of(&sources, &Mappings::builtin())
    }

    #[test]
    fn hashing_the_files_gives_the_key_of_the_sources_read_from_them() {
        let dir = rule_tree();
        let builtin = || RuleSource { name: "builtin:a.yml".into(), text: "title: a\n".into() };
        let builtins = vec![builtin()];
        let (mut sources, diagnostics) = read_rule_paths(&[dir.path().to_owned()]);
        assert!(diagnostics.is_empty() && sources.len() == 301, "{diagnostics:?}");
        sources.insert(0, builtin());
        let want = key(&sources, &Mappings::builtin()).unwrap();
        assert_eq!(files_key(&builtins, dir.path()), Some(want));
        assert_ne!(files_key(&[], dir.path()), Some(want), "the built-in rules count");

        std::fs::write(dir.path().join("d3/r10.yml"), "title: rule 11\n").unwrap();
        let changed = files_key(&builtins, dir.path()).unwrap();
        assert_ne!(changed, want, "a changed byte changes the key");
        std::fs::rename(dir.path().join("d3/r10.yml"), dir.path().join("d3/r10b.yml")).unwrap();
        assert_ne!(files_key(&builtins, dir.path()).unwrap(), changed, "so does a renamed file");
    }

    #[test]
    fn a_file_that_is_no_rule_source_gives_no_key_from_the_files() {
        let dir = rule_tree();
        std::fs::write(dir.path().join("d1/bad.yml"), b"title: \xff\n").unwrap();
        assert_eq!(files_key(&[], dir.path()), None);
        let (sources, diagnostics) = read_rule_paths(&[dir.path().to_owned()]);
        assert_eq!(diagnostics.len(), 1);
        assert!(key(&sources, &Mappings::builtin()).is_some(), "the sources read have one");
    }

    #[test]
    fn appending_a_file_reads_all_of_it_after_what_is_there() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("big.yml");
        let text: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &text).unwrap();
        let mut out = b"head".to_vec();
        read_appending(&mut std::fs::File::open(&path).unwrap(), &mut out).unwrap();
        assert_eq!(&out[..4], b"head");
        assert_eq!(&out[4..], &text[..]);
    }
}
