//! Spells: one person's events for one insurance → enrolment spells.
//!
//! SPEC §3: events ordered by period, then decreases, increases, adjusts,
//! then file order. An increase opens a spell at its employer (or
//! individually), an adjust changes the open spell's base from its month
//! on, a decrease closes it (its month is the first not covered). Broken
//! sequences give event findings and are otherwise ignored. Closure
//! truncation (closed employers) happens in [`Spell::coverage`].

use crate::model::{Action, Event, Id, Period};
use crate::outcome::FindingKind;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// One enrolment spell.
#[derive(Debug, Clone, PartialEq)]
pub struct Spell {
    /// `None`: an individual (flexible-employment) spell.
    pub employer: Option<Id>,
    pub start: Period,
    /// First month not covered (`None`: open, runs to the horizon).
    pub end: Option<Period>,
    /// Base from each month on, in order of application.
    pub bases: Vec<(Period, Decimal)>,
}

impl Spell {
    /// The base in effect in month `m`.
    pub fn base_at(&self, m: Period) -> Decimal {
        self.bases
            .iter()
            .rev()
            .find(|(p, _)| *p <= m)
            .or_else(|| self.bases.first())
            .map(|(_, b)| *b)
            .unwrap_or_default()
    }

    /// Covered months `[from, to)` up to `horizon`, cut at the closure
    /// month of a closed employer, and the stranded run `[from, to]` if
    /// the spell would have covered months after the closure.
    pub fn coverage(&self, horizon: Period, closed_on: Option<NaiveDate>) -> Coverage {
        let uncut_end = self.end.map_or(horizon.next(), |e| e.min(horizon.next()));
        let Some(d) = closed_on else {
            return Coverage {
                from: self.start,
                to: uncut_end.max(self.start),
                stranded: None,
            };
        };
        let after = Period::of_date(d).next();
        let to = uncut_end.min(after).max(self.start);
        let s_from = self.start.max(after);
        let stranded = (s_from < uncut_end).then(|| (s_from, uncut_end.prev()));
        Coverage {
            from: self.start,
            to,
            stranded,
        }
    }
}

/// Months a spell covers after truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    pub from: Period,
    /// Exclusive; `to <= from` means nothing is covered.
    pub to: Period,
    /// `(first, last)` months cut off by the employer's closure.
    pub stranded: Option<(Period, Period)>,
}

impl Coverage {
    pub fn covers(&self, m: Period) -> bool {
        self.from <= m && m < self.to
    }
}

/// A finding about one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFinding {
    pub kind: FindingKind,
    pub employer: Option<Id>,
    pub period: Period,
    pub reason: Option<String>,
}

