//! Reliability: no panic on any input, nothing lost on any failure.
//!
//! - `fuzz_replay`: the fuzz seed corpus and every input the fuzzers ever
//!   crashed on (`fuzz/corpus/*`, `fuzz/regressions/*`) replayed through
//!   the very checks the fuzz targets run (`fuzz/checks.rs`).
//! - `bad_inputs`: the corpus of broken inputs in `tests/bad/` (see its
//!   README), each with its expected outcome.
//! - `crash_safety` (Linux): a run killed with SIGKILL at many moments
//!   leaves OUT_DIR with the previous complete outputs, the new complete
//!   outputs or nothing — never a mix — and the next run cleans up.

#[path = "../fuzz/checks.rs"]
mod checks;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_contrib-recon");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The one stderr line of a failed run (asserting there is exactly one).
fn one_stderr_line(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one stderr line, got {err:?}"
    );
    assert!(lines[0].starts_with("contrib-recon: "), "{err:?}");
    lines[0].to_string()
}

mod fuzz_replay {
    use super::*;

    /// Every file of `fuzz/corpus/TARGET` and `fuzz/regressions/TARGET`.
    fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        for dir in ["corpus", "regressions"] {
            let d = manifest_dir().join("fuzz").join(dir).join(target);
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                if p.is_file() {
                    let bytes = std::fs::read(&p).unwrap();
                    out.push((p, bytes));
                }
            }
        }
        out.sort();
        assert!(!out.is_empty(), "no corpus for {target}");
        out
    }

    fn replay(target: &str, check: fn(&[u8])) {
        for (path, bytes) in inputs(target) {
            let r = std::panic::catch_unwind(|| check(&bytes));
            assert!(
                r.is_ok(),
                "fuzz input {} fails the {target} checks",
                path.display()
            );
        }
    }

    #[test]
    fn fields_corpus_and_regressions() {
        replay("fields", checks::check_fields);
    }

    #[test]
    fn reader_corpus_and_regressions() {
        replay("reader", checks::check_reader);
    }

    #[test]
    fn run_file_corpus_and_regressions() {
        replay("run_file", checks::check_run_file);
    }

    /// Found by the `fields` fuzzer: an amount of more than 39 digits
    /// overflowed the i128 mantissa in `parse_money` (a panic in debug
    /// builds, which the rayon row parser turned into an aborted run;
    /// release builds wrapped silently). Fixed: digits are counted before
    /// they are accumulated.
    #[test]
    fn money_with_more_than_39_digits_is_rejected_not_overflowed() {
        use contrib_recon::parse::parse_money;
        let crash =
            std::fs::read(manifest_dir().join("fuzz/regressions/fields/money-41-digits-overflow"))
                .unwrap();
        let crash = String::from_utf8(crash).unwrap();
        for s in [
            crash.as_str(),
            &"1".repeat(41),
            &"9".repeat(100_000),
            &format!("-¥{}", "9".repeat(60)),
            &format!("{}.5", "1,111".repeat(20)),
            &format!("1{}", ",999".repeat(20)),
        ] {
            assert_eq!(parse_money(s), None, "{}", &s[..s.len().min(40)]);
        }
        assert!(parse_money("999,999,999,999,999.9999999999").is_some());
    }

    /// Found by the `reader` fuzzer: `csv_core` ends a record at a lone CR
    /// (classic Mac line ends) but only LFs were counted as lines, so every
    /// record of a CR-only file was "line 1" in rejects.csv. Fixed in
    /// `ingest::reader`: LF, CRLF and a lone CR each end one physical line.
    #[test]
    fn cr_only_line_ends_give_physical_line_numbers() {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        std::fs::create_dir(&input).unwrap();
        for f in ["employers.csv", "events.csv", "payments.csv"] {
            std::fs::copy(
                manifest_dir().join("tests/bad/_base").join(f),
                input.join(f),
            )
            .unwrap();
        }
        std::fs::write(
            input.join("payments_cr.csv"),
            "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\r\
             C1,P1,E1,pension,2023-02,,800,400,,\r\
             C2,P1,E1,pension,2023-13,,800,400,,\r\r\
             C3,P1,E1,pension,2023-04,,oops,400,,\r\n\
             C4,P1,E1,pension,2023-05,,800,400,,x\r",
        )
        .unwrap();
        let o = Command::new(BIN)
            .args([
                "run",
                "in",
                "--out",
                "out",
                "--as-of",
                "2024-01-20",
                "--through",
                "2023-12",
                "--quiet",
            ])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let rejects = std::fs::read_to_string(tmp.path().join("out/rejects.csv")).unwrap();
        assert_eq!(
            rejects,
            "file,line,reason,raw\n\
             payments_cr.csv,3,bad_period,\"C2,P1,E1,pension,2023-13,,800,400,,\"\n\
             payments_cr.csv,5,bad_amount,\"C3,P1,E1,pension,2023-04,,oops,400,,\"\n\
             payments_cr.csv,6,unknown_kind,\"C4,P1,E1,pension,2023-05,,800,400,,x\"\n"
        );
    }

    /// The money reference reading in fuzz/checks.rs agrees with the
    /// parser on the SPEC's own examples (guards the oracle itself).
    #[test]
    fn money_oracle_agrees_on_spec_examples() {
        for (s, ok) in [
            ("¥1,234.50", true),
            ("-￥12", true),
            ("￥-12", true),
            ("+0.5", true),
            ("1e5", false),
            (".5", false),
            ("5.", false),
            ("1,2345", false),
            ("=1+1", false),
            ("123456789012345678901234567890", false),
        ] {
            assert_eq!(checks::money_reference(s).is_some(), ok, "{s}");
            assert_eq!(
                contrib_recon::parse::parse_money(s),
                checks::money_reference(s),
                "{s}"
            );
        }
    }
}

