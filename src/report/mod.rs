//! `report.html`: one self-contained page for the supervisor, built from a
//! run's output files (inline CSS and SVG; no scripts, fonts, images or
//! other external resources).
//!
//! Everything is streamed and aggregated, so the page stays small (tens of
//! kilobytes) and the memory bounded whatever the size of the run:
//! `ledger.csv` is summed per month (due versus paid), `exceptions.csv`
//! counted per kind and severity and its arrears summed per employer,
//! `makeup_cases.csv` summed per employer, and only the first rows of
//! `rejects.csv` are shown. Lists are cut to their top N.
//!
//! The page is deterministic (no clock, no paths, no `elapsed_seconds`, no
//! hash-map order), like the other outputs. Every value taken from a file
//! is HTML-escaped.

mod html;
mod totals;

use totals::month_index;
pub use totals::{parse_cents, Cents, LedgerTotals, MonthTotals};

use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Employers listed in the make-up table; the rest are summed in one row.
pub const MAKEUP_EMPLOYERS_SHOWN: usize = 50;
/// Employers in the arrears top list.
pub const TOP_ARREARS: usize = 10;
/// Reject rows shown as examples.
pub const REJECT_SAMPLES: usize = 20;
/// Input files listed one by one; the rest are summed in one row.
pub const INPUTS_SHOWN: usize = 200;

/// Writes `report.html` into `out_dir` from the outputs there.
///
/// Called by `run` on its staging folder (before `_SUCCESS` exists) and by
/// `contrib-recon report OUT_DIR` (see [`command`]). Needs `summary.json`
/// with `"status": "ok"` and the CSV outputs.
pub fn write_report(out_dir: &Path) -> Result<()> {
    write_report_with(out_dir, None)
}

/// Like [`write_report`], with the ledger figures already summed by the
/// run that wrote `ledger.csv` (the same cents the file carries), so the
/// largest output is not read back.
pub fn write_report_with(out_dir: &Path, ledger: Option<LedgerTotals>) -> Result<()> {
    let data = gather(out_dir, ledger)?;
    let page = html::render(&data);
    let path = out_dir.join("report.html");
    let tmp = out_dir.join(".report.html.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(page.as_bytes())?;
        f.sync_all()
    };
    write().map_err(|e| Error::io(&tmp, "cannot write", e))?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, "cannot write", e))
}

/// `contrib-recon report OUT_DIR`: like [`write_report`], but only for a
/// finished run (`_SUCCESS` present).
pub fn command(out_dir: &Path) -> Result<()> {
    if !out_dir.join("_SUCCESS").exists() {
        return Err(Error::Usage(format!(
            "{} is not a finished run (no _SUCCESS)",
            out_dir.display()
        )));
    }
    write_report(out_dir)
}

/// One (kind, severity) line of the findings table.
#[derive(Debug, Clone, Default)]
pub struct KindCount {
    pub count: u64,
    pub amount: Cents,
    pub has_amount: bool,
    pub example: String,
}

/// Arrears of one employer (from `arrears` findings).
#[derive(Debug, Clone, Default)]
pub struct Arrears {
    pub amount: Cents,
    pub findings: u64,
    pub months: u64,
    pub persons: u64,
    last_person: String,
}

/// Make-up cases of one employer.
#[derive(Debug, Clone, Default)]
pub struct MakeupGroup {
    pub status: String,
    pub closed_on: String,
    pub archive: String,
    pub cases: u64,
    pub persons: u64,
    pub months: u64,
    pub principal_employer: Cents,
    pub principal_individual: Cents,
    pub late_fee: Cents,
    pub total: Cents,
    last_person: String,
}

/// One reject shown as an example.
#[derive(Debug, Clone)]
pub struct RejectSample {
    pub file: String,
    pub line: String,
    pub reason: String,
    pub raw: String,
}

/// What the page shows.
pub struct Data {
    pub summary: serde_json::Value,
    pub months: BTreeMap<u32, MonthTotals>,
    pub ledger_rows: u64,
    pub ledger_paid: Cents,
    pub by_kind: BTreeMap<(String, String), KindCount>,
    pub findings_rows: u64,
    /// Employers by arrears amount, largest first (ties: id), all of them.
    pub arrears: Vec<(String, Arrears)>,
    /// Employers by make-up total, largest first (ties: id), all of them.
    pub makeup: Vec<(String, MakeupGroup)>,
    pub makeup_rows: u64,
    pub rejects: Vec<RejectSample>,
    pub rejects_rows_seen: u64,
}

