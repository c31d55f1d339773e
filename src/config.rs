//! The resolved, immutable configuration of one command.
//!
//! `cli` parses arguments and resolves them once into these structs (paths
//! checked, defaults applied, the clock read only for the documented
//! `--as-of` default); everything downstream takes `&Config` and never looks
//! at arguments or the environment again.

use crate::model::Period;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodingChoice {
    Auto,
    Utf8,
    Gb18030,
}

impl EncodingChoice {
    pub fn name(self) -> &'static str {
        match self {
            EncodingChoice::Auto => "auto",
            EncodingChoice::Utf8 => "utf-8",
            EncodingChoice::Gb18030 => "gb18030",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human progress on a terminal, nothing otherwise.
    Text,
    /// One JSON object per stage on stderr.
    Json,
}

/// The four input kinds, in the order SPEC §7 reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputKind {
    Employers,
    Rates,
    Events,
    Payments,
}

impl InputKind {
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Employers => "employers",
            InputKind::Rates => "rates",
            InputKind::Events => "events",
            InputKind::Payments => "payments",
        }
    }
}

/// Options of `contrib-recon run`.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub input_dir: PathBuf,
    pub out_dir: PathBuf,
    pub as_of: NaiveDate,
    pub through: Period,
    /// Explicit files per kind (empty: discover in `input_dir`).
    pub employers: Vec<PathBuf>,
    pub events: Vec<PathBuf>,
    pub payments: Vec<PathBuf>,
    pub rates: Option<PathBuf>,
    /// `--rates` as given, for `summary.json`.
    pub rates_arg: Option<String>,
    pub tolerance: Decimal,
    pub tolerance_text: String,
    pub late_fee_rate: Decimal,
    pub late_fee_rate_text: String,
    pub encoding: EncodingChoice,
    pub delimiter: u8,
    pub threads: usize,
    pub memory_limit: u64,
    pub max_reject_rate: Option<Decimal>,
    pub max_reject_rate_text: Option<String>,
    pub temp_dir: PathBuf,
    pub progress: bool,
    pub log_format: LogFormat,
    /// Also write `report.html`.
    pub report: bool,
}

impl RunConfig {
    /// `--threads 1`: the whole run stays on one thread, with no reader,
    /// hashing, disk or loader thread beside it (README Decision 20).
    pub fn one_thread(&self) -> bool {
        self.threads == 1
    }
}
