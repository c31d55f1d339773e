//! The sections that list what needs follow-up: findings by kind and
//! severity, the employers with the most arrears, make-up cases by
//! employer, and the rejected rows.
//!
//! Takes the aggregates gathered from `exceptions.csv`, `makeup_cases.csv`
//! and `rejects.csv` into [`Data`]; guarantees a stable order (severity,
//! then count, then kind; employers as gathered), lists cut to their top N
//! (`TOP_ARREARS`, `MAKEUP_EMPLOYERS_SHOWN`) with a row for the rest and a
//! total over all, and every value from a file escaped.

use super::display::{count, esc, get, jv, money};
use crate::report::{Cents, Data, MakeupGroup, MAKEUP_EMPLOYERS_SHOWN, TOP_ARREARS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn sev_rank(s: &str) -> u8 {
    match s {
        "error" => 0,
        "warning" => 1,
        "info" => 2,
        _ => 3,
    }
}

fn sev(s: &str) -> String {
    let class = match s {
        "error" | "warning" | "info" => s,
        _ => "other",
    };
    format!("<span class=\"sev sev-{class}\">{}</span>", esc(s))
}

pub(super) fn findings(o: &mut String, d: &Data) {
    let _ = writeln!(o, "<section><h2>Findings by kind and severity</h2>");
    if d.by_kind.is_empty() {
        let _ = writeln!(o, "<p>No findings.</p></section>");
        return;
    }
    let mut rows: Vec<_> = d.by_kind.iter().collect();
    rows.sort_by(|a, b| {
        sev_rank(&a.0 .1)
            .cmp(&sev_rank(&b.0 .1))
            .then(b.1.count.cmp(&a.1.count))
            .then_with(|| a.0.cmp(b.0))
    });
    let _ = writeln!(
        o,
        "<table><tr><th>Kind</th><th>Severity</th><th class=\"n\">Count</th><th class=\"n\">Amount</th><th>Example</th></tr>"
    );
    let mut by_sev: BTreeMap<(u8, &str), u64> = BTreeMap::new();
    for ((kind, severity), k) in rows {
        *by_sev
            .entry((sev_rank(severity), severity.as_str()))
            .or_default() += k.count;
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"detail\">{}</td></tr>",
            esc(kind),
            sev(severity),
            count(k.count),
            if k.has_amount { money(k.amount) } else { String::new() },
            esc(&k.example)
        );
    }
    let totals: Vec<String> = by_sev
        .iter()
        .map(|((_, s), n)| format!("{} {}", count(*n), esc(s)))
        .collect();
    let _ = writeln!(
        o,
        "<tr class=\"total\"><td>All findings</td><td colspan=\"2\" class=\"n\">{}</td><td></td><td class=\"detail\">{}</td></tr></table></section>",
        count(d.findings_rows),
        totals.join(" · ")
    );
}

pub(super) fn arrears(o: &mut String, d: &Data) {
    let _ = writeln!(
        o,
        "<section><h2>Top {TOP_ARREARS} employers by arrears</h2>"
    );
    if d.arrears.is_empty() {
        let _ = writeln!(o, "<p>No arrears at open employers.</p></section>");
        return;
    }
    let _ = writeln!(
        o,
        "<table><tr><th class=\"n\">#</th><th>Employer</th><th class=\"n\">Arrears</th><th class=\"n\">Persons</th><th class=\"n\">Findings</th><th class=\"n\">Person-months</th></tr>"
    );
    for (i, (emp, a)) in d.arrears.iter().take(TOP_ARREARS).enumerate() {
        let _ = writeln!(
            o,
            "<tr><td class=\"n\">{}</td><td class=\"id\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            i + 1,
            esc(emp),
            money(a.amount),
            count(a.persons),
            count(a.findings),
            count(a.months)
        );
    }
    let total: Cents = d.arrears.iter().map(|(_, a)| a.amount).sum();
    let _ = writeln!(
        o,
        "<tr class=\"total\"><td></td><td>All {} employers with arrears</td><td class=\"n\">{}</td><td></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        count(d.arrears.len() as u64),
        money(total),
        count(d.arrears.iter().map(|(_, a)| a.findings).sum()),
        count(d.arrears.iter().map(|(_, a)| a.months).sum())
    );
    let _ = writeln!(
        o,
        "<p class=\"note\">From the <b>arrears</b> findings: shortfall at employers that are not closed (closed employers' arrears are make-up cases, below). Persons are counted per employer.</p></section>"
    );
}

