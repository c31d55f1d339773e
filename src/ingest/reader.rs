//! Physical reading: bytes → decoded text → CSV records in bounded batches.
//!
//! Takes one file, an encoding choice and a delimiter. Guarantees: every
//! record comes out once, in file order, with the physical line it starts on
//! (header = line 1), its raw text without the final line end, and its
//! unquoted fields. Completely empty lines are skipped but advance the line
//! count. Memory is bounded by the batch size, not the file size.
//!
//! Most records are plain lines: no quote, no lone CR. Those are taken
//! line by line with `memchr` and kept as raw text only (their fields are
//! split later, on the parse workers, see [`Batch::fields_into`]);
//! `csv_core` handles every other record. Both paths give the same records
//! (a property test reads the same text whole and a few bytes at a time).
//!
//! Decoding happens *before* CSV splitting, so a GB18030 trail byte that
//! equals the delimiter (`|` is one) cannot split a field. Bytes that do not
//! decode are replaced by `0xFF`, which never occurs in UTF-8: a record that
//! holds one is not valid UTF-8 and the row parser rejects it as
//! `decode_error`; its raw text then shows U+FFFD there.

use super::batch::push_raw;
pub use super::batch::{Batch, RecordMeta};
pub use super::decode::{detect_encoding, Encoding};
use super::decode::{Source, CHUNK};
use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Records per batch handed to the parallel row parser.
pub const BATCH_RECORDS: usize = 32 * 1024;

/// Counts the line ends in `bytes`, which follow the bytes counted before:
/// `\n`, `\r\n` and a lone `\r` each end one physical line. `pending_cr`
/// carries a final CR whose LF may come in the next call.
fn count_line_ends(lines: &mut u64, pending_cr: &mut bool, bytes: &[u8]) {
    // Only CR and LF matter, and the byte right after a CR: jump between
    // them with memchr instead of looking at every byte.
    let mut next = 0usize;
    for p in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if *pending_cr && p > next {
            // The byte after the CR was an ordinary one: it ended the line.
            *lines += 1;
            *pending_cr = false;
        }
        let c = bytes[p];
        if c == b'\n' || *pending_cr {
            *lines += 1;
        }
        *pending_cr = c == b'\r';
        next = p + 1;
    }
    if *pending_cr && bytes.len() > next {
        *lines += 1;
        *pending_cr = false;
    }
}

/// Streams the records of one file.
pub struct RecordReader<R> {
    src: Source<R>,
    csv: csv_core::Reader,
    text: Vec<u8>,
    pos: usize,
    /// Line ends seen before `pos`: LF, CRLF and a lone CR (which
    /// `csv_core` also takes as a record end) each count once.
    lines: u64,
    /// The last byte counted was a CR: it is a line end of its own unless
    /// an LF follows.
    pending_cr: bool,
    done: bool,
    eof_sent: bool,
    /// `src` has no more text.
    src_done: bool,
    /// `csv` has been called at least once.
    csv_started: bool,
    delimiter: u8,
    /// `text[..clean_end]` from the last line the fast path looked at
    /// holds no quote and no CR.
    clean_end: usize,
}

