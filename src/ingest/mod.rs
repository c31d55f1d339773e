//! Ingest: every input file → typed, validated, de-duplicated records plus
//! a reject for every row that cannot be used.
//!
//! Takes the discovered files (`discover`), reads kinds in the SPEC order
//! (employers, rates, events, payments), files in name order. Per file a
//! reader thread decodes and splits records into bounded batches
//! (`reader`, over `decode`); each batch is validated in parallel with
//! rayon (`rows`, pure per record) and then merged in file order into a
//! [`RowSink`]: in memory, where the duplicate rules (`dedup`) decide the
//! batch shard by shard in parallel with the verdicts of a sequential
//! pass, or to spill files (`crate::spill`). Validating batch k+1 overlaps
//! merging batch k, and merged batches go back to the reader to be
//! refilled. With `--threads 1` the reading (and hashing) happens on the
//! one thread, between batches, so the run uses one core. Guarantees:
//! rows read = accepted + rejected for every file; every reject carries
//! file, line, reason and raw text; output is independent of the thread
//! count.

pub mod batch;
pub mod decode;
pub mod dedup;
pub mod digest;
pub mod discover;
mod feed;
mod fingerprint;
pub mod header;
pub(crate) mod idtable;
mod lookahead;
pub mod reader;
pub mod rows;

use crate::config::{InputKind, RunConfig};
use crate::error::{Error, Result};
use crate::model::{Employer, Event, Payment, RateRow};
use crate::progress::Progress;
use discover::InputFile;
use header::ColumnMap;
use rayon::prelude::*;
use reader::{Batch, Encoding, RecordReader, BATCH_RECORDS};
use std::collections::BTreeMap;

/// Why a row was rejected (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    MissingField,
    FieldCount,
    DecodeError,
    BadPeriod,
    BadDate,
    BadAmount,
    UnknownInsurance,
    UnknownAction,
    UnknownStatus,
    UnknownKind,
    UnknownCode,
    DuplicateRow,
    ConflictingDuplicate,
    Superseded,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::MissingField => "missing_field",
            Reason::FieldCount => "field_count",
            Reason::DecodeError => "decode_error",
            Reason::BadPeriod => "bad_period",
            Reason::BadDate => "bad_date",
            Reason::BadAmount => "bad_amount",
            Reason::UnknownInsurance => "unknown_insurance",
            Reason::UnknownAction => "unknown_action",
            Reason::UnknownStatus => "unknown_status",
            Reason::UnknownKind => "unknown_kind",
            Reason::UnknownCode => "unknown_code",
            Reason::DuplicateRow => "duplicate_row",
            Reason::ConflictingDuplicate => "conflicting_duplicate",
            Reason::Superseded => "superseded",
        }
    }
    /// Whether the row counts toward `--max-reject-rate` (SPEC §1).
    pub fn counts_toward_rate(self) -> bool {
        !matches!(self, Reason::DuplicateRow | Reason::Superseded)
    }
}

/// A rejected input row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub file: String,
    pub line: u64,
    pub reason: Reason,
    pub raw: String,
}

/// Per-file figures for `summary.json`.
#[derive(Debug, Clone)]
pub struct InputStat {
    pub path: String,
    pub kind: InputKind,
    pub size: u64,
    pub sha256: String,
    pub encoding: Encoding,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// Where the rate table came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatesSource {
    Flag,
    Folder,
    BuiltIn,
}

/// Everything ingest hands to reconciliation.
#[derive(Debug, Default)]
pub struct Ingested {
    /// The standing row of every employer, by id.
    pub employers: BTreeMap<String, Employer>,
    pub rates: Vec<RateRow>,
    pub events: Vec<Event>,
    pub payments: Vec<Payment>,
    pub rejects: Vec<Reject>,
    pub inputs: Vec<InputStat>,
    pub rates_source: Option<RatesSource>,
}

/// Outcome of validating one record.
pub type Checked<T> = std::result::Result<T, Reason>;

