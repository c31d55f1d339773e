//! The out-of-core path, for inputs larger than `--memory-limit`.
//!
//! Before ingest, person ids are sampled at evenly spread offsets of the
//! event and payment files (`sample`, a few thousand small reads) and the
//! person_id-range splitters chosen from them. Phase 1 (`phase1`, during
//! ingest): every valid event and payment goes straight to the *person
//! partition* of its person, numbered in file order; its duplicate key
//! goes to a key log, and the few rows whose key may repeat an earlier
//! one (a Bloom filter) also to a suspects file, with their raw text.
//! Phase 2 (`phase2`, [`SpillSink::dedup`]): the suspects are settled
//! against the key log, exactly as the duplicate rules decide in memory;
//! what is rejected is a bit per row. Phase 3 (`run`): partitions are
//! read back one at a time (rejected rows skipped) and reconciled, the
//! next one read meanwhile; concatenating their outputs is the global
//! person_id order. Memory holds two partitions at a time, plus the
//! employer registry, rates, identity index and rejects.
//!
//! Until 2026-12-03 phase 1 wrote rows to partitions by duplicate key and
//! phase 2 read every row back, applied the duplicate rules and wrote the
//! survivors again to person partitions: every row was encoded, written,
//! read and decoded twice. Splitters were then taken from a sample of the
//! rows as they passed; now they are needed before the first row.
//!
//! Spill files live in a private (0700) temporary folder under
//! `--temp-dir`, removed when the run ends, on success or error.

pub mod codec;
mod phase1;
mod phase2;
pub mod sample;
mod seen;
mod writer;

pub use phase1::SpillSink;

use crate::config::InputKind;
use crate::error::{Error, Result};
use crate::model::{Event, IdOrder, Payment};
use crate::reconcile::identity::IdentityIndex;
use codec::Codec;
use rayon::prelude::*;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

/// Memory one accepted payment row takes in an in-memory run: the row
/// (88 bytes), its duplicate-map entry, grouping indexes and its share of
/// the output batches in flight (the generated medium dataset peaks at
/// ~160 bytes a row, events included; rounded up).
pub const MEMORY_PER_PAYMENT: u64 = 192;
/// The same for an event row, which also carries the ID number, name and
/// reason text.
pub const MEMORY_PER_EVENT: u64 = 320;
/// Bytes of memory per input byte for the other inputs (registry, rates).
pub const MEMORY_PER_OTHER_BYTE: u64 = 4;

/// The memory an in-memory run over `files` is expected to need: rows
/// (estimated from each file's size and line length) times their cost,
/// so that files of short rows are not underestimated.
pub fn memory_need(files: &[crate::ingest::discover::InputFile]) -> u64 {
    files
        .iter()
        .map(|f| {
            let rows = crate::ingest::estimate_rows(&f.path) as u64;
            match f.kind {
                InputKind::Payments => rows.saturating_mul(MEMORY_PER_PAYMENT),
                InputKind::Events => rows.saturating_mul(MEMORY_PER_EVENT),
                InputKind::Employers | InputKind::Rates => std::fs::metadata(&f.path)
                    .map_or(0, |m| m.len())
                    .saturating_mul(MEMORY_PER_OTHER_BYTE),
            }
        })
        .fold(0u64, u64::saturating_add)
}

/// How many partitions a run that needs `need` bytes in memory (see
/// [`memory_need`]) takes under `limit` (`None`: it fits in memory).
pub fn partitions_for(need: u64, limit: u64) -> Option<usize> {
    // An eighth of the budget per partition: two partitions are in memory
    // at once (phase 3 reads the next while reconciling one), the
    // splitters come from a sample (a partition may be an eighth or so
    // over its share), and what stays resident (registry, rates, identity
    // index, rejects, buffers) needs room too. At a sixth the 5 GB set
    // peaked at 991 MiB under `--memory-limit 1G`, when phase 2 still held
    // whole partitions with their raw text; now, at an eighth, 436 MiB.
    let per_part = (limit / 8).max(1);
    (need > limit).then(|| need.div_ceil(per_part).max(2) as usize)
}

/// Spill folders are named `.contrib-recon-spill-PID-XXXXXX`.
const SPILL_PREFIX: &str = ".contrib-recon-spill-";

