//! Decoding: file bytes → UTF-8 text, for the record reader.
//!
//! Takes one file and an encoding choice (`--encoding`, or detection per
//! file: a UTF-8 BOM or valid UTF-8 means UTF-8, anything else GB18030).
//! Guarantees: the text handed on is UTF-8 except for `0xFF`, which marks
//! each byte sequence that does not decode (an invalid GB18030 sequence
//! costs its first byte only, as the reference implementation's raw text
//! shows); a leading BOM is dropped; every byte read is counted and hashed
//! (SHA-256, on a thread of its own: [`super::digest`]) for `summary.json`. Reads a chunk at a time, never the whole
//! file.

use crate::config::EncodingChoice;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Bytes read from disk per call.
pub(super) const CHUNK: usize = 1 << 20;

/// The encoding a file was read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gb18030,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Gb18030 => "gb18030",
        }
    }
}

/// Decides the encoding of `path` (SPEC §2 `auto`: a UTF-8 BOM, or valid
/// UTF-8 as a whole, is UTF-8; otherwise GB18030). Streams the file.
pub fn detect_encoding(path: &Path, choice: EncodingChoice) -> Result<Encoding> {
    match choice {
        EncodingChoice::Utf8 => return Ok(Encoding::Utf8),
        EncodingChoice::Gb18030 => return Ok(Encoding::Gb18030),
        EncodingChoice::Auto => {}
    }
    let mut f = File::open(path).map_err(|e| Error::io(path, "cannot open", e))?;
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize;
    let mut first = true;
    loop {
        let n = f
            .read(&mut buf[carry..carry + CHUNK])
            .map_err(|e| Error::io(path, "cannot read", e))?;
        let len = carry + n;
        if first && len >= 3 && buf[..3] == [0xEF, 0xBB, 0xBF] {
            return Ok(Encoding::Utf8);
        }
        if n == 0 {
            // Leftover bytes of an incomplete sequence at end of file.
            return Ok(if carry == 0 {
                Encoding::Utf8
            } else {
                Encoding::Gb18030
            });
        }
        first = false;
        match std::str::from_utf8(&buf[..len]) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buf.copy_within(valid..len, 0);
                carry = len - valid;
            }
            Err(_) => return Ok(Encoding::Gb18030),
        }
    }
}

/// A source of decoded (UTF-8, with `0xFF` for undecodable bytes) text.
pub(super) struct Source<R> {
    inner: R,
    encoding: Encoding,
    raw: Vec<u8>,
    raw_start: usize,
    raw_end: usize,
    eof: bool,
    bom_checked: bool,
    /// Bytes of the file read so far (for progress reporting).
    pub bytes_read: u64,
    pub(super) sha: super::digest::FileDigest,
}

impl<R: Read> Source<R> {
    pub(super) fn new(inner: R, encoding: Encoding) -> Self {
        Source {
            inner,
            encoding,
            raw: vec![0u8; CHUNK],
            raw_start: 0,
            raw_end: 0,
            eof: false,
            bom_checked: false,
            bytes_read: 0,
            sha: Default::default(),
        }
    }

