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
//!
//! Blocks go to the disk on a thread of the file's own (started when the
//! first block is full, so small files never start one; never with
//! `--threads 1`): a direct write
//! waits for the device, and the writing thread is a pool worker that
//! would otherwise sit idle for it (0.68 s in all for the 1 GB set). At
//! most [`QUEUE`] blocks wait for it; their buffers come back for reuse.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Alignment of buffer, offsets and lengths of direct writes (covers 512
/// and 4096-byte logical blocks).
pub const ALIGN: usize = 4096;
/// Bytes per write.
pub const CAP: usize = 1 << 20;
/// In buffered mode, how often the file starts the writeback of what it
/// has written.
pub const WRITEBACK_EVERY: u64 = 32 << 20;
/// Full blocks waiting for the disk thread at most.
pub const QUEUE: usize = 2;

/// A block buffer: the backing vector and the aligned offset of the
/// [`CAP`] bytes in use.
struct Buf {
    mem: Vec<u8>,
    off: usize,
}

impl Buf {
    fn new() -> Buf {
        let mem = vec![0u8; CAP + ALIGN];
        let off = mem.as_ptr().align_offset(ALIGN);
        Buf { mem, off }
    }
}

/// The writing end: the file, its mode and how far it is written.
struct Disk {
    file: File,
    /// Bytes written so far.
    written: u64,
    direct: bool,
    /// Buffered mode: bytes handed to the kernel for writeback so far.
    started: u64,
}

