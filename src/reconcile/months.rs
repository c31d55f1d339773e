//! One person and one insurance: spells + payments → ledger months,
//! run findings and make-up cases (SPEC §3–5).

use super::runs::Runs;
use super::spells::{self, Coverage, Spell};
use super::Context;
use crate::model::{Event, Id, Insurance, Payment, Period};
use crate::outcome::{Finding, FindingKind, LedgerRow, MakeupCase, PersonRow, Status, Totals};
use crate::output::csvw::money;
use rust_decimal::{Decimal, RoundingStrategy};
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// Payments of one month.
#[derive(Default)]
struct MonthPay {
    employer: Decimal,
    individual: Decimal,
    /// Distinct payers (`None`: an individual).
    payers: SmallVec<[Option<Id>; 1]>,
}

/// What one person-insurance contributes to the outputs.
#[derive(Default)]
pub struct InsuranceOutcome {
    pub ledger: Vec<LedgerRow>,
    pub person: Option<PersonRow>,
    pub findings: Vec<Finding>,
    pub makeup: Vec<MakeupCase>,
    pub totals: Totals,
}

pub fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

struct Case {
    first: Period,
    last: Period,
    months: u32,
    pe: Decimal,
    pi: Decimal,
    fee: Decimal,
}

pub fn reconcile(
    ctx: &Context<'_>,
    person: &str,
    insurance: Insurance,
    events: &[&Event],
    payments: &[&Payment],
) -> InsuranceOutcome {
    let mut out = InsuranceOutcome::default();
    let horizon = ctx.through;
    let (spells, event_findings) = spells::build(events);
    for ef in event_findings {
        let detail = format!(
            "{} event in {} {}{}",
            ef.kind.name(),
            ef.period,
            ef.employer.as_deref().map_or_else(
                || "for an individual enrolment".to_string(),
                |e| format!("at employer {e}")
            ),
            ef.reason
                .as_deref()
                .map_or_else(|| ".".to_string(), |r| format!(" (reason: {r}).")),
        );
        out.findings.push(Finding {
            kind: ef.kind,
            person_id: Some(person.to_string()),
            employer_id: ef.employer.map(String::from),
            insurance: Some(insurance),
            from: Some(ef.period),
            to: Some(ef.period),
            months: Some(1),
            amount: None,
            detail,
        });
    }
    let covs: Vec<Coverage> = spells
        .iter()
        .map(|s| {
            s.coverage(
                horizon,
                s.employer.as_deref().and_then(|e| ctx.closed_on(e)),
            )
        })
        .collect();
    for (s, c) in spells.iter().zip(&covs) {
        if let Some((from, to)) = c.stranded {
            let emp = s.employer.clone().unwrap_or_default();
            out.findings.push(Finding {
                kind: FindingKind::StrandedEnrolment,
                person_id: Some(person.to_string()),
                employer_id: s.employer.as_deref().map(String::from),
                insurance: Some(insurance),
                from: Some(from),
                to: Some(to),
                months: Some(to.0 - from.0 + 1),
                amount: None,
                detail: format!(
                    "Still enrolled at employer {emp}, which closed on {}; a decrease effective {} must be filed before the person can be enrolled elsewhere.",
                    ctx.closed_on(&emp).map(|d| d.to_string()).unwrap_or_default(),
                    ctx.closed_on(&emp).map(|d| Period::of_date(d).next().to_string()).unwrap_or_default(),
                ),
            });
        }
    }
    // Payments up to the horizon, summed by month in month order (a
    // sorted vector, walked beside the months below: exports list a
    // person's months in order, so the stable sort is one pass); later
    // ones are deferred.
    let mut due_pays: Vec<&Payment> = Vec::with_capacity(payments.len());
    for &p in payments {
        if p.period > horizon {
            out.totals.deferred += p.employer_amount + p.individual_amount;
            out.totals.payments_deferred += 1;
        } else {
            due_pays.push(p);
        }
    }
    due_pays.sort_by_key(|p| p.period);
    let mut pays: Vec<(Period, MonthPay)> = Vec::new();
    for p in due_pays {
        if pays.last().map(|(m, _)| *m) != Some(p.period) {
            pays.push((p.period, MonthPay::default()));
        }
        let last = pays.len() - 1;
        let mp = &mut pays[last].1;
        mp.employer += p.employer_amount;
        mp.individual += p.individual_amount;
        if !mp.payers.contains(&p.employer_id) {
            mp.payers.push(p.employer_id.clone());
        }
    }
    let first_cov = covs.iter().filter(|c| c.to > c.from).map(|c| c.from).min();
    let last_cov = covs
        .iter()
        .filter(|c| c.to > c.from)
        .map(|c| c.to.prev())
        .max();
    // Every paid month and every month from the first to the last
    // covered one, in order: paid months before, the covered range, paid
    // months after.
    let paid_months = || pays.iter().map(|(m, _)| *m);
    let months: Vec<Period> = match (first_cov, last_cov) {
        (Some(a), Some(b)) => paid_months()
            .filter(|m| *m < a)
            .chain((a.0..=b.0).map(Period))
            .chain(paid_months().filter(|m| *m > b))
            .collect(),
        _ => paid_months().collect(),
    };
    let mut pays = pays.iter().peekable();
    let mut runs = Runs::new(person, insurance);
    let mut cases: BTreeMap<String, Case> = BTreeMap::new();
    let tol = ctx.tolerance;
    // The exact-payment shortcut below holds for any tolerance >= 0 (all
    // the command line accepts).
    let tol_ok = !tol.is_sign_negative();
    let zero = Decimal::ZERO;
    out.ledger.reserve_exact(months.len());
    // Registry look-ups per spell, not per month.
    let regions: Vec<_> = spells
        .iter()
        .map(|s| ctx.rates.for_region(ctx.region(s.employer.as_deref())))
        .collect();
    let mut covering: Vec<usize> = Vec::with_capacity(spells.len());
    let mut dues_memo: Option<(Decimal, &crate::model::RateRow, Decimal, Decimal)> = None;
    for m in months {
        let pay = pays.next_if(|(p, _)| *p == m).map(|(_, mp)| mp);
        let (paid_e, paid_i) = pay.map_or((zero, zero), |p| (p.employer, p.individual));
        covering.clear();
        covering.extend((0..spells.len()).filter(|&i| covs[i].covers(m)));
        if covering.is_empty() {
            let row = if let Some(p) = pay {
                let payer = p.payers.iter().flatten().min().cloned();
                runs.mark(
                    FindingKind::UnmatchedPayment,
                    payer.as_deref(),
                    m,
                    paid_e + paid_i,
                    None,
                );
                LedgerRow {
                    insurance,
                    period: m,
                    employer_id: payer,
                    status: Status::Unmatched,
                    base: None,
                    due_employer: Some(zero),
                    due_individual: Some(zero),
                    paid_employer: paid_e,
                    paid_individual: paid_i,
                }
            } else {
                runs.mark(FindingKind::ContributionGap, None, m, zero, None);
                LedgerRow {
                    insurance,
                    period: m,
                    employer_id: None,
                    status: Status::Gap,
                    base: None,
                    due_employer: Some(zero),
                    due_individual: Some(zero),
                    paid_employer: zero,
                    paid_individual: zero,
                }
            };
            out.totals.add_ledger_row(&row);
            out.ledger.push(row);
            continue;
        }
        let primary = *covering
            .iter()
            .min_by(|&&a, &&b| primary_order(&spells[a], &spells[b]))
            .unwrap_or(&covering[0]);
        let sp = &spells[primary];
        let emp = sp.employer.as_deref();
        if covering.len() > 1 {
            for &o in &covering {
                if o == primary {
                    continue;
                }
                match (&spells[o].employer, emp) {
                    (Some(other), Some(_)) => {
                        runs.mark(FindingKind::OverlappingEnrolment, emp, m, zero, Some(other))
                    }
                    (None, _) | (_, None) => {
                        runs.mark(FindingKind::IndividualEnrolmentBlocked, emp, m, zero, None)
                    }
                }
            }
        }
        if let Some(p) = pay {
            if p.payers.iter().any(|x| x.as_deref() != emp) {
                runs.mark(FindingKind::PayerMismatch, emp, m, zero, None);
            }
        }
        let raw_base = sp.base_at(m);
        let rate = regions[primary].lookup(insurance, m);
        let mut row = LedgerRow {
            insurance,
            period: m,
            employer_id: sp.employer.clone(),
            status: Status::Unrated,
            base: Some(raw_base),
            due_employer: None,
            due_individual: None,
            paid_employer: paid_e,
            paid_individual: paid_i,
        };
        if let Some(r) = rate {
            let mut base = raw_base;
            if let Some(f) = r.base_floor {
                base = base.max(f);
            }
            if let Some(c) = r.base_ceiling {
                base = base.min(c);
            }
            if base != raw_base {
                runs.mark(FindingKind::BaseClamped, emp, m, zero, None);
            }
            row.base = Some(base);
            // Base and rate row usually hold for many months in a row.
            let (de, di) = match dues_memo {
                Some((b, rr, de, di)) if std::ptr::eq(rr, r) && b == base => (de, di),
                _ => {
                    let d = (
                        round2(base * r.employer_rate),
                        round2(base * r.individual_rate),
                    );
                    dues_memo = Some((base, r, d.0, d.1));
                    d
                }
            };
            row.due_employer = Some(de);
            row.due_individual = Some(di);
        }
        row.status = if covering.len() > 1 {
            Status::Overlap
        } else if rate.is_none() {
            runs.mark(FindingKind::NoRate, emp, m, zero, None);
            Status::Unrated
        } else if tol_ok && row.due_employer == Some(paid_e) && row.due_individual == Some(paid_i) {
            // Paid to the cent, as nearly every month is: no shortfall and
            // no excess, so `Paid` under any non-negative tolerance; ten
            // decimal operations saved per ledger row.
            Status::Paid
        } else {
            let de = row.due_employer.unwrap_or_default();
            let di = row.due_individual.unwrap_or_default();
            let short_e = (de - paid_e).max(zero);
            let short_i = (di - paid_i).max(zero);
            let shortfall = short_e + short_i;
            let excess = (paid_e - de).max(zero) + (paid_i - di).max(zero);
            if shortfall > tol {
                let closed = emp.and_then(|e| ctx.closed_on(e).map(|d| (e, d)));
                match closed {
                    Some((e, _)) => {
                        let days = ctx.late_fee_days(e, m);
                        let fee = round2(shortfall * ctx.late_fee_rate * Decimal::from(days));
                        let c = cases.entry(e.to_string()).or_insert(Case {
                            first: m,
                            last: m,
                            months: 0,
                            pe: zero,
                            pi: zero,
                            fee: zero,
                        });
                        c.last = m;
                        c.months += 1;
                        c.pe += short_e;
                        c.pi += short_i;
                        c.fee += fee;
                    }
                    None => runs.mark(FindingKind::Arrears, emp, m, shortfall, None),
                }
                if paid_e.is_zero() && paid_i.is_zero() {
                    Status::Arrears
                } else {
                    Status::Underpaid
                }
            } else if excess > tol {
                runs.mark(FindingKind::Overpayment, emp, m, excess, None);
                Status::Overpaid
            } else {
                Status::Paid
            }
        };
        out.totals.add_ledger_row(&row);
        out.ledger.push(row);
    }
    out.findings.extend(runs.finish());
    for (e, c) in cases {
        let Some(emp) = ctx.employers.get(&e) else {
            continue;
        };
        let Some(closed_on) = emp.closed_on() else {
            continue;
        };
        let case = MakeupCase {
            person_id: person.to_string(),
            employer_id: e.clone(),
            insurance,
            employer_status: emp.status,
            closed_on,
            first_period: c.first,
            last_period: c.last,
            months: c.months,
            principal_employer: c.pe,
            principal_individual: c.pi,
            late_fee: c.fee,
            archive_transferred: emp.archive_transferred,
        };
        out.totals.makeup_principal += c.pe + c.pi;
        out.totals.makeup_late_fee += c.fee;
        let makeup = Finding {
            kind: FindingKind::MakeupRequired,
            person_id: Some(person.to_string()),
            employer_id: Some(e.clone()),
            insurance: Some(insurance),
            from: Some(c.first),
            to: Some(c.last),
            months: Some(c.months),
            amount: Some(case.total()),
            detail: format!(
                "Employer {e} is {} since {closed_on}; {} month(s) unpaid: principal {} (employer {}, personal account {}) plus late fee {}.",
                emp.status.name(), c.months, money(c.pe + c.pi), money(c.pe), money(c.pi), money(c.fee)
            ),
        };
        if emp.archive_transferred != Some(true) {
            // Same person, employer, insurance and months as the case.
            out.findings.push(Finding {
                kind: FindingKind::ArchiveNotTransferred,
                amount: None,
                detail: format!("Personnel archives of closed employer {e} were not transferred to the archive centre; retrieve them before the make-up is settled."),
                ..makeup.clone()
            });
        }
        out.findings.push(makeup);
        out.makeup.push(case);
    }
    if let (Some(first), Some(last)) = (out.ledger.first(), out.ledger.last()) {
        let count =
            |f: &dyn Fn(Status) -> bool| out.ledger.iter().filter(|r| f(r.status)).count() as u32;
        let pooled_total = out
            .ledger
            .iter()
            .filter_map(LedgerRow::pooled)
            .fold(zero, |acc, (e, i)| acc + e + i);
        out.person = Some(PersonRow {
            insurance,
            first_period: first.period,
            last_period: last.period,
            months_covered: count(&|s| s.is_covered()),
            months_paid: count(&|s| s.is_pooled()),
            months_short: count(&|s| s.is_short()),
            months_gap: count(&|s| s == Status::Gap),
            months_overlap: count(&|s| s == Status::Overlap),
            pooled_total,
            covered: covs.iter().any(|c| c.covers(horizon)),
        });
    }
    out
}

/// Primary spell order: employer spells before individual ones, then the
/// earlier start, then the lower employer_id (bytes).
fn primary_order(a: &Spell, b: &Spell) -> std::cmp::Ordering {
    a.employer
        .is_none()
        .cmp(&b.employer.is_none())
        .then(a.start.cmp(&b.start))
        .then(a.employer.cmp(&b.employer))
}
