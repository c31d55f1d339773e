//! Exact decimal money: `¥1,234.50`, `-￥12`, `￥-12`, `+0.5`.
//!
//! SPEC §7: the sign may stand before or after `¥`/`￥`; thousands
//! separators must group by three; no exponent, no bare `.` at either end;
//! at most 15 digits before the point and 10 after. The value is kept
//! exactly (mantissa and scale), never through binary floating point.

use rust_decimal::Decimal;

const MAX_INT_DIGITS: usize = 15;
const MAX_FRAC_DIGITS: usize = 10;

fn strip_yen(s: &str) -> Option<&str> {
    s.strip_prefix('¥').or_else(|| s.strip_prefix('￥'))
}

fn strip_sign(s: &str) -> (bool, Option<&str>) {
    if let Some(r) = s.strip_prefix('-') {
        (true, Some(r))
    } else if let Some(r) = s.strip_prefix('+') {
        (false, Some(r))
    } else {
        (false, None)
    }
}

/// Parses a money or rate value; `None` when it is not a valid amount.
///
/// Inlined: the common spelling (no sign, no currency mark, no
/// separators) is parsed in the caller's registers. Returned through
/// memory, a `Decimal` written in 32-bit parts and read back as a 128-bit
/// mantissa stalled on store forwarding.
#[inline(always)]
pub fn parse_money(s: &str) -> Option<Decimal> {
    parse_money_parts(s).map(|(d, _)| d)
}

/// [`parse_money`], with the mantissa and scale as integers too when the
/// value has the common spelling — at most 18 bytes of digits with at most
/// one inner `.`, no sign — for callers that need them (the duplicate
/// fingerprint) without reading them back out of the `Decimal`.
#[inline(always)]
pub fn parse_money_parts(s: &str) -> Option<(Decimal, Option<(i64, u32)>)> {
    let b = s.as_bytes();
    if b.len() <= 18 && b.first().is_some_and(u8::is_ascii_digit) {
        if let Some((m, scale)) = plain_parts(b) {
            return Decimal::try_new(m, scale)
                .ok()
                .map(|d| (d, Some((m, scale))));
        }
    }
    general_money(s).map(|d| (d, None))
}

