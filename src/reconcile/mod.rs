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

use crate::model::{Employer, Event, IdOrder, Insurance, Payment, Period};
use crate::outcome::{Finding, LedgerRow, MakeupCase, PersonRow, Totals};
use crate::rates::RateTable;
use chrono::NaiveDate;
use rayon::prelude::*;
use rust_decimal::Decimal;
use std::cmp::Ordering;
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
/// each person's rows in slice order (file order on the in-memory path).
///
/// A sort of row keys rather than a map of people. Sorting and grouping
/// look at the keys, not at the rows: a spilled partition's rows are in
/// hash-partition order, not grouped, and reading the ids through the
/// rows missed the cache on nearly every row (grouping took four times
/// as long per row as on the in-memory set).
pub fn group_by_person<'a>(
    events: &'a [Event],
    payments: &'a [Payment],
    sort: SortBy,
) -> Vec<PersonRows<'a>> {
    let ev = Runs::of(events, |e| &e.person_id, sort);
    let py = Runs::of(payments, |p| &p.person_id, sort);
    let (mut i, mut j) = (0, 0);
    let mut out: Vec<PersonRows<'a>> = Vec::with_capacity(ev.len().max(py.len()));
    loop {
        // The next person is the smaller of the two runs' ids (one row
        // read per run).
        let e = ev
            .run(i)
            .map(|r| (r, events[r[0] as usize].person_id.as_str()));
        let p = py
            .run(j)
            .map(|r| (r, payments[r[0] as usize].person_id.as_str()));
        let person = match (e, p) {
            (Some((_, a)), Some((_, b))) => a.min(b),
            (Some((_, a)), None) => a,
            (None, Some((_, b))) => b,
            (None, None) => break,
        };
        let mut rows = PersonRows {
            person_id: person,
            ..Default::default()
        };
        if let Some((run, _)) = e.filter(|&(_, id)| id == person) {
            rows.events = run.iter().map(|&r| &events[r as usize]).collect();
            i += 1;
        }
        if let Some((run, _)) = p.filter(|&(_, id)| id == person) {
            rows.payments = run.iter().map(|&r| &payments[r as usize]).collect();
            j += 1;
        }
        out.push(rows);
    }
    out
}

/// How [`group_by_person`] sorts its keys; both give the same groups (the
/// row index makes the key order total).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortBy {
    /// Unstable, in place: for the whole in-memory set, where the buffer
    /// of a merge sort (24 bytes a row, beside the keys) would add about
    /// a gigabyte to the peak on the large set.
    InPlace,
    /// A stable merge sort with a buffer: for a spilled partition (bounded
    /// by the memory limit), whose rows come in runs (file order, per
    /// input file), which a merge sort takes as they are. It grouped
    /// medium's spilled partitions in half the CPU of the unstable sort
    /// (when they held one run per dedup partition).
    Merge,
}

/// Row indexes in person order, and where each person's run starts. The
/// sort keys (24 bytes a row) are dropped as soon as the runs are known,
/// so that they are not held beside the grouped rows.
struct Runs {
    rows: Vec<u32>,
    /// Start of each run in `rows`, then `rows.len()`.
    starts: Vec<u32>,
}

impl Runs {
    fn of<T: Sync>(rows: &[T], id: impl Fn(&T) -> &str + Sync, sort: SortBy) -> Runs {
        let keys = sorted_keys(rows, &id, sort);
        let mut starts: Vec<u32> = (0..keys.len())
            .filter(|&k| {
                k == 0 || {
                    let (a, b) = (&keys[k - 1], &keys[k]);
                    a.cmp_id(b, || (id(&rows[a.row()]), id(&rows[b.row()])))
                        .is_ne()
                }
            })
            .map(|k| k as u32)
            .collect();
        starts.push(keys.len() as u32);
        Runs {
            rows: keys.into_iter().map(|k| k.row).collect(),
            starts,
        }
    }

    /// Number of runs (persons).
    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// The rows of run `i`, if there is one.
    fn run(&self, i: usize) -> Option<&[u32]> {
        let (a, b) = (*self.starts.get(i)?, *self.starts.get(i + 1)?);
        self.rows.get(a as usize..b as usize)
    }
}

/// A row's place in the person order: its id's [`IdOrder`] and the
/// row's index, flattened (24 bytes).
#[derive(Clone, Copy)]
struct Key {
    hi: u64,
    lo: u64,
    len: u32,
    row: u32,
}

impl Key {
    fn new(id: &str, row: usize) -> Key {
        let IdOrder { hi, lo, len } = IdOrder::new(id);
        Key {
            hi,
            lo,
            len,
            // `sorted_keys` checks that the rows fit.
            row: row as u32,
        }
    }

