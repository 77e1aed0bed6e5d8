//! Syslog (placeholder, being written).
