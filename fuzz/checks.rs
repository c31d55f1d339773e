//! The properties the fuzz targets check, shared with the regression tests.
//!
//! The fuzz targets (`fuzz_targets/*.rs`) and `tests/reliability.rs` both
//! include this file (`#[path]`), so a crashing input found by the fuzzer
//! replays through exactly the same checks in `cargo test`. Every function
//! takes raw fuzz bytes and panics when a property does not hold.
#![allow(dead_code)]

use contrib_recon::config::RunConfig;
use contrib_recon::ingest::reader::{Encoding, RecordReader};
use contrib_recon::parse::{
    credit_code_valid, normalize_id_number, parse_action, parse_date, parse_insurance, parse_kind,
    parse_money, parse_period, parse_status, parse_yes_no, trim,
};
use rust_decimal::Decimal;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

// ---------------------------------------------------------------------
// Field parsers
// ---------------------------------------------------------------------

/// Runs every field parser on the whole input and on each piece of it
/// (split at `,`, `\n` and NUL), checking each result's properties.
pub fn check_fields(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    check_field(&s);
    check_field(trim(&s));
    for piece in s.split([',', '\n', '\0']) {
        check_field(piece);
        check_field(trim(piece));
    }
}

/// An independent reading of SPEC §2/§7 money: returns the value of a
/// valid spelling, `None` otherwise.
pub fn money_reference(s: &str) -> Option<Decimal> {
    fn sign(s: &str) -> (Option<bool>, &str) {
        match s.as_bytes().first() {
            Some(b'-') => (Some(true), &s[1..]),
            Some(b'+') => (Some(false), &s[1..]),
            _ => (None, s),
        }
    }
    fn yen(s: &str) -> (bool, &str) {
        for y in ["¥", "￥"] {
            if let Some(r) = s.strip_prefix(y) {
                return (true, r);
            }
        }
        (false, s)
    }
    // [sign][yen] or [yen][sign], each at most once.
    let (neg, body) = match sign(s) {
        (Some(n), r) => (n, yen(r).1),
        (None, r) => {
            let (_, r) = yen(r);
            let (n, r) = sign(r);
            (n.unwrap_or(false), r)
        }
    };
    let (int, frac) = match body.find('.') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let groups: Vec<&str> = int.split(',').collect();
    let int_ok = if groups.len() == 1 {
        digits(int)
    } else {
        digits(groups[0])
            && groups[0].len() <= 3
            && groups[1..].iter().all(|g| g.len() == 3 && digits(g))
    };
    if !int_ok {
        return None;
    }
    let int_digits: String = groups.concat();
    if int_digits.len() > 15 {
        return None;
    }
    let mut text = int_digits;
    if let Some(f) = frac {
        if !digits(f) || f.len() > 10 {
            return None;
        }
        text.push('.');
        text.push_str(f);
    }
    let v = Decimal::from_str(&text).ok()?;
    Some(if neg { -v } else { v })
}

