//! Citizen ID numbers (GB 11643) and unified social credit codes (GB 32100).
//!
//! These never reject a row: they produce findings (`invalid_id_number`,
//! `invalid_credit_code`) and the comparable form used for identity
//! findings (SPEC §7: 15-digit numbers become 18-character ones).

use chrono::NaiveDate;

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: [u8; 11] = *b"10X98765432";

/// The outcome of checking one ID number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCheck {
    /// The 18-character, upper-cased form used to compare numbers.
    pub normalized: String,
    /// Whether the number passes the GB 11643 checks.
    pub valid: bool,
}

fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    ID_CHECK[(sum % 11) as usize]
}

fn real_date(digits: &[u8]) -> bool {
    let s = std::str::from_utf8(digits).unwrap_or("");
    let (Ok(y), Ok(m), Ok(d)) = (
        s[..4].parse::<i32>(),
        s[4..6].parse::<u32>(),
        s[6..8].parse::<u32>(),
    ) else {
        return false;
    };
    NaiveDate::from_ymd_opt(y, m, d).is_some()
}

/// Checks an ID number and gives its comparable 18-character form.
///
/// 18 characters: 17 digits then a digit or `X` (`x` accepted), the ISO 7064
/// MOD 11-2 check character, a real birth date (any year). 15 characters:
/// all digits and a real 19YYMMDD birth date; its 18-character form inserts
/// `19` after the area code and appends the check character.
pub fn normalize_id_number(raw: &str) -> IdCheck {
    let upper = raw.to_ascii_uppercase();
    let b = upper.as_bytes();
    if b.len() == 18 {
        let body_ok = b[..17].iter().all(u8::is_ascii_digit);
        let last_ok = b[17].is_ascii_digit() || b[17] == b'X';
        let valid = body_ok && last_ok && check_char(&b[..17]) == b[17] && real_date(&b[6..14]);
        return IdCheck {
            normalized: upper,
            valid,
        };
    }
    if b.len() == 15 && b.iter().all(u8::is_ascii_digit) {
        let mut first17 = Vec::with_capacity(18);
        first17.extend_from_slice(&b[..6]);
        first17.extend_from_slice(b"19");
        first17.extend_from_slice(&b[6..]);
        let valid = real_date(&first17[6..14]);
        let c = check_char(&first17);
        first17.push(c);
        return IdCheck {
            normalized: String::from_utf8(first17).unwrap_or_default(),
            valid,
        };
    }
    IdCheck {
        normalized: upper,
        valid: false,
    }
}

const CC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const CC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Whether an 18-character credit code (already trimmed and upper-cased)
/// carries the right GB 32100 check character. Codes of other lengths are
/// not checked by the SPEC; callers check the length first.
pub fn credit_code_valid(code: &str) -> bool {
    let b = code.as_bytes();
    if b.len() != 18 {
        return false;
    }
    let value = |c: u8| CC_CHARS.iter().position(|&x| x == c).map(|p| p as u32);
    let mut sum = 0u32;
    for (i, &c) in b[..17].iter().enumerate() {
        match value(c) {
            Some(v) => sum += v * CC_WEIGHTS[i],
            None => return false,
        }
    }
    let check = (31 - sum % 31) % 31;
    value(b[17]) == Some(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_18_digit_numbers() {
        // Check characters computed by hand with the MOD 11-2 weights.
        assert!(normalize_id_number("11010519491231002X").valid);
        assert!(normalize_id_number("11010519491231002x").valid);
        assert_eq!(
            normalize_id_number("11010519491231002x").normalized,
            "11010519491231002X"
        );
        assert!(normalize_id_number("350102199907097146").valid);
    }

    #[test]
    fn invalid_18_digit_numbers() {
        assert!(!normalize_id_number("110105194912310021").valid); // wrong check
        assert!(!normalize_id_number("11010519490231002X").valid); // 1949-02-31... wrong check too
        assert!(!normalize_id_number("1101051949123100XX").valid);
        assert!(!normalize_id_number("").valid);
        assert!(!normalize_id_number("12345").valid);
    }

    #[test]
    fn leap_day_birth_dates() {
        // 2000-02-29 exists, 1900-02-29 does not.
        let mut n = *b"11010520000229001?";
        n[17] = check_char(&n[..17]);
        assert!(normalize_id_number(std::str::from_utf8(&n).unwrap()).valid);
        let mut n = *b"11010519000229001?";
        n[17] = check_char(&n[..17]);
        assert!(!normalize_id_number(std::str::from_utf8(&n).unwrap()).valid);
    }

    #[test]
    fn fifteen_digit_form_normalizes() {
        let old = normalize_id_number("110105491231002");
        assert!(old.valid);
        assert_eq!(old.normalized, "11010519491231002X");
        assert!(!normalize_id_number("110105490231002").valid); // 1949-02-31
        assert!(!normalize_id_number("11010549123100A").valid);
    }

    #[test]
    fn credit_codes() {
        assert!(credit_code_valid("91350100M000100Y43"));
        assert!(!credit_code_valid("91350100M000100Y44"));
        assert!(!credit_code_valid("91350100M000100I43"));
        assert!(!credit_code_valid("320102441849051"));
    }
}
