//! Person-id sampling before ingest, for the person-range splitters.
//!
//! Takes the event and payment files (other kinds are ignored) and reads,
//! per file, the header and a few small blocks at evenly spread byte
//! offsets, taking the person_id of the first complete record after each
//! offset. Guarantees: deterministic (no randomness, no clock), never
//! fails and never panics: an unreadable file, a header without a person
//! column or a line that does not parse only means fewer samples. Reads
//! `samples` blocks of at most 16 KiB plus a 64 KiB header block per file,
//! never a whole file.
//!
//! Why: phase 1 of the out-of-core path routes rows to person-range
//! partitions as it reads them, so it needs the splitters before the first
//! row. Samples spread by bytes are (about) row-weighted, so partitions
//! cut at the sample's quantiles are balanced by rows, which is what
//! bounds memory. The result only affects balance, never correctness; a
//! few milliseconds of seeks replace a scan of the inputs.

use crate::config::InputKind;
use crate::ingest::discover::InputFile;
use crate::ingest::header;
use std::borrow::Cow;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Bytes read from the start of a file for its header and encoding.
const HEAD: usize = 64 * 1024;
/// Bytes read at each sample offset.
const BLOCK: usize = 16 * 1024;

/// Person ids sampled from the event and payment files: `samples` in all,
/// spread over the files in proportion to their byte size (at least one
/// per non-empty file), each taken from the first complete record after an
/// evenly spaced byte offset, so that a person's share of the sample is
/// about its share of the rows (bytes).
pub fn person_sample(files: &[InputFile], delimiter: u8, samples: usize) -> Vec<String> {
    let mut out = Vec::new();
    if samples == 0 {
        return out;
    }
    let sized: Vec<(&InputFile, u64)> = files
        .iter()
        .filter(|f| matches!(f.kind, InputKind::Events | InputKind::Payments))
        .filter_map(|f| Some((f, std::fs::metadata(&f.path).ok()?.len())))
        .filter(|&(_, len)| len > 0)
        .collect();
    let total: u128 = sized.iter().map(|&(_, len)| u128::from(len)).sum();
    // Shares from cumulative sizes, so they add up to `samples` (before
    // the minimum of one per file).
    let (mut cum, mut prev) = (0u128, 0usize);
    for (f, len) in sized {
        cum += u128::from(len);
        let upto = (samples as u128 * cum / total) as usize;
        // Any problem in a file only means fewer samples.
        let _ = sample_file(f, delimiter, (upto - prev).max(1), &mut out);
        prev = upto;
    }
    out
}

