//! `contrib-recon history OUT_DIR PERSON_ID [--json]`: one person's history
//! from a finished run, for a caseworker at the counter.
//!
//! Fast on outputs of millions of people: `history.idx` is binary-searched
//! with seeks ([`index`]), then only that person's byte ranges are read from
//! `ledger.csv`, `persons.csv`, `exceptions.csv` and `makeup_cases.csv`
//! (plus the employer-level findings at the top of `exceptions.csv`, which
//! are few). Nothing else is read. An output folder without `history.idx`
//! (written by an older version) is scanned linearly, with a note on stderr.
//!
//! The person's history is built into a [`History`] (spells by employer,
//! months grouped into runs by status, findings, make-up cases, next
//! actions), then rendered as 80-column text ([`text`]) or as the JSON
//! object documented in [`json`].

mod actions;
mod csvfile;
pub mod index;
pub mod json;
pub mod text;

use actions::actions;
use csvfile::{CsvFile, EXCEPTIONS_COLS, LEDGER_COLS, MAKEUP_COLS, PERSONS_COLS};

use crate::error::{Error, Result};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Employer-level findings are read only when the top of `exceptions.csv`
/// holding them is at most this big (it is a few lines per employer).
const MAX_GLOBAL_FINDINGS_BYTES: u64 = 16 << 20;

/// Largest byte range read for one person from one file.
const MAX_RANGE: u64 = 1 << 30;

/// Prints `person_id`'s history from `out_dir` to `out`.
pub fn run(out_dir: &Path, person_id: &str, json: bool, out: &mut dyn Write) -> Result<()> {
    let h = load(out_dir, person_id)?;
    let rendered = if json {
        let mut s =
            serde_json::to_string_pretty(&json::to_json(&h)).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    } else {
        text::render(&h)
    };
    match out
        .write_all(rendered.as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => Ok(()),
        // `history … | head` is fine.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", "cannot write", e)),
    }
}

// ---------------------------------------------------------------------------
// The person's rows, as read from the output files.

/// One `ledger.csv` row (money parsed; empty values `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    pub insurance: String,
    pub period: Ym,
    pub employer_id: String,
    pub status: String,
    pub base: Option<Decimal>,
    pub due_employer: Option<Decimal>,
    pub due_individual: Option<Decimal>,
    pub paid_employer: Decimal,
    pub paid_individual: Decimal,
}

impl Month {
    pub fn is_covered(&self) -> bool {
        !matches!(self.status.as_str(), "unmatched" | "gap")
    }
    fn shortfall(&self) -> Decimal {
        let de = self.due_employer.unwrap_or_default();
        let di = self.due_individual.unwrap_or_default();
        (de - self.paid_employer).max(Decimal::ZERO)
            + (di - self.paid_individual).max(Decimal::ZERO)
    }
    fn excess(&self) -> Decimal {
        let de = self.due_employer.unwrap_or_default();
        let di = self.due_individual.unwrap_or_default();
        (self.paid_employer - de).max(Decimal::ZERO)
            + (self.paid_individual - di).max(Decimal::ZERO)
    }
}

/// One `persons.csv` row, kept as written.
#[derive(Debug, Clone, PartialEq)]
pub struct InsuranceSummary {
    pub insurance: String,
    pub first_period: String,
    pub last_period: String,
    pub months_covered: u64,
    pub months_paid: u64,
    pub months_short: u64,
    pub months_gap: u64,
    pub months_overlap: u64,
    pub pooled_total: Decimal,
    pub state: String,
}

/// One `exceptions.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: String,
    pub severity: String,
    pub person_id: String,
    pub employer_id: String,
    pub insurance: String,
    pub from: String,
    pub to: String,
    pub months: Option<u64>,
    pub amount: Option<Decimal>,
    pub detail: String,
}

impl Finding {
    /// Person-level identity findings (periods, insurance empty).
    pub fn is_identity(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "invalid_id_number" | "conflicting_identity" | "duplicate_person"
        )
    }
}

/// One `makeup_cases.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeupCase {
    pub employer_id: String,
    pub insurance: String,
    pub employer_status: String,
    pub closed_on: String,
    pub first_period: String,
    pub last_period: String,
    pub months: u64,
    pub principal_employer: Decimal,
    pub principal_individual: Decimal,
    pub late_fee: Decimal,
    pub total: Decimal,
    pub archive_transferred: String,
}

impl MakeupCase {
    /// The date the late fee accrued to: the bankruptcy date for a bankrupt
    /// employer, else the run's as-of date (SPEC §5).
    pub fn late_fee_to<'a>(&'a self, as_of: Option<&'a str>) -> Option<&'a str> {
        if self.employer_status == "bankrupt" && !self.closed_on.is_empty() {
            Some(&self.closed_on)
        } else {
            as_of
        }
    }
}

/// A calendar month as `year * 12 + month - 1`, parsed from `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ym(pub u32);

