//! Single-thread ingest throughput on a generated payments file:
//!
//! - `engine_parse_validate`: the engine's own path — `RecordReader`
//!   (decode check, CSV split, line tracking), header mapping, field-count
//!   check and `parse_payment` (every value parsed and validated,
//!   fingerprinted for duplicate detection). The reader's SHA-256 of the
//!   bytes runs on a thread of its own, as in the engine (`ingest::digest`);
//! - `engine_one_thread`: the same with the SHA-256 on the parsing thread,
//!   as a `--threads 1` run does: strictly one thread;
//! - `csv_byte_record`: a plain `csv` crate `ByteRecord` pass over the same
//!   file, the floor for "read and split the CSV";
//! - `sha256_only`: the file's SHA-256 alone (summary.json reports it),
//!   the work the engine's reader hands to its hashing thread.
//!
//! The input is made by the generator in a temporary folder. `cargo bench`
//! uses about 2,400 persons × 10 years (≈ 85 MB of payments); `cargo test
//! --benches` (criterion's test mode, one iteration) uses 20 persons.
//! `CONTRIB_RECON_BENCH_PERSONS` overrides the count.
//!
//! Run: `cargo bench --bench parse`.

use contrib_recon::config::InputKind;
use contrib_recon::generate::{generate_stats, GenerateConfig};
use contrib_recon::ingest::header::map_header;
use contrib_recon::ingest::reader::{detect_encoding, Encoding};
use contrib_recon::ingest::reader::{RecordReader, BATCH_RECORDS};
use contrib_recon::ingest::rows::parse_payment;
use contrib_recon::model::Period;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The allocator the `contrib-recon` binary uses (src/main.rs).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn persons() -> u64 {
    if let Some(n) = std::env::var("CONTRIB_RECON_BENCH_PERSONS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    if std::env::args().any(|a| a == "--bench") {
        2_400
    } else {
        20
    }
}

fn make_input(dir: &Path) -> PathBuf {
    let cfg = GenerateConfig {
        out_dir: dir.to_path_buf(),
        persons: persons(),
        years: 10,
        seed: 1,
        last_period: Period::from_ym(2026, 10),
    };
    generate_stats(&cfg).expect("generate the bench input");
    dir.join("payments.csv")
}

/// The engine's parse + validate path, hashing on a thread of its own or
/// (`one_thread`) on this one; returns (rows accepted, rows rejected).
fn engine_pass(path: &Path, one_thread: bool) -> (u64, u64) {
    let f = File::open(path).expect("open");
    let mut rdr = RecordReader::new(f, Encoding::Utf8, b',');
    if one_thread {
        rdr.hash_inline();
    }
    let head = rdr.next_batch(1).expect("read header");
    let cells = head.fields(0).expect("header decodes");
    let map = map_header(InputKind::Payments, &cells, "payments.csv").expect("header maps");
    let (mut ok, mut bad) = (0u64, 0u64);
    // As the engine reads: one batch refilled, a field vector reused
    // within the batch.
    let mut b = contrib_recon::ingest::reader::Batch::default();
    loop {
        rdr.fill_batch(&mut b, BATCH_RECORDS).expect("read");
        if b.is_empty() {
            break;
        }
        let mut f: Vec<&str> = Vec::new();
        for i in 0..b.len() {
            if !b.fields_into(i, &mut f) || f.len() != map.width {
                bad += 1;
                continue;
            }
            match parse_payment(&f, &map) {
                Ok(row) => {
                    std::hint::black_box(&row);
                    ok += 1;
                }
                Err(_) => bad += 1,
            }
        }
    }
    std::hint::black_box(rdr.digest());
    (ok, bad)
}

/// SHA-256 of the file alone (the digest `summary.json` needs, which the
/// engine's reader computes as it reads): the part of the engine's time no
/// parser can remove.
fn sha_pass(path: &Path) -> usize {
    use sha2::Digest;
    let mut f = File::open(path).expect("open");
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().len()
}

/// A plain csv-crate pass; returns the records read.
fn csv_pass(path: &Path) -> u64 {
    let f = File::open(path).expect("open");
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(BufReader::with_capacity(1 << 20, f));
    let mut rec = csv::ByteRecord::new();
    let mut n = 0u64;
    while rdr.read_byte_record(&mut rec).expect("read") {
        n += rec.len() as u64 / 10;
    }
    n
}

/// The engine against the csv pass in alternating runs (engine, csv,
/// engine, …), so that both see the same moment of a shared machine:
/// criterion measures one function after the other, and the load of the
/// moment moves either by ±30 % here. Prints the best time of each and
/// the median of the eleven pairwise ratios.
fn paired(path: &Path) {
    use std::time::Instant;
    let time = |f: &dyn Fn()| {
        let t = Instant::now();
        f();
        t.elapsed().as_secs_f64() * 1e3
    };
    let (mut engine, mut csv, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..11 {
        let e = time(&|| {
            std::hint::black_box(engine_pass(path, false));
        });
        let c = time(&|| {
            std::hint::black_box(csv_pass(path));
        });
        engine.push(e);
        csv.push(c);
        ratios.push(e / c);
    }
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    ratios.sort_by(f64::total_cmp);
    eprintln!(
        "paired (11 alternating runs): engine best {:.1} ms, csv best {:.1} ms, \
         ratio of bests {:.2}, median pairwise ratio {:.2}",
        best(&engine),
        best(&csv),
        best(&engine) / best(&csv),
        ratios[5]
    );
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = make_input(dir.path());
    let size = std::fs::metadata(&path).expect("stat").len();
    assert_eq!(
        detect_encoding(&path, contrib_recon::config::EncodingChoice::Auto).expect("detect"),
        Encoding::Utf8
    );
    let (ok, bad) = engine_pass(&path, false);
    assert_eq!(engine_pass(&path, true), (ok, bad));
    assert_eq!(bad, 0, "generated rows are all valid");
    assert_eq!(csv_pass(&path), ok, "both passes see every row");
    eprintln!(
        "parse bench input: {} payment rows, {:.1} MB",
        ok,
        size as f64 / 1e6
    );

    if std::env::args().any(|a| a == "--bench") {
        paired(&path);
    }

    let mut g = c.benchmark_group("payments");
    g.throughput(Throughput::Bytes(size));
    g.sample_size(10);
    g.bench_function("engine_parse_validate", |b| {
        b.iter(|| engine_pass(&path, false))
    });
    g.bench_function("engine_one_thread", |b| b.iter(|| engine_pass(&path, true)));
    g.bench_function("csv_byte_record", |b| b.iter(|| csv_pass(&path)));
    g.bench_function("sha256_only", |b| b.iter(|| sha_pass(&path)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
