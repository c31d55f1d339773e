//! The binary record format of spill files: length-prefixed, little
//! endian, exact decimals as a sign-and-scale byte and the mantissa's
//! LEB128 varint (4–5 bytes for an everyday amount instead of the 16 of
//! `Decimal::serialize`). Written and read by this process only, within
//! one run.

use crate::model::{Action, Event, Id, Insurance, Payment, Period};
use rust_decimal::Decimal;
use std::io::{self, BufRead, Write};

/// A spilled row: where it came from, its duplicate-detection keys and
/// the typed row itself.
#[derive(Debug, Clone)]
pub struct Spilled<T> {
    pub seq: u64,
    pub stat: u32,
    pub line: u64,
    pub fp: u128,
    pub id: Option<u128>,
    /// The raw text, kept only for rows phase 2 may reject (`seen`).
    pub raw: Option<Vec<u8>>,
    pub row: T,
}

fn put_bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    w.write_all(&(b.len() as u32).to_le_bytes())?;
    w.write_all(b)
}

fn put_opt(w: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        None => w.write_all(&u32::MAX.to_le_bytes()),
        Some(s) => put_bytes(w, s.as_bytes()),
    }
}

/// Sign bit of a money value's header byte (the low bits hold the scale,
/// at most 28).
const NEGATIVE: u8 = 0x80;

/// Writes a decimal exactly: header byte (sign, scale), then the
/// magnitude of the mantissa as an LEB128 varint. Keeps `-0` apart from
/// `0`, as `Decimal::serialize` does.
fn put_money(w: &mut impl Write, d: Decimal) -> io::Result<()> {
    let mut buf = [0u8; MONEY_MAX];
    buf[0] = d.scale() as u8 | if d.is_sign_negative() { NEGATIVE } else { 0 };
    let mut m = d.mantissa().unsigned_abs();
    let mut n = 1;
    loop {
        let low = (m & 0x7f) as u8;
        m >>= 7;
        if m == 0 {
            buf[n] = low;
            n += 1;
            break;
        }
        buf[n] = low | 0x80;
        n += 1;
    }
    w.write_all(&buf[..n])
}

/// Longest encoding of a money value: the header and 14 seven-bit groups
/// (a 96-bit mantissa).
const MONEY_MAX: usize = 15;

fn get_money(r: &mut impl BufRead) -> io::Result<Decimal> {
    // Decoded in place from the reader's buffer when the longest form is
    // there (nearly always); byte by byte at a buffer's end.
    let buf = r.fill_buf()?;
    if buf.len() >= MONEY_MAX {
        let (d, n) = decode_money(&buf[..MONEY_MAX])?;
        r.consume(n);
        return Ok(d);
    }
    let mut b = [0u8; MONEY_MAX];
    let mut n = 0;
    while n < MONEY_MAX {
        b[n] = get::<1>(r)?[0];
        n += 1;
        if n > 1 && b[n - 1] & 0x80 == 0 {
            break;
        }
    }
    decode_money(&b[..n]).map(|(d, _)| d)
}

/// A money value from the start of `b`, and the bytes it took.
fn decode_money(b: &[u8]) -> io::Result<(Decimal, usize)> {
    let head = *b.first().ok_or_else(bad)?;
    let mut m: u128 = 0;
    let mut n = 1;
    loop {
        let g = *b.get(n).ok_or_else(bad)?;
        m |= u128::from(g & 0x7f) << (7 * (n - 1));
        n += 1;
        if g & 0x80 == 0 {
            break;
        }
    }
    let scale = u32::from(head & !NEGATIVE);
    let mut d = Decimal::try_from_i128_with_scale(m as i128, scale).map_err(|_| bad())?;
    d.set_sign_negative(head & NEGATIVE != 0);
    Ok((d, n))
}

fn put_dec(w: &mut impl Write, d: Option<Decimal>) -> io::Result<()> {
    match d {
        None => w.write_all(&[0]),
        Some(d) => {
            w.write_all(&[1])?;
            put_money(w, d)
        }
    }
}

fn bad() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "corrupt spill record")
}

