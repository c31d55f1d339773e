//! Reading one output CSV of a finished run: its header's column
//! positions, a person's byte range, typed rows with errors that name the
//! file and line.
//!
//! Takes an output folder, a file name and the columns wanted (the
//! writer's own header names); guarantees that columns are found by name
//! whatever their order, that no single person's range larger than
//! `MAX_RANGE` is read, and that every malformed value is reported as an
//! input error with the file and its 1-based line ([`line_of`]).

use super::{Finding, InsuranceSummary, MakeupCase, Month, Ym};
use crate::error::{Error, Result};
use rust_decimal::Decimal;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Largest byte range read for one person from one file.
const MAX_RANGE: u64 = 1 << 30;

// The column lists are the writer's own headers, so the two cannot drift.
pub(super) use crate::output::{
    EXCEPTIONS_HEADER as EXCEPTIONS_COLS, LEDGER_HEADER as LEDGER_COLS,
    MAKEUP_HEADER as MAKEUP_COLS, PERSONS_HEADER as PERSONS_COLS,
};

/// One output CSV: its header's column positions, read from its first line.
pub(super) struct CsvFile {
    path: PathBuf,
    file: File,
    len: u64,
    /// Offset after the header line.
    pub(super) data_start: u64,
    /// Position of each wanted column, in the order asked for.
    cols: Vec<usize>,
}

impl CsvFile {
    pub(super) fn open(out_dir: &Path, name: &str, wanted: &[&str]) -> Result<CsvFile> {
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
    pub(super) fn range(
        &mut self,
        (offset, length): (u64, u64),
    ) -> Result<Vec<(csv::StringRecord, u64)>> {
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
    pub(super) fn scan(
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

    pub(super) fn bad(&self, offset: u64, problem: String) -> Error {
        input(&self.path, line_of(&self.path, offset), problem)
    }

    pub(super) fn get<'r>(
        &self,
        rec: &'r csv::StringRecord,
        i: usize,
        offset: u64,
    ) -> Result<&'r str> {
        rec.get(self.cols[i]).ok_or_else(|| {
            self.bad(
                offset,
                format!("row has {} fields, fewer than the header", rec.len()),
            )
        })
    }

    pub(super) fn check_person(&self, got: &str, offset: u64, person_id: &str) -> Result<()> {
        if got != person_id {
            return Err(self.bad(
                offset,
                "history.idx points at another person's row (index and outputs from different runs?)".into(),
            ));
        }
        Ok(())
    }

    pub(super) fn money(&self, s: &str, col: &str, offset: u64) -> Result<Decimal> {
        Decimal::from_str(s).map_err(|_| self.bad(offset, format!("{col} '{s}' is not an amount")))
    }

    pub(super) fn opt_money(&self, s: &str, col: &str, offset: u64) -> Result<Option<Decimal>> {
        if s.is_empty() {
            Ok(None)
        } else {
            self.money(s, col, offset).map(Some)
        }
    }

    pub(super) fn count(&self, s: &str, col: &str, offset: u64) -> Result<u64> {
        s.parse()
            .map_err(|_| self.bad(offset, format!("{col} '{s}' is not a count")))
    }

    pub(super) fn opt_count(&self, s: &str, col: &str, offset: u64) -> Result<Option<u64>> {
        if s.is_empty() {
            Ok(None)
        } else {
            self.count(s, col, offset).map(Some)
        }
    }

    pub(super) fn month(
        &self,
        rec: &csv::StringRecord,
        off: u64,
        person_id: &str,
    ) -> Result<Month> {
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

    pub(super) fn person(
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

    pub(super) fn finding(&self, rec: &csv::StringRecord, off: u64) -> Result<Finding> {
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

    pub(super) fn case(
        &self,
        rec: &csv::StringRecord,
        off: u64,
        person_id: &str,
    ) -> Result<MakeupCase> {
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

/// 1-based line number of byte `offset` in `path`, for error messages only
/// (reads the file up to there: the error path may be slow).
pub(super) fn line_of(path: &Path, offset: u64) -> u64 {
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
