//! The CSV dialect of every output (SPEC §6/§7): comma-separated whatever
//! `--delimiter` says, a field quoted only when it holds `,`, `"` or a line
//! break (`"` doubled), LF line ends, UTF-8 without BOM; money with exactly
//! two decimals, half away from zero, never `-0.00`.
//!
//! The rule is narrower than the `csv` crate's `QuoteStyle::Necessary`
//! (which also quotes e.g. a lone empty field), so the few lines are here.

use super::direct::OutFile;
use crate::error::{Error, Result};
use rust_decimal::{Decimal, RoundingStrategy};
use std::path::{Path, PathBuf};

/// Formats money: two decimals, half away from zero, no negative zero.
pub fn money(d: Decimal) -> String {
    let mut s = String::with_capacity(16);
    push_money(&mut s, d);
    s
}

/// Money as written, in cents: rounded to two decimals, half away from
/// zero.
pub fn cents(d: Decimal) -> i128 {
    // Most amounts already have at most two decimals: scale them exactly.
    if d.scale() <= 2 {
        return d.mantissa() * [100, 10, 1][d.scale() as usize];
    }
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r.mantissa()
}

/// Appends money formatted as [`money`] without allocating.
pub fn push_money(out: &mut String, d: Decimal) {
    // Cents as an integer: sign, whole yuan, two decimals.
    let cents = cents(d);
    if cents == 0 {
        out.push_str("0.00");
        return;
    }
    // Every real amount fits 64 bits: whole yuan by `itoa`, then the
    // point and the two digits of the cents from a table, with no
    // 128-bit division and no validation of formatted digits.
    let Ok(v) = u64::try_from(cents.unsigned_abs()) else {
        return push_money_wide(out, cents);
    };
    if cents < 0 {
        out.push('-');
    }
    out.push_str(itoa::Buffer::new().format(v / 100));
    out.push('.');
    let f = (v % 100) as usize * 2;
    out.push_str(&DIGIT_PAIRS[f..f + 2]);
}

/// "00", "01", … "99" back to back.
const DIGIT_PAIRS: &str = "\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// [`push_money`] for cents beyond 64 bits.
#[cold]
fn push_money_wide(out: &mut String, cents: i128) {
    if cents < 0 {
        out.push('-');
    }
    let abs = cents.unsigned_abs();
    out.push_str(&format!("{}.{:02}", abs / 100, abs % 100));
}

/// One line of a hot output (ledger, pooling) appended in place to the
/// text it belongs to, with the quoting rule of [`push_field`]: no line
/// buffer to copy from, and positions (`len`) so that a later line can
/// reuse a stretch of this one.
pub struct Line<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Line<'a> {
    /// Starts a line at the end of `out`.
    pub fn new(out: &'a mut String) -> Self {
        Line { out, first: true }
    }
    /// Goes on with a line whose first fields are already in `out`.
    pub fn after(out: &'a mut String) -> Self {
        Line { out, first: false }
    }
    fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }
    /// The length of the text so far (the position of the next separator).
    pub fn pos(&self) -> usize {
        self.out.len()
    }
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.sep();
        push_field(self.out, s);
        self
    }
    /// A fixed identifier (an insurance or status name): never quoted.
    pub fn name(&mut self, s: &'static str) -> &mut Self {
        debug_assert!(!s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')));
        self.sep();
        self.out.push_str(s);
        self
    }
    /// A month as `YYYY-MM` (what `Period`'s `Display` writes, without
    /// the formatting machinery).
    pub fn period(&mut self, p: crate::model::Period) -> &mut Self {
        self.sep();
        let (y, m) = (p.year(), p.month());
        if y > 9999 {
            self.out.push_str(&p.to_string());
            return self;
        }
        let digits = [
            b'0' + (y / 1000) as u8,
            b'0' + (y / 100 % 10) as u8,
            b'0' + (y / 10 % 10) as u8,
            b'0' + (y % 10) as u8,
            b'-',
            b'0' + (m / 10) as u8,
            b'0' + (m % 10) as u8,
        ];
        self.out
            .push_str(std::str::from_utf8(&digits).unwrap_or("0000-00"));
        self
    }
    pub fn display(&mut self, v: impl std::fmt::Display) -> &mut Self {
        use std::fmt::Write as _;
        self.sep();
        let _ = write!(self.out, "{v}");
        self
    }
    pub fn money(&mut self, d: Decimal) -> &mut Self {
        self.sep();
        push_money(self.out, d);
        self
    }
    pub fn opt_money(&mut self, d: Option<Decimal>) -> &mut Self {
        self.sep();
        if let Some(d) = d {
            push_money(self.out, d);
        }
        self
    }
    /// Ends the line with its LF.
    pub fn end(&mut self) {
        self.out.push('\n');
    }
}

/// Optional money: empty when absent.
pub fn opt_money(d: Option<Decimal>) -> String {
    d.map(money).unwrap_or_default()
}

