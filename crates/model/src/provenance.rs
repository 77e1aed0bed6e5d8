//! Where an event came from, precisely enough to find the raw record again.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// The position of a record inside its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Location {
    /// The EVTX record number from the record's header: where the record
    /// is in the file. It equals the event's `EventRecordID` in a live log;
    /// exported or carved logs may renumber, and the field keeps the
    /// original.
    Record(u64),
    /// 1-based line number in a text file.
    Line(u64),
    /// Byte offset of the record from the start of the (decompressed) file.
    Offset(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Record(id) => write!(f, "record {id}"),
            Location::Line(line) => write!(f, "line {line}"),
            Location::Offset(offset) => write!(f, "offset {offset}"),
        }
    }
}

/// The source file (an archive member is written `archive.zip!member`) and
/// the record's location in it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Provenance {
    pub source: Arc<str>,
    pub location: Location,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `path:42` for lines, as editors and grep write it.
        match self.location {
            Location::Line(line) => write!(f, "{}:{line}", self.source),
            other => write!(f, "{} ({other})", self.source),
        }
    }
}
