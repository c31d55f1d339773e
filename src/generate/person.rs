//! One insured person: a working life over the history window, turned into
//! 增减员 events and payment rows.
//!
//! First the timeline: spells at employers (transfers between employers in
//! one month, gaps, individual flexible-employment enrolments, exits,
//! employers closing under the worker — who is then sometimes left
//! stranded, never decreased). Then each spell is walked month by month:
//! yearly base adjustments, and for every month and insurance one payment
//! equal to the due amount, unless the month is one of the planned defects
//! (arrears, late base adjustment = underpayment, double payment =
//! overpayment with a later refund, payment after leaving = unmatched or
//! payer mismatch, later make-up payments of arrears).
//!
//! Every random draw comes from the person's own generator, seeded from
//! (seed, person index), and employer-wide decisions from hashes of (seed,
//! employer, month): a person's rows never depend on which thread or chunk
//! generated them.

use super::employers::{Emp, Status};
use super::rates::{avg_wage, Schedule, INS_NAMES, MATERNITY, MATERNITY_END};
use super::rng::{mix64, Rng};
use super::text::{
    birth_date, id_number_15, id_number_18, person_name, push_cents, push_date, push_period,
    BIRTH_AREAS,
};

/// What every person shares.
pub struct Ctx<'a> {
    pub seed: u64,
    /// First and last month of the history (month indexes).
    pub first: u32,
    pub last: u32,
    pub emps: &'a [Emp],
    pub sched: &'a Schedule,
}

/// The rows of a run of persons.
#[derive(Debug, Default)]
pub struct Out {
    pub events: Vec<u8>,
    pub payments: Vec<u8>,
    pub n_events: u64,
    pub n_payments: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    Employer,
    Individual,
}

#[derive(Debug, Clone)]
struct Spell {
    emp: Option<u32>,
    start: u32,
    /// The decrease month (first month not covered); `None`: never decreased.
    end: Option<u32>,
    /// Payments stop before this month (an individual who forgot to file
    /// the decrease when an employer took over stops paying anyway).
    pay_end: u32,
    reason_in: &'static str,
    reason_out: &'static str,
    /// The employer also pays for its decrease month.
    pays_after: bool,
    /// Individual spells: base as per cent of the floor.
    level: u32,
}

#[derive(Debug, Clone, Copy)]
struct Ev {
    period: u32,
    /// 0 decrease, 1 increase, 2 adjust (the engine's processing order).
    action: u8,
    ins: u8,
    emp: Option<u32>,
    /// Declared base in cents; negative when absent.
    base: i64,
    reason: &'static str,
}

#[derive(Debug, Clone, Copy)]
struct Extra {
    emp: Option<u32>,
    ins: u8,
    period: u32,
    base: i64,
    ea: i64,
    ia: i64,
    paid_m: u32,
    paid_d: u32,
    kind: &'static [u8],
}

/// Reusable per-thread scratch space.
#[derive(Default)]
pub struct Scratch {
    spells: Vec<Spell>,
    events: Vec<Ev>,
    extras: Vec<Extra>,
    name: String,
}

const ACTIONS: [&[u8]; 3] = [b"decrease", b"increase", b"adjust"];
const EMPLOYER_INS: [u8; 5] = [0, 1, 2, 3, 4];
const INDIVIDUAL_INS: [u8; 2] = [0, 1];
const LEVELS: [u32; 7] = [100, 100, 100, 120, 150, 200, 300];

/// Birth dates span this many days (about 43 years) for persons aged
/// 27 to 70 at the end of the history.
const BIRTH_DAYS: u64 = 16_000;
/// Modulus of the (birth day, sequence number) pair: unique up to 16 M persons.
const ID_SPACE: u64 = BIRTH_DAYS * 1000;

/// A job or enrolment length in months, mean about `mean`.
fn duration(rng: &mut Rng, mean: u64) -> u32 {
    let d = 1 + rng.below(mean) + rng.below(mean);
    (if rng.ppm(100_000) { d * 3 } else { d }) as u32
}

