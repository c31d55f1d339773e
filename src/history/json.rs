//! `history --json`: one JSON object per person, for other systems.
//!
//! The object is stable (format `contrib-recon/history/v1`); keys appear in
//! this order, new keys may be added at the end of an object but none is
//! renamed or removed within v1. Money is a string with two decimals (as in
//! `summary.json`), periods `YYYY-MM`, dates `YYYY-MM-DD`; a value that is
//! empty in the output files is `null`.
//!
//! ```text
//! {
//!   "format": "contrib-recon/history/v1",
//!   "person_id": "10000000028",
//!   "run": {"out_dir": "...", "as_of": "2026-11-20" | null, "through": "2026-10" | null},
//!   "identity": {"person_id": "...", "findings": [Finding]},
//!   "spells": [{"employer_id": "1101000016" | null (individual), "from", "to", "months": 4,
//!               "insurances": ["medical", "pension"]}],
//!   "insurances": [{"insurance": "medical",
//!                   "summary": {"first_period", "last_period", "months_covered", "months_paid",
//!                               "months_short", "months_gap", "months_overlap",
//!                               "pooled_total", "state"} | null,
//!                   "runs": [{"from", "to", "months", "status", "employer_id" | null,
//!                             "base" | null, "due_employer" | null, "due_individual" | null,
//!                             "paid_employer", "paid_individual", "shortfall", "excess"}]}],
//!   "findings": [Finding],            // person's findings but identity ones, file order
//!   "employer_findings": [Finding],   // employer-level findings on employers in this history
//!   "makeup_cases": [{"employer_id", "insurance", "employer_status", "closed_on",
//!                     "first_period", "last_period", "months", "principal_employer",
//!                     "principal_individual", "principal", "late_fee", "late_fee_to" | null,
//!                     "total", "archive_transferred": "yes" | "no" | null}],
//!   "makeup_totals": {"cases", "principal_employer", "principal_individual", "principal",
//!                     "late_fee", "total"},
//!   "actions": [{"action": "file_decrease" | "pay_makeup" | "retrieve_archive" |
//!                          "employer_decrease" | "resolve_overlap" | "collect_arrears" |
//!                          "resolve_suspense" | "add_rate" | "verify_identity",
//!                "employer_id" | null, "insurances": [...], "from" | null, "to" | null,
//!                "amount" | null, "text"}],
//!   "notes": ["..."]
//! }
//! Finding = {"kind", "severity", "employer_id" | null, "insurance" | null, "from" | null,
//!            "to" | null, "months" | null, "amount" | null, "detail"}
//! ```

use super::{Finding, History};
use crate::output::csvw::money;
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn s(v: &str) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        Value::String(v.to_string())
    }
}

fn m(v: Option<Decimal>) -> Value {
    v.map_or(Value::Null, |d| Value::String(money(d)))
}

fn finding(f: &Finding) -> Value {
    json!({
        "kind": f.kind,
        "severity": f.severity,
        "employer_id": s(&f.employer_id),
        "insurance": s(&f.insurance),
        "from": s(&f.from),
        "to": s(&f.to),
        "months": f.months,
        "amount": m(f.amount),
        "detail": f.detail,
    })
}

/// The history as the documented JSON object.
pub fn to_json(h: &History) -> Value {
    let spells: Vec<Value> = h
        .spells
        .iter()
        .map(|sp| {
            json!({
                "employer_id": s(&sp.employer_id),
                "from": sp.from.to_string(),
                "to": sp.to.to_string(),
                "months": sp.months,
                "insurances": sp.insurances,
            })
        })
        .collect();
    let insurances: Vec<Value> = h
        .insurances
        .iter()
        .map(|i| {
            let summary = i.summary.as_ref().map_or(Value::Null, |p| {
                json!({
                    "first_period": p.first_period,
                    "last_period": p.last_period,
                    "months_covered": p.months_covered,
                    "months_paid": p.months_paid,
                    "months_short": p.months_short,
                    "months_gap": p.months_gap,
                    "months_overlap": p.months_overlap,
                    "pooled_total": money(p.pooled_total),
                    "state": p.state,
                })
            });
            let runs: Vec<Value> = i
                .runs
                .iter()
                .map(|r| {
                    json!({
                        "from": r.from.to_string(),
                        "to": r.to.to_string(),
                        "months": r.months,
                        "status": r.status,
                        "employer_id": s(&r.employer_id),
                        "base": m(r.base),
                        "due_employer": m(r.due_employer),
                        "due_individual": m(r.due_individual),
                        "paid_employer": money(r.paid_employer),
                        "paid_individual": money(r.paid_individual),
                        "shortfall": money(r.shortfall),
                        "excess": money(r.excess),
                    })
                })
                .collect();
            json!({"insurance": i.insurance, "summary": summary, "runs": runs})
        })
        .collect();
    let cases: Vec<Value> = h
        .makeup_cases
        .iter()
        .map(|c| {
            json!({
                "employer_id": c.employer_id,
                "insurance": c.insurance,
                "employer_status": c.employer_status,
                "closed_on": s(&c.closed_on),
                "first_period": c.first_period,
                "last_period": c.last_period,
                "months": c.months,
                "principal_employer": money(c.principal_employer),
                "principal_individual": money(c.principal_individual),
                "principal": money(c.principal_employer + c.principal_individual),
                "late_fee": money(c.late_fee),
                "late_fee_to": c.late_fee_to(h.as_of.as_deref()).map_or(Value::Null, s),
                "total": money(c.total),
                "archive_transferred": s(&c.archive_transferred),
            })
        })
        .collect();
    let t = h.makeup_totals();
    let actions: Vec<Value> = h
        .actions
        .iter()
        .map(|a| {
            json!({
                "action": a.action,
                "employer_id": s(&a.employer_id),
                "insurances": a.insurances,
                "from": s(&a.from),
                "to": s(&a.to),
                "amount": m(a.amount),
                "text": a.text,
            })
        })
        .collect();
    json!({
        "format": "contrib-recon/history/v1",
        "person_id": h.person_id,
        "run": {
            "out_dir": h.out_dir.display().to_string(),
            "as_of": h.as_of,
            "through": h.through,
        },
        "identity": {
            "person_id": h.person_id,
            "findings": h.identity_findings.iter().map(finding).collect::<Vec<_>>(),
        },
        "spells": spells,
        "insurances": insurances,
        "findings": h.findings.iter().map(finding).collect::<Vec<_>>(),
        "employer_findings": h.employer_findings.iter().map(finding).collect::<Vec<_>>(),
        "makeup_cases": cases,
        "makeup_totals": {
            "cases": h.makeup_cases.len(),
            "principal_employer": money(t.principal_employer),
            "principal_individual": money(t.principal_individual),
            "principal": money(t.principal_employer + t.principal_individual),
            "late_fee": money(t.late_fee),
            "total": money(t.total),
        },
        "actions": actions,
        "notes": h.notes,
    })
}
