//! Alert sinks: how alerts leave a hunt.

mod csv;
mod jsonl;
mod table;

pub use self::csv::CsvSink;
pub use jsonl::JsonlSink;
pub use table::{TableSink, terminal_width};

use ferret_model::Alert;

/// The matched fields of an alert in one short line: `field=value; ...`.
/// Correlation alerts add their summary (count, window, distinct values).
pub(crate) fn details(alert: &Alert) -> String {
    let mut parts: Vec<String> = alert.matched.iter().map(|m| format!("{}={}", m.field, m.value)).collect();
    if let Some(correlation) = &alert.correlation {
        parts.push(correlation.summary());
    }
    parts.join("; ")
}

/// An optional timestamp as RFC 3339, empty when absent.
pub(crate) fn time(alert: &Alert) -> String {
    alert.timestamp.map(|t| t.to_string()).unwrap_or_default()
}
