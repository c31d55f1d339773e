//! The out-of-core path: a run over more input than `--memory-limit`
//! spills to partitions and gives byte-identical outputs, and leaves no
//! spill files behind (also when it fails).

mod common;
use common::{snapshot, without_elapsed, Workdir};
use std::path::Path;

fn conformance_in() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/conformance/in")
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".contrib-recon-spill-"))
        .collect()
}

/// The outputs of an in-memory run (`mem`) and a spilled run (`spill`)
/// are the same files with the same bytes (summary.json but its timing).
fn assert_same_outputs(mem: &Path, spill: &Path) {
    let mut a = snapshot(mem);
    let mut b = snapshot(spill);
    let sa = without_elapsed(serde_json::from_slice(&a.remove("summary.json").unwrap()).unwrap());
    let sb = without_elapsed(serde_json::from_slice(&b.remove("summary.json").unwrap()).unwrap());
    assert_eq!(sa, sb);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (k, v) in &a {
        assert!(
            b[k] == *v,
            "{k} differs between the in-memory and the spilled run"
        );
    }
}

#[test]
fn spilled_run_equals_in_memory_run() {
    let w = Workdir::new();
    let input = conformance_in();
    let input = input.to_str().unwrap();
    let args = |out: &str, extra: &[&'static str]| {
        let mut a = vec![
            "run",
            input,
            "--out",
            out,
            "--as-of",
            "2026-11-20",
            "--through",
            "2026-10",
            "--quiet",
            "--log-format",
            "json",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let mem = w
        .cmd(
            &args("mem", &[])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .assert()
        .success();
    let log = String::from_utf8_lossy(&mem.get_output().stderr).into_owned();
    assert!(log.contains("\"spill_partitions\":null"), "{log}");
    let spill = w
        .cmd(
            &args("spill", &["--memory-limit", "2M", "--temp-dir", "tmp"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .assert()
        .success();
    let log = String::from_utf8_lossy(&spill.get_output().stderr).into_owned();
    assert!(!log.contains("\"spill_partitions\":null"), "{log}");
    assert_same_outputs(&w.path("mem"), &w.path("spill"));
    assert!(leftovers(&w.path("tmp")).is_empty(), "spill folder removed");
}

#[test]
fn spill_files_are_removed_when_the_run_fails() {
    let w = Workdir::new();
    w.basics();
    w.input("events.csv", "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\nV1,P1,,,E1,pension,increase,2023-01,5000,\nV2,P1,,,E1,pension,increase,2023-99,5000,\n");
    w.input("payments.csv", "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n");
    std::fs::create_dir(w.path("tmp")).unwrap();
    w.run(&[
        "--memory-limit",
        "100",
        "--temp-dir",
        "tmp",
        "--max-reject-rate",
        "0",
    ])
    .code(5);
    assert!(leftovers(&w.path("tmp")).is_empty());
}

/// Regression: a refund of a zero personal share makes that share a
/// negative zero in memory; a make-up detail then printed `-0.00` when the
/// rows stayed in memory and `0.00` when they went through a spill file.
/// Details now format money like the money columns.
#[test]
fn zero_principal_reads_the_same_in_memory_and_spilled() {
    let w = Workdir::new();
    w.input(
        "employers.csv",
        "employer_id,name,credit_code,status,status_date,region,archive_transferred\n\
         E2,乙公司,,dissolved,2023-11-19,230103,\n",
    );
    w.input(
        "rates.csv",
        "region,insurance,from,to,employer_rate,individual_rate,base_floor,base_ceiling\n\
         *,injury,2022-01,2022-12,0.004,0,3375.00,16878.00\n",
    );
    w.input(
        "events.csv",
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n\
         V1,P1,,,E2,injury,increase,2022-01,4089.00,\n",
    );
    w.input(
        "payments.csv",
        "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n\
         Y1,P1,E2,injury,2022-01,4089.00,12.59,0.00,2022-02-15,\n\
         Y2,P1,E2,injury,2022-02,4089.00,12.00,0.00,2022-03-15,\n\
         Y3,P1,E2,injury,2022-02,4089.00,5.00,0.00,2022-03-16,\n\
         Y4,P1,E2,injury,2022-02,4089.00,5.00,0.00,2022-04-08,refund\n",
    );
    let args = |out: &'static str| {
        vec![
            "run",
            "in",
            "--out",
            out,
            "--as-of",
            "2022-11-20",
            "--through",
            "2022-02",
            "--quiet",
            "--temp-dir",
            "tmp",
        ]
    };
    w.cmd(&args("out")).assert().success();
    let mut spill = args("spill");
    spill.extend(["--memory-limit", "1K"]);
    w.cmd(&spill).assert().success();
    let mem = w.read("out/exceptions.csv");
    assert!(mem.contains("2 month(s) unpaid"), "{mem}");
    assert!(mem.contains("personal account 0.00)"), "{mem}");
    assert!(!mem.contains("-0.00"), "{mem}");
    assert_eq!(mem, w.read("spill/exceptions.csv"));
}

/// `--threads 1` runs on one thread: the reader, the SHA-256 and the
/// read-back of spilled partitions stay on it instead of threads of their
/// own. Same outputs, figures and digests as a two-thread run, in memory
/// and spilled, also for an input past the size at which the digest moves
/// to a thread (1 MiB).
#[test]
fn one_thread_runs_equal_two_thread_runs() {
    let w = Workdir::new();
    let mut payments = String::from(
        "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n",
    );
    // 167 persons, ten years of monthly pension payments each.
    for i in 0..20_000u32 {
        let (p, m) = (i / 120, i % 120);
        payments.push_str(&format!(
            "Y{i},P{p},E1,pension,{}-{:02},4000.00,640.00,320.00,,\n",
            2014 + m / 12,
            1 + m % 12
        ));
    }
    w.input(
        "employers.csv",
        "employer_id,name,credit_code,status,status_date,region,archive_transferred\n\
         E1,甲公司,,active,2020-01-01,230103,\n",
    );
    w.input(
        "events.csv",
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n\
         V1,P1,,,E1,pension,increase,2023-01,4000.00,\n",
    );
    w.input("payments.csv", &payments);
    let run = |out: &str, extra: &[&str]| {
        let mut a = vec![
            "run",
            "in",
            "--out",
            out,
            "--as-of",
            "2024-01-20",
            "--through",
            "2023-12",
            "--quiet",
            "--temp-dir",
            "tmp",
        ];
        a.extend_from_slice(extra);
        w.cmd(&a).assert().success();
        let mut files = snapshot(&w.path(out));
        let mut summary: serde_json::Value = without_elapsed(
            serde_json::from_slice(&files.remove("summary.json").unwrap()).unwrap(),
        );
        summary["options"]
            .as_object_mut()
            .map(|o| o.remove("threads"));
        (files, summary)
    };
    let two = run("two", &["--threads", "2"]);
    assert!(std::fs::metadata(w.path("in/payments.csv")).unwrap().len() > 1 << 20);
    for (out, extra) in [
        ("one", &["--threads", "1"][..]),
        (
            "one-spilled",
            &["--threads", "1", "--memory-limit", "64K"][..],
        ),
        (
            "two-spilled",
            &["--threads", "2", "--memory-limit", "64K"][..],
        ),
    ] {
        let got = run(out, extra);
        assert_eq!(got.1, two.1, "{out}: summary");
        assert_eq!(got.0, two.0, "{out}: outputs");
    }
    assert!(leftovers(&w.path("tmp")).is_empty(), "spill folder removed");
}

/// A legacy folder in GB18030 (Chinese names and reasons; the spill's
/// person-id sample decodes the header and lines itself) spilled to many
/// partitions gives the outputs of its in-memory run.
#[test]
fn gb18030_folder_spilled_equals_in_memory() {
    let w = Workdir::new();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/in");
    for e in std::fs::read_dir(&demo).unwrap().flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap();
        let (bytes, _, bad) = encoding_rs::GB18030.encode(&text);
        assert!(!bad);
        w.input(&e.file_name().to_string_lossy(), &*bytes);
    }
    let args = |out: &'static str, extra: &[&'static str]| {
        let mut a = vec![
            "run",
            "in",
            "--out",
            out,
            "--as-of",
            "2026-11-20",
            "--through",
            "2026-10",
            "--quiet",
            "--log-format",
            "json",
            "--temp-dir",
            "tmp",
        ];
        a.extend_from_slice(extra);
        a
    };
    w.cmd(&args("mem", &[])).assert().success();
    let spill = w
        .cmd(&args("spill", &["--memory-limit", "2K"]))
        .assert()
        .success();
    let log = String::from_utf8_lossy(&spill.get_output().stderr).into_owned();
    let parts = serde_json::from_str::<serde_json::Value>(
        log.lines().find(|l| l.contains("rows_spilled")).unwrap(),
    )
    .unwrap()["partitions"]
        .as_u64()
        .unwrap();
    assert!(parts > 4, "the sample splits the persons: {log}");
    assert_same_outputs(&w.path("mem"), &w.path("spill"));
    assert!(leftovers(&w.path("tmp")).is_empty(), "spill folder removed");
}
