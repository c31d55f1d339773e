//! Rule tests on the pure per-person function (SPEC §3–5): each test is one
//! sentence of the SPEC, driven through `reconcile_person`.

use chrono::NaiveDate;
use contrib_recon::model::{
    Action, Employer, EmployerStatus, Event, Insurance, Payment, Period, RateRow,
};
use contrib_recon::outcome::{FindingKind, Status};
use contrib_recon::rates::RateTable;
use contrib_recon::reconcile::{
    identity::IdentityIndex, reconcile_person, Context, PersonOutput, PersonRows,
};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::str::FromStr;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}
fn p(y: u32, m: u32) -> Period {
    Period::from_ym(y, m)
}
fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

struct S {
    employers: BTreeMap<String, Employer>,
    rates: Vec<RateRow>,
    events: Vec<Event>,
    payments: Vec<Payment>,
    through: Period,
    as_of: NaiveDate,
    tolerance: &'static str,
}

impl S {
    fn new() -> Self {
        let mut s = S {
            employers: BTreeMap::new(),
            rates: vec![RateRow {
                region: None,
                insurance: Insurance::Pension,
                from: p(2000, 1),
                to: None,
                employer_rate: d("0.16"),
                individual_rate: d("0.08"),
                base_floor: Some(d("3000")),
                base_ceiling: Some(d("30000")),
            }],
            events: vec![],
            payments: vec![],
            tolerance: "0.01",
            through: p(2023, 6),
            as_of: date("2023-07-20"),
        };
        s.employer("A", EmployerStatus::Active, None, None);
        s.employer("B", EmployerStatus::Active, None, None);
        s
    }
    fn employer(
        &mut self,
        id: &str,
        status: EmployerStatus,
        date_: Option<&str>,
        archive: Option<bool>,
    ) {
        self.employers.insert(
            id.into(),
            Employer {
                id: id.into(),
                name: None,
                credit_code: None,
                status,
                status_date: date_.map(date),
                region: None,
                archive_transferred: archive,
            },
        );
    }
    fn ev(
        &mut self,
        emp: Option<&str>,
        action: Action,
        period: Period,
        base: Option<&str>,
    ) -> &mut Self {
        let seq = self.events.len() as u64;
        self.events.push(Event {
            seq,
            person_id: "P".into(),
            id_number: None,
            employer_id: emp.map(Into::into),
            insurance: Insurance::Pension,
            action,
            period,
            base: base.map(d),
            reason: None,
        });
        self
    }
    fn inc(&mut self, emp: Option<&str>, period: Period, base: &str) -> &mut Self {
        self.ev(emp, Action::Increase, period, Some(base))
    }
    fn dec(&mut self, emp: Option<&str>, period: Period) -> &mut Self {
        self.ev(emp, Action::Decrease, period, None)
    }
    fn pay(&mut self, emp: Option<&str>, period: Period, e: &str, i: &str) -> &mut Self {
        self.payments.push(Payment {
            person_id: "P".into(),
            employer_id: emp.map(Into::into),
            insurance: Insurance::Pension,
            period,
            employer_amount: d(e),
            individual_amount: d(i),
        });
        self
    }
    fn run(&self) -> PersonOutput {
        let table = RateTable::new(self.rates.clone(), self.through);
        let ids = IdentityIndex::build(&self.events);
        let ctx = Context {
            employers: &self.employers,
            rates: &table,
            through: self.through,
            as_of: self.as_of,
            tolerance: d(self.tolerance),
            late_fee_rate: d("0.0005"),
            identities: &ids,
        };
        let rows = PersonRows {
            person_id: "P",
            events: self.events.iter().collect(),
            payments: self.payments.iter().collect(),
        };
        reconcile_person(&ctx, &rows)
    }
}

fn statuses(o: &PersonOutput) -> Vec<(String, Status)> {
    o.ledger
        .iter()
        .map(|r| (r.period.to_string(), r.status))
        .collect()
}
fn kinds(o: &PersonOutput) -> Vec<FindingKind> {
    o.findings.iter().map(|f| f.kind).collect()
}

