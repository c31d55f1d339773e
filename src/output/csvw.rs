//! The CSV dialect of every output (SPEC §6/§7): comma-separated whatever
//! `--delimiter` says, a field quoted only when it holds `,`, `"` or a line
//! break (`"` doubled), LF line ends, UTF-8 without BOM; money with exactly
//! two decimals, half away from zero, never `-0.00`.
//!
//! The rule is narrower than the `csv` crate's `QuoteStyle::Necessary`
//! (which also quotes e.g. a lone empty field), so the few lines are here.

use crate::error::{Error, Result};
use rust_decimal::{Decimal, RoundingStrategy};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Formats money: two decimals, half away from zero, no negative zero.
pub fn money(d: Decimal) -> String {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    if r.is_zero() {
        return "0.00".to_string();
    }
    r.rescale(2);
    r.to_string()
}

/// Optional money: empty when absent.
pub fn opt_money(d: Option<Decimal>) -> String {
    d.map(money).unwrap_or_default()
}

/// Appends one field, quoted only when needed.
pub fn push_field(line: &mut String, field: &str) {
    if field.contains([',', '"', '\n', '\r']) {
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

/// A buffered output file that knows its byte position (for the history
/// index).
pub struct CsvOut {
    path: PathBuf,
    w: BufWriter<File>,
    pos: u64,
}

impl CsvOut {
    pub fn create(path: &Path, header: &[&str]) -> Result<Self> {
        let f = File::create(path).map_err(|e| Error::io(path, "cannot create", e))?;
        let mut out = CsvOut {
            path: path.to_path_buf(),
            w: BufWriter::with_capacity(1 << 20, f),
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

    /// Flushes and fsyncs the file.
    pub fn finish(self) -> Result<()> {
        let path = self.path;
        let f = self
            .w
            .into_inner()
            .map_err(|e| Error::io(&path, "cannot write", e.into_error()))?;
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
