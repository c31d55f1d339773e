//! A person's working life as spells: which employer (or individual
//! enrolment) covers them from which month to which, and why each spell
//! starts and ends.
//!
//! Takes the shared [`Ctx`] and the person's generator; guarantees spells
//! in time order within the history window, employers that are open when a
//! spell starts (and, skewed, mostly large ones), transfers that change
//! employer, and the realistic oddities the engine must handle: employers
//! closing under the worker (who is sometimes left stranded, never
//! decreased) and individuals who forget the decrease when an employer
//! takes over. Draws only from the person's generator, in a fixed order.

use super::Ctx;
use crate::generate::employers::Status;
use crate::generate::rng::Rng;

/// What the next spell is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    Employer,
    Individual,
}

/// Months covered by one employer (`emp`) or by an individual enrolment
/// (`None`).
#[derive(Debug, Clone)]
pub(super) struct Spell {
    pub(super) emp: Option<u32>,
    pub(super) start: u32,
    /// The decrease month (first month not covered); `None`: never decreased.
    pub(super) end: Option<u32>,
    /// Payments stop before this month (an individual who forgot to file
    /// the decrease when an employer took over stops paying anyway).
    pub(super) pay_end: u32,
    pub(super) reason_in: &'static str,
    pub(super) reason_out: &'static str,
    /// The employer also pays for its decrease month.
    pub(super) pays_after: bool,
    /// Individual spells: base as per cent of the floor.
    pub(super) level: u32,
}

const LEVELS: [u32; 7] = [100, 100, 100, 120, 150, 200, 300];

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

    pub(super) fn timeline(&self, rng: &mut Rng, spells: &mut Vec<Spell>) {
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
