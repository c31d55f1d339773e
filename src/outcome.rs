//! What reconciliation produces: typed output rows and money totals.
//!
//! These are the rows of `ledger.csv`, `persons.csv`, `exceptions.csv`,
//! `makeup_cases.csv` and (derived from the ledger) `pooling.csv`, kept
//! typed until the writer formats them. `Totals` add up across persons in
//! any order (the sums are exact decimals), which is what makes the summary
//! independent of the thread count.

use crate::model::{EmployerStatus, Insurance, Period};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Month status (SPEC §3), in the order `summary.json` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Overlap,
    Unrated,
    Arrears,
    Underpaid,
    Overpaid,
    Paid,
    Unmatched,
    Gap,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Overlap,
        Status::Unrated,
        Status::Arrears,
        Status::Underpaid,
        Status::Overpaid,
        Status::Paid,
        Status::Unmatched,
        Status::Gap,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Status::Overlap => "overlap",
            Status::Unrated => "unrated",
            Status::Arrears => "arrears",
            Status::Underpaid => "underpaid",
            Status::Overpaid => "overpaid",
            Status::Paid => "paid",
            Status::Unmatched => "unmatched",
            Status::Gap => "gap",
        }
    }
    pub fn is_covered(self) -> bool {
        !matches!(self, Status::Unmatched | Status::Gap)
    }
    pub fn is_pooled(self) -> bool {
        matches!(self, Status::Paid | Status::Overpaid)
    }
    pub fn is_short(self) -> bool {
        matches!(self, Status::Arrears | Status::Underpaid)
    }
}

/// One row of `ledger.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub insurance: Insurance,
    pub period: Period,
    pub employer_id: Option<crate::model::Id>,
    pub status: Status,
    pub base: Option<Decimal>,
    pub due_employer: Option<Decimal>,
    pub due_individual: Option<Decimal>,
    pub paid_employer: Decimal,
    pub paid_individual: Decimal,
}

impl LedgerRow {
    /// `(pooled_employer, pooled_individual)` for a pooled month.
    pub fn pooled(&self) -> Option<(Decimal, Decimal)> {
        if !self.status.is_pooled() {
            return None;
        }
        let de = self.due_employer.unwrap_or_default();
        let di = self.due_individual.unwrap_or_default();
        Some((self.paid_employer.min(de), self.paid_individual.min(di)))
    }
}

/// Finding kinds (SPEC §4), in the alphabetical order of their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingKind {
    ArchiveNotTransferred,
    Arrears,
    BaseClamped,
    ConflictingIdentity,
    ContributionGap,
    DuplicateIncrease,
    DuplicatePerson,
    IndividualEnrolmentBlocked,
    InvalidCreditCode,
    InvalidIdNumber,
    MakeupRequired,
    NoRate,
    OrphanAdjust,
    OrphanDecrease,
    OverlappingEnrolment,
    Overpayment,
    PayerMismatch,
    StrandedEnrolment,
    UnknownEmployer,
    UnmatchedPayment,
}

impl FindingKind {
    pub const ALL: [FindingKind; 20] = [
        FindingKind::ArchiveNotTransferred,
        FindingKind::Arrears,
        FindingKind::BaseClamped,
        FindingKind::ConflictingIdentity,
        FindingKind::ContributionGap,
        FindingKind::DuplicateIncrease,
        FindingKind::DuplicatePerson,
        FindingKind::IndividualEnrolmentBlocked,
        FindingKind::InvalidCreditCode,
        FindingKind::InvalidIdNumber,
        FindingKind::MakeupRequired,
        FindingKind::NoRate,
        FindingKind::OrphanAdjust,
        FindingKind::OrphanDecrease,
        FindingKind::OverlappingEnrolment,
        FindingKind::Overpayment,
        FindingKind::PayerMismatch,
        FindingKind::StrandedEnrolment,
        FindingKind::UnknownEmployer,
        FindingKind::UnmatchedPayment,
    ];
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::ArchiveNotTransferred => "archive_not_transferred",
            FindingKind::Arrears => "arrears",
            FindingKind::BaseClamped => "base_clamped",
            FindingKind::ConflictingIdentity => "conflicting_identity",
            FindingKind::ContributionGap => "contribution_gap",
            FindingKind::DuplicateIncrease => "duplicate_increase",
            FindingKind::DuplicatePerson => "duplicate_person",
            FindingKind::IndividualEnrolmentBlocked => "individual_enrolment_blocked",
            FindingKind::InvalidCreditCode => "invalid_credit_code",
            FindingKind::InvalidIdNumber => "invalid_id_number",
            FindingKind::MakeupRequired => "makeup_required",
            FindingKind::NoRate => "no_rate",
            FindingKind::OrphanAdjust => "orphan_adjust",
            FindingKind::OrphanDecrease => "orphan_decrease",
            FindingKind::OverlappingEnrolment => "overlapping_enrolment",
            FindingKind::Overpayment => "overpayment",
            FindingKind::PayerMismatch => "payer_mismatch",
            FindingKind::StrandedEnrolment => "stranded_enrolment",
            FindingKind::UnknownEmployer => "unknown_employer",
            FindingKind::UnmatchedPayment => "unmatched_payment",
        }
    }
    pub fn severity(self) -> &'static str {
        use FindingKind::*;
        match self {
            Arrears
            | MakeupRequired
            | StrandedEnrolment
            | OverlappingEnrolment
            | IndividualEnrolmentBlocked
            | NoRate => "error",
            BaseClamped => "info",
            _ => "warning",
        }
    }
}