#[test]
fn an_open_spell_runs_to_the_horizon_and_a_decrease_month_is_not_covered() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 1), "5000");
    let o = s.run();
    assert_eq!(o.ledger.len(), 6);
    assert!(o.persons[0].covered);
    s.dec(Some("A"), p(2023, 4));
    let o = s.run();
    assert_eq!(o.ledger.len(), 3);
    assert_eq!(o.ledger.last().unwrap().period, p(2023, 3));
    assert!(!o.persons[0].covered);
}

#[test]
fn due_is_base_times_rate_rounded_half_away_from_zero_per_portion() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 6), "5000.0625"); // ×0.16 = 800.01, ×0.08 = 400.005 → 400.01
    let o = s.run();
    assert_eq!(o.ledger[0].due_employer, Some(d("800.01")));
    assert_eq!(o.ledger[0].due_individual, Some(d("400.01")));
    assert_eq!(o.ledger[0].status, Status::Arrears);
}

#[test]
fn an_adjust_changes_the_base_from_its_month_on() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 4), "5000")
        .ev(Some("A"), Action::Adjust, p(2023, 6), Some("6000"));
    let o = s.run();
    assert_eq!(o.ledger[1].base, Some(d("5000")));
    assert_eq!(o.ledger[2].base, Some(d("6000")));
}

#[test]
fn broken_event_sequences_are_findings() {
    let mut s = S::new();
    s.dec(Some("A"), p(2023, 1))
        .ev(Some("A"), Action::Adjust, p(2023, 1), Some("1"))
        .inc(Some("A"), p(2023, 2), "5000")
        .inc(Some("A"), p(2023, 3), "5000");
    let o = s.run();
    let k = kinds(&o);
    for want in [
        FindingKind::OrphanDecrease,
        FindingKind::OrphanAdjust,
        FindingKind::DuplicateIncrease,
    ] {
        assert!(k.contains(&want), "{want:?} in {k:?}");
    }
    let f = o
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::DuplicateIncrease)
        .unwrap();
    assert_eq!(
        (f.from, f.to, f.months),
        (Some(p(2023, 3)), Some(p(2023, 3)), Some(1))
    );
}

#[test]
fn transfer_within_one_month_leaves_no_gap_or_overlap() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 1), "5000")
        .dec(Some("A"), p(2023, 4))
        .inc(Some("B"), p(2023, 4), "5000");
    let o = s.run();
    assert!(o.ledger.iter().all(|r| r.status == Status::Arrears));
    assert_eq!(o.ledger[3].employer_id.as_deref(), Some("B"));
    assert!(!kinds(&o).contains(&FindingKind::OverlappingEnrolment));
}

#[test]
fn closed_employer_truncates_strands_and_blocks_nothing() {
    let mut s = S::new();
    s.employer(
        "Z",
        EmployerStatus::Dissolved,
        Some("2023-02-10"),
        Some(false),
    );
    s.inc(Some("Z"), p(2023, 1), "5000")
        .inc(Some("B"), p(2023, 4), "5000");
    let o = s.run();
    let st = statuses(&o);
    assert_eq!(st[0], ("2023-01".into(), Status::Arrears));
    assert_eq!(st[1], ("2023-02".into(), Status::Arrears));
    assert_eq!(st[2], ("2023-03".into(), Status::Gap));
    assert_eq!(
        st[3],
        ("2023-04".into(), Status::Arrears),
        "cut-off months are not an overlap"
    );
    let f = o
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::StrandedEnrolment)
        .unwrap();
    assert_eq!(
        (f.from, f.to, f.months),
        (Some(p(2023, 3)), Some(p(2023, 6)), Some(4))
    );
    // Months at the closed employer are a make-up case, not arrears.
    assert_eq!(o.makeup.len(), 1);
    assert_eq!(o.makeup[0].months, 2);
    let arrears: Vec<_> = o
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Arrears)
        .collect();
    assert_eq!(arrears.len(), 1);
    assert_eq!(arrears[0].employer_id.as_deref(), Some("B"));
    assert!(kinds(&o).contains(&FindingKind::ArchiveNotTransferred));
}

