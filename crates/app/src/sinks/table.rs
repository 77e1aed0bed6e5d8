use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use ferret_model::{Alert, AlertSink};

use super::details;

/// A table for people at a terminal. Rows are kept until `finish` so the
/// columns can be sized to the content and the terminal width.
pub struct TableSink<W: Write> {
    out: W,
    table: Table,
    rows: usize,
    /// Explanations, printed after the table, numbered like its rows.
    explanations: Vec<String>,
}

impl<W: Write> TableSink<W> {
    /// `width`: the terminal width, or `None` to size to the content.
    pub fn new(out: W, width: Option<u16>) -> Self {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).set_header(["Time (UTC)", "Level", "Rule", "Host", "Matched", "Source"]);
        match width {
            Some(w) => {
                table.set_content_arrangement(ContentArrangement::Dynamic).set_width(w);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        Self { out, table, rows: 0, explanations: Vec::new() }
    }
}

impl<W: Write> AlertSink for TableSink<W> {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        self.rows += 1;
        if let Some(explanation) = &alert.explanation {
            self.explanations
                .push(format!("#{} {} ({})\n{explanation}", self.rows, alert.rule.title, alert.provenance));
        }
        let time = alert.timestamp.map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default();
        self.table.add_row([
            self.rows.to_string(),
            time,
            alert.rule.level.to_string(),
            alert.rule.title.clone(),
            alert.host.clone().unwrap_or_default(),
            details(alert),
            alert.provenance.to_string(),
        ]);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            writeln!(self.out, "No alerts.")?;
        } else {
            writeln!(self.out, "{}", self.table)?;
        }
        for explanation in &self.explanations {
            writeln!(self.out, "\n{explanation}")?;
        }
        self.out.flush()
    }
}
