//! CSV with a header row: each row becomes an event whose fields are named
//! by the header. Rows with more or fewer cells than the header are kept
//! (missing cells are absent fields, extra cells are named `column_N`).

use std::io::Read;

use ferret_model::{Event, Field, Location, SourceKind, Value};

use crate::flat::finish_flat;
use crate::{ReadError, ReadResult, SourceContext};

pub struct CsvReader<R> {
    rows: csv::Reader<R>,
    header: Option<Vec<Field>>,
    record: csv::StringRecord,
    ctx: SourceContext,
    done: bool,
}

impl<R: Read> CsvReader<R> {
    pub fn new(input: R, delimiter: u8, ctx: SourceContext) -> Self {
        let rows = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(input);
        Self { rows, header: None, record: csv::StringRecord::new(), ctx, done: false }
    }

    fn header(&mut self) -> Result<Vec<Field>, ReadError> {
        let header = self
            .rows
            .headers()
            .map_err(|e| {
                ReadError::new(&self.ctx.source, Some(Location::Line(1)), format!("unreadable CSV header: {e}"))
            })?
            .clone();
        Ok(header.iter().map(|name| self.ctx.fields.intern(name.trim_start_matches('\u{feff}'))).collect())
    }
}

impl<R: Read> Iterator for CsvReader<R> {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        if self.done {
            return None;
        }
        if self.header.is_none() {
            match self.header() {
                Ok(header) => self.header = Some(header),
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        match self.rows.read_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                let line = self.record.position().map_or(0, |p| p.line());
                let mut event = Event::new(SourceKind::Csv, self.ctx.provenance(Location::Line(line)));
                let header = self.header.as_deref().unwrap_or_default();
                for (i, cell) in self.record.iter().enumerate() {
                    let field = match header.get(i) {
                        Some(field) => *field,
                        None => self.ctx.fields.intern(&format!("column_{}", i + 1)),
                    };
                    event.push(field, Value::text(cell));
                }
                finish_flat(&mut event, &mut self.ctx.fields);
                if event.kind == SourceKind::Json {
                    event.kind = SourceKind::Csv;
                }
                Some(Ok(event))
            }
            Err(e) => {
                let line = e.position().map(|p| p.line());
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.done = true;
                }
                Some(Err(ReadError::new(&self.ctx.source, line.map(Location::Line), format!("bad CSV row: {e}"))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferret_model::FieldNames;

    #[test]
    fn rows_become_events_named_by_the_header() {
        let names = FieldNames::new();
        let ctx = SourceContext::new("t.csv", names.clone(), Default::default());
        let input = "\u{feff}time,user,src\n2026-11-28T03:00:00Z,root,203.0.113.7\nshort\n1,2,3,4\n";
        let events: Vec<Event> = CsvReader::new(input.as_bytes(), b',', ctx).map(Result::unwrap).collect();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].get(&names, "user"), Some(&Value::text("root")));
        assert_eq!(events[0].timestamp.unwrap().to_string(), "2026-11-28T03:00:00Z");
        assert_eq!(events[0].provenance.location, Location::Line(2));
        assert_eq!(events[1].get(&names, "user"), None);
        assert_eq!(events[2].get(&names, "column_4"), Some(&Value::text("4")));
        assert_eq!(events[2].kind, SourceKind::Csv);
    }
}
