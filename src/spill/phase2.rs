//! Phase 2 of the out-of-core path: the duplicate rules, one dedup
//! partition at a time, and the survivors routed to person partitions.
//!
//! Takes the phase-1 partitions (every valid row of a kind, with its file
//! position, keys and raw text). Guarantees: each partition's rows are put
//! back in file order and judged exactly as the in-memory path judges
//! them (an id only ever meets rows in its own partition); rejects and
//! file figures are adjusted in `Ingested`; survivors reach the `Facts`
//! and their person_id-range partition. Partitions are decided as many at
//! a time as there are threads and applied in partition order, so the
//! result does not depend on the thread count.

use super::codec::{Codec, Spilled};
use super::{create, read_all_into, write_err, Facts, PersonParts, SpillSink};
use crate::error::{Error, Result};
use crate::ingest::dedup::Deduper;
use crate::ingest::{Ingested, Reason, Reject};
use crate::model::{Event, IdOrder, Payment};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// Rows whose keys [`decide`] hands to the deduper at once (about 3 MB
/// of keys).
const CHECK_CHUNK: usize = 1 << 16;

/// A dedup partition after phase 2's verdict, worked out on a worker.
struct Decided {
    /// Rejected rows: input file (index into `Ingested::inputs`), line,
    /// reason and raw text.
    rejected: Vec<(u32, u64, Reason, Vec<u8>)>,
    /// The survivors, encoded, one buffer per person partition (in file
    /// order within each).
    parts: Vec<Vec<u8>>,
    /// What the survivors contribute to the facts.
    facts: Facts,
}

/// Buffers phase 2 reuses from one dedup partition to the next: the
/// partition's records (about 100 MB each on a medium run) and the
/// survivors' bytes for each person partition. Fresh buffers for every
/// partition faulted in fresh pages every time: the kernel zeroing them
/// was a third of phase 2's CPU on medium.
struct Buffers<T> {
    recs: Mutex<Vec<Vec<Spilled<T>>>>,
    parts: Mutex<Vec<Vec<Vec<u8>>>>,
}

impl<T> Buffers<T> {
    fn new() -> Self {
        Buffers {
            recs: Mutex::new(Vec::new()),
            parts: Mutex::new(Vec::new()),
        }
    }

    /// A record vector (empty, maybe with room from an earlier partition).
    fn take_recs(&self) -> Vec<Spilled<T>> {
        let mut pool = self.recs.lock().unwrap_or_else(PoisonError::into_inner);
        pool.pop().unwrap_or_default()
    }

    fn give_recs(&self, mut v: Vec<Spilled<T>>) {
        v.clear();
        let mut pool = self.recs.lock().unwrap_or_else(PoisonError::into_inner);
        pool.push(v);
    }

    /// `n` empty byte buffers, one per person partition.
    fn take_parts(&self, n: usize) -> Vec<Vec<u8>> {
        let mut pool = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut v = pool.pop().unwrap_or_default();
        v.resize_with(n, Vec::new);
        v
    }

    fn give_parts(&self, mut v: Vec<Vec<u8>>) {
        v.iter_mut().for_each(Vec::clear);
        let mut pool = self.parts.lock().unwrap_or_else(PoisonError::into_inner);
        pool.push(v);
    }
}

/// Phase 2 for one dedup partition (run on a worker thread): its rows
/// back in file order with the verdict of the duplicate rules, survivors
/// encoded for their person partition and added to this partition's
/// facts.
fn decide<T: Codec>(
    path: &Path,
    splitters: &[(IdOrder, String)],
    person_of: &(impl Fn(&T) -> &str + Sync),
    keep: &(impl Fn(&mut Facts, &T) + Sync),
    bufs: &Buffers<T>,
) -> Result<Decided> {
    let mut recs = bufs.take_recs();
    read_all_into::<T>(path, &mut recs)?;
    let _ = std::fs::remove_file(path);
    recs.sort_unstable_by_key(|r| r.seq);
    // The verdicts in shard-parallel, prefetching passes (a partition's
    // tables outgrow the caches; deciding row by row waited on memory),
    // a bounded chunk of keys at a time; the tables carry over.
    let mut d = Deduper::with_capacity(recs.len());
    let mut verdicts = Vec::with_capacity(recs.len());
    for chunk in recs.chunks(CHECK_CHUNK) {
        let keys: Vec<_> = chunk.iter().map(|r| Some((r.id, r.fp))).collect();
        verdicts.extend(d.check_batch(&keys));
    }
    let mut out = Decided {
        rejected: Vec::new(),
        parts: bufs.take_parts(splitters.len() + 1),
        facts: Facts::default(),
    };
    for (r, verdict) in recs.drain(..).zip(verdicts) {
        if let Some(reason) = verdict {
            // Phase 1 kept the text of every row whose key it had seen
            // before, and only those can be rejected here (`seen`).
            let raw = r.raw.ok_or_else(|| {
                Error::Invariant(format!(
                    "spilled row {} of input {} was rejected but has no raw text",
                    r.line, r.stat
                ))
            })?;
            out.rejected.push((r.stat, r.line, reason, raw));
            continue;
        }
        keep(&mut out.facts, &r.row);
        let part = part_of(splitters, person_of(&r.row));
        // Phase 3 needs the row alone (an event carries its own `seq`).
        r.row
            .put(&mut out.parts[part])
            .map_err(|e| Error::io(path, "cannot encode spill record", e))?;
    }
    bufs.give_recs(recs);
    Ok(out)
}

