//! Black-box ingest tests: encodings, dialects, headers, every reject
//! reason, row accounting and failed runs (SPEC §1–2, §7).

mod common;
use common::{snapshot, without_elapsed, Workdir};

const EV_HEAD: &str =
    "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n";
const PY_HEAD: &str = "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n";

fn rejects(w: &Workdir) -> Vec<(String, String, String)> {
    w.rows("out/rejects.csv")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
        .collect()
}

#[test]
fn gb18030_file_with_chinese_headers() {
    let w = Workdir::new();
    w.basics();
    w.input(
        "events.csv",
        format!("{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\n"),
    );
    let text = "缴费流水号,个人编号,单位编号,险种,对应费款所属期,缴费基数,单位缴费,个人缴费,到账日期,缴费类型\r\n\
                X1,P1,E1,养老,2023年1月,5000,\u{a5}800.00,￥400.00,2023年2月15日,正常\r\n";
    let (bytes, _, bad) = encoding_rs::GB18030.encode(text);
    assert!(!bad);
    w.input("payments.csv", bytes);
    w.run(&[]).success();
    let s = w.summary("out/summary.json");
    let pay = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "payments")
        .unwrap()
        .clone();
    assert_eq!(pay["encoding"], "gb18030");
    assert_eq!(pay["accepted"], 1);
    let ledger = w.rows("out/ledger.csv");
    assert_eq!(ledger[0][4], "paid");
    assert_eq!(ledger[0][8], "800.00");
}

#[test]
fn crlf_quoted_newlines_blank_lines_and_line_numbers() {
    let w = Workdir::new();
    w.basics();
    w.input(
        "events.csv",
        "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\r\n\
         V1,P1,,,E1,pension,increase,2023-01,5000,\"new,\r\nhire \"\"A\"\"\"\r\n\
         \r\n\
         V2,P1,,,E1,pension,bogus,2023-01,5000,x\r\n",
    );
    w.input("payments.csv", PY_HEAD);
    w.run(&[]).success();
    // V1 spans lines 2–3, a blank line 4, V2 on line 5.
    assert_eq!(
        rejects(&w),
        vec![("events.csv".into(), "5".into(), "unknown_action".into())]
    );
    let raw = &w.rows("out/rejects.csv")[0][3];
    assert_eq!(raw, "V2,P1,,,E1,pension,bogus,2023-01,5000,x");
}

#[test]
fn a_file_split_in_three_reads_as_one_table() {
    let rows: Vec<String> = (1..=9)
        .map(|m| format!("X{m},P1,E1,pension,2023-{m:02},5000,800,400,,\n"))
        .collect();
    let one = Workdir::new();
    one.basics();
    one.input(
        "events.csv",
        format!("{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\n"),
    );
    one.input("payments.csv", format!("{PY_HEAD}{}", rows.concat()));
    one.run(&[]).success();
    let three = Workdir::new();
    three.basics();
    three.input(
        "events.csv",
        format!("{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\n"),
    );
    for (i, part) in rows.chunks(3).enumerate() {
        three.input(
            &format!("Payments_part{i}.csv"),
            format!("{PY_HEAD}{}", part.concat()),
        );
    }
    three.run(&[]).success();
    for f in ["ledger.csv", "persons.csv", "pooling.csv", "exceptions.csv"] {
        assert_eq!(
            one.read(&format!("out/{f}")),
            three.read(&format!("out/{f}")),
            "{f}"
        );
    }
    let s = three.summary("out/summary.json");
    assert_eq!(s["inputs"].as_array().unwrap().len(), 6);
}

#[test]
fn every_reject_reason_with_file_and_line() {
    let w = Workdir::new();
    w.input(
        "employers.csv",
        "employer_id,name,credit_code,status,status_date,region,archive_transferred\n\
         E1,a,,active,,440305,\n\
         E1,a,,active,,440305,\n\
         E2,b,,closed,,,\n\
         E3,c,,bankrupt,,,\n\
         E4,d,,active,2023-02-30,,\n\
         E5,e,,active,,,maybe\n\
         E6,f,,active,2020-01-01,,\n\
         E6,f2,,active,2021-01-01,,\n",
    );
    w.input(
        "events.csv",
        format!(
            "{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\n\
             V1,P1,,,E1,pension,increase,2023-01,5000,\n\
             V1,P1,,,E1,pension,increase,2023-02,5000,\n\
             V2,P1,,,E1,health,increase,2023-01,5000,\n\
             V3,P1,,,E1,pension,resume,2023-01,5000,\n\
             V4,P1,,,E1,pension,increase,2023-13,5000,\n\
             V5,P1,,,E1,pension,increase,2023-01,=1+1,\n\
             V6,,,,E1,pension,increase,2023-01,5000,\n\
             V7,P1,,,E1,pension\n"
        ),
    );
    w.input(
        "payments.csv",
        format!(
            "{PY_HEAD},P1,E1,pension,2023-01,,800,400,,\n\
             ,P1,E1,pension,202301,,800.00,400,,\n\
             X2,P1,E1,pension,2023-01,,800,400,,99\n"
        ),
    );
    let mut bad = PY_HEAD.as_bytes().to_vec();
    bad.extend_from_slice(b"X3,P1,E1,pension,2023-01,,800,400,,\xff\xfe\n");
    w.input("events_zz.csv", EV_HEAD);
    w.input(
        "payments_utf8bom.csv",
        [b"\xEF\xBB\xBF".as_slice(), &bad].concat(),
    );
    w.input("rates.csv", "region,insurance,from,to,employer_rate,individual_rate,base_floor,base_ceiling\n*,pension,2000-01,,0.16,0.08,,\n");
    w.run(&[]).success();
    let got = rejects(&w);
    let want: Vec<(&str, &str, &str)> = vec![
        ("employers.csv", "3", "duplicate_row"),
        ("employers.csv", "4", "unknown_status"),
        ("employers.csv", "5", "missing_field"),
        ("employers.csv", "6", "bad_date"),
        ("employers.csv", "7", "unknown_code"),
        ("employers.csv", "8", "superseded"),
        ("events.csv", "3", "duplicate_row"),
        ("events.csv", "4", "conflicting_duplicate"),
        ("events.csv", "5", "unknown_insurance"),
        ("events.csv", "6", "unknown_action"),
        ("events.csv", "7", "bad_period"),
        ("events.csv", "8", "bad_amount"),
        ("events.csv", "9", "missing_field"),
        ("events.csv", "10", "field_count"),
        ("payments.csv", "3", "duplicate_row"),
        ("payments.csv", "4", "unknown_kind"),
        ("payments_utf8bom.csv", "2", "decode_error"),
    ];
    let want: Vec<(String, String, String)> = want
        .into_iter()
        .map(|(a, b, c)| (a.into(), b.into(), c.into()))
        .collect();
    assert_eq!(got, want);
    let s = w.summary("out/summary.json");
    for i in s["inputs"].as_array().unwrap() {
        assert_eq!(
            i["rows_read"].as_u64().unwrap(),
            i["accepted"].as_u64().unwrap() + i["rejected"].as_u64().unwrap(),
            "{i}"
        );
    }
    assert_eq!(s["control"]["rows_balanced"], true);
    // The raw text of an undecodable row shows U+FFFD.
    let raw = w.rows("out/rejects.csv").last().unwrap()[3].clone();
    assert!(raw.ends_with("\u{FFFD}\u{FFFD}"), "{raw}");
}