    /// Moves unread bytes to the front and reads more (at least until 4
    /// bytes are buffered or end of file).
    fn fill_raw(&mut self) -> std::io::Result<()> {
        if self.raw_start > 0 {
            self.raw.copy_within(self.raw_start..self.raw_end, 0);
            self.raw_end -= self.raw_start;
            self.raw_start = 0;
        }
        while self.raw_end < self.raw.len() && !self.eof {
            let n = loop {
                match self.inner.read(&mut self.raw[self.raw_end..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.sha.update(&self.raw[self.raw_end..self.raw_end + n]);
            self.raw_end += n;
            self.bytes_read += n as u64;
            if self.raw_end >= 4 {
                break;
            }
        }
        Ok(())
    }

    /// Appends the next piece of decoded text to `out`; returns false at
    /// end of input.
    pub(super) fn next_chunk(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        if self.encoding == Encoding::Utf8 && self.bom_checked && self.raw_start == self.raw_end {
            // UTF-8 needs no decoding: read straight into `out` (into its
            // spare room, no zeroing), not through `raw`.
            if self.eof {
                return Ok(false);
            }
            let before = out.len();
            let n = (&mut self.inner).take(CHUNK as u64).read_to_end(out)?;
            self.sha.update(&out[before..]);
            self.bytes_read += n as u64;
            if n == 0 {
                self.eof = true;
            }
            return Ok(n > 0);
        }
        loop {
            if self.raw_end - self.raw_start < 4 && !self.eof {
                self.fill_raw()?;
            }
            if !self.bom_checked {
                self.bom_checked = true;
                if self.encoding == Encoding::Utf8
                    && self.raw[self.raw_start..self.raw_end].starts_with(&[0xEF, 0xBB, 0xBF])
                {
                    self.raw_start += 3;
                }
            }
            if self.raw_start == self.raw_end {
                if self.eof {
                    return Ok(false);
                }
                continue;
            }
            let before = out.len();
            let input = &self.raw[self.raw_start..self.raw_end];
            let used = match self.encoding {
                Encoding::Utf8 => {
                    out.extend_from_slice(input);
                    input.len()
                }
                Encoding::Gb18030 => decode_gb18030(input, self.eof, out),
            };
            self.raw_start += used;
            if out.len() > before || used > 0 {
                return Ok(true);
            }
            // Only an incomplete sequence is buffered: read more.
            self.fill_raw()?;
        }
    }
}

/// Whether a valid four-byte GB18030 sequence is one Python's codec (the
/// reference behaviour for legacy files) also accepts: BMP ranges below
/// linear index 39420, or supplementary planes.
fn four_byte_in_range(c: u8, c2: u8, c3: u8, c4: u8) -> bool {
    let (c, c2, c3, c4) = (
        u32::from(c - 0x81),
        u32::from(c2 - 0x30),
        u32::from(c3 - 0x81),
        u32::from(c4 - 0x30),
    );
    if c < 4 {
        (c * 10 + c2) * 1260 + c3 * 10 + c4 < 39420
    } else if c >= 15 {
        0x10000 + ((c - 15) * 10 + c2) * 1260 + c3 * 10 + c4 <= 0x10FFFF
    } else {
        false
    }
}

/// Decodes GB18030 `input` into UTF-8 in `out`, writing `0xFF` for each
/// undecodable byte. Error recovery follows the common legacy-codec rule:
/// an invalid sequence costs its first byte only, decoding resumes at the
/// next byte (so an ASCII byte after a bad lead byte survives). Returns the
/// bytes consumed; an incomplete sequence at the end is left for the next
/// call unless `last`.
pub(super) fn decode_gb18030(input: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
    let gb = encoding_rs::GB18030;
    let n = input.len();
    let mut i = 0usize;
    while i < n {
        let c = input[i];
        if c < 0x80 {
            let run = input[i..].iter().position(|&b| b >= 0x80).unwrap_or(n - i);
            out.extend_from_slice(&input[i..i + run]);
            i += run;
            continue;
        }
        if i + 1 >= n {
            if !last {
                break;
            }
            out.push(0xFF);
            i = n;
            break;
        }
        let c2 = input[i + 1];
        if (0x30..=0x39).contains(&c2) {
            if i + 3 >= n {
                if !last {
                    break;
                }
                out.push(0xFF);
                i = n;
                break;
            }
            let (c3, c4) = (input[i + 2], input[i + 3]);
            if (0x81..=0xFE).contains(&c)
                && (0x81..=0xFE).contains(&c3)
                && (0x30..=0x39).contains(&c4)
                && four_byte_in_range(c, c2, c3, c4)
            {
                if let Some(s) =
                    gb.decode_without_bom_handling_and_without_replacement(&input[i..i + 4])
                {
                    out.extend_from_slice(s.as_bytes());
                    i += 4;
                    continue;
                }
            }
            out.push(0xFF);
            i += 1;
            continue;
        }
        if (0x81..=0xFE).contains(&c) && c2 >= 0x40 && c2 != 0x7F && c2 != 0xFF {
            if let Some(s) =
                gb.decode_without_bom_handling_and_without_replacement(&input[i..i + 2])
            {
                out.extend_from_slice(s.as_bytes());
                i += 2;
                continue;
            }
        }
        out.push(0xFF);
        i += 1;
    }
    i
}
