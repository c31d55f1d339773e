//! `report.html`: a self-contained page for the supervisor, built from a
//! finished run's output files. (Being written.)

use crate::error::Result;
use std::path::Path;

/// Writes `report.html` into `out_dir` from the outputs there.
pub fn write_report(_out_dir: &Path) -> Result<()> {
    Ok(())
}
