//! The sections that check the run rather than describe it: the control
//! totals (money and rows balanced) at the top of the page, and the output
//! files recounted against `summary.json` at the bottom.
//!
//! Takes the gathered [`Data`]; guarantees a verdict of "balanced" only
//! when both flags in `summary.json` say so *and* the two control amounts
//! it gives are equal, and a "yes" for a file check only when the figure
//! recomputed from the file equals the one in `summary.json` (missing
//! figures show as unknown, never as agreeing).

use super::display::{cents_at, count, get, jv, money};
use crate::report::{Cents, Data};
use serde_json::Value;
use std::fmt::Write as _;

pub(super) fn control(o: &mut String, d: &Data) {
    let s = &d.summary;
    let money_ok = get(s, &["control", "money_balanced"]).and_then(Value::as_bool);
    let rows_ok = get(s, &["control", "rows_balanced"]).and_then(Value::as_bool);
    let lhs = cents_at(s, &["control", "payments_accepted_net"]);
    let rhs = cents_at(s, &["control", "pooled_plus_suspense_plus_deferred"]);
    // Recheck from the numbers too, not only the flags.
    let agree = matches!((lhs, rhs), (Some(a), Some(b)) if a == b);
    let ok = money_ok == Some(true) && rows_ok == Some(true) && agree;
    let _ = writeln!(
        o,
        "<section class=\"control{}\">",
        if ok { "" } else { " bad" }
    );
    let _ = writeln!(
        o,
        "<p class=\"verdict\">Control totals: {}</p>",
        if ok {
            "balanced ✔"
        } else {
            "NOT balanced ✘"
        }
    );
    let _ = writeln!(o, "<table>");
    let _ = writeln!(
        o,
        "<tr><td>Payments accepted, net</td><td class=\"n\">{}</td></tr>",
        jv(get(s, &["control", "payments_accepted_net"]))
    );
    let _ = writeln!(
        o,
        "<tr><td>Pooled + suspense + deferred</td><td class=\"n\">{}</td></tr>",
        jv(get(s, &["control", "pooled_plus_suspense_plus_deferred"]))
    );
    for (label, key) in [
        ("pooled", "pooled_total"),
        ("suspense", "suspense"),
        ("deferred (after the horizon)", "deferred"),
    ] {
        let _ = writeln!(
            o,
            "<tr class=\"sub\"><td>{label}</td><td class=\"n\">{}</td></tr>",
            jv(get(s, &["money", key]))
        );
    }
    let diff = match (lhs, rhs) {
        (Some(a), Some(b)) => money(b - a),
        _ => "—".to_string(),
    };
    let _ = writeln!(
        o,
        "<tr class=\"total\"><td>Difference</td><td class=\"n\">{diff}</td></tr>\n<tr><td>Money balanced</td><td class=\"n\">{}</td></tr>\n<tr><td>Rows balanced (read = accepted + rejected, every file)</td><td class=\"n\">{}</td></tr>",
        yes_no(money_ok.map(|b| b && agree)),
        yes_no(rows_ok)
    );
    let _ = writeln!(o, "</table>\n</section>");
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "<span class=\"yes\">yes</span>",
        Some(false) => "<span class=\"no\">NO</span>",
        None => "<span class=\"no\">unknown</span>",
    }
}

pub(super) fn checks(o: &mut String, d: &Data) {
    let s = &d.summary;
    let _ = writeln!(
        o,
        "<section><h2>Files against summary.json</h2><table><tr><th>Check</th><th class=\"n\">In the files</th><th class=\"n\">summary.json</th><th class=\"n\">Agree</th></tr>"
    );
    let u = |p: &[&str]| get(s, p).and_then(Value::as_u64);
    let line = |o: &mut String, label: &str, file: String, summ: String, ok: Option<bool>| {
        let _ = writeln!(
            o,
            "<tr><td>{label}</td><td class=\"n\">{file}</td><td class=\"n\">{summ}</td><td class=\"n\">{}</td></tr>",
            yes_no(ok)
        );
    };
    let cnt = |o: &mut String, label: &str, file: u64, summ: Option<u64>| {
        line(
            o,
            label,
            count(file),
            summ.map_or("—".into(), count),
            summ.map(|x| x == file),
        );
    };
    cnt(
        o,
        "ledger.csv rows = counts.ledger_rows",
        d.ledger_rows,
        u(&["counts", "ledger_rows"]),
    );
    cnt(
        o,
        "exceptions.csv rows = counts.findings",
        d.findings_rows,
        u(&["counts", "findings"]),
    );
    cnt(
        o,
        "makeup_cases.csv rows = counts.makeup_cases",
        d.makeup_rows,
        u(&["counts", "makeup_cases"]),
    );
    let summ_paid = match (
        cents_at(s, &["money", "paid_employer_in_ledger"]),
        cents_at(s, &["money", "paid_individual_in_ledger"]),
    ) {
        (Some(a), Some(b)) => Some(a + b),
        _ => None,
    };
    line(
        o,
        "ledger.csv paid = paid in ledger (employer + individual)",
        money(d.ledger_paid),
        summ_paid.map_or("—".into(), money),
        summ_paid.map(|x| x == d.ledger_paid),
    );
    let summ_makeup = cents_at(s, &["money", "makeup_total"]);
    let file_makeup: Cents = d.makeup.iter().map(|(_, g)| g.total).sum();
    line(
        o,
        "makeup_cases.csv total = money.makeup_total",
        money(file_makeup),
        summ_makeup.map_or("—".into(), money),
        summ_makeup.map(|x| x == file_makeup),
    );
    let _ = writeln!(o, "</table></section>");
}
