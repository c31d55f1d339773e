//! Black-box tests on the shipped fixtures, xsv workdir style: run the
//! binary on `fixtures/<name>/in` into a temporary folder and compare the
//! outputs with `fixtures/<name>/expected`.
//!
//! - `fixtures/demo`: produced by this tool and checked by hand against
//!   SPEC.md (see `fixtures/demo/README.md`); every file is compared byte
//!   for byte, `summary.json` with its run-dependent values normalised.
//! - `fixtures/conformance`: produced by an independent implementation of
//!   SPEC.md; compared as `/work/shared/conformance/README.md` says (the
//!   `detail` sentences of `exceptions.csv` and the tool/version/timing/extra
//!   options of `summary.json` may differ, everything else must agree).
//!
//! Both are also run with `--threads 1` and `--threads 2`, whose outputs
//! must be identical.
//!
//! To refresh `fixtures/demo/expected` after an intended change of the
//! outputs: run the command in `fixtures/demo/README.md`, copy every file
//! except `report.html` and `history.idx`, and re-check the stories.

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

const AS_OF: &str = "2026-11-20";
const THROUGH: &str = "2026-10";

/// Outputs outside the compared set: the supervisor page and the index
/// used by `history`.
const NOT_COMPARED: &[&str] = &["report.html", "history.idx"];

