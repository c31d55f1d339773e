//! Phase 1's writes to its spill files, on a thread of their own.
//!
//! Takes, batch by batch and in file order, the encoded bytes of each
//! partition; guarantees they reach the partition files in that order,
//! and reports the first write error (with the file) at the next batch
//! or at [`PartWriter::finish`]. Copying the bytes into the page cache
//! was about a seventh of a large `--memory-limit 1G` run's phase 1, all
//! of it on the thread that merges batches in file order, which the
//! parsing workers then waited on. With `--threads 1` the writes stay
//! inline.

use super::write_err;
use crate::error::{Error, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

/// One batch: per encoded chunk, one buffer per partition.
type Job = Vec<Vec<Vec<u8>>>;

/// Batches queued for the thread: bounds the bytes held in flight (a
/// batch is about 1 MiB of input, encoded).
const QUEUE: usize = 2;

/// The partition files of one kind, written inline or by a thread.
pub struct PartWriter {
    mode: Mode,
}

enum Mode {
    Inline(Files),
    Thread {
        tx: SyncSender<Job>,
        handle: JoinHandle<Result<Files>>,
    },
    Finished,
}

/// The open files and their paths (for error messages).
struct Files {
    writers: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
}

impl Files {
    fn write(&mut self, job: &Job) -> Result<()> {
        for bufs in job {
            for ((w, path), bytes) in self.writers.iter_mut().zip(&self.paths).zip(bufs) {
                if !bytes.is_empty() {
                    w.write_all(bytes).map_err(write_err(path.clone()))?;
                }
            }
        }
        Ok(())
    }

    fn flush(mut self) -> Result<()> {
        for (w, path) in self.writers.iter_mut().zip(&self.paths) {
            w.flush().map_err(write_err(path.clone()))?;
        }
        Ok(())
    }
}

impl PartWriter {
    /// Writes to `writers` (opened by the caller; `paths` name them in
    /// errors), on a thread of its own when `threaded`.
    pub fn new(
        writers: Vec<BufWriter<File>>,
        paths: Vec<PathBuf>,
        threaded: bool,
    ) -> Result<PartWriter> {
        let first = paths.first().cloned().unwrap_or_default();
        let files = Files { writers, paths };
        if !threaded {
            return Ok(PartWriter {
                mode: Mode::Inline(files),
            });
        }
        let (tx, rx) = sync_channel::<Job>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("spill-writer".into())
            .spawn(move || -> Result<Files> {
                let mut files = files;
                for job in rx {
                    files.write(&job)?;
                }
                Ok(files)
            })
            .map_err(|e| Error::io(first, "cannot start the spill writer thread for", e))?;
        Ok(PartWriter {
            mode: Mode::Thread { tx, handle },
        })
    }

    /// Appends one batch (per chunk, one buffer per partition).
    pub fn write(&mut self, job: Job) -> Result<()> {
        match &mut self.mode {
            Mode::Inline(files) => files.write(&job),
            Mode::Thread { tx, .. } => match tx.send(job) {
                Ok(()) => Ok(()),
                // The thread stopped: report its error (it stops only on
                // one).
                Err(_) => match self.join() {
                    Ok(_) => Err(Error::Invariant(
                        "the spill writer stopped without an error".into(),
                    )),
                    Err(e) => Err(e),
                },
            },
            Mode::Finished => Err(Error::Invariant("spill writer used after finish".into())),
        }
    }

    /// Waits for the queued batches and flushes every file.
    pub fn finish(&mut self) -> Result<()> {
        self.join()?.map_or(Ok(()), Files::flush)
    }

    /// Ends the thread (if any) and takes the files back.
    fn join(&mut self) -> Result<Option<Files>> {
        match std::mem::replace(&mut self.mode, Mode::Finished) {
            Mode::Inline(files) => Ok(Some(files)),
            Mode::Thread { tx, handle } => {
                drop(tx);
                match handle.join() {
                    Ok(files) => files.map(Some),
                    Err(_) => Err(Error::Invariant("the spill writer thread panicked".into())),
                }
            }
            Mode::Finished => Ok(None),
        }
    }
}

impl Drop for PartWriter {
    /// On an early return the thread is still joined, so no write
    /// outlives the spill folder's removal.
    fn drop(&mut self) {
        let _ = self.join();
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A write error (the disk full, as `/dev/full` answers) reaches the
    /// caller with the file's path, threaded or inline.
    #[test]
    fn write_errors_are_reported() {
        for threaded in [true, false] {
            let path = PathBuf::from("/dev/full");
            let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            let mut w = PartWriter::new(vec![BufWriter::new(file)], vec![path], threaded).unwrap();
            let mut result = Ok(());
            for _ in 0..(2 * QUEUE + 2) {
                result = result.and_then(|()| w.write(vec![vec![vec![7u8; 100_000]]]));
            }
            let e = result.and_then(|()| w.finish()).unwrap_err();
            assert!(e.to_string().contains("/dev/full"), "{e}");
        }
    }

    #[test]
    fn batches_arrive_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("p{i}"))).collect();
        let files = paths
            .iter()
            .map(|p| BufWriter::new(File::create(p).unwrap()))
            .collect();
        let mut w = PartWriter::new(files, paths.clone(), true).unwrap();
        for b in 0..50u8 {
            w.write(vec![vec![vec![b], vec![]], vec![vec![], vec![b, b]]])
                .unwrap();
        }
        w.finish().unwrap();
        assert_eq!(
            std::fs::read(&paths[0]).unwrap(),
            (0..50).collect::<Vec<u8>>()
        );
        let both: Vec<u8> = (0..50).flat_map(|b| [b, b]).collect();
        assert_eq!(std::fs::read(&paths[1]).unwrap(), both);
    }
}
