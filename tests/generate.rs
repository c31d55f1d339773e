//! `contrib-recon generate`: deterministic output that the engine accepts
//! whole and reconciles with balanced control totals.

use assert_cmd::Command;
use std::path::Path;

const FILES: [&str; 4] = ["employers.csv", "events.csv", "payments.csv", "rates.csv"];

fn generate(dir: &Path, persons: u64, seed: u64, threads: &str) {
    Command::cargo_bin("contrib-recon")
        .unwrap()
        .env("RAYON_NUM_THREADS", threads)
        .arg("generate")
        .arg(dir)
        .args([
            "--persons",
            &persons.to_string(),
            "--years",
            "10",
            "--seed",
            &seed.to_string(),
        ])
        .args(["--as-of", "2026-11-20"])
        .assert()
        .success()
        .stdout("");
}

#[test]
fn same_seed_gives_identical_files_whatever_the_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    generate(a.path(), 400, 7, "1");
    generate(b.path(), 400, 7, "2");
    generate(c.path(), 400, 8, "2");
    for f in FILES {
        let x = std::fs::read(a.path().join(f)).unwrap();
        let y = std::fs::read(b.path().join(f)).unwrap();
        assert!(!x.is_empty());
        assert!(x == y, "{f} differs between two runs with the same seed");
    }
    let x = std::fs::read(a.path().join("payments.csv")).unwrap();
    let z = std::fs::read(c.path().join("payments.csv")).unwrap();
    assert!(x != z, "another seed gives other data");
}

#[test]
fn canonical_headers_and_exact_money() {
    let a = tempfile::tempdir().unwrap();
    generate(a.path(), 200, 3, "2");
    let head = |f: &str| {
        let t = std::fs::read_to_string(a.path().join(f)).unwrap();
        t.lines().next().unwrap().to_string()
    };
    assert_eq!(
        head("employers.csv"),
        "employer_id,name,credit_code,status,status_date,region,archive_transferred"
    );
    assert_eq!(
        head("events.csv"),
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason"
    );
    assert_eq!(
        head("payments.csv"),
        "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind"
    );
    assert_eq!(
        head("rates.csv"),
        "region,insurance,from,to,employer_rate,individual_rate,base_floor,base_ceiling"
    );
    let pay = std::fs::read_to_string(a.path().join("payments.csv")).unwrap();
    let mut ids = std::collections::HashSet::new();
    for line in pay.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 10, "{line}");
        assert!(
            ids.insert(f[0].to_string()),
            "duplicate payment_id in {line}"
        );
        for money in [f[5], f[6], f[7]] {
            let (int, frac) = money.split_once('.').unwrap_or_else(|| panic!("{line}"));
            assert!(
                !int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()),
                "{line}"
            );
            assert!(
                frac.len() == 2 && frac.bytes().all(|b| b.is_ascii_digit()),
                "{line}"
            );
        }
        assert!(
            matches!(f[9], "" | "normal" | "makeup" | "refund"),
            "{line}"
        );
    }
}

fn json_u64(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn engine_accepts_everything_and_balances() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    let out = tmp.path().join("out");
    generate(&input, 400, 11, "2");
    Command::cargo_bin("contrib-recon")
        .unwrap()
        .arg("run")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", "2026-11-20", "--quiet"])
        .assert()
        .success();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["status"], "ok");
    assert_eq!(summary["through"], "2026-10");
    let inputs = summary["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 4);
    for f in inputs {
        let read = json_u64(&f["rows_read"]);
        assert!(read > 0, "{f}");
        assert_eq!(
            read,
            json_u64(&f["accepted"]) + json_u64(&f["rejected"]),
            "{f}"
        );
        // Generated rows are all valid.
        assert_eq!(json_u64(&f["rejected"]), 0, "{f}");
    }
    let control = &summary["control"];
    assert_eq!(control["rows_balanced"], true);
    assert_eq!(control["money_balanced"], true, "{control}");
    assert_eq!(
        control["payments_accepted_net"],
        control["pooled_plus_suspense_plus_deferred"]
    );

    // Realism: mostly paid months, and some of every planned defect.
    let st = &summary["counts"]["ledger_status"];
    let paid = json_u64(&st["paid"]);
    let rows = json_u64(&summary["counts"]["ledger_rows"]);
    assert!(paid * 100 > rows * 85, "{st}");
    for s in ["arrears", "underpaid", "overpaid", "gap", "unmatched"] {
        assert!(json_u64(&st[s]) > 0, "no {s} months: {st}");
    }
    assert_eq!(json_u64(&st["unrated"]), 0, "{st}");
    let kinds = &summary["counts"]["findings_by_kind"];
    for k in [
        "stranded_enrolment",
        "makeup_required",
        "contribution_gap",
        "base_clamped",
    ] {
        assert!(json_u64(&kinds[k]) > 0, "no {k} findings: {kinds}");
    }
    for k in [
        "invalid_id_number",
        "invalid_credit_code",
        "conflicting_identity",
        "duplicate_person",
        "no_rate",
        "unknown_employer",
        "orphan_decrease",
        "orphan_adjust",
        "duplicate_increase",
    ] {
        assert_eq!(json_u64(&kinds[k]), 0, "unexpected {k} findings: {kinds}");
    }
}
