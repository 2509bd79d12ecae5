//! Measures how much of a real migration set `schemagate review` understands: every statement of
//! every selected file is reviewed under the `default` preset, and a statement the review reports
//! as `statement.syntax` (neither sqlparser nor the recovery path read it) counts as a failure.
//!
//! ```text
//! cargo run -q --example parse_coverage -- [--show] NAME=ENGINE:DIR[:REGEX] ...
//! ```
//!
//! `ENGINE` is `postgres`, `mysql` or `sqlite`; `DIR` is searched recursively for `.sql` files
//! whose file name matches `REGEX` (all of them without one), in path order; `popx=DIALECT`
//! instead of a `REGEX` selects what ory's migrator runs for that dialect (see [`Select`]). With `--show`, each
//! failure is printed with its file, line and the parser's message. Example sets (the commands
//! that make the table in docs/review.md, with each repository unpacked under /tmp/corpus):
//!
//! ```text
//! kratos-pg=postgres:/tmp/corpus/ory+kratos/persistence/sql/migrations/sql:popx=postgres
//! temporal-pg=postgres:/tmp/corpus/temporalio+temporal/schema/postgresql
//! listmonk-pg=postgres:/tmp/corpus/knadh+listmonk:^schema\.sql$
//! ```
//!
//! The files are read, never copied: nothing of them is kept in this repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use schemagate::review::{Engine, Policy, review};

struct Set {
    name: String,
    engine: Engine,
    dir: PathBuf,
    select: Select,
}

/// Which `.sql` files of the directory belong to the set.
enum Select {
    /// Every one.
    All,
    /// Those whose file name matches.
    Matching(regex::Regex),
    /// The files a gobuffalo/ory `popx` migrator runs for this dialect: for each migration
    /// (`VERSION_NAME[.DIALECT][.autocommit].{up,down}.sql`), the file for the dialect when
    /// there is one, else the one without a dialect.
    Popx(String),
}

fn parse_set(arg: &str) -> Result<Set, String> {
    let (name, rest) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg}: expected NAME=ENGINE:DIR[:REGEX]"))?;
    let (engine, rest) = rest
        .split_once(':')
        .ok_or_else(|| format!("{arg}: expected NAME=ENGINE:DIR[:REGEX]"))?;
    let engine: Engine = engine.parse().map_err(|e| format!("{arg}: {e}"))?;
    let (dir, select) = match rest.split_once(':') {
        Some((dir, sel)) => match sel.strip_prefix("popx=") {
            Some(dialect) => (dir, Select::Popx(dialect.to_owned())),
            None => (
                dir,
                Select::Matching(regex::Regex::new(sel).map_err(|e| format!("{arg}: {e}"))?),
            ),
        },
        None => (rest, Select::All),
    };
    Ok(Set {
        name: name.to_owned(),
        engine,
        dir: PathBuf::from(dir),
        select,
    })
}

fn sql_files(dir: &Path, select: &Select, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sql_files(&path, select, out)?;
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let selected = match select {
            Select::All => true,
            Select::Matching(re) => re.is_match(&name),
            Select::Popx(_) => true,
        };
        if name.ends_with(".sql") && selected {
            out.push(path);
        }
    }
    if let Select::Popx(dialect) = select {
        popx_select(dialect, out);
    }
    Ok(())
}

/// A file of one migration: its dialect (none for the file all dialects share) and path.
type Variant = (Option<String>, PathBuf);

