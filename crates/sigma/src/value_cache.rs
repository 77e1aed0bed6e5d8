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

use ferret_model::Field;

/// Values shorter than this are searched every time: their search costs
/// about what the lookup does. From 32 to 16 bytes: the same instructions,
/// 3% fewer data-cache misses over evtx-attack-samples (the automaton's
/// states are what misses); 10 bytes gained nothing more.
pub(crate) const MIN_CACHED: usize = 16;

/// Bytes of values and needle lists held before starting over.
const BUDGET: usize = 2 << 20;

/// One field's lowercased values and the needles found in each: looked up
/// by the value's bytes, with no owned key built.
type FieldValues = foldhash::HashMap<Box<[u8]>, Box<[u32]>>;

#[derive(Default)]
pub(crate) struct ValueCache {
    needles: foldhash::HashMap<Field, FieldValues>,
    bytes: usize,
}

impl ValueCache {
    /// The needles found in `value` of `field`, if it was searched before.
    pub(crate) fn get(&self, field: Field, value: &[u8]) -> Option<&[u32]> {
        self.needles.get(&field)?.get(value).map(|needles| &**needles)
    }

    pub(crate) fn insert(&mut self, field: Field, value: &[u8], needles: &[u32]) {
        let size = value.len() + needles.len() * 4 + 64;
        if self.bytes + size > BUDGET {
            self.clear();
        }
        self.bytes += size;
        self.needles.entry(field).or_default().insert(value.into(), needles.into());
    }

    pub(crate) fn clear(&mut self) {
        self.needles.clear();
        self.bytes = 0;
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
    fn memory_stays_within_the_budget() {
        let names = ferret_model::FieldNames::new();
        let field = names.intern("CommandLine");
        let mut cache = ValueCache::default();
        for i in 0..10_000u32 {
            cache.insert(field, format!("{i:0>1000}").as_bytes(), &[i]);
            assert!(cache.bytes <= BUDGET);
        }
        assert_eq!(cache.get(field, format!("{:0>1000}", 9_999).as_bytes()), Some(&[9_999][..]));
    }
}
