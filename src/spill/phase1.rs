//! Phase 1 of the out-of-core path: valid rows, as ingest hands them
//! over, straight to their person partition.
//!
//! Takes each batch of validated events or payments in file order.
//! Guarantees, per kind: every valid row is numbered in file order (its
//! `seq`) and written, with that number, to the person_id-range
//! partition of its person; its duplicate key goes to the *key log*, one
//! entry per row in file order; a row whose key may have been met before
//! (the Bloom filter `seen` says so: these are the only rows the
//! duplicate rules can reject) also goes, whole and with its raw text,
//! to the *suspects* file. Every other row is the first of its key, so it
//! stands: its facts (identities, employer references, payment sums) are
//! gathered here, on the workers. Phase 2 settles the suspects.
//!
//! Rows are encoded, and the facts of each chunk gathered, on the worker
//! threads, a batch at a time; the merging thread tests the batch against
//! the Bloom filter (range-parallel), merges the chunks' facts and hands
//! the bytes, in file order, to the writer (`writer`, a thread of its own
//! unless `--threads 1`).

use super::codec::{put_part, Codec, KeyRec, Spilled};
use super::{create, part_of, part_path, seen, writer, Facts, SPILL_PREFIX};
use crate::config::InputKind;
use crate::error::{Error, Result};
use crate::ingest::reader::Batch;
use crate::ingest::rows::{EventRow, PaymentRow};
use crate::ingest::{Checked, Reason, RowSink};
use crate::model::{Event, IdOrder, Payment};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Phase 1: the sink that spills valid rows to person partitions.
pub struct SpillSink {
    /// The person_id-range splitters: partition k holds the ids from
    /// splitter k-1 (included) to splitter k (excluded).
    pub(super) splitters: Vec<(IdOrder, String)>,
    pub(super) events: KindFiles,
    pub(super) payments: KindFiles,
    /// The facts of the rows that stand for sure (not suspects).
    pub(super) facts: Facts,
    /// Declared last, so dropped last: the writers' threads are joined
    /// before the folder is removed.
    pub(super) dir: tempfile::TempDir,
}

/// The phase-1 files of one kind.
pub(super) struct KindFiles {
    writer: writer::PartWriter,
    /// Valid rows of this kind spilled so far: the next row's file-order
    /// number.
    pub(super) seq: u64,
    /// Rows written to the suspects file.
    pub(super) suspects: u64,
    /// Duplicate keys met so far (decides which rows are suspects).
    seen: seen::Seen,
}

/// The files of one kind: person partitions `0..parts`, then the key log,
/// then the suspects.
pub(super) fn file_names(dir: &Path, kind: &str, parts: usize) -> Vec<PathBuf> {
    (0..parts)
        .map(|k| part_path(dir, kind, k))
        .chain([
            dir.join(format!("keys-{kind}")),
            dir.join(format!("suspects-{kind}")),
        ])
        .collect()
}

impl KindFiles {
    fn create(
        dir: &Path,
        kind: &str,
        parts: usize,
        rows: usize,
        threaded: bool,
    ) -> Result<KindFiles> {
        let paths = file_names(dir, kind, parts);
        let writers = paths.iter().map(|p| create(p)).collect::<Result<_>>()?;
        Ok(KindFiles {
            writer: writer::PartWriter::new(writers, paths, threaded)?,
            seq: 0,
            suspects: 0,
            seen: seen::Seen::with_keys(rows),
        })
    }

    /// Writes what is queued, then flushes and closes every file.
    pub(super) fn finish(&mut self) -> Result<()> {
        self.writer.finish()?;
        self.seen = seen::Seen::with_keys(0);
        Ok(())
    }
}

