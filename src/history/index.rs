//! Seek-based binary search in `history.idx`.
//!
//! The index (written by `output::Writer`) is a `#` comment line followed by
//! one line per person in person_id byte order:
//!
//! ```text
//! ESCAPED_PERSON_ID \t L_OFF,L_LEN \t P_OFF,P_LEN \t E_OFF,E_LEN \t M_OFF,M_LEN \t Q_OFF,Q_LEN
//! ```
//!
//! Lines have variable length, so the search works on byte offsets, as
//! `look(1)` does: probe the middle of the remaining byte range, skip to the
//! next line start, compare that line's (unescaped) key, halve. Each probe
//! is one seek and one small read, so a lookup costs O(log n) reads of a few
//! hundred bytes whatever the size of the index; nothing else of the index
//! is read.

use crate::output::unescape_key;
use std::cmp::Ordering;
use std::io::{self, Read, Seek, SeekFrom};

/// The files an index line points into, in index column order.
pub const FILES: [&str; 5] = [
    "ledger.csv",
    "persons.csv",
    "exceptions.csv",
    "makeup_cases.csv",
    "pooling.csv",
];

/// One parsed index line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub person_id: String,
    /// `(offset, length)` in ledger, persons, exceptions, makeup_cases,
    /// pooling (see [`FILES`]).
    pub ranges: [(u64, u64); 5],
}

/// What can go wrong while searching: the underlying read, or a line that
/// is not an index line (with the byte offset where it starts).
#[derive(Debug)]
pub enum SearchError {
    Io(io::Error),
    Malformed { offset: u64, problem: String },
}

impl From<io::Error> for SearchError {
    fn from(e: io::Error) -> Self {
        SearchError::Io(e)
    }
}

/// Longest index line accepted (a person id of many kilobytes is not one).
const MAX_LINE: usize = 1 << 20;

/// A random-access view of the index: `len` bytes of `r`.
pub struct Index<R> {
    r: R,
    len: u64,
    /// Offset of the first data line (after the `#` comment).
    data_start: u64,
}

impl<R: Read + Seek> Index<R> {
    /// Opens an index of `len` bytes; reads only its first line.
    pub fn new(mut r: R, len: u64) -> Result<Self, SearchError> {
        let data_start = if len == 0 {
            0
        } else {
            let (line, next) = read_line_at(&mut r, 0, len)?;
            if line.first() == Some(&b'#') {
                next
            } else {
                0
            }
        };
        Ok(Index { r, len, data_start })
    }

    /// The first person's entry (for where employer-level findings end).
    pub fn first(&mut self) -> Result<Option<Entry>, SearchError> {
        if self.data_start >= self.len {
            return Ok(None);
        }
        let (line, _) = read_line_at(&mut self.r, self.data_start, self.len)?;
        parse_line(&line)
            .map(Some)
            .map_err(|problem| SearchError::Malformed {
                offset: self.data_start,
                problem,
            })
    }

    /// Finds `person_id`'s entry in O(log n) seeks and small reads.
    ///
    /// Invariants: `lo` is a line start and every line starting before it
    /// has a smaller key; every line starting at or after `hi` has a larger
    /// key. Each step strictly shrinks `[lo, hi)`.
    pub fn find(&mut self, person_id: &str) -> Result<Option<Entry>, SearchError> {
        let target = person_id.as_bytes();
        let mut lo = self.data_start;
        let mut hi = self.len;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = if mid == lo {
                lo
            } else {
                next_line_start(&mut self.r, mid, hi)?
            };
            if start >= hi {
                // No line starts in [mid, hi): the ones that start at or
                // after mid start at or after hi.
                hi = mid;
                continue;
            }
            let (line, next) = read_line_at(&mut self.r, start, self.len)?;
            let key = key_of(&line).map_err(|problem| SearchError::Malformed {
                offset: start,
                problem,
            })?;
            match unescape_key(key).as_bytes().cmp(target) {
                Ordering::Equal => {
                    let e = parse_line(&line).map_err(|problem| SearchError::Malformed {
                        offset: start,
                        problem,
                    })?;
                    return Ok(Some(e));
                }
                Ordering::Less => lo = next,
                Ordering::Greater => hi = start,
            }
        }
        Ok(None)
    }

    /// Gives the reader back (tests count what was read).
    pub fn into_inner(self) -> R {
        self.r
    }
}

