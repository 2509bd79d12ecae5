//! `schemagate diff BEFORE AFTER`: compares two snapshots (JSON or canonical DDL files, or
//! database URLs) and prints one line per difference. Read-only.

use std::process::ExitCode;

use crate::engine::{error_chain, introspect};
use crate::snapshot::{RenderedObject, Schema, diff, parse_canonical_ddl, render_objects};

/// Arguments of `schemagate diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The old side: a snapshot file (JSON or DDL) or a database URL.
    pub before: String,
    /// The new side: a snapshot file (JSON or DDL) or a database URL.
    pub after: String,
    /// Print the diff as JSON instead of lines.
    #[arg(long)]
    pub json: bool,
}

async fn load(source: &str) -> Result<Vec<RenderedObject>, String> {
    if source.contains("://") {
        let cfg = super::snapshot::config(source, None)?;
        let schema = introspect::snapshot_database(&cfg)
            .await
            .map_err(|e| error_chain(&e))?;
        return Ok(render_objects(&schema));
    }
    let text = std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))?;
    if text.trim_start().starts_with('{') {
        let schema =
            Schema::from_json(&text).map_err(|e| format!("{source}: {}", error_chain(&e)))?;
        Ok(render_objects(&schema))
    } else {
        Ok(parse_canonical_ddl(&text))
    }
}

/// Runs the verb. Exit code 0: same schema, 1: differences, 2: error.
pub fn run(args: &DiffArgs) -> ExitCode {
    let sides = match super::block_on(super::Threads::One, ExitCode::from(2), async {
        Ok::<_, String>((load(&args.before).await?, load(&args.after).await?))
    }) {
        Ok(sides) => sides,
        Err(code) => return code,
    };
    let (before, after) = match sides {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let d = diff(&before, &after);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
    } else {
        for line in d.human_lines() {
            println!("{line}");
        }
    }
    if d.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