/// Removes spill folders under `temp_dir` left by runs that were killed
/// (their process no longer exists). A live run's folder is left alone.
pub fn clean_leftovers(temp_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(SPILL_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = match pid {
            Some(pid) if pid == std::process::id() => true,
            Some(pid) => Path::new(&format!("/proc/{pid}")).exists(),
            None => false,
        };
        if !alive {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    let f = File::create(path).map_err(|e| Error::io(path, "cannot create spill file", e))?;
    Ok(BufWriter::with_capacity(1 << 16, f))
}

fn open(path: &Path) -> Result<BufReader<File>> {
    let f = File::open(path).map_err(|e| Error::io(path, "cannot read spill file", e))?;
    Ok(BufReader::with_capacity(1 << 16, f))
}

/// Calls `each` on every record of a spill file, read with `get` (which
/// returns `None` at a clean end of file), in file order.
fn each_record<R>(
    path: &Path,
    mut get: impl FnMut(&mut BufReader<File>) -> std::io::Result<Option<R>>,
    mut each: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let mut r = open(path)?;
    while let Some(rec) = get(&mut r).map_err(|e| Error::io(path, "cannot read spill file", e))? {
        each(rec)?;
    }
    Ok(())
}

/// The file of person partition `k` of a kind (`events`, `payments`).
fn part_path(dir: &Path, kind: &str, k: usize) -> PathBuf {
    dir.join(format!("person-{kind}-{k}"))
}

/// The rows of a person partition that were not rejected, into `out`
/// (cleared first; its capacity is kept, so that a vector reused from one
/// partition to the next does not fault in fresh pages again).
fn read_part_into<T: Codec>(path: &Path, rejected: &Rejected, out: &mut Vec<T>) -> Result<()> {
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    out.clear();
    // A record takes at least 32 bytes (number, ids, amounts).
    let need = (len / 32) as usize;
    if out.capacity() < need {
        // A fresh vector, not `reserve`: growing would copy the old
        // (cleared) capacity into the new block, touching every page.
        *out = Vec::with_capacity(need);
    }
    each_record(path, codec::get_part::<T>, |(seq, row)| {
        if !rejected.contains(seq) {
            out.push(row);
        }
        Ok(())
    })
}

/// The person partition of `person`: how many splitters are at most it
/// (compared by [`IdOrder`]: a string comparison per probe was a tenth
/// of a large spilled run's partitioning).
fn part_of(splitters: &[(IdOrder, String)], person: &str) -> usize {
    let key = IdOrder::new(person);
    splitters.partition_point(|(k, s)| k.cmp_with(&key, || (s.as_str(), person)).is_le())
}

/// The rows of one kind the duplicate rules rejected, by file-order
/// number: a bit a row (12.5 MB for a hundred million rows).
#[derive(Debug, Default, Clone)]
pub struct Rejected {
    bits: Vec<u64>,
}

impl Rejected {
    fn insert(&mut self, seq: u64) {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << bit;
    }

    fn contains(&self, seq: u64) -> bool {
        self.bits
            .get((seq / 64) as usize)
            .is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }
}

fn write_err(path: PathBuf) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(path, "cannot write spill file", e)
}

/// What the rows that stand contribute to the global findings and counts.
#[derive(Default)]
pub struct Facts {
    pub identities: IdentityIndex,
    /// Employer ids referenced (a hash set: rows are not always in
    /// employer runs, and a tree lookup per row was a tenth of a large
    /// spilled run's phase 2 when it went through every row).
    pub referenced: rustc_hash::FxHashSet<crate::model::Id>,
    pub payments_accepted: u64,
    pub payments_accepted_net: rust_decimal::Decimal,
    /// The last employer referenced: rows come in runs of one employer,
    /// so most rows skip the set lookup.
    last_reference: Option<crate::model::Id>,
}

impl Facts {
    /// Accounts for one accepted event (ID number, employer reference).
    pub fn add_event(&mut self, e: &Event) {
        self.identities.add(e);
        self.reference(e.employer_id.as_deref());
    }

    /// The facts of rows held in memory, gathered in parallel chunks and
    /// merged (the result does not depend on the chunking).
    pub fn gather(events: &[Event], payments: &[Payment]) -> Facts {
        fn chunks<'a, T: Sync>(
            rows: &'a [T],
            add: fn(&mut Facts, &T),
        ) -> impl ParallelIterator<Item = Facts> + 'a {
            rows.par_chunks(1 << 16).map(move |c| {
                let mut f = Facts::default();
                c.iter().for_each(|r| add(&mut f, r));
                f
            })
        }
        chunks(events, Facts::add_event)
            .chain(chunks(payments, Facts::add_payment))
            .reduce(Facts::default, |mut a, b| {
                a.merge(b);
                a
            })
    }

    /// Adds the facts gathered over other rows: counts and sums add up,
    /// sets unite, so partitions may be gathered apart and merged in any
    /// order.
    pub fn merge(&mut self, other: Facts) {
        self.identities.merge(other.identities);
        if self.referenced.is_empty() {
            self.referenced = other.referenced;
        } else {
            self.referenced.extend(other.referenced);
        }
        self.payments_accepted += other.payments_accepted;
        self.payments_accepted_net += other.payments_accepted_net;
        self.last_reference = None;
    }

    /// Accounts for one accepted payment (count, net, employer reference).
    pub fn add_payment(&mut self, p: &Payment) {
        self.payments_accepted += 1;
        self.payments_accepted_net += p.employer_amount + p.individual_amount;
        self.reference(p.employer_id.as_deref());
    }

    fn reference(&mut self, employer: Option<&str>) {
        if let Some(id) = employer {
            if self.last_reference.as_deref() == Some(id) {
                return;
            }
            if !self.referenced.contains(id) {
                self.referenced.insert(id.into());
            }
            self.last_reference = Some(id.into());
        }
    }
}

/// Phase 3 input: person partitions in person_id order.
pub struct PersonParts {
    dir: tempfile::TempDir,
    pub n: usize,
    events: Rejected,
    payments: Rejected,
}

