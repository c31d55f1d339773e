//! Write: typed output rows → the CSV files of SPEC §6, streamed in order.
//!
//! Takes per-person outputs in person_id order (and the employer-level
//! findings, which sort first) and appends them to `ledger.csv`,
//! `persons.csv`, `exceptions.csv`, `makeup_cases.csv` and `pooling.csv`
//! in a staging folder; `publish` makes the set visible atomically. While
//! writing it records where each person's rows start in every file:
//! `history.idx` (see `history`) lets the counter tool answer in
//! milliseconds on outputs of millions of people.

pub mod csvw;
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

/// The open output files of one run.
pub struct Writer {
    ledger: CsvOut,
    persons: CsvOut,
    exceptions: CsvOut,
    makeup: CsvOut,
    pooling: CsvOut,
    index: CsvOut,
    line: csvw::LineBuf,
}

impl Writer {
    /// Creates every output file (with its header) in `dir`.
    pub fn create(dir: &Path) -> Result<Self> {
        Ok(Writer {
            ledger: CsvOut::create(&dir.join("ledger.csv"), &LEDGER_HEADER)?,
            persons: CsvOut::create(&dir.join("persons.csv"), &PERSONS_HEADER)?,
            exceptions: CsvOut::create(&dir.join("exceptions.csv"), &EXCEPTIONS_HEADER)?,
            makeup: CsvOut::create(&dir.join("makeup_cases.csv"), &MAKEUP_HEADER)?,
            pooling: CsvOut::create(&dir.join("pooling.csv"), &POOLING_HEADER)?,
            index: {
                let mut idx = CsvOut::create(&dir.join("history.idx"), &[])?;
                idx.write_line("#contrib-recon history index v1: person\\tledger\\tpersons\\texceptions\\tmakeup_cases\\tpooling (offset,length)\n")?;
                idx
            },
            line: csvw::LineBuf::default(),
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
        let starts = [
            self.ledger.pos(),
            self.persons.pos(),
            self.exceptions.pos(),
            self.makeup.pos(),
            self.pooling.pos(),
        ];
        let b = &mut self.line;
        for r in &p.ledger {
            let emp = r.employer_id.as_deref().unwrap_or("");
            b.start(&p.person_id)
                .text(r.insurance.name())
                .display(r.period)
                .text(emp)
                .text(r.status.name())
                .opt_money(r.base)
                .opt_money(r.due_employer)
                .opt_money(r.due_individual)
                .money(r.paid_employer)
                .money(r.paid_individual);
            self.ledger.write_line(b.line())?;
            if let Some((pe, pi)) = r.pooled() {
                b.start(&p.person_id)
                    .text(r.insurance.name())
                    .display(r.period)
                    .text(emp)
                    .opt_money(r.base)
                    .money(pe)
                    .money(pi);
                self.pooling.write_line(b.line())?;
            }
        }
        for r in &p.persons {
            self.persons.row(&person_fields(&p.person_id, r))?;
        }
        for f in &p.findings {
            self.exceptions.row(&finding_fields(f))?;
        }
        for c in &p.makeup {
            self.makeup.row(&makeup_fields(c))?;
        }
        let ends = [
            self.ledger.pos(),
            self.persons.pos(),
            self.exceptions.pos(),
            self.makeup.pos(),
            self.pooling.pos(),
        ];
        let mut l = escape_key(&p.person_id);
        for (s, e) in starts.iter().zip(ends) {
            l.push_str(&format!("\t{s},{}", e - s));
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
pub fn write_rejects(dir: &Path, rejects: &[Reject]) -> Result<()> {
    let mut out = CsvOut::create(&dir.join("rejects.csv"), &REJECTS_HEADER)?;
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
