//! The `schemagate` binary: parses the command line and hands over to `schemagate::cli`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a snapshot of a large catalog allocates and frees hundreds of thousands of small
/// strings; with it the client's CPU time is about a fifth lower than with glibc's allocator
/// (BENCHMARKS.md, issue 17).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    schemagate::cli::run(schemagate::cli::Cli::parse())
}