/// Reads one file: header, then batches validated in parallel and merged
/// in order through `merge`, which returns the verdict of every row of a
/// batch (it may reject a valid row, e.g. as a duplicate; rows that failed
/// validation keep their reason). Returns the file's figures.
fn read_file<T, P, M>(
    file: &InputFile,
    encoding: reader::Encoding,
    cfg: &RunConfig,
    progress: &Progress,
    rejects: &mut Vec<Reject>,
    parse: P,
    mut merge: M,
) -> Result<InputStat>
where
    T: Send,
    P: Fn(&[&str], &ColumnMap) -> Checked<T> + Sync,
    M: FnMut(Vec<Checked<T>>, &Batch) -> Result<Vec<Option<Reason>>>,
{
    let mut rdr = RecordReader::open(&file.path, encoding, cfg.delimiter)?;
    // One thread asked for, one thread used: the reading and hashing
    // happen on this thread too (else `feed::read_batches`).
    let one_thread = cfg.one_thread();
    if one_thread {
        rdr.hash_inline();
    }
    let io_err = |e| Error::io(&file.path, "cannot read", e);
    let head = rdr.next_batch(1).map_err(io_err)?;
    if head.is_empty() {
        return Err(Error::Input {
            file: file.display.clone(),
            line: 1,
            problem: "file is empty: no header row".into(),
        });
    }
    let cells = head.fields(0).ok_or_else(|| Error::Input {
        file: file.display.clone(),
        line: head.records[0].line,
        problem: format!("header row does not decode as {}", encoding.name()),
    })?;
    let map = header::map_header(file.kind, &cells, &file.display)?;
    let mut stat = InputStat {
        path: file.display.clone(),
        kind: file.kind,
        size: 0,
        sha256: String::new(),
        encoding,
        rows_read: 0,
        accepted: 0,
        rejected: 0,
    };
    // Batch k is merged (in order, on this thread) while batch k+1 is
    // validated on the pool: the two stages overlap.
    let validate = |batch: &Batch, out: &mut Vec<Checked<T>>| {
        (0..batch.len())
            .into_par_iter()
            .map_init(Vec::new, |f, i| {
                if !batch.fields_into(i, f) {
                    Err(Reason::DecodeError)
                } else if f.len() != map.width {
                    Err(Reason::FieldCount)
                } else {
                    parse(f, &map)
                }
            })
            .collect_into_vec(out);
    };
    let mut merge_batch = |batch: &Batch, outcomes: &mut Vec<Checked<T>>| -> Result<()> {
        let verdicts = merge(std::mem::take(outcomes), batch)?;
        for (i, verdict) in verdicts.into_iter().enumerate() {
            stat.rows_read += 1;
            match verdict {
                None => stat.accepted += 1,
                Some(reason) => {
                    stat.rejected += 1;
                    rejects.push(Reject {
                        file: file.display.clone(),
                        line: batch.records[i].line,
                        reason,
                        raw: batch.raw_text(i),
                    });
                }
            }
        }
        Ok(())
    };
    let mut pending: Option<(Batch, Vec<Checked<T>>)> = None;
    let mut last_bytes = 0u64;
    // Takes the next batch read; gives back the batch merged meanwhile,
    // for the reader to refill.
    let mut consume = |batch: Batch, bytes: u64| -> Result<Option<Batch>> {
        let mut outcomes: Vec<Checked<T>> = Vec::new();
        let mut merged: Result<()> = Ok(());
        let mut done = None;
        rayon::in_place_scope(|sc| {
            sc.spawn(|_| validate(&batch, &mut outcomes));
            if let Some((b, mut o)) = pending.take() {
                merged = merge_batch(&b, &mut o);
                done = Some(b);
            }
        });
        merged?;
        progress.add_bytes(bytes - last_bytes, batch.len() as u64);
        last_bytes = bytes;
        pending = Some((batch, outcomes));
        Ok(done)
    };
    let digest = if one_thread {
        let mut spare = None;
        loop {
            let mut b: Batch = spare.take().unwrap_or_default();
            rdr.fill_batch(&mut b, BATCH_RECORDS).map_err(io_err)?;
            if b.is_empty() {
                break;
            }
            spare = consume(b, rdr.bytes_read())?;
        }
        rdr.digest()
    } else {
        feed::read_batches(rdr, &file.display, &mut consume, io_err)?
    };
    if let Some((b, mut o)) = pending.take() {
        merge_batch(&b, &mut o)?;
    }
    stat.size = digest.0;
    stat.sha256 = digest.1;
    Ok(stat)
}

/// Turns a per-row merge into a batch merge (rows in file order).
fn per_row<T>(
    mut merge: impl FnMut(T, &Batch, usize) -> Result<Option<Reason>>,
) -> impl FnMut(Vec<Checked<T>>, &Batch) -> Result<Vec<Option<Reason>>> {
    move |outcomes, batch| {
        outcomes
            .into_iter()
            .enumerate()
            .map(|(i, o)| match o {
                Ok(row) => merge(row, batch, i),
                Err(r) => Ok(Some(r)),
            })
            .collect()
    }
}