#[test]
fn late_fee_stops_at_the_bankruptcy_date_and_runs_to_as_of_otherwise() {
    let mut s = S::new();
    s.employer(
        "K",
        EmployerStatus::Bankrupt,
        Some("2023-03-15"),
        Some(true),
    );
    s.inc(Some("K"), p(2023, 1), "5000")
        .dec(Some("K"), p(2023, 4));
    let o = s.run();
    // Jan: 2023-02-01..2023-03-15 = 43 days; Feb: 03-01..03-15 = 15; Mar: 0 (negative).
    // 1200 × 0.0005 × 43 = 25.80; × 15 = 9.00.
    let c = &o.makeup[0];
    assert_eq!(
        (c.first_period, c.last_period, c.months),
        (p(2023, 1), p(2023, 3), 3)
    );
    assert_eq!(c.principal_employer, d("2400"));
    assert_eq!(c.principal_individual, d("1200"));
    assert_eq!(c.late_fee, d("34.80"));
    assert!(!kinds(&o).contains(&FindingKind::ArchiveNotTransferred));
    let mut s2 = S::new();
    s2.employer("K", EmployerStatus::Cancelled, Some("2023-03-15"), None);
    s2.inc(Some("K"), p(2023, 3), "5000")
        .dec(Some("K"), p(2023, 4));
    // Mar: 2023-04-01..2023-07-20 = 111 days × 0.6 = 66.60
    assert_eq!(s2.run().makeup[0].late_fee, d("66.60"));
}

#[test]
fn overlapping_employer_spells_earlier_start_is_primary() {
    let mut s = S::new();
    s.inc(Some("B"), p(2023, 3), "5000")
        .inc(Some("A"), p(2023, 5), "9000");
    let o = s.run();
    assert_eq!(o.ledger[2].status, Status::Overlap);
    assert_eq!(o.ledger[2].employer_id.as_deref(), Some("B"));
    assert_eq!(o.ledger[2].base, Some(d("5000")));
    let f = o
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::OverlappingEnrolment)
        .unwrap();
    assert_eq!(f.employer_id.as_deref(), Some("B"));
    assert_eq!(f.months, Some(2));
    assert!(f.detail.contains('A'));
}

#[test]
fn an_employer_spell_beats_an_earlier_individual_one() {
    let mut s = S::new();
    s.inc(None, p(2023, 1), "4000")
        .inc(Some("B"), p(2023, 5), "5000");
    let o = s.run();
    assert_eq!(o.ledger[4].employer_id.as_deref(), Some("B"));
    let f = o
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::IndividualEnrolmentBlocked)
        .unwrap();
    assert_eq!((f.employer_id.as_deref(), f.months), (Some("B"), Some(2)));
}

#[test]
fn base_clamped_to_floor_and_unrated_without_rate() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 5), "2000");
    let o = s.run();
    assert_eq!(o.ledger[0].base, Some(d("3000")));
    assert_eq!(o.ledger[0].due_employer, Some(d("480.00")));
    assert!(kinds(&o).contains(&FindingKind::BaseClamped));
    s.rates[0].from = p(2023, 6);
    let o = s.run();
    assert_eq!(o.ledger[0].status, Status::Unrated);
    assert_eq!(
        o.ledger[0].base,
        Some(d("2000")),
        "unrated months show the spell's base"
    );
    assert_eq!(o.ledger[0].due_employer, None);
    assert!(kinds(&o).contains(&FindingKind::NoRate));
}

/// At tolerance 0 a month paid to the cent is `Paid` (the exact-payment
/// shortcut) and a cent either way is not.
#[test]
fn exact_payment_is_paid_at_zero_tolerance() {
    let mut s = S::new();
    s.tolerance = "0";
    s.inc(Some("A"), p(2023, 1), "5000");
    s.pay(Some("A"), p(2023, 1), "800", "400")
        .pay(Some("A"), p(2023, 2), "800", "399.99")
        .pay(Some("A"), p(2023, 3), "800.01", "400");
    let st: Vec<Status> = s.run().ledger.iter().map(|r| r.status).take(3).collect();
    assert_eq!(st, [Status::Paid, Status::Underpaid, Status::Overpaid]);
}