/// One row of `exceptions.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    pub person_id: Option<String>,
    pub employer_id: Option<String>,
    pub insurance: Option<Insurance>,
    pub from: Option<Period>,
    pub to: Option<Period>,
    pub months: Option<u32>,
    pub amount: Option<Decimal>,
    pub detail: String,
}

impl Finding {
    /// A finding about a person or an employer as a whole: no insurance,
    /// periods, months or amount.
    pub fn whole(
        kind: FindingKind,
        person: Option<&str>,
        employer: Option<&str>,
        detail: String,
    ) -> Self {
        Finding {
            kind,
            person_id: person.map(str::to_string),
            employer_id: employer.map(str::to_string),
            insurance: None,
            from: None,
            to: None,
            months: None,
            amount: None,
            detail,
        }
    }

    /// SPEC §6/§7 order: person_id, insurance, from_period, kind,
    /// employer_id, then to_period, months, amount, detail. Empty first.
    pub fn sort_key_cmp(&self, o: &Finding) -> std::cmp::Ordering {
        fn s(x: &Option<String>) -> &str {
            x.as_deref().unwrap_or("")
        }
        s(&self.person_id)
            .cmp(s(&o.person_id))
            .then_with(|| self.insurance.cmp(&o.insurance))
            .then_with(|| self.from.cmp(&o.from))
            .then_with(|| self.kind.name().cmp(o.kind.name()))
            .then_with(|| s(&self.employer_id).cmp(s(&o.employer_id)))
            .then_with(|| self.to.cmp(&o.to))
            .then_with(|| self.months.cmp(&o.months))
            .then_with(|| self.amount.cmp(&o.amount))
            .then_with(|| self.detail.cmp(&o.detail))
    }
}

/// One row of `makeup_cases.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeupCase {
    pub person_id: String,
    pub employer_id: String,
    pub insurance: Insurance,
    pub employer_status: EmployerStatus,
    pub closed_on: NaiveDate,
    pub first_period: Period,
    pub last_period: Period,
    pub months: u32,
    pub principal_employer: Decimal,
    pub principal_individual: Decimal,
    pub late_fee: Decimal,
    pub archive_transferred: Option<bool>,
}

impl MakeupCase {
    pub fn total(&self) -> Decimal {
        self.principal_employer + self.principal_individual + self.late_fee
    }
}

/// One row of `persons.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonRow {
    pub insurance: Insurance,
    pub first_period: Period,
    pub last_period: Period,
    pub months_covered: u32,
    pub months_paid: u32,
    pub months_short: u32,
    pub months_gap: u32,
    pub months_overlap: u32,
    pub pooled_total: Decimal,
    pub covered: bool,
}

/// An exact running sum of money. Amounts with at most two decimals
/// (nearly all of them) are added as integer cents, the rest as
/// `Decimal`: the same exact total as adding `Decimal`s, for a fraction
/// of the work on the per-row path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum {
    cents: i128,
    rest: Decimal,
}

impl Sum {
    /// The exact total. (Past `Decimal`'s range, about 8 × 10^26 yuan,
    /// it stops at `Decimal::MAX`; adding `Decimal`s would have
    /// overflowed there too.)
    pub fn value(&self) -> Decimal {
        Decimal::try_from_i128_with_scale(self.cents, 2)
            .ok()
            .and_then(|c| c.checked_add(self.rest))
            .unwrap_or(Decimal::MAX)
    }
}

