//! The thin binary: parse arguments, run, map the error to an exit code
//! and one line on stderr. Everything else lives in the library.

use clap::Parser;

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
