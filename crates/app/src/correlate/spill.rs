//! Puts correlation hits in event-time order across every input.
//!
//! Inputs are read in parallel and each may span any time range, so the
//! hits of all inputs are sorted before they reach the correlation engine:
//! in memory up to a budget, beyond it as sorted runs in temporary files,
//! merged at the end (an external merge sort). The order is exact whatever
//! the disorder of the inputs, memory stays within the budget, and ties
//! (equal timestamps) keep input order then record order, so the result
//! does not depend on the thread count.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::sync::Arc;

use ferret_model::{Location, Provenance, Timestamp};
use ferret_sigma::{Hit, Origin};

/// Sort key: event time, then input index, then hit order in the input.
type Key = (Timestamp, u32, u64);

/// Hits held in memory before a sorted run is written out.
pub const DEFAULT_BUDGET: usize = 64 * 1024;

pub struct HitSorter {
    buffer: Vec<(Key, Hit)>,
    budget: usize,
    runs: Vec<File>,
    sources: Vec<Arc<str>>,
    source_ids: HashMap<Arc<str>, u32>,
    spilled: u64,
}

impl HitSorter {
    pub fn new(budget: usize) -> Self {
        HitSorter {
            buffer: Vec::new(),
            budget: budget.max(1),
            runs: Vec::new(),
            sources: Vec::new(),
            source_ids: HashMap::new(),
            spilled: 0,
        }
    }

    /// Hits written to temporary files so far.
    pub fn spilled(&self) -> u64 {
        self.spilled
    }

    pub fn push(&mut self, input: u32, seq: u64, hit: Hit) -> io::Result<()> {
        self.buffer.push(((hit.time, input, seq), hit));
        if self.buffer.len() >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buffer.sort_unstable_by_key(|(key, _)| *key);
        let mut file = tempfile::tempfile()?;
        {
            let mut out = BufWriter::new(&mut file);
            for (key, hit) in self.buffer.drain(..) {
                encode(&mut out, key, &hit, &mut self.sources, &mut self.source_ids)?;
                self.spilled += 1;
            }
            out.flush()?;
        }
        file.rewind()?;
        self.runs.push(file);
        Ok(())
    }

    /// Every hit pushed, in order.
    pub fn into_sorted(mut self) -> io::Result<Sorted> {
        self.buffer.sort_unstable_by_key(|(key, _)| *key);
        let mut memory = std::mem::take(&mut self.buffer).into_iter();
        let mut runs: Vec<BufReader<File>> = self.runs.into_iter().map(BufReader::new).collect();
        let sources = self.sources;
        let mut heads = Vec::with_capacity(runs.len() + 1);
        let mut heap = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            let head = decode(run, &sources)?;
            if let Some((key, _)) = &head {
                heap.push(Reverse((*key, i)));
            }
            heads.push(head);
        }
        let head = memory.next();
        if let Some((key, _)) = &head {
            heap.push(Reverse((*key, runs.len())));
        }
        heads.push(head);
        Ok(Sorted { runs, memory, sources, heads, heap })
    }
}

/// The merge of the sorted runs and the in-memory rest.
pub struct Sorted {
    runs: Vec<BufReader<File>>,
    memory: std::vec::IntoIter<(Key, Hit)>,
    sources: Vec<Arc<str>>,
    heads: Vec<Option<(Key, Hit)>>,
    heap: BinaryHeap<Reverse<(Key, usize)>>,
}

impl Iterator for Sorted {
    type Item = io::Result<Hit>;

    fn next(&mut self) -> Option<io::Result<Hit>> {
        let Reverse((_, i)) = self.heap.pop()?;
        let (_, hit) = self.heads[i].take().expect("a queued run has a head");
        let next = if i == self.runs.len() {
            self.memory.next()
        } else {
            match decode(&mut self.runs[i], &self.sources) {
                Ok(next) => next,
                Err(e) => return Some(Err(e)),
            }
        };
        if let Some((key, _)) = &next {
            self.heap.push(Reverse((*key, i)));
        }
        self.heads[i] = next;
        Some(Ok(hit))
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

fn encode(
    out: &mut impl Write,
    (time, input, seq): Key,
    hit: &Hit,
    sources: &mut Vec<Arc<str>>,
    source_ids: &mut HashMap<Arc<str>, u32>,
) -> io::Result<()> {
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
    let source = &hit.origin.provenance.source;
    let id = *source_ids.entry(source.clone()).or_insert_with(|| {
        sources.push(source.clone());
        (sources.len() - 1) as u32
    });
    put_u32(out, id)?;
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
}
