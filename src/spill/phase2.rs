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
use super::{create, read_all, write_err, Facts, PersonParts, SpillSink};
use crate::error::{Error, Result};
use crate::ingest::dedup::Deduper;
use crate::ingest::{Ingested, Reason, Reject};
use crate::model::{Event, Payment};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// One row of a dedup partition after phase 2's verdict.
enum Decided<T> {
    /// Rejected: where it came from and why.
    Rejected {
        stat: u32,
        line: u64,
        reason: Reason,
        raw: Vec<u8>,
    },
    /// Kept: the row (for the facts), its person partition and its
    /// encoding there.
    Kept { row: T, part: usize, bytes: Vec<u8> },
}

/// Phase 2 for one dedup partition (run on a worker thread): its rows
/// back in file order with the verdict of the duplicate rules, survivors
/// already encoded for their person partition.
fn decide<T: Codec>(
    path: &Path,
    splitters: &[String],
    person_of: &(impl Fn(&T) -> &str + Sync),
) -> Result<Vec<Decided<T>>> {
    let mut recs = read_all::<T>(path)?;
    let _ = std::fs::remove_file(path);
    recs.sort_unstable_by_key(|r| r.seq);
    let mut d = Deduper::default();
    let mut out = Vec::with_capacity(recs.len());
    for r in recs {
        if let Some(reason) = d.check(r.id, r.fp) {
            out.push(Decided::Rejected {
                stat: r.stat,
                line: r.line,
                reason,
                raw: r.raw,
            });
            continue;
        }
        let part = splitters.partition_point(|s| s.as_str() <= person_of(&r.row));
        let slim = Spilled {
            seq: r.seq,
            stat: 0,
            line: 0,
            fp: 0,
            id: None,
            raw: Vec::new(),
            row: r.row,
        };
        let mut bytes = Vec::with_capacity(128);
        slim.put(&mut bytes)
            .map_err(|e| Error::io(path, "cannot encode spill record", e))?;
        out.push(Decided::Kept {
            row: slim.row,
            part,
            bytes,
        });
    }
    Ok(out)
}

/// Decides the dedup partitions of one kind, as many at a time as there
/// are threads, and applies the verdicts in partition order (so the
/// person partitions' contents do not depend on the thread count):
/// rejects and file figures into `ing`, survivors to `keep` and to their
/// person partition.
fn dedup_kind<T: Codec + Send>(
    parts: &[PathBuf],
    ing: &mut Ingested,
    person_of: impl Fn(&T) -> &str + Sync,
    splitters: &[String],
    outs: &mut [BufWriter<File>],
    out_names: &[PathBuf],
    mut keep: impl FnMut(&T),
) -> Result<()> {
    let threads = rayon::current_num_threads().max(1);
    for chunk in parts.chunks(threads) {
        let decided: Vec<Result<Vec<Decided<T>>>> = chunk
            .par_iter()
            .map(|p| decide::<T>(p, splitters, &person_of))
            .collect();
        for recs in decided {
            for r in recs? {
                match r {
                    Decided::Rejected {
                        stat,
                        line,
                        reason,
                        raw,
                    } => {
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
                    Decided::Kept { row, part, bytes } => {
                        keep(&row);
                        outs[part]
                            .write_all(&bytes)
                            .map_err(write_err(out_names[part].clone()))?;
                    }
                }
            }
        }
    }
    Ok(())
}

impl SpillSink {
    /// Phase 2: duplicate rules per dedup partition, survivors to person
    /// partitions. Adjusts file figures and rejects in `ing`.
    pub fn dedup(mut self, ing: &mut Ingested) -> Result<(PersonParts, Facts)> {
        self.events.finish(self.dir.path())?;
        self.payments.finish(self.dir.path())?;
        let n = self.n;
        let sample: Vec<String> = std::mem::take(&mut self.sample).into_iter().collect();
        let splitters: Vec<String> = (1..n)
            .filter_map(|k| sample.get(k * sample.len() / n).cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
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
            |e| facts.add_event(e),
        )?;
        dedup_kind(
            &names("payments"),
            ing,
            |p: &Payment| p.person_id.as_str(),
            &splitters,
            &mut py_out,
            &py_names,
            |p| facts.add_payment(p),
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
