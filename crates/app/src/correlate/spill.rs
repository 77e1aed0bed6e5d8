//! Puts correlation hits in event-time order across every input.
//!
//! Inputs are read in parallel and each may span any time range, so the
//! hits of all inputs are sorted before they reach the correlation engine:
//! in memory up to a budget, beyond it as sorted runs in temporary files,
//! merged at the end (an external merge sort). The order is exact whatever
//! the disorder of the inputs, memory stays within the budget, and ties
//! (equal timestamps) keep input order then record order, so the result
//! does not depend on the thread count.
//!
//! In memory, hits are kept encoded in one buffer (the same records the
//! runs hold): the budget is in bytes, so a hit carrying a 10 KB command
//! line counts for what it weighs, and a spill copies bytes without
//! encoding anything. Runs are merged in tiers (`FAN_IN` runs of one tier
//! make one run of the next), so however long the input, few files are
//! open and each hit is rewritten a logarithmic number of times.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use ferret_model::{Location, Provenance, Timestamp};
use ferret_sigma::{Hit, Origin};

/// Sort key: event time, then input index, then hit order in the input.
type Key = (Timestamp, u32, u64);

/// Hits held in memory before a sorted run is written out.
pub const DEFAULT_BUDGET: usize = 64 * 1024;

/// Bytes of encoded hits (and their index) held in memory before a sorted
/// run is written out, whatever the hit count. Reached on larger inputs
/// only, so it is most of what peak memory grows by from a small input to
/// a large one (4 MiB was a tenth of a hunt's RSS; at 2 MiB the live heap
/// of a hunt over evtx-attack-samples x10 was 3.1 MB above that over x1,
/// 1.8 MB of it this buffer). Halving it costs at most one more merge tier
/// (`FAN_IN` runs a tier): each hit rewritten once more, on some input
/// sizes; x10's 15,930 hits make 4 runs of 1 MiB (2 of 2 MiB).
pub const MEMORY_BUDGET: usize = 1 << 20;

/// Runs of one tier merged into one run of the next.
const FAN_IN: usize = 16;

pub struct HitSorter {
    /// Encoded hits, in arrival order.
    arena: Vec<u8>,
    /// Per hit in `arena`: its key, start and length.
    index: Vec<(Key, u32, u32)>,
    budget: usize,
    memory_budget: usize,
    /// Sorted runs on disk, with their tier; tiers never increase from the
    /// first run to the last.
    runs: Vec<(u32, File)>,
    sources: Vec<Arc<str>>,
    source_ids: foldhash::HashMap<Arc<str>, u32>,
    spilled: u64,
}

impl HitSorter {
    /// At most `budget` hits, and [`MEMORY_BUDGET`] bytes, in memory.
    pub fn new(budget: usize) -> Self {
        Self::with_memory(budget, MEMORY_BUDGET)
    }

    pub fn with_memory(budget: usize, memory_budget: usize) -> Self {
        HitSorter {
            arena: Vec::new(),
            index: Vec::new(),
            budget: budget.max(1),
            memory_budget,
            runs: Vec::new(),
            sources: Vec::new(),
            source_ids: foldhash::HashMap::default(),
            spilled: 0,
        }
    }

