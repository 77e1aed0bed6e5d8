use std::io::{self, Write};

use ferret_model::{Alert, AlertSink, Location};

use super::{details, time};

/// CSV with a header row, one alert per row.
pub struct CsvSink<W: Write> {
    out: csv::Writer<W>,
    header_written: bool,
}

const HEADER: [&str; 12] = [
    "timestamp",
    "level",
    "rule_id",
    "rule_title",
    "status",
    "attack",
    "tags",
    "host",
    "matched",
    "source",
    "location",
    "rule_file",
];

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        Self { out: csv::Writer::from_writer(out), header_written: false }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out.write_record(HEADER)?;
            self.header_written = true;
        }
        Ok(())
    }
}

impl<W: Write> AlertSink for CsvSink<W> {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.header()?;
        let location = match alert.provenance.location {
            Location::Record(n) => format!("record {n}"),
            Location::Line(n) => format!("line {n}"),
            Location::Offset(n) => format!("offset {n}"),
        };
        self.out.write_record([
            time(alert),
            alert.rule.level.to_string(),
            alert.rule.id.clone(),
            alert.rule.title.clone(),
            alert.rule.status.clone().unwrap_or_default(),
            alert.rule.attack.join(" "),
            alert.rule.tags.join(" "),
            alert.host.clone().unwrap_or_default(),
            details(alert),
            alert.provenance.source.to_string(),
            location,
            alert.rule.source.clone(),
        ])?;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.header()?;
        self.out.flush()
    }
}