/// Where valid events and payments go: kept in memory with the duplicate
/// rules applied at once ([`MemorySink`]), or spilled to disk partitions
/// and de-duplicated later (`crate::spill`). Rows come a batch at a time,
/// in file order, with their validation outcome; the sink returns the
/// verdict of every row (a returned reason rejects the row now).
pub trait RowSink {
    /// A batch of events of the file at `stat` (index in
    /// `Ingested::inputs`).
    fn events(
        &mut self,
        rows: Vec<Checked<rows::EventRow>>,
        batch: &Batch,
        stat: usize,
    ) -> Result<Vec<Option<Reason>>>;

    /// Like [`RowSink::events`], for payments.
    fn payments(
        &mut self,
        rows: Vec<Checked<rows::PaymentRow>>,
        batch: &Batch,
        stat: usize,
    ) -> Result<Vec<Option<Reason>>>;
}

/// Applies the duplicate rules to a batch at once (shard-parallel, see
/// [`dedup::Deduper::check_batch`]) and keeps the survivors in order.
///
/// When every row of the batch is valid and survives (nearly every batch
/// of a real export), the rows are moved into `kept` in parallel: writing
/// them is the first touch of `kept`'s reserved pages, whose faults cost
/// more than the copy, and done serially it made this merge thread the
/// bottleneck of ingest.
fn keep_batch<R, T>(
    dedup: &mut dedup::Deduper,
    rows: Vec<Checked<R>>,
    keys: impl Fn(&R) -> (Option<dedup::IdKey>, rows::Fingerprint),
    keep: impl Fn(R) -> T + Sync + Send,
    kept: &mut Vec<T>,
) -> Vec<Option<Reason>>
where
    R: Send,
    T: Send,
{
    let k: Vec<_> = rows.iter().map(|r| r.as_ref().ok().map(&keys)).collect();
    let mut verdicts = dedup.check_batch(&k);
    if verdicts.iter().all(Option::is_none) && rows.iter().all(Result::is_ok) {
        kept.par_extend(rows.into_par_iter().map(|row| match row {
            Ok(row) => keep(row),
            // Checked just above: every row is valid.
            Err(_) => unreachable!("an invalid row in an all-valid batch"),
        }));
        return verdicts;
    }
    for (row, v) in rows.into_iter().zip(verdicts.iter_mut()) {
        match row {
            Err(r) => *v = Some(r),
            Ok(row) if v.is_none() => kept.push(keep(row)),
            Ok(_) => {}
        }
    }
    verdicts
}

/// The in-memory sink: duplicate rules applied in file order as rows come.
#[derive(Default)]
pub struct MemorySink {
    pub events: Vec<Event>,
    pub payments: Vec<Payment>,
    event_dedup: dedup::Deduper,
    pay_dedup: dedup::Deduper,
}

impl MemorySink {
    /// A sink sized for `files` up front: row vectors and duplicate maps
    /// reserved for the rows the files probably hold (see
    /// [`estimate_rows`]). Growing them instead copies gigabytes into
    /// freshly faulted pages, which on a small machine costs more than the
    /// copying itself.
    pub fn sized_for(files: &[InputFile]) -> MemorySink {
        let (events, payments) = estimate_rows_by_kind(files);
        MemorySink {
            events: Vec::with_capacity(events),
            payments: Vec::with_capacity(payments),
            event_dedup: dedup::Deduper::with_capacity(events),
            pay_dedup: dedup::Deduper::with_capacity(payments),
        }
    }
}

/// The estimated (events, payments) rows of `files` (see
/// [`estimate_rows`]).
pub fn estimate_rows_by_kind(files: &[InputFile]) -> (usize, usize) {
    let rows = |kind| -> usize {
        files
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| estimate_rows(&f.path))
            .sum()
    };
    (rows(InputKind::Events), rows(InputKind::Payments))
}

/// A guess at a file's row count from its size and the line length in its
/// first 64 KiB, plus 5 %: only a capacity hint, so a wrong guess costs a
/// reallocation or some unused memory, never a result.
pub fn estimate_rows(path: &std::path::Path) -> usize {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    let size = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
    let mut head = Vec::with_capacity(1 << 16);
    if file.take(1 << 16).read_to_end(&mut head).is_err() {
        return 0;
    }
    let lines = memchr::memchr_iter(b'\n', &head).count().max(1);
    let per_line = (head.len() / lines).max(1);
    size / per_line + size / per_line / 20 + 16
}

