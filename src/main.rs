//! The `promlab` binary: parse arguments, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = promlab::cli::Cli::parse();
    ExitCode::from(promlab::main_with(cli))
}