impl Ym {
    pub fn parse(s: &str) -> Option<Ym> {
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return None;
        }
        let y: u32 = s[..4].parse().ok()?;
        let m: u32 = s[5..].parse().ok()?;
        (1..=12).contains(&m).then_some(Ym(y * 12 + m - 1))
    }
    pub fn next(self) -> Ym {
        Ym(self.0 + 1)
    }
}

impl std::fmt::Display for Ym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.0 / 12, self.0 % 12 + 1)
    }
}

// ---------------------------------------------------------------------------
// What the caseworker sees.

/// Consecutive covered months at one employer (or individually), possibly
/// the same for several insurances.
#[derive(Debug, Clone, PartialEq)]
pub struct Spell {
    /// Empty: individual (flexible-employment) enrolment.
    pub employer_id: String,
    pub from: Ym,
    pub to: Ym,
    pub months: u64,
    pub insurances: Vec<String>,
}

/// Consecutive months of one insurance with the same status, employer and
/// base.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub from: Ym,
    pub to: Ym,
    pub months: u64,
    pub status: String,
    pub employer_id: String,
    pub base: Option<Decimal>,
    pub due_employer: Option<Decimal>,
    pub due_individual: Option<Decimal>,
    pub paid_employer: Decimal,
    pub paid_individual: Decimal,
    pub shortfall: Decimal,
    pub excess: Decimal,
}

/// One insurance: its `persons.csv` summary and its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct InsuranceHistory {
    pub insurance: String,
    pub summary: Option<InsuranceSummary>,
    pub runs: Vec<Run>,
}

/// Something the caseworker should do, derived from findings and cases.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// `file_decrease`, `pay_makeup`, `retrieve_archive`,
    /// `employer_decrease`, `resolve_overlap`, `collect_arrears`,
    /// `resolve_suspense`, `add_rate`, `verify_identity`.
    pub action: &'static str,
    pub employer_id: String,
    pub insurances: Vec<String>,
    pub from: String,
    pub to: String,
    pub amount: Option<Decimal>,
    /// One or more sentences, plain text.
    pub text: String,
}

/// Everything `history` shows about one person.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    pub person_id: String,
    pub out_dir: PathBuf,
    pub as_of: Option<String>,
    pub through: Option<String>,
    pub identity_findings: Vec<Finding>,
    pub spells: Vec<Spell>,
    pub insurances: Vec<InsuranceHistory>,
    pub findings: Vec<Finding>,
    /// Employer-level findings (unknown employer, invalid credit code) on
    /// employers in this person's history.
    pub employer_findings: Vec<Finding>,
    pub makeup_cases: Vec<MakeupCase>,
    pub actions: Vec<Action>,
    /// Notes on how the history was read (e.g. no index).
    pub notes: Vec<String>,
}

/// Totals over a person's make-up cases.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MakeupTotals {
    pub principal_employer: Decimal,
    pub principal_individual: Decimal,
    pub late_fee: Decimal,
    pub total: Decimal,
}

impl History {
    pub fn makeup_totals(&self) -> MakeupTotals {
        let mut t = MakeupTotals::default();
        for c in &self.makeup_cases {
            t.principal_employer += c.principal_employer;
            t.principal_individual += c.principal_individual;
            t.late_fee += c.late_fee;
            t.total += c.total;
        }
        t
    }
}

// ---------------------------------------------------------------------------
// Reading.

/// The rows of one person, from any of the two read paths.
#[derive(Default)]
struct Rows {
    ledger: Vec<Month>,
    persons: Vec<InsuranceSummary>,
    findings: Vec<Finding>,
    global: Vec<Finding>,
    makeup: Vec<MakeupCase>,
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

/// 1-based line number of byte `offset` in `path`, for error messages only
/// (reads the file up to there: the error path may be slow).
fn line_of(path: &Path, offset: u64) -> u64 {
    let Ok(f) = File::open(path) else { return 0 };
    let mut r = std::io::BufReader::new(f).take(offset);
    let mut buf = [0u8; 1 << 16];
    let mut lines = 1u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => return lines,
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64,
        }
    }
}

