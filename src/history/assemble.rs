//! Turning one person's rows into the [`History`] the caseworker sees.
//!
//! Takes the rows as read by `load` (ledger in insurance, period
//! order); guarantees runs of consecutive months with the same status,
//! employer and base per insurance, spells of covered months merged across
//! the insurances that share them, identity and employer-level findings
//! split out, and the next actions derived last. Pure: no I/O, so the
//! same rows always give the same history whichever way they were read.

use super::actions::actions;
use super::load::Rows;
use super::{Finding, History, InsuranceHistory, Run, Spell, Ym};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub(super) fn build(
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

pub(super) fn add_opt(a: Option<Decimal>, b: Option<Decimal>) -> Option<Decimal> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
    }
}