mod bad_inputs {
    //! One test per case of `tests/bad/`: the case's files are copied into
    //! a drop folder beside the good `tests/bad/_base/` files and the
    //! binary runs over it. Expected outcomes: tests/bad/README.md.
    use super::*;

    struct Outcome {
        code: i32,
        output: Output,
        rejects: Vec<(String, u64, String, String)>,
        summary: Value,
        /// Where outputs went: OUT_DIR, or OUT_DIR/failed for a failed run.
        out: PathBuf,
        _tmp: tempfile::TempDir,
    }

    impl Outcome {
        fn stderr_line(&self) -> String {
            one_stderr_line(&self.output)
        }
        fn reasons(&self, file: &str) -> Vec<(u64, &str)> {
            self.rejects
                .iter()
                .filter(|r| r.0 == file)
                .map(|r| (r.1, r.2.as_str()))
                .collect()
        }
        fn input(&self, file: &str) -> &Value {
            self.summary["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["path"] == file)
                .unwrap_or_else(|| panic!("{file} not in summary inputs"))
        }
        /// (rows_read, accepted, rejected) of one input file.
        fn counts(&self, file: &str) -> (u64, u64, u64) {
            let i = self.input(file);
            (
                i["rows_read"].as_u64().unwrap(),
                i["accepted"].as_u64().unwrap(),
                i["rejected"].as_u64().unwrap(),
            )
        }
        fn ledger(&self) -> Vec<Vec<String>> {
            csv_rows(&self.out.join("ledger.csv"))
        }
    }

    fn csv_rows(p: &Path) -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_path(p).unwrap();
        r.records()
            .map(|x| x.unwrap().iter().map(str::to_string).collect())
            .collect()
    }

