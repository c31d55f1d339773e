//! The generator's rate schedule: what `rates.csv` says, and the same
//! numbers as a dense lookup table so that every generated payment equals
//! the due amount the engine will compute from that file.
//!
//! Rates are integer units of 1/10000, floors and ceilings whole yuan held
//! as cents. National (`*`) rows follow the approximate national history
//! (pension employer 20 % → 19 % from 2016-05 → 16 % from 2019-05;
//! unemployment cut in 2015 and 2016; maternity merged into medical from
//! 2019-01, so it has no row after 2018-12). Two regions have rows of their
//! own for some insurances; the others fall back to `*`, as the engine's
//! look-up does. Floors and ceilings are 60 % and 300 % of an average wage
//! that grows 6.5 % a year (3000 yuan a month in 2010).

use super::text::{push_cents, push_period, push_rate};

/// Insurance types, in the order the generator enrols them.
pub const INS_NAMES: [&str; 5] = ["pension", "medical", "unemployment", "injury", "maternity"];
pub const PENSION: usize = 0;
pub const MEDICAL: usize = 1;
pub const MATERNITY: usize = 4;

/// Rate keys: 0 = `*`; 1 and 2 are regions with rows of their own.
pub const KEYS: usize = 3;
pub const KEY_REGIONS: [&str; KEYS] = ["*", "440305", "310101"];

/// The rate row that applies to one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub er: u32,
    pub ir: u32,
    pub floor: i64,
    pub ceil: i64,
}

impl Params {
    /// Base clamped into [floor, ceiling], and the two due amounts, all in
    /// cents: round(base × rate, 2), half away from zero (base ≥ 0).
    #[inline]
    pub fn due(&self, base: i64) -> (i64, i64, i64) {
        let b = base.clamp(self.floor, self.ceil);
        let de = (b * i64::from(self.er) + 5_000) / 10_000;
        let di = (b * i64::from(self.ir) + 5_000) / 10_000;
        (b, de, di)
    }
}

const fn ym(y: u32, m: u32) -> u32 {
    y * 12 + m - 1
}

/// First month without maternity insurance (merged into medical).
pub const MATERNITY_END: u32 = ym(2019, 1);

/// Average monthly wage of a year, whole yuan.
pub fn avg_wage(year: u32) -> i64 {
    let mut a: i64 = 3000;
    if year >= 2010 {
        for _ in 2010..year {
            a = a * 1065 / 1000;
        }
    } else {
        for _ in year..2010 {
            a = a * 1000 / 1065;
        }
    }
    a
}

fn limits(avg: i64) -> (i64, i64) {
    (avg * 60 / 100 * 100, avg * 3 * 100)
}

fn national(ins: usize, m: u32) -> Option<Params> {
    let (er, ir) = match ins {
        PENSION => (
            if m < ym(2016, 5) {
                2000
            } else if m < ym(2019, 5) {
                1900
            } else {
                1600
            },
            800,
        ),
        MEDICAL => (if m < MATERNITY_END { 600 } else { 680 }, 200),
        2 => {
            if m < ym(2015, 3) {
                (200, 100)
            } else if m < ym(2016, 5) {
                (150, 50)
            } else {
                (50, 50)
            }
        }
        3 => (if m < ym(2015, 10) { 50 } else { 40 }, 0),
        _ => {
            if m >= MATERNITY_END {
                return None;
            }
            (if m < ym(2015, 10) { 80 } else { 50 }, 0)
        }
    };
    let (floor, ceil) = limits(avg_wage(m / 12));
    Some(Params {
        er,
        ir,
        floor,
        ceil,
    })
}

/// The row a key's own table has for the month (not the `*` fallback).
fn specific(key: usize, ins: usize, m: u32) -> Option<Params> {
    match key {
        0 => national(ins, m),
        1 => {
            // Shenzhen (440305): lower pension employer rate, own medical
            // rates, limits from a higher local average wage.
            let (er, ir) = match ins {
                PENSION => (if m < ym(2022, 1) { 1400 } else { 1500 }, 800),
                MEDICAL => (if m < MATERNITY_END { 620 } else { 650 }, 200),
                _ => return None,
            };
            let (floor, ceil) = limits(avg_wage(m / 12) * 125 / 100);
            Some(Params {
                er,
                ir,
                floor,
                ceil,
            })
        }
        _ => {
            // Shanghai (310101): national pension rates, own medical rate,
            // limits from a higher local average wage.
            let (er, ir) = match ins {
                PENSION => {
                    let p = national(PENSION, m)?;
                    (p.er, p.ir)
                }
                MEDICAL => (if m < MATERNITY_END { 950 } else { 1050 }, 200),
                _ => return None,
            };
            let (floor, ceil) = limits(avg_wage(m / 12) * 140 / 100);
            Some(Params {
                er,
                ir,
                floor,
                ceil,
            })
        }
    }
}

