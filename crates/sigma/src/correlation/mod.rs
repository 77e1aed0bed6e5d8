//! Sigma correlation rules: parsing ([`spec`]), resolution against the
//! loaded rules ([`set`]), the field plans that read group-by values from
//! events of different sources ([`fields`]), and the sliding-window engine
//! ([`engine`]).

pub mod baseline;
pub mod engine;
pub mod fields;
pub mod set;
pub mod spec;
pub mod tune;

pub use engine::{Correlator, Detail, Firing, Hit, Origin, SavedBaselines};
pub use set::{CorrelationSet, Resolved, Source};
pub use spec::{Correlation, Kind};
pub use tune::Tuning;