impl PersonParts {
    /// The events and payments of partition `k` that stand, into `rows`
    /// (emptied first). Reusing the vectors of an earlier partition
    /// spares faulting in fresh pages for every partition.
    pub fn load_into(&self, k: usize, rows: &mut (Vec<Event>, Vec<Payment>)) -> Result<()> {
        let dir = self.dir.path();
        read_part_into(&part_path(dir, "events", k), &self.events, &mut rows.0)?;
        read_part_into(&part_path(dir, "payments", k), &self.payments, &mut rows.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The keyed range look-up agrees with comparing the strings,
        /// around the 16-byte prefix and with NUL bytes.
        #[test]
        fn part_of_matches_string_order(
            mut splitters in prop::collection::vec("(P0000000000000)?[\0AB]{0,4}", 0..12),
            person in "(P0000000000000)?[\0AB]{0,4}",
        ) {
            splitters.sort();
            splitters.dedup();
            let want = splitters.partition_point(|s| s.as_str() <= person.as_str());
            let keyed: Vec<(IdOrder, String)> =
                splitters.into_iter().map(|s| (IdOrder::new(&s), s)).collect();
            prop_assert_eq!(part_of(&keyed, &person), want);
        }
    }

    #[test]
    fn rejected_rows_are_a_bit_each() {
        let mut r = Rejected::default();
        assert!(!r.contains(0) && !r.contains(1 << 40));
        for seq in [0, 63, 64, 1000] {
            r.insert(seq);
        }
        for seq in [0, 63, 64, 1000] {
            assert!(r.contains(seq));
        }
        for seq in [1, 62, 65, 999, 1001, 1 << 40] {
            assert!(!r.contains(seq));
        }
    }

    #[test]
    fn partition_count_follows_the_budget() {
        assert_eq!(partitions_for(100, 1 << 30), None);
        assert_eq!(partitions_for(1 << 30, 1 << 30), None);
        assert_eq!(partitions_for(4 << 30, 1 << 30), Some(32));
        assert_eq!(partitions_for(1200, 1000), Some(10));
    }

    #[test]
    fn facts_gathered_apart_and_merged_equal_facts_gathered_at_once() {
        use crate::model::{Action, Event, Insurance, Payment, Period};
        use rust_decimal::Decimal;
        let event = |seq: u64, person: &str, number: &str, employer: Option<&str>| Event {
            seq,
            person_id: person.into(),
            id_number: Some(number.to_string()),
            employer_id: employer.map(Into::into),
            insurance: Insurance::Pension,
            action: Action::Increase,
            period: Period::from_ym(2023, 1),
            base: None,
            reason: None,
        };
        let payment = |person: &str, employer: Option<&str>, cents: i64| Payment {
            person_id: person.into(),
            employer_id: employer.map(Into::into),
            insurance: Insurance::Medical,
            period: Period::from_ym(2023, 2),
            employer_amount: Decimal::new(cents, 2),
            individual_amount: Decimal::new(-cents / 3, 2),
        };
        let events = [
            event(0, "p1", "11010519491231002X", Some("E1")),
            event(1, "p2", "11010519491231002X", Some("E2")),
            event(2, "p3", "110105491231002", None),
            event(3, "p1", "110105194912310029", Some("E1")),
        ];
        let payments = [
            payment("p1", Some("E1"), 12345),
            payment("p2", Some("E3"), -500),
            payment("p3", None, 7),
            payment("p1", Some("E1"), 1),
        ];
        let mut all = Facts::default();
        events.iter().for_each(|e| all.add_event(e));
        payments.iter().for_each(|p| all.add_payment(p));
        let gathered = Facts::gather(&events, &payments);
        assert_eq!(gathered.identities, all.identities);
        assert_eq!(gathered.referenced, all.referenced);
        assert_eq!(gathered.payments_accepted, all.payments_accepted);
        assert_eq!(gathered.payments_accepted_net, all.payments_accepted_net);
        for split in 0..=events.len() {
            let (mut a, mut b) = (Facts::default(), Facts::default());
            events[..split].iter().for_each(|e| a.add_event(e));
            payments[..split].iter().for_each(|p| a.add_payment(p));
            events[split..].iter().for_each(|e| b.add_event(e));
            payments[split..].iter().for_each(|p| b.add_payment(p));
            // Either way round.
            let mut ba = Facts::default();
            events[split..].iter().for_each(|e| ba.add_event(e));
            payments[split..].iter().for_each(|p| ba.add_payment(p));
            let mut a2 = Facts::default();
            events[..split].iter().for_each(|e| a2.add_event(e));
            payments[..split].iter().for_each(|p| a2.add_payment(p));
            a.merge(b);
            ba.merge(a2);
            for m in [&a, &ba] {
                assert_eq!(m.identities, all.identities, "split {split}");
                assert_eq!(m.referenced, all.referenced);
                assert_eq!(m.payments_accepted, all.payments_accepted);
                assert_eq!(m.payments_accepted_net, all.payments_accepted_net);
            }
        }
    }
}
