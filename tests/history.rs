//! `contrib-recon history`: text and JSON for real persons of the
//! conformance run, errors, the fallback without `history.idx`, and that a
//! lookup reads only the person's byte ranges (a ledger of hundreds of
//! gigabytes, sparse, answers at once).

use assert_cmd::Command;
use serde_json::Value;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::cargo_bin("contrib-recon").expect("binary")
}

/// The conformance run's output folder, built once per test process.
fn out_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let out = base.join("out");
        let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/in");
        bin()
            .arg("run")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args([
                "--as-of",
                "2026-11-20",
                "--through",
                "2026-10",
                "--quiet",
                "--no-report",
            ])
            .assert()
            .success();
        assert!(out.join("history.idx").exists(), "run wrote no history.idx");
        out
    })
}

fn history(dir: &Path, person: &str, json: bool) -> (String, String) {
    let mut c = bin();
    c.arg("history").arg(dir).arg(person);
    if json {
        c.arg("--json");
    }
    let a = c.timeout(Duration::from_secs(60)).assert().success();
    let o = a.get_output();
    (
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Terminal columns (CJK counts 2).
fn columns(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xFF00..=0xFF60 => 2,
            _ => 1,
        })
        .sum()
}

#[test]
fn bankrupt_makeup_person_in_text() {
    let (text, _) = history(out_dir(), "10000000028", false);
    for needle in [
        "Contribution history of person 10000000028",
        "as of 2026-11-20",
        "IDENTITY",
        "SPELLS BY EMPLOYER",
        "2021-05..2022-10   18 mo  at 4403000023",
        "2023-11..2024-02    4 mo  at 1101000016",
        "2024-03..2026-01   23 mo  individual",
        "MONTHS BY STATUS",
        "2024-01..2024-02   2  arrears    at 1101000016  base 11256.00",
        "short 2138.64",
        "FINDINGS (4)",
        "makeup_required",
        "archive_not_transferred",
        "MAKE-UP CASES (2)",
        "Employer 1101000016: bankrupt on 2024-02-16",
        "archive transferred: no; late fee accrued to 2024-02-16",
        // insurance, months, n, employer portion, personal account, late fee, total
        "medical      2024-01..2024-02   2    1688.40     450.24       8.55    2147.19",
        "pension      2024-01..2024-02   2    3601.92    1800.96      21.61    5424.49",
        "total                                5290.32    2251.20      30.16    7571.68",
        "WHAT TO DO NEXT",
        "kind=makeup",
        "bankruptcy administrator",
        "personnel archive",
        // employer-level finding on one of the person's employers
        "invalid_credit_code",
    ] {
        assert!(text.contains(needle), "history lacks {needle:?}:\n{text}");
    }
    for l in text.lines() {
        assert!(columns(l) <= 80, "line wider than 80 columns: {l:?}");
    }
}

#[test]
fn bankrupt_makeup_person_in_json() {
    let (out, _) = history(out_dir(), "10000000028", true);
    let v: Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["format"], "contrib-recon/history/v1");
    assert_eq!(v["person_id"], "10000000028");
    assert_eq!(v["run"]["as_of"], "2026-11-20");
    assert_eq!(v["run"]["through"], "2026-10");
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "format",
            "person_id",
            "run",
            "identity",
            "spells",
            "insurances",
            "findings",
            "employer_findings",
            "makeup_cases",
            "makeup_totals",
            "actions",
            "notes"
        ]
    );
    let spells = v["spells"].as_array().unwrap();
    assert_eq!(spells.len(), 4);
    assert_eq!(spells[2]["employer_id"], "1101000016");
    assert_eq!(spells[2]["months"], 4);
    assert_eq!(spells[3]["employer_id"], Value::Null);
    assert_eq!(
        spells[3]["insurances"],
        serde_json::json!(["medical", "pension"])
    );
    let cases = v["makeup_cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    let c = &cases[0];
    assert_eq!(c["employer_id"], "1101000016");
    assert_eq!(c["insurance"], "medical");
    assert_eq!(c["employer_status"], "bankrupt");
    assert_eq!(c["closed_on"], "2024-02-16");
    assert_eq!(c["months"], 2);
    assert_eq!(c["principal_employer"], "1688.40");
    assert_eq!(c["principal_individual"], "450.24");
    assert_eq!(c["principal"], "2138.64");
    assert_eq!(c["late_fee"], "8.55");
    assert_eq!(c["late_fee_to"], "2024-02-16");
    assert_eq!(c["total"], "2147.19");
    assert_eq!(c["archive_transferred"], "no");
    assert_eq!(v["makeup_totals"]["total"], "7571.68");
    assert_eq!(v["makeup_totals"]["principal_individual"], "2251.20");
    let medical = &v["insurances"][0];
    assert_eq!(medical["insurance"], "medical");
    assert_eq!(medical["summary"]["months_short"], 2);
    let arrears: Vec<&Value> = medical["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "arrears")
        .collect();
    assert_eq!(arrears.len(), 1);
    assert_eq!(arrears[0]["from"], "2024-01");
    assert_eq!(arrears[0]["to"], "2024-02");
    assert_eq!(arrears[0]["shortfall"], "2138.64");
    assert_eq!(arrears[0]["paid_employer"], "0.00");
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "makeup_required").count(), 2);
    let actions: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["pay_makeup", "retrieve_archive"]);
    assert_eq!(v["actions"][0]["amount"], "7571.68");
}