fn get<const N: usize>(r: &mut impl BufRead) -> io::Result<[u8; N]> {
    let mut b = [0u8; N];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn get_bytes(r: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let n = u32::from_le_bytes(get::<4>(r)?);
    if n == u32::MAX {
        return Ok(None);
    }
    let mut v = vec![0u8; n as usize];
    r.read_exact(&mut v)?;
    Ok(Some(v))
}

fn get_opt(r: &mut impl BufRead) -> io::Result<Option<String>> {
    get_bytes(r)?
        .map(|v| String::from_utf8(v).map_err(|_| bad()))
        .transpose()
}

/// An id, read straight into its inline form (no heap for short ids).
fn get_id(r: &mut impl BufRead) -> io::Result<Option<Id>> {
    let n = u32::from_le_bytes(get::<4>(r)?);
    if n == u32::MAX {
        return Ok(None);
    }
    let mut buf = [0u8; 64];
    if n as usize <= buf.len() {
        let b = &mut buf[..n as usize];
        r.read_exact(b)?;
        let s = std::str::from_utf8(b).map_err(|_| bad())?;
        return Ok(Some(Id::from(s)));
    }
    let mut v = vec![0u8; n as usize];
    r.read_exact(&mut v)?;
    String::from_utf8(v)
        .map(|s| Some(Id::from(s)))
        .map_err(|_| bad())
}

fn get_dec(r: &mut impl BufRead) -> io::Result<Option<Decimal>> {
    match get::<1>(r)?[0] {
        0 => Ok(None),
        _ => get_money(r).map(Some),
    }
}

fn insurance(b: u8) -> io::Result<Insurance> {
    Insurance::ALL.get(b as usize).copied().ok_or_else(bad)
}

/// Rows that can be spilled.
pub trait Codec: Sized {
    fn put(&self, w: &mut impl Write) -> io::Result<()>;
    fn get(r: &mut impl BufRead) -> io::Result<Self>;
}

impl Codec for Event {
    fn put(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.seq.to_le_bytes())?;
        put_bytes(w, self.person_id.as_bytes())?;
        put_opt(w, self.id_number.as_deref())?;
        put_opt(w, self.employer_id.as_deref())?;
        w.write_all(&[self.insurance as u8, self.action as u8])?;
        w.write_all(&self.period.0.to_le_bytes())?;
        put_dec(w, self.base)?;
        put_opt(w, self.reason.as_deref())
    }
    fn get(r: &mut impl BufRead) -> io::Result<Self> {
        let seq = u64::from_le_bytes(get::<8>(r)?);
        let person_id = get_id(r)?.ok_or_else(bad)?;
        let id_number = get_opt(r)?;
        let employer_id = get_id(r)?;
        let [ins, act] = get::<2>(r)?;
        let action = match act {
            0 => Action::Decrease,
            1 => Action::Increase,
            2 => Action::Adjust,
            _ => return Err(bad()),
        };
        Ok(Event {
            seq,
            person_id,
            id_number,
            employer_id,
            insurance: insurance(ins)?,
            action,
            period: Period(u32::from_le_bytes(get::<4>(r)?)),
            base: get_dec(r)?,
            reason: get_opt(r)?,
        })
    }
}

impl Codec for Payment {
    fn put(&self, w: &mut impl Write) -> io::Result<()> {
        put_bytes(w, self.person_id.as_bytes())?;
        put_opt(w, self.employer_id.as_deref())?;
        w.write_all(&[self.insurance as u8])?;
        w.write_all(&self.period.0.to_le_bytes())?;
        put_money(w, self.employer_amount)?;
        put_money(w, self.individual_amount)
    }
    fn get(r: &mut impl BufRead) -> io::Result<Self> {
        let person_id = get_id(r)?.ok_or_else(bad)?;
        let employer_id = get_id(r)?;
        let ins = insurance(get::<1>(r)?[0])?;
        let period = Period(u32::from_le_bytes(get::<4>(r)?));
        Ok(Payment {
            person_id,
            employer_id,
            insurance: ins,
            period,
            employer_amount: get_money(r)?,
            individual_amount: get_money(r)?,
        })
    }
}

