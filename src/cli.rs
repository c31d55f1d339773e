//! Command-line arguments (clap derive) and their resolution into the
//! immutable configs of `config`, in two steps as ripgrep does: parse, then
//! resolve once (defaults applied, values checked, the clock read only for
//! the documented `--as-of` default). Nothing else reads arguments.

use crate::config::{EncodingChoice, LogFormat, RunConfig};
use crate::error::{Error, Result};
use crate::model::Period;
use crate::parse::{parse_date, parse_money, parse_period};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "contrib-recon",
    version,
    about = "Reconciles social-insurance contribution records month by month.",
    after_help = "Example:\n  contrib-recon run fixtures/demo/in --out out --as-of 2026-11-20 --through 2026-10\n  contrib-recon history out 10000000001"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reconcile a drop folder and write every output.
    Run(Box<RunArgs>),
    /// Print one person's history from a finished run.
    History(HistoryArgs),
    /// Rebuild report.html for a finished run.
    Report(ReportArgs),
    /// Write deterministic synthetic exports for testing and benchmarks.
    Generate(GenerateArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  contrib-recon run /data/drop/2026-11-20 --out /data/recon/current \\\n      --as-of 2026-11-20 --through 2026-10 --max-reject-rate 0.01\n\nExit codes: 0 ok, 2 usage, 3 input, 4 control totals/invariant, 5 reject rate, 6 I/O."
)]
pub struct RunArgs {
    /// Folder holding employers*.csv, events*.csv, payments*.csv, rates*.csv.
    pub input_dir: PathBuf,
    /// Output folder (replaced whole by a successful run).
    #[arg(long)]
    pub out: PathBuf,
    /// Date late fees accrue to (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub as_of: Option<String>,
    /// Last month contributions are due for (default: the month before --as-of).
    #[arg(long, value_name = "YYYY-MM")]
    pub through: Option<String>,
    /// Rates file (default: rates*.csv in INPUT_DIR, else the built-in table).
    #[arg(long, value_name = "FILE")]
    pub rates: Option<PathBuf>,
    /// Employers file(s), replacing discovery (repeatable).
    #[arg(long, value_name = "FILE")]
    pub employers: Vec<PathBuf>,
    /// Events file(s), replacing discovery (repeatable).
    #[arg(long, value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// Payments file(s), replacing discovery (repeatable).
    #[arg(long, value_name = "FILE")]
    pub payments: Vec<PathBuf>,
    /// Shortfall or excess (yuan) that still counts as paid.
    #[arg(long, default_value = "0.01")]
    pub tolerance: String,
    /// Late fee per day on a month's shortfall.
    #[arg(long, default_value = "0.0005")]
    pub late_fee_rate: String,
    /// Input encoding: auto (per file), utf-8 or gb18030.
    #[arg(long, default_value = "auto")]
    pub encoding: String,
    /// Input field delimiter: a single ASCII character, or `tab`.
    #[arg(long, default_value = ",")]
    pub delimiter: String,
    /// Worker threads (default: all cores); 1 keeps the whole run on one
    /// thread (no reader or hashing thread beside it).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Memory budget, e.g. 1G or 512M (default: half of physical memory).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Fail the run when more than this fraction of rows is rejected.
    #[arg(long, value_name = "R")]
    pub max_reject_rate: Option<String>,
    /// Folder for temporary spill files (default: OUT_DIR's parent).
    #[arg(long, value_name = "DIR")]
    pub temp_dir: Option<PathBuf>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// `json`: one JSON object per stage on stderr, for schedulers.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormatArg,
    /// Do not write report.html.
    #[arg(long)]
    pub no_report: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  contrib-recon history out 10000000028\n  contrib-recon history out 10000000028 --json"
)]
pub struct HistoryArgs {
    /// Output folder of a finished run.
    pub out_dir: PathBuf,
    /// The person to show.
    pub person_id: String,
    /// JSON instead of plain text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  contrib-recon report out   # rewrites out/report.html")]
pub struct ReportArgs {
    /// Output folder of a finished run.
    pub out_dir: PathBuf,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  contrib-recon generate bench/data/small --persons 20000 --years 10 --seed 1"
)]
pub struct GenerateArgs {
    /// Folder to write employers.csv, events.csv, payments.csv, rates.csv into.
    pub out_dir: PathBuf,
    /// Number of insured persons.
    #[arg(long, default_value_t = 1000)]
    pub persons: u64,
    /// Years of history, ending with the month before --as-of's month.
    #[arg(long, default_value_t = 10)]
    pub years: u32,
    /// Random seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The last month of generated history is the month before this date.
    #[arg(long, default_value = "2026-11-20")]
    pub as_of: String,
}

fn parse_decimal_opt(name: &str, v: &str) -> Result<rust_decimal::Decimal> {
    let d = parse_money(v.trim())
        .ok_or_else(|| Error::Usage(format!("--{name}: '{v}' is not a decimal number")))?;
    if d.is_sign_negative() {
        return Err(Error::Usage(format!("--{name}: must not be negative")));
    }
    Ok(d)
}