fn check_field(p: &str) {
    // trim: idempotent, never grows.
    let t = trim(p);
    assert_eq!(trim(t), t);

    if let Some(per) = parse_period(p) {
        assert!((1950..=2100).contains(&per.year()), "{p:?} -> {per}");
        assert!((1..=12).contains(&per.month()));
        assert_eq!(parse_period(&per.to_string()), Some(per), "{p:?}");
        let compact = format!("{:04}{:02}", per.year(), per.month());
        assert_eq!(parse_period(&compact), Some(per), "{p:?}");
    }
    if let Some(d) = parse_date(p) {
        use chrono::Datelike;
        assert!((1950..=2100).contains(&d.year()), "{p:?} -> {d}");
        assert_eq!(
            parse_date(&d.format("%Y-%m-%d").to_string()),
            Some(d),
            "{p:?}"
        );
        assert_eq!(
            parse_date(&d.format("%Y%m%d").to_string()),
            Some(d),
            "{p:?}"
        );
        assert_eq!(
            parse_date(&d.format("%Y年%-m月%-d日").to_string()),
            Some(d),
            "{p:?}"
        );
    }

    let m = parse_money(p);
    assert_eq!(
        m,
        money_reference(p),
        "parse_money vs SPEC reading of {p:?}"
    );
    if let Some(m) = m {
        assert!(m.scale() <= 10, "{p:?}");
        assert!(m.abs() < Decimal::from(1_000_000_000_000_000i64), "{p:?}");
        let again = parse_money(&m.to_string());
        assert_eq!(again, Some(m), "{p:?} -> {m}");
        assert_eq!(again.map(|a| a.scale()), Some(m.scale()));
    }

    let ascii_upper = p.is_ascii().then(|| p.to_ascii_uppercase());
    if let Some(i) = parse_insurance(p) {
        assert_eq!(parse_insurance(i.name()), Some(i));
    }
    if let Some(a) = parse_action(p) {
        assert_eq!(parse_action(a.name()), Some(a));
    }
    if let Some(st) = parse_status(p) {
        assert_eq!(parse_status(st.name()), Some(st));
    }
    if let Some(u) = &ascii_upper {
        // English words are case-insensitive, codes have no case.
        assert_eq!(parse_insurance(u), parse_insurance(p), "{p:?}");
        assert_eq!(parse_action(u), parse_action(p), "{p:?}");
        assert_eq!(parse_status(u), parse_status(p), "{p:?}");
        assert_eq!(parse_kind(u), parse_kind(p), "{p:?}");
        assert_eq!(parse_yes_no(u), parse_yes_no(p), "{p:?}");
    }

    let id = normalize_id_number(p);
    if id.valid {
        assert_eq!(id.normalized.len(), 18, "{p:?}");
        let again = normalize_id_number(&id.normalized);
        assert!(again.valid, "{p:?}");
        assert_eq!(again.normalized, id.normalized);
    }
    if p.len() == 15 && p.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(id.normalized.len(), 18, "{p:?}");
    }
    if credit_code_valid(p) {
        assert_eq!(p.len(), 18, "{p:?}");
        assert!(p.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}

// ---------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------

/// A `Read` that hands out at most `step` bytes per call, to move every
/// internal buffer boundary across the input.
pub struct ShortReads<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for ShortReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// One record as the reader hands it out.
#[derive(Debug, PartialEq, Eq)]
pub struct Rec {
    pub line: u64,
    pub raw: Vec<u8>,
    pub nfields: usize,
    pub fields: Option<Vec<String>>,
}

pub fn read_records<R: Read>(r: R, enc: Encoding, delim: u8, batch: usize) -> (Vec<Rec>, u64) {
    let mut rdr = RecordReader::new(r, enc, delim);
    let mut out = Vec::new();
    loop {
        let b = rdr
            .next_batch(batch)
            .expect("reading from memory cannot fail");
        if b.is_empty() {
            break;
        }
        for i in 0..b.len() {
            out.push(Rec {
                line: b.records[i].line,
                raw: b.raw(i).to_vec(),
                nfields: b.nfields(i),
                fields: b
                    .fields(i)
                    .map(|f| f.iter().map(|s| s.to_string()).collect()),
            });
        }
    }
    // Reading past the end stays at the end.
    assert!(rdr.next_batch(4).unwrap().is_empty());
    (out, rdr.digest().0)
}

/// Byte 0 picks encoding, delimiter and read size; the rest is a file.
/// The records must not depend on how the bytes arrive or on the batch
/// size, and must keep the reader's documented guarantees.
pub fn check_reader(data: &[u8]) {
    let Some((&flags, content)) = data.split_first() else {
        return;
    };
    let enc = if flags & 1 == 0 {
        Encoding::Utf8
    } else {
        Encoding::Gb18030
    };
    let delim = [b',', b'\t', b'|', b';'][usize::from((flags >> 1) & 3)];
    let step = usize::from(flags >> 3) % 7 + 1;
    let (whole, size) = read_records(content, enc, delim, 1 << 15);
    assert_eq!(size, content.len() as u64, "every byte is read and hashed");
    let (short, _) = read_records(
        ShortReads {
            data: content,
            step,
        },
        enc,
        delim,
        1,
    );
    assert_eq!(
        whole, short,
        "records depend on read boundaries (step {step})"
    );

    // Physical lines end at LF, CRLF or a lone CR (as records do).
    let newlines = content
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && content.get(i + 1) != Some(&b'\n')))
        .count() as u64;
    let mut prev = 0u64;
    for r in &whole {
        assert!(
            r.line > prev,
            "line numbers must increase: {} after {prev}",
            r.line
        );
        prev = r.line;
        assert!(
            r.line <= newlines + 1,
            "line {} beyond the file's {} lines",
            r.line,
            newlines + 1
        );
        assert!(r.nfields >= 1);
        if !r.raw.contains(&b'"') {
            // (A quote left open at the end of the file makes the line
            // ends before EOF part of the record's text.)
            assert!(
                !r.raw.ends_with(b"\n") && !r.raw.ends_with(b"\r"),
                "raw keeps its line end"
            );
        }
        if let Some(f) = &r.fields {
            assert_eq!(f.len(), r.nfields);
            assert!(std::str::from_utf8(&r.raw).is_ok());
        }
        if enc == Encoding::Utf8 && std::str::from_utf8(content).is_ok() && !r.raw.is_empty() {
            // Valid UTF-8 input: no record is a decode error.
            assert!(
                r.fields.is_some(),
                "valid UTF-8 record refused: {:?}",
                r.raw
            );
        }
    }
    if enc == Encoding::Utf8 && !content.contains(&b'"') && !content.contains(&b'\r') {
        // Without quotes and CRs, records are exactly the non-empty lines.
        // Leading BOMs are not data.
        let mut body = content;
        while let Some(rest) = body.strip_prefix(b"\xEF\xBB\xBF") {
            body = rest;
        }
        let expect: Vec<(u64, &[u8])> = body
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| (i as u64 + 1, l))
            .collect();
        let got: Vec<(u64, &[u8])> = whole.iter().map(|r| (r.line, &r.raw[..])).collect();
        assert_eq!(got, expect);
        for r in &whole {
            let n = r.raw.iter().filter(|&&b| b == delim).count() + 1;
            assert_eq!(r.nfields, n);
        }
    }
}