fn gather(out_dir: &Path, ledger_totals: Option<LedgerTotals>) -> Result<Data> {
    let summary = read_summary(out_dir)?;
    let mut d = Data {
        summary,
        months: BTreeMap::new(),
        ledger_rows: 0,
        ledger_paid: 0,
        by_kind: BTreeMap::new(),
        findings_rows: 0,
        arrears: Vec::new(),
        makeup: Vec::new(),
        makeup_rows: 0,
        rejects: Vec::new(),
        rejects_rows_seen: 0,
    };
    let totals = match ledger_totals {
        Some(t) => t,
        None => ledger(out_dir)?,
    };
    d.months = totals.months();
    d.ledger_rows = totals.rows;
    d.ledger_paid = totals.paid;
    exceptions(out_dir, &mut d)?;
    makeup(out_dir, &mut d)?;
    rejects(out_dir, &mut d)?;
    Ok(d)
}

fn read_summary(out_dir: &Path) -> Result<serde_json::Value> {
    let path = out_dir.join("summary.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Usage(format!(
                "{} is not a run's output folder (no summary.json)",
                out_dir.display()
            )))
        }
        Err(e) => return Err(Error::io(&path, "cannot read", e)),
    };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Input {
        file: path.display().to_string(),
        line: e.line() as u64,
        problem: format!("not valid JSON: {e}"),
    })?;
    if !v.is_object() {
        return Err(Error::Input {
            file: path.display().to_string(),
            line: 1,
            problem: "not a JSON object".into(),
        });
    }
    match v.get("status").and_then(|s| s.as_str()) {
        Some("ok") => Ok(v),
        other => Err(Error::Usage(format!(
            "{} is not a finished run (summary.json status is {})",
            out_dir.display(),
            other.map_or("missing".to_string(), |s| format!("'{s}'"))
        ))),
    }
}

/// A streamed output CSV with the positions of the wanted columns.
struct Csv {
    path: PathBuf,
    rdr: csv::Reader<File>,
    cols: Vec<usize>,
    rec: csv::ByteRecord,
}

impl Csv {
    fn open(out_dir: &Path, name: &str, wanted: &[&str]) -> Result<Csv> {
        let path = out_dir.join(name);
        let f = File::open(&path).map_err(|e| Error::io(&path, "cannot open", e))?;
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(f);
        let header = rdr.byte_headers().map_err(|e| csv_err(&path, e))?.clone();
        let mut cols = Vec::with_capacity(wanted.len());
        for w in wanted {
            let i = header
                .iter()
                .position(|h| h.strip_prefix("\u{feff}".as_bytes()).unwrap_or(h) == w.as_bytes())
                .ok_or_else(|| Error::Input {
                    file: path.display().to_string(),
                    line: 1,
                    problem: format!("required column '{w}' is missing from the header"),
                })?;
            cols.push(i);
        }
        Ok(Csv {
            path,
            rdr,
            cols,
            rec: csv::ByteRecord::new(),
        })
    }

    /// Reads the next record; `false` at the end.
    fn next(&mut self) -> Result<bool> {
        self.rdr
            .read_byte_record(&mut self.rec)
            .map_err(|e| csv_err(&self.path, e))
    }

    fn line(&self) -> u64 {
        self.rec.position().map_or(0, |p| p.line())
    }

    /// Field `i` of the wanted columns (empty when the row is short).
    fn get(&self, i: usize) -> &[u8] {
        self.rec.get(self.cols[i]).unwrap_or_default()
    }

    fn text(&self, i: usize) -> String {
        String::from_utf8_lossy(self.get(i)).into_owned()
    }

    fn cents(&self, i: usize, col: &str) -> Result<Cents> {
        let v = self.get(i);
        parse_cents(v).ok_or_else(|| {
            self.bad(format!(
                "{col} '{}' is not an amount",
                String::from_utf8_lossy(v)
            ))
        })
    }

    fn opt_cents(&self, i: usize, col: &str) -> Result<Option<Cents>> {
        if self.get(i).is_empty() {
            Ok(None)
        } else {
            self.cents(i, col).map(Some)
        }
    }

    fn count(&self, i: usize, col: &str) -> Result<u64> {
        let v = self.get(i);
        std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                self.bad(format!(
                    "{col} '{}' is not a count",
                    String::from_utf8_lossy(v)
                ))
            })
    }

    fn bad(&self, problem: String) -> Error {
        Error::Input {
            file: self.path.display().to_string(),
            line: self.line(),
            problem,
        }
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io(path, "cannot read", io),
        k => Error::Input {
            file: path.display().to_string(),
            line,
            problem: format!("not valid CSV: {k:?}"),
        },
    }
}