#[test]
fn month_statuses_by_shortfall_and_excess() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 1), "5000");
    s.pay(Some("A"), p(2023, 2), "800", "399.99") // within tolerance
        .pay(Some("A"), p(2023, 3), "800", "100") // underpaid
        .pay(Some("A"), p(2023, 4), "900", "400") // overpaid
        .pay(Some("A"), p(2023, 5), "800", "400")
        .pay(Some("A"), p(2023, 5), "-800", "-400") // refund nets to zero: arrears
        .pay(Some("A"), p(2023, 6), "800", "400");
    let o = s.run();
    let st: Vec<Status> = o.ledger.iter().map(|r| r.status).collect();
    assert_eq!(
        st,
        [
            Status::Arrears,
            Status::Paid,
            Status::Underpaid,
            Status::Overpaid,
            Status::Arrears,
            Status::Paid
        ]
    );
    let over = o
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::Overpayment)
        .unwrap();
    assert_eq!(over.amount, Some(d("100")));
    let arr: Vec<_> = o
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Arrears)
        .collect();
    assert_eq!(arr.len(), 3, "paid months split arrears runs");
    // Pooled = min(paid, due) per portion.
    assert_eq!(o.ledger[1].pooled(), Some((d("800"), d("399.99"))));
    assert_eq!(o.ledger[3].pooled(), Some((d("800"), d("400"))));
}

#[test]
fn uncovered_months_are_unmatched_or_gap_and_later_ones_deferred() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 1), "5000")
        .dec(Some("A"), p(2023, 2))
        .inc(Some("A"), p(2023, 4), "5000");
    s.pay(Some("B"), p(2022, 11), "1", "1")
        .pay(None, p(2022, 11), "1", "1")
        .pay(Some("A"), p(2022, 12), "5", "-5")
        .pay(Some("A"), p(2023, 7), "800", "400");
    let o = s.run();
    let st = statuses(&o);
    assert_eq!(st[0], ("2022-11".into(), Status::Unmatched));
    assert_eq!(
        o.ledger[0].employer_id.as_deref(),
        Some("B"),
        "smallest non-empty payer"
    );
    assert_eq!(st[1], ("2022-12".into(), Status::Unmatched));
    assert_eq!(st[3], ("2023-02".into(), Status::Gap));
    assert_eq!(st[4], ("2023-03".into(), Status::Gap));
    assert_eq!(o.totals.payments_deferred, 1);
    assert_eq!(o.totals.deferred.value(), d("1200"));
    let gap = o
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::ContributionGap)
        .unwrap();
    assert_eq!((gap.months, gap.employer_id.as_deref()), (Some(2), None));
    // Unmatched runs split by payer: B (Nov) then A (Dec).
    assert_eq!(
        o.findings
            .iter()
            .filter(|f| f.kind == FindingKind::UnmatchedPayment)
            .count(),
        2
    );
}

#[test]
fn payment_by_another_payer_is_a_mismatch() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 5), "5000");
    s.pay(Some("B"), p(2023, 5), "800", "400")
        .pay(None, p(2023, 6), "800", "400");
    let o = s.run();
    let f: Vec<_> = o
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::PayerMismatch)
        .collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].months, Some(2));
    assert_eq!(
        o.ledger[0].status,
        Status::Paid,
        "who paid does not change the status"
    );
}

#[test]
fn money_balances_per_person() {
    let mut s = S::new();
    s.inc(Some("A"), p(2023, 1), "5000")
        .inc(Some("B"), p(2023, 3), "5000");
    s.pay(Some("A"), p(2022, 1), "3", "4")
        .pay(Some("A"), p(2023, 1), "900", "400")
        .pay(Some("A"), p(2023, 2), "10", "0")
        .pay(Some("A"), p(2023, 3), "800", "400")
        .pay(Some("A"), p(2024, 1), "1", "1");
    let o = s.run();
    let t = &o.totals;
    let net: Decimal = s
        .payments
        .iter()
        .map(|p| p.employer_amount + p.individual_amount)
        .sum();
    assert_eq!(
        net,
        t.pooled_employer.value() + t.pooled_individual.value() + t.suspense() + t.deferred.value()
    );
}