pub(super) fn makeup(o: &mut String, d: &Data) {
    let _ = writeln!(o, "<section><h2>Make-up cases by employer</h2>");
    if d.makeup.is_empty() {
        let _ = writeln!(o, "<p>No make-up cases.</p></section>");
        return;
    }
    let _ = writeln!(
        o,
        "<table><tr><th>Employer</th><th>Status</th><th>Closed on</th><th>Archive transferred</th><th class=\"n\">Persons</th><th class=\"n\">Cases</th><th class=\"n\">Months</th><th class=\"n\">Principal employer</th><th class=\"n\">Principal personal account</th><th class=\"n\">Late fee</th><th class=\"n\">Total</th></tr>"
    );
    let row = |o: &mut String,
               label: String,
               status: String,
               closed: String,
               archive: String,
               g: (u64, u64, u64, Cents, Cents, Cents, Cents),
               class: &str| {
        let _ = writeln!(
            o,
            "<tr{class}><td class=\"id\">{label}</td><td>{status}</td><td class=\"n\">{closed}</td><td>{archive}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            count(g.0),
            count(g.1),
            count(g.2),
            money(g.3),
            money(g.4),
            money(g.5),
            money(g.6)
        );
    };
    let tup = |g: &MakeupGroup| {
        (
            g.persons,
            g.cases,
            g.months,
            g.principal_employer,
            g.principal_individual,
            g.late_fee,
            g.total,
        )
    };
    let add = |a: (u64, u64, u64, Cents, Cents, Cents, Cents),
               b: (u64, u64, u64, Cents, Cents, Cents, Cents)| {
        (
            a.0 + b.0,
            a.1 + b.1,
            a.2 + b.2,
            a.3 + b.3,
            a.4 + b.4,
            a.5 + b.5,
            a.6 + b.6,
        )
    };
    let mut rest = (0, 0, 0, 0, 0, 0, 0);
    let mut all = (0, 0, 0, 0, 0, 0, 0);
    for (i, (emp, g)) in d.makeup.iter().enumerate() {
        all = add(all, tup(g));
        if i < MAKEUP_EMPLOYERS_SHOWN {
            let archive = match g.archive.as_str() {
                "no" => "<span class=\"no\">no</span>".to_string(),
                "" => "<span class=\"no\">not registered</span>".to_string(),
                a => esc(a),
            };
            row(
                o,
                esc(emp),
                esc(&g.status),
                esc(&g.closed_on),
                archive,
                tup(g),
                "",
            );
        } else {
            rest = add(rest, tup(g));
        }
    }
    if d.makeup.len() > MAKEUP_EMPLOYERS_SHOWN {
        row(
            o,
            format!(
                "{} more employers",
                count((d.makeup.len() - MAKEUP_EMPLOYERS_SHOWN) as u64)
            ),
            String::new(),
            String::new(),
            String::new(),
            rest,
            " class=\"sub\"",
        );
    }
    row(
        o,
        format!("All {} employers", count(d.makeup.len() as u64)),
        String::new(),
        String::new(),
        String::new(),
        all,
        " class=\"total\"",
    );
    let _ = writeln!(
        o,
        "</table><p class=\"note\">Persons are counted per employer. The personal-account part of the principal ranks with wages in a bankruptcy, the employer part with taxes (Enterprise Bankruptcy Law art. 113). Late fees of bankrupt employers stop at the bankruptcy date.</p></section>"
    );
}

pub(super) fn rejects(o: &mut String, d: &Data) {
    let _ = writeln!(o, "<section><h2>Rejected rows</h2>");
    if let Some(Value::Object(m)) = get(&d.summary, &["counts", "rejects_by_reason"]) {
        if m.is_empty() {
            let _ = writeln!(o, "<p>No rejected rows.</p>");
        } else {
            let _ = writeln!(
                o,
                "<table><tr><th>Reason</th><th class=\"n\">Rows</th></tr>"
            );
            let mut v: Vec<_> = m.iter().collect();
            v.sort_by(|a, b| b.1.as_u64().cmp(&a.1.as_u64()).then_with(|| a.0.cmp(b.0)));
            for (k, n) in v {
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                    esc(k),
                    jv(Some(n))
                );
            }
            let _ = writeln!(
                o,
                "<tr class=\"total\"><td>All</td><td class=\"n\">{}</td></tr></table>",
                jv(get(&d.summary, &["counts", "rejects"]))
            );
        }
    }
    if !d.rejects.is_empty() {
        let _ = writeln!(
            o,
            "<h2 style=\"margin-top:14px\">First {} rejected rows</h2><table><tr><th>File</th><th class=\"n\">Line</th><th>Reason</th><th>Raw text</th></tr>",
            d.rejects.len()
        );
        for r in &d.rejects {
            let _ = writeln!(
                o,
                "<tr><td class=\"id\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"raw\">{}</td></tr>",
                esc(&r.file),
                esc(&r.line),
                esc(&r.reason),
                esc(&r.raw)
            );
        }
        let _ = writeln!(
            o,
            "</table><p class=\"note\">All rejected rows are in rejects.csv.</p>"
        );
    }
    let _ = writeln!(o, "</section>");
}
