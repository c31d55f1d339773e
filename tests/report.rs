//! `report.html`: escaping of hostile values, self-containedness, bounded
//! size, determinism, the checks on the folder, and (when chromium is
//! installed) a headless render without console errors.

use assert_cmd::Command;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

fn bin() -> Command {
    Command::cargo_bin("contrib-recon").expect("binary")
}

/// CSV field with minimal quoting.
fn q(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn run(input: &Path, out: &Path) {
    bin()
        .args(["run"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--as-of", "2023-11-20", "--through", "2023-10", "--quiet"])
        .assert()
        .success();
}

const RATES: &str =
    "region,insurance,from,to,employer_rate,individual_rate,base_floor,base_ceiling\n\
                     *,pension,2000-01,,0.16,0.08,3000,30000\n\
                     *,medical,2000-01,,0.06,0.02,,\n";

/// A drop folder whose employer ids, event reasons and a rejected row
/// carry HTML/script payloads.
fn hostile_input(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut emp = String::from(
        "employer_id,name,credit_code,status,status_date,region,archive_transferred\n",
    );
    // Bankrupt: its workers get make-up cases (employer id in the make-up table).
    let _ = writeln!(
        emp,
        "{},{},,bankrupt,2023-05-16,440305,no",
        q(SCRIPT),
        q(IMG)
    );
    // Active: arrears (employer id in the arrears top list).
    let _ = writeln!(emp, "{},{},,active,,440305,", q(IMG), q(SCRIPT));
    std::fs::write(dir.join("employers.csv"), emp).unwrap();
    std::fs::write(dir.join("rates.csv"), RATES).unwrap();
    let mut ev = String::from(
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n",
    );
    let _ = writeln!(
        ev,
        "E1,P1,,n,{},pension,increase,2023-01,5000,{}",
        q(SCRIPT),
        q(IMG)
    );
    let _ = writeln!(
        ev,
        "E2,P2,,n,{},pension,increase,2023-01,6000,{}",
        q(IMG),
        q(SCRIPT)
    );
    // Orphan decreases: the reason goes into the finding's detail.
    let _ = writeln!(
        ev,
        "E3,P2,,n,{},medical,decrease,2023-03,,{}",
        q(IMG),
        q(SCRIPT)
    );
    let _ = writeln!(
        ev,
        "E4,P1,,n,{},medical,decrease,2023-03,,{}",
        q(SCRIPT),
        q(IMG)
    );
    // Rejected (bad period): the raw text is shown in the report.
    let _ = writeln!(
        ev,
        "E5,P3,,n,{},pension,increase,{},5000,x",
        q(SCRIPT),
        q(IMG)
    );
    std::fs::write(dir.join("events.csv"), ev).unwrap();
    let mut pay = String::from("payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n");
    let _ = writeln!(
        pay,
        "Y1,P2,{},pension,2023-01,6000,960.00,480.00,2023-02-15,",
        q(IMG)
    );
    std::fs::write(dir.join("payments.csv"), pay).unwrap();
}

fn assert_no_markup_injection(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<script"),
        "a <script tag made it into the page"
    );
    assert!(!lower.contains("<img"), "an <img tag made it into the page");
    assert!(!lower.contains("<iframe") && !lower.contains("<link") && !lower.contains("@import"));
}

fn assert_self_contained(html: &str) {
    // The only URL is the SVG namespace.
    let stripped = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for bad in [
        "http://", "https://", "url(", "src=\"", "href=\"", "<link", "<script",
    ] {
        assert!(
            !stripped.contains(bad),
            "page refers to something outside itself: {bad}"
        );
    }
}

#[test]
fn hostile_values_are_escaped_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    hostile_input(&tmp.path().join("in"));
    let out = tmp.path().join("out");
    run(&tmp.path().join("in"), &out);
    // The payloads really are in the outputs the report reads.
    let makeup = std::fs::read_to_string(out.join("makeup_cases.csv")).unwrap();
    assert!(makeup.contains(SCRIPT), "{makeup}");
    let exceptions = std::fs::read_to_string(out.join("exceptions.csv")).unwrap();
    assert!(
        exceptions.contains("orphan_decrease") && exceptions.contains("alert(1)"),
        "{exceptions}"
    );
    let rejects = std::fs::read_to_string(out.join("rejects.csv")).unwrap();
    assert!(rejects.contains("onerror"), "{rejects}");

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_no_markup_injection(&html);
    assert_self_contained(&html);
    let script_esc = "&lt;script&gt;alert(1)&lt;/script&gt;";
    let img_esc = "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;";
    // Employer ids (make-up table, arrears top list) and finding details.
    assert!(
        html.matches(script_esc).count() >= 2,
        "escaped <script> payload missing"
    );
    assert!(
        html.matches(img_esc).count() >= 2,
        "escaped <img> payload missing"
    );
    // Reject raw text: the CSV-doubled quotes of the raw line, escaped.
    assert!(
        html.contains("&quot;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "raw reject text missing"
    );
    // Make-up and arrears sections name the employers.
    let makeup_sec = &html[html.find("Make-up cases by employer").unwrap()..];
    assert!(makeup_sec[..makeup_sec.find("</section>").unwrap()].contains(script_esc));
    let arrears_sec = &html[html.find("employers by arrears").unwrap()..];
    assert!(arrears_sec[..arrears_sec.find("</section>").unwrap()].contains(img_esc));

    // `contrib-recon report` rebuilds the same page.
    let before = std::fs::read(out.join("report.html")).unwrap();
    bin().arg("report").arg(&out).assert().success();
    assert_eq!(before, std::fs::read(out.join("report.html")).unwrap());

    browser_check(&out);
}

fn conformance_out() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/in");
    bin()
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20", "--through", "2026-10", "--quiet"])
        .assert()
        .success();
    (tmp, out)
}

#[test]
fn conformance_report_has_every_section() {
    let (_tmp, out) = conformance_out();
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_self_contained(&html);
    assert_no_markup_injection(&html);
    for needle in [
        "Control totals: balanced",
        "49,456,888.17", // both sides of the control total
        "gb18030",       // input encodings
        "payments_2021_2026_gb.csv",
        "30,219", // rows read of that file
        "Findings by kind and severity",
        "makeup_required",
        "Top 10 employers by arrears",
        "Make-up cases by employer",
        "4403000008", // the dissolved employer with most make-up
        "260,865.69", // make-up total
        "<svg",
        "<polyline",
        "Rejected rows",
        "duplicate_row",
    ] {
        assert!(html.contains(needle), "report lacks {needle:?}");
    }
    // Files agree with summary.json: no "NO" in the cross-check table.
    let checks = &html[html.find("Files against summary.json").unwrap()..];
    assert!(!checks.contains("class=\"no\""), "a cross-check failed");
    // Deterministic (no clock, no paths, no elapsed time).
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let elapsed = v["elapsed_seconds"].to_string();
    assert!(!html.contains(&format!(">{elapsed}<")));
    assert!(!html.contains(out.to_str().unwrap()));
    assert!(html.len() < 300_000, "report is {} bytes", html.len());
    browser_check(&out);
}

#[test]
fn report_stays_bounded_with_many_employers() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    std::fs::create_dir_all(&input).unwrap();
    let n = 300;
    let mut emp = String::from(
        "employer_id,name,credit_code,status,status_date,region,archive_transferred\n",
    );
    let mut ev = String::from(
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n",
    );
    for i in 0..n {
        let _ = writeln!(emp, "B{i:04},b,,bankrupt,2023-05-16,440305,yes");
        let _ = writeln!(emp, "A{i:04},a,,active,,440305,");
        let _ = writeln!(
            ev,
            "EB{i},PB{i:04},,n,B{i:04},pension,increase,2023-01,{},",
            4000 + i
        );
        let _ = writeln!(
            ev,
            "EA{i},PA{i:04},,n,A{i:04},pension,increase,2023-01,{},",
            4000 + i
        );
    }
    std::fs::write(input.join("employers.csv"), emp).unwrap();
    std::fs::write(input.join("events.csv"), ev).unwrap();
    std::fs::write(input.join("rates.csv"), RATES).unwrap();
    std::fs::write(
        input.join("payments.csv"),
        "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    run(&input, &out);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // Top 10 of 300 employers with arrears, top 50 of 300 with make-up.
    let arrears = &html[html.find("employers by arrears").unwrap()..];
    let arrears = &arrears[..arrears.find("</section>").unwrap()];
    assert_eq!(
        arrears.matches(">A0").count(),
        10,
        "arrears list not cut at 10"
    );
    assert!(arrears.contains("All 300 employers with arrears"));
    // The largest base has the largest arrears: A0299 first.
    assert!(arrears.find("A0299").unwrap() < arrears.find("A0290").unwrap());
    let makeup = &html[html.find("Make-up cases by employer").unwrap()..];
    let makeup = &makeup[..makeup.find("</section>").unwrap()];
    assert_eq!(
        makeup.matches(">B0").count(),
        50,
        "make-up list not cut at 50"
    );
    assert!(makeup.contains("250 more employers"));
    assert!(makeup.contains("All 300 employers"));
    assert!(html.len() < 200_000, "report is {} bytes", html.len());
}

#[test]
fn report_refuses_a_folder_that_is_not_a_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    // Empty folder.
    bin().arg("report").arg(tmp.path()).assert().code(2);
    // A failed run's diagnostics.
    std::fs::write(
        tmp.path().join("summary.json"),
        r#"{"status": "failed", "reason": "x"}"#,
    )
    .unwrap();
    bin().arg("report").arg(tmp.path()).assert().code(2);
    assert!(!tmp.path().join("report.html").exists());
    // A finished run (`_SUCCESS`) with a malformed summary.json: an input
    // error naming the file.
    std::fs::write(tmp.path().join("_SUCCESS"), "").unwrap();
    std::fs::write(tmp.path().join("summary.json"), "{\"status\": ").unwrap();
    let a = bin().arg("report").arg(tmp.path()).assert().code(3);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("summary.json"), "{err}");
}

#[test]
fn malformed_csv_is_an_input_error_not_a_panic() {
    let (_tmp, out) = conformance_out();
    let ledger = out.join("ledger.csv");
    let mut text = std::fs::read_to_string(&ledger).unwrap();
    text.push_str("p,pension,2026-10,E,paid,1.00,abc,1.00,1.00,1.00\n");
    std::fs::write(&ledger, text).unwrap();
    let a = bin().arg("report").arg(&out).assert().code(3);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("ledger.csv") && err.contains("due_employer"),
        "{err}"
    );
}

/// Runs scripts/browser_check.sh when chromium is installed.
fn browser_check(out: &Path) {
    if !Path::new("/usr/bin/chromium").exists() {
        eprintln!("skip: /usr/bin/chromium not installed");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/browser_check.sh");
    let shot = out.parent().unwrap().join("report.png");
    let o = std::process::Command::new("bash")
        .arg(&script)
        .arg(out)
        .arg(&shot)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "browser check failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(std::fs::metadata(&shot).unwrap().len() > 1000);
}
