//! Phase 2 of the out-of-core path: the suspects settled against the key
//! log.
//!
//! Takes, per kind, phase 1's suspects (the rows whose duplicate key may
//! repeat an earlier row's, whole, with their raw text) and key log (the
//! key of every valid row, in file order). Guarantees the verdicts of the
//! in-memory duplicate rules ([`crate::ingest::dedup`]): a suspect is
//! rejected when an earlier row has its key (`duplicate_row`, or
//! `conflicting_duplicate` when the standing row of its id has other
//! content); otherwise (the Bloom filter's false positive: it is the
//! first of its key) it stands and its facts are added. Rejects and file
//! figures are adjusted in `Ingested`; the rejected rows' numbers go to
//! phase 3, which skips them.
//!
//! Why a key log rather than the rows: every row but the suspects (a few
//! percent) is the first of its key and stands, so only the suspects need
//! a verdict, and only the first row of each suspect key needs finding;
//! the key log is 17–25 bytes a row, where reading the rows back meant
//! decoding all of them. The suspects' keys are held in a map while the
//! key log streams by; when they would not fit in a quarter of the memory
//! limit (inputs full of duplicates, such as overlapping exports), they
//! are settled in groups by key, one pass over the key log each.

use super::codec::{Codec, KeyRec, Spilled};
use super::phase1::file_names;
use super::{create, each_record, write_err, Facts, PersonParts, Rejected, SpillSink};
use crate::error::{Error, Result};
use crate::ingest::dedup::dup_key;
use crate::ingest::{Ingested, Reason, Reject};
use crate::model::{Event, Payment};
use rustc_hash::FxHashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Memory one suspect key may take while it is settled: its map entry
/// (key and first row) at the emptiest a hash table gets (just over
/// 2.28 slots per entry after growing), plus a control byte per slot.
const BYTES_PER_SUSPECT: u64 = (std::mem::size_of::<(u128, Option<First>)>() as u64 + 1) * 23 / 10;

/// The first row of a key in the key log.
#[derive(Clone, Copy)]
struct First {
    seq: u64,
    fp64: u64,
}

/// Calls `each` on every record of a suspects file, in file order.
fn each_suspect<T: Codec>(path: &Path, each: impl FnMut(Spilled<T>) -> Result<()>) -> Result<()> {
    each_record(path, Spilled::<T>::get, each)
}

/// Which settling group a key falls in (keys are uniform digests).
fn group_of(key: u128, groups: u64) -> u64 {
    ((key >> 64) as u64) % groups
}

