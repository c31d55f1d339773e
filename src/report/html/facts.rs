//! The sections that show the run as `summary.json` describes it: the
//! header and run facts, the options, the input files with their row
//! counts, ledger months by status, and the money totals.
//!
//! Takes the gathered [`Data`] (only its `summary`); guarantees every value
//! is shown escaped and formatted by [`super::display`], and that the
//! inputs table lists at most `INPUTS_SHOWN` files while its totals cover
//! all of them. Nothing here checks the numbers: that is `controls`.

use super::display::{count, esc, get, jv};
use crate::report::{Data, INPUTS_SHOWN};
use serde_json::Value;
use std::fmt::Write as _;

fn fact(o: &mut String, k: &str, v: &str) {
    let _ = write!(
        o,
        "<div class=\"fact\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div></div>"
    );
}

pub(super) fn header(o: &mut String, d: &Data) {
    let s = &d.summary;
    let _ = writeln!(
        o,
        "<header>\n<h1>Contribution reconciliation — run report</h1>"
    );
    let _ = writeln!(
        o,
        "<p>{} {} · status <b>{}</b> · late fees accrue to <b>{}</b> · contributions due through <b>{}</b></p>\n</header>",
        jv(s.get("tool")),
        jv(s.get("version")),
        jv(s.get("status")),
        jv(s.get("as_of")),
        jv(s.get("through"))
    );
    let _ = write!(o, "<section><h2>Run facts</h2><div class=\"facts\">");
    fact(o, "As of (late fees to)", &jv(s.get("as_of")));
    fact(o, "Through (last month due)", &jv(s.get("through")));
    fact(o, "Persons", &jv(get(s, &["counts", "persons"])));
    fact(
        o,
        "Person × insurance",
        &jv(get(s, &["counts", "person_insurances"])),
    );
    fact(o, "Ledger months", &jv(get(s, &["counts", "ledger_rows"])));
    fact(o, "Findings", &jv(get(s, &["counts", "findings"])));
    fact(o, "Make-up cases", &jv(get(s, &["counts", "makeup_cases"])));
    fact(o, "Rejected rows", &jv(get(s, &["counts", "rejects"])));
    fact(
        o,
        "Payments accepted",
        &jv(get(s, &["counts", "payments_accepted"])),
    );
    fact(
        o,
        "Payments deferred",
        &jv(get(s, &["counts", "payments_deferred"])),
    );
    let _ = write!(o, "</div>");
    if let Some(Value::Object(opts)) = s.get("options") {
        let _ = write!(o, "<p class=\"note\">Options: ");
        let mut first = true;
        for k in [
            "tolerance",
            "late_fee_rate",
            "encoding",
            "delimiter",
            "rates",
            "max_reject_rate",
        ] {
            if let Some(v) = opts.get(k) {
                if !first {
                    o.push_str(" · ");
                }
                first = false;
                let shown = match v {
                    Value::Null => "—".to_string(),
                    Value::String(x) => esc(x),
                    other => esc(&other.to_string()),
                };
                let _ = write!(o, "{k} <b>{shown}</b>");
            }
        }
        let _ = write!(o, "</p>");
    }
    let _ = writeln!(o, "</section>");
}

pub(super) fn inputs(o: &mut String, d: &Data) {
    let Some(Value::Array(list)) = d.summary.get("inputs") else {
        return;
    };
    let _ = writeln!(
        o,
        "<section><h2>Inputs ({} files)</h2>",
        count(list.len() as u64)
    );
    let _ = writeln!(
        o,
        "<table><tr><th>File</th><th>Kind</th><th>Encoding</th><th class=\"n\">Bytes</th><th class=\"n\">Rows read</th><th class=\"n\">Accepted</th><th class=\"n\">Rejected</th><th class=\"n\">Rejected %</th></tr>"
    );
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64);
    let (mut tr, mut ta, mut tj, mut tb) = (0u64, 0u64, 0u64, 0u64);
    for (i, inp) in list.iter().enumerate() {
        let (r, a, j) = (
            num(inp, "rows_read"),
            num(inp, "accepted"),
            num(inp, "rejected"),
        );
        tr += r.unwrap_or(0);
        ta += a.unwrap_or(0);
        tj += j.unwrap_or(0);
        tb += num(inp, "size").unwrap_or(0);
        if i >= INPUTS_SHOWN {
            continue;
        }
        let balanced = matches!((r, a, j), (Some(r), Some(a), Some(j)) if r == a + j);
        let _ = writeln!(
            o,
            "<tr{}><td class=\"id\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            if balanced { "" } else { " class=\"no\"" },
            jv(inp.get("path")),
            jv(inp.get("kind")),
            jv(inp.get("encoding")),
            jv(inp.get("size")),
            jv(inp.get("rows_read")),
            jv(inp.get("accepted")),
            jv(inp.get("rejected")),
            pct(j.unwrap_or(0), r.unwrap_or(0)),
        );
    }
    if list.len() > INPUTS_SHOWN {
        let _ = writeln!(
            o,
            "<tr><td colspan=\"8\" class=\"detail\">… and {} more files (in the totals below; all are listed in summary.json)</td></tr>",
            count((list.len() - INPUTS_SHOWN) as u64)
        );
    }
    let _ = writeln!(
        o,
        "<tr class=\"total\"><td>All files</td><td></td><td></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr></table>",
        count(tb),
        count(tr),
        count(ta),
        count(tj),
        pct(tj, tr)
    );
    let _ = writeln!(o, "</section>");
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".into()
    } else {
        format!("{:.2}%", part as f64 * 100.0 / whole as f64)
    }
}

pub(super) fn statuses(o: &mut String, d: &Data) {
    let _ = writeln!(o, "<section><h2>Ledger months by status</h2><table>");
    let _ = writeln!(
        o,
        "<tr><th>Status</th><th class=\"n\">Months</th><th class=\"n\">Share</th></tr>"
    );
    if let Some(Value::Object(m)) = get(&d.summary, &["counts", "ledger_status"]) {
        let total: u64 = m.values().filter_map(Value::as_u64).sum();
        for (k, v) in m {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(k),
                jv(Some(v)),
                pct(v.as_u64().unwrap_or(0), total)
            );
        }
        let _ = writeln!(
            o,
            "<tr class=\"total\"><td>All</td><td class=\"n\">{}</td><td></td></tr>",
            count(total)
        );
    }
    let _ = writeln!(o, "</table></section>");
}

pub(super) fn money_table(o: &mut String, d: &Data) {
    let _ = writeln!(o, "<section><h2>Money</h2><table>");
    if let Some(Value::Object(m)) = d.summary.get("money") {
        for (k, v) in m {
            match v {
                Value::Object(sub) => {
                    let _ = writeln!(
                        o,
                        "<tr><td>{}</td><td></td></tr>",
                        esc(&k.replace('_', " "))
                    );
                    for (k2, v2) in sub {
                        let _ = writeln!(
                            o,
                            "<tr class=\"sub\"><td>{}</td><td class=\"n\">{}</td></tr>",
                            esc(&k2.replace('_', " ")),
                            jv(Some(v2))
                        );
                    }
                }
                v => {
                    let _ = writeln!(
                        o,
                        "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                        esc(&k.replace('_', " ")),
                        jv(Some(v))
                    );
                }
            }
        }
    }
    let _ = writeln!(o, "</table></section>");
}
