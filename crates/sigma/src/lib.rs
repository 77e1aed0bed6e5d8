//! ferret's Sigma engine: YAML → compiled, immutable [`RuleSet`] →
//! per-thread [`Scanner`].
//!
//! * Values keep their YAML text (`yaml`), are tokenized exactly as the
//!   specification says (`string`), pass through their modifier chain in
//!   written order (`modifiers`) and end as the cheapest matcher that
//!   decides them (`pattern`).
//! * Conditions follow the specification's precedence (`condition`).
//! * Logsources route through a mapping kept as data
//!   (`mappings/logsources.yml`): a rule only sees events its logsource can
//!   describe.
//! * Every rule that cannot run gets a [`Diagnostic`] with a stable code,
//!   the file and the line; one bad rule never stops the others.
//!
//! Invariants: a `RuleSet` never changes after `compile`; all mutable
//! matching state lives in a `Scanner`; nothing here prints or does I/O.

mod cache;
pub mod condition;
pub mod correlation;
pub mod detection;
pub mod diagnostic;
mod dump;
pub mod filter;
mod glob;
mod keywords;
mod lazy;
mod literals;
pub mod logsource;
mod lowercase;
pub mod modifiers;
pub mod pattern;
mod prefilter;
mod regex_dialect;
mod regex_facts;
mod route;
mod route_memo;
pub mod rule;
mod ruleset;
mod scanner;
mod stored;
pub mod string;
mod value_cache;
mod value_set;
pub mod yaml;

pub use correlation::{CorrelationSet, Correlator, Firing, Hit, Origin};
pub use diagnostic::{Code, Diagnostic, Severity};
pub use logsource::Mappings;
pub use rule::{Logsource, Rule};
pub use ruleset::{RuleSet, RuleSource};
pub use scanner::{Match, Scanner};
pub use stored::StoredFile;
