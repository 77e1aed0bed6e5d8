//! Windows EVTX through the `evtx` crate.
//!
//! The file is walked chunk by chunk (64 KiB each, in record order, wrapped
//! logs included); only one chunk's events are held at a time, so memory is
//! bounded whatever the file size. A chunk or record the crate cannot parse
//! becomes a [`ReadError`] and the walk goes on with the next one.

use std::collections::VecDeque;
use std::io::{Seek, SeekFrom};
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxParser, IntoIterChunks, ParserSettings};
use ferret_model::{Event, Location, SourceKind};

use crate::windows::{JsonTree, flatten_event};
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
    /// The number of the chunk after the last one read, for the rare error
    /// that names no chunk.
    next_chunk: u64,
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
                ReadError::new(
                    &ctx.source,
                    Some(Location::Offset(0)),
                    format!("not a readable EVTX file: {}", causes(&e)),
                )
            })?
            .with_configuration(settings.clone());
        Ok(Self {
            chunks: parser.into_chunks(),
            settings: Arc::new(settings),
            pending: VecDeque::new(),
            next_chunk: 0,
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
        // The crate skips empty chunks and starts a wrapped log at its
        // oldest chunk, so chunks are not met in file order: take each
        // chunk's number from the crate, never from a count.
        let number = match &chunk {
            Ok(data) => data.number,
            Err(EvtxError::FailedToParseChunk { chunk_id, .. }) => Some(*chunk_id),
            Err(_) => None,
        }
        .unwrap_or(self.next_chunk);
        self.next_chunk = number + 1;
        let chunk_offset = HEADER_BYTES + number * CHUNK_BYTES;
        let mut data = match chunk {
            Ok(data) => data,
            Err(e) => {
                self.pending
                    .push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {}", causes(&e)))));
                return true;
            }
        };
        let mut chunk = match data.parse(self.settings.clone()) {
            Ok(chunk) => chunk,
            Err(e) => {
                self.pending
                    .push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {}", causes(&e)))));
                return true;
            }
        };
        for record in chunk.iter() {
            let item = match record.and_then(|r| r.into_json_bytes()) {
                Ok(r) => match sonic_rs::from_slice::<sonic_rs::Value>(&r.data) {
                    Ok(json) => Ok(self.event_of(r.event_record_id, &json)),
                    Err(e) => Err(self.error(
                        chunk_offset,
                        format!("record {} in chunk {number} rendered invalid JSON: {e}", r.event_record_id),
                    )),
                },
                Err(e) => {
                    let offset = match &e {
                        // The crate knows where in the chunk the record is.
                        EvtxError::FailedToReadRecordAt { offset, .. } => chunk_offset + offset,
                        _ => chunk_offset,
                    };
                    Err(self.error(offset, format!("record skipped in chunk {number}: {}", causes(&e))))
                }
            };
            self.pending.push_back(item);
        }
        true
    }

    fn error(&self, offset: u64, message: String) -> ReadError {
        ReadError::new(&self.ctx.source, Some(Location::Offset(offset)), message)
    }

    fn event_of(&mut self, record_id: u64, json: &sonic_rs::Value) -> Event {
        let mut event = Event::new(SourceKind::Windows, self.ctx.provenance(Location::Record(record_id)));
        if let Some(root) = JsonTree::get(json, "Event").filter(|root| root.is_object()) {
            flatten_event(root, &mut event, &mut self.ctx.fields);
        }
        event
    }
}

/// An error and its causes, `outer: inner: innermost`: the evtx crate's
/// top-level messages (`Failed to parse chunk number 1`) leave out why.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
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

#[cfg(test)]
mod tests {

    use ferret_model::FieldNames;

    use super::*;

    /// A Sysmon log from the shared data whose first three chunks hold 39, 42
    /// and 6 records, or `None` when the shared data is not there.
    fn multi_chunk_sample() -> Option<Vec<u8>> {
        let path = crate::shared_data()?
            .join("evtx-attack-samples/Privilege Escalation/privesc_unquoted_svc_sysmon_1_11.evtx");
        Some(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    fn read(bytes: Vec<u8>) -> (usize, Vec<ReadError>) {
        let ctx = SourceContext::new("t.evtx", FieldNames::new(), Default::default());
        let reader = EvtxReader::new(Box::new(std::io::Cursor::new(bytes)), ctx).unwrap();
        let (events, errors): (Vec<_>, Vec<_>) = reader.partition(Result::is_ok);
        (events.len(), errors.into_iter().map(Result::unwrap_err).collect())
    }

    #[test]
    fn errors_name_the_damaged_chunk_even_after_an_empty_one() {
        let Some(mut bytes) = multi_chunk_sample() else {
            return;
        };
        let chunk = |n: usize| 4096 + n * 65536..4096 + (n + 1) * 65536;
        // Chunk 1 empty (the crate skips it silently), chunk 2 garbled: the
        // error must say chunk 2 and its offset, not "the second chunk met".
        bytes[chunk(1)].fill(0);
        bytes[chunk(2)].fill(0xAA);
        let (events, errors) = read(bytes);
        assert_eq!(events, 39);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].location, Some(Location::Offset(4096 + 2 * 65536)));
        assert!(errors[0].message.starts_with("chunk 2 skipped: "), "{}", errors[0]);
        // The cause is kept, not only the crate's "Failed to parse chunk".
        assert!(errors[0].message.contains("chunk header magic"), "{}", errors[0]);
    }

    #[test]
    fn a_garbled_record_is_located_at_its_own_offset() {
        let Some(mut bytes) = multi_chunk_sample() else {
            return;
        };
        // Record headers garbled 16 KiB into chunk 1's records.
        let start = 4096 + 65536 + 512 + 16 * 1024;
        bytes[start..start + 4096].fill(0xAA);
        let (events, errors) = read(bytes);
        assert!(events > 39 && events < 87, "{events}");
        let at = errors.iter().find(|e| e.message.contains("Failed to read the record at")).expect("{errors:?}");
        let Some(Location::Offset(offset)) = at.location else { panic!("{at}") };
        assert!((start as u64..start as u64 + 4096).contains(&offset), "{at}");
        assert!(at.message.contains("record header magic"), "{at}");
    }
}
