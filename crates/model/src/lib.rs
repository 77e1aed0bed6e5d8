//! ferret's data model: the vocabulary every other crate speaks.
//!
//! * [`Event`]: one log record as a flat list of `(field, value)` pairs with
//!   interned names, a UTC timestamp and its [`Provenance`].
//! * [`Value`]: a field value that keeps its original text and compares
//!   numerically when both sides are numbers.
//! * [`FieldNames`]: the shared interner that turns field names into
//!   [`Field`] symbols; readers and rule compilers share one per run.
//! * [`Alert`]: what a detection produced, with the event's provenance.
//! * [`AlertSink`]: where alerts go (table, CSV, JSON Lines, a store...).
//!
//! Invariants: no I/O happens here; every event carries provenance; values
//! are never rewritten (what the log said is what an analyst sees).

mod alert;
mod correlated;
mod event;
mod explain;
mod fields;
mod provenance;
mod sink;
pub mod value;

pub use alert::{Alert, AlertRule, Level, MatchedField, attack_techniques};
pub use correlated::{ContributingRule, Correlated, FieldValues};
pub use event::{Event, SourceKind};
pub use explain::{Explanation, ItemTrace, SelectionTrace};
pub use fields::{Field, FieldCache, FieldNames};
pub use provenance::{Location, Provenance};
pub use sink::{AlertSink, VecSink};
pub use value::Value;

/// The timestamp type used everywhere: an instant in UTC.
pub use jiff::Timestamp;