#[test]
fn stranded_person_is_told_to_file_the_decrease() {
    let (text, _) = history(out_dir(), "10000000301", false);
    assert!(text.contains("stranded_enrolment"), "{text}");
    assert!(
        text.contains("File the decrease (减员) at employer 4403000008"),
        "{text}"
    );
    assert!(text.contains("effective 2025-11"), "{text}");
    // This person also has two ID numbers.
    assert!(text.contains("conflicting_identity"), "{text}");
    let (json, _) = history(out_dir(), "10000000301", true);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["actions"][0]["action"], "file_decrease");
    assert_eq!(v["actions"][0]["from"], "2025-11");
    assert_eq!(v["identity"]["findings"][0]["kind"], "conflicting_identity");
}

#[test]
fn every_person_is_found_and_agrees_with_the_ledger() {
    // Each person of persons.csv is found; the runs add up to its ledger rows.
    let dir = out_dir();
    let mut rdr = csv::Reader::from_path(dir.join("persons.csv")).unwrap();
    let mut ids: Vec<String> = rdr.records().map(|r| r.unwrap()[0].to_string()).collect();
    ids.dedup();
    let mut ledger_count = std::collections::HashMap::<String, u64>::new();
    let mut rdr = csv::Reader::from_path(dir.join("ledger.csv")).unwrap();
    for r in rdr.records() {
        *ledger_count.entry(r.unwrap()[0].to_string()).or_default() += 1;
    }
    for id in ids.iter().step_by(23).chain(ids.last()) {
        let (json, _) = history(dir, id, true);
        let v: Value = serde_json::from_str(&json).unwrap();
        let months: u64 = v["insurances"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|i| i["runs"].as_array().unwrap())
            .map(|r| r["months"].as_u64().unwrap())
            .sum();
        assert_eq!(months, ledger_count.get(id).copied().unwrap_or(0), "{id}");
    }
}

#[test]
fn unknown_person_and_unfinished_folder_are_usage_errors() {
    let a = bin()
        .arg("history")
        .arg(out_dir())
        .arg("99999999999")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("person 99999999999 not found"), "{err}");
    // A prefix of a real id is not that id.
    bin()
        .arg("history")
        .arg(out_dir())
        .arg("1000000002")
        .assert()
        .code(2);
    let tmp = tempfile::tempdir().unwrap();
    let a = bin()
        .arg("history")
        .arg(tmp.path())
        .arg("10000000028")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("_SUCCESS"), "{err}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn without_index_falls_back_to_a_scan_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    copy_dir(out_dir(), &old);
    std::fs::remove_file(old.join("history.idx")).unwrap();
    let mut rdr = csv::Reader::from_path(out_dir().join("persons.csv")).unwrap();
    let last = rdr.records().last().unwrap().unwrap()[0].to_string();
    for id in ["10000000028", "10000000001", "10000000301", last.as_str()] {
        let (with_idx, _) = history(out_dir(), id, true);
        let (without, err) = history(&old, id, true);
        assert!(err.contains("history.idx"), "no note on stderr: {err}");
        let mut a: Value = serde_json::from_str(&with_idx).unwrap();
        let mut b: Value = serde_json::from_str(&without).unwrap();
        assert_eq!(b["notes"].as_array().unwrap().len(), 1);
        for v in [&mut a, &mut b] {
            v["run"]["out_dir"] = Value::Null;
            v["notes"] = Value::Null;
        }
        assert_eq!(a, b, "{id}: scan and index disagree");
    }
    bin()
        .arg("history")
        .arg(&old)
        .arg("nobody")
        .assert()
        .code(2);
}

