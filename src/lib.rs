//! contrib-recon: reconciles social-insurance contribution records.
//!
//! Data flows one way: `ingest` (read → validate → de-duplicate) →
//! `reconcile` (group by person → one pure function per person) →
//! `output` (write → publish atomically). `run` sequences the stages;
//! `cli` turns arguments into an immutable `config`. `history`, `report`
//! and `generate` are the other commands.

pub mod cli;
pub mod config;
pub mod error;
pub mod generate;
pub mod history;
pub mod ingest;
pub mod model;
pub mod outcome;
pub mod output;
pub mod parse;
pub mod progress;
pub mod rates;
pub mod reconcile;
pub mod report;
pub mod run;
pub mod spill;

pub use error::{Error, Result};
