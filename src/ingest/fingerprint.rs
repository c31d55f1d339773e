//! Row fingerprints: a 128-bit digest of a row's parsed content, for
//! duplicate detection.
//!
//! Takes typed values column by column (`Fp`); guarantees that equal
//! values give equal bytes whatever their spelling (`202301` and
//! `2023-01`, `5000` and `5000.00`), and that no text can spell the bytes
//! of a parsed value (type tags). Split from `rows` (the validation of
//! each kind), which builds one per accepted row.

use crate::model::Period;
use crate::parse::{parse_money_parts, parse_ymd};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// A 128-bit digest of a row's parsed content.
pub type Fingerprint = u128;

/// Builds a [`Fingerprint`] from typed values, column by column: each
/// value is written (tagged, so that adjacent columns cannot run together)
/// into a stack buffer, and the buffer is digested once with XXH3-128 —
/// far cheaper than feeding a streaming hasher piece by piece.
pub(super) struct Fp {
    buf: [u8; FP_STACK],
    len: usize,
    /// Everything written, once it no longer fits `buf` (long text).
    spilled: Vec<u8>,
}

const FP_STACK: usize = 256;

/// 10^k for the fixed-scale money forms.
const POW10: [i128; 11] = {
    let mut t = [1i128; 11];
    let mut k = 1;
    while k < 11 {
        t[k] = t[k - 1] * 10;
        k += 1;
    }
    t
};

/// Type tags, written before each value of a column whose form varies
/// (text, parsed value or nothing), so that a text can never spell the
/// same bytes as a parsed value. Enum codes (insurance, kind, status) are
/// written bare: they stand at fixed positions and always in one form.
mod tag {
    pub const TEXT: u8 = 0;
    pub const CENTS: u8 = 1;
    pub const NONE: u8 = 2;
    pub const DATE: u8 = 3;
    pub const PERIOD: u8 = 4;
    pub const MONEY_SCALE10: u8 = 5;
    pub const MONEY_NORMAL: u8 = 6;
}

