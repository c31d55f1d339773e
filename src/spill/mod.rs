//! The out-of-core path, for inputs larger than `--memory-limit`.
//!
//! Phase 1 (during ingest): every valid event and payment is written to a
//! *dedup partition* chosen by a hash of its duplicate key (its id, or its
//! content when it has none), so all rows that can be duplicates of each
//! other land in one partition; a deterministic sample of person ids is
//! kept. Phase 2 ([`SpillSink::dedup`]): partition by partition, rows are
//! put back in file order and the duplicate rules applied exactly as in
//! memory; survivors go to *person partitions* split by person_id ranges
//! (from the sample), so concatenating the partitions' outputs is the
//! global person_id order. Phase 3 (`run`): partitions are reconciled one
//! at a time, the next one read back meanwhile. Memory holds two
//! partitions at a time, plus the employer registry, rates, identity
//! index and rejects.
//!
//! Rows are encoded for phase 1 on the worker threads, a batch at a time;
//! the merging thread only tests the batch against the Bloom filter
//! (`seen`, range-parallel) and hands the bytes, in file order, to the
//! partition writer (`writer`, a thread of its own unless `--threads 1`).
//!
//! Spill files live in a private (0700) temporary folder under
//! `--temp-dir`, removed when the run ends, on success or error.

pub mod codec;
mod phase2;
mod seen;
mod writer;

use crate::config::InputKind;
use crate::error::{Error, Result};
use crate::ingest::reader::Batch;
use crate::ingest::rows::{EventRow, PaymentRow};
use crate::ingest::{Checked, Reason, RowSink};
use crate::model::{Event, Payment};
use crate::reconcile::identity::IdentityIndex;
use codec::{Codec, Spilled};
use rayon::prelude::*;
use std::collections::BTreeSet;
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
    // at once (phase 2 decides two in parallel on two threads; phase 3
    // reads the next while reconciling one), a spilled row in phase 2
    // also carries its raw text and its encoding for phase 3, and what
    // stays resident (registry, rates, identity index, rejects, buffers)
    // needs room too. At a sixth the 5 GB set peaked at 991 MiB under
    // `--memory-limit 1G`.
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

/// Keeps one person id in this many for the range splitters.
const SAMPLE_ONE_IN: u64 = 64;