impl Disk {
    /// Writes the first `real` bytes of `b` at the end of the file:
    /// directly, padded to whole blocks (the file is then cut back to
    /// `real`), or buffered. Writes are positioned (`pwrite`), so a direct
    /// write refused half-way is simply written again buffered.
    fn write(&mut self, b: &mut Buf, real: usize) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        let at = self.written;
        if self.direct {
            let padded = real.div_ceil(ALIGN) * ALIGN;
            b.mem[b.off + real..b.off + padded].fill(0);
            match self.file.write_all_at(&b.mem[b.off..b.off + padded], at) {
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
        self.file.write_all_at(&b.mem[b.off..b.off + real], at)?;
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

/// Where full blocks go.
enum Lane {
    /// Written on the caller's thread (until the first block is full).
    Inline(Disk),
    /// Sent to the disk thread.
    Thread {
        to_disk: SyncSender<(Buf, usize)>,
        spare: Receiver<Buf>,
        disk: JoinHandle<io::Result<Disk>>,
    },
}

/// An output file being written (see the module doc).
pub struct OutFile {
    /// `None` only while a lane is being switched or after a failure.
    lane: Option<Lane>,
    /// Whether a disk thread may be started (not in a one-thread run).
    may_thread: bool,
    buf: Buf,
    /// Bytes pending in `buf`.
    len: usize,
}

impl OutFile {
    /// Creates (truncates) `path`, direct where possible; `may_thread`
    /// false keeps every write on the caller's thread (`--threads 1`).
    pub fn create(path: &Path, may_thread: bool) -> io::Result<Self> {
        Self::create_with(path, true, may_thread)
    }

    fn create_with(path: &Path, try_direct: bool, may_thread: bool) -> io::Result<Self> {
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
        Ok(OutFile {
            lane: Some(Lane::Inline(Disk {
                file,
                written: 0,
                direct,
                started: 0,
            })),
            may_thread,
            buf: Buf::new(),
            len: 0,
        })
    }

    /// Whether the file was opened for direct writes.
    pub fn is_direct(&self) -> bool {
        matches!(&self.lane, Some(Lane::Inline(d)) if d.direct)
    }

    /// Appends `data`.
    pub fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (CAP - self.len).min(data.len());
            let at = self.buf.off + self.len;
            self.buf.mem[at..at + n].copy_from_slice(&data[..n]);
            self.len += n;
            data = &data[n..];
            if self.len == CAP {
                self.ship()?;
            }
        }
        Ok(())
    }

    /// Hands the full block to the disk thread (starting it the first
    /// time; written inline if no thread can be started).
    fn ship(&mut self) -> io::Result<()> {
        let real = std::mem::take(&mut self.len);
        if self.may_thread && matches!(self.lane, Some(Lane::Inline(_))) {
            self.start_thread();
        }
        match self.lane.as_mut() {
            Some(Lane::Inline(d)) => d.write(&mut self.buf, real),
            Some(Lane::Thread { to_disk, spare, .. }) => {
                let next = spare.try_recv().unwrap_or_else(|_| Buf::new());
                let full = std::mem::replace(&mut self.buf, next);
                if to_disk.send((full, real)).is_ok() {
                    return Ok(());
                }
                // The thread stopped on an error: report it.
                self.join().map(|_| ())
            }
            None => Err(failed()),
        }
    }

    fn start_thread(&mut self) {
        let Some(Lane::Inline(ours)) = &self.lane else {
            return;
        };
        // The thread writes through its own descriptor of the same open
        // file (positioned `pwrite`s, the same `O_DIRECT` flag); if it
        // cannot be started, writing simply stays inline.
        let Ok(file) = ours.file.try_clone() else {
            return;
        };
        let mut disk = Disk {
            file,
            written: ours.written,
            direct: ours.direct,
            started: ours.started,
        };
        let (to_disk, blocks) = sync_channel::<(Buf, usize)>(QUEUE);
        let (give_back, spare) = sync_channel::<Buf>(QUEUE + 1);
        let spawned = std::thread::Builder::new()
            .name("output-disk".into())
            .spawn(move || {
                for (mut b, real) in blocks {
                    disk.write(&mut b, real)?;
                    let _ = give_back.try_send(b);
                }
                Ok(disk)
            });
        if let Ok(disk) = spawned {
            self.lane = Some(Lane::Thread {
                to_disk,
                spare,
                disk,
            });
        }
    }

    /// Stops the disk thread (after the blocks sent) and takes the disk
    /// back, or its error.
    fn join(&mut self) -> io::Result<Disk> {
        match self.lane.take() {
            Some(Lane::Inline(d)) => Ok(d),
            Some(Lane::Thread { to_disk, disk, .. }) => {
                drop(to_disk);
                disk.join().map_err(|_| failed())?
            }
            None => Err(failed()),
        }
    }

    /// Writes every byte and returns the file, cut to its exact length;
    /// the caller fsyncs it.
    pub fn finish(mut self) -> io::Result<File> {
        let real = self.len;
        let mut disk = self.join()?;
        if real > 0 {
            disk.write(&mut self.buf, real)?;
        }
        Ok(disk.file)
    }
}

fn failed() -> io::Error {
    io::Error::other("the output's disk thread failed")
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

    /// Writes `total` bytes in pieces of `piece`; checks the file holds
    /// exactly them.
    fn round_trip(try_direct: bool, may_thread: bool, total: usize, piece: usize) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let want = data(total);
        let mut f = OutFile::create_with(&path, try_direct, may_thread).unwrap();
        assert!(try_direct || !f.is_direct());
        for c in want.chunks(piece.max(1)) {
            f.write_all(c).unwrap();
        }
        f.finish().unwrap().sync_all().unwrap();
        let got = std::fs::read(&path).unwrap();
        let what = format!("direct {try_direct}, thread {may_thread}, {total} in {piece}");
        assert_eq!(got.len(), want.len(), "length, {what}");
        assert!(got == want, "content, {what}");
    }

    #[test]
    fn the_file_holds_exactly_the_bytes_written() {
        for (try_direct, may_thread) in [(true, true), (false, true), (true, false)] {
            for total in [
                0,
                1,
                ALIGN - 1,
                ALIGN,
                ALIGN + 1,
                CAP - 1,
                CAP,
                CAP + 1,
                7 * CAP + 4099,
            ] {
                for piece in [1000, 65_537, CAP + 3] {
                    round_trip(try_direct, may_thread, total, piece);
                }
            }
        }
    }

    #[test]
    fn leaving_direct_mode_midway_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let OutFile {
            lane: Some(Lane::Inline(mut disk)),
            mut buf,
            ..
        } = OutFile::create(&path, true).unwrap()
        else {
            panic!("a new file writes inline");
        };
        let want = data(3 * CAP + 777);
        let blocks: Vec<&[u8]> = want.chunks(CAP).collect();
        for (i, block) in blocks.iter().enumerate() {
            if i == 1 {
                disk.leave_direct().unwrap();
            }
            buf.mem[buf.off..buf.off + block.len()].copy_from_slice(block);
            disk.write(&mut buf, block.len()).unwrap();
        }
        disk.file.sync_all().unwrap();
        assert!(std::fs::read(&path).unwrap() == want);
    }
}
