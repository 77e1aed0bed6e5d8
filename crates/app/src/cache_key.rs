//! The key of a compiled rule set in the cache (see `rule_cache`): a
//! BLAKE3 hash of every rule source's name and content, the logsource
//! mapping, ferret's version and the identity of the running executable.
//!
//! A start-up from the cache hashes the rule files without keeping them:
//! each is read into a reused buffer and hashed from there, so the run
//! never holds the corpus's ~18 MB of rule text, nor faults its pages in.
//! The same key comes from sources already read ([`key`]), which is what a
//! compiled set is stored under.

use std::path::{Path, PathBuf};

use ferret_sigma::RuleSource;
use ferret_sigma::logsource::Mappings;
use rayon::prelude::*;

use crate::rule_cache::FORMAT;
use crate::rules::source_name;

/// Rule sources hashed into one digest of the key. Groups are hashed in
/// parallel, and a group's sources go through one buffer handed to blake3
/// in whole pieces, so that it hashes many 1 KiB chunks at a time with
/// SIMD: thousands of ~2 KB rule files hashed one by one went a chunk at a
/// time (that was 40% of the instructions of a start-up from the cache;
/// blake3's own threading made it no faster on two cores).
const GROUP: usize = 128;
/// 16 chunks: what blake3 hashes at once with AVX-512.
const PIECE: usize = 16 * 1024;
/// Room a file read is given: most rule files fit, with one more read to
/// find their end.
const ROOM: usize = 16 * 1024;

/// A rule source as the key sees it: text in memory, or a rule file read
/// as it is hashed.
pub(crate) enum KeySource<'a> {
    Text { name: &'a str, text: &'a str },
    File(&'a Path),
}

impl<'a> From<&'a RuleSource> for KeySource<'a> {
    fn from(source: &'a RuleSource) -> Self {
        KeySource::Text { name: &source.name, text: &source.text }
    }
}

/// The embedded rules' texts, then the user's rule files unread: what a
/// key is taken from before anything is read.
pub(crate) fn unread<'a>(builtins: &'a [RuleSource], files: &'a [PathBuf]) -> Vec<KeySource<'a>> {
    builtins.iter().map(KeySource::from).chain(files.iter().map(|file| KeySource::File(file))).collect()
}

/// The key of the rule set compiled from `sources`.
pub(crate) fn key(sources: &[RuleSource], mappings: &Mappings) -> Option<[u8; 32]> {
    let sources: Vec<KeySource> = sources.iter().map(KeySource::from).collect();
    key_of(&sources, mappings)
}

/// The key [`key`] gives once the files are read into sources with
/// `rules::read_rule_files`, when they all can be; `None` when one cannot
/// be read (reading the sources reports it, and the key is then taken
/// from what was read).
///
/// A file that is not UTF-8 is hashed as it is, and that key names no
/// stored set: sets are stored under the keys of sources, which are
/// UTF-8, and the length-prefixed stream of a group (and the count of
/// sources) makes the bytes a key is taken from name one list of sources
/// only. Reading the sources then reports the file and finds the key of
/// the others. So the files are not checked here, which was nearly a
/// fifth of the instructions of hashing them (3.6 of 19.7 M).
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

/// Appends `bytes` with its length first, so fields cannot run together.
fn push_field(stream: &mut Vec<u8>, bytes: &[u8]) {
    stream.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    stream.extend_from_slice(bytes);
}

/// The digest of a group of sources: each one's name and text, length
/// first.
fn group_digest(group: &[KeySource]) -> Option<[u8; 32]> {
    let mut stream = Pieces::default();
    for source in group {
        match source {
            KeySource::Text { name, text } => {
                stream.push_field(name.as_bytes());
                stream.push_field(text.as_bytes());
            }
            KeySource::File(path) => {
                stream.push_field(source_name(path).as_bytes());
                stream.push_file(path)?;
            }
        }
    }
    Some(stream.finish())
}

/// A stream hashed in whole pieces. `buffer[..filled]` is what waits to be
/// hashed; the rest of `buffer` is zeroed room files are read into, kept
/// (not truncated) so that it is zeroed once, not for every file.
#[derive(Default)]
struct Pieces {
    hasher: blake3::Hasher,
    buffer: Vec<u8>,
    filled: usize,
}

impl Pieces {
    fn push(&mut self, bytes: &[u8]) {
        self.room(bytes.len());
        self.buffer[self.filled..self.filled + bytes.len()].copy_from_slice(bytes);
        self.filled += bytes.len();
        self.hash_pieces();
    }

    fn push_field(&mut self, bytes: &[u8]) {
        self.push(&(bytes.len() as u64).to_le_bytes());
        self.push(bytes);
    }

