//! xsv-style work directory for black-box tests: a temp folder with an
//! `in/` drop folder, the binary run against it, outputs read back.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("in")).expect("mkdir in");
        Workdir { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `in/NAME` with the given bytes.
    pub fn input(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path("in").join(name), bytes).expect("write input");
    }

    /// The standard minimal employer registry plus national rates.
    pub fn basics(&self) {
        self.input(
            "employers.csv",
            "employer_id,name,credit_code,status,status_date,region,archive_transferred\n\
             E1,甲公司,,active,,440305,\n\
             E2,乙公司,,bankrupt,2023-05-16,440305,no\n",
        );
        self.input(
            "rates.csv",
            "region,insurance,from,to,employer_rate,individual_rate,base_floor,base_ceiling\n\
             *,pension,2000-01,,0.16,0.08,3000,30000\n\
             *,medical,2000-01,,0.06,0.02,,\n",
        );
    }

    /// `contrib-recon` with `args`, run in the work dir.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("contrib-recon").expect("binary");
        c.current_dir(self.dir.path()).args(args);
        c
    }

    /// `run in --out out` with the fixed dates used by the tests.
    pub fn run(&self, extra: &[&str]) -> assert_cmd::assert::Assert {
        let mut args = vec![
            "run",
            "in",
            "--out",
            "out",
            "--as-of",
            "2023-11-20",
            "--through",
            "2023-10",
            "--quiet",
        ];
        args.extend_from_slice(extra);
        self.cmd(&args).assert()
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Rows of an output CSV (header dropped), as vectors of fields.
    pub fn rows(&self, rel: &str) -> Vec<Vec<String>> {
        let mut r = csv::ReaderBuilder::new()
            .from_path(self.path(rel))
            .expect("open csv");
        r.records()
            .map(|x| x.expect("record").iter().map(str::to_string).collect())
            .collect()
    }

    pub fn summary(&self, rel: &str) -> serde_json::Value {
        serde_json::from_str(&self.read(rel)).expect("summary json")
    }
}

/// Every file in `dir` (recursively, relative path → bytes).
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(base: &Path, d: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        if let Ok(rd) = std::fs::read_dir(d) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(base, &p, out);
                } else if let Ok(b) = std::fs::read(&p) {
                    out.insert(
                        p.strip_prefix(base)
                            .unwrap_or(&p)
                            .to_string_lossy()
                            .into_owned(),
                        b,
                    );
                }
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// Removes `elapsed_seconds` so two summaries can be compared.
pub fn without_elapsed(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("elapsed_seconds");
    }
    v
}