    fn row(&self) -> usize {
        self.row as usize
    }

    /// Compares the ids of two keys; `ids` gives them when the keys
    /// cannot tell.
    fn cmp_id<'s>(&self, other: &Key, ids: impl FnOnce() -> (&'s str, &'s str)) -> Ordering {
        let order = |k: &Key| IdOrder {
            hi: k.hi,
            lo: k.lo,
            len: k.len,
        };
        order(self).cmp_with(&order(other), ids)
    }
}

/// The keys of `rows` in `(id, index)` order.
fn sorted_keys<T: Sync>(rows: &[T], id: impl Fn(&T) -> &str + Sync, sort: SortBy) -> Vec<Key> {
    // Four billion rows would need hundreds of GB in memory; the memory
    // budget spills long before. Checked, so that it can never mis-group.
    assert!(
        u32::try_from(rows.len()).is_ok(),
        "more than 2^32 rows in one partition"
    );
    let mut keys: Vec<Key> = rows
        .par_iter()
        .enumerate()
        .map(|(i, r)| Key::new(id(r), i))
        .collect();
    let order = |a: &Key, b: &Key| {
        a.cmp_id(b, || (id(&rows[a.row()]), id(&rows[b.row()])))
            .then(a.row.cmp(&b.row))
    };
    match sort {
        SortBy::InPlace => keys.par_sort_unstable_by(order),
        SortBy::Merge => keys.par_sort_by(order),
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(seq: u64, person: &str) -> Event {
        Event {
            seq,
            person_id: person.into(),
            id_number: None,
            employer_id: None,
            insurance: Insurance::Pension,
            action: crate::model::Action::Increase,
            period: Period::from_ym(2024, 1),
            base: None,
            reason: None,
        }
    }

    fn payment(person: &str, index: u32) -> Payment {
        Payment {
            person_id: person.into(),
            employer_id: None,
            insurance: Insurance::Pension,
            period: Period(index),
            employer_amount: Decimal::ZERO,
            individual_amount: Decimal::ZERO,
        }
    }

    /// Ids of every length around the 16-byte key prefix, sharing long
    /// prefixes, with NUL bytes and non-ASCII text.
    fn id() -> impl Strategy<Value = String> {
        let prefix = prop::sample::select(vec!["", "P000000000000000", "P00000000000000", "张"]);
        (prefix, "[\0AB]{0,3}").prop_map(|(p, s)| format!("{p}{s}"))
    }

    /// Ids equal after zero padding are told apart by their length.
    #[test]
    fn padded_prefixes_differ_by_length() {
        let payments = [payment("张\0", 0), payment("张", 1), payment("张\0", 2)];
        for sort in [SortBy::InPlace, SortBy::Merge] {
            let got: Vec<(&str, usize)> = group_by_person(&[], &payments, sort)
                .iter()
                .map(|r| (r.person_id, r.payments.len()))
                .collect();
            assert_eq!(got, [("张", 1), ("张\0", 2)]);
        }
    }

    proptest! {
        /// The keyed grouping equals a plain map of ids to rows in slice
        /// order.
        #[test]
        fn grouping_matches_a_map(
            ev_ids in prop::collection::vec(id(), 0..40),
            py_ids in prop::collection::vec(id(), 0..60),
            merge: bool,
        ) {
            let sort = if merge { SortBy::Merge } else { SortBy::InPlace };
            let events: Vec<Event> =
                ev_ids.iter().enumerate().map(|(i, p)| event(i as u64, p)).collect();
            let payments: Vec<Payment> =
                py_ids.iter().enumerate().map(|(i, p)| payment(p, i as u32)).collect();
            let mut want: BTreeMap<&str, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
            for (i, e) in events.iter().enumerate() {
                want.entry(&e.person_id).or_default().0.push(i);
            }
            for (i, p) in payments.iter().enumerate() {
                want.entry(&p.person_id).or_default().1.push(i);
            }
            // An event's index is its seq, a payment's its period.
            let got: Vec<(&str, Vec<usize>, Vec<usize>)> = group_by_person(&events, &payments, sort)
                .into_iter()
                .map(|r| {
                    (
                        r.person_id,
                        r.events.iter().map(|e| e.seq as usize).collect(),
                        r.payments.iter().map(|p| p.period.0 as usize).collect(),
                    )
                })
                .collect();
            let want: Vec<(&str, Vec<usize>, Vec<usize>)> =
                want.into_iter().map(|(k, (e, p))| (k, e, p)).collect();
            prop_assert_eq!(got, want);
        }
    }
}
