//! The rows a person's generation produces, as CSV bytes: `payments.csv`
//! rows written as they come, and what must wait for the whole person
//! (events, sorted by month; payments made out of order).
//!
//! Takes the generated values (month indexes, cents, employer indexes);
//! guarantees rows in the SPEC's canonical format, in the columns' order of
//! the generator's headers, with ids unique per person (`EV` / `PY`, the
//! person number, a sequence number) and events in the order an agency
//! export lists them.

use super::identity::Identity;
use super::{Ctx, Out};
use crate::generate::rates::INS_NAMES;
use crate::generate::text::{push_cents, push_date, push_period};

const ACTIONS: [&[u8]; 3] = [b"decrease", b"increase", b"adjust"];

/// One 增减员 event, held until the person's events are sorted.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ev {
    pub(super) period: u32,
    /// 0 decrease, 1 increase, 2 adjust (the engine's processing order).
    pub(super) action: u8,
    pub(super) ins: u8,
    pub(super) emp: Option<u32>,
    /// Declared base in cents; negative when absent.
    pub(super) base: i64,
    pub(super) reason: &'static str,
}

/// A payment made outside its month's regular turn (make-up, top-up,
/// duplicate, refund, payment after leaving, prepayment), written after
/// the regular ones; `ea` and `ia` are the employer and individual amounts.
#[derive(Debug, Clone, Copy)]
pub(super) struct Extra {
    pub(super) emp: Option<u32>,
    pub(super) ins: u8,
    pub(super) period: u32,
    pub(super) base: i64,
    pub(super) ea: i64,
    pub(super) ia: i64,
    pub(super) paid_m: u32,
    pub(super) paid_d: u32,
    pub(super) kind: &'static [u8],
}

/// Events and out-of-order payments of one person, written once the
/// person is complete.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) events: Vec<Ev>,
    pub(super) extras: Vec<Extra>,
}

impl Pending {
    pub(super) fn clear(&mut self) {
        self.events.clear();
        self.extras.clear();
    }

    /// Writes the out-of-order payments, then the events, to `out`.
    pub(super) fn write(
        &mut self,
        ctx: &Ctx<'_>,
        id: &Identity,
        name: &str,
        w: &mut Writer,
        out: &mut Out,
    ) {
        for x in &self.extras {
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
        self.events.sort_by_key(|e| (e.period, e.action));
        let ev = &mut out.events;
        for (n, e) in self.events.iter().enumerate() {
            ev.extend_from_slice(b"EV");
            ev.extend_from_slice(&id.pid);
            push_seq(ev, n as u32 + 1, 3);
            ev.push(b',');
            ev.extend_from_slice(&id.pid);
            ev.push(b',');
            ev.extend_from_slice(id.id_number(e.period));
            ev.push(b',');
            ev.extend_from_slice(name.as_bytes());
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
        out.n_events += self.events.len() as u64;
    }
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

pub(super) struct Writer {
    pub(super) pid: [u8; 11],
    pub(super) seq: u32,
    /// The `kind` of a normal payment (empty for some persons).
    pub(super) kind_normal: &'static [u8],
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(super) fn payment(
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