impl Ctx<'_> {
    /// An employer open at month `m` (and for two months more), skewed so
    /// that low indexes are large employers; never `avoid`.
    fn pick_employer(&self, rng: &mut Rng, m: u32, avoid: Option<u32>) -> u32 {
        let n = self.emps.len() as u128;
        let ok = |i: u32| Some(i) != avoid && self.emps[i as usize].closure.saturating_sub(2) >= m;
        let mut idx = 0;
        for _ in 0..8 {
            let a = u128::from(rng.below(1 << 20));
            idx = ((n * a * a) >> 40) as u32;
            if ok(idx) {
                return idx;
            }
        }
        for k in 1..self.emps.len() as u32 {
            let j = (idx + k) % self.emps.len() as u32;
            if ok(j) {
                return j;
            }
        }
        idx
    }

    fn timeline(&self, rng: &mut Rng, spells: &mut Vec<Spell>) {
        spells.clear();
        let (s, l) = (self.first, self.last);
        let mut m = if l == s || rng.ppm(700_000) {
            s
        } else {
            rng.range(u64::from(s) + 1, u64::from(l)) as u32
        };
        let mut next = if rng.ppm(880_000) {
            Next::Employer
        } else {
            Next::Individual
        };
        let mut reason_in = "新参保";
        let mut last_emp = None;
        let spell = |emp, start, end, reason_in, reason_out| Spell {
            emp,
            start,
            end,
            pay_end: u32::MAX,
            reason_in,
            reason_out,
            pays_after: false,
            level: 100,
        };
        while m <= l {
            match next {
                Next::Employer => {
                    let e = self.pick_employer(rng, m, last_emp);
                    last_emp = Some(e);
                    let planned = m + duration(rng, 48);
                    let emp = &self.emps[e as usize];
                    if emp.is_closed() && planned > emp.closure + 1 && emp.closure < l {
                        // The employer closes under the worker.
                        let cm = emp.closure;
                        let stranded = rng.ppm(if emp.status == Status::Bankrupt {
                            600_000
                        } else {
                            300_000
                        });
                        let out = if emp.status == Status::Bankrupt {
                            "单位破产减员"
                        } else {
                            "单位注销减员"
                        };
                        spells.push(spell(
                            Some(e),
                            m,
                            (!stranded).then_some(cm + 1),
                            reason_in,
                            out,
                        ));
                        if stranded && rng.ppm(400_000) {
                            break;
                        }
                        m = cm
                            + 1
                            + if stranded {
                                rng.range(2, 18)
                            } else {
                                rng.range(0, 6)
                            } as u32;
                        reason_in = "续保";
                        next = if rng.ppm(800_000) {
                            Next::Employer
                        } else {
                            Next::Individual
                        };
                    } else if planned > l {
                        spells.push(spell(Some(e), m, None, reason_in, ""));
                        break;
                    } else {
                        let mut sp = spell(Some(e), m, Some(planned), reason_in, "转出");
                        sp.pays_after = rng.ppm(40_000);
                        m = planned;
                        match rng.below(100) {
                            0..=54 => {
                                reason_in = "转入";
                                next = Next::Employer;
                            }
                            55..=74 => {
                                sp.reason_out = "离职";
                                m += rng.range(1, 12) as u32;
                                reason_in = "续保";
                                next = if rng.ppm(800_000) {
                                    Next::Employer
                                } else {
                                    Next::Individual
                                };
                            }
                            75..=84 => {
                                sp.reason_out = "离职";
                                reason_in = "灵活就业参保";
                                next = Next::Individual;
                            }
                            _ => {
                                sp.reason_out = if rng.ppm(500_000) { "退休" } else { "离职" };
                                spells.push(sp);
                                break;
                            }
                        }
                        spells.push(sp);
                    }
                }
                Next::Individual => {
                    let planned = m + duration(rng, 24);
                    let mut sp = spell(None, m, None, reason_in, "停保");
                    sp.level = rng.pick(&LEVELS);
                    if planned > l {
                        spells.push(sp);
                        break;
                    }
                    sp.end = Some(planned);
                    m = planned;
                    match rng.below(100) {
                        0..=69 => {
                            sp.reason_out = "转入单位参保";
                            if rng.ppm(50_000) {
                                // Forgot the decrease: both spells cover a
                                // few months (individual_enrolment_blocked).
                                let e = planned + rng.range(1, 3) as u32;
                                sp.end = (e <= l).then_some(e);
                                sp.pay_end = planned;
                            }
                            reason_in = "转入";
                            next = Next::Employer;
                        }
                        70..=84 => {
                            m += rng.range(1, 12) as u32;
                            reason_in = "续保";
                            next = if rng.ppm(800_000) {
                                Next::Employer
                            } else {
                                Next::Individual
                            };
                        }
                        _ => {
                            spells.push(sp);
                            break;
                        }
                    }
                    spells.push(sp);
                }
            }
        }
    }
}

