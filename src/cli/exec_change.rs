//! Hidden `schemagate __exec-change`: runs one change through the executor and prints the report
//! as JSON. For fault tests (kill -9 of a real process) and debugging; not a user interface.

use std::process::ExitCode;
use std::time::Duration;

use crate::engine::{Change, ExecOptions, Executor, error_chain};

/// Arguments of the hidden verb.
#[derive(Debug, clap::Args)]
pub struct ExecChangeArgs {
    /// Database URL.
    #[arg(long, env = "SCHEMAGATE_DATABASE_URL", hide_env_values = true)]
    pub url: String,
    /// Change uid.
    #[arg(long)]
    pub uid: String,
    /// File with the SQL script.
    #[arg(long)]
    pub file: String,
    /// Sleep before each statement, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub pause_ms: u64,
}

/// Runs the verb.
pub fn run(args: &ExecChangeArgs) -> ExitCode {
    let cfg = match super::snapshot::config(&args.url, None) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let sql = match std::fs::read_to_string(&args.file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = ExecOptions {
        pause_before_statement: Duration::from_millis(args.pause_ms),
        ..ExecOptions::default()
    };
    let change = Change {
        uid: args.uid.clone(),
        namespace: "cli".into(),
        name: args.uid.clone(),
        version: "1".into(),
        sql,
        approved_by: None,
        author: None,
        operator: "cli".into(),
        transaction_mode: crate::engine::TransactionMode::Auto,
    };
    let result = match super::block_on(
        super::Threads::One,
        ExitCode::FAILURE,
        Executor::new(cfg, opts).execute(&change),
    ) {
        Ok(result) => result,
        Err(code) => return code,
    };
    match result {
        Ok(r) => {
            println!("{}", serde_json::to_string(&r).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}
