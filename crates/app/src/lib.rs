//! ferret's use cases. Each composes the engines (readers, Sigma) for one
//! job and reports through return values, sinks and a progress callback;
//! nothing here prints or exits, so the CLI and (later) the server share it.

mod cache_key;
pub mod correlate;
mod host;
pub mod hunt;
mod ordered;
pub mod regression;
pub mod rule_cache;
pub mod rules;
pub mod sinks;

pub use ferret_read::{ReadError, ReadOptions};
pub use hunt::{
    HuntConfig, HuntError, HuntSummary, LoadedRules, NoProgress, Progress, hunt, load_mappings, load_rules,
};
