//! The thin binary: parse arguments, run, map the error to an exit code
//! and one line on stderr. Everything else lives in the library.

use clap::Parser;

/// mimalloc: the pipeline allocates many small strings per row; glibc
/// malloc spent a third of the run in its own bookkeeping. Built without
/// transparent huge pages (`no_thp` in Cargo.toml): with them every first
/// touch of a region zeroed 2 MiB, and a 1 GB run spent a quarter of its
/// CPU time in the kernel clearing pages.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = match contrib_recon::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version: clap's own text on stdout, exit 0.
            let _ = e.print();
            std::process::exit(0);
        }
        Err(e) => {
            // One line, like every other error (SPEC §1); `--help` has the rest.
            let msg = e.to_string();
            let first = msg
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("contrib-recon: usage: {first} (see --help)");
            std::process::exit(contrib_recon::error::exit::USAGE);
        }
    };
    match contrib_recon::cli::execute(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("contrib-recon: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
