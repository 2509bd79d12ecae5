//! Command-line interface: one module per verb. `main.rs` only parses and dispatches.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod crd;
#[cfg(feature = "playground")]
pub mod dev;
#[cfg(feature = "playground")]
mod dev_identity;
pub mod diff;
pub mod exec_change;
pub mod notify_preview;
pub mod review;
mod review_live;
pub mod review_manifest;
pub mod review_output;
pub mod run;
pub mod snapshot;

/// schemagate — reviewed, approved, exactly-once database schema changes for Kubernetes.
#[derive(Debug, Parser)]
#[command(name = "schemagate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CustomResourceDefinitions of all four kinds as multi-document YAML.
    Crd(crd::CrdArgs),
    /// Review SQL files or SchemaChange manifests against the SQL review policy (for CI).
    Review(review::ReviewArgs),
    /// The playground: an in-process Kubernetes API, the operator and a SQLite database.
    #[cfg(feature = "playground")]
    Dev(dev::DevArgs),
    /// Run the operator: the four controllers, /metrics, /healthz, /readyz, leader election.
    Run(Box<run::RunArgs>),
    /// Print a database's canonical schema (DDL or JSON).
    Snapshot(snapshot::SnapshotArgs),
    /// Compare two schema snapshots (files or database URLs); exit 1 when they differ.
    Diff(diff::DiffArgs),
    /// Print the request a notification channel receives for an example change (sends nothing).
    NotifyPreview(notify_preview::NotifyPreviewArgs),
    /// Run one change through the executor (fault tests, debugging).
    #[command(name = "__exec-change", hide = true)]
    ExecChange(exec_change::ExecChangeArgs),
}

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Crd(args) => crd::run(&args),
        Command::Review(args) => review::run(&args),
        Command::Run(args) => run::run(&args),
        #[cfg(feature = "playground")]
        Command::Dev(args) => dev::run(&args),
        Command::Snapshot(args) => snapshot::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::NotifyPreview(args) => notify_preview::run(&args),
        Command::ExecChange(args) => exec_change::run(&args),
    }
}

/// How many worker threads a verb's async runtime gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// The calling thread only: a short command (snapshot, diff, one change).
    One,
    /// One per core: the operator (`run`, `dev`).
    PerCore,
}

/// Runs `future` to completion on a new tokio runtime. When the runtime cannot start, says why
/// on stderr and returns `Err(failure)`: the verb's exit code for that case.
pub(crate) fn block_on<F: std::future::Future>(
    threads: Threads,
    failure: ExitCode,
    future: F,
) -> Result<F::Output, ExitCode> {
    let runtime = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Threads::PerCore => tokio::runtime::Runtime::new(),
    };
    match runtime {
        Ok(runtime) => Ok(runtime.block_on(future)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            Err(failure)
        }
    }
}
