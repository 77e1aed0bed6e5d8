//! Inputs: files, directories (recursive), gzip and zip (transparently, with
//! a cap on decompressed size), and stdin. Each readable stream inside an
//! input is handed to a [`StreamVisitor`] with an iterator of its events.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferret_model::{FieldNames, Location, Timestamp};

use crate::auditd::AuditdReader;
use crate::cef::CefReader;
use crate::csv::CsvReader;
use crate::evtx::{ChunkWalk, EvtxReader, Segment as EvtxSegment};
use crate::journald::JournalExportReader;
use crate::json::JsonReader;
use crate::json_segments::{JsonSegment, json_segments};
use crate::kv::KvReader;
use crate::sniff::{Format, SNIFF_BYTES, sniff};
use crate::syslog::SyslogReader;
use crate::web::WebReader;
use crate::zeek::ZeekReader;
use crate::{ReadError, ReadOptions, ReadResult, SourceContext};

/// Archives inside archives are followed this deep, no deeper.
const MAX_NESTING: usize = 3;

/// One thing to read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Input {
    File(PathBuf),
    Stdin,
}

impl Input {
    pub fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }
}

/// Receives what [`read_input`] finds.
pub trait StreamVisitor {
    /// A readable stream (a file, or a member of an archive) and its events.
    fn stream(&mut self, name: &Arc<str>, format: Format, events: &mut dyn Iterator<Item = ReadResult>);
    /// A file or member that could not be read at all.
    fn unreadable(&mut self, error: ReadError);
}

/// Expands paths into inputs: directories recursively, in sorted order so
/// runs are reproducible; `-` is stdin. Paths that do not exist come back
/// as errors.
pub fn expand_inputs(paths: &[PathBuf]) -> (Vec<Input>, Vec<ReadError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
        } else {
            walk(path, &mut inputs, &mut errors);
        }
    }
    (inputs, errors)
}

fn walk(path: &Path, inputs: &mut Vec<Input>, errors: &mut Vec<ReadError>) {
    let name: Arc<str> = path.display().to_string().into();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => return errors.push(ReadError::new(&name, None, format!("cannot open: {e}"))),
    };
    if meta.is_file() {
        return inputs.push(Input::File(path.to_owned()));
    }
    if !meta.is_dir() {
        return errors.push(ReadError::new(&name, None, "not a regular file or directory"));
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => return errors.push(ReadError::new(&name, None, format!("cannot list directory: {e}"))),
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        walk(&child, inputs, errors);
    }
}

/// An input, or a part of one that is read on its own.
#[derive(Clone, Debug)]
pub struct InputPart {
    /// The input's index in the list split.
    pub input: usize,
    /// The part of the input; `None`: all of it.
    pub segment: Option<Segment>,
}

/// A part of a large file, read on its own.
#[derive(Clone, Debug)]
pub enum Segment {
    /// Some of an EVTX file's chunks.
    Evtx(EvtxSegment),
    /// A byte range of a file of JSON records, starting with one.
    Json(JsonSegment),
}

impl Segment {
    /// Whether the segment starts its file (its stream is counted once).
    pub fn is_first(&self) -> bool {
        match self {
            Segment::Evtx(segment) => segment.is_first(),
            Segment::Json(segment) => segment.is_first(),
        }
    }

    /// Whether the segment ends its file.
    pub fn is_last(&self) -> bool {
        match self {
            Segment::Evtx(segment) => segment.is_last(),
            Segment::Json(segment) => segment.is_last(),
        }
    }
}

impl InputPart {
    /// Whether this part's stream is the input's first (counted once).
    pub fn starts_input(&self) -> bool {
        self.segment.as_ref().is_none_or(Segment::is_first)
    }

    /// Whether this part ends its input.
    pub fn ends_input(&self) -> bool {
        self.segment.as_ref().is_none_or(Segment::is_last)
    }
}

