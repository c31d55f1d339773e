//! Which duplicate keys phase 1 may have met before: a Bloom filter over
//! the key of every valid row of a kind (its id digest, or its content
//! fingerprint when the id is empty), tested and set in file order.
//!
//! Takes keys in file order; guarantees no false negatives: a row whose
//! key an earlier row had always tests positive. Phase 2 can only reject
//! such a row (`duplicate_row`, `conflicting_duplicate`: the first row of
//! a key stands), so only rows that test positive need their raw text in
//! the spill for `rejects.csv`; the others (all but a few percent) spill
//! without it: about 95 of the ~218 bytes a generated payment row took in
//! the phase-1 spill (an estimate from the record layout; the large run
//! under `--memory-limit 1G` went from 179–184 s to 130 s). The filter is
//! filled on the one thread that merges batches in file order, so what is
//! spilled does not depend on the thread count.

/// Bits per expected key.
const BITS_PER_KEY: usize = 8;
/// Probes per key (false positives ≈ 2 % at 8 bits per key).
const PROBES: u64 = 5;

/// A Bloom filter of 128-bit digests.
pub struct Seen {
    words: Vec<u64>,
    bits: u64,
}

impl Seen {
    /// Room for about `keys` keys (more still work, with more false
    /// positives).
    pub fn with_keys(keys: usize) -> Seen {
        let words = (keys.max(1) * BITS_PER_KEY).div_ceil(64);
        Seen {
            words: vec![0; words],
            bits: (words * 64) as u64,
        }
    }

    /// Whether `key` may have been added before; adds it.
    pub fn test_and_set(&mut self, key: u128) -> bool {
        // The key is already a uniform digest: its halves make the probes
        // (double hashing), mapped onto the bit count by multiply-shift.
        let (a, b) = (key as u64, (key >> 64) as u64 | 1);
        let mut seen = true;
        for i in 0..PROBES {
            let h = a.wrapping_add(i.wrapping_mul(b));
            let bit = ((u128::from(h) * u128::from(self.bits)) >> 64) as u64;
            let (w, m) = ((bit / 64) as usize, 1u64 << (bit % 64));
            seen &= self.words[w] & m != 0;
            self.words[w] |= m;
        }
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u64) -> u128 {
        xxhash_rust::xxh3::xxh3_128(&i.to_le_bytes())
    }

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let n = 100_000u64;
        let mut s = Seen::with_keys(n as usize);
        let fresh = (0..n).filter(|&i| s.test_and_set(key(i))).count();
        // First sight of distinct keys: positives are false positives.
        assert!(fresh < (n as usize) / 20, "{fresh} false positives");
        for i in 0..n {
            assert!(s.test_and_set(key(i)), "key {i} was added");
        }
    }

    #[test]
    fn an_undersized_filter_still_has_no_false_negatives() {
        let mut s = Seen::with_keys(0);
        for i in 0..1000 {
            s.test_and_set(key(i));
        }
        assert!((0..1000).all(|i| s.test_and_set(key(i))));
    }
}
