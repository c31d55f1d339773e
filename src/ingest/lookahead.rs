//! Encoding detection one file ahead of the parse.
//!
//! Takes the input files in the order `ingest` reads them; guarantees the
//! encoding (or the error) of each, in that order, exactly as
//! [`detect_encoding`] gives it.
//!
//! Why: `auto` detection (SPEC §1: UTF-8 when the whole file is valid
//! UTF-8) reads a file from end to end before its first row can be parsed.
//! On the parsing thread that read was serial time: about 0.6 s on the
//! medium bench set before the payments file's parse could start, which
//! capped what a second core could give. Here one thread detects the
//! files in order, at most two ahead, while the earlier ones are parsed;
//! the parse of a file waits only for that file's verdict. With
//! `--threads 1`, a forced `--encoding` or a single file there is nothing
//! to overlap, and detection stays inline, as it was.

use super::decode::{detect_encoding, Encoding};
use super::discover::InputFile;
use crate::config::{EncodingChoice, RunConfig};
use crate::error::Result;
use std::sync::mpsc::{sync_channel, Receiver};

/// The encodings of the run's files, computed ahead when that helps.
pub(super) struct Encodings {
    ahead: Option<Receiver<Result<Encoding>>>,
    choice: EncodingChoice,
}

impl Encodings {
    /// Starts detecting `files` (in this order) on a thread of its own
    /// when that can overlap with parsing.
    pub(super) fn start(files: &[InputFile], cfg: &RunConfig) -> Encodings {
        let inline = Encodings {
            ahead: None,
            choice: cfg.encoding,
        };
        if cfg.one_thread() || cfg.encoding != EncodingChoice::Auto || files.len() < 2 {
            return inline;
        }
        let paths: Vec<_> = files.iter().map(|f| f.path.clone()).collect();
        let (tx, rx) = sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("detect-encoding".into())
            .spawn(move || {
                for p in paths {
                    // The receiver is gone when ingest stopped early.
                    if tx.send(detect_encoding(&p, EncodingChoice::Auto)).is_err() {
                        break;
                    }
                }
            });
        match spawned {
            Ok(_) => Encodings {
                ahead: Some(rx),
                ..inline
            },
            Err(_) => inline,
        }
    }

    /// The encoding of `file`, the next file in the order given to
    /// [`Encodings::start`]; detected here if the thread is gone.
    pub(super) fn next(&mut self, file: &InputFile) -> Result<Encoding> {
        if let Some(rx) = &self.ahead {
            match rx.recv() {
                Ok(verdict) => return verdict,
                // The thread ended without a verdict (it cannot, short of a
                // panic): detect this one and the rest inline.
                Err(_) => self.ahead = None,
            }
        }
        detect_encoding(&file.path, self.choice)
    }
}
