//! The one error type of the crate and its mapping to exit codes.
//!
//! Every fatal condition is a variant carrying where it happened (file,
//! line, field) so that `main` can print one line naming the place and the
//! problem. Row-level problems are *not* errors: they are rejects
//! (`ingest::Reject`) recorded in `rejects.csv`. Nothing in an error message
//! quotes a row's content (personal data stays out of logs).

use std::path::PathBuf;

/// Exit codes, documented in the README ("Exit codes").
pub mod exit {
    /// The run completed (findings are data, not failures).
    pub const OK: i32 = 0;
    /// Bad command line or option value.
    pub const USAGE: i32 = 2;
    /// Input cannot be trusted: unreadable file, missing required column.
    pub const INPUT: i32 = 3;
    /// Control totals or a run invariant did not hold.
    pub const INVARIANT: i32 = 4;
    /// More rows rejected than `--max-reject-rate` allows.
    pub const REJECT_RATE: i32 = 5;
    /// Reading or writing failed at the operating-system level.
    pub const IO: i32 = 6;
}

/// A fatal error. `Display` is the one line printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("usage: {0}")]
    Usage(String),

    #[error("{}: {op}: {source}", path.display())]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("{file}: line {line}: required column '{column}' is missing from the header")]
    MissingColumn {
        file: String,
        line: u64,
        column: &'static str,
    },

    #[error("{file}: line {line}: {problem}")]
    Input {
        file: String,
        line: u64,
        problem: String,
    },

    #[error("no {kind} input: no file matching '{kind}*.csv' in {} and no --{kind} given", dir.display())]
    NoInput { kind: &'static str, dir: PathBuf },

    #[error("reject rate {rate} exceeds --max-reject-rate {limit} ({rejected} of {read} rows rejected; see rejects.csv)")]
    RejectRate {
        rate: String,
        limit: String,
        rejected: u64,
        read: u64,
    },

    #[error("control totals do not balance: {0}")]
    Control(String),

    #[error("invariant violated: {0}")]
    Invariant(String),

    #[error("{0}")]
    Output(String),
}

impl Error {
    /// The process exit code for this error (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Io { .. } | Error::Output(_) => exit::IO,
            Error::MissingColumn { .. } | Error::Input { .. } | Error::NoInput { .. } => {
                exit::INPUT
            }
            Error::RejectRate { .. } => exit::REJECT_RATE,
            Error::Control(_) | Error::Invariant(_) => exit::INVARIANT,
        }
    }

    /// Shorthand for an I/O error on `path` during `op`.
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
