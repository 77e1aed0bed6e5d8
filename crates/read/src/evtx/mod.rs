//! Windows EVTX through the `evtx` crate.
//!
//! The file is walked chunk by chunk (64 KiB each, in record order, wrapped
//! logs included: see `walk`); only one chunk's events are held at a time,
//! so memory is bounded whatever the file size. A large file can be read
//! as segments of its walk, one reader each, on several threads. A chunk or
//! record the crate cannot parse becomes a [`ReadError`] and the walk goes
//! on with the next one.

use std::collections::VecDeque;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use evtx::err::EvtxError;
use evtx::{EvtxChunkData, EvtxFileHeader, ParserSettings};
use ferret_model::{Event, Location, SourceKind};

use crate::windows::{JsonTree, flatten_event};
use crate::{ReadError, ReadResult, SourceContext};

mod walk;

use walk::chunk_offset;
pub(crate) use walk::{CHUNK_BYTES, HEADER_BYTES};
pub use walk::{ChunkWalk, Segment};

/// The EVTX file signature.
pub const MAGIC: &[u8] = b"ElfFile\0";

/// Anything an EVTX file can be read from.
pub trait ReadSeek: std::io::Read + std::io::Seek + Send {}
impl<T: std::io::Read + std::io::Seek + Send> ReadSeek for T {}

pub struct EvtxReader {
    input: Box<dyn ReadSeek>,
    settings: Arc<ParserSettings>,
    walk: Arc<ChunkWalk>,
    /// The positions in the walk still to read.
    positions: Range<u64>,
    pending: VecDeque<ReadResult>,
    /// Reported after the last whole chunk: the file ends inside a chunk
    /// (only by the reader that ends the walk).
    truncated: Option<ReadError>,
    /// A chunk's buffer, kept for the next chunk.
    buffer: Vec<u8>,
    ctx: SourceContext,
}

impl EvtxReader {
    /// Opens an EVTX stream to read all of it; fails when the file header
    /// is unreadable.
    pub fn new(mut input: Box<dyn ReadSeek>, ctx: SourceContext) -> Result<Self, ReadError> {
        let len = check_header(&mut input, &ctx)?;
        let walk = ChunkWalk::read(&mut input, len).map_err(|e| cannot_read(&ctx, e))?;
        let positions = 0..walk.len();
        Ok(Self::reading(input, Arc::new(walk), positions, truncation(len, &ctx), ctx))
    }

    /// Opens an EVTX stream to read one segment of its walk (see
    /// [`ChunkWalk::segments`]).
    pub fn segment(mut input: Box<dyn ReadSeek>, segment: &Segment, ctx: SourceContext) -> Result<Self, ReadError> {
        let len = check_header(&mut input, &ctx)?;
        let truncated = if segment.is_last() { truncation(len, &ctx) } else { None };
        Ok(Self::reading(input, segment.walk.clone(), segment.positions.clone(), truncated, ctx))
    }

    fn reading(
        input: Box<dyn ReadSeek>,
        walk: Arc<ChunkWalk>,
        positions: Range<u64>,
        truncated: Option<ReadError>,
        ctx: SourceContext,
    ) -> Self {
        // One thread per file: files are already read in parallel, and the
        // crate's own pool would nest inside ours.
        let settings = Arc::new(ParserSettings::new().num_threads(1));
        Self { input, settings, walk, positions, pending: VecDeque::new(), truncated, buffer: Vec::new(), ctx }
    }

    /// Parses the next chunk into `pending`. Returns false at the end.
    fn fill(&mut self) -> bool {
        let Some(position) = self.positions.next() else {
            return match self.truncated.take() {
                Some(error) => {
                    self.pending.push_back(Err(error));
                    true
                }
                None => false,
            };
        };
        let number = self.walk.chunk_at(position);
        let chunk_offset = chunk_offset(number);
        // Read into the last chunk's buffer, past its length: no zeroing.
        let mut data = std::mem::take(&mut self.buffer);
        data.clear();
        data.reserve_exact(CHUNK_BYTES as usize);
        let read = self
            .input
            .seek(SeekFrom::Start(chunk_offset))
            .and_then(|_| (&mut self.input).take(CHUNK_BYTES).read_to_end(&mut data));
        let problem = match read {
            Ok(n) if n as u64 == CHUNK_BYTES => None,
            Ok(n) => Some(format!("the file ends {n} bytes into it")),
            Err(e) => Some(format!("cannot read: {e}")),
        };
        if let Some(problem) = problem {
            self.pending.push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {problem}"))));
            return true;
        }
        // Empty chunks are left in a file that was not closed cleanly (the
        // samples have more empty chunks than full ones): a chunk with its
        // magic is not one, and the others are compared 16 bytes at a time.
        if !data.starts_with(CHUNK_MAGIC) && is_zero(&data) {
            self.buffer = data;
            return true;
        }
        let mut data = match EvtxChunkData::new(data, false) {
            Ok(data) => data,
            Err(e) => {
                self.pending
                    .push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {}", causes(&e)))));
                return true;
            }
        };
        data.number = Some(number);
        self.parse_chunk(&mut data, number, chunk_offset);
        self.buffer = std::mem::take(&mut data.data);
        true
    }

