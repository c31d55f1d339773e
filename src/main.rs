//! The thin binary: parse arguments, run, map the error to an exit code
//! and one line on stderr. Everything else lives in the library.

use clap::Parser;

/// mimalloc: the pipeline allocates many small strings per row; glibc
/// malloc spent a third of the run in its own bookkeeping.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = contrib_recon::cli::Cli::parse();
    match contrib_recon::cli::execute(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("contrib-recon: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