fn ledger(out_dir: &Path) -> Result<LedgerTotals> {
    let mut t = LedgerTotals::default();
    let mut c = Csv::open(
        out_dir,
        "ledger.csv",
        &[
            "period",
            "due_employer",
            "due_individual",
            "paid_employer",
            "paid_individual",
        ],
    )?;
    while c.next()? {
        let period = c.get(0);
        let m = month_index(period).ok_or_else(|| {
            c.bad(format!(
                "period '{}' is not YYYY-MM",
                String::from_utf8_lossy(period)
            ))
        })?;
        let due = c.opt_cents(1, "due_employer")?.unwrap_or(0)
            + c.opt_cents(2, "due_individual")?.unwrap_or(0);
        let paid = c.cents(3, "paid_employer")? + c.cents(4, "paid_individual")?;
        t.add(m, due, paid, 1);
    }
    Ok(t)
}

/// Example details are cut to this many characters.
const EXAMPLE_CHARS: usize = 240;

fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn exceptions(out_dir: &Path, d: &mut Data) -> Result<()> {
    let mut c = Csv::open(
        out_dir,
        "exceptions.csv",
        &[
            "kind",
            "severity",
            "person_id",
            "employer_id",
            "months",
            "amount",
            "detail",
        ],
    )?;
    let mut arrears: HashMap<Vec<u8>, Arrears> = HashMap::new();
    while c.next()? {
        d.findings_rows += 1;
        let kind = c.text(0);
        let severity = c.text(1);
        let amount = c.opt_cents(5, "amount")?;
        let k = d.by_kind.entry((kind, severity)).or_default();
        k.count += 1;
        if let Some(a) = amount {
            k.amount += a;
            k.has_amount = true;
        }
        if k.count == 1 {
            k.example = cut(&c.text(6), EXAMPLE_CHARS);
        }
        if c.get(0) == b"arrears" && !c.get(3).is_empty() {
            let months = if c.get(4).is_empty() {
                0
            } else {
                c.count(4, "months")?
            };
            let person = c.get(2);
            let a = arrears.entry(c.get(3).to_vec()).or_default();
            a.amount += amount.unwrap_or(0);
            a.findings += 1;
            a.months += months;
            // Findings are sorted by person: count each person once.
            if a.persons == 0 || a.last_person.as_bytes() != person {
                a.persons += 1;
                a.last_person = String::from_utf8_lossy(person).into_owned();
            }
        }
    }
    let mut v: Vec<(String, Arrears)> = arrears
        .into_iter()
        .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v))
        .collect();
    v.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then_with(|| a.0.cmp(&b.0)));
    d.arrears = v;
    Ok(())
}

fn makeup(out_dir: &Path, d: &mut Data) -> Result<()> {
    let mut c = Csv::open(
        out_dir,
        "makeup_cases.csv",
        &[
            "person_id",
            "employer_id",
            "employer_status",
            "closed_on",
            "months",
            "principal_employer",
            "principal_individual",
            "late_fee",
            "total",
            "archive_transferred",
        ],
    )?;
    let mut groups: HashMap<Vec<u8>, MakeupGroup> = HashMap::new();
    while c.next()? {
        d.makeup_rows += 1;
        let months = c.count(4, "months")?;
        let pe = c.cents(5, "principal_employer")?;
        let pi = c.cents(6, "principal_individual")?;
        let fee = c.cents(7, "late_fee")?;
        let total = c.cents(8, "total")?;
        let person = c.get(0);
        let g = groups.entry(c.get(1).to_vec()).or_default();
        if g.cases == 0 {
            g.status = c.text(2);
            g.closed_on = c.text(3);
            g.archive = c.text(9);
        }
        g.cases += 1;
        if g.persons == 0 || g.last_person.as_bytes() != person {
            g.persons += 1;
            g.last_person = String::from_utf8_lossy(person).into_owned();
        }
        g.months += months;
        g.principal_employer += pe;
        g.principal_individual += pi;
        g.late_fee += fee;
        g.total += total;
    }
    let mut v: Vec<(String, MakeupGroup)> = groups
        .into_iter()
        .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v))
        .collect();
    v.sort_by(|a, b| b.1.total.cmp(&a.1.total).then_with(|| a.0.cmp(&b.0)));
    d.makeup = v;
    Ok(())
}

/// Raw reject text is cut to this many characters.
const RAW_CHARS: usize = 300;

fn rejects(out_dir: &Path, d: &mut Data) -> Result<()> {
    let mut c = Csv::open(out_dir, "rejects.csv", &["file", "line", "reason", "raw"])?;
    while d.rejects.len() < REJECT_SAMPLES && c.next()? {
        d.rejects_rows_seen += 1;
        d.rejects.push(RejectSample {
            file: c.text(0),
            line: c.text(1),
            reason: c.text(2),
            raw: cut(&c.text(3), RAW_CHARS),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_by_chars() {
        assert_eq!(cut("养老保险", 2), "养老…");
        assert_eq!(cut("ab", 2), "ab");
    }
}