    /// Hits written to temporary files so far.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    /// Temporary files open now.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    pub fn push(&mut self, input: u32, seq: u64, hit: Hit) -> io::Result<()> {
        let key = (hit.time, input, seq);
        let source = self.source_id(&hit.origin.provenance.source);
        if self.arena.capacity() == 0 {
            // Its whole budget at once: grown by doubling, the buffer was
            // copied on the way, the old copy and the new one both held.
            self.arena.reserve(self.memory_budget.min(MEMORY_BUDGET));
        }
        let start = self.arena.len();
        encode(&mut self.arena, key, &hit, source)?;
        self.index.push((key, start as u32, (self.arena.len() - start) as u32));
        let held = self.arena.len() + self.index.len() * std::mem::size_of::<(Key, u32, u32)>();
        // Offsets are u32: spill before the buffer could outgrow them.
        if self.index.len() >= self.budget || held >= self.memory_budget || self.arena.len() >= u32::MAX as usize / 2 {
            self.spill()?;
        }
        Ok(())
    }

    fn source_id(&mut self, source: &Arc<str>) -> u32 {
        let sources = &mut self.sources;
        *self.source_ids.entry(source.clone()).or_insert_with(|| {
            sources.push(source.clone());
            (sources.len() - 1) as u32
        })
    }

    fn spill(&mut self) -> io::Result<()> {
        self.index.sort_unstable_by_key(|(key, _, _)| *key);
        let mut file = tempfile::tempfile()?;
        {
            let mut out = BufWriter::new(&mut file);
            for &(_, start, len) in &self.index {
                out.write_all(&self.arena[start as usize..(start + len) as usize])?;
            }
            out.flush()?;
        }
        self.spilled += self.index.len() as u64;
        self.index.clear();
        self.arena.clear();
        file.rewind()?;
        self.runs.push((0, file));
        self.merge_full_tiers()
    }

    /// While the last `FAN_IN` runs share a tier, merges them into one run
    /// of the next tier.
    fn merge_full_tiers(&mut self) -> io::Result<()> {
        while self.runs.len() >= FAN_IN {
            let tail = self.runs.len() - FAN_IN;
            let tier = self.runs[tail].0;
            if self.runs[tail..].iter().any(|(t, _)| *t != tier) {
                break;
            }
            let runs: Vec<Run> = self.runs.drain(tail..).map(|(_, file)| Run::File(BufReader::new(file))).collect();
            let mut merge = Merge::new(runs, std::mem::take(&mut self.sources))?;
            let mut file = tempfile::tempfile()?;
            let result = (|| {
                let mut out = BufWriter::new(&mut file);
                while let Some((key, hit)) = merge.next_keyed()? {
                    // Every source of a spilled hit already has its id.
                    let id = self.source_ids[&hit.origin.provenance.source];
                    encode(&mut out, key, &hit, id)?;
                }
                out.flush()
            })();
            self.sources = merge.sources;
            result?;
            file.rewind()?;
            self.runs.push((tier + 1, file));
        }
        Ok(())
    }

    /// Every hit pushed, in order.
    pub fn into_sorted(mut self) -> io::Result<Sorted> {
        self.index.sort_unstable_by_key(|(key, _, _)| *key);
        let mut runs: Vec<Run> = self.runs.into_iter().map(|(_, file)| Run::File(BufReader::new(file))).collect();
        runs.push(Run::Memory { arena: self.arena, order: self.index.into_iter() });
        Ok(Sorted { merge: Merge::new(runs, self.sources)? })
    }
}

/// A sorted sequence of encoded hits: a file, or the in-memory rest.
enum Run {
    File(BufReader<File>),
    Memory { arena: Vec<u8>, order: std::vec::IntoIter<(Key, u32, u32)> },
}

impl Run {
    fn next(&mut self, sources: &[Arc<str>]) -> io::Result<Option<(Key, Hit)>> {
        match self {
            Run::File(reader) => decode(reader, sources),
            Run::Memory { arena, order } => match order.next() {
                None => Ok(None),
                Some((_, start, len)) => decode(&mut &arena[start as usize..(start + len) as usize], sources),
            },
        }
    }
}

/// The k-way merge of sorted runs.
struct Merge {
    runs: Vec<Run>,
    sources: Vec<Arc<str>>,
    heads: Vec<Option<(Key, Hit)>>,
    heap: BinaryHeap<Reverse<(Key, usize)>>,
}

impl Merge {
    fn new(mut runs: Vec<Run>, sources: Vec<Arc<str>>) -> io::Result<Merge> {
        let mut heads = Vec::with_capacity(runs.len());
        let mut heap = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            let head = run.next(&sources)?;
            if let Some((key, _)) = &head {
                heap.push(Reverse((*key, i)));
            }
            heads.push(head);
        }
        Ok(Merge { runs, sources, heads, heap })
    }

    fn next_keyed(&mut self) -> io::Result<Option<(Key, Hit)>> {
        let Some(Reverse((_, i))) = self.heap.pop() else { return Ok(None) };
        let head = self.heads[i].take().expect("a queued run has a head");
        let next = self.runs[i].next(&self.sources)?;
        if let Some((key, _)) = &next {
            self.heap.push(Reverse((*key, i)));
        }
        self.heads[i] = next;
        Ok(Some(head))
    }
}

/// The merge of the sorted runs and the in-memory rest.
pub struct Sorted {
    merge: Merge,
}

impl Iterator for Sorted {
    type Item = io::Result<Hit>;

    fn next(&mut self) -> Option<io::Result<Hit>> {
        self.merge.next_keyed().map(|head| head.map(|(_, hit)| hit)).transpose()
    }
}

// A compact binary record; only this process reads it back.

