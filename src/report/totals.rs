//! The ledger's money by month, in integer cents: summed by the run as it
//! writes `ledger.csv` (so the report need not read the largest output
//! back) or, for `contrib-recon report`, from the file; and the parsers of
//! the two-decimal amounts and `YYYY-MM` months the outputs carry.

use std::collections::BTreeMap;

/// Money in cents (outputs carry exactly two decimals).
pub type Cents = i128;

/// Due and paid summed over one month of the ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MonthTotals {
    pub due: Cents,
    pub paid: Cents,
    pub rows: u64,
}

/// `ledger.csv` summed: per month, and in all.
///
/// Months are a dense run from the first to the last month seen (a ledger
/// spans decades at most), because the run adds every person's months
/// on the single writer thread: an index, not a tree search, per month.
#[derive(Debug, Clone, Default)]
pub struct LedgerTotals {
    /// Month index of `dense[0]`.
    first: u32,
    dense: Vec<MonthTotals>,
    pub rows: u64,
    pub paid: Cents,
}

impl LedgerTotals {
    /// Adds `rows` ledger rows of month `period` (a month index).
    pub fn add(&mut self, period: u32, due: Cents, paid: Cents, rows: u64) {
        if self.dense.is_empty() {
            self.first = period;
        } else if period < self.first {
            let grow = (self.first - period) as usize;
            self.dense
                .splice(0..0, std::iter::repeat(MonthTotals::default()).take(grow));
            self.first = period;
        }
        let i = (period - self.first) as usize;
        if i >= self.dense.len() {
            self.dense.resize(i + 1, MonthTotals::default());
        }
        let t = &mut self.dense[i];
        t.due += due;
        t.paid += paid;
        t.rows += rows;
        self.rows += rows;
        self.paid += paid;
    }

    /// Every month with rows, by month index.
    pub fn months(&self) -> BTreeMap<u32, MonthTotals> {
        (self.first..)
            .zip(&self.dense)
            .filter(|(_, t)| t.rows > 0)
            .map(|(p, t)| (p, *t))
            .collect()
    }
}

impl PartialEq for LedgerTotals {
    fn eq(&self, o: &Self) -> bool {
        (self.rows, self.paid) == (o.rows, o.paid) && self.months() == o.months()
    }
}

/// Parses an amount into cents: `-?digits(.d{1,2})?` fast, anything else
/// through `Decimal` (rounded half away from zero).
pub fn parse_cents(v: &[u8]) -> Option<Cents> {
    let (neg, digits) = match v.first() {
        Some(b'-') => (true, &v[1..]),
        Some(b'+') => (false, &v[1..]),
        _ => (false, v),
    };
    let (int, frac) = match digits.iter().position(|&b| b == b'.') {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, &[][..]),
    };
    if !int.is_empty()
        && int.len() <= 30
        && frac.len() <= 2
        && int.iter().chain(frac).all(u8::is_ascii_digit)
    {
        let mut n: Cents = 0;
        for &b in int {
            n = n * 10 + Cents::from(b - b'0');
        }
        let mut f: Cents = 0;
        for k in 0..2 {
            f = f * 10 + frac.get(k).map_or(0, |&b| Cents::from(b - b'0'));
        }
        let c = n * 100 + f;
        return Some(if neg { -c } else { c });
    }
    let s = std::str::from_utf8(v).ok()?;
    let d: rust_decimal::Decimal = s.parse().ok()?;
    let d = d.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        * rust_decimal::Decimal::from(100);
    rust_decimal::prelude::ToPrimitive::to_i128(&d.trunc())
}

/// `YYYY-MM` → month index.
pub(super) fn month_index(v: &[u8]) -> Option<u32> {
    if v.len() != 7 || v[4] != b'-' {
        return None;
    }
    let num = |s: &[u8]| -> Option<u32> {
        s.iter().try_fold(0u32, |a, &b| {
            b.is_ascii_digit().then(|| a * 10 + u32::from(b - b'0'))
        })
    };
    let y = num(&v[..4])?;
    let m = num(&v[5..])?;
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents() {
        assert_eq!(parse_cents(b"1234.56"), Some(123456));
        assert_eq!(parse_cents(b"-0.05"), Some(-5));
        assert_eq!(parse_cents(b"7"), Some(700));
        assert_eq!(parse_cents(b"7.5"), Some(750));
        assert_eq!(parse_cents(b"1.005"), Some(101));
        assert_eq!(parse_cents(b"-1.005"), Some(-101));
        assert_eq!(parse_cents(b"x"), None);
        assert_eq!(parse_cents(b""), None);
        assert_eq!(parse_cents(b"."), None);
    }

    #[test]
    fn months() {
        assert_eq!(month_index(b"2024-01"), Some(2024 * 12));
        assert_eq!(month_index(b"2024-13"), None);
        assert_eq!(month_index(b"2024/01"), None);
    }

    #[test]
    fn ledger_totals_in_any_month_order() {
        let mut t = LedgerTotals::default();
        t.add(24_300, 100, 90, 1);
        t.add(24_290, 5, 5, 2); // before the first month: grows at the front
        t.add(24_305, 7, 0, 1); // after the last: grows at the back
        t.add(24_300, 1, 1, 1);
        let months: Vec<_> = t.months().into_iter().collect();
        let m = |due, paid, rows| MonthTotals { due, paid, rows };
        assert_eq!(
            months,
            vec![
                (24_290, m(5, 5, 2)),
                (24_300, m(101, 91, 2)),
                (24_305, m(7, 0, 1))
            ]
        );
        assert_eq!((t.rows, t.paid), (5, 96));
    }
}
