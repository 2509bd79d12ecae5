//! `schemagate review`: reviews SQL files, stdin or SchemaChange manifests (files or
//! directories) offline, as a CI step, and prints text, JSON, SARIF or GitHub annotations. A
//! SchemaChange whose Project manifest is among the inputs is reviewed under that Project's
//! policy through the operator's own path (`workflow::review_for_project`). Exit 0 clean, 1
//! findings at or above `--fail-on`, 2 usage or I/O errors. Must not talk to Kubernetes or
//! databases.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::api::project::Project;
use crate::review::{Catalog, Engine, Finding, Level, Policy, Report, review};
use crate::workflow::review_for_project;

use super::review_manifest::{self, ManifestError, ProjectInput};
use super::review_output::{self, FileReport, Format};

/// Arguments of `schemagate review`.
#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    /// SQL dialect. Default: the engine of a DatabaseInstance manifest among the inputs that a
    /// SchemaChange names, else postgres.
    #[arg(long, value_parser = parse_engine)]
    pub engine: Option<Engine>,
    /// Policy preset: `default` (Bytebase dev template) or `strict` (prod template). Applies to
    /// SQL files and to SchemaChanges whose Project manifest is not among the inputs.
    #[arg(long, default_value = "default")]
    pub preset: String,
    /// Policy file: schemagate's YAML (`preset`, `rules`) or Bytebase's SQL-review YAML
    /// (`ruleList`). Like `--preset`, it does not apply to a SchemaChange whose Project manifest
    /// is among the inputs: that Project's `spec.review` does, as in the operator.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Current schema of the target database as SQL DDL, for catalog-aware rules.
    #[arg(long, conflicts_with = "url")]
    pub schema: Option<PathBuf>,
    /// The target database (postgres://…, mysql://…, a SQLite file): its live schema, server
    /// version and table sizes become the review's context, as in the operator, so the impact
    /// findings carry real sizes. The engine comes from the URL. Credentials in the URL (or in
    /// SCHEMAGATE_DATABASE_URL) are never printed.
    #[arg(long, env = "SCHEMAGATE_DATABASE_URL", hide_env_values = true)]
    pub url: Option<String>,
    /// With --url on PostgreSQL: run each script in one transaction that is always rolled back,
    /// statement by statement, and compare the locks, rewrites and scans the server reports
    /// with the predicted impact. The statements take their locks while it runs: use a copy of
    /// production, not production.
    #[arg(long, requires = "url")]
    pub verify: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Lowest finding level that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// SQL files or YAML manifests (SchemaChange, ConfigMap, DatabaseInstance, Project), or
    /// directories: their `.sql`, `.yaml` and `.yml` files, recursively (hidden entries
    /// skipped); `-` reads stdin.
    #[arg(required = true, value_name = "FILE|DIR")]
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
    /// A Project manifest is not a valid Project, or its review policy is invalid (the operator
    /// would not review its changes either).
    #[error("{path}:{line}: Project {name}: {message}")]
    Project {
        /// The input path.
        path: String,
        /// The document's first line.
        line: usize,
        /// The Project's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A directory holds nothing to review.
    #[error("{path}: no .sql, .yaml or .yml file in this directory")]
    EmptyDirectory {
        /// The directory.
        path: String,
    },
    /// Output could not be written.
    #[error("cannot write output: {0}")]
    Write(#[source] std::io::Error),
    /// The database given with --url could not serve as context.
    #[error("--url: {0}")]
    Live(String),
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

/// The files to read for `args`: each directory replaced by its `.sql`/`.yaml`/`.yml` files,
/// recursively and in name order; hidden files and directories are skipped, and so are
/// symbolic links to directories (no cycles).
fn expand(args: &[String]) -> Result<Vec<String>, ReviewCliError> {
    fn walk(dir: &Path, out: &mut Vec<String>) -> Result<(), ReviewCliError> {
        let read_err = |source| ReviewCliError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut entries = std::fs::read_dir(dir)
            .map_err(read_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(read_err)?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type().map_err(read_err)?;
            if kind.is_dir() {
                walk(&path, out)?;
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("sql" | "yaml" | "yml")
            ) {
                out.push(path.to_string_lossy().into_owned());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for arg in args {
        if arg != "-" && Path::new(arg).is_dir() {
            let before = out.len();
            walk(Path::new(arg), &mut out)?;
            if out.len() == before {
                return Err(ReviewCliError::EmptyDirectory { path: arg.clone() });
            }
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

/// Reviews a change under the policy of its Project manifest, exactly as the operator would.
fn review_under_project(
    project: &ProjectInput,
    sql: &str,
    engine: Engine,
    catalog: Option<&Catalog>,
) -> Result<Report, ReviewCliError> {
    let invalid = |message: String| {
        let name = project
            .value
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(serde_yaml_ng::Value::as_str)
            .unwrap_or("<unnamed>")
            .to_owned();
        ReviewCliError::Project {
            path: project.path.clone(),
            line: project.first_line,
            name,
            message,
        }
    };
    let parsed: Project = serde_yaml_ng::from_value(project.value.clone())
        .map_err(|e| invalid(format!("not a valid Project: {e}")))?;
    review_for_project(&parsed.spec.review, sql, engine, catalog)
        .map_err(|e| invalid(format!("invalid review policy: {e}")))
}

/// The policy of a Project manifest (already validated by [`review_under_project`]).
fn project_policy(project: &ProjectInput) -> Result<Policy, ReviewCliError> {
    let parsed: Project =
        serde_yaml_ng::from_value(project.value.clone()).map_err(|e| ReviewCliError::Project {
            path: project.path.clone(),
            line: project.first_line,
            name: String::new(),
            message: format!("not a valid Project: {e}"),
        })?;
    crate::workflow::review_policy(&parsed.spec.review).map_err(|e| ReviewCliError::Project {
        path: project.path.clone(),
        line: project.first_line,
        name: String::new(),
        message: format!("invalid review policy: {e}"),
    })
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
    let live = match &args.url {
        Some(url) => Some(
            super::review_live::Live::connect(url, args.engine).map_err(ReviewCliError::Live)?,
        ),
        None => None,
    };
    let default_engine = args
        .engine
        .or(live.as_ref().map(|l| l.cfg.engine))
        .unwrap_or(Engine::Postgres);
    let mut catalogs: HashMap<Engine, Catalog> = HashMap::new();
    let mut catalog_for = |engine: Engine| -> Result<Option<Catalog>, ReviewCliError> {
        if let Some(live) = &live {
            return live
                .catalog_for(engine)
                .map(Some)
                .map_err(ReviewCliError::Live);
        }
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
    for path in &expand(&args.files)? {
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
    let any_project = all_docs
        .iter()
        .any(|d| d.value.get("kind").and_then(serde_yaml_ng::Value::as_str) == Some("Project"));

    let mut reports = Vec::new();
    // The SQL of each report, in the same order (for --verify).
    let mut reviewed_sql = Vec::new();
    for input in &inputs {
        if let Input::Sql { path, sql } = input {
            let engine = default_engine;
            let catalog = catalog_for(engine)?;
            reviewed_sql.push(sql.clone());
            let mut report = review(sql, engine, &policy, catalog.as_ref());
            if let Some(live) = &live {
                live.run_live_rules(sql, &policy, &mut report);
            }
            reports.push(FileReport {
                path: path.clone(),
                object: None,
                report,
            });
        }
    }
    for change in changes {
        let engine = args
            .engine
            .or(live.as_ref().map(|l| l.cfg.engine))
            .or(change.engine)
            .unwrap_or(Engine::Postgres);
        let catalog = catalog_for(engine)?;
        let mut report = match &change.project {
            Some(project) => review_under_project(project, &change.sql, engine, catalog.as_ref())?,
            None => {
                if any_project && let Some(name) = &change.project_ref {
                    eprintln!(
                        "note: {} ({}): its Project {name} is not among the inputs; reviewed with the --preset/--policy policy",
                        change.path, change.object
                    );
                }
                review(&change.sql, engine, &policy, catalog.as_ref())
            }
        };
        if let Some(live) = &live {
            let change_policy = match &change.project {
                Some(project) => project_policy(project)?,
                None => policy.clone(),
            };
            live.run_live_rules(&change.sql, &change_policy, &mut report);
        }
        for f in &mut report.findings {
            shift(f, change.line_offset, change.column_offset);
        }
        reviewed_sql.push(change.sql.clone());
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
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    review_output::write(args.format, &reports, &mut out).map_err(ReviewCliError::Write)?;
    if args.verify
        && let Some(live) = &live
    {
        let verification = live
            .verify(&reports, &reviewed_sql)
            .map_err(ReviewCliError::Live)?;
        // Text output gets the verification after the findings; machine formats keep stdout
        // to their document.
        if args.format == Format::Text {
            out.write_all(verification.as_bytes())
                .map_err(ReviewCliError::Write)?;
        } else {
            eprint!("{verification}");
        }
    }
    out.flush().map_err(ReviewCliError::Write)?;
    Ok(reports.iter().any(|r| r.report.fails_at(fail_level)))
}

/// Moves a finding from SQL-relative to file-relative coordinates (SQL inside a YAML block).
fn shift(f: &mut Finding, line_offset: usize, column_offset: usize) {
    f.line += line_offset;
    if line_offset > 0 {
        f.column += column_offset;
    }
}