impl<T: Codec> Spilled<T> {
    pub fn put(&self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.seq.to_le_bytes())?;
        w.write_all(&self.stat.to_le_bytes())?;
        w.write_all(&self.line.to_le_bytes())?;
        w.write_all(&self.fp.to_le_bytes())?;
        match self.id {
            None => w.write_all(&[0])?,
            Some(id) => {
                w.write_all(&[1])?;
                w.write_all(&id.to_le_bytes())?;
            }
        }
        match &self.raw {
            Some(raw) => put_bytes(w, raw)?,
            None => w.write_all(&u32::MAX.to_le_bytes())?,
        }
        self.row.put(w)
    }

    /// The next record, or `None` at a clean end of file.
    pub fn get(r: &mut impl BufRead) -> io::Result<Option<Self>> {
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        Ok(Some(Spilled {
            seq: u64::from_le_bytes(get::<8>(r)?),
            stat: u32::from_le_bytes(get::<4>(r)?),
            line: u64::from_le_bytes(get::<8>(r)?),
            fp: u128::from_le_bytes(get::<16>(r)?),
            id: match get::<1>(r)?[0] {
                0 => None,
                _ => Some(u128::from_le_bytes(get::<16>(r)?)),
            },
            raw: get_bytes(r)?,
            row: T::get(r)?,
        }))
    }
}

/// A row's entry in a key log (phase 1 writes one per valid row, in file
/// order): the key the duplicate rules compare it under (its id digest,
/// or its content fingerprint when it has no id) and the fingerprint's
/// low 64 bits (what tells `duplicate_row` from `conflicting_duplicate`
/// between rows of one id, as [`crate::ingest::dedup`] keeps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRec {
    pub key: u128,
    pub fp64: u64,
}

impl KeyRec {
    /// Writes the entry of a row with id `id` and fingerprint `fp`: 25
    /// bytes with an id, 17 without.
    pub fn put(w: &mut impl Write, id: Option<u128>, fp: u128) -> io::Result<()> {
        match id {
            Some(id) => {
                w.write_all(&[1])?;
                w.write_all(&id.to_le_bytes())?;
                w.write_all(&(fp as u64).to_le_bytes())
            }
            None => {
                w.write_all(&[0])?;
                w.write_all(&fp.to_le_bytes())
            }
        }
    }

    /// The next entry, or `None` at a clean end of file.
    pub fn get(r: &mut impl BufRead) -> io::Result<Option<KeyRec>> {
        if r.fill_buf()?.is_empty() {
            return Ok(None);
        }
        Ok(Some(match get::<1>(r)?[0] {
            0 => {
                let fp = u128::from_le_bytes(get::<16>(r)?);
                KeyRec {
                    key: fp,
                    fp64: fp as u64,
                }
            }
            1 => KeyRec {
                key: u128::from_le_bytes(get::<16>(r)?),
                fp64: u64::from_le_bytes(get::<8>(r)?),
            },
            _ => return Err(bad()),
        }))
    }
}

/// Writes a person-partition record: the row's file-order number (which
/// phase 3 looks up among the rejected rows), then the row.
pub fn put_part<T: Codec>(w: &mut impl Write, seq: u64, row: &T) -> io::Result<()> {
    w.write_all(&seq.to_le_bytes())?;
    row.put(w)
}

