//! The typed records the pipeline passes between stages.
//!
//! Ingest turns text rows into these; reconcile reads them and never sees
//! text again. Periods are month indexes, money is `Decimal`, dates are
//! `NaiveDate`. Coded values are enums whose `Ord` is the SPEC's sort order.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::fmt;

/// An identifier (person, employer). Ids are short, so they are stored
/// inline (up to 24 bytes) instead of one heap allocation per row.
pub type Id = compact_str::CompactString;

/// An id's place in byte order, held compactly: its first 16 bytes as two
/// big-endian integers (zero padded) and its length. Two of them compare
/// like their ids, reading the ids only when both are longer than 16
/// bytes and share their first 16 — so sorting and range look-ups need
/// not follow a pointer (and miss the cache) per comparison.
#[derive(Clone, Copy, Debug)]
pub struct IdOrder {
    pub hi: u64,
    pub lo: u64,
    pub len: u32,
}

impl IdOrder {
    pub fn new(id: &str) -> IdOrder {
        let b = id.as_bytes();
        let mut buf = [0u8; 16];
        let n = b.len().min(16);
        buf[..n].copy_from_slice(&b[..n]);
        let [hi, lo] =
            [&buf[..8], &buf[8..]].map(|h| u64::from_be_bytes(h.try_into().unwrap_or_default()));
        IdOrder {
            hi,
            lo,
            len: u32::try_from(b.len()).unwrap_or(u32::MAX),
        }
    }

    /// Compares the ids of two orders; `ids` gives the ids themselves
    /// when the orders cannot tell.
    pub fn cmp_with<'s>(
        &self,
        other: &IdOrder,
        ids: impl FnOnce() -> (&'s str, &'s str),
    ) -> std::cmp::Ordering {
        (self.hi, self.lo).cmp(&(other.hi, other.lo)).then_with(|| {
            if self.len <= 16 && other.len <= 16 {
                // Equal padded prefixes: the shorter id is a prefix of
                // the longer.
                self.len.cmp(&other.len)
            } else {
                let (a, b) = ids();
                a.cmp(b)
            }
        })
    }
}

/// A calendar month as an index: `year * 12 + (month - 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(pub u32);

impl Period {
    /// The month `year`-`month` (month 1..=12).
    pub fn from_ym(year: u32, month: u32) -> Period {
        Period(year * 12 + month - 1)
    }
    pub fn year(self) -> u32 {
        self.0 / 12
    }
    pub fn month(self) -> u32 {
        self.0 % 12 + 1
    }
    pub fn next(self) -> Period {
        Period(self.0 + 1)
    }
    pub fn prev(self) -> Period {
        Period(self.0.saturating_sub(1))
    }
    /// The month holding `date`.
    pub fn of_date(date: NaiveDate) -> Period {
        use chrono::Datelike;
        Period::from_ym(date.year() as u32, date.month())
    }
    /// The first day of this month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year() as i32, self.month(), 1).unwrap_or(NaiveDate::MIN)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// Insurance type; `Ord` follows the canonical names (injury < maternity <
/// medical < pension < unemployment), the SPEC's output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Insurance {
    Injury,
    Maternity,
    Medical,
    Pension,
    Unemployment,
}

impl Insurance {
    pub const ALL: [Insurance; 5] = [
        Insurance::Injury,
        Insurance::Maternity,
        Insurance::Medical,
        Insurance::Pension,
        Insurance::Unemployment,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Insurance::Injury => "injury",
            Insurance::Maternity => "maternity",
            Insurance::Medical => "medical",
            Insurance::Pension => "pension",
            Insurance::Unemployment => "unemployment",
        }
    }
}

/// 增减员 action; `Ord` is the processing order within one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    Decrease,
    Increase,
    Adjust,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Decrease => "decrease",
            Action::Increase => "increase",
            Action::Adjust => "adjust",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmployerStatus {
    Active,
    Suspended,
    Bankrupt,
    Dissolved,
    Cancelled,
}

impl EmployerStatus {
    pub fn name(self) -> &'static str {
        match self {
            EmployerStatus::Active => "active",
            EmployerStatus::Suspended => "suspended",
            EmployerStatus::Bankrupt => "bankrupt",
            EmployerStatus::Dissolved => "dissolved",
            EmployerStatus::Cancelled => "cancelled",
        }
    }
    /// Bankrupt, dissolved and cancelled employers are closed.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            EmployerStatus::Bankrupt | EmployerStatus::Dissolved | EmployerStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayKind {
    Normal,
    Makeup,
    Refund,
}

/// One standing row of the employer registry.
#[derive(Debug, Clone, PartialEq)]
pub struct Employer {
    pub id: String,
    pub name: Option<String>,
    pub credit_code: Option<String>,
    pub status: EmployerStatus,
    pub status_date: Option<NaiveDate>,
    pub region: Option<String>,
    pub archive_transferred: Option<bool>,
}

impl Employer {
    /// The closure date when the employer is closed.
    pub fn closed_on(&self) -> Option<NaiveDate> {
        if self.status.is_closed() {
            self.status_date
        } else {
            None
        }
    }
}

/// One accepted increase/decrease/adjust event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in file order (kind-wide), the tie-breaker of the SPEC.
    pub seq: u64,
    pub person_id: Id,
    pub id_number: Option<String>,
    /// `None`: individual (flexible-employment) enrolment.
    pub employer_id: Option<Id>,
    pub insurance: Insurance,
    pub action: Action,
    pub period: Period,
    pub base: Option<rust_decimal::Decimal>,
    pub reason: Option<String>,
}

/// One accepted payment row, amounts already signed (refunds negative).
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub person_id: Id,
    /// `None`: paid by the person as an individual.
    pub employer_id: Option<Id>,
    pub insurance: Insurance,
    pub period: Period,
    pub employer_amount: Decimal,
    pub individual_amount: Decimal,
}

/// One rate-table row.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    /// `None` is `*` (any region).
    pub region: Option<String>,
    pub insurance: Insurance,
    pub from: Period,
    pub to: Option<Period>,
    pub employer_rate: Decimal,
    pub individual_rate: Decimal,
    pub base_floor: Option<Decimal>,
    pub base_ceiling: Option<Decimal>,
}
