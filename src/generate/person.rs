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
//!
//! Split by stage: `identity` (who the person is), `timeline` (the spells),
//! `spell` (a spell walked month by month), `rows` (the CSV bytes).

mod identity;
mod rows;
mod spell;
mod timeline;

use super::employers::Emp;
use super::rates::Schedule;
use super::rng::{mix64, Rng};
use identity::Identity;
use rows::{Pending, Writer};
use spell::Wage;
use timeline::Spell;

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

/// Reusable per-thread scratch space.
#[derive(Default)]
pub struct Scratch {
    spells: Vec<Spell>,
    pending: Pending,
    name: String,
}

/// Appends one person's events and payments to `out`.
pub fn person(ctx: &Ctx<'_>, i: u64, out: &mut Out, scratch: &mut Scratch) {
    let mut rng = Rng::new(mix64(ctx.seed) ^ mix64(i.wrapping_mul(0x2545_F491_4F6C_DD1D)));

    // Identity: person number, a unique valid citizen ID number (a few
    // persons registered under the legacy 15-digit form until some month),
    // a name.
    let id = Identity::draw(ctx, i, &mut rng, &mut scratch.name);
    let kind_normal: &[u8] = if rng.ppm(300_000) { b"" } else { b"normal" };

    ctx.timeline(&mut rng, &mut scratch.spells);

    let mut w = Writer {
        pid: id.pid,
        seq: 0,
        kind_normal,
    };
    scratch.pending.clear();
    let mut wage = Wage::draw(&mut rng);
    for sp in &scratch.spells {
        spell::walk(
            ctx,
            &mut rng,
            sp,
            &mut wage,
            &mut w,
            out,
            &mut scratch.pending,
        );
    }
    scratch.pending.write(ctx, &id, &scratch.name, &mut w, out);
}
