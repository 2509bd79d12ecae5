//! The `schemagate` binary: parses the command line and hands over to `schemagate::cli`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    schemagate::cli::run(schemagate::cli::Cli::parse())
}
