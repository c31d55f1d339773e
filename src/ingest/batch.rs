//! Read batches: the records of one stretch of a file, as the reader
//! fills them and the parse workers consume them.
//!
//! Takes what [`super::reader::RecordReader`] pushes: each record's raw
//! text, the physical line it starts on, and either its unquoted fields
//! (records `csv_core` split) or nothing more (plain records, whose fields
//! are the raw text between delimiters). Guarantees: [`Batch::fields_into`]
//! gives the same fields for both kinds, and `None`/false for a record
//! that is not valid UTF-8 (a `decode_error`). The buffers are kept when a
//! batch is cleared, so a recycled batch allocates nothing.

/// Where one record lies inside its [`Batch`].
#[derive(Debug, Clone, Copy)]
pub struct RecordMeta {
    /// Physical line the record starts on (header = 1).
    pub line: u64,
    pub(super) raw_start: usize,
    pub(super) raw_end: usize,
    pub(super) data_start: usize,
    pub(super) ends_start: usize,
    pub(super) nfields: usize,
    /// The fields lie in the raw text itself (a record without quotes):
    /// `ends` are offsets from `raw_start` and nothing was copied to `data`.
    pub(super) in_raw: bool,
}

/// A bounded run of consecutive records of one file.
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<RecordMeta>,
    pub(super) raw: Vec<u8>,
    /// Unquoted field bytes; only `..data_used` is meaningful (the rest is
    /// spare room, grown by doubling).
    pub(super) data: Vec<u8>,
    pub(super) data_used: usize,
    pub(super) ends: Vec<usize>,
    pub(super) ends_used: usize,
    /// The file's delimiter, for splitting records kept as raw text.
    pub(super) delimiter: u8,
    /// Every record's raw text is valid UTF-8 (see [`Batch::check_utf8`]).
    pub(super) utf8: bool,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.records.len()
    }
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    /// The record's raw bytes (decoded text, `0xFF` where undecodable),
    /// without its final line end.
    pub fn raw(&self, i: usize) -> &[u8] {
        let m = &self.records[i];
        &self.raw[m.raw_start..m.raw_end]
    }
    /// The record's raw text for `rejects.csv` (undecodable bytes as U+FFFD).
    pub fn raw_text(&self, i: usize) -> String {
        String::from_utf8_lossy(self.raw(i)).into_owned()
    }
    /// The number of fields the record splits into (decodable or not).
    pub fn nfields(&self, i: usize) -> usize {
        let m = &self.records[i];
        if m.in_raw {
            let mut n = 1;
            for_each_byte(self.raw(i), self.delimiter, |_| n += 1);
            n
        } else {
            m.nfields
        }
    }
    /// The record's unquoted fields, or `None` when its bytes are not valid
    /// UTF-8 (a `decode_error`).
    pub fn fields(&self, i: usize) -> Option<Vec<&str>> {
        let mut out = Vec::new();
        self.fields_into(i, &mut out).then_some(out)
    }

    /// Like [`Batch::fields`], into a caller's (reused) vector; false when
    /// the record is not valid UTF-8.
    pub fn fields_into<'a>(&'a self, i: usize, out: &mut Vec<&'a str>) -> bool {
        out.clear();
        let m = &self.records[i];
        let raw = self.raw(i);
        if m.in_raw {
            // One UTF-8 check for the whole record; its fields are cut at
            // (ASCII) delimiters, so `get` only fails for a non-ASCII
            // delimiter splitting a character, which is undecodable too.
            let text = if self.utf8 {
                // SAFETY: `check_utf8` found the whole of `self.raw` valid,
                // and `raw` is one record's text between two `\n` that
                // `push_raw` put there: ASCII bytes, so character
                // boundaries.
                unsafe { std::str::from_utf8_unchecked(raw) }
            } else {
                match std::str::from_utf8(raw) {
                    Ok(text) => text,
                    Err(_) => return false,
                }
            };
            if self.delimiter.is_ascii() {
                // An ASCII byte in valid UTF-8 is a character of its own,
                // so the text on either side of it is valid UTF-8.
                let mut prev = 0usize;
                for_each_byte(raw, self.delimiter, |end| {
                    out.push(ascii_cut(text, prev, end));
                    prev = end + 1;
                });
                out.push(ascii_cut(text, prev, raw.len()));
                return true;
            }
            let mut prev = 0usize;
            let mut ok = true;
            for_each_byte(raw, self.delimiter, |end| {
                match text.get(prev..end) {
                    Some(f) => out.push(f),
                    None => ok = false,
                }
                prev = end + 1;
            });
            match text.get(prev..) {
                Some(f) if ok => out.push(f),
                _ => return false,
            }
            return true;
        }
        let ends = &self.ends[m.ends_start..m.ends_start + m.nfields];
        // Without quotes the fields *are* the raw text between delimiters,
        // so checking them checks it; with quotes, check the raw text too
        // (a quote could split a multi-byte sequence).
        if memchr::memchr(b'"', raw).is_some() && std::str::from_utf8(raw).is_err() {
            return false;
        }
        let base = m.data_start;
        let mut prev = 0usize;
        for &end in ends {
            match std::str::from_utf8(&self.data[base + prev..base + end]) {
                Ok(f) => out.push(f),
                Err(_) => return false,
            }
            prev = end;
        }
        true
    }

    /// Checks the raw text of all records at once (one pass over the
    /// buffer at `from_utf8`'s ASCII speed, on the reader thread) instead of
    /// record by record on the workers. The records are separated by `\n`
    /// in `raw`, so the whole is valid exactly when every record is: an
    /// ASCII byte cannot complete a sequence another record began.
    pub(super) fn check_utf8(&mut self) {
        self.utf8 = std::str::from_utf8(&self.raw).is_ok();
    }

    /// Empties the batch for reuse, keeping its buffers.
    pub fn clear(&mut self) {
        self.records.clear();
        self.utf8 = false;
        self.raw.clear();
        self.data_used = 0;
        self.ends_used = 0;
    }
}

