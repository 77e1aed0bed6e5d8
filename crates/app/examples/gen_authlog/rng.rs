//! gen_authlog: randomness.

/// SplitMix64: small, fast, and good enough for synthetic data.
#[derive(Clone, Debug)]
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in `0..n` (`n` > 0), by multiply-shift.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Microseconds, uniform in `lo..=hi`.
    pub(crate) fn span(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Exponentially distributed microseconds with the given mean (at least 1).
    pub(crate) fn exp(&mut self, mean: f64) -> i64 {
        ((-mean * (1.0 - self.unit()).ln()) as i64).max(1)
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// SplitMix64's finaliser: a stateless hash for per-entity attributes
/// (a source's home host, a user's key fingerprint).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` distinct indices of `0..len` (`count <= len`), as a random
/// arithmetic progression with a stride coprime to `len`.
pub(crate) fn distinct(rng: &mut Rng, len: u64, count: u64) -> impl Iterator<Item = u64> + use<> {
    pub(crate) fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let start = rng.below(len);
    let mut stride = rng.range(1, len.max(2) - 1).max(1);
    while gcd(stride, len) != 1 {
        stride += 1;
    }
    (0..count.min(len)).map(move |i| (start + i * stride) % len)
}