/// The first line start at or after `pos` (`pos > 0`): the byte after the
/// first `\n` at or after `pos - 1`; `limit` (or EOF) when there is none
/// before it.
fn next_line_start<R: Read + Seek>(r: &mut R, pos: u64, limit: u64) -> io::Result<u64> {
    let mut at = pos - 1;
    r.seek(SeekFrom::Start(at))?;
    let mut buf = [0u8; 512];
    while at < limit {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(limit);
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            return Ok(at + i as u64 + 1);
        }
        at += n as u64;
    }
    Ok(limit)
}

/// The line starting at `start` (without its `\n`) and the offset after it.
fn read_line_at<R: Read + Seek>(
    r: &mut R,
    start: u64,
    len: u64,
) -> Result<(Vec<u8>, u64), SearchError> {
    r.seek(SeekFrom::Start(start))?;
    let mut line = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            let next = (start + line.len() as u64).min(len);
            return Ok((line, next));
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&buf[..i]);
            let next = start + line.len() as u64 + 1;
            return Ok((line, next));
        }
        line.extend_from_slice(&buf[..n]);
        if line.len() > MAX_LINE {
            return Err(SearchError::Malformed {
                offset: start,
                problem: format!("index line longer than {MAX_LINE} bytes"),
            });
        }
    }
}

fn key_of(line: &[u8]) -> Result<&str, String> {
    let key = match line.iter().position(|&b| b == b'\t') {
        Some(i) => &line[..i],
        None => return Err("index line has no tab after the person id".into()),
    };
    std::str::from_utf8(key).map_err(|_| "index line's person id is not UTF-8".to_string())
}

