use std::io::{self, Write};

use ferret_model::{Alert, AlertSink};

/// One JSON object per alert and line; the schema is documented on
/// [`ferret_model::Alert`].
pub struct JsonlSink<W: Write> {
    out: W,
}

impl<W: Write> JsonlSink<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write> AlertSink for JsonlSink<W> {
    fn alert(&mut self, alert: &Alert) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, alert)?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
