//! Periods (months) and dates in the spellings SPEC §2/§7 allow.

use crate::model::Period;
use chrono::NaiveDate;

const MIN_YEAR: u32 = 1950;
const MAX_YEAR: u32 = 2100;

fn ascii_num(s: &str, min_len: usize, max_len: usize) -> Option<u32> {
    if s.len() < min_len || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn year_ok(y: u32) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&y)
}

/// Splits `s` into `N` numeric parts for the separated forms: `Y-M`,
/// `Y/M`, `Y.M`, `Y年M月` (and with a third part for dates); `None` if the
/// separators are mixed, absent or the part count is not `N`.
fn split_parts<const N: usize>(s: &str) -> Option<[&str; N]> {
    let mut out = [""; N];
    if let Some(rest) = s.strip_suffix(if N == 2 { "月" } else { "日" }) {
        // Chinese form: 2023年1月 / 2023年1月5日
        let (y, rest) = rest.split_once('年')?;
        out[0] = y;
        if N == 2 {
            out[1] = rest;
        } else {
            let (m, d) = rest.split_once('月')?;
            out[1] = m;
            out[2] = d;
        }
        return Some(out);
    }
    let sep = [b'-', b'/', b'.']
        .into_iter()
        .find(|&c| s.as_bytes().contains(&c))?;
    // Both separators must be the same: any other separator char inside a
    // part makes that part non-numeric and fails later.
    let mut parts = s.split(char::from(sep));
    for slot in out.iter_mut() {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

/// `YYYY-MM` with ASCII digits: the spelling nearly every export uses.
fn dashed_month(b: &[u8]) -> Option<(u32, u32)> {
    let d = |i: usize| u32::from(b[i].wrapping_sub(b'0'));
    if b.len() != 7 || b[4] != b'-' {
        return None;
    }
    let all = [0, 1, 2, 3, 5, 6].iter().all(|&i| b[i].is_ascii_digit());
    all.then(|| {
        (
            d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3),
            d(5) * 10 + d(6),
        )
    })
}

/// Parses a month: `YYYY-MM`, `YYYYMM`, `YYYY/MM`, `YYYY.MM`, `YYYY年MM月`
/// (one-digit month where a separator is present), years 1950–2100.
pub fn parse_period(s: &str) -> Option<Period> {
    let (y, m) = if let Some(ym) = dashed_month(s.as_bytes()) {
        ym
    } else if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        (ascii_num(&s[..4], 4, 4)?, ascii_num(&s[4..], 2, 2)?)
    } else {
        let [y, m] = split_parts::<2>(s)?;
        (ascii_num(y, 4, 4)?, ascii_num(m, 1, 2)?)
    };
    if !year_ok(y) || !(1..=12).contains(&m) {
        return None;
    }
    Some(Period::from_ym(y, m))
}

/// Parses a date: `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`, `YYYY年MM月DD日`
/// (one-digit month/day where separators are present); a real calendar
/// date in 1950–2100.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let (y, m, d) = parse_ymd(s)?;
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// [`parse_date`]'s year, month and day, validated as a real calendar
/// date without building a `NaiveDate` (the duplicate fingerprint needs no
/// more).
#[inline]
pub fn parse_ymd(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    let (y, m, d) = if let (Some((y, m)), true) = (
        dashed_month(b.get(..7).unwrap_or(b)),
        b.len() == 10 && b[7] == b'-' && b[8].is_ascii_digit() && b[9].is_ascii_digit(),
    ) {
        (y, m, u32::from(b[8] - b'0') * 10 + u32::from(b[9] - b'0'))
    } else if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        (
            ascii_num(&s[..4], 4, 4)?,
            ascii_num(&s[4..6], 2, 2)?,
            ascii_num(&s[6..], 2, 2)?,
        )
    } else {
        let [y, m, d] = split_parts::<3>(s)?;
        if s.contains('.') {
            // `.` is a period separator only (SPEC lists no dotted dates).
            return None;
        }
        (
            ascii_num(y, 4, 4)?,
            ascii_num(m, 1, 2)?,
            ascii_num(d, 1, 2)?,
        )
    };
    if !year_ok(y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calendar check agrees with chrono's on every y-m-d the forms
    /// can spell, leap years included.
    #[test]
    fn ymd_validation_matches_chrono() {
        for y in [1950u32, 1999, 2000, 2023, 2024, 2100] {
            for m in 0..=13u32 {
                for d in 0..=32u32 {
                    let s = format!("{y}-{m:02}-{d:02}");
                    let want = NaiveDate::from_ymd_opt(y as i32, m, d).map(|_| (y, m, d));
                    assert_eq!(parse_ymd(&s), want, "{s}");
                }
            }
        }
    }

    fn p(s: &str) -> Option<String> {
        parse_period(s).map(|p| p.to_string())
    }
    fn d(s: &str) -> Option<String> {
        parse_date(s).map(|d| d.format("%Y-%m-%d").to_string())
    }

    #[test]
    fn periods_in_every_spelling() {
        for s in [
            "2023-01",
            "202301",
            "2023/01",
            "2023.01",
            "2023年01月",
            "2023-1",
            "2023/1",
            "2023.1",
            "2023年1月",
        ] {
            assert_eq!(p(s).as_deref(), Some("2023-01"), "{s}");
        }
        assert_eq!(p("2023-12").as_deref(), Some("2023-12"));
    }

    #[test]
    fn bad_periods() {
        for s in [
            "2023-13",
            "2023-00",
            "20231",
            "2023001",
            "1949-12",
            "2101-01",
            "9999-01",
            "2023-1-1",
            "2023年1",
            "2023/01-",
            "23-01",
            "",
            "2023-",
            "-01",
            "２０２３-01",
            "2023 -01",
            "2023-+1",
        ] {
            assert_eq!(p(s), None, "{s}");
        }
        assert_eq!(p("1950-01").as_deref(), Some("1950-01"));
        assert_eq!(p("2100-12").as_deref(), Some("2100-12"));
    }

    #[test]
    fn dates_and_leap_days() {
        assert_eq!(d("2024-02-29").as_deref(), Some("2024-02-29"));
        assert_eq!(d("2023-02-29"), None);
        assert_eq!(d("2000-02-29").as_deref(), Some("2000-02-29"));
        assert_eq!(d("2100-02-29"), None);
        assert_eq!(d("20230215").as_deref(), Some("2023-02-15"));
        assert_eq!(d("2023/2/5").as_deref(), Some("2023-02-05"));
        assert_eq!(d("2023年2月5日").as_deref(), Some("2023-02-05"));
        assert_eq!(d("2023-2-5").as_deref(), Some("2023-02-05"));
    }

    #[test]
    fn bad_dates() {
        for s in [
            "2023-02-30",
            "2023/02-15",
            "2023-02/15",
            "2023.02.15",
            "2023215",
            "202302150",
            "2023-02",
            "1949-12-31",
            "2023年2月5",
            "2023-02-15T00:00",
        ] {
            assert_eq!(d(s), None, "{s}");
        }
    }
}
