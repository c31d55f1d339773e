//! The duplicate check's id table: row-id digests → the standing row's
//! short fingerprint, insert-only, with prefetch.
//!
//! Takes 128-bit id digests (XXH3, so every bit is uniform) and 64-bit
//! fingerprints; guarantees the verdicts of a map that keeps the first
//! fingerprint inserted under each id: [`Seen::New`] the first time,
//! then [`Seen::Same`] or [`Seen::Different`] against that first one.
//!
//! Why not `hashbrown`: on ten million payments the table is hundreds of
//! megabytes, so nearly every look-up is a cache miss to main memory —
//! it was 1.4 s of a 13 s one-thread run on the medium bench set. Here the
//! slot a key starts at is known from the key alone ([`IdTable::prefetch`]),
//! so the dedup pass asks for the slots of the next rows while it decides
//! the current one and the misses overlap instead of queueing. Open
//! addressing with linear probing, sized as `hashbrown` sizes (at most 7/8
//! full, doubled when needed). The slots are allocated at the first
//! insert, not before: a file without ids never pays for them;
//! the all-zero key marks an empty slot, so that one key lives beside the
//! slots.

/// One slot: a key's two halves and its fingerprint (24 bytes).
type Slot = [u64; 3];
const EMPTY: Slot = [0; 3];
const HI: usize = 0;
const LO: usize = 1;
const FP: usize = 2;

fn is_empty(s: &Slot) -> bool {
    s[HI] == 0 && s[LO] == 0
}

/// What the table knew of a key before [`IdTable::insert`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time: the key now stands with this fingerprint.
    New,
    /// Seen before, with the same fingerprint.
    Same,
    /// Seen before, with another fingerprint.
    Different,
}

/// See the module documentation.
#[derive(Default)]
pub struct IdTable {
    /// Empty until the first insert (then a power of two).
    slots: Vec<Slot>,
    len: usize,
    /// The keys [`IdTable::with_capacity`] was asked to make room for.
    planned: usize,
    /// The fingerprint under the key `(0, 0)`, which cannot use a slot.
    zero: Option<u64>,
}

impl IdTable {
    /// A table with room for `n` keys before it grows, allocated at the
    /// first insert.
    pub fn with_capacity(n: usize) -> IdTable {
        IdTable {
            slots: Vec::new(),
            len: 0,
            planned: n,
            zero: None,
        }
    }

    fn slots_for(n: usize) -> usize {
        (n.saturating_mul(8) / 7 + 1).next_power_of_two().max(16)
    }

    #[inline(always)]
    fn home(&self, lo: u64) -> usize {
        (lo as usize) & (self.slots.len() - 1)
    }

    /// Asks the CPU to fetch the slot `key` starts at (a hint only).
    #[inline(always)]
    pub fn prefetch(&self, key: (u64, u64)) {
        if self.slots.is_empty() {
            return;
        }
        prefetch_line(&self.slots[self.home(key.1)]);
    }

    /// Looks `key` up and, the first time, makes `fp` its standing value.
    #[inline]
    pub fn insert(&mut self, key: (u64, u64), fp: u64) -> Seen {
        if key == (0, 0) {
            return match self.zero {
                None => {
                    self.zero = Some(fp);
                    Seen::New
                }
                Some(f) if f == fp => Seen::Same,
                Some(_) => Seen::Different,
            };
        }
        if self.slots.is_empty() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key.1);
        loop {
            let s = self.slots[i];
            if s[HI] == key.0 && s[LO] == key.1 {
                return if s[FP] == fp {
                    Seen::Same
                } else {
                    Seen::Different
                };
            }
            if is_empty(&s) {
                // Only a new key can fill the table past 7/8.
                if (self.len + 1) * 8 > self.slots.len() * 7 {
                    self.grow();
                    return self.insert(key, fp);
                }
                self.slots[i] = [key.0, key.1, fp];
                self.len += 1;
                return Seen::New;
            }
            i = (i + 1) & mask;
        }
    }

    /// Allocates the planned slots (first insert), or doubles them.
    #[cold]
    fn grow(&mut self) {
        let want = if self.slots.is_empty() {
            self.planned
        } else {
            self.len + 1
        };
        let old = std::mem::replace(&mut self.slots, written_empty(Self::slots_for(want)));
        let mask = self.slots.len() - 1;
        for s in old.into_iter().filter(|s| !is_empty(s)) {
            let mut i = self.home(s[LO]);
            while !is_empty(&self.slots[i]) {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

/// Asks the CPU to fetch the cache line `at` lies in (a hint only; no-op
/// off x86-64). Shared with the spill's Bloom filter.
#[inline(always)]
pub(crate) fn prefetch_line<T>(at: &T) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint; it never faults, whatever the
        // address, and `at` is a valid reference anyway.
        unsafe { _mm_prefetch::<_MM_HINT_T0>((at as *const T).cast()) };
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = at;
}

/// `n` empty slots, written rather than allocated zeroed. A zeroed
/// allocation maps the kernel's shared zero page on a slot's first *read*
/// (every insert probes before it writes); the write after it is then a
/// copy-on-write fault whose TLB flush interrupts every other core of the
/// process — 10 % of a two-thread medium run's CPU went to those
/// interrupts. Written pages take one ordinary fault each.
fn written_empty(n: usize) -> Vec<Slot> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, EMPTY);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// The verdicts of a plain map that keeps the first value, through
        /// growth from an empty table, with colliding home slots (few low
        /// bits) and the zero key.
        #[test]
        fn matches_a_first_value_map(
            ops in prop::collection::vec((0u64..4, 0u64..300, 0u64..3), 0..2000),
            cap in 0usize..64,
        ) {
            let mut t = IdTable::with_capacity(cap);
            let mut model: HashMap<(u64, u64), u64> = HashMap::new();
            for (hi, lo, fp) in ops {
                let key = (hi, lo << 7);
                let want = match model.get(&key) {
                    None => {
                        model.insert(key, fp);
                        Seen::New
                    }
                    Some(&f) if f == fp => Seen::Same,
                    Some(_) => Seen::Different,
                };
                t.prefetch(key);
                prop_assert_eq!(t.insert(key, fp), want);
            }
        }
    }

    #[test]
    fn default_table_grows_on_first_insert() {
        let mut t = IdTable::default();
        t.prefetch((1, 2));
        assert_eq!(t.insert((1, 2), 5), Seen::New);
        assert_eq!(t.insert((1, 2), 5), Seen::Same);
        assert_eq!(t.insert((1, 2), 6), Seen::Different);
        assert_eq!(t.insert((0, 0), 6), Seen::New);
        assert_eq!(t.insert((0, 0), 7), Seen::Different);
    }
}
