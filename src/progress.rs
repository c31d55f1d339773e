//! Progress and stage logging on stderr — never on stdout, never in outputs.
//!
//! Two audiences: a person at a terminal gets indicatif bars (bytes read of
//! total, rows/s, persons reconciled, ETA) when stderr is a terminal; a
//! scheduler gets one JSON object per stage with `--log-format json`.
//! Otherwise it is silent. Messages never quote row content.

use crate::config::LogFormat;
use crate::ingest::discover::InputFile;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Progress reporter shared (by reference) across stages and threads.
pub struct Progress {
    bar: Option<ProgressBar>,
    json: bool,
    started: Instant,
    rows: AtomicU64,
}

impl Progress {
    /// A reporter that prints nothing.
    pub fn silent() -> Self {
        Progress {
            bar: None,
            json: false,
            started: Instant::now(),
            rows: AtomicU64::new(0),
        }
    }

    /// Bars only when `show` and stderr is a terminal; JSON lines when asked.
    pub fn new(show: bool, format: LogFormat) -> Self {
        let json = format == LogFormat::Json;
        let bar = (show && !json && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:<28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        });
        Progress {
            bar,
            json,
            started: Instant::now(),
            rows: AtomicU64::new(0),
        }
    }

    /// Sets the total input size for the bytes bar.
    pub fn set_total_bytes(&self, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
        }
    }

    pub fn file_started(&self, file: &InputFile) {
        if let Some(b) = &self.bar {
            b.set_message(format!("reading {}", file.display));
        }
    }

    pub fn add_bytes(&self, bytes: u64, rows: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(bytes);
        }
    }

    /// Switches the bar to counting persons.
    pub fn start_persons(&self, total: u64) {
        if let Some(b) = &self.bar {
            b.set_position(0);
            b.set_length(total);
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg:<28} [{bar:30}] {pos}/{len} persons {per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b.set_message("reconciling");
        }
    }

    pub fn persons_done(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn rows_read(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    /// Logs one stage (`--log-format json`): `{"stage":…,"elapsed_seconds":…,…}`.
    pub fn stage(&self, stage: &str, fields: serde_json::Value) {
        if !self.json {
            return;
        }
        let mut obj = serde_json::Map::new();
        obj.insert("stage".into(), stage.into());
        obj.insert(
            "elapsed_seconds".into(),
            serde_json::json!((self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0),
        );
        if let serde_json::Value::Object(m) = fields {
            obj.extend(m);
        }
        let line = serde_json::Value::Object(obj).to_string();
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