    fn run_case(case: &str, extra: &[(&str, Vec<u8>)]) -> Outcome {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("in");
        std::fs::create_dir(&input).unwrap();
        let bad = manifest_dir().join("tests/bad");
        for dir in [bad.join("_base"), bad.join(case)] {
            if let Ok(entries) = std::fs::read_dir(&dir) {
                for e in entries {
                    let p = e.unwrap().path();
                    if p.extension().is_some_and(|x| x == "csv") {
                        std::fs::copy(&p, input.join(p.file_name().unwrap())).unwrap();
                    }
                }
            }
        }
        for (name, bytes) in extra {
            std::fs::write(input.join(name), bytes).unwrap();
        }
        let out_dir = tmp.path().join("out");
        let output = Command::new(BIN)
            .args([
                "run",
                "in",
                "--out",
                "out",
                "--as-of",
                "2024-01-20",
                "--through",
                "2023-12",
                "--quiet",
                "--threads",
                "2",
            ])
            .current_dir(tmp.path())
            .output()
            .unwrap();
        let code = output.status.code().expect("exited normally");
        let out = if code == 0 {
            out_dir.clone()
        } else {
            out_dir.join("failed")
        };
        let summary: Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        let rejects = csv_rows(&out.join("rejects.csv"))
            .into_iter()
            .map(|r| {
                (
                    r[0].clone(),
                    r[1].parse().unwrap(),
                    r[2].clone(),
                    r[3].clone(),
                )
            })
            .collect();
        if code == 0 {
            assert!(
                output.stderr.is_empty(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            assert!(out_dir.join("_SUCCESS").is_file());
            assert_eq!(summary["control"]["rows_balanced"], true);
            assert_eq!(summary["control"]["money_balanced"], true);
        } else {
            assert_eq!(summary["status"], "failed");
            assert!(
                !out_dir.join("_SUCCESS").exists(),
                "a failed first run publishes no outputs"
            );
        }
        Outcome {
            code,
            output,
            rejects,
            summary,
            out,
            _tmp: tmp,
        }
    }

    #[test]
    fn empty_file_is_fatal() {
        let o = run_case("empty_file", &[]);
        assert_eq!(o.code, 3);
        assert_eq!(
            o.stderr_line(),
            "contrib-recon: payments_empty.csv: line 1: file is empty: no header row"
        );
        assert!(o.summary["reason"]
            .as_str()
            .unwrap()
            .contains("payments_empty.csv"));
    }

    #[test]
    fn header_only_file_is_zero_rows() {
        let o = run_case("header_only", &[]);
        assert_eq!(o.code, 0);
        assert_eq!(o.counts("payments_header_only.csv"), (0, 0, 0));
        assert!(o.rejects.is_empty());
    }

    #[test]
    fn unterminated_quote_at_eof_is_one_field_count_reject() {
        let o = run_case("truncated_quote", &[]);
        assert_eq!(o.code, 0);
        assert_eq!(o.reasons("payments_truncated.csv"), [(3, "field_count")]);
        // The raw text is the rest of the file as read, quote included.
        assert_eq!(
            o.rejects[0].3,
            "T2,P1,E1,pension,2023-03,,\"800.00,400.00,,"
        );
        assert_eq!(o.counts("payments_truncated.csv"), (2, 1, 1));
    }

    #[test]
    fn binary_garbage_is_fatal_naming_the_file() {
        let o = run_case("binary_garbage", &[]);
        assert_eq!(o.code, 3);
        // Not valid UTF-8 ⇒ read as GB18030, whose decoding fails in the
        // header (any header that decodes would miss required columns).
        assert_eq!(
            o.stderr_line(),
            "contrib-recon: payments_garbage.csv: line 1: header row does not decode as gb18030"
        );
    }

    #[test]
    fn nul_bytes() {
        let o = run_case("nul_bytes", &[]);
        assert_eq!(o.code, 0);
        // NUL is valid UTF-8: it is data. In an amount it is bad_amount; a
        // line of NULs is one field (field_count); in an id it is kept
        // verbatim (the row is accepted, the id carries the NUL).
        assert_eq!(
            o.reasons("payments_nul.csv"),
            [(3, "bad_amount"), (4, "field_count")]
        );
        assert_eq!(o.counts("payments_nul.csv"), (4, 2, 2));
        assert!(o.ledger().iter().any(|r| r[0] == "P\u{0}1"));
    }

    #[test]
    fn wrong_delimiter_is_a_missing_column() {
        let o = run_case("wrong_delimiter", &[]);
        assert_eq!(o.code, 3);
        assert_eq!(
            o.stderr_line(),
            "contrib-recon: payments_semicolon.csv: line 1: required column 'person_id' is missing from the header"
        );
    }

    #[test]
    fn mixed_encodings_read_the_whole_file_as_gb18030() {
        let o = run_case("mixed_encoding", &[]);
        assert_eq!(o.code, 0);
        assert_eq!(o.input("payments_mixed.csv")["encoding"], "gb18030");
        // ASCII-only UTF-8 rows (M1) and the GB18030 rows (M5, M6) are
        // accepted; UTF-8 rows with Chinese text turn to mojibake: bytes
        // GB18030 cannot decode (M2, M3) or a value no code matches (M4).
        assert_eq!(
            o.reasons("payments_mixed.csv"),
            [
                (3, "decode_error"),
                (4, "decode_error"),
                (5, "unknown_kind")
            ]
        );
        assert!(o.rejects[0].3.contains('\u{FFFD}'));
        assert_eq!(o.counts("payments_mixed.csv"), (6, 3, 3));
        let ledger = o.ledger();
        let months: Vec<&str> = ledger
            .iter()
            .filter(|r| r[0] == "P1" && r[8] != "0.00")
            .map(|r| r[2].as_str())
            .collect();
        // 2023-01 from the base file, M1 = 2023-02, M5 = 2023-06 (GB18030 `2023年6月`).
        assert_eq!(months, ["2023-01", "2023-02", "2023-06"]);
    }

    #[test]
    fn fields_of_100000_characters() {
        let head = "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind,note\n";
        let mut f = String::from(head);
        f += &format!(
            "L1,{},E1,pension,2023-02,,800.00,400.00,,,\n",
            "P".repeat(100_000)
        );
        f += &format!(
            "L2,P1,E1,pension,2023-03,,{},400.00,,,\n",
            "1".repeat(100_000)
        );
        // A quoted note of 100,000 characters spanning three lines.
        f += &format!(
            "L3,P1,E1,pension,2023-04,,800.00,400.00,,,\"{}\n{}\n\"\n",
            "x".repeat(49_999),
            "y".repeat(49_999)
        );
        f += "L4,P1,E1,pension,2023-05,,800.00,400.00,,,\n";
        f += "L5,P1,E1,pension,2023-06,,oops,400.00,,,\n";
        let o = run_case("long_field", &[("payments_long.csv", f.into_bytes())]);
        assert_eq!(o.code, 0);
        // Line numbers stay physical after the three-line record.
        assert_eq!(
            o.reasons("payments_long.csv"),
            [(3, "bad_amount"), (8, "bad_amount")]
        );
        assert_eq!(o.counts("payments_long.csv"), (5, 3, 2));
        assert_eq!(
            o.rejects[0].3.len(),
            "L2,P1,E1,pension,2023-03,,,400.00,,,".len() + 100_000
        );
        let ledger = o.ledger();
        assert!(ledger
            .iter()
            .any(|r| r[0].len() == 100_000 && r[4] == "unmatched"));
        let paid: Vec<&str> = ledger
            .iter()
            .filter(|r| r[0] == "P1" && r[8] != "0.00")
            .map(|r| r[2].as_str())
            .collect();
        assert_eq!(paid, ["2023-01", "2023-04", "2023-05"]);
    }

    #[test]
    fn excel_formulas_are_bad_amounts() {
        let o = run_case("excel_formula", &[]);
        assert_eq!(o.code, 0);
        assert_eq!(
            o.reasons("payments_formula.csv"),
            [(2, "bad_amount"), (3, "bad_amount"), (4, "bad_amount")]
        );
        assert_eq!(
            o.rejects[1].3,
            "F2,P1,E1,pension,2023-03,,800.00,\"=SUM(A1:A2)\",,"
        );
    }

    #[test]
    fn year_9999_is_a_bad_period() {
        let o = run_case("year_9999", &[]);
        assert_eq!(o.code, 0);
        assert_eq!(
            o.reasons("payments_9999.csv"),
            [(2, "bad_period"), (3, "bad_period"), (4, "bad_period")]
        );
        assert_eq!(o.reasons("events_9999.csv"), [(2, "bad_period")]);
        // A year-9999 `paid_on` is in a field the reconciliation never
        // uses: the row stands (SPEC §7).
        assert_eq!(o.counts("payments_9999.csv"), (4, 1, 3));
    }

    #[test]
    fn thirty_digit_amounts_are_bad_amounts() {
        let o = run_case("thirty_digits", &[]);
        assert_eq!(o.code, 0);
        // 30 digits before or after the point, and 16 before it, exceed
        // the 15/10 digit limits; 15 digits with separators are fine.
        assert_eq!(
            o.reasons("payments_30digits.csv"),
            [(2, "bad_amount"), (3, "bad_amount"), (4, "bad_amount")]
        );
        assert_eq!(
            o.summary["money"]["payments_accepted_net"],
            "1000000000001199.99"
        );
    }

    #[test]
    fn duplicate_header_names_first_wins() {
        let o = run_case("duplicate_header", &[]);
        assert_eq!(o.code, 0);
        assert!(o.rejects.is_empty());
        // employer_amount, person_id and period come from the first cells;
        // the later `单位缴费`, `AAC001` and `period` cells are ignored.
        let row: Vec<Vec<String>> = o
            .ledger()
            .into_iter()
            .filter(|r| r[2] == "2023-02")
            .collect();
        assert_eq!(row.len(), 1);
        assert_eq!(
            (row[0][0].as_str(), row[0][8].as_str(), row[0][9].as_str()),
            ("P1", "800.00", "400.00")
        );
    }

    #[test]
    fn bom_in_the_middle_of_a_file() {
        let o = run_case("bom_mid_file", &[]);
        assert_eq!(o.code, 0);
        // Two exports concatenated: the second header (BOM first) is a
        // data row and is rejected; a BOM before a row is trimmed from its
        // first value, so `\u{feff}B2` is B2 and its repeat a duplicate; a
        // BOM inside an amount makes it bad.
        assert_eq!(
            o.reasons("payments_bom_mid.csv"),
            [
                (3, "unknown_insurance"),
                (5, "duplicate_row"),
                (6, "bad_amount")
            ]
        );
        assert!(o.rejects[0].3.starts_with("\u{feff}payment_id,"));
        assert_eq!(o.counts("payments_bom_mid.csv"), (5, 2, 3));
    }
}

#[cfg(target_os = "linux")]
mod crash_safety {
    //! SIGKILL at many moments of a run over a generated input of a few
    //! hundred thousand payment rows.
    use super::*;
    use std::io::{BufRead, BufReader, BufWriter, Write};
    use std::process::{Child, Stdio};
    use std::time::{Duration, Instant};

    /// Payment rows of the big input (fewer in debug builds, where the
    /// same work takes ten times longer).
    const PERSONS: usize = if cfg!(debug_assertions) {
        3_000
    } else {
        16_000
    };
    const MONTHS: u32 = 24;

    fn write_big_input(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let mut e = BufWriter::new(std::fs::File::create(dir.join("employers.csv")).unwrap());
        writeln!(
            e,
            "employer_id,name,credit_code,status,status_date,region,archive_transferred"
        )
        .unwrap();
        for k in 0..50 {
            let status = if k % 10 == 9 {
                "bankrupt,2023-06-15"
            } else {
                "active,"
            };
            writeln!(e, "E{k:03},Employer {k},,{status},110101,no").unwrap();
        }
        e.flush().unwrap();
        let mut v = BufWriter::new(std::fs::File::create(dir.join("events.csv")).unwrap());
        writeln!(
            v,
            "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason"
        )
        .unwrap();
        let mut p = BufWriter::new(std::fs::File::create(dir.join("payments.csv")).unwrap());
        writeln!(p, "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind").unwrap();
        let mut id = 0u64;
        for n in 0..PERSONS {
            let emp = n % 50;
            writeln!(v, "V{n},P{n:07},,,E{emp:03},pension,increase,2022-01,5000,").unwrap();
            for m in 0..MONTHS {
                if (n + m as usize) % 17 == 0 {
                    continue; // arrears now and then
                }
                id += 1;
                let (y, mo) = (2022 + m / 12, m % 12 + 1);
                let amount = if (n + m as usize) % 13 == 0 {
                    "700.00"
                } else {
                    "800.00"
                };
                writeln!(
                    p,
                    "Y{id},P{n:07},E{emp:03},pension,{y}-{mo:02},5000,{amount},400.00,,"
                )
                .unwrap();
            }
        }
        v.flush().unwrap();
        p.flush().unwrap();
    }

    fn write_small_input(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for f in ["employers.csv", "events.csv", "payments.csv"] {
            std::fs::copy(manifest_dir().join("tests/bad/_base").join(f), dir.join(f)).unwrap();
        }
    }

    fn command(input: &Path, out: &Path, extra: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("run")
            .arg(input)
            .arg("--out")
            .arg(out)
            .args([
                "--as-of",
                "2024-01-20",
                "--through",
                "2023-12",
                "--no-report",
                "--quiet",
                "--log-format",
                "json",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// The files of an output folder; `summary.json` without the one value
    /// that changes between runs (`elapsed_seconds`).
    fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut m = BTreeMap::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                e.file_type().unwrap().is_file(),
                "unexpected entry {name} in {}",
                dir.display()
            );
            let mut bytes = std::fs::read(e.path()).unwrap();
            if name == "summary.json" {
                let mut v: Value = serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                    panic!("summary.json in {} does not parse: {err}", dir.display())
                });
                v.as_object_mut().unwrap().remove("elapsed_seconds");
                bytes = serde_json::to_vec(&v).unwrap();
            }
            m.insert(name, bytes);
        }
        m
    }

