//! Duplicate detection (SPEC §2, §7), applied in file order after a row has
//! passed every value check.
//!
//! - A row with a non-empty id is compared with the *standing* row of that
//!   id only: same content ⇒ `duplicate_row`, different ⇒
//!   `conflicting_duplicate`; the first row of an id stands.
//! - A row with an empty id is a `duplicate_row` when an earlier accepted
//!   row with an empty id has the same content; never conflicting.
//! - Employers (id always `employer_id`): exact duplicates first, then the
//!   latest `status_date` stands and the others are `superseded`.

use super::idtable::{IdTable, Seen};
use super::rows::Fingerprint;
use super::Reason;
use chrono::NaiveDate;
use rayon::prelude::*;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// A row id as its XXH3-128 digest.
pub type IdKey = u128;

/// The key of a row id; `None` for an empty id. Computed while rows are
/// validated in parallel, so the in-order merge only looks it up.
pub fn id_key(id: &str) -> Option<IdKey> {
    (!id.is_empty()).then(|| xxhash_rust::xxh3::xxh3_128(id.as_bytes()))
}

/// The dedup state of one kind (events or payments or rates), split into
/// [`SHARDS`] independent shards: an id (or, for rows without an id, a
/// content fingerprint) only ever meets rows in its own shard, so a batch
/// can be decided shard by shard in parallel, each shard still in file
/// order, with the verdicts of a sequential pass. Ids are kept as their
/// XXH3-128 digest: no allocation per row, and two distinct ids collide
/// with probability 2^-128.
pub struct Deduper {
    shards: Vec<Shard>,
}

/// How many rows ahead [`Deduper::check_batch`] prefetches id slots.
const PREFETCH: usize = 16;

/// Number of dedup shards (a power of two).
pub const SHARDS: usize = 64;

/// One shard's tables. An id is kept as two `u64` halves and the standing
/// row's fingerprint as its low 64 bits: 24 bytes an entry where
/// `(u128, u128)` takes 32 (a `u128` is 16-byte aligned), which is 140 MB
/// less to touch on ten million payments. The short fingerprint only
/// tells `duplicate_row` from `conflicting_duplicate` between rows of the
/// same id — both rejects — and errs with probability 2^-64 per pair.
#[derive(Default)]
struct Shard {
    by_id: IdTable,
    no_id: HashSet<Fingerprint>,
}

/// An id digest as the two halves [`IdTable`] keys on.
fn halves(id: IdKey) -> (u64, u64) {
    ((id >> 64) as u64, id as u64)
}

impl Shard {
    fn check(&mut self, id: Option<IdKey>, fp: Fingerprint) -> Option<Reason> {
        match id {
            Some(id) => match self.by_id.insert(halves(id), fp as u64) {
                Seen::New => None,
                Seen::Same => Some(Reason::DuplicateRow),
                Seen::Different => Some(Reason::ConflictingDuplicate),
            },
            None => {
                if self.no_id.insert(fp) {
                    None
                } else {
                    Some(Reason::DuplicateRow)
                }
            }
        }
    }
}

/// The key a row is compared under: its id digest, or its content
/// fingerprint when the id is empty. Rows with different keys never meet
/// (the spill's `seen` filter relies on it too).
pub fn dup_key(id: Option<IdKey>, fp: Fingerprint) -> u128 {
    id.unwrap_or(fp)
}

fn shard_of(id: Option<IdKey>, fp: Fingerprint) -> usize {
    // The top bits of a digest are as uniform as any.
    (dup_key(id, fp) >> (128 - SHARDS.trailing_zeros())) as usize
}

impl Default for Deduper {
    fn default() -> Deduper {
        Deduper::with_capacity(0)
    }
}

impl Deduper {
    /// A deduper with room for about `rows` ids without rehashing.
    pub fn with_capacity(rows: usize) -> Deduper {
        let per = rows / SHARDS + rows / SHARDS / 16;
        // Each table allocates (and writes) its slots at its first insert,
        // which `check_batch` makes shard-parallel.
        Deduper {
            shards: (0..SHARDS)
                .map(|_| Shard {
                    by_id: IdTable::with_capacity(per),
                    no_id: HashSet::default(),
                })
                .collect(),
        }
    }

    /// Decides one accepted-so-far row: `None` keeps it, `Some(reason)`
    /// rejects it. A kept row becomes the standing row of its id.
    pub fn check(&mut self, id: Option<IdKey>, fp: Fingerprint) -> Option<Reason> {
        self.shards[shard_of(id, fp)].check(id, fp)
    }