fn hash64(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

fn dedup_part(id: Option<u128>, fp: u128, n: usize) -> usize {
    let h = match id {
        Some(id) => hash64(&id.to_le_bytes()),
        None => hash64(&fp.to_le_bytes()) ^ 0x9E37_79B9_7F4A_7C15,
    };
    (h % n as u64) as usize
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    let f = File::create(path).map_err(|e| Error::io(path, "cannot create spill file", e))?;
    Ok(BufWriter::with_capacity(1 << 16, f))
}

fn open(path: &Path) -> Result<BufReader<File>> {
    let f = File::open(path).map_err(|e| Error::io(path, "cannot read spill file", e))?;
    Ok(BufReader::with_capacity(1 << 16, f))
}

/// Every record of a spill file, read with `get` (which returns `None` at
/// a clean end of file) into `out` (cleared first; its capacity is kept,
/// so that a vector reused from one partition to the next does not fault
/// in fresh pages again); `min_bytes` is the least a record takes, to size
/// the vector up front rather than copy it while it grows.
fn read_records_into<R>(
    path: &Path,
    min_bytes: u64,
    out: &mut Vec<R>,
    mut get: impl FnMut(&mut BufReader<File>) -> std::io::Result<Option<R>>,
) -> Result<()> {
    let mut r = open(path)?;
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    out.clear();
    let need = (len / min_bytes) as usize;
    if out.capacity() < need {
        // A fresh vector, not `reserve`: growing would copy the old
        // (cleared) capacity into the new block, touching every page.
        *out = Vec::with_capacity(need);
    }
    while let Some(rec) = get(&mut r).map_err(|e| Error::io(path, "cannot read spill file", e))? {
        out.push(rec);
    }
    Ok(())
}

/// The records of a dedup partition (phase 1's layout; one takes at
/// least 96 bytes), into `out`.
fn read_all_into<T: Codec>(path: &Path, out: &mut Vec<Spilled<T>>) -> Result<()> {
    read_records_into(path, 96, out, Spilled::<T>::get)
}

/// The rows of a person partition (bare rows, as phase 2 writes them; a
/// spilled payment takes at least 24 bytes), into `out`.
fn read_rows_into<T: Codec>(path: &Path, out: &mut Vec<T>) -> Result<()> {
    use std::io::BufRead;
    read_records_into(path, 24, out, |r| {
        Ok(if r.fill_buf()?.is_empty() {
            None
        } else {
            Some(T::get(r)?)
        })
    })
}

/// Phase 1: the sink that spills valid rows to dedup partitions.
pub struct SpillSink {
    n: usize,
    events: KindFiles,
    payments: KindFiles,
    sample: BTreeSet<String>,
    /// Declared last, so dropped last: the partition writers' threads are
    /// joined before the folder is removed.
    dir: tempfile::TempDir,
}

/// The phase-1 partitions of one kind.
struct KindFiles {
    writer: writer::PartWriter,
    /// Valid rows of this kind spilled so far: the next row's file-order
    /// number.
    seq: u64,
    /// Duplicate keys met so far (decides which rows keep raw text).
    seen: seen::Seen,
}

impl KindFiles {
    fn create(dir: &Path, name: &str, n: usize, rows: usize, threaded: bool) -> Result<KindFiles> {
        let paths: Vec<PathBuf> = (0..n)
            .map(|i| dir.join(format!("dedup-{name}-{i}")))
            .collect();
        let writers = paths.iter().map(|p| create(p)).collect::<Result<_>>()?;
        Ok(KindFiles {
            writer: writer::PartWriter::new(writers, paths, threaded)?,
            seq: 0,
            seen: seen::Seen::with_keys(rows),
        })
    }

    /// Writes what is queued, then flushes and closes every partition.
    fn finish(&mut self) -> Result<()> {
        self.writer.finish()?;
        self.seen = seen::Seen::with_keys(0);
        Ok(())
    }
}

impl SpillSink {
    /// Creates `n` dedup partitions per kind in a new private folder under
    /// `temp_dir`; `rows` estimates the (events, payments) rows to come.
    /// `threaded`: partitions are written by a thread beside the merge.
    pub fn new(temp_dir: &Path, n: usize, rows: (usize, usize), threaded: bool) -> Result<Self> {
        std::fs::create_dir_all(temp_dir)
            .map_err(|e| Error::io(temp_dir, "cannot create temp folder", e))?;
        clean_leftovers(temp_dir);
        let prefix = format!("{SPILL_PREFIX}{}-", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        let dir = builder
            .tempdir_in(temp_dir)
            .map_err(|e| Error::io(temp_dir, "cannot create spill folder", e))?;
        Ok(SpillSink {
            events: KindFiles::create(dir.path(), "events", n, rows.0, threaded)?,
            payments: KindFiles::create(dir.path(), "payments", n, rows.1, threaded)?,
            dir,
            n,
            sample: BTreeSet::new(),
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn write_err(path: PathBuf) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::io(path, "cannot write spill file", e)
}

impl SpillSink {
    /// Phase 1 for one batch of one kind: valid rows are numbered in file
    /// order, encoded in parallel and appended to their dedup partitions.
    /// Every row passes here; the duplicate rules decide in phase 2.
    fn spill_batch<R: Send + DupKey, T: Codec + Send>(
        &mut self,
        rows: Vec<Checked<R>>,
        batch: &Batch,
        stat: usize,
        kind: InputKind,
        split: impl Fn(R, u64) -> (Option<u128>, u128, T) + Sync,
        person: impl Fn(&T) -> &str + Sync,
    ) -> Result<Vec<Option<Reason>>> {
        let SpillSink {
            dir,
            n,
            events,
            payments,
            sample,
        } = self;
        let files = if kind == InputKind::Events {
            events
        } else {
            payments
        };
        let verdicts: Vec<Option<Reason>> =
            rows.iter().map(|r| r.as_ref().err().copied()).collect();
        let mut seqs = Vec::with_capacity(rows.len());
        let mut next = files.seq;
        for v in &verdicts {
            seqs.push(next);
            next += u64::from(v.is_none());
        }
        // In file order: does a row's key repeat an earlier one? Only
        // those rows can be rejected in phase 2, so only they spill their
        // raw text.
        let keys: Vec<Option<u128>> = rows
            .iter()
            .map(|r| r.as_ref().ok().map(DupKey::dup_key))
            .collect();
        let keep_raw = files.seen.test_and_set_all(&keys);
        let n = *n;
        // Rows are encoded on the workers a chunk at a time, straight
        // into one buffer per dedup partition, with the person ids that
        // fall in the sample; chunks come back in order, so appending
        // their buffers keeps each partition in file order.
        let chunk = rows.len().div_ceil(rayon::current_num_threads() * 4).max(1);
        let encoded: Vec<(Vec<Vec<u8>>, Vec<String>)> = rows
            .into_par_iter()
            .enumerate()
            .chunks(chunk)
            .map(|part_rows| -> std::io::Result<_> {
                let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); n];
                let mut sampled = Vec::new();
                for (i, r) in part_rows {
                    let Ok(r) = r else { continue };
                    let (id, fp, row) = split(r, seqs[i]);
                    let p = person(&row);
                    if hash64(p.as_bytes()) % SAMPLE_ONE_IN == 0 {
                        sampled.push(p.to_string());
                    }
                    let rec = Spilled {
                        seq: seqs[i],
                        stat: stat as u32,
                        line: batch.records[i].line,
                        fp,
                        id,
                        raw: keep_raw[i].then(|| batch.raw(i).to_vec()),
                        row,
                    };
                    rec.put(&mut bufs[dedup_part(id, fp, n)])?;
                }
                Ok((bufs, sampled))
            })
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(dir.path(), "cannot encode spill record", e))?;
        files.seq = next;
        let mut job = Vec::with_capacity(encoded.len());
        for (bufs, sampled) in encoded {
            sample.extend(sampled);
            job.push(bufs);
        }
        files.writer.write(job)?;
        Ok(verdicts)
    }
}

/// The key the duplicate rules compare a row under
/// ([`crate::ingest::dedup::dup_key`]).
trait DupKey {
    fn dup_key(&self) -> u128;
}

impl DupKey for EventRow {
    fn dup_key(&self) -> u128 {
        crate::ingest::dedup::dup_key(self.id, self.fp)
    }
}

impl DupKey for PaymentRow {
    fn dup_key(&self) -> u128 {
        crate::ingest::dedup::dup_key(self.id, self.fp)
    }
}

impl RowSink for SpillSink {
    fn events(
        &mut self,
        rows: Vec<Checked<EventRow>>,
        batch: &Batch,
        stat: usize,
    ) -> Result<Vec<Option<Reason>>> {
        self.spill_batch(
            rows,
            batch,
            stat,
            InputKind::Events,
            |r, seq| {
                let mut e = r.event;
                e.seq = seq;
                (r.id, r.fp, e)
            },
            |e: &Event| &e.person_id,
        )
    }

    fn payments(
        &mut self,
        rows: Vec<Checked<PaymentRow>>,
        batch: &Batch,
        stat: usize,
    ) -> Result<Vec<Option<Reason>>> {
        self.spill_batch(
            rows,
            batch,
            stat,
            InputKind::Payments,
            |r, _| (r.id, r.fp, r.payment),
            |p: &Payment| &p.person_id,
        )
    }
}

/// What phase 2 learns about all rows, for the global findings and counts.
#[derive(Default)]
pub struct Facts {
    pub identities: IdentityIndex,
    /// Employer ids referenced (a hash set: a dedup partition's rows are
    /// not in employer runs, and a tree lookup per row was a tenth of a
    /// large spilled run's phase 2).
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
}

impl PersonParts {
    /// The events and payments of partition `k`, into `rows` (emptied
    /// first). Reusing the vectors of an earlier partition spares faulting
    /// in fresh pages for every partition.
    pub fn load_into(&self, k: usize, rows: &mut (Vec<Event>, Vec<Payment>)) -> Result<()> {
        read_rows_into(
            &self.dir.path().join(format!("person-events-{k}")),
            &mut rows.0,
        )?;
        read_rows_into(
            &self.dir.path().join(format!("person-payments-{k}")),
            &mut rows.1,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
