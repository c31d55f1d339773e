//! The `run` command: read → validate → group by person → reconcile →
//! write → publish, and the failure path of SPEC §1.
//!
//! Every stage is a module of its own; this file only sequences them,
//! checks the run-level invariants (rows accounted, money balanced) and
//! decides between publishing the outputs and publishing diagnostics to
//! `OUT_DIR/failed/`.

use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::ingest::{self, discover, Ingested, RatesSource};
use crate::model::Employer;
use crate::outcome::{Finding, FindingKind, Totals};
use crate::output::summary::{self, Counts, SummaryInput};
use crate::output::{self, publish};
use crate::parse::credit_code_valid;
use crate::progress::Progress;
use crate::rates::{self, RateTable};
use crate::reconcile::{self, Context};
use crate::spill;
use rayon::prelude::*;
use std::time::Instant;

/// Persons reconciled per parallel batch: bounds the memory held by
/// reconciled-but-unwritten rows.
const PERSON_BATCH: usize = 1024;

/// What a finished run reports back to the caller.
#[derive(Debug)]
pub struct RunReport {
    pub summary: serde_json::Value,
}

/// State that survives a failure, for the diagnostics.
#[derive(Default)]
struct State {
    ing: Ingested,
    counts: Counts,
    totals: Totals,
    /// `ledger.csv` summed for the report as it is written.
    ledger: crate::report::LedgerTotals,
}

/// The run-wide figures reconciliation adds to.
struct Tally<'a> {
    counts: &'a mut Counts,
    totals: &'a mut Totals,
    ledger: &'a mut crate::report::LedgerTotals,
}

/// Runs the whole pipeline; on failure publishes diagnostics and returns
/// the error.
pub fn run(cfg: &RunConfig) -> Result<RunReport> {
    let started = Instant::now();
    let progress = Progress::new(cfg.progress, cfg.log_format);
    progress.stage(
        "start",
        serde_json::json!({"input_dir": cfg.input_dir, "out_dir": cfg.out_dir}),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} threads: {e}", cfg.threads)))?;
    let mut state = State::default();
    // What a killed run left: a previous output set caught between the two
    // renames is put back (so a failed run below leaves it in place), and
    // staging and spill folders of dead processes are removed.
    publish::clean_leftovers(&cfg.out_dir)?;
    spill::clean_leftovers(&cfg.temp_dir);
    let result = pool.install(|| run_inner(cfg, &progress, &mut state, started));
    progress.finish();
    match result {
        Ok(report) => {
            progress.stage("exit", serde_json::json!({"status": "ok", "exit_code": 0}));
            Ok(report)
        }
        Err(e) => {
            let diag = failed_summary(cfg, &state, &e, started);
            let mut rejects = Vec::new();
            rejects.push(output::csvw::line(&output::REJECTS_HEADER));
            for r in &state.ing.rejects {
                rejects.push(output::csvw::line(&[
                    r.file.as_str(),
                    &r.line.to_string(),
                    r.reason.name(),
                    &r.raw,
                ]));
            }
            let files = [
                ("rejects.csv", rejects.concat().into_bytes()),
                ("summary.json", summary::render(&diag).into_bytes()),
            ];
            if let Err(pe) = publish::publish_failed(&cfg.out_dir, &files) {
                progress.stage(
                    "exit",
                    serde_json::json!({"status": "failed", "error": pe.to_string()}),
                );
            }
            progress.stage("exit", serde_json::json!({"status": "failed", "exit_code": e.exit_code(), "error": e.to_string()}));
            Err(e)
        }
    }
}