/// The `options` that SPEC.md §6 defines for `summary.json`.
const SPEC_OPTIONS: &[&str] = &[
    "tolerance",
    "late_fee_rate",
    "encoding",
    "delimiter",
    "rates",
    "max_reject_rate",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// One finished run in its own temporary work directory.
struct Run {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

impl Run {
    fn read(&self, name: &str) -> Vec<u8> {
        fs::read(self.out.join(name)).unwrap_or_else(|e| panic!("read output {name}: {e}"))
    }
}

/// `contrib-recon run INPUT --out OUT --as-of 2026-11-20 --through 2026-10 EXTRA…`
fn run(input: &Path, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let output = Command::cargo_bin("contrib-recon")
        .expect("binary")
        .current_dir(dir.path())
        .arg("run")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .args(["--as-of", AS_OF, "--through", THROUGH])
        .args(extra)
        .output()
        .expect("spawn contrib-recon");
    assert!(
        output.status.success(),
        "contrib-recon run {} {:?} failed ({}):\n{}",
        input.display(),
        extra,
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Run { _dir: dir, out }
}

/// Names of the entries of `dir` (sub-folders with a trailing `/`), minus
/// the outputs that are not compared with `expected/`.
fn entries(dir: &Path) -> BTreeSet<String> {
    all_entries(dir)
        .into_iter()
        .filter(|n| !NOT_COMPARED.contains(&n.as_str()))
        .collect()
}

/// Names of all the entries of `dir` (sub-folders with a trailing `/`).
fn all_entries(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| {
            let e = e.expect("dir entry");
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect()
}

/// `summary.json` text with the values that legitimately change from run
/// to run replaced by `0`; everything else (keys, order, layout) is kept
/// byte for byte.
///
/// - `elapsed_seconds`: wall-clock time (SPEC §1 exempts it).
/// - `options.threads`: an extra option of this tool (README, Decisions
///   13); without `--threads` it is the machine's core count, so it differs
///   between machines and between `--threads 1` and `--threads 2`.
fn normalise_summary(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).expect("summary.json is UTF-8");
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let key = ["\"elapsed_seconds\":", "\"threads\":"]
            .into_iter()
            .find(|k| trimmed.starts_with(k));
        match key {
            Some(k) => {
                let indent = &line[..line.len() - trimmed.len()];
                let comma = if line.trim_end().ends_with(',') {
                    ","
                } else {
                    ""
                };
                let eol = if line.ends_with('\n') { "\n" } else { "" };
                out.push_str(&format!("{indent}{k} 0{comma}{eol}"));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Compares a run's outputs with `expected`, byte for byte but for the
/// normalised values of `summary.json`.
fn assert_same_as_expected(run: &Run, expected: &Path, label: &str) {
    assert_eq!(
        entries(&run.out),
        entries(expected),
        "{label}: output files differ from {}",
        expected.display()
    );
    for name in entries(expected) {
        let want = fs::read(expected.join(&name)).expect("read expected");
        let got = run.read(&name);
        if name == "summary.json" {
            let (got, want) = (normalise_summary(&got), normalise_summary(&want));
            assert!(
                got == want,
                "{label}: summary.json differs\n{}",
                first_difference(&got, &want)
            );
        } else {
            assert!(
                got == want,
                "{label}: {name} differs from expected\n{}",
                first_difference(
                    &String::from_utf8_lossy(&got),
                    &String::from_utf8_lossy(&want)
                )
            );
        }
    }
}

/// Asserts two runs wrote the same outputs (summary.json normalised), the
/// extra outputs (`report.html`, `history.idx`) included: SPEC §1 wants
/// byte-identical outputs whatever the thread count.
fn assert_same_runs(a: &Run, b: &Run, label: &str) {
    assert_eq!(
        all_entries(&a.out),
        all_entries(&b.out),
        "{label}: output file sets differ"
    );
    for name in all_entries(&a.out) {
        let (x, y) = (a.read(&name), b.read(&name));
        let same = if name == "summary.json" {
            normalise_summary(&x) == normalise_summary(&y)
        } else {
            x == y
        };
        assert!(
            same,
            "{label}: {name} differs\n{}",
            first_difference(&String::from_utf8_lossy(&x), &String::from_utf8_lossy(&y))
        );
    }
}

/// The first differing line of two texts, for failure messages.
fn first_difference(got: &str, want: &str) -> String {
    let (mut g, mut w) = (got.lines(), want.lines());
    let mut n = 1;
    loop {
        match (g.next(), w.next()) {
            (None, None) => return "(texts differ only in line ends)".into(),
            (a, b) if a != b => {
                return format!(
                    "line {n}:\n  got:      {}\n  expected: {}",
                    a.unwrap_or("<end>"),
                    b.unwrap_or("<end>")
                )
            }
            _ => n += 1,
        }
    }
}

fn csv_rows(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new().from_reader(bytes);
    let header = r
        .headers()
        .expect("csv header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|x| x.expect("csv record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

// ------------------------------------------------------------------ demo

#[test]
fn demo_outputs_match_expected() {
    let input = fixture("demo").join("in");
    let expected = fixture("demo").join("expected");
    let default = run(&input, &[]);
    assert_same_as_expected(&default, &expected, "demo");
}

#[test]
fn demo_outputs_do_not_depend_on_thread_count() {
    let input = fixture("demo").join("in");
    let expected = fixture("demo").join("expected");
    let one = run(&input, &["--threads", "1"]);
    let two = run(&input, &["--threads", "2"]);
    assert_same_runs(&one, &two, "demo --threads 1 vs 2");
    assert_same_as_expected(&one, &expected, "demo --threads 1");
}

/// The stories of `fixtures/demo/README.md`, checked on a fresh run rather
/// than on `expected/`, so that a careless refresh of `expected/` cannot
/// hide a story that stopped showing.
#[test]
fn demo_stories_show_in_outputs() {
    let r = run(&fixture("demo").join("in"), &[]);

    // Findings: kind, person, employer, insurance, from, to, months, amount.
    let (h, rows) = csv_rows(&r.read("exceptions.csv"));
    assert_eq!(h.last().map(String::as_str), Some("detail"));
    let findings: BTreeSet<String> = rows.iter().map(|f| f[..9].join(",")).collect();
    let want = [
        // P02 李秀英: bankrupt employer, archives not handed over
        "makeup_required,error,10210003125,3201020003,pension,2024-01,2024-06,6,8168.13",
        "archive_not_transferred,warning,10210003125,3201020003,pension,2024-01,2024-06,6,",
        "makeup_required,error,10210003125,3201020003,medical,2024-01,2024-06,6,3842.45",
        "archive_not_transferred,warning,10210003125,3201020003,medical,2024-01,2024-06,6,",
        // P03 王磊: stranded on a dissolved employer's roll, pays individually
        "makeup_required,error,10210003288,1101080005,pension,2023-02,2023-03,2,5781.02",
        "stranded_enrolment,error,10210003288,1101080005,pension,2023-04,2026-10,43,",
        "contribution_gap,warning,10210003288,,pension,2023-04,2023-05,2,",
        // P04 刘洋: lapse and resume
        "contribution_gap,warning,10210003304,,pension,2021-09,2022-02,6,",
        // P05 陈静: double posting refunded (2025-03) and not refunded (2025-08)
        "overpayment,warning,10210003461,3101150002,pension,2025-08,2025-08,1,3600.00",
        // P06 杨帆: paid by the sister company
        "payer_mismatch,warning,10210003519,5101070006,pension,2025-01,2025-03,3,",
        // P08 周丽娟: arrears at an active employer
        "arrears,error,10210003735,4403050004,pension,2026-06,2026-10,5,11400.00",
        // P09/P10 赵国庆: one ID number (15- and 18-digit forms), two person numbers
        "duplicate_person,warning,10210003806,,,,,,",
        "duplicate_person,warning,10210003943,,,,,,",
        // P11 吴桂芳 / P12 孙浩然: base below the floor / above the ceiling
        "base_clamped,info,10210004051,5101070007,pension,2023-03,2026-10,44,",
        "base_clamped,info,10210004178,3101150002,pension,2025-01,2026-10,22,",
        // P14 胡建军: decrease filed twice
        "orphan_decrease,warning,10210004390,5101070006,pension,2024-05,2024-05,1,",
        // P15 郭晓燕: employer missing from the registry
        "unknown_employer,warning,,3101150099,,,,,",
        // P16 何勇: two employers at once
        "overlapping_enrolment,error,10210004583,5101070007,pension,2025-03,2025-08,6,",
        "payer_mismatch,warning,10210004583,5101070007,pension,2025-03,2025-08,6,",
        // P17 林晓峰: left, decrease filed late, paid individually meanwhile
        "individual_enrolment_blocked,error,10210004619,3101050001,pension,2025-01,2025-05,5,",
        "payer_mismatch,warning,10210004619,3101050001,pension,2025-01,2025-05,5,",
        // P18 高敏: wrong check character
        "invalid_id_number,warning,10210004764,,,,,,",
        // P19 罗俊杰: paid for the month after the decrease
        "unmatched_payment,warning,10210004852,3101150002,pension,2024-04,2024-04,1,2640.00",
    ];
    for w in want {
        assert!(
            findings.contains(w),
            "missing finding: {w}\nall findings:\n{}",
            rows_text(&rows)
        );
    }
    assert_eq!(
        rows.len(),
        want.len(),
        "unexpected extra findings:\n{}",
        rows_text(&rows)
    );

    // Make-up cases with principal and late fee.
    let cases = String::from_utf8(r.read("makeup_cases.csv")).unwrap();
    for w in [
        "10210003125,3201020003,medical,bankrupt,2024-06-18,2024-01,2024-06,6,2976.00,744.00,122.45,3842.45,no",
        "10210003125,3201020003,pension,bankrupt,2024-06-18,2024-01,2024-06,6,5952.00,1984.00,232.13,8168.13,no",
        "10210003288,1101080005,pension,dissolved,2023-03-31,2023-02,2023-03,2,2304.00,1152.00,2325.02,5781.02,yes",
    ] {
        assert!(cases.lines().any(|l| l == w), "missing make-up case: {w}\n{cases}");
    }
    assert_eq!(cases.lines().count(), 4, "{cases}");

    // Ledger months that tell the stories.
    let (_, ledger) = csv_rows(&r.read("ledger.csv"));
    let month = |p: &str, period: &str| -> String {
        ledger
            .iter()
            .find(|l| l[0] == p && l[1] == "pension" && l[2] == period)
            .map(|l| l[3..].join(","))
            .unwrap_or_else(|| format!("<no ledger row for {p} pension {period}>"))
    };
    for (p, period, want) in [
        // P01 张伟: transfer in one month, no gap, no overlap; rate change 2019-05
        (
            "10210003017",
            "2019-04",
            "3101050001,paid,8000.00,1600.00,640.00,1600.00,640.00",
        ),
        (
            "10210003017",
            "2019-05",
            "3101050001,paid,8000.00,1280.00,640.00,1280.00,640.00",
        ),
        (
            "10210003017",
            "2023-06",
            "3101050001,paid,9800.00,1568.00,784.00,1568.00,784.00",
        ),
        (
            "10210003017",
            "2023-07",
            "3101150002,paid,12000.00,1920.00,960.00,1920.00,960.00",
        ),
        // P02: withheld individual part only, then nothing
        (
            "10210003125",
            "2024-02",
            "3201020003,underpaid,6200.00,992.00,496.00,0.00,496.00",
        ),
        (
            "10210003125",
            "2024-03",
            "3201020003,arrears,6200.00,992.00,496.00,0.00,0.00",
        ),
        // P03: gap, then the individual spell counts
        ("10210003288", "2023-04", ",gap,,0.00,0.00,0.00,0.00"),
        (
            "10210003288",
            "2023-06",
            ",paid,4600.00,736.00,368.00,736.00,368.00",
        ),
        // P05: posted twice and refunded → paid; posted twice → overpaid
        (
            "10210003461",
            "2025-03",
            "3101150002,paid,15000.00,2400.00,1200.00,2400.00,1200.00",
        ),
        (
            "10210003461",
            "2025-08",
            "3101150002,overpaid,15000.00,2400.00,1200.00,4800.00,2400.00",
        ),
        // P07 黄志强: make-up paid in 2023 settles 2022-07..10 (Shenzhen rate 0.15)
        (
            "10210003672",
            "2022-07",
            "4403050004,paid,8000.00,1200.00,640.00,1200.00,640.00",
        ),
        (
            "10210003672",
            "2022-10",
            "4403050004,paid,8000.00,1200.00,640.00,1200.00,640.00",
        ),
        // P08: arrears run
        (
            "10210003735",
            "2026-06",
            "4403050004,arrears,9500.00,1520.00,760.00,0.00,0.00",
        ),
        // P11: base 3500 clamped to the 2023 floor 4200
        (
            "10210004051",
            "2023-03",
            "5101070007,paid,4200.00,672.00,336.00,672.00,336.00",
        ),
        // P12: base 30000 clamped to the ceiling 23000
        (
            "10210004178",
            "2025-01",
            "3101150002,paid,23000.00,3680.00,1840.00,3680.00,1840.00",
        ),
        // P16: both employers paid during the overlap
        (
            "10210004583",
            "2025-03",
            "5101070007,overlap,7000.00,1120.00,560.00,1952.00,976.00",
        ),
        // P17: individual payments while the employer spell is open
        (
            "10210004619",
            "2025-05",
            "3101050001,overlap,6500.00,1040.00,520.00,736.00,368.00",
        ),
        (
            "10210004619",
            "2025-06",
            ",paid,4600.00,736.00,368.00,736.00,368.00",
        ),
        // P19: the month after the decrease
        (
            "10210004852",
            "2024-04",
            "3101150002,unmatched,,0.00,0.00,1760.00,880.00",
        ),
    ] {
        assert_eq!(month(p, period), want, "ledger {p} pension {period}");
    }

    // P13 马丽 prepaid 2026-11: deferred, not in the ledger.
    assert!(ledger.iter().all(|l| l[2].as_str() <= THROUGH));
    let s: serde_json::Value = serde_json::from_slice(&r.read("summary.json")).unwrap();
    assert_eq!(s["counts"]["payments_deferred"], 1);
    assert_eq!(s["money"]["deferred"], "1320.00");
    assert_eq!(s["control"]["money_balanced"], true);
    assert_eq!(s["control"]["rows_balanced"], true);
}

fn rows_text(rows: &[Vec<String>]) -> String {
    rows.iter().map(|r| r.join(",") + "\n").collect()
}

// ------------------------------------------------------------------ conformance

/// `summary.json` as a value without what the conformance README lets
/// differ: `tool`, `version`, `elapsed_seconds` and options beyond SPEC §6.
fn conformance_summary(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).expect("summary.json");
    let o = v.as_object_mut().expect("summary object");
    for k in ["tool", "version", "elapsed_seconds"] {
        o.remove(k);
    }
    if let Some(opts) = o.get_mut("options").and_then(|x| x.as_object_mut()) {
        opts.retain(|k, _| SPEC_OPTIONS.contains(&k.as_str()));
    }
    v
}

/// exceptions.csv rows without the `detail` column (the tool's own words).
fn exceptions_without_detail(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let (header, rows) = csv_rows(bytes);
    let d = header
        .iter()
        .position(|h| h == "detail")
        .expect("detail column");
    let strip = |mut r: Vec<String>| {
        r.remove(d);
        r
    };
    (strip(header.clone()), rows.into_iter().map(strip).collect())
}

fn assert_conformance(run: &Run, label: &str) {
    let expected = fixture("conformance").join("expected");
    assert_eq!(
        entries(&run.out),
        entries(&expected),
        "{label}: output files differ"
    );
    for name in entries(&expected) {
        let want = fs::read(expected.join(&name)).expect("read expected");
        let got = run.read(&name);
        match name.as_str() {
            "summary.json" => {
                let (g, w) = (conformance_summary(&got), conformance_summary(&want));
                assert!(
                    g == w,
                    "{label}: summary.json differs\n{}",
                    first_difference(
                        &serde_json::to_string_pretty(&g).unwrap(),
                        &serde_json::to_string_pretty(&w).unwrap()
                    )
                );
            }
            "exceptions.csv" => {
                let (gh, g) = exceptions_without_detail(&got);
                let (wh, w) = exceptions_without_detail(&want);
                assert_eq!(gh, wh, "{label}: exceptions.csv header");
                if g != w {
                    let n = g
                        .iter()
                        .zip(&w)
                        .position(|(a, b)| a != b)
                        .unwrap_or(g.len().min(w.len()));
                    panic!(
                        "{label}: exceptions.csv differs (detail ignored): {} rows vs {} expected; first difference at row {}:\n  got:      {:?}\n  expected: {:?}",
                        g.len(),
                        w.len(),
                        n + 1,
                        g.get(n),
                        w.get(n)
                    );
                }
            }
            _ => assert!(
                got == want,
                "{label}: {name} differs from expected\n{}",
                first_difference(
                    &String::from_utf8_lossy(&got),
                    &String::from_utf8_lossy(&want)
                )
            ),
        }
    }
}

#[test]
fn conformance_outputs_match_expected() {
    let r = run(&fixture("conformance").join("in"), &[]);
    assert_conformance(&r, "conformance");
}

#[test]
fn conformance_outputs_do_not_depend_on_thread_count() {
    let input = fixture("conformance").join("in");
    let one = run(&input, &["--threads", "1"]);
    let two = run(&input, &["--threads", "2"]);
    assert_same_runs(&one, &two, "conformance --threads 1 vs 2");
    assert_conformance(&one, "conformance --threads 1");
}