fn build(
    out_dir: &Path,
    person_id: &str,
    rows: Rows,
    as_of: Option<String>,
    through: Option<String>,
    notes: Vec<String>,
) -> History {
    let Rows {
        ledger,
        persons,
        findings,
        global,
        makeup,
    } = rows;

    // Runs per insurance (ledger order: insurance, period).
    let mut insurances: Vec<InsuranceHistory> = Vec::new();
    for m in &ledger {
        if insurances
            .last()
            .map_or(true, |h| h.insurance != m.insurance)
        {
            insurances.push(InsuranceHistory {
                insurance: m.insurance.clone(),
                summary: None,
                runs: Vec::new(),
            });
        }
        let h = insurances.last_mut().expect("pushed above");
        let extend = h.runs.last().is_some_and(|r| {
            r.to.next() == m.period
                && r.status == m.status
                && r.employer_id == m.employer_id
                && r.base == m.base
        });
        if extend {
            let r = h.runs.last_mut().expect("checked");
            r.to = m.period;
            r.months += 1;
            r.due_employer = add_opt(r.due_employer, m.due_employer);
            r.due_individual = add_opt(r.due_individual, m.due_individual);
            r.paid_employer += m.paid_employer;
            r.paid_individual += m.paid_individual;
            r.shortfall += m.shortfall();
            r.excess += m.excess();
        } else {
            h.runs.push(Run {
                from: m.period,
                to: m.period,
                months: 1,
                status: m.status.clone(),
                employer_id: m.employer_id.clone(),
                base: m.base,
                due_employer: m.due_employer,
                due_individual: m.due_individual,
                paid_employer: m.paid_employer,
                paid_individual: m.paid_individual,
                shortfall: m.shortfall(),
                excess: m.excess(),
            });
        }
    }
    for p in persons {
        match insurances.iter_mut().find(|h| h.insurance == p.insurance) {
            Some(h) => h.summary = Some(p),
            None => insurances.push(InsuranceHistory {
                insurance: p.insurance.clone(),
                summary: Some(p),
                runs: Vec::new(),
            }),
        }
    }

    // Spells: consecutive covered months at one employer, per insurance,
    // then merged across insurances that share them.
    let mut per_ins: Vec<(String, Ym, Ym, String)> = Vec::new();
    let mut cur: Option<(String, Ym, Ym, String)> = None;
    for m in ledger.iter().filter(|m| m.is_covered()) {
        match &mut cur {
            Some((emp, _, to, ins))
                if *ins == m.insurance && *emp == m.employer_id && to.next() == m.period =>
            {
                *to = m.period;
            }
            _ => {
                if let Some(c) = cur.take() {
                    per_ins.push(c);
                }
                cur = Some((
                    m.employer_id.clone(),
                    m.period,
                    m.period,
                    m.insurance.clone(),
                ));
            }
        }
    }
    per_ins.extend(cur);
    let mut merged: BTreeMap<(Ym, Ym, String), Vec<String>> = BTreeMap::new();
    for (emp, from, to, ins) in per_ins {
        merged.entry((from, to, emp)).or_default().push(ins);
    }
    let spells = merged
        .into_iter()
        .map(|((from, to, employer_id), insurances)| Spell {
            employer_id,
            from,
            to,
            months: u64::from(to.0 - from.0 + 1),
            insurances,
        })
        .collect();

    let (identity_findings, findings): (Vec<Finding>, Vec<Finding>) =
        findings.into_iter().partition(Finding::is_identity);
    let employers: BTreeSet<&str> = ledger
        .iter()
        .map(|m| m.employer_id.as_str())
        .chain(findings.iter().map(|f| f.employer_id.as_str()))
        .filter(|e| !e.is_empty())
        .collect();
    let employer_findings: Vec<Finding> = global
        .into_iter()
        .filter(|f| employers.contains(f.employer_id.as_str()))
        .collect();

    let mut h = History {
        person_id: person_id.to_string(),
        out_dir: out_dir.to_path_buf(),
        as_of,
        through,
        identity_findings,
        spells,
        insurances,
        findings,
        employer_findings,
        makeup_cases: makeup,
        actions: Vec::new(),
        notes,
    };
    h.actions = actions(&h);
    h
}

fn add_opt(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
    }
}

/// "medical, pension".
pub fn join(v: &[String]) -> String {
    v.join(", ")
}

/// `from..to`, or just `from` for one month.
pub fn span(from: &str, to: &str) -> String {
    if from == to || to.is_empty() {
        from.to_string()
    } else {
        format!("{from}..{to}")
    }
}

fn money(d: Decimal) -> String {
    crate::output::csvw::money(d)
}

/// Findings of `kind`, grouped by (employer, from, to) with their
/// insurances and summed amounts, in first-seen order.
fn grouped<'a>(
    findings: &'a [Finding],
    kind: &str,
) -> Vec<(&'a Finding, Vec<String>, Option<Decimal>)> {
    let mut out: Vec<(&Finding, Vec<String>, Option<Decimal>)> = Vec::new();
    for f in findings.iter().filter(|f| f.kind == kind) {
        match out
            .iter_mut()
            .find(|(g, _, _)| g.employer_id == f.employer_id && g.from == f.from && g.to == f.to)
        {
            Some((_, ins, amt)) => {
                if !ins.contains(&f.insurance) {
                    ins.push(f.insurance.clone());
                }
                *amt = add_opt(*amt, f.amount);
            }
            None => out.push((f, vec![f.insurance.clone()], f.amount)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ym() {
        assert_eq!(
            Ym::parse("2024-02").map(|p| p.to_string()),
            Some("2024-02".into())
        );
        assert_eq!(
            Ym::parse("2024-12").map(|p| p.next().to_string()),
            Some("2025-01".into())
        );
        for bad in [
            "2024-13",
            "2024-00",
            "202402",
            "2024/02",
            "24-02",
            "2024-2",
            "２０２４-02",
        ] {
            assert_eq!(Ym::parse(bad), None, "{bad}");
        }
    }
}
