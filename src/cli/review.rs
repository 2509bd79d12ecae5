//! `schemagate review`: reviews SQL files, stdin or SchemaChange manifests offline, as a CI
//! step, and prints text, JSON, SARIF or GitHub annotations. Exit 0 clean, 1 findings at or
//! above `--fail-on`, 2 usage or I/O errors. Must not talk to Kubernetes or databases.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::review::{Catalog, Engine, Finding, Level, Policy, review};

use super::review_manifest::{self, ManifestError};
use super::review_output::{self, FileReport, Format};

/// Arguments of `schemagate review`.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// SQL dialect. Default: the engine of a DatabaseInstance manifest among the inputs that a
    /// SchemaChange names, else postgres.
    #[arg(long, value_parser = parse_engine)]
    pub engine: Option<Engine>,
    /// Policy preset: `default` (Bytebase dev template) or `strict` (prod template).
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// Policy file: schemagate's YAML (`preset`, `rules`) or Bytebase's SQL-review YAML (`ruleList`).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Current schema of the target database as SQL DDL, for catalog-aware rules.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Lowest finding level that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// SQL files or YAML manifests (SchemaChange, ConfigMap, DatabaseInstance); `-` reads stdin.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<String>,
}

/// `--fail-on` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    /// Only errors fail.
    Error,
    /// Warnings fail too.
    Warning,
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse()
        .map_err(|e: crate::review::UnknownEngine| e.to_string())
}

/// Errors that end the command with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum ReviewCliError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The policy is invalid.
    #[error("policy: {0}")]
    Policy(#[from] crate::review::PolicyError),
    /// The schema DDL is unusable.
    #[error("schema {path}: {source}")]
    Schema {
        /// The path.
        path: String,
        /// The catalog error.
        #[source]
        source: crate::review::CatalogError,
    },
    /// A manifest is invalid or incomplete.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] std::io::Error),
}

/// Runs the command.
pub fn run(args: &ReviewArgs) -> ExitCode {
    match execute(args) {
        Ok(failed) => {
            if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &str) -> Result<String, ReviewCliError> {
    let mut text = String::new();
    let result = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    result.map_err(|source| ReviewCliError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(text)
}

enum Input {
    Sql { path: String, sql: String },
    Manifests(Vec<review_manifest::Document>),
}

fn execute(args: &ReviewArgs) -> Result<bool, ReviewCliError> {
    let policy = match &args.policy {
        Some(p) => Policy::from_yaml_with_preset(&read(&p.to_string_lossy())?, &args.preset)?,
        None => Policy::preset(&args.preset)?,
    };
    let schema_text = match &args.schema {
        Some(p) => Some((
            p.to_string_lossy().into_owned(),
            read(&p.to_string_lossy())?,
        )),
        None => None,
    };
    let mut catalogs: HashMap<Engine, Catalog> = HashMap::new();
    let mut catalog_for = |engine: Engine| -> Result<Option<Catalog>, ReviewCliError> {
        let Some((path, text)) = &schema_text else {
            return Ok(None);
        };
        if let Some(c) = catalogs.get(&engine) {
            return Ok(Some(c.clone()));
        }
        let c = Catalog::from_ddl(engine, text).map_err(|source| ReviewCliError::Schema {
            path: path.clone(),
            source,
        })?;
        catalogs.insert(engine, c.clone());
        Ok(Some(c))
    };

    let mut inputs = Vec::new();
    for path in &args.files {
        let text = read(path)?;
        let label = if path == "-" {
            "<stdin>".to_owned()
        } else {
            path.clone()
        };
        match review_manifest::documents(&label, &text)? {
            Some(docs) => inputs.push(Input::Manifests(docs)),
            None => inputs.push(Input::Sql {
                path: label,
                sql: text,
            }),
        }
    }
    let all_docs: Vec<review_manifest::Document> = inputs
        .iter_mut()
        .flat_map(|i| match i {
            Input::Manifests(d) => std::mem::take(d),
            Input::Sql { .. } => Vec::new(),
        })
        .collect();
    let changes = review_manifest::changes(&all_docs)?;

    let mut reports = Vec::new();
    for input in &inputs {
        if let Input::Sql { path, sql } = input {
            let engine = args.engine.unwrap_or(Engine::Postgres);
            let catalog = catalog_for(engine)?;
            reports.push(FileReport {
                path: path.clone(),
                object: None,
                report: review(sql, engine, &policy, catalog.as_ref()),
            });
        }
    }
    for change in changes {
        let engine = args.engine.or(change.engine).unwrap_or(Engine::Postgres);
        let catalog = catalog_for(engine)?;
        let mut report = review(&change.sql, engine, &policy, catalog.as_ref());
        for f in &mut report.findings {
            shift(f, change.line_offset, change.column_offset);
        }
        reports.push(FileReport {
            path: change.path,
            object: Some(change.object),
            report,
        });
    }

    let fail_level = match args.fail_on {
        FailOn::Error => Level::Error,
        FailOn::Warning => Level::Warning,
    };
    let text = review_output::render(args.format, &reports);
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(ReviewCliError::Write)?;
    Ok(reports.iter().any(|r| r.report.fails_at(fail_level)))
}

/// Moves a finding from SQL-relative to file-relative coordinates (SQL inside a YAML block).
fn shift(f: &mut Finding, line_offset: usize, column_offset: usize) {
    f.line += line_offset;
    if line_offset > 0 {
        f.column += column_offset;
    }
}
