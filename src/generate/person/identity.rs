//! Who a generated person is: person number, citizen ID number (18-digit,
//! or the legacy 15-digit form until some month for a few), and name.
//!
//! Takes the person's index and generator; guarantees a person number
//! derived from the index alone, and an ID number with a valid check
//! character that is unique among up to 16 M persons (birth day and
//! sequence number are a bijection of the index), for a birth date that
//! makes the person 27 to 70 at the end of the history.

use super::Ctx;
use crate::generate::rng::{mix64, Rng};
use crate::generate::text::{birth_date, id_number_15, id_number_18, person_name, BIRTH_AREAS};

/// Birth dates span this many days (about 43 years) for persons aged
/// 27 to 70 at the end of the history.
const BIRTH_DAYS: u64 = 16_000;
/// Modulus of the (birth day, sequence number) pair: unique up to 16 M persons.
const ID_SPACE: u64 = BIRTH_DAYS * 1000;

/// A person's identifiers, as the events carry them.
pub(super) struct Identity {
    /// The person number (also the payer id of their payments).
    pub(super) pid: [u8; 11],
    id18: [u8; 18],
    id15: [u8; 15],
    /// Events before this month carry the 15-digit ID number.
    legacy_until: u32,
}

impl Identity {
    /// Draws person `i`'s identity, and their name into `name`.
    pub(super) fn draw(ctx: &Ctx<'_>, i: u64, rng: &mut Rng, name: &mut String) -> Identity {
        let (s, l) = (ctx.first, ctx.last);
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
        person_name(rng, name);
        Identity {
            pid,
            id18,
            id15,
            legacy_until,
        }
    }

    /// The ID number as an event of month `period` carries it.
    pub(super) fn id_number(&self, period: u32) -> &[u8] {
        if period < self.legacy_until {
            &self.id15
        } else {
            &self.id18
        }
    }
}
