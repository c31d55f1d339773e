//! All-or-nothing publication of a run's outputs (SPEC §1).
//!
//! A run writes into a staging folder beside OUT_DIR (`.NAME.staging-PID`),
//! writes `_SUCCESS` last, fsyncs, then swaps it in with two renames:
//! OUT_DIR → `.NAME.old-PID`, staging → OUT_DIR. A reader therefore sees the
//! previous complete set, or for an instant none, or the new complete set —
//! never a mix, whatever happens to the process. Leftovers of a killed run
//! are removed by the next run (and a previous set caught between the two
//! renames is put back first). A failed run leaves OUT_DIR's outputs alone
//! and publishes its diagnostics to `OUT_DIR/failed/` the same way.
//!
//! OUT_DIR belongs to the tool: a successful run replaces it whole.

use crate::error::{Error, Result};
use std::fs;
use std::path::{Path, PathBuf};

fn name_of(out_dir: &Path) -> String {
    out_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into())
}

fn parent_of(out_dir: &Path) -> PathBuf {
    match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

/// Removes what killed runs left beside `out_dir`, restoring a previous
/// complete set that was caught between the two renames.
pub fn clean_leftovers(out_dir: &Path) -> Result<()> {
    let parent = parent_of(out_dir);
    let name = name_of(out_dir);
    let Ok(entries) = fs::read_dir(&parent) else {
        return Ok(());
    };
    let staging = format!(".{name}.staging-");
    let old = format!(".{name}.old-");
    let mut olds = Vec::new();
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&staging) {
            let _ = fs::remove_dir_all(e.path());
        } else if n.starts_with(&old) {
            olds.push(e.path());
        }
    }
    for o in olds {
        if !out_dir.exists() && o.join("_SUCCESS").exists() {
            let _ = fs::rename(&o, out_dir);
        } else {
            let _ = fs::remove_dir_all(&o);
        }
    }
    if out_dir.exists() {
        if let Ok(entries) = fs::read_dir(out_dir) {
            for e in entries.flatten() {
                let n = e.file_name().to_string_lossy().into_owned();
                if n.starts_with(".failed.") {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
    }
    Ok(())
}

/// A folder being filled with a run's outputs.
pub struct Staging {
    pub dir: PathBuf,
    out_dir: PathBuf,
}

impl Staging {
    /// Creates the staging folder beside `out_dir` (creating the parent).
    pub fn begin(out_dir: &Path) -> Result<Self> {
        let parent = parent_of(out_dir);
        fs::create_dir_all(&parent)
            .map_err(|e| Error::io(&parent, "cannot create output parent folder", e))?;
        clean_leftovers(out_dir)?;
        let dir = parent.join(format!(
            ".{}.staging-{}",
            name_of(out_dir),
            std::process::id()
        ));
        if dir.exists() {
            let _ = fs::remove_dir_all(&dir);
        }
        fs::create_dir(&dir).map_err(|e| Error::io(&dir, "cannot create staging folder", e))?;
        Ok(Staging {
            dir,
            out_dir: out_dir.to_path_buf(),
        })
    }

    /// Writes `_SUCCESS` and swaps the staging folder in as OUT_DIR.
    pub fn publish(self) -> Result<()> {
        let ok = self.dir.join("_SUCCESS");
        fs::File::create(&ok)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::io(&ok, "cannot write", e))?;
        sync_dir(&self.dir);
        let parent = parent_of(&self.out_dir);
        let old = parent.join(format!(
            ".{}.old-{}",
            name_of(&self.out_dir),
            std::process::id()
        ));
        let had_old = self.out_dir.exists();
        if had_old {
            fs::rename(&self.out_dir, &old)
                .map_err(|e| Error::io(&self.out_dir, "cannot move previous outputs aside", e))?;
        }
        if let Err(e) = fs::rename(&self.dir, &self.out_dir) {
            if had_old {
                let _ = fs::rename(&old, &self.out_dir);
            }
            return Err(Error::io(&self.out_dir, "cannot publish outputs", e));
        }
        sync_dir(&parent);
        if had_old {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }

    /// Drops the staging folder (on any error path).
    pub fn abandon(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Publishes a failed run's diagnostics to `OUT_DIR/failed/`, atomically,
/// leaving every other file in OUT_DIR untouched.
pub fn publish_failed(out_dir: &Path, files: &[(&str, Vec<u8>)]) -> Result<()> {
    fs::create_dir_all(out_dir)
        .map_err(|e| Error::io(out_dir, "cannot create output folder", e))?;
    let stage = out_dir.join(format!(".failed.staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&stage);
    fs::create_dir(&stage).map_err(|e| Error::io(&stage, "cannot create", e))?;
    for (name, bytes) in files {
        let p = stage.join(name);
        if let Err(e) = fs::write(&p, bytes) {
            let _ = fs::remove_dir_all(&stage);
            return Err(Error::io(&p, "cannot write", e));
        }
    }
    sync_dir(&stage);
    let failed = out_dir.join("failed");
    let old = out_dir.join(format!(".failed.old-{}", std::process::id()));
    if failed.exists() {
        fs::rename(&failed, &old).map_err(|e| Error::io(&failed, "cannot move aside", e))?;
    }
    fs::rename(&stage, &failed).map_err(|e| Error::io(&failed, "cannot publish diagnostics", e))?;
    let _ = fs::remove_dir_all(&old);
    sync_dir(out_dir);
    Ok(())
}
