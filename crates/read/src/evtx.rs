//! Windows EVTX through the `evtx` crate.
//!
//! The file is walked chunk by chunk (64 KiB each, in record order, wrapped
//! logs included); only one chunk's events are held at a time, so memory is
//! bounded whatever the file size. A chunk or record the crate cannot parse
//! becomes a [`ReadError`] and the walk goes on with the next one.

use std::collections::VecDeque;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use evtx::{EvtxParser, IntoIterChunks, ParserSettings};
use ferret_model::{Event, Location, SourceKind};
use serde_json::Value as Json;

use crate::windows::flatten_event;
use crate::{ReadError, ReadResult, SourceContext};

/// The EVTX file signature.
pub const MAGIC: &[u8] = b"ElfFile\0";

/// Anything the evtx crate can read from.
pub trait ReadSeek: std::io::Read + std::io::Seek + Send {}
impl<T: std::io::Read + std::io::Seek + Send> ReadSeek for T {}

pub struct EvtxReader {
    chunks: IntoIterChunks<Box<dyn ReadSeek>>,
    settings: Arc<ParserSettings>,
    pending: VecDeque<ReadResult>,
    chunk_number: u64,
    /// Reported after the last whole chunk: the file ends inside a chunk.
    truncated: Option<ReadError>,
    ctx: SourceContext,
}

/// The EVTX file header and chunk sizes.
const HEADER_BYTES: u64 = 4096;
const CHUNK_BYTES: u64 = 65536;

impl EvtxReader {
    /// Opens an EVTX stream; fails when the file header is unreadable.
    pub fn new(mut input: Box<dyn ReadSeek>, ctx: SourceContext) -> Result<Self, ReadError> {
        // The crate reads whole chunks only and says nothing of a partial
        // one at the end: a cut-off copy would look complete. Tell.
        let len = input.seek(SeekFrom::End(0)).and_then(|len| input.rewind().map(|()| len));
        let truncated = match len {
            Ok(len) if len > HEADER_BYTES && !(len - HEADER_BYTES).is_multiple_of(CHUNK_BYTES) => {
                let chunk = (len - HEADER_BYTES) / CHUNK_BYTES;
                let start = HEADER_BYTES + chunk * CHUNK_BYTES;
                Some(ReadError::new(
                    &ctx.source,
                    Some(Location::Offset(start)),
                    format!("file truncated: it ends {} bytes into chunk {chunk}, whose records are lost", len - start),
                ))
            }
            Ok(_) => None,
            Err(e) => return Err(ReadError::new(&ctx.source, None, format!("cannot read: {e}"))),
        };
        // One thread per file: files are already read in parallel, and the
        // crate's own pool would nest inside ours.
        let settings = ParserSettings::new().num_threads(1);
        let parser = EvtxParser::from_read_seek(input)
            .map_err(|e| {
                ReadError::new(&ctx.source, Some(Location::Offset(0)), format!("not a readable EVTX file: {e}"))
            })?
            .with_configuration(settings.clone());
        Ok(Self {
            chunks: parser.into_chunks(),
            settings: Arc::new(settings),
            pending: VecDeque::new(),
            chunk_number: 0,
            truncated,
            ctx,
        })
    }

    /// Parses the next chunk into `pending`. Returns false at the end.
    fn fill(&mut self) -> bool {
        let Some(chunk) = self.chunks.next() else {
            return match self.truncated.take() {
                Some(error) => {
                    self.pending.push_back(Err(error));
                    true
                }
                None => false,
            };
        };
        let number = self.chunk_number;
        self.chunk_number += 1;
        let chunk_offset = HEADER_BYTES + number * CHUNK_BYTES;
        let mut data = match chunk {
            Ok(data) => data,
            Err(e) => {
                self.pending.push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {e}"))));
                return true;
            }
        };
        let mut chunk = match data.parse(self.settings.clone()) {
            Ok(chunk) => chunk,
            Err(e) => {
                self.pending.push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {e}"))));
                return true;
            }
        };
        for record in chunk.iter() {
            let result = record
                .and_then(|r| r.into_json_bytes())
                .map_err(|e| format!("record skipped in chunk {number}: {e}"))
                .and_then(|r| {
                    serde_json::from_slice::<Json>(&r.data)
                        .map(|json| (r.event_record_id, json))
                        .map_err(|e| format!("record {} rendered invalid JSON: {e}", r.event_record_id))
                });
            let item = match result {
                Ok((record_id, json)) => Ok(self.event_of(record_id, &json)),
                Err(message) => Err(ReadError::new(&self.ctx.source, Some(Location::Offset(chunk_offset)), message)),
            };
            self.pending.push_back(item);
        }
        true
    }

    fn error(&self, offset: u64, message: String) -> ReadError {
        ReadError::new(&self.ctx.source, Some(Location::Offset(offset)), message)
    }

    fn event_of(&mut self, record_id: u64, json: &Json) -> Event {
        let mut event = Event::new(SourceKind::Windows, self.ctx.provenance(Location::Record(record_id)));
        if let Some(Json::Object(root)) = json.get("Event") {
            flatten_event(root, &mut event, &mut self.ctx.fields);
        }
        event
    }
}

impl Iterator for EvtxReader {
    type Item = ReadResult;

    fn next(&mut self) -> Option<ReadResult> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(item);
            }
            if !self.fill() {
                return None;
            }
        }
    }
}
