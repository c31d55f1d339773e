//! The HTML of `report.html`. Every value that comes from a file goes
//! through [`display::esc`]; the rest is literal markup written here.
//!
//! This file holds the page skeleton (head, inline CSS, the order of the
//! sections); the sections live in submodules by what they show:
//! `facts` (the run as `summary.json` describes it), `controls` (control
//! totals and file-against-summary checks), `findings` (what needs
//! follow-up), `chart` (due versus paid by month), all formatting values
//! through `display`.

mod chart;
mod controls;
mod display;
mod facts;
mod findings;

use super::Data;
use chart::chart_section;
use controls::{checks, control};
use display::jv;
use facts::{header, inputs, money_table, statuses};
use findings::{arrears, findings, makeup, rejects};
use std::fmt::Write as _;

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
