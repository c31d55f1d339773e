//! The rate table: which rate row applies to a region, insurance and month.
//!
//! SPEC §2/§7: the region's row holding the month, else the `*` row holding
//! it; among several rows holding it, the latest `from`, then the later row.
//! Lookups are answered from a dense month array per (region, insurance)
//! built once, so a ledger month costs two array reads.
//!
//! When no rates file is given or found, [`builtin`] supplies approximate
//! national norms (documented in the README, "Built-in rates").

use crate::model::{Insurance, Period, RateRow};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// Resolved rate rows for every (region, insurance, month) up to a horizon.
#[derive(Debug, Clone)]
pub struct RateTable {
    rows: Vec<RateRow>,
    start: Period,
    /// region (`None` = `*`) → per insurance → per month offset → row index.
    index: HashMap<Option<String>, Months>,
}

/// Per insurance, per month offset: the index of the row that applies.
type Months = [Vec<Option<u32>>; 5];

/// The rows of one region and of `*`, resolved once (e.g. per spell) so
/// that each month's look-up is two array reads, without hashing the
/// region again.
#[derive(Debug, Clone, Copy)]
pub struct RegionRates<'a> {
    table: &'a RateTable,
    own: Option<&'a Months>,
    star: Option<&'a Months>,
}

impl<'a> RegionRates<'a> {
    /// The row that applies in `month`: the region's, else `*`'s.
    pub fn lookup(&self, insurance: Insurance, month: Period) -> Option<&'a RateRow> {
        let t = self.table;
        if month < t.start {
            return None;
        }
        let off = (month.0 - t.start.0) as usize;
        let find =
            |m: Option<&Months>| m.and_then(|a| a[insurance as usize].get(off).copied().flatten());
        find(self.own)
            .or_else(|| find(self.star))
            .map(|i| &t.rows[i as usize])
    }
}

impl RateTable {
    /// Builds the table for months up to `through`.
    pub fn new(rows: Vec<RateRow>, through: Period) -> Self {
        let start = rows.iter().map(|r| r.from).min().unwrap_or(through);
        let len = (through.0 + 1).saturating_sub(start.0) as usize;
        let mut index: HashMap<Option<String>, Months> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            let arrs = index
                .entry(r.region.clone())
                .or_insert_with(|| std::array::from_fn(|_| vec![None; len]));
            let arr = &mut arrs[r.insurance as usize];
            let last = r.to.map_or(through.0, |t| t.0.min(through.0));
            let mut m = r.from.0;
            while m <= last {
                let slot = &mut arr[(m - start.0) as usize];
                let better = match *slot {
                    None => true,
                    // Latest `from`, then the later row (higher index).
                    Some(j) => rows[j as usize].from <= r.from,
                };
                if better {
                    *slot = Some(i as u32);
                }
                m += 1;
            }
        }
        RateTable { rows, start, index }
    }

    /// The rows of `region` (`None`: `*` only) and of `*`.
    pub fn for_region(&self, region: Option<&str>) -> RegionRates<'_> {
        RegionRates {
            table: self,
            own: region.and_then(|r| self.index.get(&Some(r.to_string()))),
            star: self.index.get(&None),
        }
    }

    /// The row that applies, if any. `region` `None` means `*` only.
    pub fn lookup(
        &self,
        region: Option<&str>,
        insurance: Insurance,
        month: Period,
    ) -> Option<&RateRow> {
        self.for_region(region).lookup(insurance, month)
    }
}

fn row(ins: Insurance, from: (u32, u32), to: Option<(u32, u32)>, er: &str, ir: &str) -> RateRow {
    let d = |s: &str| s.parse::<Decimal>().unwrap_or(Decimal::ZERO);
    RateRow {
        region: None,
        insurance: ins,
        from: Period::from_ym(from.0, from.1),
        to: to.map(|(y, m)| Period::from_ym(y, m)),
        employer_rate: d(er),
        individual_rate: d(ir),
        base_floor: None,
        base_ceiling: None,
    }
}

/// The built-in national default table: approximate national norms, region
/// `*`, no base floor or ceiling (those are regional). See the README.
pub fn builtin() -> Vec<RateRow> {
    use Insurance::*;
    vec![
        // Pension: 20 % + 8 %; employer rate cut to 16 % from May 2019.
        row(Pension, (1998, 1), Some((2019, 4)), "0.20", "0.08"),
        row(Pension, (2019, 5), None, "0.16", "0.08"),
        // Unemployment: 2 % + 1 %, 1.5 % + 0.5 % from Mar 2015,
        // 0.5 % + 0.5 % from May 2016.
        row(Unemployment, (1999, 1), Some((2015, 2)), "0.02", "0.01"),
        row(Unemployment, (2015, 3), Some((2016, 4)), "0.015", "0.005"),
        row(Unemployment, (2016, 5), None, "0.005", "0.005"),
        // Medical: 6 % + 2 %; 6.8 % from 2019 with maternity merged in.
        row(Medical, (1999, 1), Some((2018, 12)), "0.06", "0.02"),
        row(Medical, (2019, 1), None, "0.068", "0.02"),
        // Maternity: 0.8 % employer only, merged into medical from 2019.
        row(Maternity, (1999, 1), Some((2018, 12)), "0.008", "0"),
        // Work injury: 0.5 % employer only (industry average).
        row(Injury, (1999, 1), None, "0.005", "0"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(region: Option<&str>, from: u32, to: Option<u32>, er: &str) -> RateRow {
        RateRow {
            region: region.map(str::to_string),
            insurance: Insurance::Pension,
            from: Period(from),
            to: to.map(Period),
            employer_rate: er.parse().unwrap(),
            individual_rate: Decimal::ZERO,
            base_floor: None,
            base_ceiling: None,
        }
    }

    #[test]
    fn region_row_beats_star_then_latest_from_then_later_row() {
        let t = RateTable::new(
            vec![
                r(None, 10, None, "0.20"),
                r(Some("440305"), 12, Some(14), "0.14"),
                r(None, 13, None, "0.16"),
                r(None, 13, None, "0.17"),
            ],
            Period(20),
        );
        let er = |reg: Option<&str>, m: u32| {
            t.lookup(reg, Insurance::Pension, Period(m))
                .map(|x| x.employer_rate.to_string())
        };
        assert_eq!(er(Some("440305"), 11).as_deref(), Some("0.20"));
        assert_eq!(er(Some("440305"), 12).as_deref(), Some("0.14"));
        assert_eq!(er(Some("440305"), 15).as_deref(), Some("0.17"));
        assert_eq!(er(None, 12).as_deref(), Some("0.20"));
        assert_eq!(er(None, 9), None);
        assert_eq!(er(Some("999999"), 20).as_deref(), Some("0.17"));
        assert!(t.lookup(None, Insurance::Medical, Period(15)).is_none());
    }

    #[test]
    fn builtin_table_has_the_2019_pension_cut() {
        let t = RateTable::new(builtin(), Period::from_ym(2026, 10));
        let p = |y, m| {
            t.lookup(None, Insurance::Pension, Period::from_ym(y, m))
                .unwrap()
                .employer_rate
                .to_string()
        };
        assert_eq!(p(2019, 4), "0.20");
        assert_eq!(p(2019, 5), "0.16");
        assert!(t
            .lookup(None, Insurance::Maternity, Period::from_ym(2019, 1))
            .is_none());
    }
}