/// Appends one person's events and payments to `out`.
pub fn person(ctx: &Ctx<'_>, i: u64, out: &mut Out, scratch: &mut Scratch) {
    let mut rng = Rng::new(mix64(ctx.seed) ^ mix64(i.wrapping_mul(0x2545_F491_4F6C_DD1D)));
    let (s, l) = (ctx.first, ctx.last);

    // Identity: person number, a unique valid citizen ID number (a few
    // persons registered under the legacy 15-digit form until some month),
    // a name.
    let mut pid = [0u8; 11];
    let mut v = 10_000_000_001 + i % 89_999_999_999;
    for d in pid.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let k = (i
        .wrapping_mul(7_654_321)
        .wrapping_add(mix64(ctx.seed) % ID_SPACE))
        % ID_SPACE;
    let birth_base = (l / 12).saturating_sub(70);
    let birth = birth_date(birth_base, (k % BIRTH_DAYS) as u32);
    let id18 = id_number_18(rng.pick(&BIRTH_AREAS), birth, (k / BIRTH_DAYS) as u32);
    let id15 = id_number_15(&id18);
    let legacy_until = if birth.0 < 2000 && rng.ppm(30_000) {
        if rng.ppm(300_000) {
            u32::MAX
        } else {
            rng.range(u64::from(s), u64::from(l)) as u32
        }
    } else {
        0
    };
    person_name(&mut rng, &mut scratch.name);
    let kind_normal: &[u8] = if rng.ppm(300_000) { b"" } else { b"normal" };

    ctx.timeline(&mut rng, &mut scratch.spells);

    let mut w = Writer {
        pid,
        seq: 0,
        kind_normal,
    };
    scratch.events.clear();
    scratch.extras.clear();
    // Wage relative to the average wage: 0.45..1.85, a tenth of persons 2-4 times that.
    let mut wage_permille = (450 + rng.below(700) + rng.below(700)) as i64;
    if rng.ppm(100_000) {
        wage_permille *= rng.range(2, 4) as i64;
    }
    let mut wage: i64 = 0;
    let mut first_job = true;
    for sp in &scratch.spells {
        let ins_list: &[u8] = if sp.emp.is_some() {
            &EMPLOYER_INS
        } else {
            &INDIVIDUAL_INS
        };
        let has_mat = sp.emp.is_some() && sp.start < MATERNITY_END;
        let emp = sp.emp.map(|e| &ctx.emps[e as usize]);
        let key = emp.map_or(0, |e| e.key);
        let cut = emp.map_or(u32::MAX, |e| e.closure.saturating_add(1));
        let cover_end = sp.end.unwrap_or(l + 1).min(cut).min(l + 1);
        let pay_end = cover_end.min(sp.pay_end);
        let star_floor = |m: u32| ctx.sched.get(0, 0, m).map_or(0, |p| p.floor);
        let mut base: i64 = match sp.emp {
            Some(_) => {
                wage = if first_job {
                    avg_wage(sp.start / 12) * wage_permille / 1000
                } else {
                    wage * rng.range(900, 1300) as i64 / 1000
                };
                first_job = false;
                wage * 100
            }
            None => star_floor(sp.start) * i64::from(sp.level) / 100,
        };
        let mut prev_base = base;
        let mut last_july = None;
        let liquidator_pays = rng.ppm(300_000);
        let pay_day = if sp.emp.is_some() {
            15
        } else {
            rng.range(5, 25) as u32
        };
        for &ins in ins_list {
            if ins as usize == MATERNITY && !has_mat {
                continue;
            }
            scratch.events.push(Ev {
                period: sp.start,
                action: 1,
                ins,
                emp: sp.emp,
                base,
                reason: sp.reason_in,
            });
        }
        for m in sp.start..cover_end {
            if m >= pay_end {
                break;
            }
            // Yearly base adjustment: July for employers, January (new
            // floor) for individuals.
            let adjust = m > sp.start
                && match sp.emp {
                    Some(_) => m % 12 == 6,
                    None => m % 12 == 0,
                };
            if adjust {
                prev_base = base;
                match sp.emp {
                    Some(_) => {
                        wage = wage * rng.range(1020, 1080) as i64 / 1000;
                        base = wage * 100;
                        last_july = Some(m);
                    }
                    None => base = star_floor(m) * i64::from(sp.level) / 100,
                }
                for &ins in ins_list {
                    if ins as usize == MATERNITY && (!has_mat || m >= MATERNITY_END) {
                        continue;
                    }
                    scratch.events.push(Ev {
                        period: m,
                        action: 2,
                        ins,
                        emp: sp.emp,
                        base,
                        reason: "年度基数调整",
                    });
                }
            }

            // This month's payment decisions (shared by its insurances).
            let in_distress =
                emp.is_some_and(|e| e.is_closed() && m <= e.closure && m + e.distress > e.closure);
            let arrears = match (sp.emp, emp) {
                (Some(ei), Some(e)) => e.misses(ctx.seed, ei, m) || rng.ppm(15_000),
                _ => rng.ppm(50_000),
            };
            let makeup_month = if !arrears {
                None
            } else if in_distress {
                liquidator_pays.then(|| emp.map_or(m, |e| e.closure) + rng.range(2, 10) as u32)
            } else if rng.ppm(if sp.emp.is_some() { 450_000 } else { 350_000 }) {
                Some(m + rng.range(2, 12) as u32)
            } else {
                None
            }
            .filter(|&pm| pm <= l);
            let late_k = match (sp.emp, emp, last_july) {
                (Some(ei), Some(e), Some(j)) if m < j + 3 => e.late_adjust(ctx.seed, ei, j / 12),
                _ => 0,
            };
            let underpay = late_k > 0 && m < last_july.unwrap_or(0) + late_k && prev_base != base;
            let diff_month = (underpay && rng.ppm(500_000))
                .then(|| last_july.unwrap_or(m) + late_k + rng.range(1, 3) as u32)
                .filter(|&pm| pm <= l);
            // Part of the employer portion missing (cash-flow trouble).
            let partial =
                (!arrears && sp.emp.is_some() && rng.ppm(2_000)).then(|| rng.range(40, 90) as i64);
            let dup = !arrears && rng.ppm(2_000);
            let refund_month = (dup && rng.ppm(600_000))
                .then(|| m + rng.range(2, 4) as u32)
                .filter(|&pm| pm <= l);

            for &ins in ins_list {
                if ins as usize == MATERNITY && (!has_mat || m >= MATERNITY_END) {
                    continue;
                }
                let Some(p) = ctx.sched.get(key, ins as usize, m) else {
                    continue;
                };
                let (b, de, di) = p.due(base);
                if arrears {
                    if let Some(pm) = makeup_month {
                        scratch.extras.push(Extra {
                            emp: sp.emp,
                            ins,
                            period: m,
                            base: b,
                            ea: de,
                            ia: di,
                            paid_m: pm,
                            paid_d: 20,
                            kind: b"makeup",
                        });
                    }
                    continue;
                }
                if underpay {
                    let (bo, deo, dio) = p.due(prev_base);
                    w.payment(out, ctx, sp.emp, ins, m, bo, deo, dio, m + 1, pay_day, None);
                    if let Some(pm) = diff_month {
                        if de >= deo && di >= dio && de + di > deo + dio {
                            scratch.extras.push(Extra {
                                emp: sp.emp,
                                ins,
                                period: m,
                                base: b,
                                ea: de - deo,
                                ia: di - dio,
                                paid_m: pm,
                                paid_d: 18,
                                kind: b"makeup",
                            });
                        }
                    }
                } else if let Some(pct) = partial {
                    w.payment(
                        out,
                        ctx,
                        sp.emp,
                        ins,
                        m,
                        b,
                        de * pct / 100,
                        di,
                        m + 1,
                        pay_day,
                        None,
                    );
                } else {
                    w.payment(out, ctx, sp.emp, ins, m, b, de, di, m + 1, pay_day, None);
                }
                if dup {
                    let x = Extra {
                        emp: sp.emp,
                        ins,
                        period: m,
                        base: b,
                        ea: de,
                        ia: di,
                        paid_m: m + 1,
                        paid_d: pay_day + 1,
                        kind: kind_normal,
                    };
                    scratch.extras.push(x);
                    if let Some(rm) = refund_month {
                        scratch.extras.push(Extra {
                            paid_m: rm,
                            paid_d: 8,
                            kind: b"refund",
                            ..x
                        });
                    }
                }
            }
        }

        // Leaving: the decrease (maternity was closed at its merger into
        // medical if the spell lived into 2019), and sometimes a payment
        // for the month after.
        let alive_at_merger = has_mat && cover_end > MATERNITY_END;
        if let Some(e) = sp.end.filter(|&e| e <= l) {
            for &ins in ins_list {
                if ins as usize == MATERNITY && (!has_mat || alive_at_merger) {
                    continue;
                }
                scratch.events.push(Ev {
                    period: e,
                    action: 0,
                    ins,
                    emp: sp.emp,
                    base: -1,
                    reason: sp.reason_out,
                });
            }
            if sp.pays_after && e == cover_end {
                for &ins in ins_list {
                    if ins as usize == MATERNITY && (!has_mat || e >= MATERNITY_END) {
                        continue;
                    }
                    let Some(p) = ctx.sched.get(key, ins as usize, e) else {
                        continue;
                    };
                    let (b, de, di) = p.due(base);
                    scratch.extras.push(Extra {
                        emp: sp.emp,
                        ins,
                        period: e,
                        base: b,
                        ea: de,
                        ia: di,
                        paid_m: e + 1,
                        paid_d: pay_day,
                        kind: kind_normal,
                    });
                }
            }
        }
        if alive_at_merger && MATERNITY_END <= l {
            scratch.events.push(Ev {
                period: MATERNITY_END,
                action: 0,
                ins: MATERNITY as u8,
                emp: sp.emp,
                base: -1,
                reason: "生育保险并入职工基本医疗保险",
            });
        }
        // Individuals often prepay the current month (deferred in a run).
        if sp.emp.is_none() && sp.end.is_none() && pay_end == l + 1 && rng.ppm(200_000) {
            for &ins in ins_list {
                let Some(p) = ctx.sched.get(0, ins as usize, l + 1) else {
                    continue;
                };
                let (b, de, di) = p.due(base);
                scratch.extras.push(Extra {
                    emp: None,
                    ins,
                    period: l + 1,
                    base: b,
                    ea: de,
                    ia: di,
                    paid_m: l + 1,
                    paid_d: 5,
                    kind: kind_normal,
                });
            }
        }
    }
    for x in &scratch.extras {
        w.payment(
            out,
            ctx,
            x.emp,
            x.ins,
            x.period,
            x.base,
            x.ea,
            x.ia,
            x.paid_m,
            x.paid_d,
            Some(x.kind),
        );
    }

    // Events, in the order an agency export lists them: by month, then
    // decreases before increases before adjustments.
    scratch.events.sort_by_key(|e| (e.period, e.action));
    let ev = &mut out.events;
    for (n, e) in scratch.events.iter().enumerate() {
        ev.extend_from_slice(b"EV");
        ev.extend_from_slice(&pid);
        push_seq(ev, n as u32 + 1, 3);
        ev.push(b',');
        ev.extend_from_slice(&pid);
        ev.push(b',');
        if e.period < legacy_until {
            ev.extend_from_slice(&id15);
        } else {
            ev.extend_from_slice(&id18);
        }
        ev.push(b',');
        ev.extend_from_slice(scratch.name.as_bytes());
        ev.push(b',');
        if let Some(ei) = e.emp {
            ev.extend_from_slice(&ctx.emps[ei as usize].id);
        }
        ev.push(b',');
        ev.extend_from_slice(INS_NAMES[e.ins as usize].as_bytes());
        ev.push(b',');
        ev.extend_from_slice(ACTIONS[e.action as usize]);
        ev.push(b',');
        push_period(ev, e.period);
        ev.push(b',');
        if e.base >= 0 {
            push_cents(ev, e.base);
        }
        ev.push(b',');
        ev.extend_from_slice(e.reason.as_bytes());
        ev.push(b'\n');
    }
    out.n_events += scratch.events.len() as u64;
}