// ---------------------------------------------------------------------
// A whole run
// ---------------------------------------------------------------------

pub const EMPLOYERS: &str =
    "employer_id,name,credit_code,status,status_date,region,archive_transferred\n\
E1,Acme,,active,,110101,\n\
E2,Bust,,bankrupt,2023-06-15,110101,no\n";

pub const EVENTS_HEADER: &str =
    "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n";
pub const EVENTS: &str =
    "event_id,person_id,id_number,name,employer_id,insurance,action,period,base,reason\n\
V1,P1,11010519491231002X,Zhang,E1,pension,increase,2023-01,5000,new\n\
V2,P2,,Li,E2,pension,increase,2022-11,4000,new\n\
V3,P3,,Wang,,medical,increase,2024-03,3000,individual\n\
V4,P1,,Zhang,E1,pension,decrease,2024-09,,left\n";

pub const PAYMENTS_HEADER: &str = "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n";
pub const PAYMENTS: &str = "payment_id,person_id,employer_id,insurance,period,base,employer_amount,individual_amount,paid_on,kind\n\
Y1,P1,E1,pension,2023-01,5000,800.00,400.00,2023-02-15,\n\
Y2,P1,E1,pension,2023-02,5000,800.00,400.00,2023-03-15,normal\n\
Y3,P2,E2,pension,2022-11,4000,640.00,320.00,,\n\
Y4,P3,,medical,2024-03,3000,0,60.00,,\n\
Y5,P9,E7,pension,2030-01,,1.00,1.00,,\n";

/// A run configuration for the fixed test folder layout, resolved from
/// command-line arguments as the binary does (`extra` appended).
pub fn run_config(input_dir: &Path, out_dir: &Path, extra: &[&str]) -> RunConfig {
    use clap::Parser;
    let mut args: Vec<std::ffi::OsString> = vec![
        "contrib-recon".into(),
        "run".into(),
        input_dir.into(),
        "--out".into(),
        out_dir.into(),
    ];
    for a in [
        "--as-of",
        "2025-01-20",
        "--through",
        "2024-12",
        "--threads",
        "1",
        "--quiet",
        "--no-report",
    ]
    .iter()
    .chain(extra)
    {
        args.push(a.into());
    }
    let cli = contrib_recon::cli::Cli::try_parse_from(args).expect("arguments parse");
    match cli.command {
        contrib_recon::cli::Command::Run(a) => a.resolve().expect("arguments resolve"),
        _ => unreachable!(),
    }
}

/// A scratch folder, in memory when the machine has /dev/shm.
pub fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(t) = tempfile::Builder::new().prefix("crfuzz").tempdir_in(shm) {
            return t;
        }
    }
    tempfile::tempdir().expect("temp dir")
}

