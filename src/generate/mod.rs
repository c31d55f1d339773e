//! `contrib-recon generate`: deterministic synthetic exports. (Being written.)

use crate::error::Result;
use crate::model::Period;
use std::path::PathBuf;

/// Options of `contrib-recon generate`.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub out_dir: PathBuf,
    pub persons: u64,
    pub years: u32,
    pub seed: u64,
    /// The last month of generated history.
    pub last_period: Period,
}

/// Writes employers.csv, events.csv, payments.csv and rates.csv.
pub fn generate(_cfg: &GenerateConfig) -> Result<()> {
    Ok(())
}