impl std::ops::AddAssign<Decimal> for Sum {
    #[inline]
    fn add_assign(&mut self, d: Decimal) {
        match d.scale() {
            0 => self.cents += d.mantissa() * 100,
            1 => self.cents += d.mantissa() * 10,
            2 => self.cents += d.mantissa(),
            _ => self.rest += d,
        }
    }
}

impl std::ops::AddAssign<Sum> for Sum {
    fn add_assign(&mut self, o: Sum) {
        self.cents += o.cents;
        self.rest += o.rest;
    }
}

impl PartialEq for Sum {
    fn eq(&self, o: &Self) -> bool {
        self.value() == o.value()
    }
}

/// Exact money and count totals; `+=` in any order gives the same result.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub ledger_status: [u64; 8],
    pub pooling_rows: u64,
    pub pooled_employer: Sum,
    pub pooled_individual: Sum,
    pub excess_over_due: Sum,
    pub unmatched: Sum,
    pub arrears_underpaid: Sum,
    pub overlap: Sum,
    pub unrated: Sum,
    pub due_employer: Sum,
    pub due_individual: Sum,
    pub shortfall: Sum,
    pub paid_employer_in_ledger: Sum,
    pub paid_individual_in_ledger: Sum,
    pub makeup_principal: Sum,
    pub makeup_late_fee: Sum,
    pub deferred: Sum,
    pub payments_deferred: u64,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        for (a, b) in self.ledger_status.iter_mut().zip(o.ledger_status) {
            *a += b;
        }
        self.pooling_rows += o.pooling_rows;
        self.pooled_employer += o.pooled_employer;
        self.pooled_individual += o.pooled_individual;
        self.excess_over_due += o.excess_over_due;
        self.unmatched += o.unmatched;
        self.arrears_underpaid += o.arrears_underpaid;
        self.overlap += o.overlap;
        self.unrated += o.unrated;
        self.due_employer += o.due_employer;
        self.due_individual += o.due_individual;
        self.shortfall += o.shortfall;
        self.paid_employer_in_ledger += o.paid_employer_in_ledger;
        self.paid_individual_in_ledger += o.paid_individual_in_ledger;
        self.makeup_principal += o.makeup_principal;
        self.makeup_late_fee += o.makeup_late_fee;
        self.deferred += o.deferred;
        self.payments_deferred += o.payments_deferred;
    }

    /// Everything paid into the ledger that was not pooled.
    pub fn suspense(&self) -> Decimal {
        [
            self.excess_over_due,
            self.unmatched,
            self.arrears_underpaid,
            self.overlap,
            self.unrated,
        ]
        .iter()
        .map(Sum::value)
        .sum()
    }

    /// Accounts for one ledger row.
    pub fn add_ledger_row(&mut self, r: &LedgerRow) {
        let idx = Status::ALL.iter().position(|s| *s == r.status).unwrap_or(0);
        self.ledger_status[idx] += 1;
        let paid = r.paid_employer + r.paid_individual;
        self.paid_employer_in_ledger += r.paid_employer;
        self.paid_individual_in_ledger += r.paid_individual;
        let de = r.due_employer.unwrap_or_default();
        let di = r.due_individual.unwrap_or_default();
        match r.status {
            Status::Paid | Status::Overpaid => {
                let (pe, pi) = r.pooled().unwrap_or_default();
                self.pooling_rows += 1;
                self.pooled_employer += pe;
                self.pooled_individual += pi;
                self.excess_over_due += paid - pe - pi;
                self.due_employer += de;
                self.due_individual += di;
            }
            Status::Arrears | Status::Underpaid => {
                self.arrears_underpaid += paid;
                self.due_employer += de;
                self.due_individual += di;
                self.shortfall += (de - r.paid_employer).max(Decimal::ZERO)
                    + (di - r.paid_individual).max(Decimal::ZERO);
            }
            Status::Unmatched => self.unmatched += paid,
            Status::Overlap => self.overlap += paid,
            Status::Unrated => self.unrated += paid,
            Status::Gap => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn sum_of_mixed_scales_equals_decimal_sum() {
        let amounts = ["12", "0.5", "-3.25", "1.005", "0.0001", "-7", "99999999.99"];
        let (mut sum, mut exact) = (Sum::default(), Decimal::ZERO);
        for a in amounts {
            let d = Decimal::from_str(a).unwrap();
            sum += d;
            exact += d;
        }
        assert_eq!(sum.value(), exact);
        let mut twice = sum;
        twice += sum;
        assert_eq!(twice.value(), exact * Decimal::TWO);
        assert_eq!(Sum::default().value(), Decimal::ZERO);
    }
}
