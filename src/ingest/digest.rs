//! The SHA-256 of each input file, for `summary.json`, computed off the
//! parsing thread.
//!
//! Takes the bytes the reader reads, in order; guarantees the digest of
//! exactly those bytes (what was parsed, not a second read of the file,
//! which could differ if the file changed meanwhile).
//!
//! Why a thread: SHA-256 runs at about 1.6 GB/s here, which was a quarter
//! of the single-thread parse time, and the reader thread it ran on feeds
//! every parse worker. Bytes are copied into 1 MiB buffers and handed to
//! a hashing thread over a bounded channel (so at most a few buffers are
//! in flight); empty buffers come back for reuse. A file shorter than
//! [`INLINE_LIMIT`] is hashed inline and never starts a thread; if a thread
//! cannot be started, hashing simply stays inline.

use sha2::{Digest, Sha256};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

/// Bytes hashed inline before the work moves to a thread.
const INLINE_LIMIT: u64 = 1 << 20;
/// Bytes per buffer handed to the thread: as large as the reader's chunk
/// ([`super::decode::CHUNK`]). With 256 KiB buffers a chunk took four
/// hand-offs and the queue held only 1 MiB, so the reading thread kept
/// waiting on the hasher: the parse bench's engine pass took 117–127 ms
/// against 99–103 ms now (paired runs, same hour).
const BUF: usize = 1 << 20;
/// Buffers queued for the thread at most.
const QUEUE: usize = 4;

/// A SHA-256 being computed, inline or on its own thread.
pub struct FileDigest {
    state: State,
    seen: u64,
    /// Whether a hashing thread may be started (not in a one-thread run).
    may_thread: bool,
}

enum State {
    Inline(Sha256),
    Thread {
        buf: Vec<u8>,
        to_hasher: Option<SyncSender<Vec<u8>>>,
        spare: Receiver<Vec<u8>>,
        hasher: Option<JoinHandle<Sha256>>,
    },
    Done(String),
}

impl Default for FileDigest {
    fn default() -> Self {
        FileDigest {
            state: State::Inline(Sha256::new()),
            seen: 0,
            may_thread: true,
        }
    }
}

impl FileDigest {
    /// A digest that is always computed inline, on the reading thread
    /// (`--threads 1`: the run uses one thread only).
    pub fn inline_only() -> Self {
        FileDigest {
            may_thread: false,
            ..FileDigest::default()
        }
    }

    /// Adds the next bytes of the file.
    pub fn update(&mut self, bytes: &[u8]) {
        self.seen += bytes.len() as u64;
        match &mut self.state {
            State::Inline(h) => {
                h.update(bytes);
                if self.may_thread && self.seen > INLINE_LIMIT {
                    self.start_thread();
                }
            }
            State::Thread {
                buf,
                to_hasher,
                spare,
                ..
            } => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let take = rest.len().min(BUF - buf.len());
                    buf.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    if buf.len() == BUF {
                        send(buf, to_hasher, spare);
                    }
                }
            }
            State::Done(_) => {}
        }
    }

    /// Moves the inline hasher to a thread of its own (stays inline if no
    /// thread can be started).
    fn start_thread(&mut self) {
        let State::Inline(h) = &self.state else {
            return;
        };
        let mut h = h.clone();
        let (to_hasher, work) = sync_channel::<Vec<u8>>(QUEUE);
        let (give_back, spare) = sync_channel::<Vec<u8>>(QUEUE + 2);
        let spawned = std::thread::Builder::new()
            .name("sha256".into())
            .spawn(move || {
                for mut b in work {
                    h.update(&b);
                    b.clear();
                    // The reader may be gone (finished or failed): the
                    // buffer is then just dropped.
                    let _ = give_back.try_send(b);
                }
                h
            });
        if let Ok(handle) = spawned {
            self.state = State::Thread {
                buf: Vec::with_capacity(BUF),
                to_hasher: Some(to_hasher),
                spare,
                hasher: Some(handle),
            };
        }
    }

    /// The lower-case hex digest of every byte added. Further updates are
    /// ignored; calling it again gives the same digest.
    pub fn finish(&mut self) -> String {
        if let State::Thread {
            buf,
            to_hasher,
            spare,
            ..
        } = &mut self.state
        {
            if !buf.is_empty() {
                send(buf, to_hasher, spare);
            }
        }
        let hash = match std::mem::replace(&mut self.state, State::Done(String::new())) {
            State::Inline(h) => Some(h),
            State::Thread {
                mut to_hasher,
                mut hasher,
                ..
            } => {
                drop(to_hasher.take());
                hasher.take().and_then(|j| j.join().ok())
            }
            State::Done(hex) => {
                self.state = State::Done(hex.clone());
                return hex;
            }
        };
        // A panicked hashing thread leaves no digest: say so in the
        // summary rather than report a wrong one.
        let hex = hash.map_or_else(
            || "unavailable".to_string(),
            |h| h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        );
        self.state = State::Done(hex.clone());
        hex
    }
}

/// Hands the current buffer to the hashing thread and takes a spare one.
fn send(buf: &mut Vec<u8>, to_hasher: &Option<SyncSender<Vec<u8>>>, spare: &Receiver<Vec<u8>>) {
    let next = spare.try_recv().unwrap_or_else(|_| Vec::with_capacity(BUF));
    let full = std::mem::replace(buf, next);
    if let Some(tx) = to_hasher {
        // The thread only stops when the sender is dropped, or if it
        // panicked; `finish` reports the latter.
        let _ = tx.send(full);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8]) -> String {
        Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn threaded_digest_equals_a_one_shot_digest() {
        let data: Vec<u8> = (0..5_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        // Pieces of awkward sizes, across the inline limit and buffer edges.
        for piece in [4093usize, 65_536, 300_001, 5_000_000] {
            let mut d = FileDigest::default();
            for c in data.chunks(piece) {
                d.update(c);
            }
            assert_eq!(d.finish(), reference(&data), "pieces of {piece}");
            assert_eq!(d.finish(), reference(&data), "finish is idempotent");
        }
    }

    #[test]
    fn small_and_empty_inputs_stay_inline() {
        let mut d = FileDigest::default();
        assert_eq!(d.finish(), reference(b""));
        let mut d = FileDigest::default();
        d.update(b"abc");
        assert!(matches!(d.state, State::Inline(_)));
        assert_eq!(d.finish(), reference(b"abc"));
    }

    #[test]
    fn an_inline_only_digest_never_starts_a_thread() {
        let data = vec![7u8; 3 << 20];
        let mut d = FileDigest::inline_only();
        for c in data.chunks(100_000) {
            d.update(c);
            assert!(matches!(d.state, State::Inline(_)));
        }
        assert_eq!(d.finish(), reference(&data));
    }
}