/// Appends `v` zero-padded to at least `width` digits.
#[inline]
fn push_seq(b: &mut Vec<u8>, v: u32, width: usize) {
    let mut ib = itoa::Buffer::new();
    let t = ib.format(v);
    for _ in t.len()..width {
        b.push(b'0');
    }
    b.extend_from_slice(t.as_bytes());
}

struct Writer<'a> {
    pid: [u8; 11],
    seq: u32,
    kind_normal: &'a [u8],
}

impl Writer<'_> {
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn payment(
        &mut self,
        out: &mut Out,
        ctx: &Ctx<'_>,
        emp: Option<u32>,
        ins: u8,
        period: u32,
        base: i64,
        ea: i64,
        ia: i64,
        paid_m: u32,
        paid_d: u32,
        kind: Option<&[u8]>,
    ) {
        self.seq += 1;
        let b = &mut out.payments;
        b.extend_from_slice(b"PY");
        b.extend_from_slice(&self.pid);
        push_seq(b, self.seq, 4);
        b.push(b',');
        b.extend_from_slice(&self.pid);
        b.push(b',');
        if let Some(e) = emp {
            b.extend_from_slice(&ctx.emps[e as usize].id);
        }
        b.push(b',');
        b.extend_from_slice(INS_NAMES[ins as usize].as_bytes());
        b.push(b',');
        push_period(b, period);
        b.push(b',');
        push_cents(b, base);
        b.push(b',');
        push_cents(b, ea);
        b.push(b',');
        push_cents(b, ia);
        b.push(b',');
        push_date(b, paid_m, paid_d);
        b.push(b',');
        b.extend_from_slice(kind.unwrap_or(self.kind_normal));
        b.push(b'\n');
        out.n_payments += 1;
    }
}