impl SpillSink {
    /// Creates the person partitions (split at `splitters`, sorted and
    /// distinct) of each kind in a new private folder under `temp_dir`;
    /// `rows` estimates the (events, payments) rows to come. `threaded`:
    /// files are written by a thread beside the merge.
    pub fn new(
        temp_dir: &Path,
        splitters: Vec<String>,
        rows: (usize, usize),
        threaded: bool,
    ) -> Result<Self> {
        std::fs::create_dir_all(temp_dir)
            .map_err(|e| Error::io(temp_dir, "cannot create temp folder", e))?;
        super::clean_leftovers(temp_dir);
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
        let parts = splitters.len() + 1;
        Ok(SpillSink {
            events: KindFiles::create(dir.path(), "events", parts, rows.0, threaded)?,
            payments: KindFiles::create(dir.path(), "payments", parts, rows.1, threaded)?,
            splitters: splitters
                .into_iter()
                .map(|s| (IdOrder::new(&s), s))
                .collect(),
            facts: Facts::default(),
            dir,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Phase 1 for one batch of one kind: valid rows are numbered in file
    /// order, encoded in parallel and appended to their files. Every row
    /// passes here; the duplicate rules decide in phase 2.
    #[allow(clippy::too_many_arguments)]
    fn spill_batch<R: Send + DupKey, T: Codec + Send>(
        &mut self,
        rows: Vec<Checked<R>>,
        batch: &Batch,
        stat: usize,
        kind: InputKind,
        split: impl Fn(R, u64) -> (Option<u128>, u128, T) + Sync,
        person: impl Fn(&T) -> &str + Sync,
        keep: impl Fn(&mut Facts, &T) + Sync,
    ) -> Result<Vec<Option<Reason>>> {
        let SpillSink {
            splitters,
            events,
            payments,
            facts,
            dir,
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
        // those rows can be rejected in phase 2.
        let keys: Vec<Option<u128>> = rows
            .iter()
            .map(|r| r.as_ref().ok().map(DupKey::dup_key))
            .collect();
        let suspect = files.seen.test_and_set_all(&keys);
        let parts = splitters.len() + 1;
        let (key_log, suspects) = (parts, parts + 1);
        // Rows are encoded on the workers a chunk at a time, straight
        // into one buffer per file, with the facts of the rows that stand
        // for sure; chunks come back in order, so appending their buffers
        // keeps each file in file order.
        let chunk = rows.len().div_ceil(rayon::current_num_threads() * 4).max(1);
        let encoded: Vec<(Vec<Vec<u8>>, Facts, u64)> = rows
            .into_par_iter()
            .enumerate()
            .chunks(chunk)
            .map(|part_rows| -> std::io::Result<_> {
                let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); parts + 2];
                let mut sure = Facts::default();
                let mut suspected = 0;
                // Exports list a person's rows together: the previous
                // row's partition is reused when the person repeats
                // (the range search was 2 % of a medium 1G run).
                let mut last: Option<(crate::model::Id, usize)> = None;
                for (i, r) in part_rows {
                    let Ok(r) = r else { continue };
                    let (id, fp, row) = split(r, seqs[i]);
                    let who = person(&row);
                    let p = match &last {
                        Some((prev, p)) if prev.as_str() == who => *p,
                        _ => {
                            let p = part_of(splitters, who);
                            last = Some((who.into(), p));
                            p
                        }
                    };
                    put_part(&mut bufs[p], seqs[i], &row)?;
                    KeyRec::put(&mut bufs[key_log], id, fp)?;
                    if suspect[i] {
                        suspected += 1;
                        let rec = Spilled {
                            seq: seqs[i],
                            stat: stat as u32,
                            line: batch.records[i].line,
                            fp,
                            id,
                            raw: Some(batch.raw(i).to_vec()),
                            row,
                        };
                        rec.put(&mut bufs[suspects])?;
                    } else {
                        keep(&mut sure, &row);
                    }
                }
                Ok((bufs, sure, suspected))
            })
            .collect::<std::io::Result<_>>()
            .map_err(|e| Error::io(dir.path(), "cannot encode spill record", e))?;
        files.seq = next;
        let mut job = Vec::with_capacity(encoded.len());
        for (bufs, sure, suspected) in encoded {
            facts.merge(sure);
            files.suspects += suspected;
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
            Facts::add_event,
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
            Facts::add_payment,
        )
    }
}