/// The person partition of `person`: how many splitters are at most it
/// (compared by [`IdOrder`]: a string comparison per probe was a tenth
/// of a large spilled run's phase 2).
fn part_of(splitters: &[(IdOrder, String)], person: &str) -> usize {
    let key = IdOrder::new(person);
    splitters.partition_point(|(k, s)| k.cmp_with(&key, || (s.as_str(), person)).is_le())
}

/// Decides the dedup partitions of one kind, as many at a time as there
/// are threads, and applies the verdicts in partition order (so the
/// person partitions' contents do not depend on the thread count):
/// rejects and file figures into `ing`, survivors' facts into `facts`
/// and their bytes to their person partition.
#[allow(clippy::too_many_arguments)]
fn dedup_kind<T: Codec + Send>(
    parts: &[PathBuf],
    ing: &mut Ingested,
    person_of: impl Fn(&T) -> &str + Sync,
    splitters: &[(IdOrder, String)],
    outs: &mut [BufWriter<File>],
    out_names: &[PathBuf],
    facts: &mut Facts,
    keep: impl Fn(&mut Facts, &T) + Sync,
) -> Result<()> {
    let threads = rayon::current_num_threads().max(1);
    let bufs = Buffers::new();
    let mut apply = |decided: Vec<Result<Decided>>| -> Result<()> {
        for d in decided {
            let d = d?;
            for (stat, line, reason, raw) in d.rejected {
                let st = &mut ing.inputs[stat as usize];
                st.accepted -= 1;
                st.rejected += 1;
                ing.rejects.push(Reject {
                    file: st.path.clone(),
                    line,
                    reason,
                    raw: String::from_utf8_lossy(&raw).into_owned(),
                });
            }
            for ((w, name), bytes) in outs.iter_mut().zip(out_names).zip(&d.parts) {
                w.write_all(bytes).map_err(write_err(name.clone()))?;
            }
            bufs.give_parts(d.parts);
            facts.merge(d.facts);
        }
        Ok(())
    };
    // The verdicts of chunk k are applied (written, on this thread) while
    // chunk k+1 is decided on the pool: writing the survivors is mostly
    // copying into the page cache, and done between chunks it left the
    // pool idle for a third of phase 2.
    let mut pending: Vec<Result<Decided>> = Vec::new();
    for chunk in parts.chunks(threads) {
        let mut next: Vec<Result<Decided>> = Vec::new();
        let mut applied: Result<()> = Ok(());
        rayon::in_place_scope(|sc| {
            sc.spawn(|_| {
                next = chunk
                    .par_iter()
                    .map(|p| decide::<T>(p, splitters, &person_of, &keep, &bufs))
                    .collect();
            });
            applied = apply(std::mem::take(&mut pending));
        });
        applied?;
        pending = next;
    }
    apply(pending)
}

impl SpillSink {
    /// Phase 2: duplicate rules per dedup partition, survivors to person
    /// partitions. Adjusts file figures and rejects in `ing`.
    pub fn dedup(mut self, ing: &mut Ingested) -> Result<(PersonParts, Facts)> {
        self.events.finish()?;
        self.payments.finish()?;
        let n = self.n;
        let sample: Vec<String> = std::mem::take(&mut self.sample).into_iter().collect();
        let splitters: Vec<(IdOrder, String)> = (1..n)
            .filter_map(|k| sample.get(k * sample.len() / n).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|s| (IdOrder::new(&s), s))
            .collect();
        let parts = splitters.len() + 1;
        let ev_names: Vec<PathBuf> = (0..parts)
            .map(|k| self.file(&format!("person-events-{k}")))
            .collect();
        let py_names: Vec<PathBuf> = (0..parts)
            .map(|k| self.file(&format!("person-payments-{k}")))
            .collect();
        let mut ev_out = ev_names
            .iter()
            .map(|p| create(p))
            .collect::<Result<Vec<_>>>()?;
        let mut py_out = py_names
            .iter()
            .map(|p| create(p))
            .collect::<Result<Vec<_>>>()?;
        let mut facts = Facts::default();
        let names = |kind: &str| -> Vec<PathBuf> {
            (0..n)
                .map(|i| self.file(&format!("dedup-{kind}-{i}")))
                .collect()
        };
        dedup_kind(
            &names("events"),
            ing,
            |e: &Event| e.person_id.as_str(),
            &splitters,
            &mut ev_out,
            &ev_names,
            &mut facts,
            |f, e| f.add_event(e),
        )?;
        dedup_kind(
            &names("payments"),
            ing,
            |p: &Payment| p.person_id.as_str(),
            &splitters,
            &mut py_out,
            &py_names,
            &mut facts,
            |f, p| f.add_payment(p),
        )?;
        for (w, p) in ev_out
            .iter_mut()
            .chain(py_out.iter_mut())
            .zip(ev_names.iter().chain(py_names.iter()))
        {
            w.flush().map_err(write_err(p.clone()))?;
        }
        Ok((
            PersonParts {
                dir: self.dir,
                n: parts,
            },
            facts,
        ))
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
}