#[test]
fn missing_column_fails_and_keeps_previous_outputs() {
    let w = Workdir::new();
    w.basics();
    w.input(
        "events.csv",
        format!("{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\n"),
    );
    w.input("payments.csv", PY_HEAD);
    w.run(&[]).success();
    let before = snapshot(&w.path("out"));
    w.input(
        "payments.csv",
        "payment_id,person_id,employer_id,insurance,period,employer_amount\n",
    );
    let out = w.run(&[]).code(3).get_output().stderr.clone();
    let msg = String::from_utf8_lossy(&out);
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(
        msg.contains("payments.csv") && msg.contains("individual_amount"),
        "{msg}"
    );
    let mut after = snapshot(&w.path("out"));
    let failed: Vec<String> = after
        .keys()
        .filter(|k| k.starts_with("failed/"))
        .cloned()
        .collect();
    assert_eq!(
        failed,
        vec![
            "failed/rejects.csv".to_string(),
            "failed/summary.json".to_string()
        ]
    );
    let s: serde_json::Value = serde_json::from_slice(&after["failed/summary.json"]).unwrap();
    assert_eq!(s["status"], "failed");
    assert!(s["reason"].as_str().unwrap().contains("individual_amount"));
    after.retain(|k, _| !k.starts_with("failed/"));
    assert_eq!(before, after, "previous outputs untouched");
    // A successful run removes failed/.
    w.input("payments.csv", PY_HEAD);
    w.run(&[]).success();
    assert!(!w.path("out/failed").exists());
}

#[test]
fn reject_rate_over_the_limit_fails() {
    let w = Workdir::new();
    w.basics();
    w.input("events.csv", format!("{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\nV2,P1,,,E1,pension,increase,2023-99,5000,\n"));
    w.input("payments.csv", PY_HEAD);
    w.run(&["--max-reject-rate", "0.5"]).success();
    let out = w
        .run(&["--max-reject-rate", "0.1"])
        .code(5)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("reject rate"));
    assert!(w.path("out/failed/summary.json").exists());
    assert!(w.path("out/_SUCCESS").exists(), "previous outputs stay");
}

#[test]
fn output_is_independent_of_threads_and_file_listing_order() {
    let w = Workdir::new();
    w.basics();
    w.input("events.csv", format!("{EV_HEAD}V1,P1,,,E1,pension,increase,2023-01,5000,\nV2,P2,,,,medical,increase,2023-03,4000,\n"));
    w.input(
        "payments_a.csv",
        format!("{PY_HEAD}X1,P1,E1,pension,2023-01,,800,400,,\nX2,P2,,medical,2023-04,,240,80,,\n"),
    );
    w.input(
        "payments_b.csv",
        format!("{PY_HEAD}X1,P1,E1,pension,2023-02,,800,400,,\n"),
    );
    w.cmd(&[
        "run",
        "in",
        "--out",
        "o1",
        "--as-of",
        "2023-11-20",
        "--threads",
        "1",
        "--payments",
        "in/payments_b.csv",
        "--payments",
        "in/payments_a.csv",
    ])
    .assert()
    .success();
    w.cmd(&[
        "run",
        "in",
        "--out",
        "o2",
        "--as-of",
        "2023-11-20",
        "--threads",
        "2",
        "--payments",
        "in/payments_a.csv",
        "--payments",
        "in/payments_b.csv",
    ])
    .assert()
    .success();
    let mut a = snapshot(&w.path("o1"));
    let mut b = snapshot(&w.path("o2"));
    let sa = without_elapsed(serde_json::from_slice(&a.remove("summary.json").unwrap()).unwrap());
    let sb = without_elapsed(serde_json::from_slice(&b.remove("summary.json").unwrap()).unwrap());
    a.remove("report.html");
    b.remove("report.html");
    assert_eq!(a, b);
    assert_eq!(sa, sb);
}
