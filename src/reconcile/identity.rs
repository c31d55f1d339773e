//! Identity findings (SPEC §4, §7): `invalid_id_number`,
//! `conflicting_identity`, `duplicate_person`.
//!
//! Numbers come from accepted event rows and are compared in their
//! 18-character upper-cased form (15-digit numbers converted), so the old
//! and new forms of one number are the same number. The cross-person index
//! is built once, before persons are reconciled in parallel.

use crate::model::Event;
use crate::outcome::{Finding, FindingKind};
use crate::parse::normalize_id_number;
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeSet;

/// Normalized ID number → the person_ids it was seen under.
#[derive(Debug, Default, PartialEq)]
pub struct IdentityIndex {
    persons_by_number: HashMap<String, BTreeSet<String>>,
}

impl IdentityIndex {
    pub fn build(events: &[Event]) -> Self {
        let mut idx = IdentityIndex::default();
        for e in events {
            idx.add(e);
        }
        idx
    }

    /// Records the ID number of one accepted event.
    pub fn add(&mut self, e: &Event) {
        if let Some(n) = &e.id_number {
            let norm = normalize_id_number(n).normalized;
            let set = self.persons_by_number.entry(norm).or_default();
            if !set.contains(e.person_id.as_str()) {
                set.insert(e.person_id.to_string());
            }
        }
    }

    /// Adds everything `other` saw (a union: the order rows were seen in
    /// does not matter).
    pub fn merge(&mut self, mut other: IdentityIndex) {
        // Fold the smaller map into the larger.
        if self.persons_by_number.len() < other.persons_by_number.len() {
            std::mem::swap(self, &mut other);
        }
        for (number, persons) in other.persons_by_number {
            self.persons_by_number
                .entry(number)
                .or_default()
                .extend(persons);
        }
    }
}

fn finding(kind: FindingKind, person: &str, detail: String) -> Finding {
    Finding::whole(kind, Some(person), None, detail)
}

/// The person-level identity findings of one person.
pub fn person_findings(index: &IdentityIndex, person: &str, events: &[&Event]) -> Vec<Finding> {
    let mut numbers: BTreeSet<String> = BTreeSet::new();
    let mut invalid: BTreeSet<String> = BTreeSet::new();
    for e in events {
        if let Some(n) = &e.id_number {
            let c = normalize_id_number(n);
            if !c.valid {
                invalid.insert(n.clone());
            }
            numbers.insert(c.normalized);
        }
    }
    let mut out = Vec::new();
    if !invalid.is_empty() {
        out.push(finding(
            FindingKind::InvalidIdNumber,
            person,
            format!(
                "Citizen ID number {} fails the GB 11643 checks.",
                invalid.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if numbers.len() > 1 {
        out.push(finding(
            FindingKind::ConflictingIdentity,
            person,
            format!(
                "Person {person} is recorded with {} different ID numbers: {}.",
                numbers.len(),
                numbers.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut others: BTreeSet<&str> = BTreeSet::new();
    for n in &numbers {
        if let Some(set) = index.persons_by_number.get(n) {
            others.extend(set.iter().map(String::as_str).filter(|p| *p != person));
        }
    }
    if !others.is_empty() {
        out.push(finding(
            FindingKind::DuplicatePerson,
            person,
            format!(
                "The same ID number is also registered under person {}.",
                others.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    out
}