/// The splitters of `n` person_id-range partitions: the sample's quantiles
/// (sample sorted by byte order, element k*len/n for k in 1..n), sorted and
/// without repeats (so there may be fewer than n-1; none for an empty sample).
pub fn splitters(mut sample: Vec<String>, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if n < 2 || sample.is_empty() {
        return out;
    }
    sample.sort_unstable();
    let len = sample.len() as u128;
    for k in 1..n as u128 {
        let s = &sample[(k * len / n as u128) as usize];
        if out.last() != Some(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Up to `max` bytes of `f` from `pos` (fewer only at end of file).
fn read_at(f: &mut File, pos: u64, max: usize) -> Option<Vec<u8>> {
    f.seek(SeekFrom::Start(pos)).ok()?;
    let mut buf = Vec::with_capacity(max);
    // Reads until `max` bytes or end of file (retrying interrupted reads).
    f.by_ref().take(max as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

/// `bytes` as text in the file's sampling encoding (lossy).
fn decode(bytes: &[u8], gb: bool) -> Cow<'_, str> {
    if gb {
        encoding_rs::GB18030.decode_without_bom_handling(bytes).0
    } else {
        String::from_utf8_lossy(bytes)
    }
}

/// The fields of the first record in `line` (None for a blank line or a
/// parse error).
fn parse_line(line: &str, delimiter: u8) -> Option<csv::StringRecord> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(line.as_bytes());
    let mut rec = csv::StringRecord::new();
    rdr.read_record(&mut rec).ok()?.then_some(rec)
}

/// Appends `k` samples of one file to `out` (fewer on any problem).
fn sample_file(file: &InputFile, delimiter: u8, k: usize, out: &mut Vec<String>) -> Option<()> {
    let col = match file.kind {
        InputKind::Events => header::events::PERSON,
        InputKind::Payments => header::payments::PERSON,
        _ => return None,
    };
    let mut f = File::open(&file.path).ok()?;
    let len = f.metadata().ok()?.len();
    let head = read_at(&mut f, 0, HEAD)?;
    // Same rule as ingest's detection, on the first block only; a
    // multi-byte sequence cut by the block's end does not count.
    let gb = matches!(std::str::from_utf8(&head), Err(e) if e.error_len().is_some());
    let text = head.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(&head);
    let bom = head.len() - text.len();
    // No line end in the block: no body, or a header too long to sample.
    let start = bom + memchr::memchr(b'\n', text)? + 1;
    let rec = parse_line(&decode(&head[bom..start], gb), delimiter)?;
    let cells: Vec<&str> = rec.iter().collect();
    let map = header::map_header(file.kind, &cells, &file.display).ok()?;
    let start = start as u64;
    let body_len = u128::from(len.saturating_sub(start));
    if body_len == 0 {
        return None;
    }
    // The person id of the first complete record after `offset` (at the
    // offset itself for the first one, the body's start). A quoted field
    // with an embedded line end can make this a garbage value; that only
    // costs balance.
    let mut take = |offset: u64, first: bool| -> Option<String> {
        // Otherwise read from the byte before the offset and skip through
        // the first line end, so a record starting at the offset is taken.
        let block = read_at(&mut f, if first { offset } else { offset - 1 }, BLOCK)?;
        let from = if first {
            0
        } else {
            memchr::memchr(b'\n', &block)? + 1
        };
        let rest = &block[from..];
        // The record must end in the block: at a line end, or end of file.
        let end = match memchr::memchr(b'\n', rest) {
            Some(i) => i + 1,
            None if block.len() < BLOCK => rest.len(),
            None => return None,
        };
        let rec = parse_line(&decode(&rest[..end], gb), delimiter)?;
        let fields: Vec<&str> = rec.iter().collect();
        // Ingest rejects rows of another width; this keeps `get` in range.
        if fields.len() != map.width {
            return None;
        }
        let id = map.get(&fields, col);
        (!id.is_empty()).then(|| id.to_string())
    };
    for j in 0..k {
        let offset = start + (j as u128 * body_len / k as u128) as u64;
        out.extend(take(offset, j == 0));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAY_HEAD: &str = "payment_id,person_id,employer_id,insurance,period,base,\
                            employer_amount,individual_amount,paid_on,kind\n";

    fn file(dir: &tempfile::TempDir, kind: InputKind, name: &str, bytes: &[u8]) -> InputFile {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let display = name.into();
        InputFile {
            kind,
            path,
            display,
        }
    }

    fn pay_row(i: usize, person: &str) -> String {
        format!("PAY{i},{person},E1,110,2024-01,5000,800,400,2024-01-15,normal\n")
    }

    #[test]
    fn sorted_file_is_sampled_over_its_whole_range() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from(PAY_HEAD);
        for i in 0..1000 {
            text += &pay_row(i, &format!("P{:04}", i / 10));
        }
        let files = [file(&dir, InputKind::Payments, "p.csv", text.as_bytes())];
        let s = person_sample(&files, b',', 100);
        assert!(s.len() >= 95, "{}", s.len());
        let ids: Vec<String> = (0..100).map(|n| format!("P{n:04}")).collect();
        assert!(s.iter().all(|id| ids.contains(id)), "{s:?}");
        assert!(s.iter().min().unwrap().as_str() < "P0010");
        assert!(s.iter().max().unwrap().as_str() > "P0090");
        assert_eq!(s, person_sample(&files, b',', 100), "deterministic");
    }

    #[test]
    fn gb18030_file_decodes_chinese_header_and_ids() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("业务流水号,个人编号,姓名,险种,变动类型,变动年月\n");
        for i in 0..200 {
            text += &format!("EV{i}, 人员{}号 ,张三,110,增员,2024-01\n", i % 7);
        }
        let (bytes, _, bad) = encoding_rs::GB18030.encode(&text);
        assert!(!bad && std::str::from_utf8(&bytes).is_err());
        let s = person_sample(&[file(&dir, InputKind::Events, "e.csv", &bytes)], b',', 20);
        assert!(s.len() >= 18, "{}", s.len());
        assert!(s.contains(&"人员0号".to_string()));
        let ok: Vec<String> = (0..7).map(|i| format!("人员{i}号")).collect();
        assert!(s.iter().all(|id| ok.contains(id)), "{s:?}");
    }

    #[test]
    fn bad_header_missing_file_and_empty_body_give_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (pay, ev) = (InputKind::Payments, InputKind::Events);
        let emp = InputKind::Employers;
        let mut missing = file(&dir, pay, "m.csv", b"");
        missing.path = dir.path().join("missing.csv");
        let files = [
            file(&dir, pay, "a.csv", b"payment_id,insurance\nX,110\nY,110\n"),
            missing,
            file(&dir, pay, "b.csv", PAY_HEAD.as_bytes()),
            file(&dir, ev, "c.csv", PAY_HEAD.trim_end().as_bytes()),
            file(&dir, ev, "d.csv", b""),
            file(&dir, emp, "e.csv", b"employer_id,status\nE1,active\n"),
        ];
        assert!(person_sample(&files, b',', 100).is_empty());
        let good = PAY_HEAD.to_string() + &pay_row(1, "Q1");
        let good = file(&dir, pay, "f.csv", good.as_bytes());
        assert_eq!(person_sample(std::slice::from_ref(&good), b',', 1), ["Q1"]);
        assert!(person_sample(&[good], b',', 0).is_empty());
    }

    #[test]
    fn splitters_are_deduplicated_quantiles() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let sample = v(&["h", "b", "d", "f", "a", "c", "e", "g"]);
        assert_eq!(splitters(sample.clone(), 4), v(&["c", "e", "g"]));
        assert_eq!(splitters(sample.clone(), 2), v(&["e"]));
        assert!(splitters(sample, 1).is_empty());
        assert!(splitters(Vec::new(), 4).is_empty());
        assert_eq!(splitters(v(&["b", "a", "a", "a", "b"]), 5), v(&["a", "b"]));
        assert_eq!(splitters(v(&["x"]), 3), v(&["x"]));
    }

    #[test]
    fn tiny_file_gives_only_whole_ids() {
        let dir = tempfile::tempdir().unwrap();
        // BOM, CRLF line ends and no line end after the last row.
        let mut text = "\u{feff}".to_string() + &PAY_HEAD.replace('\n', "\r\n");
        text += &pay_row(1, "ALPHA1").replace('\n', "\r\n");
        text += &pay_row(2, "BETA22").replace('\n', "\r\n");
        text += pay_row(3, "GAMMA3").trim_end();
        let f = file(&dir, InputKind::Payments, "p.csv", text.as_bytes());
        let s = person_sample(&[f], b',', 50);
        assert!(!s.is_empty());
        let ok = ["ALPHA1", "BETA22", "GAMMA3"];
        assert!(s.iter().all(|id| ok.contains(&id.as_str())), "{s:?}");
        assert!(s.iter().any(|id| id == "GAMMA3"), "last row, no line end");
    }
}
