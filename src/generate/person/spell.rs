//! Walking one spell month by month into events and payment rows.
//!
//! Takes a spell from the timeline, the person's generator and wage; emits
//! the increase, yearly base adjustments (July at employers, January for
//! individuals) and the decrease as events, and for every covered month
//! and insurance one payment equal to the due amount, unless the month is
//! one of the planned defects: arrears (sometimes made up later),
//! underpayment after a late base adjustment (sometimes topped up),
//! partial payment, double payment (sometimes refunded), payment for the
//! month after leaving, an individual's prepayment of the current month.
//! Maternity stops at its merger into medical. Employer-wide defects come
//! from hashes of (seed, employer, month), so co-workers share them.

use super::rows::{Ev, Extra, Pending, Writer};
use super::timeline::Spell;
use super::{Ctx, Out};
use crate::generate::rates::{avg_wage, MATERNITY, MATERNITY_END};
use crate::generate::rng::Rng;

const EMPLOYER_INS: [u8; 5] = [0, 1, 2, 3, 4];
const INDIVIDUAL_INS: [u8; 2] = [0, 1];

/// A person's wage, carried from job to job.
pub(super) struct Wage {
    /// Relative to the average wage, per mille.
    permille: i64,
    /// Monthly, in yuan, at the current (or last) employer.
    current: i64,
    first_job: bool,
}

impl Wage {
    pub(super) fn draw(rng: &mut Rng) -> Wage {
        // Wage relative to the average wage: 0.45..1.85, a tenth of persons 2-4 times that.
        let mut wage_permille = (450 + rng.below(700) + rng.below(700)) as i64;
        if rng.ppm(100_000) {
            wage_permille *= rng.range(2, 4) as i64;
        }
        Wage {
            permille: wage_permille,
            current: 0,
            first_job: true,
        }
    }
}

/// Appends spell `sp`'s payments to `out` (through `w`), and its events and
/// out-of-order payments to `pending`.
pub(super) fn walk(
    ctx: &Ctx<'_>,
    rng: &mut Rng,
    sp: &Spell,
    wage: &mut Wage,
    w: &mut Writer,
    out: &mut Out,
    pending: &mut Pending,
) {
    let l = ctx.last;
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
            wage.current = if wage.first_job {
                avg_wage(sp.start / 12) * wage.permille / 1000
            } else {
                wage.current * rng.range(900, 1300) as i64 / 1000
            };
            wage.first_job = false;
            wage.current * 100
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
        pending.events.push(Ev {
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
                    wage.current = wage.current * rng.range(1020, 1080) as i64 / 1000;
                    base = wage.current * 100;
                    last_july = Some(m);
                }
                None => base = star_floor(m) * i64::from(sp.level) / 100,
            }
            for &ins in ins_list {
                if ins as usize == MATERNITY && (!has_mat || m >= MATERNITY_END) {
                    continue;
                }
                pending.events.push(Ev {
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
                    pending.extras.push(Extra {
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
                        pending.extras.push(Extra {
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
                    kind: w.kind_normal,
                };
                pending.extras.push(x);
                if let Some(rm) = refund_month {
                    pending.extras.push(Extra {
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
            pending.events.push(Ev {
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
                pending.extras.push(Extra {
                    emp: sp.emp,
                    ins,
                    period: e,
                    base: b,
                    ea: de,
                    ia: di,
                    paid_m: e + 1,
                    paid_d: pay_day,
                    kind: w.kind_normal,
                });
            }
        }
    }
    if alive_at_merger && MATERNITY_END <= l {
        pending.events.push(Ev {
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
            pending.extras.push(Extra {
                emp: None,
                ins,
                period: l + 1,
                base: b,
                ea: de,
                ia: di,
                paid_m: l + 1,
                paid_d: 5,
                kind: w.kind_normal,
            });
        }
    }
}