/// Appends one field, quoted only when needed.
pub fn push_field(line: &mut String, field: &str) {
    if field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// Builds one CSV line (with its LF) from fields.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut s = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_field(&mut s, f.as_ref());
    }
    s.push('\n');
    s
}

/// An output file that knows its byte position (for the history index).
///
/// Outputs are fsynced before they are published; the bytes go through
/// [`OutFile`](super::direct::OutFile), which writes them around the page
/// cache where the file system allows (see `output::direct` for why).
pub struct CsvOut {
    path: PathBuf,
    w: OutFile,
    pos: u64,
}

impl CsvOut {
    /// Creates `path` with its header line; `may_thread`: see
    /// [`OutFile::create`].
    pub fn create(path: &Path, header: &[&str], may_thread: bool) -> Result<Self> {
        let w =
            OutFile::create(path, may_thread).map_err(|e| Error::io(path, "cannot create", e))?;
        let mut out = CsvOut {
            path: path.to_path_buf(),
            w,
            pos: 0,
        };
        if !header.is_empty() {
            out.write_line(&line(header))?;
        }
        Ok(out)
    }

    pub fn pos(&self) -> u64 {
        self.pos
    }

    pub fn write_line(&mut self, l: &str) -> Result<()> {
        self.w
            .write_all(l.as_bytes())
            .map_err(|e| Error::io(&self.path, "cannot write", e))?;
        self.pos += l.len() as u64;
        Ok(())
    }

    pub fn row<S: AsRef<str>>(&mut self, fields: &[S]) -> Result<()> {
        self.write_line(&line(fields))
    }

    /// Writes what is left and fsyncs the file.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let f = self
            .w
            .finish()
            .map_err(|e| Error::io(&path, "cannot write", e))?;
        f.sync_all().map_err(|e| Error::io(&path, "cannot sync", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn money_rounding_and_negative_zero() {
        let m = |s: &str| money(Decimal::from_str(s).unwrap());
        assert_eq!(m("1.005"), "1.01");
        assert_eq!(m("-1.005"), "-1.01");
        assert_eq!(m("-0.004"), "0.00");
        assert_eq!(m("-0"), "0.00");
        assert_eq!(m("12"), "12.00");
        assert_eq!(m("0.1"), "0.10");
        assert_eq!(m("1234567.891"), "1234567.89");
        assert_eq!(m("-0.05"), "-0.05");
        assert_eq!(m("-12.3"), "-12.30");
        assert_eq!(m("999999999999999.995"), "1000000000000000.00");
        // One, two and three digits of cents; past 64 bits.
        assert_eq!(m("0.01"), "0.01");
        assert_eq!(m("-0.09"), "-0.09");
        assert_eq!(m("0.5"), "0.50");
        assert_eq!(m("1"), "1.00");
        assert_eq!(m("99.99"), "99.99");
        assert_eq!(m("-100.07"), "-100.07");
        assert_eq!(
            m("-1234567890123456789012.345"),
            "-1234567890123456789012.35"
        );
    }

    #[test]
    fn line_in_place_matches_line() {
        let d = |s: &str| Decimal::from_str(s).unwrap();
        let mut got = String::from("before\n");
        let mut l = Line::new(&mut got);
        l.text("P,1")
            .text("")
            .display(7)
            .period(crate::model::Period::from_ym(2023, 4))
            .name("paid");
        let mid = l.pos();
        l.money(d("-0.001")).opt_money(None).money(d("2.345")).end();
        let want = line(&["P,1", "", "7", "2023-04", "paid", "0.00", "", "2.35"]);
        assert_eq!(got, format!("before\n{want}"));
        // A line can go on after a copied stretch of another.
        let mut more = got[7..mid].to_string();
        Line::after(&mut more).money(d("0.5")).end();
        assert_eq!(more, line(&["P,1", "", "7", "2023-04", "paid", "0.50"]));
        // Years past 9999 take the slow path.
        let mut y = String::new();
        Line::new(&mut y).period(crate::model::Period::from_ym(12345, 1));
        assert_eq!(y, crate::model::Period::from_ym(12345, 1).to_string());
    }

    proptest::proptest! {
        #[test]
        fn money_matches_decimal_rounding(m in proptest::num::i64::ANY, scale in 0u32..8) {
            let d = Decimal::new(m, scale);
            let r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            let mut want = format!("{r:.2}");
            if want == "-0.00" {
                want = "0.00".to_string();
            }
            proptest::prop_assert_eq!(money(d), want);
        }
    }

    #[test]
    fn minimal_quoting() {
        assert_eq!(
            line(&["a", "", "b,c", "q\"q", "x\ny", " s "]),
            "a,,\"b,c\",\"q\"\"q\",\"x\ny\", s \n"
        );
        assert_eq!(line(&[""]), "\n");
    }
}
