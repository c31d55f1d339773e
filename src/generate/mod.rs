//! `contrib-recon generate`: deterministic synthetic exports.
//!
//! Writes `employers.csv`, `events.csv`, `payments.csv` and `rates.csv` in
//! the SPEC's canonical format (UTF-8, canonical English headers, `YYYY-MM`
//! periods, money with two decimals) for a population of persons over
//! `years` years of history ending with `last_period`.
//!
//! The data is realistic enough to exercise every rule: about one employer
//! per 40 persons, a few per cent of them closed (bankrupt, dissolved,
//! cancelled) with a status date, persons enrolled for pension, medical,
//! unemployment, injury and maternity (until its merger into medical in
//! 2018-12), yearly base adjustments, transfers (decrease + increase in one
//! month), individual enrolments, gaps, arrears, underpayments,
//! overpayments and refunds, unmatched payments, make-up payments, workers
//! stranded on closed employers, valid citizen ID numbers (a few in the
//! legacy 15-digit form) and credit codes. Payments in the normal case equal
//! the due amount computed from `rates.csv` exactly (integer cents).
//!
//! Same seed ⇒ byte-identical files whatever the thread count: each person
//! draws from a generator seeded from (seed, person index); persons are
//! generated in parallel chunks (rayon) into per-chunk byte buffers, which a
//! writer thread appends to the files in chunk order.

mod employers;
mod person;
mod rates;
mod rng;
mod text;

use crate::error::{Error, Result};
use crate::model::Period;
use rayon::prelude::*;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `contrib-recon generate`.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub out_dir: PathBuf,
    pub persons: u64,
    pub years: u32,
    pub seed: u64,
    /// The last month of generated history.
    pub last_period: Period,
}

/// What a generation wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GenerateStats {
    pub persons: u64,
    pub employers: u64,
    pub events: u64,
    pub payments: u64,
    /// Bytes of all four files.
    pub bytes: u64,
}

/// Writes employers.csv, events.csv, payments.csv and rates.csv.
pub fn generate(cfg: &GenerateConfig) -> Result<()> {
    let t0 = Instant::now();
    let st = generate_stats(cfg)?;
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "generate: {} persons, {} employers, {} events, {} payments, {:.1} MB in {:.2} s ({:.2} M payment rows/s)",
        st.persons,
        st.employers,
        st.events,
        st.payments,
        st.bytes as f64 / 1e6,
        secs,
        st.payments as f64 / secs / 1e6
    );
    Ok(())
}

