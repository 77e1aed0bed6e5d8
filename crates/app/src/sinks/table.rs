use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use ferret_model::{Alert, AlertSink};

use super::details;

/// Rows per printed table: a long run prints several tables instead of
/// holding every row (a table is sized to its content, so it is built in
/// memory before it is printed).
const ROWS_PER_TABLE: usize = 500;

/// Cells longer than this are cut (the full values are in CSV and JSONL).
const MAX_CELL: usize = 200;

/// A table for people at a terminal.
pub struct TableSink<W: Write> {
    out: W,
    width: Option<u16>,
    table: Option<Table>,
    rows: usize,
    /// Explanations of the rows of the current table, printed after it.
    explanations: Vec<String>,
}

impl<W: Write> TableSink<W> {
    /// `width`: the terminal width, or `None` to size to the content.
    pub fn new(out: W, width: Option<u16>) -> Self {
        Self { out, width, table: None, rows: 0, explanations: Vec::new() }
    }

    fn new_table(&self) -> Table {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED).set_header([
            "#",
            "Time (UTC)",
            "Level",
            "Rule",
            "Host",
            "Matched",
            "Source",
        ]);
        match self.width {
            Some(w) => table.set_content_arrangement(ContentArrangement::Dynamic).set_width(w),
            None => table.set_content_arrangement(ContentArrangement::Disabled),
        };
        table
    }

    fn flush_table(&mut self) -> io::Result<()> {
        if let Some(table) = self.table.take() {
            writeln!(self.out, "{table}")?;
        }
        for explanation in self.explanations.drain(..) {
            writeln!(self.out, "\n{explanation}")?;
        }
        Ok(())
    }
}

/// The width of the terminal stdout is attached to, if it is one.
pub fn terminal_width() -> Option<u16> {
    Table::new().width()
}

fn cut(text: String) -> String {
    match text.char_indices().nth(MAX_CELL) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
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
        let row = [
            self.rows.to_string(),
            time,
            alert.rule.level.to_string(),
            alert.rule.title.clone(),
            alert.host.clone().unwrap_or_default(),
            cut(details(alert)),
            alert.provenance.to_string(),
        ];
        let table = match &mut self.table {
            Some(table) => table,
            None => self.table.insert(self.new_table()),
        };
        table.add_row(row);
        if self.rows.is_multiple_of(ROWS_PER_TABLE) {
            self.flush_table()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            writeln!(self.out, "No alerts.")?;
        }
        self.flush_table()?;
        self.out.flush()
    }
}