impl Fp {
    pub(super) fn new() -> Self {
        Fp {
            buf: [0; FP_STACK],
            len: 0,
            spilled: Vec::new(),
        }
    }
    #[inline(always)]
    pub(super) fn bytes(&mut self, b: &[u8]) {
        if self.room(b.len()) {
            self.buf[self.len..self.len + b.len()].copy_from_slice(b);
            self.len += b.len();
        } else {
            self.spill(b);
        }
    }
    #[cold]
    #[inline(never)]
    pub(super) fn spill(&mut self, b: &[u8]) {
        if self.spilled.is_empty() {
            self.spilled.extend_from_slice(&self.buf[..self.len]);
        }
        self.spilled.extend_from_slice(b);
    }
    /// Room for `n` more bytes in `buf`, or false (then write through
    /// [`Fp::bytes`], which spills).
    #[inline(always)]
    pub(super) fn room(&self, n: usize) -> bool {
        self.len + n <= FP_STACK && self.spilled.is_empty()
    }
    /// A tag and a value's bytes. Written in place, tag and value, not
    /// through a temporary array: a word load of freshly stored bytes
    /// would stall on store forwarding.
    #[inline(always)]
    pub(super) fn tagged_bytes<const N: usize>(&mut self, t: u8, v: [u8; N]) {
        if self.room(1 + N) {
            self.buf[self.len] = t;
            self.buf[self.len + 1..self.len + 1 + N].copy_from_slice(&v);
            self.len += 1 + N;
        } else {
            self.bytes(&[t]);
            self.bytes(&v);
        }
    }
    /// A tag and a 32-bit number.
    #[inline(always)]
    pub(super) fn tagged(&mut self, t: u8, n: u32) {
        self.tagged_bytes(t, n.to_le_bytes());
    }
    #[inline(always)]
    pub(super) fn tag(&mut self, t: u8) {
        if self.room(1) {
            self.buf[self.len] = t;
            self.len += 1;
        } else {
            self.bytes(&[t]);
        }
    }
    #[inline(always)]
    pub(super) fn text(&mut self, s: &str) {
        self.tagged(tag::TEXT, s.len() as u32);
        self.bytes(s.as_bytes());
    }
    pub(super) fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.tag(tag::NONE),
        }
    }
    #[inline(always)]
    pub(super) fn date(&mut self, d: Option<NaiveDate>) {
        match d {
            Some(d) => self.ymd(d.year() as u32, d.month(), d.day()),
            None => self.tag(tag::NONE),
        }
    }
    /// A calendar date as `y << 9 | m << 5 | d`: one value per date.
    #[inline(always)]
    pub(super) fn ymd(&mut self, y: u32, m: u32, d: u32) {
        self.tagged(tag::DATE, y << 9 | m << 5 | d);
    }
    #[inline(always)]
    pub(super) fn period(&mut self, p: Option<Period>) {
        match p {
            Some(p) => self.tagged(tag::PERIOD, p.0),
            None => self.tag(tag::NONE),
        }
    }
    /// One spelling per value (5000.00, 5000 and 5000.000 agree): whole
    /// cents as an `i64` when the value is that — every amount an export
    /// writes —, else the mantissa at scale 10 (every parsed amount has at
    /// most ten decimals), else the normalised mantissa and scale. Each
    /// value has exactly one of the three forms, so equal values write
    /// equal bytes.
    #[inline(always)]
    pub(super) fn money(&mut self, d: Option<Decimal>) {
        let Some(d) = d else {
            self.tag(tag::NONE);
            return;
        };
        match i64::try_from(d.mantissa()) {
            Ok(m) => self.money_parts(m, d.scale(), d),
            Err(_) => self.money_wide(d),
        }
    }
    #[inline(always)]
    pub(super) fn cents(&mut self, c: i64) {
        self.tagged_bytes(tag::CENTS, c.to_le_bytes());
    }
    /// [`Fp::money`] for a value written with more than two decimals or
    /// too large for whole cents in an `i64`: decided on its normalised
    /// form, so that `1.000` still comes out as the cents `100`.
    #[cold]
    pub(super) fn money_wide(&mut self, d: Decimal) {
        let n = d.normalize();
        let (m, scale) = (n.mantissa(), n.scale() as usize);
        if scale <= 2 {
            if let Ok(c) = i64::try_from(m * POW10[2 - scale]) {
                self.cents(c);
                return;
            }
        }
        match (scale <= 10)
            .then(|| m.checked_mul(POW10[10 - scale]))
            .flatten()
        {
            Some(v) => self.tagged_bytes(tag::MONEY_SCALE10, v.to_le_bytes()),
            None => {
                self.tag(tag::MONEY_NORMAL);
                self.bytes(&m.to_le_bytes());
                self.bytes(&n.scale().to_le_bytes());
            }
        }
    }
    /// A field the reconciliation never uses: its parsed value when it
    /// parses, else its text.
    pub(super) fn loose_money(&mut self, s: &str) {
        match Amount::parse(s) {
            Some(a) => self.amount(&a),
            None => self.text(s),
        }
    }
    /// [`Fp::money`] for a value whose mantissa and scale the caller has
    /// as integers ([`Amount`]): the same bytes, without reading them back
    /// out of the `Decimal`.
    #[inline(always)]
    pub(super) fn money_parts(&mut self, m: i64, scale: u32, d: Decimal) {
        if scale <= 2 {
            if let Some(c) = m.checked_mul(POW10[2 - scale as usize] as i64) {
                self.cents(c);
                return;
            }
        }
        self.money_wide(d);
    }
    #[inline(always)]
    pub(super) fn amount(&mut self, a: &Amount) {
        match a.parts {
            Some((m, scale)) => self.money_parts(m, scale, a.value),
            None => self.money(Some(a.value)),
        }
    }
    pub(super) fn loose_date(&mut self, s: &str) {
        match parse_ymd(s) {
            Some((y, m, d)) => self.ymd(y, m, d),
            None => self.text(s),
        }
    }
    pub(super) fn finish(self) -> Fingerprint {
        if self.spilled.is_empty() {
            xxhash_rust::xxh3::xxh3_128(&self.buf[..self.len])
        } else {
            xxhash_rust::xxh3::xxh3_128(&self.spilled)
        }
    }
}

