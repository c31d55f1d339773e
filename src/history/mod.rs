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

pub mod index;
pub mod json;
pub mod text;

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

// The column lists are the writer's own headers, so the two cannot drift.
use crate::output::{
    EXCEPTIONS_HEADER as EXCEPTIONS_COLS, LEDGER_HEADER as LEDGER_COLS,
    MAKEUP_HEADER as MAKEUP_COLS, PERSONS_HEADER as PERSONS_COLS,
};

/// One output CSV: its header's column positions, read from its first line.
struct CsvFile {
    path: PathBuf,
    file: File,
    len: u64,
    /// Offset after the header line.
    data_start: u64,
    /// Position of each wanted column, in the order asked for.
    cols: Vec<usize>,
}

impl CsvFile {
    fn open(out_dir: &Path, name: &str, wanted: &[&str]) -> Result<CsvFile> {
        let path = out_dir.join(name);
        let file = File::open(&path).map_err(|e| Error::io(&path, "cannot open", e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(&path, "cannot read", e))?
            .len();
        // The header is the first line (the writer never quotes a line
        // break into it); read just that.
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        let mut f = &file;
        let data_start = loop {
            let n = f
                .read(&mut buf)
                .map_err(|e| Error::io(&path, "cannot read", e))?;
            if n == 0 {
                break head.len() as u64;
            }
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                head.extend_from_slice(&buf[..i]);
                break head.len() as u64 + 1;
            }
            head.extend_from_slice(&buf[..n]);
            if head.len() > 1 << 16 {
                return Err(input(&path, 1, "header line is too long".into()));
            }
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&head[..]);
        let mut rec = csv::StringRecord::new();
        let ok = rdr.read_record(&mut rec).unwrap_or(false);
        if !ok {
            return Err(input(&path, 1, "no header line (empty file)".into()));
        }
        let mut cols = Vec::with_capacity(wanted.len());
        for w in wanted {
            match rec
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}').trim() == *w)
            {
                Some(i) => cols.push(i),
                None => {
                    return Err(input(
                        &path,
                        1,
                        format!("required column '{w}' is missing from the header"),
                    ))
                }
            }
        }
        Ok(CsvFile {
            path,
            file,
            len,
            data_start,
            cols,
        })
    }

    /// The records in `[offset, offset + length)`, each with its absolute
    /// byte offset.
    fn range(&mut self, (offset, length): (u64, u64)) -> Result<Vec<(csv::StringRecord, u64)>> {
        if length == 0 {
            return Ok(Vec::new());
        }
        if offset < self.data_start || offset.checked_add(length).map_or(true, |e| e > self.len) {
            return Err(Error::Input {
                file: self.path.display().to_string(),
                line: 0,
                problem: format!(
                    "history.idx points at bytes {offset}..{} outside the file's {} bytes (index and outputs from different runs?)",
                    offset.saturating_add(length),
                    self.len
                ),
            });
        }
        // One person's rows are kilobytes; refuse absurd ranges rather
        // than allocate them.
        if length > MAX_RANGE {
            return Err(Error::Input {
                file: self.path.display().to_string(),
                line: 0,
                problem: format!(
                    "history.idx gives one person {length} bytes here, more than {MAX_RANGE}"
                ),
            });
        }
        let mut bytes = vec![0u8; length as usize];
        self.file
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| Error::io(&self.path, "cannot read", e))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[..]);
        let mut out = Vec::new();
        let mut rec = csv::StringRecord::new();
        loop {
            let at = offset + rdr.position().byte();
            match rdr.read_record(&mut rec) {
                Ok(true) => out.push((rec.clone(), at)),
                Ok(false) => break,
                Err(e) => return Err(self.bad(at, format!("not valid CSV: {e}"))),
            }
        }
        Ok(out)
    }

    /// Streams the whole file, calling `f` on the rows whose column
    /// `pid` (an index into the wanted columns) is `target`; rows with an
    /// empty person id go to `globals` when given (employer-level
    /// findings). The file is sorted by person_id: stops after the person.
    fn scan(
        &mut self,
        pid: usize,
        target: &[u8],
        mut globals: Option<&mut Vec<Finding>>,
        f: &mut dyn FnMut(&CsvFile, &csv::StringRecord, u64) -> Result<()>,
    ) -> Result<()> {
        let mut file = self
            .file
            .try_clone()
            .map_err(|e| Error::io(&self.path, "cannot open", e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(&self.path, "cannot read", e))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        let pid_col = self.cols[pid];
        let mut rec = csv::StringRecord::new();
        let mut seen = false;
        loop {
            let at = rdr.position().byte();
            match rdr.read_record(&mut rec) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(self.bad(at, format!("not valid CSV: {e}"))),
            }
            let pid = rec.get(pid_col).unwrap_or_default().as_bytes();
            if pid == target {
                seen = true;
                f(self, &rec, at)?;
            } else if pid.is_empty() {
                if let Some(g) = globals.as_deref_mut() {
                    g.push(self.finding(&rec, at)?);
                }
            } else if seen || pid > target {
                break;
            }
        }
        Ok(())
    }

    fn bad(&self, offset: u64, problem: String) -> Error {
        input(&self.path, line_of(&self.path, offset), problem)
    }

    fn get<'r>(&self, rec: &'r csv::StringRecord, i: usize, offset: u64) -> Result<&'r str> {
        rec.get(self.cols[i]).ok_or_else(|| {
            self.bad(
                offset,
                format!("row has {} fields, fewer than the header", rec.len()),
            )
        })
    }

    fn check_person(&self, got: &str, offset: u64, person_id: &str) -> Result<()> {
        if got != person_id {
            return Err(self.bad(
                offset,
                "history.idx points at another person's row (index and outputs from different runs?)".into(),
            ));
        }
        Ok(())
    }

    fn money(&self, s: &str, col: &str, offset: u64) -> Result<Decimal> {
        Decimal::from_str(s).map_err(|_| self.bad(offset, format!("{col} '{s}' is not an amount")))
    }

    fn opt_money(&self, s: &str, col: &str, offset: u64) -> Result<Option<Decimal>> {
        if s.is_empty() {
            Ok(None)
        } else {
            self.money(s, col, offset).map(Some)
        }
    }

    fn count(&self, s: &str, col: &str, offset: u64) -> Result<u64> {
        s.parse()
            .map_err(|_| self.bad(offset, format!("{col} '{s}' is not a count")))
    }

    fn opt_count(&self, s: &str, col: &str, offset: u64) -> Result<Option<u64>> {
        if s.is_empty() {
            Ok(None)
        } else {
            self.count(s, col, offset).map(Some)
        }
    }

    fn month(&self, rec: &csv::StringRecord, off: u64, person_id: &str) -> Result<Month> {
        let g = |i| self.get(rec, i, off);
        self.check_person(g(0)?, off, person_id)?;
        let period = g(2)?;
        Ok(Month {
            insurance: g(1)?.to_string(),
            period: Ym::parse(period)
                .ok_or_else(|| self.bad(off, format!("period '{period}' is not YYYY-MM")))?,
            employer_id: g(3)?.to_string(),
            status: g(4)?.to_string(),
            base: self.opt_money(g(5)?, "base", off)?,
            due_employer: self.opt_money(g(6)?, "due_employer", off)?,
            due_individual: self.opt_money(g(7)?, "due_individual", off)?,
            paid_employer: self.money(g(8)?, "paid_employer", off)?,
            paid_individual: self.money(g(9)?, "paid_individual", off)?,
        })
    }

    fn person(
        &self,
        rec: &csv::StringRecord,
        off: u64,
        person_id: &str,
    ) -> Result<InsuranceSummary> {
        let g = |i| self.get(rec, i, off);
        self.check_person(g(0)?, off, person_id)?;
        Ok(InsuranceSummary {
            insurance: g(1)?.to_string(),
            first_period: g(2)?.to_string(),
            last_period: g(3)?.to_string(),
            months_covered: self.count(g(4)?, "months_covered", off)?,
            months_paid: self.count(g(5)?, "months_paid", off)?,
            months_short: self.count(g(6)?, "months_short", off)?,
            months_gap: self.count(g(7)?, "months_gap", off)?,
            months_overlap: self.count(g(8)?, "months_overlap", off)?,
            pooled_total: self.money(g(9)?, "pooled_total", off)?,
            state: g(10)?.to_string(),
        })
    }

    fn finding(&self, rec: &csv::StringRecord, off: u64) -> Result<Finding> {
        let g = |i| self.get(rec, i, off);
        Ok(Finding {
            kind: g(0)?.to_string(),
            severity: g(1)?.to_string(),
            person_id: g(2)?.to_string(),
            employer_id: g(3)?.to_string(),
            insurance: g(4)?.to_string(),
            from: g(5)?.to_string(),
            to: g(6)?.to_string(),
            months: self.opt_count(g(7)?, "months", off)?,
            amount: self.opt_money(g(8)?, "amount", off)?,
            detail: g(9)?.to_string(),
        })
    }

    fn case(&self, rec: &csv::StringRecord, off: u64, person_id: &str) -> Result<MakeupCase> {
        let g = |i| self.get(rec, i, off);
        self.check_person(g(0)?, off, person_id)?;
        Ok(MakeupCase {
            employer_id: g(1)?.to_string(),
            insurance: g(2)?.to_string(),
            employer_status: g(3)?.to_string(),
            closed_on: g(4)?.to_string(),
            first_period: g(5)?.to_string(),
            last_period: g(6)?.to_string(),
            months: self.count(g(7)?, "months", off)?,
            principal_employer: self.money(g(8)?, "principal_employer", off)?,
            principal_individual: self.money(g(9)?, "principal_individual", off)?,
            late_fee: self.money(g(10)?, "late_fee", off)?,
            total: self.money(g(11)?, "total", off)?,
            archive_transferred: g(12)?.to_string(),
        })
    }
}

