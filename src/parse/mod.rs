//! Field-value parsers: one function per value form of SPEC §2 and §7.
//!
//! Each takes an already-trimmed `&str` and returns `Option`: `None` means
//! the value does not parse, and the caller decides which reject reason that
//! is. Nothing here allocates on the success path except where a `String`
//! is the result. These are the functions the fuzz targets exercise.

pub mod codes;
pub mod ident;
pub mod money;
pub mod period;

pub use codes::{parse_action, parse_insurance, parse_kind, parse_status, parse_yes_no};
pub use ident::{credit_code_valid, normalize_id_number, IdCheck};
pub use money::{parse_money, parse_money_parts};
pub use period::{parse_date, parse_period, parse_ymd};

/// Trims Unicode white space (the full-width space U+3000 included) and a
/// stray BOM from both ends.
#[inline(always)]
pub fn trim(s: &str) -> &str {
    // Nearly every field starts and ends with a printable ASCII byte, which
    // is never white space: skip the char-by-char scan for those (inline,
    // ten times a row), and call out for the rest.
    let printable = |b: Option<&u8>| matches!(b, Some(0x21..=0x7E));
    let b = s.as_bytes();
    if b.is_empty() || (printable(b.first()) && printable(b.last())) {
        return s;
    }
    trim_unicode(s)
}

#[inline(never)]
fn trim_unicode(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}