/// Settles the suspects of one kind (files named by `kind`, `parts` person
/// partitions; `suspects` of its `rows` valid rows): rejects into `ing`,
/// the standing suspects' facts into `facts`. Returns the rejected rows.
#[allow(clippy::too_many_arguments)]
fn settle<T: Codec>(
    dir: &Path,
    kind: &str,
    parts: usize,
    (suspects, rows): (u64, u64),
    memory_limit: u64,
    ing: &mut Ingested,
    facts: &mut Facts,
    keep: impl Fn(&mut Facts, &T),
) -> Result<Rejected> {
    let names = file_names(dir, kind, parts);
    let (keys_path, suspects_path) = (&names[parts], &names[parts + 1]);
    let groups = suspects
        .saturating_mul(BYTES_PER_SUSPECT)
        .div_ceil((memory_limit / 4).max(1))
        .max(1);
    // With more than one group, the suspects are first split into a file
    // per group (one pass), so that each group reads only its own.
    let group_files = if groups == 1 {
        vec![(suspects_path.clone(), suspects)]
    } else {
        split_suspects::<T>(suspects_path, groups)?
    };
    let mut rejected = Rejected::default();
    for (path, count) in &group_files {
        // The suspect keys of this group...
        let mut first: FxHashMap<u128, Option<First>> =
            FxHashMap::with_capacity_and_hasher(*count as usize, Default::default());
        each_suspect::<T>(path, |rec| {
            first.insert(dup_key(rec.id, rec.fp), None);
            Ok(())
        })?;
        if first.is_empty() {
            continue;
        }
        // ...their first rows in file order...
        let mut seq = 0u64;
        each_record(keys_path, KeyRec::get, |k| {
            if let Some(slot @ None) = first.get_mut(&k.key) {
                *slot = Some(First { seq, fp64: k.fp64 });
            }
            seq += 1;
            Ok(())
        })?;
        if seq != rows {
            return Err(Error::Invariant(format!(
                "{}: {seq} keys for {rows} rows",
                keys_path.display()
            )));
        }
        // ...and each suspect's verdict.
        each_suspect::<T>(path, |rec| {
            let key = dup_key(rec.id, rec.fp);
            let f = first.get(&key).copied().flatten().ok_or_else(|| {
                Error::Invariant(format!(
                    "spilled row {} of input {} is missing from the key log",
                    rec.line, rec.stat
                ))
            })?;
            if f.seq == rec.seq {
                keep(facts, &rec.row);
                return Ok(());
            }
            let reason = match rec.id {
                // The standing row of an id is compared by its content.
                Some(_) if rec.fp as u64 != f.fp64 => Reason::ConflictingDuplicate,
                _ => Reason::DuplicateRow,
            };
            let raw = rec.raw.ok_or_else(|| {
                Error::Invariant(format!(
                    "spilled row {} of input {} was rejected but has no raw text",
                    rec.line, rec.stat
                ))
            })?;
            let st = ing
                .inputs
                .get_mut(rec.stat as usize)
                .ok_or_else(|| Error::Invariant(format!("no input {}", rec.stat)))?;
            st.accepted -= 1;
            st.rejected += 1;
            ing.rejects.push(Reject {
                file: st.path.clone(),
                line: rec.line,
                reason,
                raw: String::from_utf8_lossy(&raw).into_owned(),
            });
            rejected.insert(rec.seq);
            Ok(())
        })?;
    }
    let _ = std::fs::remove_file(keys_path);
    let _ = std::fs::remove_file(suspects_path);
    for (path, _) in &group_files {
        let _ = std::fs::remove_file(path);
    }
    Ok(rejected)
}

/// Splits a suspects file into `groups` files by key (named after it),
/// each in file order; returns them with their record counts.
fn split_suspects<T: Codec>(path: &Path, groups: u64) -> Result<Vec<(PathBuf, u64)>> {
    let names: Vec<PathBuf> = (0..groups)
        .map(|g| PathBuf::from(format!("{}-{g}", path.display())))
        .collect();
    let mut outs = names
        .iter()
        .map(|p| create(p))
        .collect::<Result<Vec<_>>>()?;
    let mut counts = vec![0u64; names.len()];
    each_suspect::<T>(path, |rec| {
        let g = group_of(dup_key(rec.id, rec.fp), groups) as usize;
        counts[g] += 1;
        rec.put(&mut outs[g]).map_err(write_err(names[g].clone()))
    })?;
    for (w, p) in outs.iter_mut().zip(&names) {
        w.flush().map_err(write_err(p.clone()))?;
    }
    Ok(names.into_iter().zip(counts).collect())
}

impl SpillSink {
    /// Phase 2: the duplicate rules for the suspects of each kind, within
    /// `memory_limit`. Adjusts file figures and rejects in `ing`.
    pub fn dedup(self, ing: &mut Ingested, memory_limit: u64) -> Result<(PersonParts, Facts)> {
        let SpillSink {
            splitters,
            mut events,
            mut payments,
            mut facts,
            dir,
        } = self;
        if let Err(e) = events.finish().and_then(|()| payments.finish()) {
            // The writers' threads are joined before the folder goes.
            drop((events, payments));
            return Err(e);
        }
        let parts = splitters.len() + 1;
        let rejected_events = settle::<Event>(
            dir.path(),
            "events",
            parts,
            (events.suspects, events.seq),
            memory_limit,
            ing,
            &mut facts,
            Facts::add_event,
        )?;
        let rejected_payments = settle::<Payment>(
            dir.path(),
            "payments",
            parts,
            (payments.suspects, payments.seq),
            memory_limit,
            ing,
            &mut facts,
            Facts::add_payment,
        )?;
        Ok((
            PersonParts {
                dir,
                n: parts,
                events: rejected_events,
                payments: rejected_payments,
            },
            facts,
        ))
    }
}
