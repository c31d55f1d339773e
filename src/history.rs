//! `contrib-recon history`: one person's history from a finished run.
//! (Being written.)

use crate::error::Result;
use std::io::Write;
use std::path::Path;

/// Prints `person_id`'s history from `out_dir` to `out`.
pub fn run(_out_dir: &Path, _person_id: &str, _json: bool, _out: &mut dyn Write) -> Result<()> {
    Ok(())
}