/// Cuts inputs into parts that can be read on their own, in input order,
/// so that one large log (the usual Security.evtx of an incident, or an
/// agent's export of JSON records) keeps every core busy: an EVTX file of
/// more than `options.evtx_segment_chunks` chunks becomes segments of that
/// many, and an uncompressed file of JSON records longer than
/// `options.json_segment_bytes` segments of about that many bytes (see
/// `json_segments`); other inputs stay whole. A file that cannot be opened
/// or read here stays whole, for its reader to report.
pub fn split_inputs(inputs: &[Input], options: &ReadOptions) -> Vec<InputPart> {
    let mut parts = Vec::with_capacity(inputs.len());
    for (index, input) in inputs.iter().enumerate() {
        let segments = match input {
            Input::File(path) => {
                let evtx = evtx_segments(path, options.evtx_segment_chunks);
                if evtx.is_empty() {
                    json_segments(path, options.json_segment_bytes).into_iter().map(Segment::Json).collect()
                } else {
                    evtx.into_iter().map(Segment::Evtx).collect()
                }
            }
            Input::Stdin => Vec::new(),
        };
        if segments.is_empty() {
            parts.push(InputPart { input: index, segment: None });
        } else {
            parts.extend(segments.into_iter().map(|segment| InputPart { input: index, segment: Some(segment) }));
        }
    }
    parts
}

/// The segments of `path` if it is an EVTX file of more than `chunks`
/// chunks, else none.
fn evtx_segments(path: &Path, chunks: u64) -> Vec<EvtxSegment> {
    let big_enough = |len: u64| {
        len > crate::evtx::HEADER_BYTES.saturating_add(chunks.max(1).saturating_mul(crate::evtx::CHUNK_BYTES))
    };
    // Most inputs are small: their size alone rules them out.
    let Some(len) = std::fs::metadata(path).ok().map(|m| m.len()).filter(|&len| big_enough(len)) else {
        return Vec::new();
    };
    let Ok(mut file) = File::open(path) else { return Vec::new() };
    let mut magic = [0; 8];
    if file.read_exact(&mut magic).is_err() || magic != crate::evtx::MAGIC {
        return Vec::new();
    }
    match ChunkWalk::read(&mut file, len) {
        Ok(walk) => Arc::new(walk).segments(chunks),
        Err(_) => Vec::new(),
    }
}

/// Reads one part of an input (see [`split_inputs`]): a segment of a
/// file, or the whole input as [`read_input`] does.
pub fn read_input_part(
    input: &Input,
    segment: Option<&Segment>,
    names: &Arc<FieldNames>,
    options: &ReadOptions,
    visitor: &mut dyn StreamVisitor,
) {
    let (Some(segment), Input::File(path)) = (segment, input) else {
        return read_input(input, names, options, visitor);
    };
    let name: Arc<str> = input.name().into();
    let (mut file, modified) = match open_file(path, &name) {
        Ok(opened) => opened,
        Err(e) => return visitor.unreadable(e),
    };
    let ctx = Opener { names, options }.context(&name, modified);
    match segment {
        Segment::Evtx(segment) => match EvtxReader::segment(Box::new(file), segment, ctx) {
            Ok(mut reader) => visitor.stream(&name, Format::Evtx, &mut reader),
            Err(e) => visitor.unreadable(e),
        },
        Segment::Json(segment) => {
            let range = segment.range();
            let start = segment.first_line().and_then(|line| file.seek(io::SeekFrom::Start(range.start)).map(|_| line));
            match start {
                Ok(line) => {
                    let bytes = BufReader::with_capacity(SNIFF_BYTES, file.take(range.end - range.start));
                    visitor.stream(&name, Format::Json, &mut JsonReader::from_line(bytes, ctx, line));
                }
                Err(e) => visitor.unreadable(ReadError::new(
                    &name,
                    Some(Location::Offset(range.start)),
                    format!("cannot read: {e}"),
                )),
            }
        }
    }
}

/// Reads one input, handing every stream in it to `visitor`.
pub fn read_input(input: &Input, names: &Arc<FieldNames>, options: &ReadOptions, visitor: &mut dyn StreamVisitor) {
    let name: Arc<str> = input.name().into();
    let opener = Opener { names, options };
    match input {
        Input::Stdin => {
            let stdin = BufReader::with_capacity(SNIFF_BYTES, io::stdin());
            opener.stream(name, None, Box::new(stdin), 0, visitor);
        }
        Input::File(path) => match open_file(path, &name) {
            Ok((file, modified)) => opener.seekable(name, modified, file, 0, visitor),
            Err(e) => visitor.unreadable(e),
        },
    }
}