    /// Decides a batch of rows in file order (`None` entries are rows
    /// already rejected, left undecided): the same verdicts as calling
    /// [`Deduper::check`] on each in turn, computed shard-parallel.
    pub fn check_batch(
        &mut self,
        keys: &[Option<(Option<IdKey>, Fingerprint)>],
    ) -> Vec<Option<Reason>> {
        let mut by_shard: Vec<Vec<u32>> = vec![Vec::new(); SHARDS];
        for (i, k) in keys.iter().enumerate() {
            if let Some((id, fp)) = *k {
                by_shard[shard_of(id, fp)].push(i as u32);
            }
        }
        let decided: Vec<Vec<(u32, Reason)>> = self
            .shards
            .par_iter_mut()
            .zip(by_shard)
            .map(|(shard, rows)| {
                // The table is far larger than the caches: fetch the slots
                // of the rows a few ahead while deciding this one.
                let id_at = |j: usize| match rows.get(j).map(|&i| keys[i as usize]) {
                    Some(Some((Some(id), _))) => Some(halves(id)),
                    _ => None,
                };
                for k in (0..PREFETCH).filter_map(id_at) {
                    shard.by_id.prefetch(k);
                }
                let mut out = Vec::new();
                for (j, &i) in rows.iter().enumerate() {
                    if let Some(k) = id_at(j + PREFETCH) {
                        shard.by_id.prefetch(k);
                    }
                    if let Some((id, fp)) = keys[i as usize] {
                        if let Some(r) = shard.check(id, fp) {
                            out.push((i, r));
                        }
                    }
                }
                out
            })
            .collect();
        let mut verdicts = vec![None; keys.len()];
        for (i, r) in decided.into_iter().flatten() {
            verdicts[i as usize] = Some(r);
        }
        verdicts
    }
}

/// One valid employer row as far as the registry rule is concerned.
pub struct EmployerCandidate<'a> {
    pub id: &'a str,
    pub fp: Fingerprint,
    pub status_date: Option<NaiveDate>,
}

/// For employer rows in file order, the reject reason of each (`None` for
/// the standing row of its id).
pub fn employer_verdicts(rows: &[EmployerCandidate<'_>]) -> Vec<Option<Reason>> {
    let mut verdict: Vec<Option<Reason>> = vec![None; rows.len()];
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::default();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.id).or_default().push(i);
    }
    for idxs in groups.values() {
        let mut seen: HashSet<Fingerprint> = HashSet::default();
        let mut distinct: Vec<usize> = Vec::new();
        for &i in idxs {
            if seen.insert(rows[i].fp) {
                distinct.push(i);
            } else {
                verdict[i] = Some(Reason::DuplicateRow);
            }
        }
        // Latest status_date stands (no date counts as earliest); a tie
        // goes to the later row.
        let winner = distinct.iter().copied().max_by(|&a, &b| {
            rows[a]
                .status_date
                .cmp(&rows[b].status_date)
                .then(a.cmp(&b))
        });
        for &i in &distinct {
            if Some(i) != winner {
                verdict[i] = Some(Reason::Superseded);
            }
        }
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_with_the_standing_row_only() {
        let mut d = Deduper::default();
        assert_eq!(d.check(id_key("A"), 1), None);
        assert_eq!(d.check(id_key("A"), 1), Some(Reason::DuplicateRow));
        assert_eq!(d.check(id_key("A"), 2), Some(Reason::ConflictingDuplicate));
        assert_eq!(d.check(id_key("B"), 2), None);
        assert_eq!(d.check(None, 1), None);
        assert_eq!(d.check(None, 1), Some(Reason::DuplicateRow));
        assert_eq!(d.check(None, 3), None);
    }

    #[test]
    fn batch_verdicts_equal_sequential_ones() {
        let keys: Vec<Option<(Option<IdKey>, Fingerprint)>> = (0..5000u64)
            .map(|i| {
                let id = (i % 7 != 0).then(|| id_key(&format!("id{}", i % 1500)).unwrap());
                (i % 11 != 0).then_some((id, u128::from(i / 1500 % 2)))
            })
            .collect();
        let mut seq = Deduper::default();
        let expected: Vec<Option<Reason>> = keys
            .iter()
            .map(|k| k.and_then(|(id, fp)| seq.check(id, fp)))
            .collect();
        let mut par = Deduper::with_capacity(100);
        let mut got = par.check_batch(&keys[..2500]);
        got.extend(par.check_batch(&keys[2500..]));
        assert_eq!(got, expected);
        assert!(got.contains(&Some(Reason::ConflictingDuplicate)));
    }

    #[test]
    fn employers_latest_date_stands() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let rows = vec![
            EmployerCandidate {
                id: "E",
                fp: 1,
                status_date: d("2020-01-01"),
            },
            EmployerCandidate {
                id: "E",
                fp: 2,
                status_date: d("2022-01-01"),
            },
            EmployerCandidate {
                id: "E",
                fp: 1,
                status_date: d("2020-01-01"),
            },
            EmployerCandidate {
                id: "F",
                fp: 3,
                status_date: None,
            },
            EmployerCandidate {
                id: "F",
                fp: 4,
                status_date: None,
            },
        ];
        let v = employer_verdicts(&rows);
        assert_eq!(
            v,
            vec![
                Some(Reason::Superseded),
                None,
                Some(Reason::DuplicateRow),
                Some(Reason::Superseded),
                None
            ]
        );
    }
}
