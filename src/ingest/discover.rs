//! Input discovery: which files of each kind a run reads, in which order.
//!
//! SPEC §1/§7: files are found in INPUT_DIR by case-insensitive prefix and
//! `.csv` suffix (no subfolders); explicit `--employers/--events/--payments/
//! --rates` replace discovery for their kind. Files of a kind are read in
//! file-name order: case-insensitive, then case-sensitive.

use crate::config::{InputKind, RunConfig};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One input file and the name it is reported under (relative to INPUT_DIR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub kind: InputKind,
    pub path: PathBuf,
    pub display: String,
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.to_string_lossy().into_owned())
}

fn sort_by_name(files: &mut [InputFile]) {
    files.sort_by(|a, b| {
        let (na, nb) = (file_name(&a.path), file_name(&b.path));
        na.to_lowercase()
            .cmp(&nb.to_lowercase())
            .then_with(|| na.cmp(&nb))
            .then_with(|| a.display.cmp(&b.display))
    });
}

fn display_name(input_dir: &Path, p: &Path) -> String {
    match p.strip_prefix(input_dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_string_lossy().into_owned(),
        _ => p.to_string_lossy().into_owned(),
    }
}

/// Lists the files of every kind for `cfg`, each kind in reading order.
/// Rates may be empty (the built-in table is used then).
pub fn discover(cfg: &RunConfig) -> Result<Vec<InputFile>> {
    let mut found: Vec<(InputKind, PathBuf)> = Vec::new();
    let dir = &cfg.input_dir;
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot list input folder", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, "cannot list input folder", e))?;
        let path = entry.path();
        // Directories are not searched; anything else that matches is an
        // input, so a dangling link or an unreadable file fails the run
        // when it is opened instead of silently losing a volume.
        if path.is_dir() {
            continue;
        }
        let lower = file_name(&path).to_lowercase();
        if !lower.ends_with(".csv") {
            continue;
        }
        for kind in [
            InputKind::Employers,
            InputKind::Events,
            InputKind::Payments,
            InputKind::Rates,
        ] {
            if lower.starts_with(kind.name()) {
                found.push((kind, path.clone()));
            }
        }
    }
    let explicit = |kind: InputKind| -> Option<Vec<PathBuf>> {
        let v: Vec<PathBuf> = match kind {
            InputKind::Employers => cfg.employers.clone(),
            InputKind::Events => cfg.events.clone(),
            InputKind::Payments => cfg.payments.clone(),
            InputKind::Rates => cfg.rates.iter().cloned().collect(),
        };
        (!v.is_empty()).then_some(v)
    };
    let mut out = Vec::new();
    for kind in [
        InputKind::Employers,
        InputKind::Rates,
        InputKind::Events,
        InputKind::Payments,
    ] {
        let paths: Vec<PathBuf> = match explicit(kind) {
            Some(v) => v,
            None => found
                .iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, p)| p.clone())
                .collect(),
        };
        let mut files: Vec<InputFile> = paths
            .into_iter()
            .map(|path| InputFile {
                kind,
                display: display_name(dir, &path),
                path,
            })
            .collect();
        if files.is_empty() && kind != InputKind::Rates {
            return Err(Error::NoInput {
                kind: kind.name(),
                dir: dir.clone(),
            });
        }
        sort_by_name(&mut files);
        out.extend(files);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_order_is_case_insensitive_then_sensitive() {
        let mk = |n: &str| InputFile {
            kind: InputKind::Events,
            path: PathBuf::from(n),
            display: n.to_string(),
        };
        let mut v = vec![
            mk("Events_2020.csv"),
            mk("events_2004.csv"),
            mk("events_2020.csv"),
            mk("EVENTS_2013.csv"),
        ];
        sort_by_name(&mut v);
        let names: Vec<&str> = v.iter().map(|f| f.display.as_str()).collect();
        assert_eq!(
            names,
            [
                "events_2004.csv",
                "EVENTS_2013.csv",
                "Events_2020.csv",
                "events_2020.csv"
            ]
        );
    }
}