/// Parses a size such as `1G`, `512M`, `64K`, `1.5G` or a byte count.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => {
            let unit = s[i..].to_ascii_uppercase();
            let m: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
                "" => 1,
                "K" => 1 << 10,
                "M" => 1 << 20,
                "G" => 1 << 30,
                "T" => 1 << 40,
                _ => return None,
            };
            (&s[..i], m)
        }
        None => (s, 1),
    };
    let d = parse_money(num.trim())?;
    if d.is_sign_negative() {
        return None;
    }
    let bytes = d * rust_decimal::Decimal::from(mult);
    u64::try_from(bytes.trunc()).ok()
}

/// Physical memory in bytes (Linux `/proc/meminfo`; 8 GiB if unknown).
fn physical_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(8 << 30, |kb| kb * 1024)
}

impl RunArgs {
    /// Resolves arguments into the run's configuration.
    pub fn resolve(self) -> Result<RunConfig> {
        let as_of = match &self.as_of {
            Some(s) => parse_date(s.trim()).ok_or_else(|| {
                Error::Usage(format!("--as-of: '{s}' is not a date (YYYY-MM-DD)"))
            })?,
            None => chrono::Local::now().date_naive(),
        };
        let through = match &self.through {
            Some(s) => parse_period(s.trim()).ok_or_else(|| {
                Error::Usage(format!("--through: '{s}' is not a month (YYYY-MM)"))
            })?,
            None => Period::of_date(as_of).prev(),
        };
        let encoding = match self.encoding.to_ascii_lowercase().as_str() {
            "auto" => EncodingChoice::Auto,
            "utf-8" | "utf8" => EncodingChoice::Utf8,
            "gb18030" | "gbk" | "gb2312" => EncodingChoice::Gb18030,
            other => {
                return Err(Error::Usage(format!(
                    "--encoding: '{other}' is not auto, utf-8 or gb18030"
                )))
            }
        };
        let delimiter = match self.delimiter.as_str() {
            "tab" | "\\t" | "\t" => b'\t',
            d if d.len() == 1 && d.is_ascii() && d != "\"" && d != "\n" && d != "\r" => {
                d.as_bytes()[0]
            }
            d => {
                return Err(Error::Usage(format!(
                    "--delimiter: '{d}' is not a single ASCII character"
                )))
            }
        };
        let tolerance = parse_decimal_opt("tolerance", &self.tolerance)?;
        let late_fee_rate = parse_decimal_opt("late-fee-rate", &self.late_fee_rate)?;
        let max_reject_rate = match &self.max_reject_rate {
            Some(v) => Some(parse_decimal_opt("max-reject-rate", v)?),
            None => None,
        };
        let threads = match self.threads {
            Some(0) => return Err(Error::Usage("--threads: must be at least 1".into())),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let memory_limit = match &self.memory_limit {
            Some(s) => parse_size(s).filter(|&n| n > 0).ok_or_else(|| {
                Error::Usage(format!(
                    "--memory-limit: '{s}' is not a size such as 1G or 512M"
                ))
            })?,
            None => physical_memory() / 2,
        };
        let temp_dir = self
            .temp_dir
            .clone()
            .unwrap_or_else(|| match self.out.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            });
        Ok(RunConfig {
            input_dir: self.input_dir,
            out_dir: self.out,
            as_of,
            through,
            employers: self.employers,
            events: self.events,
            payments: self.payments,
            rates_arg: self
                .rates
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
            rates: self.rates,
            tolerance,
            tolerance_text: self.tolerance.trim().to_string(),
            late_fee_rate,
            late_fee_rate_text: self.late_fee_rate.trim().to_string(),
            encoding,
            delimiter,
            threads,
            memory_limit,
            max_reject_rate,
            max_reject_rate_text: self.max_reject_rate.map(|s| s.trim().to_string()),
            temp_dir,
            progress: !self.quiet,
            log_format: match self.log_format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            },
            report: !self.no_report,
        })
    }
}

/// Runs a parsed command line; returns the exit code.
pub fn execute(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => {
            let cfg = (*args).resolve()?;
            crate::run::run(&cfg)?;
            Ok(crate::error::exit::OK)
        }
        Command::History(a) => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            crate::history::run(&a.out_dir, &a.person_id, a.json, &mut out)?;
            Ok(crate::error::exit::OK)
        }
        Command::Report(a) => {
            crate::report::command(&a.out_dir)?;
            Ok(crate::error::exit::OK)
        }
        Command::Generate(a) => {
            let as_of = parse_date(a.as_of.trim())
                .ok_or_else(|| Error::Usage(format!("--as-of: '{}' is not a date", a.as_of)))?;
            let cfg = crate::generate::GenerateConfig {
                out_dir: a.out_dir,
                persons: a.persons,
                years: a.years,
                seed: a.seed,
                last_period: Period::of_date(as_of).prev(),
            };
            crate::generate::generate(&cfg)?;
            Ok(crate::error::exit::OK)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("1X"), None);
        assert_eq!(parse_size("-1G"), None);
    }
}