/// A parsed amount and, for the common spelling, its mantissa and scale.
pub(super) struct Amount {
    pub(super) value: Decimal,
    pub(super) parts: Option<(i64, u32)>,
}

impl Amount {
    #[inline(always)]
    pub(super) fn parse(s: &str) -> Option<Amount> {
        parse_money_parts(s).map(|(value, parts)| Amount { value, parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A date written from a `NaiveDate` and from a parsed y/m/d in any
    /// spelling are the same bytes.
    #[test]
    fn date_fingerprint_is_one_form_per_date() {
        let fp = |f: &dyn Fn(&mut Fp)| {
            let mut x = Fp::new();
            f(&mut x);
            x.finish()
        };
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        let want = fp(&|x| x.date(Some(d)));
        for s in ["2024-02-29", "20240229", "2024/2/29", "2024年2月29日"] {
            assert_eq!(fp(&|x| x.loose_date(s)), want, "{s}");
        }
        assert_ne!(fp(&|x| x.loose_date("2024-03-01")), want);
        // Not a date: its text, which no date equals.
        assert_ne!(
            fp(&|x| x.loose_date("2023-02-29")),
            fp(&|x| x.loose_date("2023-03-01"))
        );
    }

    /// Every spelling of one amount writes the same bytes, whichever of
    /// the three money forms it takes, and different amounts differ.
    #[test]
    fn money_fingerprint_is_one_form_per_value() {
        let fp = |s: &str| {
            let mut f = Fp::new();
            f.money(Some(s.parse::<Decimal>().unwrap()));
            f.finish()
        };
        for group in [
            &["5000", "5000.0", "5000.00", "5000.000", "5000.0000000000"][..],
            &["-0.5", "-0.50", "-0.500000"],
            &["0.001", "0.0010", "0.00100000000"],
            &["92233720368547758.08", "92233720368547758.080"],
            &["1.00000000000000000001", "1.000000000000000000010"],
        ] {
            for s in group {
                assert_eq!(fp(s), fp(group[0]), "{s} vs {}", group[0]);
            }
        }
        let all = [
            "0",
            "0.01",
            "-0.01",
            "0.001",
            "0.0001",
            "5000",
            "5000.01",
            "5000.001",
            "92233720368547758.07",
            "92233720368547758.08",
            "1.00000000000000000001",
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(fp(a), fp(b), "{a} vs {b}");
            }
        }
    }

    proptest::proptest! {
        /// The integer path of the common spelling writes the bytes the
        /// `Decimal` path writes, so that both meet in one fingerprint.
        #[test]
        fn amount_parts_fingerprint_as_the_decimal_does(s in "[0-9]{1,17}(\\.[0-9]{1,10})?") {
            let Some((d, Some((m, scale)))) = parse_money_parts(&s) else {
                // Too long for the plain path: nothing to compare.
                return Ok(());
            };
            let (mut a, mut b) = (Fp::new(), Fp::new());
            a.money_parts(m, scale, d);
            b.money(Some(d));
            proptest::prop_assert_eq!(a.finish(), b.finish());
            let mut c = Fp::new();
            c.amount(&Amount::parse(&s).unwrap());
            let mut e = Fp::new();
            e.loose_money(&s);
            proptest::prop_assert_eq!(c.finish(), e.finish());
        }
    }
}
