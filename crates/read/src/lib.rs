//! Readers: turn files, archives and streams into [`Event`]s.
//!
//! Every format is a streaming iterator of [`ReadResult`]: memory is bounded
//! by one record (one EVTX chunk), never by the file. The format is sniffed
//! from the content, not the file name. A record that cannot be read
//! becomes a [`ReadError`] naming the source and position, and the reader
//! goes on with the next one.

pub mod auditd;
pub mod auth;
pub mod cef;
pub mod cloud;
mod context;
pub mod csv;
mod error;
pub mod evtx;
mod flat;
pub mod journald;
pub mod json;
mod json_segments;
pub mod kv;
pub mod lines;
pub mod sniff;
pub mod source;
pub mod syslog;
mod time;
pub mod web;
mod windows;
pub mod zeek;

/// `../shared/data` beside the repository for this crate's unit tests, or
/// `None` with a message (a failure when CI requires the data).
#[cfg(test)]
pub(crate) fn shared_data() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("FERRET_REQUIRE_SHARED_DATA").is_none(), "../shared/data is required but missing");
    eprintln!("skipping: ../shared/data not found");
    None
}

pub use context::{ReadOptions, SourceContext};
pub use error::{ReadError, ReadResult};
pub use ferret_model::Event;
pub use json_segments::JsonSegment;
pub use sniff::Format;
pub use source::{Input, InputPart, Segment, StreamVisitor, expand_inputs, read_input, read_input_part, split_inputs};
pub use time::{parse_epoch, parse_timestamp};