fn input(path: &Path, line: u64, problem: String) -> Error {
    Error::Input {
        file: path.display().to_string(),
        line,
        problem,
    }
}

// ---------------------------------------------------------------------------
// Building the history.

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

/// What to do next, most urgent first.
fn actions(h: &History) -> Vec<Action> {
    let mut out = Vec::new();
    let closed_on = |emp: &str| {
        h.makeup_cases
            .iter()
            .find(|c| c.employer_id == emp && !c.closed_on.is_empty())
            .map(|c| (c.employer_status.as_str(), c.closed_on.as_str()))
    };
    let emp_label = |e: &str| {
        if e.is_empty() {
            "individual enrolment".to_string()
        } else {
            format!("employer {e}")
        }
    };

    // 1. Stranded enrolments: the decrease must be filed.
    for (f, ins, _) in grouped(&h.findings, "stranded_enrolment") {
        let mut text = format!(
            "File the decrease (减员) at employer {} for {} effective {}, the month after the employer closed",
            f.employer_id,
            join(&ins),
            f.from
        );
        if let Some((status, date)) = closed_on(&f.employer_id) {
            text.push_str(&format!(" ({status} {date})"));
        }
        text.push_str(". Until it is filed the person cannot be enrolled elsewhere or contribute individually.");
        let later = Ym::parse(&f.to).map(Ym::next);
        let horizon = h.through.as_deref().and_then(Ym::parse);
        if let (Some(later), Some(horizon)) = (later, horizon) {
            if later <= horizon {
                text.push_str(&format!(
                    " The decrease on file, effective {later}, is too late: correct it."
                ));
            }
        }
        out.push(Action {
            action: "file_decrease",
            employer_id: f.employer_id.clone(),
            insurances: ins,
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text,
        });
    }

    // 2. Make-up cases, per employer.
    let mut by_emp: Vec<(&str, Vec<&MakeupCase>)> = Vec::new();
    for c in &h.makeup_cases {
        match by_emp.iter_mut().find(|(e, _)| *e == c.employer_id) {
            Some((_, v)) => v.push(c),
            None => by_emp.push((&c.employer_id, vec![c])),
        }
    }
    for (emp, cases) in &by_emp {
        let pe: Decimal = cases.iter().map(|c| c.principal_employer).sum();
        let pi: Decimal = cases.iter().map(|c| c.principal_individual).sum();
        let fee: Decimal = cases.iter().map(|c| c.late_fee).sum();
        let total: Decimal = cases.iter().map(|c| c.total).sum();
        let ins: Vec<String> = cases.iter().map(|c| c.insurance.clone()).collect();
        let from = cases
            .iter()
            .map(|c| c.first_period.as_str())
            .min()
            .unwrap_or_default();
        let to = cases
            .iter()
            .map(|c| c.last_period.as_str())
            .max()
            .unwrap_or_default();
        let status = cases[0].employer_status.as_str();
        let mut text = format!(
            "Make up (补缴) {} for {} {} at {} employer {emp}: principal {} employer portion + {} personal account, late fee {}. Record it as payments with kind=makeup (补缴) for each month; the months then become paid and the case closes on the next run.",
            money(total),
            join(&ins),
            span(from, to),
            status,
            money(pe),
            money(pi),
            money(fee),
        );
        match status {
            "bankrupt" => text.push_str(&format!(
                " Claim it from the bankruptcy administrator (破产管理人): the personal-account part ({}) ranks with wages, the employer part with taxes (Enterprise Bankruptcy Law art. 113); the late fee stopped at the bankruptcy date.",
                money(pi)
            )),
            "dissolved" => text.push_str(" Claim it from the liquidation group (清算组)."),
            "cancelled" => text.push_str(" Claim it from the former shareholders or the authority that handled the deregistration."),
            _ => {}
        }
        out.push(Action {
            action: "pay_makeup",
            employer_id: emp.to_string(),
            insurances: ins,
            from: from.to_string(),
            to: to.to_string(),
            amount: Some(total),
            text,
        });
    }

    // 3. Personnel archives not transferred.
    let mut archive_emps: Vec<(&str, Vec<String>, &str, &str)> = Vec::new();
    for f in h
        .findings
        .iter()
        .filter(|f| f.kind == "archive_not_transferred")
    {
        match archive_emps.iter_mut().find(|(e, ..)| *e == f.employer_id) {
            Some((_, ins, _, _)) => {
                if !ins.contains(&f.insurance) {
                    ins.push(f.insurance.clone())
                }
            }
            None => archive_emps.push((&f.employer_id, vec![f.insurance.clone()], &f.from, &f.to)),
        }
    }
    for (emp, ins, from, to) in archive_emps {
        let holder = match closed_on(emp).map(|(s, _)| s) {
            Some("bankrupt") => "its bankruptcy administrator (破产管理人)",
            Some("dissolved") => "its liquidation group (清算组)",
            Some("cancelled") => "the authority that handled its deregistration",
            _ => "its liquidator or the competent authority",
        };
        out.push(Action {
            action: "retrieve_archive",
            employer_id: emp.to_string(),
            insurances: ins,
            from: from.to_string(),
            to: to.to_string(),
            amount: None,
            text: format!(
                "Retrieve the person's personnel archive (人事档案) of employer {emp} from {holder} and have it transferred to the archive centre: the employer did not transfer it."
            ),
        });
    }

    // 4. Enrolment conflicts.
    for (f, ins, _) in grouped(&h.findings, "individual_enrolment_blocked") {
        out.push(Action {
            action: "employer_decrease",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text: format!(
                "Ask employer {} to file the decrease for {} so that the individual contributions for {} can be accepted.",
                f.employer_id,
                join(&ins),
                span(&f.from, &f.to)
            ),
        });
    }
    for (f, ins, _) in grouped(&h.findings, "overlapping_enrolment") {
        out.push(Action {
            action: "resolve_overlap",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text: format!(
                "Two employers enrolled the person for {} in {}; employer {} is primary. Find out where the person worked and have the other employer file a decrease; money paid in those months is held in suspense.",
                join(&ins),
                span(&f.from, &f.to),
                f.employer_id
            ),
        });
    }

    // 5. Arrears at active employers or in individual spells.
    for (f, ins, amt) in grouped(&h.findings, "arrears") {
        let who = if f.employer_id.is_empty() {
            "The person (individual enrolment) owes".to_string()
        } else {
            format!("Employer {} owes", f.employer_id)
        };
        out.push(Action {
            action: "collect_arrears",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: amt,
            text: format!(
                "{who} {} for {} {}: collect it as normal contributions (late fees accrue daily).",
                amt.map(money).unwrap_or_default(),
                join(&ins),
                span(&f.from, &f.to)
            ),
        });
    }

    // 6. Money in suspense.
    for kind in ["unmatched_payment", "overpayment"] {
        for (f, ins, amt) in grouped(&h.findings, kind) {
            let what = if kind == "unmatched_payment" {
                "was paid with no enrolment covering it"
            } else {
                "was paid beyond what was due"
            };
            out.push(Action {
                action: "resolve_suspense",
                employer_id: f.employer_id.clone(),
                insurances: ins.clone(),
                from: f.from.clone(),
                to: f.to.clone(),
                amount: amt,
                text: format!(
                    "{} for {} {} ({}) {what} and is held in suspense: check with the payer whether an enrolment is missing or the money is to be refunded.",
                    amt.map(money).unwrap_or_default(),
                    join(&ins),
                    span(&f.from, &f.to),
                    emp_label(&f.employer_id)
                ),
            });
        }
    }

    // 7. No rate.
    for (f, ins, _) in grouped(&h.findings, "no_rate") {
        out.push(Action {
            action: "add_rate",
            employer_id: f.employer_id.clone(),
            insurances: ins.clone(),
            from: f.from.clone(),
            to: f.to.clone(),
            amount: None,
            text: format!(
                "No contribution rate applies to {} {} ({}): report it to the rates administrator; nothing can be reconciled for those months until a rate row is added.",
                join(&ins),
                span(&f.from, &f.to),
                emp_label(&f.employer_id)
            ),
        });
    }

    // 8. Identity.
    if !h.identity_findings.is_empty() {
        let kinds: BTreeSet<&str> = h
            .identity_findings
            .iter()
            .map(|f| f.kind.as_str())
            .collect();
        let mut text = String::from("Check the person's ID card against the registered ID number");
        if kinds.contains("duplicate_person") {
            text.push_str(
                " and merge the duplicate registrations (same ID number under several person ids)",
            );
        }
        text.push('.');
        out.push(Action {
            action: "verify_identity",
            employer_id: String::new(),
            insurances: Vec::new(),
            from: String::new(),
            to: String::new(),
            amount: None,
            text,
        });
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
