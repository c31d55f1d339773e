//! `summary.json`: the run's facts, counts, money and control totals
//! (SPEC §6). Keys are written in a fixed order; money as strings with two
//! decimals; `elapsed_seconds` is the only value that varies between two
//! runs over the same inputs.

use super::csvw::money;
use crate::config::RunConfig;
use crate::ingest::{InputStat, Reject};
use crate::outcome::{FindingKind, Status, Totals};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Counts gathered over a run, beside the money [`Totals`].
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub persons: u64,
    pub person_insurances: u64,
    pub findings_by_kind: BTreeMap<&'static str, u64>,
    pub makeup_cases: u64,
    pub payments_accepted: u64,
    pub payments_accepted_net: rust_decimal::Decimal,
}

/// Everything `summary.json` reports.
pub struct SummaryInput<'a> {
    pub cfg: &'a RunConfig,
    pub status_ok: bool,
    pub reason: Option<String>,
    pub inputs: &'a [InputStat],
    pub rejects: &'a [Reject],
    pub counts: &'a Counts,
    pub totals: &'a Totals,
    pub elapsed_seconds: f64,
}

/// The control totals: (rows balanced, money balanced, pooled + suspense +
/// deferred).
pub fn control(
    inputs: &[InputStat],
    counts: &Counts,
    t: &Totals,
) -> (bool, bool, rust_decimal::Decimal) {
    let rows = inputs
        .iter()
        .all(|i| i.rows_read == i.accepted + i.rejected);
    let rhs =
        t.pooled_employer.value() + t.pooled_individual.value() + t.suspense() + t.deferred.value();
    (rows, rhs == counts.payments_accepted_net, rhs)
}

pub fn build(s: &SummaryInput<'_>) -> Value {
    let cfg = s.cfg;
    let t = s.totals;
    let c = s.counts;
    let inputs: Vec<Value> = s
        .inputs
        .iter()
        .map(|i| {
            json!({
                "path": i.path,
                "kind": i.kind.name(),
                "size": i.size,
                "sha256": i.sha256,
                "encoding": i.encoding.name(),
                "rows_read": i.rows_read,
                "accepted": i.accepted,
                "rejected": i.rejected,
            })
        })
        .collect();
    let mut ledger_status = Map::new();
    for (st, n) in Status::ALL.iter().zip(t.ledger_status) {
        ledger_status.insert(st.name().into(), n.into());
    }
    let mut by_kind = Map::new();
    let mut findings = 0u64;
    for k in FindingKind::ALL {
        let n = c.findings_by_kind.get(k.name()).copied().unwrap_or(0);
        findings += n;
        by_kind.insert(k.name().into(), n.into());
    }
    let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
    for r in s.rejects {
        *by_reason.entry(r.reason.name()).or_default() += 1;
    }
    let (rows_ok, money_ok, rhs) = control(s.inputs, c, t);
    let ledger_rows: u64 = t.ledger_status.iter().sum();
    let mut v = json!({
        "tool": "contrib-recon",
        "version": env!("CARGO_PKG_VERSION"),
        "status": if s.status_ok { "ok" } else { "failed" },
    });
    let o = v.as_object_mut().expect("object literal");
    if let Some(r) = &s.reason {
        o.insert("reason".into(), r.clone().into());
    }
    o.insert(
        "as_of".into(),
        cfg.as_of.format("%Y-%m-%d").to_string().into(),
    );
    o.insert("through".into(), cfg.through.to_string().into());
    o.insert(
        "options".into(),
        json!({
            "tolerance": cfg.tolerance_text,
            "late_fee_rate": cfg.late_fee_rate_text,
            "encoding": cfg.encoding.name(),
            "delimiter": (cfg.delimiter as char).to_string(),
            "rates": cfg.rates_arg,
            "max_reject_rate": cfg.max_reject_rate_text,
        }),
    );
    o.insert("inputs".into(), inputs.into());
    o.insert(
        "counts".into(),
        json!({
            "persons": c.persons,
            "person_insurances": c.person_insurances,
            "ledger_rows": ledger_rows,
            "ledger_status": ledger_status,
            "pooling_rows": t.pooling_rows,
            "findings": findings,
            "findings_by_kind": by_kind,
            "makeup_cases": c.makeup_cases,
            "rejects": s.rejects.len(),
            "rejects_by_reason": by_reason,
            "payments_accepted": c.payments_accepted,
            "payments_deferred": t.payments_deferred,
        }),
    );
    o.insert(
        "money".into(),
        json!({
            "payments_accepted_net": money(c.payments_accepted_net),
            "pooled_employer": money(t.pooled_employer.value()),
            "pooled_individual": money(t.pooled_individual.value()),
            "pooled_total": money(t.pooled_employer.value() + t.pooled_individual.value()),
            "suspense": money(t.suspense()),
            "suspense_by_cause": {
                "excess_over_due": money(t.excess_over_due.value()),
                "unmatched": money(t.unmatched.value()),
                "arrears_underpaid": money(t.arrears_underpaid.value()),
                "overlap": money(t.overlap.value()),
                "unrated": money(t.unrated.value()),
            },
            "deferred": money(t.deferred.value()),
            "due_employer": money(t.due_employer.value()),
            "due_individual": money(t.due_individual.value()),
            "paid_employer_in_ledger": money(t.paid_employer_in_ledger.value()),
            "paid_individual_in_ledger": money(t.paid_individual_in_ledger.value()),
            "shortfall": money(t.shortfall.value()),
            "makeup_principal": money(t.makeup_principal.value()),
            "makeup_late_fee": money(t.makeup_late_fee.value()),
            "makeup_total": money(t.makeup_principal.value() + t.makeup_late_fee.value()),
        }),
    );
    o.insert(
        "control".into(),
        json!({
            "rows_balanced": rows_ok,
            "payments_accepted_net": money(c.payments_accepted_net),
            "pooled_plus_suspense_plus_deferred": money(rhs),
            "money_balanced": money_ok,
        }),
    );
    o.insert(
        "elapsed_seconds".into(),
        json!((s.elapsed_seconds * 1000.0).round() / 1000.0),
    );
    v
}

/// Pretty JSON with two-space indent and a final newline.
pub fn render(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