fn put_u8(out: &mut impl Write, v: u8) -> io::Result<()> {
    out.write_all(&[v])
}
fn put_u16(out: &mut impl Write, v: u16) -> io::Result<()> {
    out.write_all(&v.to_le_bytes())
}
fn put_u32(out: &mut impl Write, v: u32) -> io::Result<()> {
    out.write_all(&v.to_le_bytes())
}
fn put_u64(out: &mut impl Write, v: u64) -> io::Result<()> {
    out.write_all(&v.to_le_bytes())
}
fn put_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    put_u32(out, s.len() as u32)?;
    out.write_all(s.as_bytes())
}
fn put_strs(out: &mut impl Write, list: &[Box<str>]) -> io::Result<()> {
    put_u16(out, list.len() as u16)?;
    list.iter().try_for_each(|s| put_str(out, s))
}

/// `source`: the id of the hit's source in the sorter's table.
fn encode(out: &mut impl Write, (time, input, seq): Key, hit: &Hit, source: u32) -> io::Result<()> {
    put_u64(out, time.as_second() as u64)?;
    put_u32(out, time.subsec_nanosecond() as u32)?;
    put_u32(out, input)?;
    put_u64(out, seq)?;
    put_u32(out, hit.correlation)?;
    put_u16(out, hit.slot)?;
    put_u32(out, hit.weight)?;
    put_strs(out, &hit.group)?;
    match &hit.value {
        None => put_u8(out, 0)?,
        Some(value) => {
            put_u8(out, 1)?;
            put_strs(out, value)?;
        }
    }
    put_u16(out, hit.details.len() as u16)?;
    for (i, value) in &hit.details {
        put_u16(out, *i)?;
        put_str(out, value)?;
    }
    put_u32(out, source)?;
    let (tag, n) = match hit.origin.provenance.location {
        Location::Record(n) => (0, n),
        Location::Line(n) => (1, n),
        Location::Offset(n) => (2, n),
    };
    put_u8(out, tag)?;
    put_u64(out, n)?;
    match &hit.origin.host {
        None => put_u8(out, 0),
        Some(host) => {
            put_u8(out, 1)?;
            put_str(out, host)
        }
    }
}

fn get<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    input.read_exact(&mut buf)?;
    Ok(buf)
}
fn get_u8(input: &mut impl Read) -> io::Result<u8> {
    Ok(get::<1>(input)?[0])
}
fn get_u16(input: &mut impl Read) -> io::Result<u16> {
    Ok(u16::from_le_bytes(get(input)?))
}
fn get_u32(input: &mut impl Read) -> io::Result<u32> {
    Ok(u32::from_le_bytes(get(input)?))
}
fn get_u64(input: &mut impl Read) -> io::Result<u64> {
    Ok(u64::from_le_bytes(get(input)?))
}
fn get_str(input: &mut impl Read) -> io::Result<Box<str>> {
    let len = get_u32(input)? as usize;
    let mut bytes = vec![0u8; len];
    input.read_exact(&mut bytes)?;
    String::from_utf8(bytes).map(String::into_boxed_str).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}
fn get_strs(input: &mut impl Read) -> io::Result<Box<[Box<str>]>> {
    let n = get_u16(input)?;
    (0..n).map(|_| get_str(input)).collect()
}

