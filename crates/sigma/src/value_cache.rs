//! The needles found in a field's value, remembered by value: logs repeat
//! themselves (the same executable's hashes, image path, company and
//! parent command line in every event it starts), and looking a long value
//! up is cheaper than searching it with the prefilter's automaton (over
//! evtx-attack-samples, 56% of the long values' bytes are repeats within
//! their file).
//!
//! Values are compared in full, never by hash alone: a crafted value cannot
//! borrow another value's needles. Memory is bounded: past the budget the
//! cache starts over.

use std::hash::BuildHasher;

use ferret_model::Field;

/// Values shorter than this are searched every time: their search costs
/// about what the lookup does. From 32 to 16 bytes: the same instructions,
/// 3% fewer data-cache misses over evtx-attack-samples (the automaton's
/// states are what misses); 10 bytes gained nothing more.
pub(crate) const MIN_CACHED: usize = 16;

/// Bytes of values and needle lists held before starting over.
const BUDGET: usize = 2 << 20;

/// Bytes an entry is counted for beyond its value and needles.
const ENTRY_COST: usize = 64;

/// Longer values are not kept: the buffers keep their size from input to
/// input, and one huge value (a 16 MB command line) would keep theirs huge
/// for the rest of the run. A value that long is rarely seen twice.
const MAX_CACHED: usize = 64 << 10;

/// The values and their needles live in two buffers, and the table holds
/// only where each entry's are: inserting allocates nothing once the
/// buffers have grown, and starting over (a new input, or the budget
/// spent) keeps them. With a boxed value and needle list per entry, and a
/// table per field made again for every input, the cache made a large
/// share of matching's allocations.
#[derive(Default)]
pub(crate) struct ValueCache {
    table: hashbrown::HashTable<Entry>,
    values: Vec<u8>,
    needles: Vec<u32>,
    /// Seeded per process: values are attacker-controlled.
    hasher: foldhash::fast::RandomState,
    bytes: usize,
}

/// Where one value's bytes and needles are.
#[derive(Clone, Copy)]
struct Entry {
    field: Field,
    value: (u32, u32),
    needles: (u32, u32),
}

impl ValueCache {
    /// The needles found in `value` of `field`, if it was searched before.
    pub(crate) fn get(&self, field: Field, value: &[u8]) -> Option<&[u32]> {
        let hash = self.hasher.hash_one((field, value));
        let entry = self.table.find(hash, |entry| entry.field == field && self.value_of(entry) == value)?;
        Some(&self.needles[entry.needles.0 as usize..entry.needles.1 as usize])
    }

    /// Remembers the needles found in `value` of `field` (not cached yet),
    /// unless the value is longer than `MAX_CACHED`.
    pub(crate) fn insert(&mut self, field: Field, value: &[u8], needles: &[u32]) {
        if value.len() > MAX_CACHED {
            return;
        }
        let size = value.len() + needles.len() * 4 + ENTRY_COST;
        if self.bytes + size > BUDGET {
            self.clear();
        }
        self.bytes += size;
        let start = self.values.len() as u32;
        self.values.extend_from_slice(value);
        let first = self.needles.len() as u32;
        self.needles.extend_from_slice(needles);
        let entry =
            Entry { field, value: (start, self.values.len() as u32), needles: (first, self.needles.len() as u32) };
        let Self { table, values, hasher, .. } = self;
        let hash = hasher.hash_one((field, value));
        table.insert_unique(hash, entry, |entry| {
            hasher.hash_one((entry.field, &values[entry.value.0 as usize..entry.value.1 as usize]))
        });
    }

    /// Forgets every value, keeping the memory for the next ones.
    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.values.clear();
        self.needles.clear();
        self.bytes = 0;
    }

    fn value_of(&self, entry: &Entry) -> &[u8] {
        &self.values[entry.value.0 as usize..entry.value.1 as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_told_apart_in_full_and_by_field() {
        let names = ferret_model::FieldNames::new();
        let (hashes, image) = (names.intern("Hashes"), names.intern("Image"));
        let mut cache = ValueCache::default();
        cache.insert(hashes, b"md5=aaaa", &[1, 2]);
        assert_eq!(cache.get(hashes, b"md5=aaaa"), Some(&[1, 2][..]));
        assert_eq!(cache.get(hashes, b"md5=aaab"), None);
        assert_eq!(cache.get(image, b"md5=aaaa"), None);
    }

    #[test]
    fn values_keep_their_needles_as_the_table_grows_and_after_a_start_over() {
        let names = ferret_model::FieldNames::new();
        let field = names.intern("CommandLine");
        let mut cache = ValueCache::default();
        let value = |i: u32| format!("cmd.exe /c echo {i:>8}");
        for i in 0..5_000 {
            cache.insert(field, value(i).as_bytes(), &[i, i + 1]);
        }
        for i in 0..5_000 {
            assert_eq!(cache.get(field, value(i).as_bytes()), Some(&[i, i + 1][..]), "{i}");
        }
        cache.clear();
        assert_eq!(cache.get(field, value(7).as_bytes()), None);
        cache.insert(field, value(7).as_bytes(), &[]);
        assert_eq!(cache.get(field, value(7).as_bytes()), Some(&[][..]));
    }

    #[test]
    fn a_huge_value_is_not_kept() {
        let names = ferret_model::FieldNames::new();
        let field = names.intern("CommandLine");
        let mut cache = ValueCache::default();
        let huge = vec![b'a'; 1 << 20];
        cache.insert(field, &huge, &[1]);
        assert_eq!(cache.get(field, &huge), None);
        assert!(cache.values.capacity() < MAX_CACHED, "{}", cache.values.capacity());
        cache.insert(field, &huge[..MAX_CACHED], &[1]);
        assert_eq!(cache.get(field, &huge[..MAX_CACHED]), Some(&[1][..]));
    }

    #[test]
    fn memory_stays_within_the_budget() {
        let names = ferret_model::FieldNames::new();
        let field = names.intern("CommandLine");
        let mut cache = ValueCache::default();
        for i in 0..10_000u32 {
            cache.insert(field, format!("{i:0>1000}").as_bytes(), &[i]);
            assert!(cache.bytes <= BUDGET);
        }
        // The buffers kept from start-over to start-over stay near it too.
        assert!(cache.values.capacity() <= 2 * BUDGET, "{}", cache.values.capacity());
        assert_eq!(cache.get(field, format!("{:0>1000}", 9_999).as_bytes()), Some(&[9_999][..]));
    }
}
