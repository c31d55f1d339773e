//! Row validation: one record's fields → a typed row, or a reject reason.
//!
//! Pure functions, one per kind, following SPEC §7's order of checks:
//! `field_count` and `decode_error` are decided by the caller (they need the
//! record, not the fields); here come `missing_field`, then each value check
//! in the SPEC's order. Every accepted row also carries a *fingerprint* of
//! its parsed content (all recognised columns but the id), so that
//! `202301` and `2023-01` are the same content for duplicate detection.

pub use super::fingerprint::Fingerprint;
use super::fingerprint::{Amount, Fp};
use super::header::{employers as ec, events as vc, payments as pc, rates as rc, ColumnMap};
use super::{dedup, Reason};
use crate::model::{Action, Employer, Event, Id, PayKind, Payment, Period, RateRow};
use crate::parse::{
    parse_action, parse_date, parse_insurance, parse_kind, parse_money, parse_period, parse_status,
    parse_yes_no,
};
use rust_decimal::Decimal;

fn opt(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

fn opt_id(s: &str) -> Option<Id> {
    (!s.is_empty()).then(|| Id::from(s))
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
