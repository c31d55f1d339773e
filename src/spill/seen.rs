//! Which duplicate keys phase 1 may have met before: a Bloom filter over
//! the key of every valid row of a kind (its id digest, or its content
//! fingerprint when the id is empty), tested and set in file order.
//!
//! Takes keys in file order; guarantees no false negatives: a row whose
//! key an earlier row had always tests positive. Only such a row can be
//! rejected (`duplicate_row`, `conflicting_duplicate`: the first row of a
//! key stands), so only rows that test positive go to the suspects file
//! that phase 2 settles, with their raw text for `rejects.csv`; the
//! others (all but a few percent) stand, and their facts are gathered in
//! phase 1. The filter has about 2.5 % false positives. Each batch is
//! tested over ranges of blocks in parallel, each range taking its keys
//! in file order; a key only meets the keys of its own block, so the
//! answers are those of one pass in file order and what is spilled does
//! not depend on the thread count.

use crate::ingest::idtable::prefetch_line;
use rayon::prelude::*;

/// Bits per expected key.
const BITS_PER_KEY: usize = 8;
/// Probes per key.
const PROBES: u64 = 5;
/// Bits of a probe's position within its block.
const PROBE_BITS: u64 = 9;

/// One cache line of the filter: every probe of a key falls in one block
/// (a *blocked* Bloom filter), so a test costs one cache miss instead of
/// one per probe; the price is a slightly higher false-positive rate
/// (about 2.5 % at 8 bits per key and 5 probes, against 2.2 % unblocked).
#[derive(Clone, Copy, Default)]
#[repr(align(64))]
struct Block([u64; 8]);

/// A blocked Bloom filter of 128-bit digests.
pub struct Seen {
    blocks: Vec<Block>,
}

impl Seen {
    /// Room for about `keys` keys (more still work, with more false
    /// positives).
    pub fn with_keys(keys: usize) -> Seen {
        let bits = keys.max(1) * BITS_PER_KEY;
        Seen {
            blocks: vec![Block::default(); bits.div_ceil(512)],
        }
    }

    /// The block `key` falls in. The key is already a uniform digest: its
    /// high half picks the block (multiply-shift onto the block count),
    /// its low half gives the probes' positions in the block.
    fn block_of(&self, key: u128) -> usize {
        ((((key >> 64) as u64 as u128) * self.blocks.len() as u128) >> 64) as usize
    }

    /// Whether `key` may have been added before; adds it (the reference
    /// the batch form is tested against).
    #[cfg(test)]
    pub fn test_and_set(&mut self, key: u128) -> bool {
        let b = self.block_of(key);
        probe(&mut self.blocks[b], key)
    }

    /// [`Seen::test_and_set`] on each key in turn (`None`: no key, answers
    /// `false`), computed in parallel: the blocks are split into ranges,
    /// each range takes its keys in order, and a key's block is fetched
    /// a few keys ahead. Each key meets exactly the keys before it in its
    /// own block, so the answers are those of the sequential calls.
    pub fn test_and_set_all(&mut self, keys: &[Option<u128>]) -> Vec<bool> {
        let ranges = RANGES.min(self.blocks.len());
        let per = self.blocks.len().div_ceil(ranges);
        let mut by_range: Vec<Vec<(u32, usize)>> = vec![Vec::new(); ranges];
        for (i, k) in keys.iter().enumerate() {
            if let Some(k) = *k {
                let b = self.block_of(k);
                by_range[b / per].push((i as u32, b % per));
            }
        }
        let hits: Vec<Vec<u32>> = self
            .blocks
            .par_chunks_mut(per)
            .zip(by_range)
            .map(|(blocks, rows)| {
                let mut hits = Vec::new();
                for (j, &(i, b)) in rows.iter().enumerate() {
                    if let Some(&(_, ahead)) = rows.get(j + PREFETCH) {
                        prefetch_line(&blocks[ahead]);
                    }
                    if let Some(k) = keys[i as usize] {
                        if probe(&mut blocks[b], k) {
                            hits.push(i);
                        }
                    }
                }
                hits
            })
            .collect();
        let mut out = vec![false; keys.len()];
        for i in hits.into_iter().flatten() {
            out[i as usize] = true;
        }
        out
    }
}

/// Ranges of blocks [`Seen::test_and_set_all`] works on in parallel.
const RANGES: usize = 16;
/// How many keys ahead [`Seen::test_and_set_all`] fetches a block.
const PREFETCH: usize = 16;

/// Tests and sets `key`'s probes in its block, nine bits each.
fn probe(block: &mut Block, key: u128) -> bool {
    let lo = key as u64;
    let mut seen = true;
    for i in 0..PROBES {
        let bit = (lo >> (i * PROBE_BITS)) & 511;
        let (w, m) = ((bit / 64) as usize, 1u64 << (bit % 64));
        seen &= block.0[w] & m != 0;
        block.0[w] |= m;
    }
    seen
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

    use proptest::prop_oneof;

    proptest::proptest! {
        /// The parallel batch answers exactly as the sequential calls,
        /// repeats and gaps included.
        #[test]
        fn batch_equals_sequential(
            keys in proptest::collection::vec(proptest::option::of(0u64..300), 0..400),
            size in prop_oneof![0usize..200, 900usize..1200, 2000usize..3000],
            split in 0usize..400,
        ) {
            // Sizes from one block to dozens (several per range), the
            // keys over two calls (the filter carries over).
            let keys: Vec<Option<u128>> = keys.iter().map(|k| k.map(key)).collect();
            let mut one = Seen::with_keys(size);
            let want: Vec<bool> =
                keys.iter().map(|k| k.is_some_and(|k| one.test_and_set(k))).collect();
            let mut all = Seen::with_keys(size);
            let (a, b) = keys.split_at(split.min(keys.len()));
            let mut got = all.test_and_set_all(a);
            got.extend(all.test_and_set_all(b));
            proptest::prop_assert_eq!(got, want);
            // The same bits set, block for block.
            proptest::prop_assert!(all.blocks.iter().map(|b| b.0).eq(one.blocks.iter().map(|b| b.0)));
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
