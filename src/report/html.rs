//! The HTML of `report.html`. Every value that comes from a file goes
//! through [`esc`]; the rest is literal markup written here.

mod chart;
use chart::chart_section;

use super::{Cents, Data, MonthTotals, INPUTS_SHOWN, MAKEUP_EMPLOYERS_SHOWN, TOP_ARREARS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Digits grouped by thousands: `1234567` → `1,234,567`.
fn group(digits: &str) -> String {
    let n = digits.len();
    let mut o = String::with_capacity(n + n / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            o.push(',');
        }
        o.push(ch);
    }
    o
}

/// Cents as `-1,234.56`.
fn money(c: Cents) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", group(&(a / 100).to_string()), a % 100)
}

fn count(n: u64) -> String {
    group(&n.to_string())
}

/// A JSON value from `summary.json` as display text (escaped); money
/// strings get thousands separators.
fn jv(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) => match super::parse_cents(s.as_bytes()) {
            Some(c) if s.contains('.') => money(c),
            _ => esc(s),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(u) => count(u),
            None => esc(&n.to_string()),
        },
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.to_string(),
        Some(other) => esc(&other.to_string()),
    }
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn cents_at(v: &Value, path: &[&str]) -> Option<Cents> {
    get(v, path)
        .and_then(|x| x.as_str())
        .and_then(|s| super::parse_cents(s.as_bytes()))
}

const CSS: &str = r#"
:root{--ink:#1d2430;--muted:#5b6472;--line:#e3e6ec;--bg:#f4f5f7;--ok:#23824f;--bad:#b42318;--due:#1f5fa8;--paid:#d9822b}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px 20px 48px}
header h1{font-size:24px;margin:0 0 4px}
header p{margin:0;color:var(--muted)}
h2{font-size:17px;margin:0 0 10px}
section{background:#fff;border-radius:8px;padding:16px 18px;margin-top:18px;box-shadow:0 1px 2px rgba(0,0,0,.07)}
.note{color:var(--muted);font-size:13px;margin:6px 0 0}
table{border-collapse:collapse;width:100%}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.03em}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:600;border-top:2px solid #c9ced8}
tr.sub td:first-child{padding-left:26px;color:var(--muted)}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px}
.fact{background:var(--bg);border-radius:6px;padding:8px 12px}
.fact .k{color:var(--muted);font-size:12px}
.fact .v{font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}
.control{border-left:8px solid var(--ok);background:#eef8f1}
.control.bad{border-left-color:var(--bad);background:#fdeeee}
.verdict{font-size:20px;font-weight:700;margin:0 0 8px}
.control .verdict{color:var(--ok)}
.control.bad .verdict{color:var(--bad)}
.control table{max-width:760px;background:transparent}
.yes{color:var(--ok);font-weight:600}
.no{color:var(--bad);font-weight:700}
.sev{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600}
.sev-error{background:#fde2e1;color:var(--bad)}
.sev-warning{background:#fff1d6;color:#8a5a00}
.sev-info{background:#e7eefb;color:#24508f}
.id,.raw{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.raw{word-break:break-all;color:#3b4350}
.detail{color:var(--muted);font-size:13px}
.two{display:grid;grid-template-columns:1fr 1fr;gap:18px}
@media (max-width:900px){.two{grid-template-columns:1fr}}
.two section{margin-top:0}
.wrap{margin-top:18px}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#5b6472}
.legend span{display:inline-block;margin-right:16px}
.sw{display:inline-block;width:14px;height:4px;vertical-align:middle;margin-right:6px;border-radius:2px}
"#;

/// The whole page.
pub fn render(d: &Data) -> String {
    let s = &d.summary;
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // No external resources of any kind, even if a value slipped through.
    o.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    let _ = writeln!(
        o,
        "<title>Reconciliation report — as of {} through {}</title>",
        jv(s.get("as_of")),
        jv(s.get("through"))
    );
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>\n<body>\n<main>");

    header(&mut o, d);
    control(&mut o, d);
    inputs(&mut o, d);
    let _ = writeln!(o, "<div class=\"two wrap\">");
    statuses(&mut o, d);
    money_table(&mut o, d);
    let _ = writeln!(o, "</div>");
    chart_section(&mut o, d);
    findings(&mut o, d);
    arrears(&mut o, d);
    makeup(&mut o, d);
    rejects(&mut o, d);
    checks(&mut o, d);
    let _ = writeln!(
        o,
        "<p class=\"note\">Built from summary.json, ledger.csv, exceptions.csv, makeup_cases.csv and rejects.csv of this run. Employers are shown by id (names are not in the outputs). Money in yuan.</p>"
    );
    o.push_str("</main>\n</body>\n</html>\n");
    o
}

fn fact(o: &mut String, k: &str, v: &str) {
    let _ = write!(
        o,
        "<div class=\"fact\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div></div>"
    );
}

fn header(o: &mut String, d: &Data) {
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

fn control(o: &mut String, d: &Data) {
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

fn inputs(o: &mut String, d: &Data) {
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

fn statuses(o: &mut String, d: &Data) {
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

fn money_table(o: &mut String, d: &Data) {
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

fn findings(o: &mut String, d: &Data) {
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

fn arrears(o: &mut String, d: &Data) {
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

fn makeup(o: &mut String, d: &Data) {
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
    let tup = |g: &super::MakeupGroup| {
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

fn rejects(o: &mut String, d: &Data) {
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

fn checks(o: &mut String, d: &Data) {
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

#[cfg(test)]
mod tests {
    use super::chart::{difference_chart, due_paid_chart, nice_step, short_money, Series};
    use super::*;

    #[test]
    fn escapes_the_five() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn money_and_counts() {
        assert_eq!(money(123456789), "1,234,567.89");
        assert_eq!(money(-5), "-0.05");
        assert_eq!(money(0), "0.00");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(1.3e6), 2e6);
        assert_eq!(nice_step(4.0), 5.0);
        assert_eq!(short_money(1_500_000.0), "1.5M");
        assert_eq!(short_money(0.0), "0");
    }

    #[test]
    fn chart_is_bounded_on_a_long_span() {
        let mut m = BTreeMap::new();
        for i in (1950 * 12..2101 * 12).step_by(7) {
            m.insert(
                i,
                MonthTotals {
                    due: 10_000,
                    paid: 9_000,
                    rows: 1,
                },
            );
        }
        let series = Series::new(&m);
        assert_eq!(series.bucket, 2);
        let svg = due_paid_chart(&series) + &difference_chart(&series);
        assert!(svg.len() < 400_000, "{}", svg.len());
        assert!(svg.contains("<polyline"));
    }
}