    fn parse_chunk(&mut self, data: &mut EvtxChunkData, number: u64, chunk_offset: u64) {
        let mut chunk = match data.parse(self.settings.clone()) {
            Ok(chunk) => chunk,
            Err(e) => {
                self.pending
                    .push_back(Err(self.error(chunk_offset, format!("chunk {number} skipped: {}", causes(&e)))));
                return;
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

/// A chunk's signature.
const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";

/// Whether every byte of `data` is zero.
fn is_zero(data: &[u8]) -> bool {
    let mut words = data.chunks_exact(16);
    words.all(|w| u128::from_ne_bytes(w.try_into().expect("16 bytes")) == 0)
        && words.remainder().iter().all(|&b| b == 0)
}

/// Checks the file header; returns the file's length.
fn check_header(input: &mut Box<dyn ReadSeek>, ctx: &SourceContext) -> Result<u64, ReadError> {
    let len = input.seek(SeekFrom::End(0)).and_then(|len| input.rewind().map(|()| len));
    let len = len.map_err(|e| cannot_read(ctx, e))?;
    EvtxFileHeader::from_stream(input).map_err(|e| {
        ReadError::new(&ctx.source, Some(Location::Offset(0)), format!("not a readable EVTX file: {}", causes(&e)))
    })?;
    Ok(len)
}

fn cannot_read(ctx: &SourceContext, e: std::io::Error) -> ReadError {
    ReadError::new(&ctx.source, None, format!("cannot read: {e}"))
}

/// The error for a file that ends inside a chunk: only whole chunks are
/// walked, and a partial one at the end would be lost without a word, so a
/// cut-off copy would look complete.
fn truncation(len: u64, ctx: &SourceContext) -> Option<ReadError> {
    if len <= HEADER_BYTES || (len - HEADER_BYTES).is_multiple_of(CHUNK_BYTES) {
        return None;
    }
    let chunk = (len - HEADER_BYTES) / CHUNK_BYTES;
    let start = chunk_offset(chunk);
    Some(ReadError::new(
        &ctx.source,
        Some(Location::Offset(start)),
        format!("file truncated: it ends {} bytes into chunk {chunk}, whose records are lost", len - start),
    ))
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
    /// and 6 records (record IDs 1 to 87; its other 14 chunks are empty),
    /// or `None` when the shared data is not there.
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

    /// What a reader yields: record IDs, and errors as (offset, message).
    fn outcome(reader: EvtxReader) -> Vec<Result<u64, (Option<Location>, String)>> {
        reader
            .map(|item| match item {
                Ok(event) => match event.provenance.location {
                    Location::Record(id) => Ok(id),
                    other => panic!("{other:?}"),
                },
                Err(e) => Err((e.location, e.message)),
            })
            .collect()
    }

    fn whole(bytes: &[u8]) -> Vec<Result<u64, (Option<Location>, String)>> {
        let ctx = SourceContext::new("t.evtx", FieldNames::new(), Default::default());
        outcome(EvtxReader::new(Box::new(std::io::Cursor::new(bytes.to_vec())), ctx).unwrap())
    }

    /// The file read as segments of `chunks` chunks, one reader each, one
    /// after the other.
    fn in_segments(bytes: &[u8], chunks: u64) -> Vec<Result<u64, (Option<Location>, String)>> {
        let walk = ChunkWalk::read(&mut std::io::Cursor::new(bytes), bytes.len() as u64).unwrap();
        let mut all = Vec::new();
        for segment in &Arc::new(walk).segments(chunks) {
            let ctx = SourceContext::new("t.evtx", FieldNames::new(), Default::default());
            let input = Box::new(std::io::Cursor::new(bytes.to_vec()));
            all.extend(outcome(EvtxReader::segment(input, segment, ctx).unwrap()));
        }
        all
    }

    /// The sample with chunk 1 emptied (the crate skips an empty chunk
    /// silently) and chunk 2 garbled.
    fn damaged_sample() -> Option<Vec<u8>> {
        let mut bytes = multi_chunk_sample()?;
        let chunk = |n: usize| 4096 + n * 65536..4096 + (n + 1) * 65536;
        bytes[chunk(1)].fill(0);
        bytes[chunk(2)].fill(0xAA);
        Some(bytes)
    }

    #[test]
    fn segments_read_one_after_the_other_give_what_the_whole_file_gives() {
        let Some(mut bytes) = damaged_sample() else {
            return;
        };
        // Cut 1000 bytes into the last chunk: the truncation is reported
        // once, after the last whole chunk.
        let chunks = (bytes.len() - 4096) / 65536;
        bytes.truncate(4096 + (chunks - 1) * 65536 + 1000);
        let want = whole(&bytes);
        assert_eq!(want.iter().filter(|r| r.is_ok()).count(), 39, "{want:?}");
        assert_eq!(want.iter().filter(|r| r.is_err()).count(), 2, "{want:?}");
        for size in [1, 2, 3, 5] {
            assert_eq!(in_segments(&bytes, size), want, "segments of {size} chunks");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 24, ..Default::default() })]

        /// Wherever the file is damaged (spans overwritten, the end cut off),
        /// reading it in segments gives what reading it whole gives.
        #[test]
        fn segments_agree_with_the_whole_file_however_it_is_damaged(
            spans in proptest::collection::vec((0usize..1_150_000, 1usize..5000, proptest::prelude::any::<u8>()), 0..6),
            cut in proptest::option::of(5000usize..1_150_000),
            chunks in 1u64..7,
        ) {
            let Some(mut bytes) = multi_chunk_sample() else { return Ok(()) };
            for (start, len, byte) in spans {
                let start = start.min(bytes.len());
                let end = (start + len).min(bytes.len());
                bytes[start..end].fill(byte);
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.min(bytes.len()));
            }
            // The file header must stay readable for either to start.
            bytes[..8].copy_from_slice(MAGIC);
            let ctx = SourceContext::new("t.evtx", FieldNames::new(), Default::default());
            let Ok(reader) = EvtxReader::new(Box::new(std::io::Cursor::new(bytes.clone())), ctx) else { return Ok(()) };
            let want = outcome(reader);
            proptest::prop_assert_eq!(in_segments(&bytes, chunks), want);
        }
    }

    #[test]
    fn a_wrapped_log_is_read_from_its_oldest_chunk_whole_or_in_segments() {
        let Some(bytes) = multi_chunk_sample() else {
            return;
        };
        let in_order: Vec<u64> = whole(&bytes).into_iter().map(Result::unwrap).collect();
        assert_eq!(in_order, (1..=87).collect::<Vec<u64>>());
        // The same chunks laid out as a full log that overwrote its oldest:
        // the third chunk (its last records) first in the file, the first
        // two (the oldest) last.
        let chunks = (bytes.len() - 4096) / 65536;
        let chunk = |n: usize| &bytes[4096 + n * 65536..4096 + (n + 1) * 65536];
        let mut wrapped = bytes[..4096].to_vec();
        for n in (2..chunks).chain(0..2) {
            wrapped.extend_from_slice(chunk(n));
        }
        let read: Vec<u64> = whole(&wrapped).into_iter().map(Result::unwrap).collect();
        assert_eq!(read, in_order);
        let read: Vec<u64> = in_segments(&wrapped, 2).into_iter().map(Result::unwrap).collect();
        assert_eq!(read, in_order);
    }

    #[test]
    fn a_chunk_is_empty_only_when_every_byte_is_zero() {
        let mut data = vec![0u8; 65536];
        assert!(is_zero(&data));
        for at in [0, 17, 65535] {
            data[at] = 1;
            assert!(!is_zero(&data), "{at}");
            data[at] = 0;
        }
        assert!(is_zero(&data[..21]) && !is_zero(&[0, 0, 3]));
    }

    #[test]
    fn errors_name_the_damaged_chunk_even_after_an_empty_one() {
        let Some(bytes) = damaged_sample() else {
            return;
        };
        // The error must say chunk 2 and its offset, not "the second chunk
        // met".
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