/// Parses one index line (without its line end).
pub fn parse_line(line: &[u8]) -> Result<Entry, String> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| "index line is not UTF-8".to_string())?;
    let mut fields = text.split('\t');
    let key = fields.next().unwrap_or_default();
    let mut ranges = [(0u64, 0u64); 5];
    for (i, r) in ranges.iter_mut().enumerate() {
        let f = fields
            .next()
            .ok_or_else(|| format!("index line has no range for {}", FILES[i]))?;
        let (o, l) = f
            .split_once(',')
            .ok_or_else(|| format!("index range for {} is not OFFSET,LENGTH", FILES[i]))?;
        let o: u64 = o
            .parse()
            .map_err(|_| format!("index offset for {} is not a number", FILES[i]))?;
        let l: u64 = l
            .parse()
            .map_err(|_| format!("index length for {} is not a number", FILES[i]))?;
        *r = (o, l);
    }
    Ok(Entry {
        person_id: unescape_key(key),
        ranges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::escape_key;
    use std::io::Cursor;

    /// A reader that counts the bytes and calls that go through it.
    struct Counting<R> {
        inner: R,
        bytes: u64,
        reads: u64,
        seeks: u64,
    }
    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.bytes += n as u64;
            self.reads += 1;
            Ok(n)
        }
    }
    impl<R: Seek> Seek for Counting<R> {
        fn seek(&mut self, p: SeekFrom) -> io::Result<u64> {
            self.seeks += 1;
            self.inner.seek(p)
        }
    }

    fn build(ids: &[String]) -> Vec<u8> {
        let mut s = String::from("#contrib-recon history index v1: test\n");
        for (i, id) in ids.iter().enumerate() {
            let i = i as u64;
            s.push_str(&format!(
                "{}\t{},{}\t{},{}\t{},{}\t{},{}\t{},{}\n",
                escape_key(id),
                i * 1000,
                1000,
                i * 60,
                60,
                i * 7,
                i % 3,
                i,
                0,
                i * 900,
                900
            ));
        }
        s.into_bytes()
    }

    fn ids(n: usize) -> Vec<String> {
        // Variable-length ids in byte order (some are prefixes of others).
        let mut v: Vec<String> = (0..n)
            .map(|i| format!("{}", 10_000_000_000u64 + (i as u64) * 7919 % 9_999_991))
            .collect();
        v.extend((0..50).map(|i| format!("{i}")));
        v.push("a\tb%c\nd".to_string());
        v.push("a%09".to_string());
        v.push("z\r".to_string());
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn finds_every_kind_of_key_in_100k_lines_with_few_small_reads() {
        let ids = ids(100_000);
        let data = build(&ids);
        let len = data.len() as u64;
        assert!(len > 4_000_000, "index is {len} bytes");
        for probe in [
            0usize,
            1,
            2,
            17,
            49,
            50,
            51,
            4242,
            50_000,
            99_999,
            ids.len() - 3,
            ids.len() - 2,
            ids.len() - 1,
        ] {
            let id = &ids[probe];
            let c = Counting {
                inner: Cursor::new(&data),
                bytes: 0,
                reads: 0,
                seeks: 0,
            };
            let mut idx = Index::new(c, len).unwrap();
            let e = idx
                .find(id)
                .unwrap()
                .unwrap_or_else(|| panic!("{id:?} not found"));
            assert_eq!(&e.person_id, id);
            let i = ids.iter().position(|x| x == id).unwrap() as u64;
            assert_eq!(e.ranges[0], (i * 1000, 1000));
            assert_eq!(e.ranges[4], (i * 900, 900));
            let c = idx.into_inner();
            // log2(4 MB) ≈ 22 probes of at most ~2 small reads each.
            assert!(c.seeks <= 2 * 24 + 2, "{} seeks for {id:?}", c.seeks);
            assert!(
                c.bytes <= 48 * 1024,
                "{} bytes read for {id:?} of {len}",
                c.bytes
            );
        }
    }

    #[test]
    fn absent_keys_are_not_found() {
        let ids = ids(100_000);
        let data = build(&ids);
        let len = data.len() as u64;
        let mut idx = Index::new(Cursor::new(&data), len).unwrap();
        for absent in [
            "",
            "0000",
            "10000000000x",
            "a",
            "a\t",
            "zz",
            "\u{10FFFF}",
            "9999999999999999",
        ] {
            if ids.iter().any(|x| x == absent) {
                continue;
            }
            assert_eq!(idx.find(absent).unwrap(), None, "{absent:?}");
        }
    }

    #[test]
    fn exhaustive_on_small_indexes() {
        for n in 0..40usize {
            let ids: Vec<String> = (0..n).map(|i| format!("p{:03}", i * 2)).collect();
            let data = build(&ids);
            let mut idx = Index::new(Cursor::new(&data), data.len() as u64).unwrap();
            for i in 0..(2 * n + 2) {
                let id = format!("p{i:03}");
                let found = idx.find(&id).unwrap().map(|e| e.person_id);
                let expect = if i % 2 == 0 && i / 2 < n {
                    Some(id.clone())
                } else {
                    None
                };
                assert_eq!(found, expect, "n={n} id={id}");
            }
        }
    }

    #[test]
    fn index_without_comment_or_final_newline() {
        let mut data = build(&["a".to_string(), "b".to_string(), "c".to_string()]);
        let first_nl = data.iter().position(|&b| b == b'\n').unwrap();
        data.drain(..=first_nl);
        data.pop();
        let mut idx = Index::new(Cursor::new(&data), data.len() as u64).unwrap();
        for k in ["a", "b", "c"] {
            assert_eq!(idx.find(k).unwrap().unwrap().person_id, k);
        }
        assert!(idx.find("d").unwrap().is_none());
        assert_eq!(idx.first().unwrap().unwrap().person_id, "a");
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        let data = b"#c\nabc\t1,2\n".to_vec();
        let mut idx = Index::new(Cursor::new(&data), data.len() as u64).unwrap();
        assert!(matches!(
            idx.find("abc"),
            Err(SearchError::Malformed { offset: 3, .. })
        ));
        let data = b"#c\nabc 1,2\n".to_vec();
        let mut idx = Index::new(Cursor::new(&data), data.len() as u64).unwrap();
        assert!(matches!(
            idx.find("abc"),
            Err(SearchError::Malformed { .. })
        ));
        assert!(parse_line(b"x\t1,2\t3,4\t5,6\t7,8\tz,9").is_err());
        assert_eq!(
            parse_line(b"x%09\t1,2\t3,4\t5,6\t7,8\t9,10\textra").unwrap(),
            Entry {
                person_id: "x\t".into(),
                ranges: [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
            }
        );
    }
}
