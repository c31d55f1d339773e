//! Runs: consecutive calendar months with the same finding kind and
//! employer become one finding (SPEC §4, §7).

use crate::model::{Id, Insurance, Period};
use crate::outcome::{Finding, FindingKind};
use crate::output::csvw::money;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
struct Run {
    kind: FindingKind,
    employer: Option<Id>,
    from: Period,
    to: Period,
    months: u32,
    amount: Decimal,
    others: BTreeSet<String>,
}

/// Collects month marks of one person and insurance into run findings.
/// Months must be marked in increasing order.
pub struct Runs {
    person: String,
    insurance: Insurance,
    open: Vec<Run>,
    pub done: Vec<Finding>,
}

impl Runs {
    pub fn new(person: &str, insurance: Insurance) -> Self {
        Runs {
            person: person.to_string(),
            insurance,
            open: Vec::new(),
            done: Vec::new(),
        }
    }

    /// Marks month `m` with `kind` at `employer`, adding `amount`; `other`
    /// is a second employer to name in the detail (overlaps).
    pub fn mark(
        &mut self,
        kind: FindingKind,
        employer: Option<&str>,
        m: Period,
        amount: Decimal,
        other: Option<&str>,
    ) {
        if let Some(i) = self.open.iter().position(|r| r.kind == kind) {
            let r = &mut self.open[i];
            if r.to == m && r.employer.as_deref() == employer {
                // Marked twice in one month (several other spells).
                if let Some(o) = other {
                    r.others.insert(o.to_string());
                }
                return;
            }
            if r.to.next() == m && r.employer.as_deref() == employer {
                r.to = m;
                r.months += 1;
                r.amount += amount;
                if let Some(o) = other {
                    r.others.insert(o.to_string());
                }
                return;
            }
            let r = self.open.swap_remove(i);
            self.close(r);
        }
        let mut others = BTreeSet::new();
        if let Some(o) = other {
            others.insert(o.to_string());
        }
        self.open.push(Run {
            kind,
            employer: employer.map(Id::from),
            from: m,
            to: m,
            months: 1,
            amount,
            others,
        });
    }

    fn close(&mut self, r: Run) {
        let amount = match r.kind {
            FindingKind::Arrears | FindingKind::Overpayment | FindingKind::UnmatchedPayment => {
                Some(r.amount)
            }
            _ => None,
        };
        let detail = detail(&r);
        self.done.push(Finding {
            kind: r.kind,
            person_id: Some(self.person.clone()),
            employer_id: r.employer.map(String::from),
            insurance: Some(self.insurance),
            from: Some(r.from),
            to: Some(r.to),
            months: Some(r.months),
            amount,
            detail,
        });
    }

    /// Closes every open run and returns all findings.
    pub fn finish(mut self) -> Vec<Finding> {
        let open = std::mem::take(&mut self.open);
        for r in open {
            self.close(r);
        }
        self.done
    }
}

fn detail(r: &Run) -> String {
    let span = if r.months == 1 {
        format!("{}", r.from)
    } else {
        format!("{}..{} ({} months)", r.from, r.to, r.months)
    };
    let at = r.employer.as_deref().map_or_else(
        || "as an individual".to_string(),
        |e| format!("at employer {e}"),
    );
    let others: Vec<&str> = r.others.iter().map(String::as_str).collect();
    match r.kind {
        FindingKind::ContributionGap => format!("No enrolment and no payment in {span} between covered months (断缴)."),
        FindingKind::Arrears => format!("Contributions due {at} were not paid in full for {span}; shortfall {}.", money(r.amount)),
        FindingKind::Overpayment => format!("Paid more than due {at} for {span}; excess {} held in suspense.", money(r.amount)),
        FindingKind::UnmatchedPayment => format!("Payments for {span} with no enrolment covering them; {} held in suspense.", money(r.amount)),
        FindingKind::PayerMismatch => format!("Months {span} covered {at} were paid (in part) by another payer."),
        FindingKind::NoRate => format!("No rate row applies {at} for {span}; due not computed."),
        FindingKind::BaseClamped => format!("Contribution base clamped into the rate row's floor/ceiling for {} month(s).", r.months),
        FindingKind::OverlappingEnrolment => format!("Enrolled {at} and also at employer {} in {span}; the earlier enrolment is primary.", others.join(", ")),
        FindingKind::IndividualEnrolmentBlocked => format!("Individual enrolment overlaps the enrolment {at} in {span}; the employer must file a decrease first."),
        _ => format!("{} for {span}.", r.kind.name()),
    }
}