    fn leftovers(parent: &Path, name: &str) -> Vec<String> {
        std::fs::read_dir(parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&format!(".{name}.")))
            .collect()
    }

    /// Spawns a run and a thread that forwards its JSON stage names.
    fn spawn(
        input: &Path,
        out: &Path,
        extra: &[&str],
    ) -> (Child, std::sync::mpsc::Receiver<String>) {
        let mut child = command(input, out, extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if let Some(s) = v["stage"].as_str() {
                        let _ = tx.send(s.to_string());
                    }
                }
            }
        });
        (child, rx)
    }

    /// A memory limit far below the big input: the run spills.
    const SPILL: &[&str] = &["--memory-limit", "2M"];

    #[derive(Debug, Clone, Copy)]
    enum Moment {
        /// This long after the start.
        After(Duration),
        /// This long after the named stage was logged.
        AfterStage(&'static str, Duration),
    }

    #[test]
    fn sigkill_at_any_moment_leaves_old_or_new_outputs_never_a_mix() {
        let started = Instant::now();
        let tmp = tempfile::tempdir().unwrap();
        let (big, small) = (tmp.path().join("big"), tmp.path().join("small"));
        write_big_input(&big);
        write_small_input(&small);
        let parent = tmp.path().join("outputs");
        std::fs::create_dir(&parent).unwrap();

        // Reference outputs of the big run, and its duration.
        // (Twice: the first run pays for a cold page cache.)
        let reference = parent.join("reference");
        let mut full = Duration::MAX;
        for _ in 0..2 {
            let t0 = Instant::now();
            assert!(command(&big, &reference, &[]).status().unwrap().success());
            full = full.min(t0.elapsed());
        }
        let new_set = snapshot(&reference);
        std::fs::remove_dir_all(&reference).unwrap();

        let out = parent.join("out");
        assert!(command(&small, &out, &[]).status().unwrap().success());
        let old_set = snapshot(&out);
        assert_ne!(old_set, new_set);

        // While reading, reconciling and writing; around publication (the
        // `persons_reconciled` stage is logged just before the last files
        // are finished, summary.json, `_SUCCESS` and the two renames); and
        // after the run would have ended.
        let mut moments: Vec<(Moment, &[&str])> = [0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.05, 1.5]
            .iter()
            .map(|f| (Moment::After(full.mul_f64(*f)), &[][..]))
            .collect();
        moments.push((Moment::AfterStage("files_read", Duration::ZERO), &[]));
        for ms in [0, 5, 15, 30, 45, 60, 90] {
            moments.push((
                Moment::AfterStage("persons_reconciled", Duration::from_millis(ms)),
                &[],
            ));
        }
        // The out-of-core path (spill partitions) publishes the same way.
        for f in [0.3, 0.8] {
            moments.push((Moment::After(full.mul_f64(f)), SPILL));
        }
        let mut seen = BTreeMap::<&str, u32>::new();
        for (m, extra) in moments {
            let (mut child, stages) = spawn(&big, &out, extra);
            let t = Instant::now();
            match m {
                Moment::After(d) => std::thread::sleep(d),
                Moment::AfterStage(stage, d) => {
                    while let Ok(s) = stages.recv_timeout(full * 3) {
                        if s == stage {
                            break;
                        }
                    }
                    std::thread::sleep(d);
                }
            }
            let _ = child.kill(); // SIGKILL
            let status = child.wait().unwrap();
            let killed_at = t.elapsed();

            // Right after the kill: the previous set, the new set, or nothing.
            let state = if !out.exists() {
                // Only between the two renames: the previous set waits in
                // `.out.old-PID`, complete.
                let olds: Vec<String> = leftovers(&parent, "out")
                    .into_iter()
                    .filter(|n| n.starts_with(".out.old-"))
                    .collect();
                assert_eq!(
                    olds.len(),
                    1,
                    "{m:?}: OUT_DIR missing and no previous set beside it"
                );
                assert_eq!(snapshot(&parent.join(&olds[0])), old_set, "{m:?}");
                "none"
            } else {
                let now = snapshot(&out);
                if now == old_set {
                    "old"
                } else if now == new_set {
                    "new"
                } else {
                    let names: Vec<&String> = now.keys().collect();
                    panic!("{m:?} {extra:?} (killed after {killed_at:?}, {status}): OUT_DIR holds a mix: {names:?}");
                }
            };
            *seen.entry(state).or_default() += 1;

            // The next run succeeds and leaves nothing behind.
            let st = command(&small, &out, &[]).status().unwrap();
            assert!(st.success(), "{m:?}: the run after the kill failed");
            assert_eq!(snapshot(&out), old_set, "{m:?}");
            assert_eq!(leftovers(&parent, "out"), Vec::<String>::new(), "{m:?}");
        }
        eprintln!(
            "crash_safety: full run {full:?}; states after SIGKILL: {seen:?}; test took {:?}",
            started.elapsed()
        );
        assert!(
            seen.get("old").copied().unwrap_or(0) >= 3,
            "kills never landed before publishing: {seen:?}"
        );
    }

    /// A run that spills (`--memory-limit` below the input) keeps its spill
    /// files — a copy of every valid event and payment, personal data — in
    /// `.contrib-recon-spill-XXXXXX` under `--temp-dir` (default: OUT_DIR's
    /// parent). A SIGKILL leaves that folder behind; the next run removes
    /// it. Regression: nothing ever removed it (fixed in b736e09).
    #[test]
    fn sigkill_while_spilling_leaves_no_spill_folder_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let (big, small) = (tmp.path().join("big"), tmp.path().join("small"));
        write_big_input(&big);
        write_small_input(&small);
        let parent = tmp.path().join("outputs");
        std::fs::create_dir(&parent).unwrap();
        let out = parent.join("out");
        let (mut child, stages) = spawn(&big, &out, SPILL);
        while let Ok(s) = stages.recv_timeout(Duration::from_secs(30)) {
            if s == "plan" || s == "start" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
        let _ = child.kill();
        child.wait().unwrap();
        assert!(command(&small, &out, SPILL).status().unwrap().success());
        let spills: Vec<String> = std::fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".contrib-recon-spill-"))
            .collect();
        assert_eq!(
            spills,
            Vec::<String>::new(),
            "spill folders of the killed run are still there"
        );
    }

    /// The spill folder is private (0700): it holds a copy of every event
    /// and payment (ids, amounts). Regression: it was created with the
    /// default mode (0755 under umask 022) (fixed in b736e09).
    #[cfg(unix)]
    #[test]
    fn spill_folder_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big");
        write_big_input(&big);
        let parent = tmp.path().join("outputs");
        std::fs::create_dir(&parent).unwrap();
        let (mut child, _stages) = spawn(&big, &parent.join("out"), SPILL);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut mode = None;
        while mode.is_none() && Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            for e in std::fs::read_dir(&parent).unwrap().flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(".contrib-recon-spill-")
                {
                    if let Ok(m) = e.metadata() {
                        mode = Some(m.permissions().mode() & 0o777);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill();
        let _ = child.wait();
        let mode = mode.expect("the run spilled");
        assert_eq!(mode & 0o077, 0, "spill folder mode {mode:o}");
    }
}
