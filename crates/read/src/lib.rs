//! Readers: turn files, archives and streams into [`Event`]s.
//!
//! Every format is a streaming iterator of [`ReadResult`]: memory is bounded
//! by one record (one EVTX chunk), never by the file. The format is sniffed
//! from the content, not the file name. A record that cannot be read
//! becomes a [`ReadError`] naming the source and position, and the reader
//! goes on with the next one.

mod context;
mod error;
pub mod lines;
pub mod syslog;

pub use context::{ReadOptions, SourceContext};
pub use error::{ReadError, ReadResult};
pub use ferret_model::Event;