/// Builds the spells of one insurance from its events (any order).
pub fn build(events: &[&Event]) -> (Vec<Spell>, Vec<EventFinding>) {
    let mut order: Vec<&Event> = events.to_vec();
    order.sort_by_key(|e| (e.period, e.action, e.seq));
    let mut spells: Vec<Spell> = Vec::new();
    // Index into `spells` of the open spell per employer key.
    let mut open: Vec<(Option<Id>, usize)> = Vec::new();
    let mut findings = Vec::new();
    let finding = |kind, e: &Event| EventFinding {
        kind,
        employer: e.employer_id.clone(),
        period: e.period,
        reason: e.reason.clone(),
    };
    for e in order {
        let pos = open.iter().position(|(k, _)| *k == e.employer_id);
        match e.action {
            Action::Increase => {
                if pos.is_some() {
                    findings.push(finding(FindingKind::DuplicateIncrease, e));
                } else {
                    open.push((e.employer_id.clone(), spells.len()));
                    spells.push(Spell {
                        employer: e.employer_id.clone(),
                        start: e.period,
                        end: None,
                        bases: vec![(e.period, e.base.unwrap_or_default())],
                    });
                }
            }
            Action::Adjust => match pos {
                Some(p) => spells[open[p].1]
                    .bases
                    .push((e.period, e.base.unwrap_or_default())),
                None => findings.push(finding(FindingKind::OrphanAdjust, e)),
            },
            Action::Decrease => match pos {
                Some(p) => {
                    let (_, i) = open.remove(p);
                    spells[i].end = Some(e.period);
                }
                None => findings.push(finding(FindingKind::OrphanDecrease, e)),
            },
        }
    }
    (spells, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Insurance;

    fn ev(seq: u64, emp: Option<&str>, action: Action, p: u32, base: Option<i64>) -> Event {
        Event {
            seq,
            person_id: "P".into(),
            id_number: None,
            employer_id: emp.map(Id::from),
            insurance: Insurance::Pension,
            action,
            period: Period(p),
            base: base.map(Decimal::from),
            reason: None,
        }
    }

    fn run(evs: &[Event]) -> (Vec<Spell>, Vec<EventFinding>) {
        let refs: Vec<&Event> = evs.iter().collect();
        build(&refs)
    }

    #[test]
    fn increase_adjust_decrease() {
        let (s, f) = run(&[
            ev(0, Some("E"), Action::Increase, 10, Some(100)),
            ev(1, Some("E"), Action::Adjust, 12, Some(200)),
            ev(2, Some("E"), Action::Decrease, 15, None),
        ]);
        assert!(f.is_empty());
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].start, s[0].end), (Period(10), Some(Period(15))));
        assert_eq!(s[0].base_at(Period(11)), Decimal::from(100));
        assert_eq!(s[0].base_at(Period(12)), Decimal::from(200));
    }

    #[test]
    fn decrease_before_increase_in_one_month_reopens() {
        let (s, f) = run(&[
            ev(0, Some("E"), Action::Increase, 10, Some(100)),
            ev(1, Some("E"), Action::Increase, 12, Some(300)),
            ev(2, Some("E"), Action::Decrease, 12, None),
        ]);
        assert!(f.is_empty());
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].end, Some(Period(12)));
        assert_eq!(s[1].start, Period(12));
    }

    #[test]
    fn orphans_and_duplicate_increase() {
        let (s, f) = run(&[
            ev(0, Some("E"), Action::Decrease, 9, None),
            ev(1, Some("E"), Action::Adjust, 9, Some(5)),
            ev(2, Some("E"), Action::Increase, 10, Some(100)),
            ev(3, Some("E"), Action::Increase, 11, Some(100)),
        ]);
        assert_eq!(s.len(), 1);
        let kinds: Vec<FindingKind> = f.iter().map(|x| x.kind).collect();
        assert_eq!(
            kinds,
            [
                FindingKind::OrphanDecrease,
                FindingKind::OrphanAdjust,
                FindingKind::DuplicateIncrease
            ]
        );
    }

    #[test]
    fn last_adjust_in_file_order_wins() {
        let (s, _) = run(&[
            ev(0, None, Action::Increase, 10, Some(100)),
            ev(1, None, Action::Adjust, 12, Some(200)),
            ev(2, None, Action::Adjust, 12, Some(250)),
        ]);
        assert_eq!(s[0].base_at(Period(12)), Decimal::from(250));
    }

    #[test]
    fn closure_truncates_and_strands() {
        let sp = Spell {
            employer: Some("E".into()),
            start: Period::from_ym(2023, 1),
            end: None,
            bases: vec![],
        };
        let d = NaiveDate::from_ymd_opt(2023, 5, 16);
        let c = sp.coverage(Period::from_ym(2023, 10), d);
        assert_eq!(c.to, Period::from_ym(2023, 6));
        assert_eq!(
            c.stranded,
            Some((Period::from_ym(2023, 6), Period::from_ym(2023, 10)))
        );
        // Decrease filed the month after closure: not stranded.
        let sp2 = Spell {
            end: Some(Period::from_ym(2023, 6)),
            ..sp.clone()
        };
        assert_eq!(sp2.coverage(Period::from_ym(2023, 10), d).stranded, None);
        // Opened after closure: covers nothing, stranded from its start.
        let sp3 = Spell {
            start: Period::from_ym(2023, 8),
            ..sp.clone()
        };
        let c3 = sp3.coverage(Period::from_ym(2023, 10), d);
        assert!(c3.to <= c3.from);
        assert_eq!(
            c3.stranded,
            Some((Period::from_ym(2023, 8), Period::from_ym(2023, 10)))
        );
        // Opened after the horizon: not reported.
        let sp4 = Spell {
            start: Period::from_ym(2024, 1),
            ..sp
        };
        assert_eq!(sp4.coverage(Period::from_ym(2023, 10), d).stranded, None);
    }
}
