//! Where alerts go.

use std::io;

use crate::Alert;

/// A destination for alerts: a table, a CSV or JSON Lines writer, a store.
/// Only [`AlertSink::alert`] is required.
pub trait AlertSink {
    /// Takes one alert. Sinks see alerts in the run's deterministic order.
    fn alert(&mut self, alert: &Alert) -> io::Result<()>;

    /// Called once after the last alert (flush, write a footer...).
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink that keeps alerts in memory (tests, small tools).
#[derive(Debug, Default)]
pub struct VecSink(pub Vec<Alert>);

impl AlertSink for VecSink {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.0.push(alert.clone());
        Ok(())
    }
}
