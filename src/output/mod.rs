//! Write: typed output rows → the CSV files of SPEC §6, streamed in order.
//!
//! Takes per-person outputs in person_id order (and the employer-level
//! findings, which sort first), rendered to text by [`render`] on the
//! worker that reconciled the person, so the single writer only copies
//! bytes; appends them to `ledger.csv`,
//! `persons.csv`, `exceptions.csv`, `makeup_cases.csv` and `pooling.csv`
//! in a staging folder; `publish` makes the set visible atomically. While
//! writing it records where each person's rows start in every file:
//! `history.idx` (see `history`) lets the counter tool answer in
//! milliseconds on outputs of millions of people.

pub mod csvw;
pub mod direct;
pub mod publish;
pub mod summary;

use crate::error::Result;
use crate::ingest::Reject;
use crate::outcome::{Finding, MakeupCase, PersonRow};
use crate::reconcile::PersonOutput;
use csvw::{money, opt_money, CsvOut};
use std::path::Path;

pub const LEDGER_HEADER: [&str; 10] = [
    "person_id",
    "insurance",
    "period",
    "employer_id",
    "status",
    "base",
    "due_employer",
    "due_individual",
    "paid_employer",
    "paid_individual",
];
pub const PERSONS_HEADER: [&str; 11] = [
    "person_id",
    "insurance",
    "first_period",
    "last_period",
    "months_covered",
    "months_paid",
    "months_short",
    "months_gap",
    "months_overlap",
    "pooled_total",
    "state",
];
pub const EXCEPTIONS_HEADER: [&str; 10] = [
    "kind",
    "severity",
    "person_id",
    "employer_id",
    "insurance",
    "from_period",
    "to_period",
    "months",
    "amount",
    "detail",
];
pub const MAKEUP_HEADER: [&str; 13] = [
    "person_id",
    "employer_id",
    "insurance",
    "employer_status",
    "closed_on",
    "first_period",
    "last_period",
    "months",
    "principal_employer",
    "principal_individual",
    "late_fee",
    "total",
    "archive_transferred",
];
pub const POOLING_HEADER: [&str; 7] = [
    "person_id",
    "insurance",
    "period",
    "employer_id",
    "base",
    "pooled_employer",
    "pooled_individual",
];
pub const REJECTS_HEADER: [&str; 4] = ["file", "line", "reason", "raw"];

/// Escapes a person_id for one `history.idx` line.
pub fn escape_key(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\t', "%09")
        .replace('\n', "%0A")
        .replace('\r', "%0D")
}

/// Reverses [`escape_key`].
pub fn unescape_key(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%09", "\t")
        .replace("%25", "%")
}

fn finding_fields(f: &Finding) -> [String; 10] {
    [
        f.kind.name().to_string(),
        f.kind.severity().to_string(),
        f.person_id.clone().unwrap_or_default(),
        f.employer_id.clone().unwrap_or_default(),
        f.insurance
            .map(|i| i.name().to_string())
            .unwrap_or_default(),
        f.from.map(|p| p.to_string()).unwrap_or_default(),
        f.to.map(|p| p.to_string()).unwrap_or_default(),
        f.months.map(|m| m.to_string()).unwrap_or_default(),
        opt_money(f.amount),
        f.detail.clone(),
    ]
}

fn person_fields(person: &str, r: &PersonRow) -> [String; 11] {
    [
        person.to_string(),
        r.insurance.name().to_string(),
        r.first_period.to_string(),
        r.last_period.to_string(),
        r.months_covered.to_string(),
        r.months_paid.to_string(),
        r.months_short.to_string(),
        r.months_gap.to_string(),
        r.months_overlap.to_string(),
        money(r.pooled_total),
        if r.covered { "covered" } else { "lapsed" }.to_string(),
    ]
}

fn makeup_fields(c: &MakeupCase) -> [String; 13] {
    [
        c.person_id.clone(),
        c.employer_id.clone(),
        c.insurance.name().to_string(),
        c.employer_status.name().to_string(),
        c.closed_on.format("%Y-%m-%d").to_string(),
        c.first_period.to_string(),
        c.last_period.to_string(),
        c.months.to_string(),
        money(c.principal_employer),
        money(c.principal_individual),
        money(c.late_fee),
        money(c.total()),
        match c.archive_transferred {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        }
        .to_string(),
    ]
}

/// One person's rows as output text, rendered on a worker thread so that
/// the single writer only copies bytes.
#[derive(Debug, Default)]
pub struct Rendered {
    /// The lines for ledger, persons, exceptions, makeup_cases, pooling.
    pub text: [String; 5],
    /// Due and paid per month as written to the ledger (cents), for the
    /// report: `(period index, due, paid, rows)` in period order.
    pub months: Vec<(u32, i128, i128, u64)>,
}

/// Due and paid per month of one person's ledger, in cents as written:
/// a dense run of months from the first to the last (a person's ledger
/// spans a few hundred months at most), not a sort of every row.
struct MonthSums {
    first: u32,
    sums: Vec<(i128, i128, u64)>,
}

impl MonthSums {
    fn new(ledger: &[crate::outcome::LedgerRow]) -> Self {
        let mut span = ledger.iter().map(|r| r.period.0);
        let (first, last) = span.next().map_or((0, 0), |p| {
            span.fold((p, p), |(lo, hi), q| (lo.min(q), hi.max(q)))
        });
        let len = if ledger.is_empty() {
            0
        } else {
            last - first + 1
        };
        MonthSums {
            first,
            sums: vec![(0, 0, 0); len as usize],
        }
    }