/// [`generate`] without the stderr line; returns the counts.
pub fn generate_stats(cfg: &GenerateConfig) -> Result<GenerateStats> {
    let years = cfg.years.max(1);
    let last = cfg.last_period.0;
    if last < 1951 * 12 + years * 12 || last > 2099 * 12 {
        return Err(Error::Usage(format!(
            "generate: {} years of history ending {} leave the years 1950-2100",
            years, cfg.last_period
        )));
    }
    let first = last + 1 - years * 12;
    let dir = &cfg.out_dir;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create folder", e))?;

    let sched = rates::Schedule::new(first - first % 12, last + 1);
    let n_emp = employers::count(cfg.persons);
    let (emps, emp_csv) = employers::build(cfg.seed, n_emp, first, last);
    let rates_csv = rates::rates_csv(first, last);
    write_file(&dir.join("employers.csv"), &emp_csv)?;
    write_file(&dir.join("rates.csv"), &rates_csv)?;

    let ctx = person::Ctx {
        seed: cfg.seed,
        first,
        last,
        emps: &emps,
        sched: &sched,
    };
    let ev_path = dir.join("events.csv");
    let pay_path = dir.join("payments.csv");
    let ev_file = create(&ev_path)?;
    let pay_file = create(&pay_path)?;
    const EV_HEADER: &[u8] =
        b"event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n";
    const PAY_HEADER: &[u8] =
        b"payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n";
    (&ev_file)
        .write_all(EV_HEADER)
        .map_err(|e| Error::io(&ev_path, "cannot write", e))?;
    (&pay_file)
        .write_all(PAY_HEADER)
        .map_err(|e| Error::io(&pay_path, "cannot write", e))?;

    // About 4 MB of payments per chunk; the chunking does not change the
    // output (persons are seeded individually), only memory and balance.
    let per_chunk = (800 / u64::from(years)).clamp(16, 4096);
    let n_chunks = cfg.persons.div_ceil(per_chunk);
    let window = (rayon::current_num_threads() as u64 * 3).max(2);
    let est_pay = (per_chunk * u64::from(years) * 5_200) as usize;

    let (mut n_events, mut n_payments) = (0u64, 0u64);
    let (mut ev_bytes, mut pay_bytes) = (EV_HEADER.len() as u64, PAY_HEADER.len() as u64);
    // Emptied buffers go back to the generators: fresh multi-megabyte
    // allocations would cost a page fault per 4 KiB every time.
    let ev_pool: Pool = std::sync::Mutex::new(Vec::new());
    let pay_pool: Pool = std::sync::Mutex::new(Vec::new());
    // One writer thread per file (writes to one file serialise in the
    // kernel anyway) while the rayon pool generates the next window.
    std::thread::scope(|scope| -> Result<()> {
        let (etx, erx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
        let (ptx, prx) = std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(1);
        let (ev_pool, pay_pool) = (&ev_pool, &pay_pool);
        let (ev_path, pay_path) = (&ev_path, &pay_path);
        let ew = scope.spawn(move || write_all_from(ev_file, ev_path, erx, ev_pool));
        let pw = scope.spawn(move || write_all_from(pay_file, pay_path, prx, pay_pool));
        let mut w = 0;
        while w < n_chunks {
            let hi = (w + window).min(n_chunks);
            let outs: Vec<person::Out> = (w..hi)
                .into_par_iter()
                .map_init(person::Scratch::default, |scratch, c| {
                    let lo = c * per_chunk;
                    let end = (lo + per_chunk).min(cfg.persons);
                    let take = |pool: &Pool, cap: usize| {
                        pool.lock()
                            .ok()
                            .and_then(|mut p| p.pop())
                            .unwrap_or_else(|| Vec::with_capacity(cap))
                    };
                    let mut out = person::Out {
                        events: take(ev_pool, est_pay / 6),
                        payments: take(pay_pool, est_pay),
                        ..Default::default()
                    };
                    for i in lo..end {
                        person::person(&ctx, i, &mut out, scratch);
                    }
                    out
                })
                .collect();
            let (mut evs, mut pays) = (
                Vec::with_capacity(outs.len()),
                Vec::with_capacity(outs.len()),
            );
            for o in outs {
                ev_bytes += o.events.len() as u64;
                pay_bytes += o.payments.len() as u64;
                n_events += o.n_events;
                n_payments += o.n_payments;
                evs.push(o.events);
                pays.push(o.payments);
            }
            if etx.send(evs).is_err() || ptx.send(pays).is_err() {
                break; // A writer failed; its error is reported below.
            }
            w = hi;
        }
        drop(etx);
        drop(ptx);
        let joined = |h: std::thread::ScopedJoinHandle<'_, Result<()>>| {
            h.join()
                .map_err(|_| Error::Output("generate: a writer thread panicked".into()))?
        };
        joined(ew)?;
        joined(pw)
    })?;
    Ok(GenerateStats {
        persons: cfg.persons,
        employers: n_emp,
        events: n_events,
        payments: n_payments,
        bytes: emp_csv.len() as u64 + rates_csv.len() as u64 + ev_bytes + pay_bytes,
    })
}

fn create(path: &Path) -> Result<File> {
    File::create(path).map_err(|e| Error::io(path, "cannot create", e))
}

type Pool = std::sync::Mutex<Vec<Vec<u8>>>;

/// Appends every buffer received to `file` in order, returning the emptied
/// buffers to `pool`.
fn write_all_from(
    mut file: File,
    path: &Path,
    rx: std::sync::mpsc::Receiver<Vec<Vec<u8>>>,
    pool: &Pool,
) -> Result<()> {
    for bufs in rx {
        for mut b in bufs {
            file.write_all(&b)
                .map_err(|e| Error::io(path, "cannot write", e))?;
            b.clear();
            if let Ok(mut p) = pool.lock() {
                p.push(b);
            }
        }
    }
    file.flush().map_err(|e| Error::io(path, "cannot write", e))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, "cannot write", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path, persons: u64) -> GenerateConfig {
        GenerateConfig {
            out_dir: dir.to_path_buf(),
            persons,
            years: 10,
            seed: 42,
            last_period: Period::from_ym(2026, 10),
        }
    }

    #[test]
    fn same_seed_same_bytes_and_valid_identities() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let sa = generate_stats(&cfg(a.path(), 300)).unwrap();
        let sb = generate_stats(&cfg(b.path(), 300)).unwrap();
        assert_eq!(sa, sb);
        assert!(sa.payments > 300 * 100, "{sa:?}");
        for f in ["employers.csv", "events.csv", "payments.csv", "rates.csv"] {
            let x = std::fs::read(a.path().join(f)).unwrap();
            let y = std::fs::read(b.path().join(f)).unwrap();
            assert!(x == y, "{f} differs");
        }
        let ev = std::fs::read_to_string(a.path().join("events.csv")).unwrap();
        for line in ev.lines().skip(1) {
            let id = line.split(',').nth(2).unwrap();
            assert!(crate::parse::normalize_id_number(id).valid, "{line}");
        }
        let emp = std::fs::read_to_string(a.path().join("employers.csv")).unwrap();
        for line in emp.lines().skip(1) {
            let cc = line.split(',').nth(2).unwrap();
            if cc.len() == 18 {
                assert!(crate::parse::credit_code_valid(cc), "{line}");
            }
        }
    }
}
