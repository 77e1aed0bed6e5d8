//! Which chunks of an EVTX file hold its records, in which order, and how a
//! large file is cut into stretches of chunks read on their own.
//!
//! A log that has wrapped around (full, each new chunk written over its
//! oldest) starts anywhere in the file: records are in order from the chunk
//! whose header names the lowest record ID to the end of the file, then from
//! its start. That is the evtx crate's rule (its `chunks()`); ferret walks
//! the chunks itself so that a file's chunks can be split between threads:
//! chunks are independent (each has its own strings and templates), and a
//! single large Security log is the common case in an incident.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use evtx::EvtxChunkHeader;

/// The file header's size: chunks start after it.
pub(crate) const HEADER_BYTES: u64 = 4096;
/// A chunk's size.
pub(crate) const CHUNK_BYTES: u64 = 65536;
/// The chunk header, which names the chunk's first and last record IDs.
const CHUNK_HEADER_BYTES: usize = 512;

/// The record order of a file's whole chunks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkWalk {
    /// The chunk holding the oldest records, where the walk starts.
    oldest: u64,
    /// Whole chunks in the file.
    count: u64,
}

impl ChunkWalk {
    /// Reads the chunk headers of an EVTX file `len` bytes long.
    pub fn read(input: &mut (impl Read + Seek + ?Sized), len: u64) -> io::Result<ChunkWalk> {
        let count = len.saturating_sub(HEADER_BYTES) / CHUNK_BYTES;
        let mut oldest = (u64::MAX, 0);
        let mut header = [0; CHUNK_HEADER_BYTES];
        for chunk in 0..count {
            input.seek(SeekFrom::Start(chunk_offset(chunk)))?;
            input.read_exact(&mut header)?;
            // A reversed range (or an empty chunk) says nothing about where
            // its records belong.
            if let Ok(header) = EvtxChunkHeader::from_bytes(&header)
                && header.first_event_record_id <= header.last_event_record_id
                && header.first_event_record_id < oldest.0
            {
                oldest = (header.first_event_record_id, chunk);
            }
        }
        Ok(ChunkWalk { oldest: oldest.1, count })
    }

    /// Whole chunks in the file.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The chunk `position` places into the walk.
    pub(crate) fn chunk_at(&self, position: u64) -> u64 {
        (self.oldest + position) % self.count
    }

    /// The walk cut into stretches of at most `chunks` chunks, in order;
    /// one empty stretch for a file of no whole chunk, which still has its
    /// end to report.
    pub fn segments(self: &Arc<Self>, chunks: u64) -> Vec<Segment> {
        let chunks = chunks.max(1);
        (0..self.count.div_ceil(chunks).max(1))
            .map(|i| Segment { walk: self.clone(), positions: i * chunks..((i + 1) * chunks).min(self.count) })
            .collect()
    }
}

/// Where chunk `chunk` starts.
pub(crate) fn chunk_offset(chunk: u64) -> u64 {
    HEADER_BYTES + chunk * CHUNK_BYTES
}

/// A stretch of a file's walk, read on its own: the reader of a segment
/// reads only its chunks, and the one that ends the walk reports what ends
/// the file (a chunk cut short).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub walk: Arc<ChunkWalk>,
    /// Positions in the walk, not chunk numbers.
    pub positions: Range<u64>,
}

impl Segment {
    /// Whether the segment starts the file (its stream is counted once).
    pub fn is_first(&self) -> bool {
        self.positions.start == 0
    }

    /// Whether the segment ends the walk.
    pub fn is_last(&self) -> bool {
        self.positions.end >= self.walk.count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(oldest: u64, count: u64) -> Arc<ChunkWalk> {
        Arc::new(ChunkWalk { oldest, count })
    }

    #[test]
    fn a_wrapped_walk_goes_from_the_oldest_chunk_round_to_the_one_before() {
        let walk = walk(3, 5);
        let order: Vec<u64> = (0..5).map(|p| walk.chunk_at(p)).collect();
        assert_eq!(order, [3, 4, 0, 1, 2]);
    }

    #[test]
    fn segments_cover_the_walk_in_order_without_overlap() {
        let segments = walk(0, 10).segments(4);
        let ranges: Vec<Range<u64>> = segments.iter().map(|s| s.positions.clone()).collect();
        assert_eq!(ranges, [0..4, 4..8, 8..10]);
        assert!(segments[0].is_first() && !segments[0].is_last());
        assert!(!segments[2].is_first() && segments[2].is_last());
        assert_eq!(walk(0, 3).segments(8).len(), 1);
        let empty = walk(0, 0).segments(8);
        assert_eq!(empty.len(), 1);
        assert!(empty[0].positions.is_empty() && empty[0].is_first() && empty[0].is_last());
    }
}
