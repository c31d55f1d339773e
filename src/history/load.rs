//! Finding and reading one person's rows in a finished run's output folder.
//!
//! Takes the output folder and a person id; guarantees that only that
//! person's rows come back (each row's person id is checked against the
//! one asked for), read either through `history.idx` (binary search, then
//! one byte range per file) or, for an output without the index, by a
//! linear scan of the sorted files. Separated from building the history so
//! that the I/O paths and their errors live in one place and the builder
//! is a pure function of the rows.

use super::assemble::build;
use super::csvfile::{line_of, CsvFile, EXCEPTIONS_COLS, LEDGER_COLS, MAKEUP_COLS, PERSONS_COLS};
use super::{index, Finding, History, InsuranceSummary, MakeupCase, Month};
use crate::error::{Error, Result};
use std::fs::File;
use std::path::Path;

/// Employer-level findings are read only when the top of `exceptions.csv`
/// holding them is at most this big (it is a few lines per employer).
const MAX_GLOBAL_FINDINGS_BYTES: u64 = 16 << 20;

/// The rows of one person, from any of the two read paths.
#[derive(Default)]
pub(super) struct Rows {
    pub(super) ledger: Vec<Month>,
    pub(super) persons: Vec<InsuranceSummary>,
    pub(super) findings: Vec<Finding>,
    pub(super) global: Vec<Finding>,
    pub(super) makeup: Vec<MakeupCase>,
}

/// Reads `person_id`'s history from the finished run in `out_dir`.
pub fn load(out_dir: &Path, person_id: &str) -> Result<History> {
    if !out_dir.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a folder",
            out_dir.display()
        )));
    }
    if !out_dir.join("_SUCCESS").exists() {
        return Err(Error::Usage(format!(
            "{} is not a finished run (no _SUCCESS)",
            out_dir.display()
        )));
    }
    let not_found = || {
        Error::Usage(format!(
            "person {person_id} not found in {}",
            out_dir.display()
        ))
    };
    let idx_path = out_dir.join("history.idx");
    let mut notes = Vec::new();
    let rows = match File::open(&idx_path) {
        Ok(f) => read_indexed(out_dir, &idx_path, f, person_id)?.ok_or_else(not_found)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let note = format!(
                "{} has no history.idx (output of an older version?); scanning the CSV files, which is slow on large runs.",
                out_dir.display()
            );
            eprintln!("contrib-recon: note: {note}");
            notes.push(note);
            let rows = read_scan(out_dir, person_id)?;
            if rows.ledger.is_empty()
                && rows.persons.is_empty()
                && rows.findings.is_empty()
                && rows.makeup.is_empty()
            {
                return Err(not_found());
            }
            rows
        }
        Err(e) => return Err(Error::io(&idx_path, "cannot open", e)),
    };
    let (as_of, through) = read_run_dates(out_dir);
    Ok(build(out_dir, person_id, rows, as_of, through, notes))
}

/// `as_of` and `through` from `summary.json`, when it is readable.
fn read_run_dates(out_dir: &Path) -> (Option<String>, Option<String>) {
    let Ok(text) = std::fs::read_to_string(out_dir.join("summary.json")) else {
        return (None, None);
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (None, None);
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    (s("as_of"), s("through"))
}

fn read_indexed(out_dir: &Path, idx_path: &Path, f: File, person_id: &str) -> Result<Option<Rows>> {
    let len = f
        .metadata()
        .map_err(|e| Error::io(idx_path, "cannot read", e))?
        .len();
    let map_err = |e: index::SearchError| match e {
        index::SearchError::Io(e) => Error::io(idx_path, "cannot read", e),
        index::SearchError::Malformed { offset, problem } => Error::Input {
            file: idx_path.display().to_string(),
            line: line_of(idx_path, offset),
            problem,
        },
    };
    let mut idx =
        index::Index::new(std::io::BufReader::with_capacity(4096, f), len).map_err(map_err)?;
    let Some(entry) = idx.find(person_id).map_err(map_err)? else {
        return Ok(None);
    };
    let first_person_exceptions = idx.first().map_err(map_err)?.map(|e| e.ranges[2].0);
    drop(idx);

    let mut rows = Rows::default();
    let mut src = CsvFile::open(out_dir, "ledger.csv", &LEDGER_COLS)?;
    for (rec, off) in src.range(entry.ranges[0])? {
        rows.ledger.push(src.month(&rec, off, person_id)?);
    }
    let mut src = CsvFile::open(out_dir, "persons.csv", &PERSONS_COLS)?;
    for (rec, off) in src.range(entry.ranges[1])? {
        rows.persons.push(src.person(&rec, off, person_id)?);
    }
    let mut src = CsvFile::open(out_dir, "exceptions.csv", &EXCEPTIONS_COLS)?;
    for (rec, off) in src.range(entry.ranges[2])? {
        let f = src.finding(&rec, off)?;
        src.check_person(&f.person_id, off, person_id)?;
        rows.findings.push(f);
    }
    if let Some(end) = first_person_exceptions {
        let start = src.data_start;
        if end > start && end - start <= MAX_GLOBAL_FINDINGS_BYTES {
            for (rec, off) in src.range((start, end - start))? {
                let f = src.finding(&rec, off)?;
                if f.person_id.is_empty() {
                    rows.global.push(f);
                }
            }
        }
    }
    let mut src = CsvFile::open(out_dir, "makeup_cases.csv", &MAKEUP_COLS)?;
    for (rec, off) in src.range(entry.ranges[3])? {
        rows.makeup.push(src.case(&rec, off, person_id)?);
    }
    Ok(Some(rows))
}

/// The old way: stream each file and keep the person's rows. The files are
/// sorted by person_id, so each scan stops once past the person.
fn read_scan(out_dir: &Path, person_id: &str) -> Result<Rows> {
    let mut rows = Rows::default();
    let target = person_id.as_bytes();
    let mut src = CsvFile::open(out_dir, "ledger.csv", &LEDGER_COLS)?;
    src.scan(0, target, None, &mut |src, rec, off| {
        rows.ledger.push(src.month(rec, off, person_id)?);
        Ok(())
    })?;
    let mut src = CsvFile::open(out_dir, "persons.csv", &PERSONS_COLS)?;
    src.scan(0, target, None, &mut |src, rec, off| {
        rows.persons.push(src.person(rec, off, person_id)?);
        Ok(())
    })?;
    let mut src = CsvFile::open(out_dir, "exceptions.csv", &EXCEPTIONS_COLS)?;
    let mut global = Vec::new();
    src.scan(2, target, Some(&mut global), &mut |src, rec, off| {
        rows.findings.push(src.finding(rec, off)?);
        Ok(())
    })?;
    rows.global = global;
    let mut src = CsvFile::open(out_dir, "makeup_cases.csv", &MAKEUP_COLS)?;
    src.scan(0, target, None, &mut |src, rec, off| {
        rows.makeup.push(src.case(rec, off, person_id)?);
        Ok(())
    })?;
    Ok(rows)
}
