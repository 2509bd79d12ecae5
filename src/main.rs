//! The `schemagate` binary: parses the command line and hands over to `schemagate::cli`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: a snapshot of a large catalog allocates and frees hundreds of thousands of small
/// strings; with it the client's CPU time is about a fifth lower than with glibc's allocator
/// (BENCHMARKS.md, issue 17). Version 2 (the crate's `v2` feature): version 3 keeps freed memory
/// for a second, which raised the review's peak memory to about 10× the script.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    schemagate::cli::run(schemagate::cli::Cli::parse())
}
