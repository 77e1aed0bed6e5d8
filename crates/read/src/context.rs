//! What every format reader is given about the input it reads.

use std::sync::Arc;

use ferret_model::{FieldCache, FieldNames, Location, Provenance, Timestamp};

/// Options that shape reading, shared by all readers of a run.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// The most bytes a single compressed file or archive member may expand
    /// to; evidence is hostile input and a zip bomb must not fill the disk
    /// or memory.
    pub max_decompressed_bytes: u64,
    /// The year for syslog timestamps that carry none (RFC 3164). `None`
    /// infers it from the file's modification time.
    pub assume_year: Option<i16>,
    /// The longest line a text reader accepts; longer lines are skipped with
    /// an error instead of growing memory without bound.
    pub max_line_bytes: usize,
    /// An EVTX file of more chunks than this is read as segments of this
    /// many (64 KiB each), on as many threads as are free: see
    /// [`crate::split_inputs`].
    pub evtx_segment_chunks: u64,
    /// An uncompressed file of JSON records longer than this is read as
    /// segments of about this many bytes, on as many threads as are free:
    /// see [`crate::split_inputs`].
    pub json_segment_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: 4 << 30,
            assume_year: None,
            max_line_bytes: 16 << 20,
            evtx_segment_chunks: 64,
            json_segment_bytes: 32 << 20,
        }
    }
}

/// Per-source context handed to a format reader.
#[derive(Debug)]
pub struct SourceContext {
    /// The display name of the source: a path, `archive.zip!member`, or `-`.
    pub source: Arc<str>,
    pub fields: FieldCache,
    pub options: ReadOptions,
    /// When the source was last modified (file mtime), for year inference.
    pub modified: Option<Timestamp>,
}

impl SourceContext {
    pub fn new(source: impl Into<Arc<str>>, names: Arc<FieldNames>, options: ReadOptions) -> Self {
        Self { source: source.into(), fields: FieldCache::new(names), options, modified: None }
    }

    pub fn provenance(&self, location: Location) -> Provenance {
        Provenance { source: self.source.clone(), location }
    }
}