/// `text[from..to]`, where `from` is 0 or just after an ASCII byte of
/// `text` and `to` is the length of `text` or the position of an ASCII
/// byte: both are character boundaries, so the slice needs no check.
#[inline(always)]
fn ascii_cut(text: &str, from: usize, to: usize) -> &str {
    debug_assert!(text.is_char_boundary(from) && text.is_char_boundary(to) && from <= to);
    // SAFETY: `from <= to <= text.len()` and both are character
    // boundaries (see above), so the bytes between are valid UTF-8.
    unsafe { text.get_unchecked(from..to) }
}

/// Calls `f` with the position of each `d` in `bytes`, in order. Fields
/// are a few bytes long, so a `memchr` call per field, or a compare and
/// branch per byte, costs more than comparing a whole block at once and
/// walking the bits of the matches: 16 bytes at a time with SSE2 (part of
/// every x86-64), the last block overlapping the one before instead of a
/// byte loop; shorter records and other targets take eight at a time.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn for_each_byte(bytes: &[u8], d: u8, mut f: impl FnMut(usize)) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    if bytes.len() < 16 {
        return for_each_byte_swar(bytes, d, f);
    }
    // SAFETY (here and below): this function is only compiled where SSE2
    // is enabled for the target (the x86-64 baseline).
    let pattern = unsafe { _mm_set1_epi8(d as i8) };
    // The match bits of the 16 bytes at `at` (bit k for byte at + k).
    let mask = |at: usize| -> u32 {
        let block = &bytes[at..at + 16];
        // SAFETY: SSE2 as above; an unaligned load of the 16 bytes of
        // `block`, which exist (it is a slice of that length).
        unsafe {
            let v = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            _mm_movemask_epi8(_mm_cmpeq_epi8(v, pattern)) as u32
        }
    };
    // Calls `f` for each match bit, bit k standing for byte base + k.
    let mut emit = |mut hits: u32, base: usize| {
        while hits != 0 {
            f(base + hits.trailing_zeros() as usize);
            hits &= hits - 1;
        }
    };
    let mut base = 0usize;
    while base + 16 <= bytes.len() {
        emit(mask(base), base);
        base += 16;
    }
    let rest = bytes.len() - base;
    if rest > 0 {
        // The last 16 bytes, minus the ones the loop above has seen.
        emit(mask(bytes.len() - 16) >> (16 - rest), base);
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn for_each_byte(bytes: &[u8], d: u8, f: impl FnMut(usize)) {
    for_each_byte_swar(bytes, d, f)
}

/// [`for_each_byte`] eight bytes at a time in a `u64` (SWAR).
fn for_each_byte_swar(bytes: &[u8], d: u8, mut f: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = u64::from_le_bytes([d; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut base = 0usize;
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        // Zero bytes of `v` are the matches; the exact test (no carries
        // between bytes) leaves 0x80 in each of them.
        let v = u64::from_le_bytes(word) ^ pattern;
        let mut hits = !(((v & LOW7).wrapping_add(LOW7)) | v | LOW7);
        while hits != 0 {
            f(base + (hits.trailing_zeros() / 8) as usize);
            hits &= hits - 1;
        }
        base += 8;
    }
    for (k, &c) in words.remainder().iter().enumerate() {
        if c == d {
            f(base + k);
        }
    }
}

/// Appends one record (its raw text and where its fields are) to `b`.
pub(super) fn push_raw(
    b: &mut Batch,
    line: u64,
    raw: &[u8],
    data_start: usize,
    ends_start: usize,
    nfields: usize,
    in_raw: bool,
) {
    let raw_start = b.raw.len();
    b.raw.extend_from_slice(raw);
    let raw_end = b.raw.len();
    // A separator, so that a record's text is valid UTF-8 on its own when
    // the whole buffer is (`Batch::check_utf8`).
    b.raw.push(b'\n');
    b.records.push(RecordMeta {
        line,
        raw_start,
        raw_end,
        data_start,
        ends_start,
        nfields,
        in_raw,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_split_across_records_is_undecodable_in_both() {
        use crate::ingest::reader::{Encoding, RecordReader};
        // `a\xC3` and `\xA9b` would make a valid `é` if they were adjacent.
        let text = b"h\na\xC3\n\xA9b\nok,\xC3\xA9\n";
        let mut rdr = RecordReader::new(&text[..], Encoding::Utf8, b',');
        let b = rdr.next_batch(100).unwrap();
        assert_eq!(b.len(), 4);
        assert!(!b.utf8);
        assert_eq!(b.fields(0), Some(vec!["h"]));
        assert_eq!(b.fields(1), None);
        assert_eq!(b.fields(2), None);
        assert_eq!(b.fields(3), Some(vec!["ok", "é"]));
        let mut rdr = RecordReader::new(&b"h\nok,\xC3\xA9\n"[..], Encoding::Utf8, b',');
        let b = rdr.next_batch(100).unwrap();
        assert!(b.utf8);
        assert_eq!(b.fields(1), Some(vec!["ok", "é"]));
    }

    proptest::proptest! {
        #[test]
        fn blocks_find_what_a_byte_loop_finds(
            bytes in proptest::collection::vec(proptest::sample::select(vec![0u8, b',', b'a', 0x80, 0xff, 0x7f]), 0..80),
            d in proptest::sample::select(vec![b',', 0u8, 0x80, 0xff, 0x7f]),
        ) {
            let want: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == d).collect();
            let mut got = vec![];
            for_each_byte(&bytes, d, |p| got.push(p));
            proptest::prop_assert_eq!(&got, &want);
            got.clear();
            for_each_byte_swar(&bytes, d, |p| got.push(p));
            proptest::prop_assert_eq!(&got, &want);
        }
    }
}