/// Keeps the files a popx migrator runs for `dialect` (see [`Select::Popx`]).
fn popx_select(dialect: &str, files: &mut Vec<PathBuf>) {
    const DIALECTS: &[&str] = &["postgres", "mysql", "sqlite3", "sqlite", "cockroach"];
    // (migration, direction) → (dialect of the file, path)
    let mut by_migration: BTreeMap<(String, String), Vec<Variant>> = BTreeMap::new();
    for path in files.drain(..) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parts: Vec<&str> = name.trim_end_matches(".sql").split('.').collect();
        let (Some(migration), Some(direction)) = (parts.first(), parts.last()) else {
            continue;
        };
        let file_dialect = parts[1..parts.len().saturating_sub(1)]
            .iter()
            .find(|p| DIALECTS.contains(p))
            .map(|d| {
                if *d == "sqlite" {
                    "sqlite3".to_owned()
                } else {
                    (*d).to_owned()
                }
            });
        by_migration
            .entry(((*migration).to_owned(), (*direction).to_owned()))
            .or_default()
            .push((file_dialect, path));
    }
    let wanted = if dialect == "sqlite" {
        "sqlite3"
    } else {
        dialect
    };
    for (_, variants) in by_migration {
        let has_own = variants.iter().any(|(d, _)| d.as_deref() == Some(wanted));
        files.extend(
            variants
                .into_iter()
                .filter(|(d, _)| {
                    if has_own {
                        d.as_deref() == Some(wanted)
                    } else {
                        d.is_none()
                    }
                })
                .map(|(_, p)| p),
        );
    }
    files.sort();
}

#[derive(Default)]
struct Tally {
    files: usize,
    statements: usize,
    failures: usize,
}

fn run_set(set: &Set, policy: &Policy, show: bool) -> Result<Tally, String> {
    let mut files = Vec::new();
    sql_files(&set.dir, &set.select, &mut files)
        .map_err(|e| format!("{}: {e}", set.dir.display()))?;
    if files.is_empty() {
        return Err(format!("{}: no matching .sql files", set.dir.display()));
    }
    let mut tally = Tally::default();
    for path in &files {
        let sql = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let report = review(&sql, set.engine, policy, None);
        tally.files += 1;
        tally.statements += report.statements;
        let mut failed: Vec<usize> = report
            .findings
            .iter()
            .filter(|f| f.rule == "statement.syntax")
            .map(|f| {
                if show {
                    println!("  {}:{}: {}", path.display(), f.line, f.message);
                }
                f.statement
            })
            .collect();
        failed.dedup();
        tally.failures += failed.len();
    }
    Ok(tally)
}

fn main() -> ExitCode {
    let mut show = false;
    let mut sets = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--show" {
            show = true;
            continue;
        }
        match parse_set(&arg) {
            Ok(set) => sets.push(set),
            Err(e) => {
                eprintln!("parse_coverage: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if sets.is_empty() {
        eprintln!("usage: parse_coverage [--show] NAME=ENGINE:DIR[:REGEX] ...");
        return ExitCode::from(2);
    }
    let policy = match Policy::preset("default") {
        Ok(p) => p,
        Err(e) => {
            eprintln!("parse_coverage: {e}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{:<16} {:<9} {:>6} {:>10} {:>9} {:>9}",
        "set", "engine", "files", "statements", "failures", "understood"
    );
    let mut total = Tally::default();
    for set in &sets {
        if show {
            println!("{}:", set.name);
        }
        let t = match run_set(set, &policy, show) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("parse_coverage: {e}");
                return ExitCode::from(2);
            }
        };
        println!(
            "{:<16} {:<9} {:>6} {:>10} {:>9} {:>8.2}%",
            set.name,
            set.engine.as_str(),
            t.files,
            t.statements,
            t.failures,
            pct(t.statements - t.failures, t.statements)
        );
        total.files += t.files;
        total.statements += t.statements;
        total.failures += t.failures;
    }
    println!(
        "{:<16} {:<9} {:>6} {:>10} {:>9} {:>8.2}%",
        "total",
        "",
        total.files,
        total.statements,
        total.failures,
        pct(total.statements - total.failures, total.statements)
    );
    ExitCode::SUCCESS
}

#[allow(clippy::cast_precision_loss)]
fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        100.0 * a as f64 / b as f64
    }
}