/// Dense look-up: key × insurance × month → the applicable row, with the
/// engine's fallback to `*` already applied.
pub struct Schedule {
    first: u32,
    len: usize,
    table: Vec<Option<Params>>,
}

impl Schedule {
    /// Covers months `first..=last`.
    pub fn new(first: u32, last: u32) -> Self {
        let len = (last + 1 - first) as usize;
        let mut table = Vec::with_capacity(KEYS * 5 * len);
        for key in 0..KEYS {
            for ins in 0..5 {
                for k in 0..len {
                    let m = first + k as u32;
                    table.push(specific(key, ins, m).or_else(|| national(ins, m)));
                }
            }
        }
        Schedule { first, len, table }
    }

    #[inline]
    pub fn get(&self, key: usize, ins: usize, m: u32) -> Option<Params> {
        let k = m.checked_sub(self.first)? as usize;
        if k >= self.len {
            return None;
        }
        self.table[(key * 5 + ins) * self.len + k]
    }
}

/// `rates.csv` for months `first..=last`: one row per run of months with
/// the same parameters; a run reaching `last` is left open (`to` empty).
pub fn rates_csv(first: u32, last: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 * 1024);
    b.extend_from_slice(
        b"region,insurance,from,to,employer_rate,individual_rate,base_floor,base_ceiling\n",
    );
    let start = first - first % 12;
    for key in [0, 2, 1] {
        for (ins, ins_name) in INS_NAMES.iter().enumerate() {
            let mut m = start;
            while m <= last {
                let Some(p) = specific(key, ins, m) else {
                    m += 1;
                    continue;
                };
                let mut end = m;
                while end < last && specific(key, ins, end + 1) == Some(p) {
                    end += 1;
                }
                b.extend_from_slice(KEY_REGIONS[key].as_bytes());
                b.push(b',');
                b.extend_from_slice(ins_name.as_bytes());
                b.push(b',');
                push_period(&mut b, m);
                b.push(b',');
                if end < last {
                    push_period(&mut b, end);
                }
                b.push(b',');
                push_rate(&mut b, p.er);
                b.push(b',');
                push_rate(&mut b, p.ir);
                b.push(b',');
                push_cents(&mut b, p.floor);
                b.push(b',');
                push_cents(&mut b, p.ceil);
                b.push(b'\n');
                m = end + 1;
            }
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_rounds_half_away_from_zero_on_the_clamped_base() {
        let p = Params {
            er: 1600,
            ir: 800,
            floor: 300_000,
            ceil: 1_500_000,
        };
        // 4567.89 × 0.16 = 730.8624 → 730.86; × 0.08 = 365.4312 → 365.43
        assert_eq!(p.due(456_789), (456_789, 73_086, 36_543));
        // Clamped up to the floor: 3000 × 0.16 = 480.00
        assert_eq!(p.due(100_000), (300_000, 48_000, 24_000));
        let q = Params {
            er: 50,
            ir: 0,
            floor: 0,
            ceil: i64::MAX / 20_000,
        };
        // 1234.50 × 0.005 = 6.1725 → 6.17; 1235.00 × 0.005 = 6.175 → 6.18
        assert_eq!(q.due(123_450).1, 617);
        assert_eq!(q.due(123_500).1, 618);
    }

    #[test]
    fn table_falls_back_to_national_and_maternity_ends() {
        let s = Schedule::new(ym(2015, 1), ym(2026, 11));
        assert_eq!(s.get(1, 2, ym(2020, 1)), national(2, ym(2020, 1)));
        assert_eq!(s.get(1, PENSION, ym(2020, 1)).map(|p| p.er), Some(1400));
        assert!(s.get(0, MATERNITY, ym(2018, 12)).is_some());
        assert!(s.get(0, MATERNITY, ym(2019, 1)).is_none());
        assert!(s.get(0, PENSION, ym(2014, 12)).is_none());
    }

    #[test]
    fn csv_rows_cover_every_month_once() {
        let text = String::from_utf8(rates_csv(ym(2016, 11), ym(2026, 10))).unwrap();
        let pension_star: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("*,pension,"))
            .collect();
        assert_eq!(
            pension_star.first().unwrap(),
            &"*,pension,2016-01,2016-04,0.2,0.08,2625.00,13125.00"
        );
        assert!(pension_star
            .last()
            .unwrap()
            .starts_with("*,pension,2026-01,,0.16,0.08,"));
        let mat: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("*,maternity,"))
            .collect();
        assert!(mat
            .last()
            .unwrap()
            .starts_with("*,maternity,2018-01,2018-12,"));
    }
}
