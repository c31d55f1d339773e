//! The employer registry: about one employer per 40 persons, a few per cent
//! closed (bankrupt, dissolved, cancelled) at some date of the history, a
//! few suspended, each with a region, a credit code and payment habits.

use super::rng::{hash3, hash_ppm, Rng};
use super::text::{credit_code, employer_name, push_date, REGIONS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Suspended,
    Bankrupt,
    Dissolved,
    Cancelled,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Suspended => "suspended",
            Status::Bankrupt => "bankrupt",
            Status::Dissolved => "dissolved",
            Status::Cancelled => "cancelled",
        }
    }
}

/// What the person simulation needs to know about an employer.
#[derive(Debug, Clone)]
pub struct Emp {
    pub id: Vec<u8>,
    /// Rate key (see `rates::KEYS`).
    pub key: usize,
    pub status: Status,
    /// Month of the closure date; `u32::MAX` when not closed.
    pub closure: u32,
    /// Months up to and including the closure month it paid nothing for.
    pub distress: u32,
    /// Chance per month (ppm) that it pays nobody that month.
    pub miss_ppm: u32,
    /// Chance per year (ppm) that it keeps paying on last year's base for a
    /// few months after the July base adjustment.
    pub late_adjust_ppm: u32,
}

impl Emp {
    pub fn is_closed(&self) -> bool {
        self.closure != u32::MAX
    }

    /// Whether it pays nobody in month `m` (an employer-wide decision).
    #[inline]
    pub fn misses(&self, seed: u64, idx: u32, m: u32) -> bool {
        if self.is_closed() && m <= self.closure && m + self.distress > self.closure {
            return true;
        }
        self.miss_ppm > 0 && hash_ppm(hash3(seed, u64::from(idx), u64::from(m)), self.miss_ppm)
    }

    /// How many months after July of `year` it pays on the old base (0: none).
    #[inline]
    pub fn late_adjust(&self, seed: u64, idx: u32, year: u32) -> u32 {
        let h = hash3(seed ^ 0x1A7E, u64::from(idx), u64::from(year));
        if hash_ppm(h, self.late_adjust_ppm) {
            1 + (h % 3) as u32
        } else {
            0
        }
    }
}

/// Number of employers for a population.
pub fn count(persons: u64) -> u64 {
    persons.div_ceil(40).max(1)
}

/// Builds the registry for history months `first..=last`; returns it and
/// the text of `employers.csv`.
pub fn build(seed: u64, n: u64, first: u32, last: u32) -> (Vec<Emp>, Vec<u8>) {
    let mut rng = Rng::new(seed ^ 0xE3B0_C442_98FC_1C14);
    // Which employers close: a few per cent, never the very largest (the
    // lowest indexes are the most popular), at least one when there are two.
    let mut closed: Vec<Option<Status>> = vec![None; n as usize];
    if n >= 2 {
        let n_closed = ((n * 45 + 500) / 1000).max(1);
        let lo = (n / 20).max(1);
        let mut k = 0;
        while k < n_closed {
            let i = rng.range(lo, n - 1) as usize;
            if closed[i].is_some() {
                continue;
            }
            let roll = rng.below(100);
            closed[i] = Some(if k == 0 || roll < 60 {
                Status::Bankrupt
            } else if roll < 85 {
                Status::Dissolved
            } else {
                Status::Cancelled
            });
            k += 1;
        }
    }
    let (c_lo, c_hi) = if last > first + 7 {
        (first + 6, last - 1)
    } else {
        (first, last)
    };
    let mut emps = Vec::with_capacity(n as usize);
    let mut csv = Vec::with_capacity(n as usize * 110 + 128);
    csv.extend_from_slice(
        b"employer_id,name,credit_code,status,status_date,region,archive_transferred\n",
    );
    for (i, closed) in closed.into_iter().enumerate() {
        let region = if rng.ppm(20_000) {
            None
        } else {
            Some(rng.below(REGIONS.len() as u64) as usize)
        };
        let key = match region {
            Some(1) => 1,
            Some(2) => 2,
            _ => 0,
        };
        let (code, city) = match region {
            Some(r) => (REGIONS[r].0, REGIONS[r].1),
            None => {
                let r = rng.below(REGIONS.len() as u64) as usize;
                (REGIONS[r].0, REGIONS[r].1)
            }
        };
        let mut id = Vec::with_capacity(12);
        id.extend_from_slice(if region.is_some() {
            &code[..4]
        } else {
            b"9900"
        });
        let serial = format!("{:06}", i + 1);
        id.extend_from_slice(serial.as_bytes());
        let status = match closed {
            Some(s) => s,
            None if rng.ppm(20_000) => Status::Suspended,
            None => Status::Active,
        };
        let (closure, status_date) = match status {
            Status::Active => (u32::MAX, None),
            Status::Suspended => {
                let m = rng.range(u64::from(first), u64::from(last)) as u32;
                (u32::MAX, Some((m, rng.range(1, 28) as u32)))
            }
            _ => {
                let m = rng.range(u64::from(c_lo), u64::from(c_hi)) as u32;
                (m, Some((m, rng.range(1, 28) as u32)))
            }
        };
        let distress = match status {
            Status::Bankrupt if rng.ppm(800_000) => rng.range(1, 6) as u32,
            Status::Dissolved if rng.ppm(300_000) => rng.range(1, 3) as u32,
            _ => 0,
        };
        let miss_ppm = match (status, rng.below(100)) {
            (Status::Suspended, _) => 150_000,
            (_, 0..=69) => 0,
            (_, 70..=91) => 30_000,
            _ => 120_000,
        };
        let late_adjust_ppm = if rng.ppm(150_000) { 400_000 } else { 40_000 };
        let name = employer_name(&mut rng, city);
        let credit: Vec<u8> = match rng.below(100) {
            0..=2 => Vec::new(),
            3..=5 => {
                // A legacy 15-digit business registration number.
                let mut v = code.to_vec();
                for _ in 0..9 {
                    v.push(b'0' + rng.below(10) as u8);
                }
                v
            }
            _ => credit_code(&mut rng, code).to_vec(),
        };
        let archive: &[u8] = if closure != u32::MAX {
            match rng.below(100) {
                0..=44 => b"yes",
                45..=79 => b"no",
                _ => b"",
            }
        } else if rng.ppm(100_000) {
            b"no"
        } else {
            b""
        };
        csv.extend_from_slice(&id);
        csv.push(b',');
        csv.extend_from_slice(name.as_bytes());
        csv.push(b',');
        csv.extend_from_slice(&credit);
        csv.push(b',');
        csv.extend_from_slice(status.name().as_bytes());
        csv.push(b',');
        if let Some((m, d)) = status_date {
            push_date(&mut csv, m, d);
        }
        csv.push(b',');
        if region.is_some() {
            csv.extend_from_slice(code);
        }
        csv.push(b',');
        csv.extend_from_slice(archive);
        csv.push(b'\n');
        emps.push(Emp {
            id,
            key,
            status,
            closure,
            distress,
            miss_ppm,
            late_adjust_ppm,
        });
    }
    (emps, csv)
}
