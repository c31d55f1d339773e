//! The output file under the CSV writer: written with `O_DIRECT` from an
//! aligned buffer where the file system takes it, with ordinary buffered
//! writes otherwise.
//!
//! Takes bytes in order; guarantees the file holds exactly those bytes
//! after [`OutFile::finish`], which the caller then fsyncs.
//!
//! Why: the outputs are larger than the input (1.36 GB for the 1 GB
//! benchmark set) and must reach the disk before they are published. A
//! buffered write first copies every byte into freshly allocated page
//! cache, which on this VM ran at ~450 MB/s of CPU time (the first touch
//! of guest memory is slow); `dd` wrote 1.4 GB with fsync in 4.3–6.1 s
//! buffered (2.8–4.0 s of system time) and in 0.75–0.84 s with
//! `oflag=direct` (0.17 s). A direct write goes from this buffer to the
//! device; it must start at an aligned offset, from aligned memory, and
//! span whole blocks, so the buffer is [`ALIGN`]-aligned, written in full
//! [`CAP`]-byte blocks, and the tail is written padded to a block and the
//! file then cut to its length. A file system that refuses `O_DIRECT` (at
//! open, or on the first write) gets buffered writes instead, with the
//! kernel asked to start writeback every [`WRITEBACK_EVERY`] bytes so the
//! final fsync finds little left to do.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Alignment of buffer, offsets and lengths of direct writes (covers 512
/// and 4096-byte logical blocks).
pub const ALIGN: usize = 4096;
/// Bytes per write.
pub const CAP: usize = 1 << 20;
/// In buffered mode, how often the file starts the writeback of what it
/// has written.
pub const WRITEBACK_EVERY: u64 = 32 << 20;

/// An output file being written (see the module doc).
pub struct OutFile {
    file: File,
    /// Backing store; the block buffer is `mem[off..off + CAP]`.
    mem: Vec<u8>,
    off: usize,
    /// Bytes pending in the block buffer.
    len: usize,
    /// Bytes handed to the file so far.
    written: u64,
    direct: bool,
    /// Buffered mode: bytes handed to the kernel for writeback so far.
    started: u64,
}

impl OutFile {
    /// Creates (truncates) `path`, direct where possible.
    pub fn create(path: &Path) -> io::Result<Self> {
        Self::create_with(path, true)
    }

    fn create_with(path: &Path, try_direct: bool) -> io::Result<Self> {
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        let direct = if try_direct {
            open_direct(&opts, path).ok()
        } else {
            None
        };
        let (file, direct) = match direct {
            Some(f) => (f, true),
            None => (opts.open(path)?, false),
        };
        let mem = vec![0u8; CAP + ALIGN];
        let off = mem.as_ptr().align_offset(ALIGN);
        Ok(OutFile {
            file,
            mem,
            off,
            len: 0,
            written: 0,
            direct,
            started: 0,
        })
    }

    /// Whether writes go around the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Appends `data`.
    pub fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (CAP - self.len).min(data.len());
            let at = self.off + self.len;
            self.mem[at..at + n].copy_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
            if self.len == CAP {
                self.write_block(CAP)?;
                self.len = 0;
            }
        }
        Ok(())
    }

    /// Writes every byte and returns the file, cut to its exact length;
    /// the caller fsyncs it.
    pub fn finish(mut self) -> io::Result<File> {
        if self.len > 0 {
            self.write_block(self.len)?;
        }
        Ok(self.file)
    }

    /// Writes the first `real` bytes of the block buffer at the end of
    /// the file: directly, padded to whole blocks (the file is then cut
    /// back to `real`), or buffered. Writes are positioned (`pwrite`), so
    /// a direct write refused half-way is simply written again buffered.
    fn write_block(&mut self, real: usize) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let at = self.written;
        if self.direct {
            let padded = real.div_ceil(ALIGN) * ALIGN;
            self.mem[self.off + real..self.off + padded].fill(0);
            match self
                .file
                .write_all_at(&self.mem[self.off..self.off + padded], at)
            {
                Ok(()) => {
                    if padded != real {
                        self.file.set_len(at + real as u64)?;
                    }
                    self.written += real as u64;
                    return Ok(());
                }
                // Refused after all (an alignment this device does not
                // take): go buffered for the rest of the file.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => self.leave_direct()?,
                Err(e) => return Err(e),
            }
        }
        self.file
            .write_all_at(&self.mem[self.off..self.off + real], at)?;
        self.written += real as u64;
        if self.written - self.started >= WRITEBACK_EVERY {
            self.start_writeback();
        }
        Ok(())
    }

    /// Clears `O_DIRECT` on the open file.
    fn leave_direct(&mut self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            let fd = self.file.as_raw_fd();
            // SAFETY: `fd` is our open descriptor for the duration of the
            // calls; F_GETFL/F_SETFL read and set flags only.
            let ok = unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                flags >= 0 && libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) == 0
            };
            if !ok {
                return Err(io::Error::last_os_error());
            }
        }
        self.direct = false;
        Ok(())
    }

    /// Starts (does not wait for) the writeback of the bytes written so
    /// far. Only a hint: the final fsync is what guarantees durability,
    /// so a failure here is ignored.
    fn start_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::io::AsRawFd;
            let fd = self.file.as_raw_fd();
            let (from, len) = (self.started as i64, (self.written - self.started) as i64);
            // SAFETY: `fd` is our open descriptor, alive for the call; the
            // call reads no memory of ours.
            unsafe {
                libc::sync_file_range(fd, from, len, libc::SYNC_FILE_RANGE_WRITE);
            }
        }
        self.started = self.written;
    }
}

#[cfg(target_os = "linux")]
fn open_direct(opts: &OpenOptions, path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    opts.clone().custom_flags(libc::O_DIRECT).open(path)
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &OpenOptions, _: &Path) -> io::Result<File> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "no O_DIRECT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| b"0123456789,abcdef\n"[i % 18]).collect()
    }

    /// Writes `total` bytes in pieces of `piece`, optionally leaving
    /// direct mode after `switch_at` bytes; returns what the file holds.
    fn round_trip(
        try_direct: bool,
        total: usize,
        piece: usize,
        switch_at: Option<usize>,
    ) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let want = data(total);
        let mut f = OutFile::create_with(&path, try_direct).unwrap();
        assert!(try_direct || !f.is_direct());
        let mut done = 0;
        for c in want.chunks(piece.max(1)) {
            if switch_at.is_some_and(|s| done <= s && s < done + c.len()) {
                f.leave_direct().unwrap();
            }
            f.write_all(c).unwrap();
            done += c.len();
        }
        f.finish().unwrap().sync_all().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(
            got.len(),
            want.len(),
            "length, direct {try_direct}, {total} in {piece}"
        );
        assert!(
            got == want,
            "content, direct {try_direct}, {total} in {piece}"
        );
        got
    }

    #[test]
    fn the_file_holds_exactly_the_bytes_written() {
        for try_direct in [true, false] {
            for total in [
                0,
                1,
                ALIGN - 1,
                ALIGN,
                ALIGN + 1,
                CAP - 1,
                CAP,
                CAP + 1,
                3 * CAP + 4099,
            ] {
                for piece in [1000, 65_537, CAP + 3] {
                    round_trip(try_direct, total, piece, None);
                }
            }
        }
    }

    #[test]
    fn leaving_direct_mode_midway_loses_nothing() {
        for switch_at in [0, 5000, CAP, CAP + 100] {
            round_trip(true, 2 * CAP + 777, 4096 + 3, Some(switch_at));
        }
    }
}
