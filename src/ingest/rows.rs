//! Row validation: one record's fields → a typed row, or a reject reason.
//!
//! Pure functions, one per kind, following SPEC §7's order of checks:
//! `field_count` and `decode_error` are decided by the caller (they need the
//! record, not the fields); here come `missing_field`, then each value check
//! in the SPEC's order. Every accepted row also carries a *fingerprint* of
//! its parsed content (all recognised columns but the id), so that
//! `202301` and `2023-01` are the same content for duplicate detection.

use super::header::{employers as ec, events as vc, payments as pc, rates as rc, ColumnMap};
use super::{dedup, Reason};
use crate::model::{Action, Employer, Event, Id, PayKind, Payment, Period, RateRow};
use crate::parse::{
    parse_action, parse_date, parse_insurance, parse_kind, parse_money, parse_money_parts,
    parse_period, parse_status, parse_yes_no, parse_ymd,
};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// A 128-bit digest of a row's parsed content.
pub type Fingerprint = u128;

/// Builds a [`Fingerprint`] from typed values, column by column: each
/// value is written (tagged, so that adjacent columns cannot run together)
/// into a stack buffer, and the buffer is digested once with XXH3-128 —
/// far cheaper than feeding a streaming hasher piece by piece.
struct Fp {
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
    fn new() -> Self {
        Fp {
            buf: [0; FP_STACK],
            len: 0,
            spilled: Vec::new(),
        }
    }
    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        if self.room(b.len()) {
            self.buf[self.len..self.len + b.len()].copy_from_slice(b);
            self.len += b.len();
        } else {
            self.spill(b);
        }
    }
    #[cold]
    #[inline(never)]
    fn spill(&mut self, b: &[u8]) {
        if self.spilled.is_empty() {
            self.spilled.extend_from_slice(&self.buf[..self.len]);
        }
        self.spilled.extend_from_slice(b);
    }
    /// Room for `n` more bytes in `buf`, or false (then write through
    /// [`Fp::bytes`], which spills).
    #[inline(always)]
    fn room(&self, n: usize) -> bool {
        self.len + n <= FP_STACK && self.spilled.is_empty()
    }
    /// A tag and a value's bytes. Written in place, tag and value, not
    /// through a temporary array: a word load of freshly stored bytes
    /// would stall on store forwarding.
    #[inline(always)]
    fn tagged_bytes<const N: usize>(&mut self, t: u8, v: [u8; N]) {
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
    fn tagged(&mut self, t: u8, n: u32) {
        self.tagged_bytes(t, n.to_le_bytes());
    }
    #[inline(always)]
    fn tag(&mut self, t: u8) {
        if self.room(1) {
            self.buf[self.len] = t;
            self.len += 1;
        } else {
            self.bytes(&[t]);
        }
    }
    #[inline(always)]
    fn text(&mut self, s: &str) {
        self.tagged(tag::TEXT, s.len() as u32);
        self.bytes(s.as_bytes());
    }
    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.tag(tag::NONE),
        }
    }
    #[inline(always)]
    fn date(&mut self, d: Option<NaiveDate>) {
        match d {
            Some(d) => self.ymd(d.year() as u32, d.month(), d.day()),
            None => self.tag(tag::NONE),
        }
    }
    /// A calendar date as `y << 9 | m << 5 | d`: one value per date.
    #[inline(always)]
    fn ymd(&mut self, y: u32, m: u32, d: u32) {
        self.tagged(tag::DATE, y << 9 | m << 5 | d);
    }
    #[inline(always)]
    fn period(&mut self, p: Option<Period>) {
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
    fn money(&mut self, d: Option<Decimal>) {
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
    fn cents(&mut self, c: i64) {
        self.tagged_bytes(tag::CENTS, c.to_le_bytes());
    }
    /// [`Fp::money`] for a value written with more than two decimals or
    /// too large for whole cents in an `i64`: decided on its normalised
    /// form, so that `1.000` still comes out as the cents `100`.
    #[cold]
    fn money_wide(&mut self, d: Decimal) {
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
    fn loose_money(&mut self, s: &str) {
        match Amount::parse(s) {
            Some(a) => self.amount(&a),
            None => self.text(s),
        }
    }
    /// [`Fp::money`] for a value whose mantissa and scale the caller has
    /// as integers ([`Amount`]): the same bytes, without reading them back
    /// out of the `Decimal`.
    #[inline(always)]
    fn money_parts(&mut self, m: i64, scale: u32, d: Decimal) {
        if scale <= 2 {
            if let Some(c) = m.checked_mul(POW10[2 - scale as usize] as i64) {
                self.cents(c);
                return;
            }
        }
        self.money_wide(d);
    }
    #[inline(always)]
    fn amount(&mut self, a: &Amount) {
        match a.parts {
            Some((m, scale)) => self.money_parts(m, scale, a.value),
            None => self.money(Some(a.value)),
        }
    }
    fn loose_date(&mut self, s: &str) {
        match parse_ymd(s) {
            Some((y, m, d)) => self.ymd(y, m, d),
            None => self.text(s),
        }
    }
    fn finish(self) -> Fingerprint {
        if self.spilled.is_empty() {
            xxhash_rust::xxh3::xxh3_128(&self.buf[..self.len])
        } else {
            xxhash_rust::xxh3::xxh3_128(&self.spilled)
        }
    }
}

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn opt_id(s: &str) -> Option<Id> {
    (!s.is_empty()).then(|| Id::from(s))
}

/// A parsed amount and, for the common spelling, its mantissa and scale.
struct Amount {
    value: Decimal,
    parts: Option<(i64, u32)>,
}

impl Amount {
    #[inline(always)]
    fn parse(s: &str) -> Option<Amount> {
        parse_money_parts(s).map(|(value, parts)| Amount { value, parts })
    }
}

/// [`money_or`] keeping the integers of the common spelling for the
/// fingerprint ([`Fp::amount`]).
#[inline(always)]
fn amount_or(s: &str) -> Result<Amount, Reason> {
    Amount::parse(s).ok_or(Reason::BadAmount)
}

#[inline(always)]
fn money_or(s: &str) -> Result<Decimal, Reason> {
    parse_money(s).ok_or(Reason::BadAmount)
}

fn opt_money(s: &str) -> Result<Option<Decimal>, Reason> {
    if s.is_empty() {
        Ok(None)
    } else {
        money_or(s).map(Some)
    }
}

/// An accepted employer row.
#[derive(Debug, Clone)]
pub struct EmployerRow {
    pub employer: Employer,
    pub fp: Fingerprint,
}

pub fn parse_employer(f: &[&str], m: &ColumnMap) -> Result<EmployerRow, Reason> {
    let id = m.get(f, ec::ID);
    let status = m.get(f, ec::STATUS);
    if id.is_empty() || status.is_empty() {
        return Err(Reason::MissingField);
    }
    let status = parse_status(status).ok_or(Reason::UnknownStatus)?;
    let date_text = m.get(f, ec::STATUS_DATE);
    let status_date = if date_text.is_empty() {
        None
    } else {
        Some(parse_date(date_text).ok_or(Reason::BadDate)?)
    };
    if status.is_closed() && status_date.is_none() {
        return Err(Reason::MissingField);
    }
    let archive_text = m.get(f, ec::ARCHIVE);
    let archive_transferred = if archive_text.is_empty() {
        None
    } else {
        Some(parse_yes_no(archive_text).ok_or(Reason::UnknownCode)?)
    };
    let name = m.get(f, ec::NAME);
    let credit = m.get(f, ec::CREDIT_CODE);
    let region = m.get(f, ec::REGION);
    let mut fp = Fp::new();
    fp.text(name);
    fp.text(credit);
    fp.tag(status as u8);
    fp.date(status_date);
    fp.text(region);
    fp.tag(archive_transferred.map_or(2, u8::from));
    Ok(EmployerRow {
        employer: Employer {
            id: id.to_string(),
            name: opt(name),
            credit_code: opt(credit),
            status,
            status_date,
            region: opt(region),
            archive_transferred,
        },
        fp: fp.finish(),
    })
}

/// An accepted event row (its `seq` is assigned by the caller).
#[derive(Debug, Clone)]
pub struct EventRow {
    pub event: Event,
    /// Digest of the row id (`None` when empty), see [`dedup::id_key`].
    pub id: Option<dedup::IdKey>,
    pub fp: Fingerprint,
}

pub fn parse_event(f: &[&str], m: &ColumnMap) -> Result<EventRow, Reason> {
    let person = m.get(f, vc::PERSON);
    let ins = m.get(f, vc::INSURANCE);
    let act = m.get(f, vc::ACTION);
    let per = m.get(f, vc::PERIOD);
    if person.is_empty() || ins.is_empty() || act.is_empty() || per.is_empty() {
        return Err(Reason::MissingField);
    }
    let insurance = parse_insurance(ins).ok_or(Reason::UnknownInsurance)?;
    let action = parse_action(act).ok_or(Reason::UnknownAction)?;
    let period = parse_period(per).ok_or(Reason::BadPeriod)?;
    let base_text = m.get(f, vc::BASE);
    let base = if action == Action::Decrease {
        // Never checked on a decrease (SPEC §7); kept for nothing.
        None
    } else {
        let b = opt_money(base_text)?;
        if b.is_none() {
            return Err(Reason::MissingField);
        }
        b
    };
    let id_number = m.get(f, vc::ID_NUMBER);
    let name = m.get(f, vc::NAME);
    let employer = m.get(f, vc::EMPLOYER);
    let reason = m.get(f, vc::REASON);
    let mut fp = Fp::new();
    fp.text(person);
    fp.text(id_number);
    fp.text(name);
    fp.text(employer);
    fp.tag(insurance as u8);
    fp.tag(action as u8);
    fp.period(Some(period));
    if action == Action::Decrease {
        fp.loose_money(base_text);
    } else {
        fp.money(base);
    }
    fp.text(reason);
    Ok(EventRow {
        event: Event {
            seq: 0,
            person_id: Id::from(person),
            id_number: opt(id_number),
            employer_id: opt_id(employer),
            insurance,
            action,
            period,
            base,
            reason: opt(reason),
        },
        id: dedup::id_key(m.get(f, vc::ID)),
        fp: fp.finish(),
    })
}

/// An accepted payment row, amounts signed (a refund subtracts).
#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub payment: Payment,
    /// Digest of the row id (`None` when empty), see [`dedup::id_key`].
    pub id: Option<dedup::IdKey>,
    pub fp: Fingerprint,
}

pub fn parse_payment(f: &[&str], m: &ColumnMap) -> Result<PaymentRow, Reason> {
    let person = m.get(f, pc::PERSON);
    let ins = m.get(f, pc::INSURANCE);
    let per = m.get(f, pc::PERIOD);
    let ea = m.get(f, pc::EMPLOYER_AMOUNT);
    let ia = m.get(f, pc::INDIVIDUAL_AMOUNT);
    if person.is_empty() || ins.is_empty() || per.is_empty() || ea.is_empty() || ia.is_empty() {
        return Err(Reason::MissingField);
    }
    let insurance = parse_insurance(ins).ok_or(Reason::UnknownInsurance)?;
    let period = parse_period(per).ok_or(Reason::BadPeriod)?;
    let ea = amount_or(ea)?;
    let ia = amount_or(ia)?;
    let kind_text = m.get(f, pc::KIND);
    let kind = if kind_text.is_empty() {
        PayKind::Normal
    } else {
        parse_kind(kind_text).ok_or(Reason::UnknownKind)?
    };
    let employer = m.get(f, pc::EMPLOYER);
    let mut fp = Fp::new();
    fp.text(person);
    fp.text(employer);
    fp.tag(insurance as u8);
    fp.period(Some(period));
    fp.loose_money(m.get(f, pc::BASE));
    fp.amount(&ea);
    fp.amount(&ia);
    fp.loose_date(m.get(f, pc::PAID_ON));
    fp.tag(kind as u8);
    let (mut employer_amount, mut individual_amount) = (ea.value, ia.value);
    if kind == PayKind::Refund {
        employer_amount = -employer_amount.abs();
        individual_amount = -individual_amount.abs();
    }
    Ok(PaymentRow {
        payment: Payment {
            person_id: Id::from(person),
            employer_id: opt_id(employer),
            insurance,
            period,
            employer_amount,
            individual_amount,
        },
        id: dedup::id_key(m.get(f, pc::ID)),
        fp: fp.finish(),
    })
}

pub fn parse_rate(f: &[&str], m: &ColumnMap) -> Result<RateRow, Reason> {
    let region = m.get(f, rc::REGION);
    let ins = m.get(f, rc::INSURANCE);
    let from = m.get(f, rc::FROM);
    let er = m.get(f, rc::EMPLOYER_RATE);
    let ir = m.get(f, rc::INDIVIDUAL_RATE);
    if ins.is_empty() || from.is_empty() || er.is_empty() || ir.is_empty() {
        return Err(Reason::MissingField);
    }
    let insurance = parse_insurance(ins).ok_or(Reason::UnknownInsurance)?;
    let from = parse_period(from).ok_or(Reason::BadPeriod)?;
    let to_text = m.get(f, rc::TO);
    let to: Option<Period> = if to_text.is_empty() {
        None
    } else {
        Some(parse_period(to_text).ok_or(Reason::BadPeriod)?)
    };
    Ok(RateRow {
        region: (!region.is_empty() && region != "*").then(|| region.to_string()),
        insurance,
        from,
        to,
        employer_rate: money_or(er)?,
        individual_rate: money_or(ir)?,
        base_floor: opt_money(m.get(f, rc::FLOOR))?,
        base_ceiling: opt_money(m.get(f, rc::CEILING))?,
    })
}

/// The content fingerprint of a rates row (rates have no id column).
pub fn rate_fingerprint(r: &RateRow) -> Fingerprint {
    let mut fp = Fp::new();
    fp.opt_text(r.region.as_deref());
    fp.tag(r.insurance as u8);
    fp.period(Some(r.from));
    fp.period(r.to);
    fp.money(Some(r.employer_rate));
    fp.money(Some(r.individual_rate));
    fp.money(r.base_floor);
    fp.money(r.base_ceiling);
    fp.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::InputKind;
    use crate::ingest::header::map_header;

    fn map(kind: InputKind, h: &str) -> ColumnMap {
        let cells: Vec<&str> = h.split(',').collect();
        map_header(kind, &cells, "t.csv").unwrap()
    }

    const EV: &str =
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason";
    const PY: &str = "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind";

    fn ev(line: &str) -> Result<EventRow, Reason> {
        let f: Vec<&str> = line.split(',').collect();
        parse_event(&f, &map(InputKind::Events, EV))
    }
    fn py(line: &str) -> Result<PaymentRow, Reason> {
        let f: Vec<&str> = line.split(',').collect();
        parse_payment(&f, &map(InputKind::Payments, PY))
    }

    #[test]
    fn event_check_order() {
        assert_eq!(
            ev("e,,,,E,bogus,bogus,bad,x,").unwrap_err(),
            Reason::MissingField
        );
        assert_eq!(
            ev("e,p,,,E,bogus,bogus,bad,x,").unwrap_err(),
            Reason::UnknownInsurance
        );
        assert_eq!(
            ev("e,p,,,E,pension,bogus,bad,x,").unwrap_err(),
            Reason::UnknownAction
        );
        assert_eq!(
            ev("e,p,,,E,pension,increase,bad,x,").unwrap_err(),
            Reason::BadPeriod
        );
        assert_eq!(
            ev("e,p,,,E,pension,increase,2023-01,x,").unwrap_err(),
            Reason::BadAmount
        );
        assert_eq!(
            ev("e,p,,,E,pension,adjust,2023-01,,").unwrap_err(),
            Reason::MissingField
        );
        assert!(ev("e,p,,,E,pension,decrease,2023-01,garbage,").is_ok());
        assert!(ev("e,p,,,,pension,increase,2023-01,5000,")
            .unwrap()
            .event
            .employer_id
            .is_none());
    }

    #[test]
    fn same_content_in_other_spellings_has_same_fingerprint() {
        let a = ev("e,p,,n,E,pension,increase,2023-01,5000.00,r").unwrap();
        let b = ev("e,p,,n,E,110,增员,202301,\u{a5}5000,r").unwrap();
        assert_eq!(a.fp, b.fp);
        let c = ev("e,p,,n,E,110,增员,202302,5000,r").unwrap();
        assert_ne!(a.fp, c.fp);
    }

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
            c.amount(&amount_or(&s).unwrap());
            let mut e = Fp::new();
            e.loose_money(&s);
            proptest::prop_assert_eq!(c.finish(), e.finish());
        }
    }

    #[test]
    fn loose_base_and_paid_on_compare_by_value() {
        let fp = |base: &str, paid: &str| {
            py(&format!("x,p,E,pension,2023-12,{base},1,1,{paid},"))
                .unwrap()
                .fp
        };
        let a = fp("4843.00", "2016-12-15");
        for (base, paid) in [
            ("4843", "20161215"),
            ("04843.0", "2016/12/15"),
            ("\u{a5}4843", "2016-12-15"),
            ("+4843.000", "2016-12-15"),
        ] {
            assert_eq!(fp(base, paid), a, "{base} {paid}");
        }
        assert_ne!(fp("4843.01", "2016-12-15"), a);
        assert_ne!(fp("4843", "2016-12-16"), a);
        assert_eq!(fp("0.50", ""), fp("\u{a5}0.5", ""));
        assert_eq!(fp("0.00", ""), fp("-0", ""));
        assert_ne!(fp("junk", ""), fp("", ""));
        assert_ne!(fp("", "junk"), fp("", ""));
    }

    #[test]
    fn payment_checks_and_refund_sign() {
        assert_eq!(
            py("x,p,E,pension,2023-01,,1,,,").unwrap_err(),
            Reason::MissingField
        );
        assert_eq!(
            py("x,p,E,999,2023-01,,1,1,,").unwrap_err(),
            Reason::UnknownInsurance
        );
        assert_eq!(
            py("x,p,E,pension,2023-13,,1,1,,").unwrap_err(),
            Reason::BadPeriod
        );
        assert_eq!(
            py("x,p,E,pension,2023-12,,1..0,1,,").unwrap_err(),
            Reason::BadAmount
        );
        assert_eq!(
            py("x,p,E,pension,2023-12,,1,1,,99").unwrap_err(),
            Reason::UnknownKind
        );
        assert!(py("x,p,E,pension,2023-12,junk,1,1,junk,").is_ok());
        let r = py("x,p,E,pension,2023-12,,-10,5,,refund").unwrap();
        assert_eq!(r.payment.employer_amount, Decimal::from(-10));
        assert_eq!(r.payment.individual_amount, Decimal::from(-5));
        let n = py("x,p,E,pension,2023-12,,-10,5,,31").unwrap();
        assert_eq!(n.payment.employer_amount, Decimal::from(-10));
    }

    #[test]
    fn employer_checks() {
        let m = map(
            InputKind::Employers,
            "employer_id,name,credit_code,status,status_date,region,archive_transferred",
        );
        let e = |l: &str| {
            let f: Vec<&str> = l.split(',').collect();
            parse_employer(&f, &m)
        };
        assert_eq!(
            e("E,n,,closed,bad,,maybe").unwrap_err(),
            Reason::UnknownStatus
        );
        assert_eq!(
            e("E,n,,破产,2023-02-30,,maybe").unwrap_err(),
            Reason::BadDate
        );
        assert_eq!(e("E,n,,破产,,,maybe").unwrap_err(), Reason::MissingField);
        assert_eq!(
            e("E,n,,破产,2023-02-01,,maybe").unwrap_err(),
            Reason::UnknownCode
        );
        assert!(e("E,n,,active,2023-02-01,,否").is_ok());
        assert_eq!(e("E,n,,active,2023-02-31,,").unwrap_err(), Reason::BadDate);
    }
}