/// Opens an input file, with its modification time (which dates syslog
/// lines that carry no year).
fn open_file(path: &Path, name: &Arc<str>) -> Result<(File, Option<Timestamp>), ReadError> {
    let file = File::open(path).map_err(|e| ReadError::new(name, None, format!("cannot open: {e}")))?;
    let modified = file.metadata().and_then(|m| m.modified()).ok().and_then(|t| Timestamp::try_from(t).ok());
    Ok((file, modified))
}

struct Opener<'a> {
    names: &'a Arc<FieldNames>,
    options: &'a ReadOptions,
}

trait SeekRead: Read + Seek + Send + 'static {}
impl<T: Read + Seek + Send + 'static> SeekRead for T {}

impl Opener<'_> {
    fn context(&self, name: &Arc<str>, modified: Option<Timestamp>) -> SourceContext {
        let mut ctx = SourceContext::new(name.clone(), self.names.clone(), self.options.clone());
        ctx.modified = modified;
        ctx
    }

    /// A stream we can seek in (a file, or a spilled archive member).
    fn seekable<F: SeekRead>(
        &self,
        name: Arc<str>,
        modified: Option<Timestamp>,
        mut file: F,
        depth: usize,
        visitor: &mut dyn StreamVisitor,
    ) {
        let head = match read_head(&mut file) {
            Ok(head) => head,
            Err(e) => return visitor.unreadable(ReadError::new(&name, None, format!("cannot read: {e}"))),
        };
        match sniff(&head) {
            Ok(Format::Evtx) => match EvtxReader::new(Box::new(file), self.context(&name, modified)) {
                Ok(mut reader) => visitor.stream(&name, Format::Evtx, &mut reader),
                Err(e) => visitor.unreadable(e),
            },
            Ok(Format::Zip) => self.zip(name, file, depth, visitor),
            Ok(_) => self.stream(name, modified, Box::new(BufReader::with_capacity(SNIFF_BYTES, file)), depth, visitor),
            Err(reason) => visitor.unreadable(ReadError::new(&name, Some(Location::Offset(0)), reason)),
        }
    }

    /// A stream we can only read forward (stdin, a gzip body, a zip member).
    fn stream(
        &self,
        name: Arc<str>,
        modified: Option<Timestamp>,
        mut input: Box<dyn BufRead + '_>,
        depth: usize,
        visitor: &mut dyn StreamVisitor,
    ) {
        let head = match input.fill_buf() {
            Ok(head) => head.to_vec(),
            Err(e) => return visitor.unreadable(ReadError::new(&name, None, format!("cannot read: {e}"))),
        };
        let ctx = || self.context(&name, modified);
        match sniff(&head) {
            Ok(Format::Empty) => visitor.stream(&name, Format::Empty, &mut std::iter::empty()),
            Ok(Format::Json) => visitor.stream(&name, Format::Json, &mut JsonReader::new(input, ctx())),
            Ok(Format::Syslog) => visitor.stream(&name, Format::Syslog, &mut SyslogReader::new(input, ctx())),
            Ok(Format::Auditd) => visitor.stream(&name, Format::Auditd, &mut AuditdReader::new(input, ctx())),
            Ok(Format::JournalExport) => {
                visitor.stream(&name, Format::JournalExport, &mut JournalExportReader::new(input, ctx()))
            }
            Ok(Format::Web) => visitor.stream(&name, Format::Web, &mut WebReader::new(input, ctx())),
            Ok(Format::Zeek) => visitor.stream(&name, Format::Zeek, &mut ZeekReader::new(input, ctx())),
            Ok(Format::Cef) => visitor.stream(&name, Format::Cef, &mut CefReader::new(input, ctx())),
            Ok(Format::Kv) => visitor.stream(&name, Format::Kv, &mut KvReader::new(input, ctx())),
            Ok(format @ Format::Csv { delimiter }) => {
                visitor.stream(&name, format, &mut CsvReader::new(input, delimiter, ctx()))
            }
            Ok(Format::Gzip) if depth < MAX_NESTING => {
                // The one place a decompressor is built: inside the cap.
                #[allow(clippy::disallowed_methods)]
                let body = Capped::new(flate2::read::MultiGzDecoder::new(input), self.options.max_decompressed_bytes);
                let inner = BufReader::with_capacity(SNIFF_BYTES, body);
                self.stream(name, modified, Box::new(inner), depth + 1, visitor)
            }
            Ok(Format::Tar) if depth < MAX_NESTING => self.tar(name, input, depth, visitor),
            // EVTX and zip need seeking: spill to an anonymous temporary
            // file (bounded by the decompression cap), never to memory.
            Ok(Format::Evtx | Format::Zip) if depth < MAX_NESTING => {
                match spill(input, self.options.max_decompressed_bytes) {
                    Ok(file) => self.seekable(name, modified, file, depth + 1, visitor),
                    Err(e) => visitor.unreadable(ReadError::new(&name, None, format!("cannot decompress: {e}"))),
                }
            }
            Ok(_) => visitor.unreadable(ReadError::new(&name, None, "archives nested too deep")),
            Err(reason) => visitor.unreadable(ReadError::new(&name, Some(Location::Offset(0)), reason)),
        }
    }

    fn zip<F: SeekRead>(&self, name: Arc<str>, file: F, depth: usize, visitor: &mut dyn StreamVisitor) {
        let mut archive = match zip::ZipArchive::new(file) {
            Ok(archive) => archive,
            Err(e) => return visitor.unreadable(ReadError::new(&name, None, format!("unreadable zip: {e}"))),
        };
        for index in 0..archive.len() {
            let member = match archive.by_index(index) {
                Ok(member) => member,
                Err(e) => {
                    visitor.unreadable(ReadError::new(&name, None, format!("zip member {index}: {e}")));
                    continue;
                }
            };
            if member.is_dir() {
                continue;
            }
            let inner = member.name().map_or_else(|_| format!("member {index}"), |n| n.into_owned());
            let member_name: Arc<str> = format!("{name}!{inner}").into();
            let capped = Capped::new(member, self.options.max_decompressed_bytes);
            let reader = BufReader::with_capacity(SNIFF_BYTES, capped);
            self.stream(member_name, None, Box::new(reader), depth + 1, visitor);
        }
    }
}

