//! Reconcile: one person's rows plus shared read-only context → that
//! person's output rows (SPEC §3–5).
//!
//! [`reconcile_person`] is a pure function: the same rows and context give
//! the same output, whatever thread runs it. [`reconcile_all`] groups the
//! ingested rows by person and runs it across persons with rayon in
//! bounded batches, so outputs come back in person_id order.

pub mod identity;
pub mod months;
pub mod runs;
pub mod spells;

use crate::model::{Employer, Event, Insurance, Payment, Period};
use crate::outcome::{Finding, LedgerRow, MakeupCase, PersonRow, Totals};
use crate::rates::RateTable;
use chrono::NaiveDate;
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

/// Groups events and payments by person, in person_id (byte) order.
pub fn group_by_person<'a>(events: &'a [Event], payments: &'a [Payment]) -> Vec<PersonRows<'a>> {
    let mut map: BTreeMap<&'a str, PersonRows<'a>> = BTreeMap::new();
    for e in events {
        map.entry(&e.person_id)
            .or_insert_with(|| PersonRows {
                person_id: &e.person_id,
                ..Default::default()
            })
            .events
            .push(e);
    }
    for p in payments {
        map.entry(&p.person_id)
            .or_insert_with(|| PersonRows {
                person_id: &p.person_id,
                ..Default::default()
            })
            .payments
            .push(p);
    }
    map.into_values().collect()
}