/// The next person-partition record, or `None` at a clean end of file.
pub fn get_part<T: Codec>(r: &mut impl BufRead) -> io::Result<Option<(u64, T)>> {
    if r.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let seq = u64::from_le_bytes(get::<8>(r)?);
    Ok(Some((seq, T::get(r)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn money_round_trip(d: Decimal) -> Decimal {
        let mut buf = Vec::new();
        put_money(&mut buf, d).unwrap();
        get_money(&mut &buf[..]).unwrap()
    }

    #[test]
    fn money_round_trips_exactly() {
        for s in [
            "0", "-0", "0.00", "-0.00", "920.17", "-12.5", "1e-28", "-1e-28",
        ] {
            let d: Decimal = s.parse().unwrap();
            let back = money_round_trip(d);
            assert_eq!(back.serialize(), d.serialize(), "{s}");
        }
        for d in [Decimal::MAX, Decimal::MIN, Decimal::new(1, 28)] {
            assert_eq!(money_round_trip(d).serialize(), d.serialize());
        }
        // At the end of the reader's buffer: decoded byte by byte.
        let d: Decimal = "-1234567.891".parse().unwrap();
        let mut buf = Vec::new();
        put_money(&mut buf, d).unwrap();
        let mut r = std::io::BufReader::with_capacity(3, &buf[..]);
        assert_eq!(get_money(&mut r).unwrap().serialize(), d.serialize());
        assert!(
            get_money(&mut &buf[..2]).is_err(),
            "a cut-off value is an error"
        );
        let mut short = Vec::new();
        put_money(&mut short, "920.17".parse().unwrap()).unwrap();
        assert_eq!(short.len(), 4, "header and a 3-byte varint");
    }

    proptest! {
        #[test]
        fn any_decimal_round_trips(lo: u32, mid: u32, hi: u32, neg: bool, scale in 0u32..=28) {
            let d = Decimal::from_parts(lo, mid, hi, neg, scale);
            prop_assert_eq!(money_round_trip(d).serialize(), d.serialize());
        }
    }

    #[test]
    fn round_trip() {
        let e = Event {
            seq: 7,
            person_id: "P1".into(),
            id_number: None,
            employer_id: Some("E".into()),
            insurance: Insurance::Medical,
            action: Action::Adjust,
            period: Period::from_ym(2023, 4),
            base: Some("1234.5678".parse().unwrap()),
            reason: Some("年度调整".into()),
        };
        let s = Spilled {
            seq: 1,
            stat: 2,
            line: 3,
            fp: 4,
            id: None,
            raw: Some(b"raw".to_vec()),
            row: e.clone(),
        };
        let mut buf = Vec::new();
        s.put(&mut buf).unwrap();
        s.put(&mut buf).unwrap();
        let mut r = std::io::BufReader::new(&buf[..]);
        let a = Spilled::<Event>::get(&mut r).unwrap().unwrap();
        assert_eq!(a.row, e);
        assert_eq!(
            (a.seq, a.stat, a.line, a.fp, a.raw.as_deref()),
            (1, 2, 3, 4, Some(&b"raw"[..]))
        );
        assert!(Spilled::<Event>::get(&mut r).unwrap().is_some());
        assert!(Spilled::<Event>::get(&mut r).unwrap().is_none());
    }

    #[test]
    fn keys_and_part_records_round_trip() {
        let mut buf = Vec::new();
        KeyRec::put(&mut buf, Some(5), (9u128 << 64) | 3).unwrap();
        KeyRec::put(&mut buf, None, (9u128 << 64) | 3).unwrap();
        assert_eq!(buf.len(), 25 + 17);
        let mut r = &buf[..];
        assert_eq!(
            KeyRec::get(&mut r).unwrap(),
            Some(KeyRec { key: 5, fp64: 3 })
        );
        assert_eq!(
            KeyRec::get(&mut r).unwrap(),
            Some(KeyRec {
                key: (9u128 << 64) | 3,
                fp64: 3
            })
        );
        assert_eq!(KeyRec::get(&mut r).unwrap(), None);
        assert!(KeyRec::get(&mut &[2u8][..]).is_err(), "unknown tag");

        let p = Payment {
            person_id: "P1".into(),
            employer_id: None,
            insurance: Insurance::Pension,
            period: Period::from_ym(2024, 2),
            employer_amount: "1.5".parse().unwrap(),
            individual_amount: "-0.25".parse().unwrap(),
        };
        let mut buf = Vec::new();
        put_part(&mut buf, 42, &p).unwrap();
        let mut r = &buf[..];
        let (seq, back) = get_part::<Payment>(&mut r).unwrap().unwrap();
        assert_eq!((seq, back), (42, p));
        assert!(get_part::<Payment>(&mut r).unwrap().is_none());
    }
}
