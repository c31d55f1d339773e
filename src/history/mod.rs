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
//!
//! This file holds the entry point and the shape of a [`History`]; the work
//! is split by stage: `load` finds and reads the person's rows (typed in
//! `records`, parsed by `csvfile`), `assemble` builds the history from
//! them, and `actions` derives the next steps.

mod actions;
mod assemble;
mod csvfile;
pub mod index;
pub mod json;
mod load;
mod records;
pub mod text;

pub use load::load;
pub use records::{Finding, InsuranceSummary, MakeupCase, Month, Ym};

use crate::error::{Error, Result};
use rust_decimal::Decimal;
use std::io::Write;
use std::path::{Path, PathBuf};

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
// Wording shared by the text rendering and the actions.

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