    fn add(&mut self, row: &crate::outcome::LedgerRow) {
        let cents = |d: Option<rust_decimal::Decimal>| d.map_or(0, csvw::cents);
        let m = &mut self.sums[(row.period.0 - self.first) as usize];
        m.0 += cents(row.due_employer) + cents(row.due_individual);
        m.1 += csvw::cents(row.paid_employer) + csvw::cents(row.paid_individual);
        m.2 += 1;
    }

    /// `(period, due, paid, rows)` of every month with rows, in order.
    fn finish(self) -> Vec<(u32, i128, i128, u64)> {
        let first = self.first;
        (first..)
            .zip(self.sums)
            .filter(|(_, m)| m.2 > 0)
            .map(|(p, (due, paid, rows))| (p, due, paid, rows))
            .collect()
    }
}

/// Renders one person's rows exactly as the output files carry them.
pub fn render(p: &PersonOutput) -> Rendered {
    let mut r = Rendered::default();
    let [ledger, persons, exceptions, makeup, pooling] = &mut r.text;
    // A ledger line is about 60 bytes plus the two ids; a pooling line a
    // little less, for most rows.
    let ids = p.person_id.len() + 12;
    ledger.reserve(p.ledger.len() * (72 + ids));
    pooling.reserve(p.ledger.len() * (48 + ids));
    let mut months = MonthSums::new(&p.ledger);
    for row in &p.ledger {
        let emp = row.employer_id.as_deref().unwrap_or("");
        let start = ledger.len();
        let mut l = csvw::Line::new(ledger);
        l.text(&p.person_id)
            .name(row.insurance.name())
            .period(row.period)
            .text(emp);
        // person_id..employer_id and `,base` are also the pooling line's.
        let key_end = l.pos();
        l.name(row.status.name());
        let base_start = l.pos();
        l.opt_money(row.base);
        let base_end = l.pos();
        l.opt_money(row.due_employer)
            .opt_money(row.due_individual)
            .money(row.paid_employer)
            .money(row.paid_individual)
            .end();
        if let Some((pe, pi)) = row.pooled() {
            pooling.push_str(&ledger[start..key_end]);
            pooling.push_str(&ledger[base_start..base_end]);
            csvw::Line::after(pooling).money(pe).money(pi).end();
        }
        months.add(row);
    }
    r.months = months.finish();
    for row in &p.persons {
        persons.push_str(&csvw::line(&person_fields(&p.person_id, row)));
    }
    for f in &p.findings {
        exceptions.push_str(&csvw::line(&finding_fields(f)));
    }
    for c in &p.makeup {
        makeup.push_str(&csvw::line(&makeup_fields(c)));
    }
    r
}

/// The open output files of one run.
pub struct Writer {
    ledger: CsvOut,
    persons: CsvOut,
    exceptions: CsvOut,
    makeup: CsvOut,
    pooling: CsvOut,
    index: CsvOut,
}

impl Writer {
    /// Creates every output file (with its header) in `dir`; `may_thread`
    /// false writes them on the caller's thread only (`--threads 1`).
    pub fn create(dir: &Path, may_thread: bool) -> Result<Self> {
        let t = may_thread;
        Ok(Writer {
            ledger: CsvOut::create(&dir.join("ledger.csv"), &LEDGER_HEADER, t)?,
            persons: CsvOut::create(&dir.join("persons.csv"), &PERSONS_HEADER, t)?,
            exceptions: CsvOut::create(&dir.join("exceptions.csv"), &EXCEPTIONS_HEADER, t)?,
            makeup: CsvOut::create(&dir.join("makeup_cases.csv"), &MAKEUP_HEADER, t)?,
            pooling: CsvOut::create(&dir.join("pooling.csv"), &POOLING_HEADER, t)?,
            index: {
                let mut idx = CsvOut::create(&dir.join("history.idx"), &[], t)?;
                idx.write_line("#contrib-recon history index v1: person\\tledger\\tpersons\\texceptions\\tmakeup_cases\\tpooling (offset,length)\n")?;
                idx
            },
        })
    }

    /// Findings that belong to no person (employer level); written first.
    pub fn write_global_findings(&mut self, findings: &[Finding]) -> Result<()> {
        for f in findings {
            self.exceptions.row(&finding_fields(f))?;
        }
        Ok(())
    }

    /// Appends one person's rows to every file.
    pub fn write_person(&mut self, p: &PersonOutput) -> Result<()> {
        self.write_rendered(&p.person_id, &render(p))
    }

    /// Appends one person's rendered rows to every file and records where
    /// they went in `history.idx`.
    pub fn write_rendered(&mut self, person_id: &str, r: &Rendered) -> Result<()> {
        let files = [
            &mut self.ledger,
            &mut self.persons,
            &mut self.exceptions,
            &mut self.makeup,
            &mut self.pooling,
        ];
        let mut l = escape_key(person_id);
        for (out, text) in files.into_iter().zip(&r.text) {
            l.push_str(&format!("\t{},{}", out.pos(), text.len()));
            out.write_line(text)?;
        }
        l.push('\n');
        self.index.write_line(&l)
    }

    pub fn finish(self) -> Result<()> {
        self.ledger.finish()?;
        self.persons.finish()?;
        self.exceptions.finish()?;
        self.makeup.finish()?;
        self.pooling.finish()?;
        self.index.finish()
    }
}

/// Writes `rejects.csv` (already sorted by file, then line).
pub fn write_rejects(dir: &Path, rejects: &[Reject], may_thread: bool) -> Result<()> {
    let mut out = CsvOut::create(&dir.join("rejects.csv"), &REJECTS_HEADER, may_thread)?;
    for r in rejects {
        out.row(&[
            r.file.as_str(),
            &r.line.to_string(),
            r.reason.name(),
            &r.raw,
        ])?;
    }
    out.finish()
}
