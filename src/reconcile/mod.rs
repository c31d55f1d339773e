//! Reconcile: one person's rows plus shared read-only context → that
//! person's output rows (SPEC §3–5).
//!
//! [`reconcile_person`] is a pure function: the same rows and context give
//! the same output, whatever thread runs it. [`group_by_person`] puts the
//! rows in person_id order; `run` reconciles the people in bounded
//! parallel batches (rayon) and writes each batch in that order.

pub mod identity;
pub mod months;
pub mod runs;
pub mod spells;

use crate::model::{Employer, Event, Insurance, Payment, Period};
use crate::outcome::{Finding, LedgerRow, MakeupCase, PersonRow, Totals};
use crate::rates::RateTable;
use chrono::NaiveDate;
use rayon::prelude::*;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// Shared, read-only facts every person is reconciled against.
pub struct Context<'a> {
    pub employers: &'a BTreeMap<String, Employer>,
    pub rates: &'a RateTable,
    pub through: Period,
    pub as_of: NaiveDate,
    pub tolerance: Decimal,
    pub late_fee_rate: Decimal,
    pub identities: &'a identity::IdentityIndex,
}

impl Context<'_> {
    /// Closure date of a closed employer (unknown employers are active).
    pub fn closed_on(&self, employer: &str) -> Option<NaiveDate> {
        self.employers.get(employer).and_then(Employer::closed_on)
    }

    /// Rate region of a spell's employer: the registry's region, `None`
    /// (`*`) for individuals, unknown employers and empty regions.
    pub fn region(&self, employer: Option<&str>) -> Option<&str> {
        employer
            .and_then(|e| self.employers.get(e))
            .and_then(|e| e.region.as_deref())
    }

    /// Late-fee days for month `m` at closed employer `e` (SPEC §5): from
    /// the first day of the following month to the accrual end, both
    /// counted, never negative.
    pub fn late_fee_days(&self, e: &str, m: Period) -> i64 {
        let emp = self.employers.get(e);
        let end = match emp {
            Some(x) if x.status == crate::model::EmployerStatus::Bankrupt => {
                x.status_date.unwrap_or(self.as_of)
            }
            _ => self.as_of,
        };
        let start = m.next().first_day();
        ((end - start).num_days() + 1).max(0)
    }
}

/// One person's rows.
#[derive(Debug, Default)]
pub struct PersonRows<'a> {
    pub person_id: &'a str,
    pub events: Vec<&'a Event>,
    pub payments: Vec<&'a Payment>,
}

/// Everything one person contributes to the outputs, in output order.
#[derive(Debug, Default)]
pub struct PersonOutput {
    pub person_id: String,
    pub ledger: Vec<LedgerRow>,
    pub persons: Vec<PersonRow>,
    pub findings: Vec<Finding>,
    pub makeup: Vec<MakeupCase>,
    pub totals: Totals,
}

/// Reconciles one person: pure in its rows and the context.
pub fn reconcile_person(ctx: &Context<'_>, rows: &PersonRows<'_>) -> PersonOutput {
    let mut out = PersonOutput {
        person_id: rows.person_id.to_string(),
        ..Default::default()
    };
    out.findings.extend(identity::person_findings(
        ctx.identities,
        rows.person_id,
        &rows.events,
    ));
    // About one ledger row per payment (plus the gaps): reserved once
    // rather than regrown insurance by insurance.
    out.ledger
        .reserve(rows.payments.len() + rows.payments.len() / 8 + 16);
    for ins in Insurance::ALL {
        let evs: Vec<&Event> = rows
            .events
            .iter()
            .copied()
            .filter(|e| e.insurance == ins)
            .collect();
        let pays: Vec<&Payment> = rows
            .payments
            .iter()
            .copied()
            .filter(|p| p.insurance == ins)
            .collect();
        if evs.is_empty() && pays.is_empty() {
            continue;
        }
        let r = months::reconcile(ctx, rows.person_id, ins, &evs, &pays);
        out.ledger.extend(r.ledger);
        out.persons.extend(r.person);
        out.findings.extend(r.findings);
        out.makeup.extend(r.makeup);
        out.totals.add(&r.totals);
    }
    out.findings.sort_by(|a, b| a.sort_key_cmp(b));
    out.makeup.sort_by(|a, b| {
        a.insurance
            .cmp(&b.insurance)
            .then_with(|| a.employer_id.cmp(&b.employer_id))
    });
    out
}

/// Groups events and payments by person, in person_id (byte) order,
/// each person's rows in file order.
///
/// A stable sort of row indexes rather than a map of people: exports
/// usually come grouped by person or by employer, and the sort finds
/// those runs in linear time, where a map pays a lookup per row.
pub fn group_by_person<'a>(events: &'a [Event], payments: &'a [Payment]) -> Vec<PersonRows<'a>> {
    fn order<T: Sync>(rows: &[T], key: impl Fn(&T) -> &str + Sync) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..rows.len()).collect();
        idx.par_sort_by(|&a, &b| key(&rows[a]).cmp(key(&rows[b])));
        idx
    }
    let ev = order(events, |e| &e.person_id);
    let py = order(payments, |p| &p.person_id);
    let (mut i, mut j) = (0, 0);
    let mut out: Vec<PersonRows<'a>> = Vec::new();
    while i < ev.len() || j < py.len() {
        let person: &'a str = match (ev.get(i), py.get(j)) {
            (Some(&e), Some(&p)) => events[e].person_id.as_str().min(&payments[p].person_id),
            (Some(&e), None) => &events[e].person_id,
            (None, Some(&p)) => &payments[p].person_id,
            (None, None) => break,
        };
        let mut rows = PersonRows {
            person_id: person,
            ..Default::default()
        };
        while let Some(&e) = ev.get(i).filter(|&&e| events[e].person_id == person) {
            rows.events.push(&events[e]);
            i += 1;
        }
        while let Some(&p) = py.get(j).filter(|&&p| payments[p].person_id == person) {
            rows.payments.push(&payments[p]);
            j += 1;
        }
        out.push(rows);
    }
    out
}
