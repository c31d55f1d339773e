//! The reader thread of one file: batches read ahead on a thread of
//! their own and handed to the parsing thread in order.
//!
//! Takes a [`RecordReader`] and a consumer; guarantees every batch reaches
//! the consumer in file order, batches the consumer hands back are
//! refilled (no fresh pages per batch), at most two filled batches wait
//! in the channel, and the reader thread stops (and is joined) whether the
//! file ends, the read fails or the consumer fails. Not used with
//! `--threads 1`, where the parsing thread reads between batches.

use super::reader::{Batch, RecordReader, BATCH_RECORDS};
use crate::error::{Error, Result};

/// Reads `rdr` on a thread of its own, handing each batch (with the
/// bytes read so far) to `consume` on this thread; the batches `consume`
/// gives back are refilled. Returns the file's size and SHA-256.
pub(super) fn read_batches<R: std::io::Read + Send>(
    mut rdr: RecordReader<R>,
    display: &str,
    mut consume: impl FnMut(Batch, u64) -> Result<Option<Batch>>,
    io_err: impl Fn(std::io::Error) -> Error,
) -> Result<(u64, String)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<(Batch, u64)>>(2);
    // Merged batches go back to the reader to be refilled.
    let (give_back, take_back) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|s| -> Result<(u64, String)> {
        let producer = s.spawn(move || {
            loop {
                let mut b = take_back.try_recv().unwrap_or_default();
                match rdr.fill_batch(&mut b, BATCH_RECORDS).map(|()| b) {
                    Ok(b) => {
                        let done = b.is_empty();
                        if tx.send(Ok((b, rdr.bytes_read()))).is_err() || done {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
            rdr.digest()
        });
        // Owned here, so that an early return drops it and a reader
        // blocked on a full channel stops instead of being waited for.
        let rx = rx;
        for msg in rx.iter() {
            let (batch, bytes) = msg.map_err(&io_err)?;
            if batch.is_empty() {
                break;
            }
            if let Some(b) = consume(batch, bytes)? {
                // The reader may be gone (error); then the batch drops.
                let _ = give_back.send(b);
            }
        }
        producer
            .join()
            .map_err(|_| Error::Invariant(format!("reader thread for {display} panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::reader::Encoding;

    fn input(rows: usize) -> Vec<u8> {
        let mut text = b"a,b\n".to_vec();
        for i in 0..rows {
            text.extend_from_slice(format!("{i},x\n").as_bytes());
        }
        text
    }

    #[test]
    fn every_batch_arrives_in_order_and_batches_are_reused() {
        let rows = BATCH_RECORDS * 5 + 17;
        let text = input(rows);
        let rdr = RecordReader::new(&text[..], Encoding::Utf8, b',');
        let (mut lines, mut seen) = (0usize, 0usize);
        let (size, _) = read_batches(
            rdr,
            "t",
            |b, _| {
                for i in 0..b.len() {
                    assert_eq!(b.records[i].line, (seen + i + 1) as u64);
                }
                seen += b.len();
                lines += 1;
                Ok(Some(b))
            },
            |e| Error::io(std::path::Path::new("t"), "cannot read", e),
        )
        .unwrap();
        assert_eq!(seen, rows + 1);
        assert!(lines >= 6);
        assert_eq!(size, text.len() as u64);
    }

    /// Regression: the channel lived outside the thread scope, so when the
    /// consumer failed (e.g. a spill file could not be written) on a file
    /// of more than a few batches, the reader blocked on the full channel
    /// and the scope waited for it forever.
    #[test]
    fn a_failing_consumer_stops_the_reader_instead_of_hanging() {
        let text = input(BATCH_RECORDS * 12);
        let rdr = RecordReader::new(&text[..], Encoding::Utf8, b',');
        let mut calls = 0;
        let got = read_batches(
            rdr,
            "t",
            |_, _| {
                calls += 1;
                if calls == 2 {
                    Err(Error::Invariant("consumer failed".into()))
                } else {
                    Ok(None)
                }
            },
            |e| Error::io(std::path::Path::new("t"), "cannot read", e),
        );
        assert!(matches!(got, Err(Error::Invariant(_))));
        assert_eq!(calls, 2);
    }
}
