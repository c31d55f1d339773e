//! `csv-scan FILE...`: reads every record of each file with the `csv`
//! crate's `ByteRecord` on one thread and prints one line:
//! `files=N records=R bytes=B seconds=S mb_per_s=T`.

use std::io::BufReader;
use std::time::Instant;

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: csv-scan FILE...");
        std::process::exit(2);
    }
    let t0 = Instant::now();
    let (mut records, mut fields, mut bytes) = (0u64, 0u64, 0u64);
    for f in &files {
        let file = std::fs::File::open(f).unwrap_or_else(|e| {
            eprintln!("csv-scan: {f}: {e}");
            std::process::exit(1)
        });
        bytes += file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let mut rec = csv::ByteRecord::new();
        loop {
            match rdr.read_byte_record(&mut rec) {
                Ok(true) => {
                    records += 1;
                    fields += rec.len() as u64;
                }
                Ok(false) => break,
                Err(e) => {
                    eprintln!("csv-scan: {f}: {e}");
                    std::process::exit(1)
                }
            }
        }
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "files={} records={} fields={} bytes={} seconds={:.3} mb_per_s={:.1}",
        files.len(),
        records,
        fields,
        bytes,
        s,
        bytes as f64 / 1e6 / s.max(1e-9)
    );
}