/// Byte 0: bit 0 = the fuzz bytes are an events (1) or payments (0) file;
/// bit 1 = prepend the canonical header; bits 2-3 = encoding option
/// (auto, utf-8, gb18030). The rest is written as `payments_x.csv` or
/// `events_x.csv` beside small fixed employers/events/payments files, and
/// the whole run must finish without a panic, either
/// - ok, with `_SUCCESS`, every row accounted for and the money balanced, or
/// - failed with an input error (exit code 3), diagnostics in `failed/`.
pub fn check_run_file(data: &[u8]) {
    let Some((&flags, content)) = data.split_first() else {
        return;
    };
    let events = flags & 1 == 1;
    let tmp = scratch();
    let input = tmp.path().join("in");
    let out = tmp.path().join("out");
    std::fs::create_dir(&input).unwrap();
    std::fs::write(input.join("employers.csv"), EMPLOYERS).unwrap();
    std::fs::write(input.join("events.csv"), EVENTS).unwrap();
    std::fs::write(input.join("payments.csv"), PAYMENTS).unwrap();
    let mut file = Vec::new();
    if flags & 2 == 2 {
        file.extend_from_slice(
            if events {
                EVENTS_HEADER
            } else {
                PAYMENTS_HEADER
            }
            .as_bytes(),
        );
    }
    file.extend_from_slice(content);
    let name = if events {
        "events_x.csv"
    } else {
        "payments_x.csv"
    };
    std::fs::write(input.join(name), &file).unwrap();
    let encoding = ["auto", "utf-8", "gb18030", "auto"][usize::from((flags >> 2) & 3)];
    let cfg = run_config(&input, &out, &["--encoding", encoding]);
    match contrib_recon::run::run(&cfg) {
        Ok(report) => {
            let s = &report.summary;
            assert!(out.join("_SUCCESS").is_file());
            assert_eq!(s["status"], "ok");
            assert_eq!(s["control"]["rows_balanced"], true, "{s:#}");
            assert_eq!(s["control"]["money_balanced"], true, "{s:#}");
            assert_eq!(
                s["control"]["payments_accepted_net"],
                s["control"]["pooled_plus_suspense_plus_deferred"]
            );
            let inputs = s["inputs"].as_array().unwrap();
            let mut rejected = 0;
            for i in inputs {
                let (r, a, j) = (
                    i["rows_read"].as_u64().unwrap(),
                    i["accepted"].as_u64().unwrap(),
                    i["rejected"].as_u64().unwrap(),
                );
                assert_eq!(r, a + j, "{i}");
                rejected += j;
            }
            assert_eq!(s["counts"]["rejects"].as_u64().unwrap(), rejected);
            // rejects.csv holds one record per rejected row, per file.
            let mut rdr = csv::Reader::from_path(out.join("rejects.csv")).unwrap();
            assert_eq!(
                rdr.headers().unwrap(),
                vec!["file", "line", "reason", "raw"]
            );
            let mut per_file = std::collections::BTreeMap::<String, u64>::new();
            for rec in rdr.records() {
                let rec = rec.unwrap();
                assert!(
                    rec[1].parse::<u64>().unwrap() >= 2,
                    "a reject on the header line: {rec:?}"
                );
                *per_file.entry(rec[0].to_string()).or_default() += 1;
            }
            for i in inputs {
                let n = per_file
                    .get(i["path"].as_str().unwrap())
                    .copied()
                    .unwrap_or(0);
                assert_eq!(
                    n,
                    i["rejected"].as_u64().unwrap(),
                    "rejects.csv vs summary for {}",
                    i["path"]
                );
            }
            assert!(!out.join("failed").exists());
        }
        Err(e) => {
            assert_eq!(
                e.exit_code(),
                contrib_recon::error::exit::INPUT,
                "unexpected failure: {e}"
            );
            let msg = e.to_string();
            assert!(
                !msg.contains('\n'),
                "stderr message must be one line: {msg:?}"
            );
            let diag = std::fs::read_to_string(out.join("failed/summary.json"))
                .expect("failed/summary.json");
            let v: serde_json::Value = serde_json::from_str(&diag).unwrap();
            assert_eq!(v["status"], "failed");
            assert!(out.join("failed/rejects.csv").is_file());
            assert!(!out.join("_SUCCESS").exists());
        }
    }
    // Nothing left beside OUT_DIR.
    for e in std::fs::read_dir(tmp.path()).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(n == "in" || n == "out", "leftover {n}");
    }
}
