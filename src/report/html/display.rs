//! How values appear on the report page: HTML escaping, thousands
//! separators, money in yuan, and values looked up in `summary.json`.
//!
//! Takes raw strings, cents, counts and `summary.json` values; guarantees
//! that whatever comes out is safe as HTML element content or a quoted
//! attribute value (every string from a file goes through [`esc`]), and
//! that numbers are formatted the same way in every section. Shared by all
//! the section modules, so it sits apart from any one of them.

use crate::report::{parse_cents, Cents};
use serde_json::Value;

/// Escapes text for HTML element content and quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Digits grouped by thousands: `1234567` → `1,234,567`.
fn group(digits: &str) -> String {
    let n = digits.len();
    let mut o = String::with_capacity(n + n / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            o.push(',');
        }
        o.push(ch);
    }
    o
}

/// Cents as `-1,234.56`.
pub(super) fn money(c: Cents) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", group(&(a / 100).to_string()), a % 100)
}

pub(super) fn count(n: u64) -> String {
    group(&n.to_string())
}

/// A JSON value from `summary.json` as display text (escaped); money
/// strings get thousands separators.
pub(super) fn jv(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => match parse_cents(s.as_bytes()) {
            Some(c) if s.contains('.') => money(c),
            _ => esc(s),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(u) => count(u),
            None => esc(&n.to_string()),
        },
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        Some(other) => esc(&other.to_string()),
    }
}

pub(super) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

pub(super) fn cents_at(v: &Value, path: &[&str]) -> Option<Cents> {
    get(v, path)
        .and_then(|x| x.as_str())
        .and_then(|s| parse_cents(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn money_and_counts() {
        assert_eq!(money(123456789), "1,234,567.89");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(money(0), "0.00");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(999), "999");
    }
}
