//! Read errors: always say where.

use std::fmt;
use std::sync::Arc;

use ferret_model::Location;

/// A record or file that could not be read. It names the source and, when
/// known, the position; the reader goes on with the next record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    pub source: Arc<str>,
    pub location: Option<Location>,
    pub message: String,
}

impl ReadError {
    pub fn new(source: &Arc<str>, location: Option<Location>, message: impl Into<String>) -> Self {
        Self { source: source.clone(), location, message: message.into() }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{}: {}: {}", self.source, location, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// What a reader yields: an event, or the reason one record was skipped.
pub type ReadResult = Result<ferret_model::Event, ReadError>;

impl std::error::Error for ReadError {}