#[test]
fn index_from_another_run_is_an_input_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("o");
    copy_dir(out_dir(), &dir);
    // Shift every ledger offset: rows of another person (or mid-row).
    let idx = std::fs::read_to_string(dir.join("history.idx")).unwrap();
    let mut shifted = String::new();
    for (i, l) in idx.lines().enumerate() {
        if i == 0 {
            shifted.push_str(l);
        } else {
            let mut f: Vec<String> = l.split('\t').map(str::to_string).collect();
            let (o, n) = f[1].split_once(',').unwrap();
            f[1] = format!("{},{}", o.parse::<u64>().unwrap() + 200, n);
            shifted.push_str(&f.join("\t"));
        }
        shifted.push('\n');
    }
    std::fs::write(dir.join("history.idx"), shifted).unwrap();
    let a = bin()
        .arg("history")
        .arg(&dir)
        .arg("10000000028")
        .assert()
        .code(3);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(err.contains("ledger.csv"), "{err}");
}

/// A synthetic finished run: 100 000 persons in the index, one of them
/// with ledger rows 256 GiB into a sparse ledger.csv. Reading the ledger
/// (or the index) whole would take minutes; a lookup takes milliseconds.
#[test]
fn lookup_reads_only_the_persons_byte_ranges() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    let ledger_h = "person_id,insurance,period,employer_id,status,base,due_employer,due_individual,paid_employer,paid_individual\n";
    let persons_h = "person_id,insurance,first_period,last_period,months_covered,months_paid,months_short,months_gap,months_overlap,pooled_total,state\n";
    let exc_h = "kind,severity,person_id,employer_id,insurance,from_period,to_period,months,amount,detail\n";
    let mk_h = "person_id,employer_id,insurance,employer_status,closed_on,first_period,last_period,months,principal_employer,principal_individual,late_fee,total,archive_transferred\n";
    let pool_h = "person_id,insurance,period,employer_id,base,pooled_employer,pooled_individual\n";
    let target = "P0077777";
    let rows = format!(
        "{target},pension,2024-01,E1,paid,5000.00,800.00,400.00,800.00,400.00\n\
         {target},pension,2024-02,E1,arrears,5000.00,800.00,400.00,0.00,0.00\n"
    );
    let person = format!("{target},pension,2024-01,2024-02,2,1,1,0,0,1200.00,covered\n");
    let far: u64 = 256 << 30;
    let mut f = std::fs::File::create(dir.join("ledger.csv")).unwrap();
    f.write_all(ledger_h.as_bytes()).unwrap();
    if f.set_len(far).is_err() {
        eprintln!("skip: this file system cannot hold a sparse 256 GiB file");
        return;
    }
    f.seek(SeekFrom::Start(far)).unwrap();
    f.write_all(rows.as_bytes()).unwrap();
    drop(f);
    write("persons.csv", &format!("{persons_h}{person}"));
    write("exceptions.csv", exc_h);
    write("makeup_cases.csv", mk_h);
    write("pooling.csv", pool_h);
    write(
        "summary.json",
        "{\"status\": \"ok\", \"as_of\": \"2024-03-20\", \"through\": \"2024-02\"}\n",
    );
    let mut idx = String::from("#contrib-recon history index v1: person\\tledger\\tpersons\\texceptions\\tmakeup_cases\\tpooling (offset,length)\n");
    let (lh, ph, eh, mh, qh) = (
        ledger_h.len(),
        persons_h.len(),
        exc_h.len(),
        mk_h.len(),
        pool_h.len(),
    );
    for i in 0..100_000u32 {
        let id = format!("P{i:07}");
        if id == target {
            idx.push_str(&format!(
                "{id}\t{far},{}\t{ph},{}\t{eh},0\t{mh},0\t{qh},0\n",
                rows.len(),
                person.len()
            ));
        } else {
            idx.push_str(&format!("{id}\t{lh},0\t{ph},0\t{eh},0\t{mh},0\t{qh},0\n"));
        }
    }
    write("history.idx", &idx);
    write("_SUCCESS", "");

    let started = Instant::now();
    let (text, _) = history(dir, target, false);
    let took = started.elapsed();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "2024-01 1 paid at E1 base 5000.00 2024-02 1 arrears at E1 base 5000.00 short 1200.00"
        ),
        "{text}"
    );
    assert!(flat.contains("2 covered, 1 paid, 1 short"), "{text}");
    assert!(took < Duration::from_secs(20), "lookup took {took:?}");
    // Persons with no rows at all are still found (empty history).
    let (text, _) = history(dir, "P0000000", false);
    assert!(text.contains("none: no month is covered"), "{text}");
    bin()
        .arg("history")
        .arg(dir)
        .arg("P0100000")
        .assert()
        .code(2);
}