impl RecordReader<File> {
    pub fn open(path: &Path, encoding: Encoding, delimiter: u8) -> Result<Self> {
        let f = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
        Ok(Self::new(f, encoding, delimiter))
    }
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R, encoding: Encoding, delimiter: u8) -> Self {
        let csv = csv_core::ReaderBuilder::new().delimiter(delimiter).build();
        RecordReader {
            src: Source::new(inner, encoding),
            csv,
            text: Vec::with_capacity(CHUNK * 2),
            pos: 0,
            lines: 0,
            pending_cr: false,
            done: false,
            eof_sent: false,
            src_done: false,
            csv_started: false,
            delimiter,
            clean_end: 0,
        }
    }

    /// Keeps the SHA-256 on the calling thread (no hashing thread); call
    /// before the first batch.
    pub fn hash_inline(&mut self) {
        self.src.sha = super::digest::FileDigest::inline_only();
    }

    /// Bytes of the underlying file read so far.
    pub fn bytes_read(&self) -> u64 {
        self.src.bytes_read
    }

    /// Size in bytes and SHA-256 (lower-case hex) of everything read; call
    /// after the last batch.
    pub fn digest(&mut self) -> (u64, String) {
        (self.src.bytes_read, self.src.sha.finish())
    }

    /// Reads up to `max` records into a fresh batch; an empty batch means
    /// end of file.
    pub fn next_batch(&mut self, max: usize) -> std::io::Result<Batch> {
        let mut b = Batch::default();
        self.fill_batch(&mut b, max)?;
        Ok(b)
    }

    /// Like [`RecordReader::next_batch`], reusing `b`'s buffers (a batch
    /// handed back by the consumer): no fresh pages to fault in and zero
    /// per batch.
    pub fn fill_batch(&mut self, b: &mut Batch, max: usize) -> std::io::Result<()> {
        b.clear();
        b.delimiter = self.delimiter;
        loop {
            if self.csv_started && !self.eof_sent {
                self.plain_records(b, max);
            }
            if b.records.len() >= max || !self.read_one(b)? {
                b.check_utf8();
                return Ok(());
            }
        }
    }

    /// Reads one record into `b`; false at end of file.
    fn read_one(&mut self, b: &mut Batch) -> std::io::Result<bool> {
        use csv_core::ReadRecordResult as R;
        if self.done {
            return Ok(false);
        }
        let data_start = b.data_used;
        let ends_start = b.ends_used;
        let mut data_len = 0usize;
        let mut nends = 0usize;
        let mut rec_start = self.pos;
        loop {
            if b.data.len() < data_start + data_len + 1024 {
                let n = (b.data.len() * 2).max(data_start + data_len + 64 * 1024);
                b.data.resize(n, 0);
            }
            if b.ends.len() < ends_start + nends + 64 {
                let n = (b.ends.len() * 2).max(ends_start + nends + 256);
                b.ends.resize(n, 0);
            }
            // Empty input means end of file to csv_core: fetch more first.
            // Before the first record, look at three bytes (leading BOMs
            // are skipped below), so that the records do not depend on how
            // the file's bytes arrive.
            let need = if self.csv_started || self.src_done {
                1
            } else {
                3
            };
            if !self.eof_sent && self.text.len() - self.pos < need {
                if rec_start > 0 {
                    self.text.drain(..rec_start);
                    self.pos -= rec_start;
                    self.clean_end = 0;
                    rec_start = 0;
                }
                if !self.src.next_chunk(&mut self.text)? {
                    self.src_done = true;
                    if self.pos == self.text.len() {
                        self.eof_sent = true;
                    }
                }
                continue;
            }
            if !self.csv_started && self.text[self.pos..].starts_with(b"\xEF\xBB\xBF") {
                // More BOMs after the one `Source` drops (or a decoded
                // GB18030 BOM) are not data either. Skip them here, where
                // the raw text and line numbers are kept: csv_core would
                // skip the first of them inside its own bookkeeping.
                self.pos += 3;
                rec_start = self.pos;
                continue;
            }
            self.csv_started = true;
            let input: &[u8] = if self.eof_sent {
                &[]
            } else {
                &self.text[self.pos..]
            };
            let (res, nin, nout, nend) = self.csv.read_record(
                input,
                &mut b.data[data_start + data_len..],
                &mut b.ends[ends_start + nends..],
            );
            self.pos += nin;
            data_len += nout;
            nends += nend;
            match res {
                // More input is fetched at the top of the loop.
                R::InputEmpty => {}
                R::OutputFull | R::OutputEndsFull => {}
                R::Record => break,
                R::End => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
        b.data_used = data_start + data_len;
        b.ends_used = ends_start + nends;
        self.push_record(b, rec_start, data_start, ends_start, nends, false);
        Ok(true)
    }

    /// The fast path for the common record: a whole line already buffered,
    /// with no quote and no lone CR in it. Its fields are the text between
    /// delimiters, so the record is just its raw text (the consumer splits
    /// it, see [`Batch::fields_into`]); `csv_core`, which is at a record
    /// start before and after such a line, is not involved. Takes lines
    /// until the batch holds `max` records or a line needs `csv_core`.
    fn plain_records(&mut self, b: &mut Batch, max: usize) {
        while b.records.len() < max {
            let avail = &self.text[self.pos..];
            // Leading line ends: blank lines, or the LF of the last CRLF.
            let s = avail
                .iter()
                .position(|&c| c != b'\n' && c != b'\r')
                .unwrap_or(avail.len());
            let Some(nl) = memchr::memchr(b'\n', &avail[s..]) else {
                return;
            };
            let body_start = self.pos + s;
            let mut body_end = body_start + nl;
            if self.text[body_end - 1] == b'\r' {
                body_end -= 1;
            }
            if self.clean_end < body_end {
                // The next quote or CR from here (one scan serves many
                // lines of a file without either).
                let rest = &self.text[body_start..];
                self.clean_end =
                    body_start + memchr::memchr2(b'"', b'\r', rest).unwrap_or(rest.len());
            }
            if self.clean_end < body_end {
                return;
            }
            let rec_start = self.pos;
            self.pos = body_start + nl + 1;
            if s == 0 && !self.pending_cr {
                // One line, ended by LF or CRLF: no counting needed.
                self.lines += 1;
                let line = self.lines;
                push_raw(b, line, &self.text[body_start..body_end], 0, 0, 0, true);
            } else {
                self.push_record(b, rec_start, 0, 0, 0, true);
            }
        }
    }

    /// Records the text `self.text[rec_start..self.pos]` as the next record
    /// of `b`: its raw span, the physical line it starts on, where its
    /// fields are.
    fn push_record(
        &mut self,
        b: &mut Batch,
        rec_start: usize,
        data_start: usize,
        ends_start: usize,
        nfields: usize,
        in_raw: bool,
    ) {
        // Raw span: skip leading line ends (blank lines, the LF of a CRLF),
        // drop the trailing line end.
        let span = &self.text[rec_start..self.pos];
        let mut s = 0usize;
        while s < span.len() && (span[s] == b'\n' || span[s] == b'\r') {
            s += 1;
        }
        let mut e = span.len();
        if e > s && span[e - 1] == b'\n' {
            e -= 1;
        }
        if e > s && span[e - 1] == b'\r' {
            e -= 1;
        }
        // The record starts on the line after every line end before its
        // first byte (that byte also settles a lone CR just before it).
        let first = (s + 1).min(span.len());
        count_line_ends(&mut self.lines, &mut self.pending_cr, &span[..first]);
        let line = self.lines + 1;
        count_line_ends(&mut self.lines, &mut self.pending_cr, &span[first..]);
        push_raw(
            b,
            line,
            &span[s..e],
            data_start,
            ends_start,
            nfields,
            in_raw,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_end_counting_matches_the_byte_rule() {
        fn naive(bytes: &[u8]) -> (u64, bool) {
            let (mut n, mut cr) = (0u64, false);
            for &c in bytes {
                if c == b'\n' || cr {
                    n += 1;
                }
                cr = c == b'\r';
            }
            (n, cr)
        }
        for s in [
            "",
            "a",
            "\n",
            "\r",
            "\r\n",
            "\r\r",
            "a\rb",
            "a\r\nb\n",
            "\r\n\r",
            "x\r\r\ny\rz\n\n",
        ] {
            let (mut n, mut cr) = (0u64, false);
            count_line_ends(&mut n, &mut cr, s.as_bytes());
            assert_eq!((n, cr), naive(s.as_bytes()), "{s:?}");
            // Split in two calls at every point.
            for k in 0..=s.len() {
                let (mut n, mut cr) = (0u64, false);
                count_line_ends(&mut n, &mut cr, &s.as_bytes()[..k]);
                count_line_ends(&mut n, &mut cr, &s.as_bytes()[k..]);
                assert_eq!((n, cr), naive(s.as_bytes()), "{s:?} split at {k}");
            }
        }
    }

    /// A record as the tests compare it: line, raw text, fields.
    type Rec = (u64, String, Option<Vec<String>>);

    fn push_records(b: &Batch, out: &mut Vec<Rec>) {
        for i in 0..b.len() {
            out.push((
                b.records[i].line,
                b.raw_text(i),
                b.fields(i)
                    .map(|f| f.iter().map(|s| s.to_string()).collect()),
            ));
        }
    }

    fn read_all(bytes: &[u8], enc: Encoding) -> Vec<Rec> {
        let mut r = RecordReader::new(bytes, enc, b',');
        let mut out = vec![];
        loop {
            let b = r.next_batch(3).unwrap();
            if b.is_empty() {
                break;
            }
            push_records(&b, &mut out);
        }
        out
    }

    #[test]
    fn the_digest_covers_every_byte_read_on_either_path() {
        // Over the inline limit, so the hashing thread is used; a BOM and
        // GB18030 take the raw-buffer path, plain UTF-8 the direct one.
        let mut text = b"\xEF\xBB\xBFh1,h2\n".to_vec();
        while text.len() < 3 << 20 {
            text.extend_from_slice(b"abc,\"d,e\"\r\n");
        }
        for enc in [Encoding::Utf8, Encoding::Gb18030] {
            let mut rdr = RecordReader::new(&text[..], enc, b',');
            while !rdr.next_batch(1000).unwrap().is_empty() {}
            let expected: String = <sha2::Sha256 as sha2::Digest>::digest(&text)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(rdr.digest(), (text.len() as u64, expected));
        }
    }

    #[test]
    fn a_reused_batch_reads_like_fresh_ones() {
        // Long and short records alternate, so a reused batch holds stale
        // bytes beyond what the next records write.
        let mut text = String::from("h1,h2\n");
        for i in 0..50 {
            let long = "x".repeat(if i % 2 == 0 { 3000 } else { 1 });
            text.push_str(&format!("\"{long}\",{i}\n{i},\"a\"\"b\"\n"));
        }
        let fresh = read_all(text.as_bytes(), Encoding::Utf8);
        let mut r = RecordReader::new(text.as_bytes(), Encoding::Utf8, b',');
        let mut b = Batch::default();
        let mut got = vec![];
        loop {
            r.fill_batch(&mut b, 3).unwrap();
            if b.is_empty() {
                break;
            }
            push_records(&b, &mut got);
        }
        assert_eq!(got, fresh);
        assert_eq!(got.len(), 101);
    }

    #[test]
    fn lines_blank_lines_crlf_and_quoted_newlines() {
        let text = b"h1,h2\r\na,b\r\n\r\n\"x\r\ny\",\"q\"\"q\"\r\nlast,1";
        let recs = read_all(text, Encoding::Utf8);
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0].0, 1);
        assert_eq!(recs[1].0, 2);
        assert_eq!(recs[1].1, "a,b");
        assert_eq!(recs[2].0, 4);
        assert_eq!(recs[2].1, "\"x\r\ny\",\"q\"\"q\"");
        assert_eq!(recs[2].2.as_ref().unwrap()[0], "x\r\ny");
        assert_eq!(recs[2].2.as_ref().unwrap()[1], "q\"q");
        assert_eq!(recs[3].0, 6);
        assert_eq!(recs[3].1, "last,1");
    }

    #[test]
    fn a_lone_cr_ends_a_line_as_it_ends_a_record() {
        // Classic Mac line ends, mixed with LF and CRLF, and inside quotes.
        let recs = read_all(b"h\ra\r\rb\nc\r\nd\r\"x\ry\"\re", Encoding::Utf8);
        let got: Vec<(u64, &str)> = recs.iter().map(|r| (r.0, r.1.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "h"),
                (2, "a"),
                (4, "b"),
                (5, "c"),
                (6, "d"),
                (7, "\"x\ry\""),
                (9, "e")
            ]
        );
    }

    /// A byte source handing out one byte per read.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn records_do_not_depend_on_read_sizes_with_a_second_bom() {
        // Two BOMs at the start (csv_core strips the second one only when
        // its first call sees all three bytes).
        let text = b"\xEF\xBB\xBF\xEF\xBB\xBFh,x\na,b\n";
        let whole = read_all(text, Encoding::Utf8);
        let mut r = RecordReader::new(Trickle(text), Encoding::Utf8, b',');
        let b = r.next_batch(10).unwrap();
        assert_eq!(
            b.fields(0).unwrap(),
            whole[0]
                .2
                .as_ref()
                .unwrap()
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
        );
        assert_eq!(b.raw_text(0), whole[0].1);
        assert_eq!(b.len(), 2);
        // Short files still end.
        assert_eq!(read_all(b"a", Encoding::Utf8).len(), 1);
        assert_eq!(read_all(b"\xEF\xBB", Encoding::Utf8).len(), 1);
    }

    proptest::proptest! {
        /// The in-place path for whole unquoted lines and `csv_core` agree:
        /// reading from one buffer (nearly every line is whole) gives what
        /// reading a few bytes at a time (lines rarely whole) gives.
        #[test]
        fn plain_lines_read_as_csv_core_reads_them(
            picks in proptest::collection::vec(0usize..10, 0..300)
        ) {
            const ALPHABET: [&[u8]; 10] =
                [b"a", b"b", b",", b",", b"\"", b"\r", b"\n", b"\n", b" ", "\u{e9}".as_bytes()];
            let text: Vec<u8> = picks.iter().flat_map(|&i| ALPHABET[i].to_vec()).collect();
            let whole = read_all(&text, Encoding::Utf8);
            let mut r = RecordReader::new(Trickle(&text), Encoding::Utf8, b',');
            let mut trickled = vec![];
            loop {
                let b = r.next_batch(3).unwrap();
                if b.is_empty() {
                    break;
                }
                push_records(&b, &mut trickled);
            }
            proptest::prop_assert_eq!(whole, trickled);
        }
    }

    #[test]
    fn leading_boms_are_not_data() {
        // A second BOM followed by an empty line: csv_core used to skip the
        // BOM itself, and the next record started "on line 1" with the BOM
        // and the line end in its raw text.
        let recs = read_all(b"\xEF\xBB\xBF\xEF\xBB\xBF\nh,x\na,b\n", Encoding::Utf8);
        let got: Vec<(u64, &str)> = recs.iter().map(|r| (r.0, r.1.as_str())).collect();
        assert_eq!(got, [(2, "h,x"), (3, "a,b")]);
        // Three BOMs, then the header on line 1.
        let recs = read_all(b"\xEF\xBB\xBF\xEF\xBB\xBF\xEF\xBB\xBFh\n", Encoding::Utf8);
        assert_eq!((recs[0].0, recs[0].1.as_str()), (1, "h"));
        // Only BOMs: no record.
        assert!(read_all(b"\xEF\xBB\xBF\xEF\xBB\xBF", Encoding::Utf8).is_empty());
        // A decoded GB18030 BOM (84 31 95 33) is skipped the same way.
        let recs = read_all(b"\x84\x31\x95\x33h,x\n", Encoding::Gb18030);
        assert_eq!((recs[0].0, recs[0].1.as_str()), (1, "h,x"));
    }

    #[test]
    fn bom_is_stripped_and_whitespace_line_is_a_record() {
        let text = b"\xEF\xBB\xBFa,b\n   \n,,\n";
        let recs = read_all(text, Encoding::Utf8);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0].1, "a,b");
        assert_eq!(recs[1].1, "   ");
        assert_eq!(recs[2].2.as_ref().unwrap().len(), 3);
    }

    #[test]
    fn gb18030_decodes_and_marks_bad_bytes() {
        let (enc, _, _) = encoding_rs::GB18030.encode("险种,金额\n养老,1\n");
        let mut bytes = enc.into_owned();
        bytes.extend_from_slice(b"\x81\x20,2\n\x84\x31\xA5\x30x,3\n");
        let recs = read_all(&bytes, Encoding::Gb18030);
        assert_eq!(recs[0].2.as_ref().unwrap()[0], "险种");
        assert_eq!(recs[1].2.as_ref().unwrap()[0], "养老");
        assert!(recs[2].2.is_none());
        assert!(recs[2].1.contains('\u{FFFD}'));
        assert_eq!(recs[2].0, 3);
        // An unassigned four-byte sequence costs its first byte only.
        assert_eq!(recs[3].1, "\u{FFFD}1\u{FFFD}0x,3");
    }

    #[test]
    fn invalid_utf8_is_a_decode_error() {
        let recs = read_all(b"a,b\n\xC3x,1\nok,2\n", Encoding::Utf8);
        assert!(recs[1].2.is_none());
        assert_eq!(recs[2].2.as_ref().unwrap()[0], "ok");
    }
}