/// [`parse_money`] for every other spelling.
#[inline(never)]
fn general_money(s: &str) -> Option<Decimal> {
    // Sign and currency mark, in either order, each at most once.
    let mut rest = s;
    let mut negative = false;
    if let (neg, Some(r)) = strip_sign(rest) {
        negative = neg;
        rest = r;
        if let Some(r) = strip_yen(rest) {
            rest = r;
        }
    } else if let Some(r) = strip_yen(rest) {
        rest = r;
        if let (neg, Some(r)) = strip_sign(rest) {
            negative = neg;
            rest = r;
        }
    }
    if !rest.as_bytes().contains(&b',') {
        return plain_amount(rest.as_bytes(), negative);
    }
    let (int_part, frac_part) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if int_part.is_empty() {
        return None;
    }
    let mut mantissa: i128 = 0;
    let mut int_digits = 0usize;
    if int_part.contains(',') {
        for (i, group) in int_part.split(',').enumerate() {
            let ok_len = if i == 0 {
                (1..=3).contains(&group.len())
            } else {
                group.len() == 3
            };
            if !ok_len {
                return None;
            }
            for b in group.bytes() {
                // Count before accumulating: more digits than allowed would
                // overflow the i128 (a panic in debug builds).
                if !b.is_ascii_digit() || int_digits == MAX_INT_DIGITS {
                    return None;
                }
                mantissa = mantissa * 10 + i128::from(b - b'0');
                int_digits += 1;
            }
        }
    } else {
        for b in int_part.bytes() {
            if !b.is_ascii_digit() || int_digits == MAX_INT_DIGITS {
                return None;
            }
            mantissa = mantissa * 10 + i128::from(b - b'0');
            int_digits += 1;
        }
    }
    let mut scale = 0u32;
    if let Some(frac) = frac_part {
        if frac.is_empty() || frac.len() > MAX_FRAC_DIGITS {
            return None;
        }
        for b in frac.bytes() {
            if !b.is_ascii_digit() {
                return None;
            }
            mantissa = mantissa * 10 + i128::from(b - b'0');
            scale += 1;
        }
    }
    if negative {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

/// At most 18 bytes of digits with at most one inner `.`: the mantissa
/// (it fits an i64, no i128 arithmetic) and scale, in one pass over the
/// bytes, with the same limits as the general path.
#[inline(always)]
fn plain_parts(b: &[u8]) -> Option<(i64, u32)> {
    debug_assert!(b.len() <= 18);
    let mut mantissa: i64 = 0;
    let (mut scale, mut dot) = (0u32, None);
    for (i, &c) in b.iter().enumerate() {
        if c.is_ascii_digit() {
            mantissa = mantissa * 10 + i64::from(c - b'0');
        } else if c == b'.' && dot.is_none() {
            dot = Some(i);
        } else {
            return None;
        }
    }
    if let Some(i) = dot {
        scale = (b.len() - i - 1) as u32;
        if i == 0 || scale == 0 || scale as usize > MAX_FRAC_DIGITS {
            return None;
        }
    } else if b.is_empty() {
        return None;
    }
    let int_digits = b.len() - scale as usize - usize::from(dot.is_some());
    if int_digits > MAX_INT_DIGITS {
        return None;
    }
    Some((mantissa, scale))
}

/// Digits with at most one inner `.` (no thousands separators): one pass
/// over the bytes, the same limits as the general path.
#[inline(always)]
fn plain_amount(b: &[u8], negative: bool) -> Option<Decimal> {
    if b.len() <= 18 {
        let (mantissa, scale) = plain_parts(b)?;
        return Decimal::try_new(if negative { -mantissa } else { mantissa }, scale).ok();
    }
    let mut mantissa: i128 = 0;
    let (mut int_digits, mut scale, mut dot) = (0usize, 0u32, false);
    for &c in b {
        if c.is_ascii_digit() {
            if dot {
                if scale as usize == MAX_FRAC_DIGITS {
                    return None;
                }
                scale += 1;
            } else {
                if int_digits == MAX_INT_DIGITS {
                    return None;
                }
                int_digits += 1;
            }
            mantissa = mantissa * 10 + i128::from(c - b'0');
        } else if c == b'.' && !dot {
            dot = true;
        } else {
            return None;
        }
    }
    if int_digits == 0 || (dot && scale == 0) {
        return None;
    }
    if negative {
        mantissa = -mantissa;
    }
    Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn m(s: &str) -> Option<String> {
        parse_money(s).map(|d| d.to_string())
    }

    #[test]
    fn accepted_spellings() {
        assert_eq!(m("1234.50").as_deref(), Some("1234.50"));
        assert_eq!(m("¥1,234.50").as_deref(), Some("1234.50"));
        assert_eq!(m("￥1,234.50").as_deref(), Some("1234.50"));
        assert_eq!(m("-¥12").as_deref(), Some("-12"));
        assert_eq!(m("¥-12").as_deref(), Some("-12"));
        assert_eq!(m("+3").as_deref(), Some("3"));
        assert_eq!(
            m("1,234,567.0123456789").as_deref(),
            Some("1234567.0123456789")
        );
        assert_eq!(m("999999999999999").as_deref(), Some("999999999999999"));
        assert_eq!(m("0"), Some("0".into()));
    }

    #[test]
    fn negative_zero_is_zero() {
        let z = parse_money("-0.00").expect("parses");
        assert!(z.is_zero());
        assert_eq!(z, Decimal::ZERO);
    }

    #[test]
    fn rejected_spellings() {
        for s in [
            "",
            ".",
            "5.",
            ".5",
            "1e5",
            "1E5",
            "5,000.0.0",
            "12,34",
            ",123",
            "1,2345",
            "1,,234",
            "=1+1",
            "¥",
            "-",
            "--1",
            "¥¥1",
            "-¥-1",
            "1 234",
            "1234567890123456",
            "0.12345678901",
            "abc",
            "NaN",
            "inf",
            "1,234,56",
            "1.2.3",
            "$5",
            "１２",
        ] {
            assert_eq!(m(s), None, "{s:?}");
        }
    }

    #[test]
    fn thirty_digits_rejected_not_panicking() {
        assert_eq!(m("123456789012345678901234567890"), None);
        assert_eq!(m("0.123456789012345678901234567890"), None);
    }

    #[test]
    fn exact_not_float() {
        let a = parse_money("0.1").unwrap() + parse_money("0.2").unwrap();
        assert_eq!(a, Decimal::from_str("0.3").unwrap());
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;
    use std::str::FromStr;

    /// The SPEC's plain form, checked the slow way: 1–15 digits, then
    /// optionally a point and 1–10 digits; the value through `FromStr`.
    fn reference(s: &str) -> Option<Decimal> {
        let (i, f) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
        let digits = |t: &str, max: usize| {
            !t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit())
        };
        let ok = digits(i, MAX_INT_DIGITS) && f.is_none_or(|f| digits(f, MAX_FRAC_DIGITS));
        ok.then(|| Decimal::from_str(s).expect("a plain amount parses"))
    }

    proptest! {
        /// The one-pass paths (i64 and i128) agree with the reference on
        /// digits and points in any arrangement, with and without a sign.
        #[test]
        fn plain_amounts_match_the_reference(s in "[0-9.]{0,28}", neg in any::<bool>()) {
            let want = reference(&s).map(|d| if neg { -d } else { d });
            let text = if neg { format!("-{s}") } else { s.clone() };
            let got = parse_money(&text);
            prop_assert_eq!(got, want);
            if let (Some(g), Some(w)) = (got, want) {
                prop_assert_eq!(g.scale(), w.scale(), "scale of {}", text);
            }
        }
    }
}
