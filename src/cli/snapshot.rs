//! `schemagate snapshot`: prints a live database's canonical schema (DDL or JSON), from a
//! database URL or a SQLite file's path. Read-only.

use std::io::Write;
use std::process::ExitCode;

use crate::engine::{ConnectionConfig, error_chain, introspect};
use crate::sqltext::Engine;

/// Output format of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Canonical DDL, loadable into an empty database.
    Ddl,
    /// Canonical JSON (the form stored in the history table).
    Json,
}

/// Arguments of `schemagate snapshot`.
#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Database engine: postgres, mysql (also MariaDB) or sqlite. Optional: the URL names it;
    /// when given, it must match.
    #[arg(long)]
    pub engine: Option<String>,
    /// Database URL — postgres://user:pass@host:5432/db, mysql://user:pass@host:3306/db,
    /// sqlite://PATH — or the path of a SQLite database file (app.db). The password is never
    /// printed.
    #[arg(long, env = "SCHEMAGATE_DATABASE_URL", hide_env_values = true)]
    pub url: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "ddl")]
    pub format: Format,
    /// Also record grants that differ from the defaults (PostgreSQL: and default privileges).
    /// Left out by default: they name roles, which differ between servers.
    #[arg(long)]
    pub privileges: bool,
    /// Also record owners (PostgreSQL `ALTER … OWNER TO`; MySQL/MariaDB `DEFINER`s).
    /// Left out by default: they name roles, which differ between servers.
    #[arg(long)]
    pub owners: bool,
}

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Whether `source` is a URL rather than a file path.
pub(crate) fn is_url(source: &str) -> bool {
    source.contains("://") || source.starts_with("sqlite:")
}

/// Whether the file at `path` starts with the SQLite header. `None` when it cannot be read.
pub(crate) fn is_sqlite_file(path: &str) -> Option<bool> {
    use std::io::Read as _;
    let mut head = Vec::with_capacity(SQLITE_HEADER.len());
    std::fs::File::open(path)
        .ok()?
        .take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut head)
        .ok()?;
    Some(head == SQLITE_HEADER)
}

/// Parses a URL, or takes a path as a SQLite database file, and checks it against `--engine`.
pub(crate) fn config(url: &str, engine: Option<&str>) -> Result<ConnectionConfig, String> {
    let cfg = if is_url(url) {
        ConnectionConfig::from_url(url).map_err(|e| error_chain(&e))?
    } else {
        match is_sqlite_file(url) {
            Some(true) => ConnectionConfig::sqlite(url),
            // SQLite reads an empty file as an empty database.
            Some(false) if std::fs::metadata(url).is_ok_and(|m| m.len() == 0) => {
                ConnectionConfig::sqlite(url)
            }
            Some(false) => return Err(format!("{url} is not a SQLite database file")),
            None => {
                return Err(format!(
                    "{url}: no such file; give a database URL (postgres://…, mysql://…, \
                     sqlite://PATH) or the path of an existing SQLite database file"
                ));
            }
        }
    };
    if let Some(e) = engine {
        let want: Engine = e
            .parse()
            .map_err(|_| format!("unknown engine `{}`", e.to_ascii_lowercase()))?;
        if want != cfg.engine {
            return Err(format!(
                "--engine {want} does not match the URL's engine {}",
                cfg.engine
            ));
        }
    }
    Ok(cfg)
}

/// Runs the verb.
pub fn run(args: &SnapshotArgs) -> ExitCode {
    let cfg = match config(&args.url, args.engine.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = introspect::SnapshotOptions {
        privileges: args.privileges,
        owners: args.owners,
    };
    if std::env::var_os("RUST_LOG").is_some() {
        // Per-query timings: `RUST_LOG=schemagate::snapshot=debug`.
        super::run::init_logging();
    }
    // PostgreSQL snapshots read over three connections: rows decode on every core.
    let snapshot = match super::block_on(
        super::Threads::PerCore,
        ExitCode::FAILURE,
        introspect::snapshot_database_with(&cfg, opts),
    ) {
        Ok(snapshot) => snapshot,
        Err(code) => return code,
    };
    match snapshot {
        Ok(schema) => {
            let text = match args.format {
                Format::Ddl => schema.canonical_ddl(),
                Format::Json => schema.canonical_json() + "\n",
            };
            if std::io::stdout().lock().write_all(text.as_bytes()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}