impl Opener<'_> {
    /// Tar members are read in place, one after the other: a tar archive
    /// (or a .tar.gz) is a stream, nothing is spilled.
    fn tar(&self, name: Arc<str>, input: Box<dyn BufRead + '_>, depth: usize, visitor: &mut dyn StreamVisitor) {
        let mut archive = tar::Archive::new(input);
        let entries = match archive.entries() {
            Ok(entries) => entries,
            Err(e) => return visitor.unreadable(ReadError::new(&name, None, format!("unreadable tar: {e}"))),
        };
        for (index, entry) in entries.enumerate() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    // A broken header loses the rest of the archive.
                    return visitor.unreadable(ReadError::new(&name, None, format!("tar member {index}: {e}")));
                }
            };
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let inner = entry.path().map_or_else(|_| format!("member {index}"), |p| p.display().to_string());
            let member_name: Arc<str> = format!("{name}!{inner}").into();
            let capped = Capped::new(entry, self.options.max_decompressed_bytes);
            self.stream(member_name, None, Box::new(BufReader::with_capacity(SNIFF_BYTES, capped)), depth + 1, visitor);
        }
    }
}

/// The first `SNIFF_BYTES` of `file`, which is then rewound.
pub(crate) fn read_head<F: Read + Seek>(file: &mut F) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    file.by_ref().take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
    file.rewind()?;
    Ok(head)
}

fn spill(mut input: impl Read, cap: u64) -> io::Result<File> {
    let mut file = tempfile::tempfile()?;
    let copied = io::copy(&mut input.by_ref().take(cap + 1), &mut file)?;
    if copied > cap {
        return Err(io::Error::other(format!("decompressed size exceeds the {cap}-byte limit")));
    }
    file.flush()?;
    file.rewind()?;
    Ok(file)
}

/// A reader that fails once more than `cap` bytes came out of it: a zip or
/// gzip bomb stops at the cap with an error naming it.
struct Capped<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R> Capped<R> {
    fn new(inner: R, cap: u64) -> Self {
        Self { inner, left: cap, cap }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One probe byte tells a stream that ends exactly at the cap
            // from one that would go on.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::other(format!("decompressed size exceeds the {}-byte limit", self.cap))),
            };
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}