/// The next record of a run, `None` at its end.
fn decode(input: &mut impl Read, sources: &[Arc<str>]) -> io::Result<Option<(Key, Hit)>> {
    let seconds = match get::<8>(input) {
        Ok(bytes) => u64::from_le_bytes(bytes) as i64,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    let bad =
        |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("bad {what} in a correlation spill file"));
    let nanos = get_u32(input)? as i32;
    let time = Timestamp::new(seconds, nanos).map_err(|_| bad("timestamp"))?;
    let key = (time, get_u32(input)?, get_u64(input)?);
    let correlation = get_u32(input)?;
    let slot = get_u16(input)?;
    let weight = get_u32(input)?;
    let group = get_strs(input)?;
    let value = if get_u8(input)? == 1 { Some(get_strs(input)?) } else { None };
    let n = get_u16(input)?;
    let details = (0..n).map(|_| Ok((get_u16(input)?, get_str(input)?))).collect::<io::Result<_>>()?;
    let source = sources.get(get_u32(input)? as usize).cloned().ok_or_else(|| bad("source"))?;
    let location = match (get_u8(input)?, get_u64(input)?) {
        (0, n) => Location::Record(n),
        (1, n) => Location::Line(n),
        (2, n) => Location::Offset(n),
        _ => return Err(bad("location")),
    };
    let host = if get_u8(input)? == 1 { Some(get_str(input)?) } else { None };
    let origin = Origin { provenance: Provenance { source, location }, host };
    Ok(Some((key, Hit { time, correlation, slot, group, value, details, origin, weight })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(second: i64, n: u64) -> Hit {
        Hit {
            time: Timestamp::new(1_700_000_000 + second, 5).unwrap(),
            correlation: 1,
            slot: 0,
            group: vec![Box::from("10.0.0.1")].into(),
            value: n.is_multiple_of(2).then(|| vec![Box::from("alice"), Box::from("")].into()),
            details: vec![(0, Box::from("root"))],
            origin: Origin {
                provenance: Provenance { source: Arc::from(format!("f{}", n % 3)), location: Location::Line(n) },
                host: (n % 2 == 1).then(|| Box::from("web-01")),
            },
            weight: (n % 4) as u32 + 1,
        }
    }

    #[test]
    fn spilled_runs_merge_into_exact_time_order() {
        // Out of order within and across "inputs", budget 7 → several runs.
        let mut sorter = HitSorter::new(7);
        let times = [50, 3, 3, 40, 1, 99, 2, 60, 0, 7, 7, 45, 12, 33, 18, 5, 77, 3, 8, 21];
        for (n, t) in times.iter().enumerate() {
            sorter.push((n % 2) as u32, n as u64, hit(*t, n as u64)).unwrap();
        }
        assert!(sorter.spilled() >= 14);
        let sorted: Vec<Hit> = sorter.into_sorted().unwrap().map(Result::unwrap).collect();
        assert_eq!(sorted.len(), times.len());
        assert!(sorted.windows(2).all(|w| w[0].time <= w[1].time));
        // Records survive the round trip intact.
        let n = times.iter().position(|t| *t == 99).unwrap() as u64;
        assert_eq!(sorted.iter().find(|h| h.time == hit(99, n).time).unwrap(), &hit(99, n));
        // Ties keep (input, seq) order.
        let threes: Vec<u64> = sorted
            .iter()
            .filter(|h| h.time == hit(3, 0).time)
            .map(|h| match h.origin.provenance.location {
                Location::Line(n) => n,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(threes, vec![2, 1, 17]);
    }

    #[test]
    fn the_memory_budget_is_in_bytes() {
        // No hit limit, 2 KB of memory: a few hits per run.
        let mut sorter = HitSorter::with_memory(usize::MAX, 2048);
        for n in 0..40u64 {
            sorter.push(0, n, hit(40 - n as i64, n)).unwrap();
        }
        assert!(sorter.spilled() >= 30, "spilled {}", sorter.spilled());
        let mut big = hit(0, 99);
        big.details = vec![(0, "x".repeat(4096).into())];
        let mut sorter = HitSorter::with_memory(usize::MAX, 2048);
        sorter.push(0, 0, big.clone()).unwrap();
        assert_eq!(sorter.spilled(), 1, "one hit over the budget spills at once");
        let sorted: Vec<Hit> = sorter.into_sorted().unwrap().map(Result::unwrap).collect();
        assert_eq!(sorted, vec![big]);
    }

    #[test]
    fn runs_merge_in_tiers_and_stay_few() {
        let mut sorter = HitSorter::new(1);
        let total = 1000u64;
        let mut most_runs = 0;
        for n in 0..total {
            // A descending then repeating pattern of times.
            sorter.push((n % 3) as u32, n, hit(((total - n) % 97) as i64, n)).unwrap();
            most_runs = most_runs.max(sorter.runs());
        }
        assert_eq!(sorter.spilled(), total);
        // 1000 one-hit runs: tiers of 16 keep at most 15 per tier open.
        assert!(most_runs < 3 * FAN_IN, "{most_runs} runs open");
        let sorted: Vec<Hit> = sorter.into_sorted().unwrap().map(Result::unwrap).collect();
        assert_eq!(sorted.len() as u64, total);
        let keys: Vec<(Timestamp, u64)> = sorted
            .iter()
            .map(|h| match h.origin.provenance.location {
                Location::Line(n) => (h.time, n),
                _ => unreachable!(),
            })
            .collect();
        // Time order, ties in push order (input, then seq).
        let mut expected = keys.clone();
        expected.sort_by_key(|&(time, n)| (time, n % 3, n));
        assert_eq!(keys, expected);
        // Every hit came back intact.
        for h in &sorted {
            let Location::Line(n) = h.origin.provenance.location else { unreachable!() };
            assert_eq!(h, &hit(((total - n) % 97) as i64, n));
        }
    }
}