fn failed_summary(cfg: &RunConfig, st: &State, e: &Error, started: Instant) -> serde_json::Value {
    let mut ing_sorted = Ingested {
        rejects: st.ing.rejects.clone(),
        inputs: st.ing.inputs.clone(),
        ..Default::default()
    };
    ingest::sort_for_output(&mut ing_sorted);
    summary::build(&SummaryInput {
        cfg,
        status_ok: false,
        reason: Some(e.to_string()),
        inputs: &ing_sorted.inputs,
        rejects: &ing_sorted.rejects,
        counts: &st.counts,
        totals: &st.totals,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Most person ids sampled for the spill splitters (16 KiB read each).
const MAX_SAMPLES: usize = 1 << 14;

/// Where the valid events and payments are after ingest.
enum Rows {
    /// Events and payments (the duplicate maps are dropped once ingest
    /// is over).
    Memory(Vec<crate::model::Event>, Vec<crate::model::Payment>),
    Spilled(spill::PersonParts),
}

fn run_inner(
    cfg: &RunConfig,
    progress: &Progress,
    st: &mut State,
    started: Instant,
) -> Result<RunReport> {
    let files = discover::discover(cfg)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    progress.set_total_bytes(total);
    let need = spill::memory_need(&files);
    let partitions = spill::partitions_for(need, cfg.memory_limit);
    progress.stage(
        "plan",
        serde_json::json!({"input_bytes": total, "memory_need": need, "memory_limit": cfg.memory_limit, "spill_partitions": partitions}),
    );
    // Ingest into memory, or spill; then the facts every person needs.
    let (rows, facts) = match partitions {
        None => {
            let mut sink = ingest::MemorySink::sized_for(&files);
            ingest::ingest(cfg, &files, progress, &mut st.ing, &mut sink)?;
            let facts = spill::Facts::gather(&sink.events, &sink.payments);
            (Rows::Memory(sink.events, sink.payments), facts)
        }
        Some(n) => {
            let rows = ingest::estimate_rows_by_kind(&files);
            // Phase 1 routes each row to its person's range partition as
            // it reads it: the splitters come from a sample taken first
            // (64 ids a partition: sizes within about an eighth), at most
            // 16 K reads (a tiny limit asks for thousands of partitions).
            let samples = (64 * n).min(MAX_SAMPLES);
            let sample = spill::sample::person_sample(&files, cfg.delimiter, samples);
            let sampled = sample.len();
            let splitters = spill::sample::splitters(sample, n);
            // Fewer partitions than planned (a thin or skewed sample: few
            // persons, unreadable lines) show in the log.
            let partitions = splitters.len() + 1;
            let mut sink =
                spill::SpillSink::new(&cfg.temp_dir, splitters, rows, !cfg.one_thread())?;
            ingest::ingest(cfg, &files, progress, &mut st.ing, &mut sink)?;
            progress.stage(
                "rows_spilled",
                serde_json::json!({"partitions": partitions, "planned": n, "sampled": sampled, "folder": sink.path().display().to_string()}),
            );
            let (parts, facts) = sink.dedup(&mut st.ing, cfg.memory_limit)?;
            (Rows::Spilled(parts), facts)
        }
    };
    ingest::sort_for_output(&mut st.ing);
    let ing = &mut st.ing;
    ing.rates_source = Some(if cfg.rates.is_some() {
        RatesSource::Flag
    } else if files
        .iter()
        .any(|f| f.kind == crate::config::InputKind::Rates)
    {
        RatesSource::Folder
    } else {
        RatesSource::BuiltIn
    });
    if ing.rates_source == Some(RatesSource::BuiltIn) {
        ing.rates = rates::builtin();
    }
    let rows_read: u64 = ing.inputs.iter().map(|i| i.rows_read).sum();
    progress.stage(
        "files_read",
        serde_json::json!({"files": ing.inputs.len(), "rows_read": rows_read, "rejects": ing.rejects.len()}),
    );
    for i in &ing.inputs {
        if i.rows_read != i.accepted + i.rejected {
            return Err(Error::Invariant(format!(
                "{}: rows read {} != accepted {} + rejected {}",
                i.path, i.rows_read, i.accepted, i.rejected
            )));
        }
    }
    check_reject_rate(cfg, &ing.rejects, rows_read)?;

    let table = RateTable::new(std::mem::take(&mut ing.rates), cfg.through);
    let ctx = Context {
        employers: &ing.employers,
        rates: &table,
        through: cfg.through,
        as_of: cfg.as_of,
        tolerance: cfg.tolerance,
        late_fee_rate: cfg.late_fee_rate,
        identities: &facts.identities,
    };
    let global = employer_findings(&ing.employers, &facts.referenced);
    st.counts.payments_accepted = facts.payments_accepted;
    st.counts.payments_accepted_net = facts.payments_accepted_net;
    for f in &global {
        *st.counts.findings_by_kind.entry(f.kind.name()).or_default() += 1;
    }

    let staging = publish::Staging::begin(&cfg.out_dir)?;
    let reconciled = (|| -> Result<output::Writer> {
        let mut w = output::Writer::create(&staging.dir, !cfg.one_thread())?;
        w.write_global_findings(&global)?;
        // A spilled partition is bounded, and comes in runs a merge sort
        // takes as they are; the whole set is sorted in place.
        let sort = match &rows {
            Rows::Memory(..) => reconcile::SortBy::InPlace,
            Rows::Spilled(_) => reconcile::SortBy::Merge,
        };
        let mut each = |events: &[crate::model::Event], payments: &[crate::model::Payment]| {
            reconcile_into(
                &ctx,
                (events, payments, sort),
                &mut w,
                &mut Tally {
                    counts: &mut st.counts,
                    totals: &mut st.totals,
                    ledger: &mut st.ledger,
                },
                progress,
            )
        };
        match &rows {
            Rows::Memory(events, payments) => each(events, payments)?,
            // One thread: each partition is read back when its turn comes.
            Rows::Spilled(parts) if cfg.one_thread() => {
                let mut rows = Default::default();
                for k in 0..parts.n {
                    parts.load_into(k, &mut rows)?;
                    each(&rows.0, &rows.1)?;
                }
            }
            Rows::Spilled(parts) => std::thread::scope(|s| -> Result<()> {
                // Partition k+1 is read back while k is reconciled; the
                // rendezvous channel keeps at most those two in memory.
                // A reconciled partition's vectors go back to the loader
                // to be filled again.
                let (tx, rx) = std::sync::mpsc::sync_channel(0);
                let (back, spare) = std::sync::mpsc::channel();
                s.spawn(move || {
                    for k in 0..parts.n {
                        let mut rows = spare.try_recv().unwrap_or_default();
                        let loaded = parts.load_into(k, &mut rows).map(|()| rows);
                        let failed = loaded.is_err();
                        if tx.send(loaded).is_err() || failed {
                            break;
                        }
                    }
                });
                for loaded in rx {
                    let rows = loaded?;
                    each(&rows.0, &rows.1)?;
                    // The loader may be done; then the vectors just drop.
                    let _ = back.send(rows);
                }
                Ok(())
            })?,
        }
        progress.stage(
            "persons_reconciled",
            serde_json::json!({"persons": st.counts.persons, "ledger_rows": st.totals.ledger_status.iter().sum::<u64>()}),
        );
        Ok(w)
    })();
    // The rows are done with: free them (ten million drops on a large
    // run, a fraction of a second) while the outputs are flushed.
    let written = std::thread::scope(|s| {
        if cfg.one_thread() {
            drop(rows);
        } else {
            s.spawn(move || drop(rows));
        }
        let w = reconciled?;
        w.finish()?;
        output::write_rejects(&staging.dir, &ing.rejects, !cfg.one_thread())
    });
    let checked = written.and_then(|()| {
        let (rows_ok, money_ok, rhs) = summary::control(&ing.inputs, &st.counts, &st.totals);
        if !rows_ok {
            return Err(Error::Control("rows read != accepted + rejected".into()));
        }
        if !money_ok {
            return Err(Error::Control(format!(
                "payments accepted net {} != pooled + suspense + deferred {}",
                output::csvw::money(st.counts.payments_accepted_net),
                output::csvw::money(rhs)
            )));
        }
        Ok(())
    });
    if let Err(e) = checked {
        staging.abandon();
        return Err(e);
    }
    let summary = summary::build(&SummaryInput {
        cfg,
        status_ok: true,
        reason: None,
        inputs: &ing.inputs,
        rejects: &ing.rejects,
        counts: &st.counts,
        totals: &st.totals,
        elapsed_seconds: started.elapsed().as_secs_f64(),
    });
    let finish = (|| -> Result<()> {
        let p = staging.dir.join("summary.json");
        std::fs::write(&p, summary::render(&summary))
            .map_err(|e| Error::io(&p, "cannot write", e))?;
        if cfg.report {
            crate::report::write_report_with(&staging.dir, Some(std::mem::take(&mut st.ledger)))?;
        }
        Ok(())
    })();
    if let Err(e) = finish {
        staging.abandon();
        return Err(e);
    }
    staging.publish()?;
    progress.stage(
        "outputs_written",
        serde_json::json!({"out_dir": cfg.out_dir}),
    );
    progress.stage("totals", summary["control"].clone());
    Ok(RunReport { summary })
}

/// Fails the run when the rows rejected for reasons that count (SPEC §1)
/// exceed `--max-reject-rate` of the rows read.
fn check_reject_rate(cfg: &RunConfig, rejects: &[ingest::Reject], rows_read: u64) -> Result<()> {
    let Some(limit) = cfg.max_reject_rate else {
        return Ok(());
    };
    let counted = rejects
        .iter()
        .filter(|r| r.reason.counts_toward_rate())
        .count() as u64;
    if rows_read == 0 {
        return Ok(());
    }
    let rate = rust_decimal::Decimal::from(counted) / rust_decimal::Decimal::from(rows_read);
    if rate > limit {
        return Err(Error::RejectRate {
            rate: rate.round_dp(6).normalize().to_string(),
            limit: cfg.max_reject_rate_text.clone().unwrap_or_default(),
            rejected: counted,
            read: rows_read,
        });
    }
    Ok(())
}

/// What the writer needs of one reconciled person: the rendered text and
/// the figures to add up (the rows themselves are dropped on the worker).
struct Done {
    person_id: String,
    rendered: output::Rendered,
    totals: Totals,
    persons: u64,
    makeup: u64,
    kinds: Vec<&'static str>,
    /// One ledger row per insurance and month, in order.
    ledger_in_order: bool,
}

fn reconcile_one(ctx: &Context<'_>, rows: &reconcile::PersonRows<'_>) -> Done {
    let o = reconcile::reconcile_person(ctx, rows);
    Done {
        ledger_in_order: o
            .ledger
            .windows(2)
            .all(|p| (p[0].insurance, p[0].period) < (p[1].insurance, p[1].period)),
        rendered: output::render(&o),
        totals: o.totals,
        persons: o.persons.len() as u64,
        makeup: o.makeup.len() as u64,
        kinds: o.findings.iter().map(|f| f.kind.name()).collect(),
        person_id: o.person_id,
    }
}

/// Groups rows by person and reconciles them in bounded parallel batches
/// (rendered to text on the workers too), writing each batch in person_id
/// order.
fn reconcile_into(
    ctx: &Context<'_>,
    (events, payments, sort): (
        &[crate::model::Event],
        &[crate::model::Payment],
        reconcile::SortBy,
    ),
    w: &mut output::Writer,
    tally: &mut Tally<'_>,
    progress: &Progress,
) -> Result<()> {
    let persons = reconcile::group_by_person(events, payments, sort);
    progress.start_persons(persons.len() as u64);
    let mut write_all = |outs: &[Done]| -> Result<()> {
        for o in outs {
            // Invariant checked on every run.
            if !o.ledger_in_order {
                return Err(Error::Invariant(format!(
                    "ledger rows of person {} are not one per insurance and month",
                    o.person_id
                )));
            }
            w.write_rendered(&o.person_id, &o.rendered)?;
            tally.totals.add(&o.totals);
            if o.persons > 0 {
                tally.counts.persons += 1;
            }
            tally.counts.person_insurances += o.persons;
            tally.counts.makeup_cases += o.makeup;
            for k in &o.kinds {
                *tally.counts.findings_by_kind.entry(k).or_default() += 1;
            }
            for &(period, due, paid, rows) in &o.rendered.months {
                tally.ledger.add(period, due, paid, rows);
            }
        }
        progress.persons_done(outs.len() as u64);
        Ok(())
    };
    // Batch k is written (in order, on this thread) while batch k+1 is
    // reconciled on the pool.
    let mut pending: Vec<Done> = Vec::new();
    for chunk in persons.chunks(PERSON_BATCH) {
        let mut outs = Vec::with_capacity(chunk.len());
        let mut written: Result<()> = Ok(());
        rayon::in_place_scope(|sc| {
            sc.spawn(|_| {
                chunk
                    .par_iter()
                    .map(|p| reconcile_one(ctx, p))
                    .collect_into_vec(&mut outs)
            });
            written = write_all(&pending);
        });
        written?;
        pending = outs;
    }
    write_all(&pending)
}

/// Employer-level findings: `invalid_credit_code` on standing rows and
/// `unknown_employer` for ids referenced by accepted events or payments.
fn employer_findings(
    employers: &std::collections::BTreeMap<String, Employer>,
    referenced: &rustc_hash::FxHashSet<crate::model::Id>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let blank =
        |kind, employer: &str, detail: String| Finding::whole(kind, None, Some(employer), detail);
    for (id, e) in employers {
        if let Some(code) = &e.credit_code {
            let code = code.trim().to_uppercase();
            if code.chars().count() == 18 && !credit_code_valid(&code) {
                out.push(blank(
                    FindingKind::InvalidCreditCode,
                    id,
                    format!("Credit code {code} fails the GB 32100 check."),
                ));
            }
        }
    }
    let mut referenced: Vec<&str> = referenced.iter().map(|id| id.as_str()).collect();
    referenced.sort_unstable();
    for id in referenced {
        if !employers.contains_key(id) {
            out.push(blank(
                FindingKind::UnknownEmployer,
                id,
                format!("Employer {id} is referenced but absent from the registry; treated as active, region '*'."),
            ));
        }
    }
    out.sort_by(|a, b| a.sort_key_cmp(b));
    out
}