impl RowSink for MemorySink {
    fn events(
        &mut self,
        rows: Vec<Checked<rows::EventRow>>,
        _: &Batch,
        _: usize,
    ) -> Result<Vec<Option<Reason>>> {
        let first = self.events.len() as u64;
        let v = keep_batch(
            &mut self.event_dedup,
            rows,
            |r| (r.id, r.fp),
            |r| r.event,
            &mut self.events,
        );
        for (seq, e) in self.events.iter_mut().enumerate().skip(first as usize) {
            e.seq = seq as u64;
        }
        Ok(v)
    }
    fn payments(
        &mut self,
        rows: Vec<Checked<rows::PaymentRow>>,
        _: &Batch,
        _: usize,
    ) -> Result<Vec<Option<Reason>>> {
        Ok(keep_batch(
            &mut self.pay_dedup,
            rows,
            |r| (r.id, r.fp),
            |r| r.payment,
            &mut self.payments,
        ))
    }
}

/// Reads every input of the run into `out` (employers, rates, rejects,
/// file figures) and hands valid events and payments to `sink`. On error,
/// `out` keeps what was read so far (for the diagnostics). Rejects and
/// figures are left in reading order: call [`sort_for_output`] when the
/// sink has decided on its rows.
pub fn ingest(
    cfg: &RunConfig,
    files: &[InputFile],
    progress: &Progress,
    out: &mut Ingested,
    sink: &mut dyn RowSink,
) -> Result<()> {
    // Employers: keep every valid row until all files are read; the
    // registry rule needs them all.
    struct Cand {
        emp: Employer,
        fp: rows::Fingerprint,
        file: String,
        line: u64,
        raw: String,
        stat: usize,
    }
    let mut cands: Vec<Cand> = Vec::new();
    let mut rate_dedup = dedup::Deduper::default();
    let mut encodings = lookahead::Encodings::start(files, cfg);
    for file in files {
        let stat_idx = out.inputs.len();
        progress.file_started(file);
        let encoding = encodings.next(file)?;
        let stat = match file.kind {
            InputKind::Employers => read_file(
                file,
                encoding,
                cfg,
                progress,
                &mut out.rejects,
                rows::parse_employer,
                per_row(|r: rows::EmployerRow, b: &Batch, i| {
                    cands.push(Cand {
                        emp: r.employer,
                        fp: r.fp,
                        file: file.display.clone(),
                        line: b.records[i].line,
                        raw: b.raw_text(i),
                        stat: stat_idx,
                    });
                    Ok(None)
                }),
            )?,
            InputKind::Rates => {
                let rates = &mut out.rates;
                read_file(
                    file,
                    encoding,
                    cfg,
                    progress,
                    &mut out.rejects,
                    rows::parse_rate,
                    per_row(|r: RateRow, _: &Batch, _| {
                        let fp = rows::rate_fingerprint(&r);
                        let v = rate_dedup.check(None, fp);
                        if v.is_none() {
                            rates.push(r);
                        }
                        Ok(v)
                    }),
                )?
            }
            InputKind::Events => read_file(
                file,
                encoding,
                cfg,
                progress,
                &mut out.rejects,
                rows::parse_event,
                |rows, b: &Batch| sink.events(rows, b, stat_idx),
            )?,
            InputKind::Payments => read_file(
                file,
                encoding,
                cfg,
                progress,
                &mut out.rejects,
                rows::parse_payment,
                |rows, b: &Batch| sink.payments(rows, b, stat_idx),
            )?,
        };
        out.inputs.push(stat);
    }
    // The registry rule: exact duplicates, then latest status_date.
    let keys: Vec<dedup::EmployerCandidate<'_>> = cands
        .iter()
        .map(|c| dedup::EmployerCandidate {
            id: &c.emp.id,
            fp: c.fp,
            status_date: c.emp.status_date,
        })
        .collect();
    let verdicts = dedup::employer_verdicts(&keys);
    for (c, v) in cands.into_iter().zip(verdicts) {
        match v {
            None => {
                out.employers.insert(c.emp.id.clone(), c.emp);
            }
            Some(reason) => {
                let st = &mut out.inputs[c.stat];
                st.accepted -= 1;
                st.rejected += 1;
                out.rejects.push(Reject {
                    file: c.file,
                    line: c.line,
                    reason,
                    raw: c.raw,
                });
            }
        }
    }
    Ok(())
}

/// Puts rejects and file figures in their output order (SPEC §7).
pub fn sort_for_output(out: &mut Ingested) {
    out.rejects
        .sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
    out.inputs.sort_by(|a, b| {
        a.kind
            .name()
            .cmp(b.kind.name())
            .then_with(|| a.path.cmp(&b.path))
    });
}