    /// Appends a file's content as [`Pieces::push_field`] appends bytes;
    /// `None` if it cannot be read.
    fn push_file(&mut self, path: &Path) -> Option<()> {
        let mut file = std::fs::File::open(path).ok()?;
        self.room(8);
        let at = self.filled;
        self.filled += 8;
        // One read with room to spare, then one that finds the end, is all
        // most rule files take (`File::read_to_end` first asks the file's
        // size and position: two more system calls a file).
        loop {
            self.room(ROOM);
            match std::io::Read::read(&mut file, &mut self.buffer[self.filled..]) {
                Ok(0) => break,
                Ok(read) => self.filled += read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        let len = (self.filled - at - 8) as u64;
        self.buffer[at..at + 8].copy_from_slice(&len.to_le_bytes());
        self.hash_pieces();
        Some(())
    }

    /// Makes room for `more` bytes after what is filled.
    fn room(&mut self, more: usize) {
        if self.buffer.len() < self.filled + more {
            self.buffer.resize(self.filled + more, 0);
        }
    }

    /// Hashes the whole pieces filled so far: blake3 hashes a piece that
    /// starts on a chunk boundary with SIMD, and one that does not a block
    /// at a time.
    fn hash_pieces(&mut self) {
        if self.filled >= PIECE {
            let whole = self.filled / PIECE * PIECE;
            self.hasher.update(&self.buffer[..whole]);
            self.buffer.copy_within(whole..self.filled, 0);
            self.filled -= whole;
        }
    }

    fn finish(mut self) -> [u8; 32] {
        self.hasher.update(&self.buffer[..self.filled]);
        *self.hasher.finalize().as_bytes()
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::rules::{list_rule_files, read_rule_paths};

    /// Rule files over several of the key's groups, in nested folders, one
    /// larger than a piece and than the room a read is given.
    fn rule_tree() -> tempfile::TempDir {
        let dir = tempfile::TempDir::new().unwrap();
        for i in 0..300 {
            let sub = dir.path().join(format!("d{}", i % 7));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("r{i}.yml")), format!("title: rule {i}\n")).unwrap();
        }
        let large: String = (0..3 * ROOM + 17).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        std::fs::write(dir.path().join("large.yml"), large).unwrap();
        dir
    }

    fn files_key(builtins: &[RuleSource], root: &Path) -> Option<[u8; 32]> {
        let (files, _): (Vec<PathBuf>, _) = list_rule_files(&[root.to_owned()]);
        key_of(&unread(builtins, &files), &Mappings::builtin())
    }

    fn builtin() -> RuleSource {
        RuleSource { name: "builtin:a.yml".into(), text: "title: a\n".into() }
    }

    #[test]
    fn hashing_the_files_gives_the_key_of_the_sources_read_from_them() {
        let dir = rule_tree();
        let (mut sources, diagnostics) = read_rule_paths(&[dir.path().to_owned()]);
        assert!(diagnostics.is_empty() && sources.len() == 301, "{diagnostics:?}");
        sources.insert(0, builtin());
        let want = key(&sources, &Mappings::builtin()).unwrap();
        assert_eq!(files_key(&[builtin()], dir.path()), Some(want));
        assert_ne!(files_key(&[], dir.path()), Some(want), "the built-in rules count");

        std::fs::write(dir.path().join("d3/r10.yml"), "title: rule 11\n").unwrap();
        let changed = files_key(&[builtin()], dir.path()).unwrap();
        assert_ne!(changed, want, "a changed byte changes the key");
        std::fs::rename(dir.path().join("d3/r10.yml"), dir.path().join("d3/r10b.yml")).unwrap();
        assert_ne!(files_key(&[builtin()], dir.path()).unwrap(), changed, "so does a renamed file");
    }

    #[test]
    fn a_file_that_is_no_rule_source_never_gives_the_key_of_the_sources() {
        let dir = rule_tree();
        std::fs::write(dir.path().join("d1/bad.yml"), b"title: \xff\n").unwrap();
        let (sources, diagnostics) = read_rule_paths(&[dir.path().to_owned()]);
        assert_eq!(diagnostics.len(), 1);
        let of_sources = key(&sources, &Mappings::builtin()).unwrap();
        let of_files = files_key(&[], dir.path()).expect("read, not checked");
        assert_ne!(of_files, of_sources);
        // A file that cannot be read at all (a dangling link) gives none.
        #[cfg(unix)]
        {
            std::fs::remove_file(dir.path().join("d1/bad.yml")).unwrap();
            std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("d1/bad.yml")).unwrap();
            assert_eq!(files_key(&[], dir.path()), None);
        }
    }

    #[test]
    fn pieces_hash_as_one_stream_however_the_bytes_come() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for step in [1, 7, 1000, PIECE, PIECE + 3, 100_000] {
            let mut pieces = Pieces::default();
            for part in bytes.chunks(step) {
                pieces.push(part);
            }
            assert_eq!(pieces.finish(), *blake3::hash(&bytes).as_bytes(), "{step}");
        }
    }
}
