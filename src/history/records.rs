//! The person's rows as `history` reads them from the output files: one
//! type per file (`ledger.csv`, `persons.csv`, `exceptions.csv`,
//! `makeup_cases.csv`) and the `YYYY-MM` month they are keyed by.
//!
//! Takes nothing but the parsed values ([`super::csvfile`] does the
//! reading); guarantees that a [`Ym`] is a valid calendar month and that
//! the derived amounts (shortfall, excess) never go negative. Kept apart
//! from the history proper because both the readers and the builder of
//! [`super::History`] depend on these types, and neither owns them.

use rust_decimal::Decimal;

/// One `ledger.csv` row (money parsed; empty values `None`).
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    pub insurance: String,
    pub period: Ym,
    pub employer_id: String,
    pub status: String,
    pub base: Option<Decimal>,
    pub due_employer: Option<Decimal>,
    pub due_individual: Option<Decimal>,
    pub paid_employer: Decimal,
    pub paid_individual: Decimal,
}

impl Month {
    pub fn is_covered(&self) -> bool {
        !matches!(self.status.as_str(), "unmatched" | "gap")
    }
    pub(super) fn shortfall(&self) -> Decimal {
        let de = self.due_employer.unwrap_or_default();
        let di = self.due_individual.unwrap_or_default();
        (de - self.paid_employer).max(Decimal::ZERO)
            + (di - self.paid_individual).max(Decimal::ZERO)
    }
    pub(super) fn excess(&self) -> Decimal {
        let de = self.due_employer.unwrap_or_default();
        let di = self.due_individual.unwrap_or_default();
        (self.paid_employer - de).max(Decimal::ZERO)
            + (self.paid_individual - di).max(Decimal::ZERO)
    }
}

/// One `persons.csv` row, kept as written.
#[derive(Debug, Clone, PartialEq)]
pub struct InsuranceSummary {
    pub insurance: String,
    pub first_period: String,
    pub last_period: String,
    pub months_covered: u64,
    pub months_paid: u64,
    pub months_short: u64,
    pub months_gap: u64,
    pub months_overlap: u64,
    pub pooled_total: Decimal,
    pub state: String,
}

/// One `exceptions.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: String,
    pub severity: String,
    pub person_id: String,
    pub employer_id: String,
    pub insurance: String,
    pub from: String,
    pub to: String,
    pub months: Option<u64>,
    pub amount: Option<Decimal>,
    pub detail: String,
}

impl Finding {
    /// Person-level identity findings (periods, insurance empty).
    pub fn is_identity(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "invalid_id_number" | "conflicting_identity" | "duplicate_person"
        )
    }
}

/// One `makeup_cases.csv` row.
#[derive(Debug, Clone, PartialEq)]
pub struct MakeupCase {
    pub employer_id: String,
    pub insurance: String,
    pub employer_status: String,
    pub closed_on: String,
    pub first_period: String,
    pub last_period: String,
    pub months: u64,
    pub principal_employer: Decimal,
    pub principal_individual: Decimal,
    pub late_fee: Decimal,
    pub total: Decimal,
    pub archive_transferred: String,
}

impl MakeupCase {
    /// The date the late fee accrued to: the bankruptcy date for a bankrupt
    /// employer, else the run's as-of date (SPEC §5).
    pub fn late_fee_to<'a>(&'a self, as_of: Option<&'a str>) -> Option<&'a str> {
        if self.employer_status == "bankrupt" && !self.closed_on.is_empty() {
            Some(&self.closed_on)
        } else {
            as_of
        }
    }
}

/// A calendar month as `year * 12 + month - 1`, parsed from `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ym(pub u32);

impl Ym {
    pub fn parse(s: &str) -> Option<Ym> {
        let b = s.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return None;
        }
        let y: u32 = s[..4].parse().ok()?;
        let m: u32 = s[5..].parse().ok()?;
        (1..=12).contains(&m).then_some(Ym(y * 12 + m - 1))
    }
    pub fn next(self) -> Ym {
        Ym(self.0 + 1)
    }
}

impl std::fmt::Display for Ym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.0 / 12, self.0 % 12 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ym() {
        assert_eq!(
            Ym::parse("2024-02").map(|p| p.to_string()),
            Some("2024-02".into())
        );
        assert_eq!(
            Ym::parse("2024-12").map(|p| p.next().to_string()),
            Some("2025-01".into())
        );
        for bad in [
            "2024-13",
            "2024-00",
            "202402",
            "2024/02",
            "24-02",
            "2024-2",
            "２０２４-02",
        ] {
            assert_eq!(Ym::parse(bad), None, "{bad}");
        }
    }
}
