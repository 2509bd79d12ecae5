//! The execution paths, called only by the executor with its lock held: the history check, then
//! either one transaction with the history row ([`transaction`]: PostgreSQL, SQLite) or
//! per-statement intent and done records ([`intent`]: MySQL DDL, non-transactional PostgreSQL
//! statements, `transactionMode: none`). Also what both paths share: the history row they
//! write, the schema snapshots they take and the error text of a failed statement.

mod intent;
mod transaction;

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::cancel::CancelHandle;
use super::change::{Change, ExecOptions, ExecutionReport, Outcome, TransactionMode};
use super::history::{self, ChangeStatus, HistoryRecord};
use super::progress::ProgressHandle;
use super::session::{ErrorClass, Session, classify};
use super::split::ScriptStatement;
use super::{EngineError, error_chain};
use crate::sqltext::Engine;

/// What a path needs of the executor that runs it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Run<'a> {
    /// Retries, lock waits, snapshots, test pauses.
    pub(crate) opts: &'a ExecOptions,
    /// Whether cancellation was requested.
    pub(crate) cancel: &'a CancelHandle,
    /// Where each statement is marked as it starts, for progress reports.
    pub(crate) progress: &'a ProgressHandle,
}

/// PostgreSQL statements that refuse to run inside a transaction block.
pub(crate) fn pg_needs_autocommit(sql: &str) -> bool {
    let w = words(sql, 4);
    w.starts_with("VACUUM")
        || w.starts_with("CREATE DATABASE")
        || w.starts_with("DROP DATABASE")
        || w.starts_with("ALTER SYSTEM")
        || w.starts_with("CREATE TABLESPACE")
        || w.starts_with("DROP TABLESPACE")
        || (w.contains("CONCURRENTLY")
            && (w.starts_with("CREATE") || w.starts_with("DROP") || w.starts_with("REINDEX")))
}

fn words(sql: &str, n: usize) -> String {
    sql.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

fn base_record(
    change: &Change,
    total: usize,
    status: ChangeStatus,
    started_at: DateTime<Utc>,
) -> HistoryRecord {
    HistoryRecord {
        change_uid: change.uid.clone(),
        namespace: change.namespace.clone(),
        name: change.name.clone(),
        version: change.version.clone(),
        sql_sha256: change.sql_sha256(),
        status,
        statements_total: i64::try_from(total).unwrap_or(i64::MAX),
        statements_applied: 0,
        current_statement: None,
        started_at,
        finished_at: None,
        approved_by: change.approved_by.clone(),
        author: change.author.clone(),
        operator: change.operator.clone(),
        error: None,
        attempts: 0,
        before_snapshot: None,
        before_digest: None,
        after_snapshot: None,
        after_digest: None,
        before_error: None,
        after_error: None,
    }
}

/// A schema snapshot for the history row: taken, not wanted, or why it could not be taken.
#[derive(Debug)]
enum Shot {
    /// Snapshots are switched off ([`super::ExecOptions::capture_snapshots`]).
    Off,
    /// Compressed canonical JSON and digest.
    Taken(Vec<u8>, String),
    /// The introspection failed; the change goes on and the row says why.
    Failed(String),
}

impl Shot {
    fn of(result: Result<Option<crate::snapshot::Schema>, EngineError>) -> Self {
        match result {
            Ok(Some(schema)) => Self::Taken(
                history::compress(schema.canonical_json().as_bytes()),
                schema.digest(),
            ),
            Ok(None) => Self::Failed("this engine has no schema snapshots".to_owned()),
            Err(e) => Self::Failed(error_chain(&e)),
        }
    }

    /// Stores the snapshot, or the reason it is missing, as the row's before-snapshot.
    fn into_before(self, rec: &mut HistoryRecord) {
        (rec.before_snapshot, rec.before_digest, rec.before_error) = self.columns();
    }

    /// Stores the snapshot, or the reason it is missing, as the row's after-snapshot.
    fn into_after(self, rec: &mut HistoryRecord) {
        (rec.after_snapshot, rec.after_digest, rec.after_error) = self.columns();
    }

    fn columns(self) -> (Option<Vec<u8>>, Option<String>, Option<String>) {
        match self {
            Self::Off => (None, None, None),
            Self::Taken(data, digest) => (Some(data), Some(digest), None),
            Self::Failed(why) => {
                tracing::warn!(error = %why, "schema snapshot failed; recorded in the history row");
                (None, None, Some(why))
            }
        }
    }
}

/// A snapshot on the executor's session outside any transaction, under the executor lock: one
/// read-only transaction of its own (see [`super::introspect::snapshot_consistent`]). Before a
/// change's statements run it waits for no lock the change takes.
async fn capture_apart(ex: &Run<'_>, s: &mut Session) -> Shot {
    if !ex.opts.capture_snapshots {
        return Shot::Off;
    }
    Shot::of(super::introspect::snapshot_consistent(s).await)
}

/// A snapshot inside the change's open transaction (it sees the change's uncommitted DDL and
/// needs no lock the change holds), under a savepoint so that a failing catalog query cannot
/// abort the change: it is rolled back to the savepoint and the row says why. `Err` only when
/// the transaction itself is unusable (the savepoint cannot be taken or restored).
async fn capture_inside(ex: &Run<'_>, s: &mut Session) -> Result<Shot, EngineError> {
    if !ex.opts.capture_snapshots {
        return Ok(Shot::Off);
    }
    s.exec("SAVEPOINT schemagate_snapshot")
        .await
        .map_err(EngineError::Execution)?;
    let result = super::introspect::snapshot(s).await;
    let end = if result.is_ok() {
        "RELEASE SAVEPOINT schemagate_snapshot"
    } else {
        "ROLLBACK TO SAVEPOINT schemagate_snapshot; RELEASE SAVEPOINT schemagate_snapshot"
    };
    s.exec(end).await.map_err(EngineError::Execution)?;
    Ok(Shot::of(result))
}

fn from_existing(rec: &HistoryRecord, total: usize) -> Option<ExecutionReport> {
    let mut r = ExecutionReport::new(total);
    r.statements_applied = usize::try_from(rec.statements_applied).unwrap_or(0);
    r.attempts = 0;
    r.before_digest.clone_from(&rec.before_digest);
    r.after_digest.clone_from(&rec.after_digest);
    r.outcome = match rec.status {
        ChangeStatus::Applied => Outcome::AlreadyApplied,
        ChangeStatus::Running | ChangeStatus::NeedsIntervention => Outcome::NeedsIntervention,
        ChangeStatus::Failed if rec.statements_applied > 0 => Outcome::NeedsIntervention,
        ChangeStatus::Failed => return None,
    };
    // Died after the running row but before the first intent record: nothing ran.
    if rec.status == ChangeStatus::Running
        && rec.statements_applied == 0
        && rec.current_statement.is_none()
    {
        return None;
    }
    r.error = match rec.status {
        ChangeStatus::Running => Some(format!(
            "a previous execution was interrupted after {} of {} statements{}; not re-running",
            rec.statements_applied,
            rec.statements_total,
            rec.current_statement
                .map(|i| format!(" (statement {} may or may not have run)", i + 1))
                .unwrap_or_default()
        )),
        _ => rec.error.clone(),
    };
    Some(r)
}

/// Under the executor lock: check history, then run on the right path.
pub(crate) async fn run_locked(
    ex: &Run<'_>,
    s: &mut Session,
    change: &Change,
    stmts: &[ScriptStatement],
) -> Result<ExecutionReport, EngineError> {
    history::ensure(s).await?;
    if let Some(rec) = history::get(s, &change.uid).await?
        && let Some(r) = from_existing(&rec, stmts.len())
    {
        if rec.status == ChangeStatus::Running {
            let mut rec = rec;
            rec.status = ChangeStatus::NeedsIntervention;
            rec.error.clone_from(&r.error);
            history::upsert(s, &rec).await?;
        }
        return Ok(r);
    }
    let transactional = change.transaction_mode == TransactionMode::Auto
        && match s.engine() {
            Engine::Postgres => !stmts.iter().any(|st| pg_needs_autocommit(&st.sql)),
            Engine::Mysql => false,
            Engine::Sqlite => true,
        };
    if transactional {
        transaction::run(ex, s, change, stmts, "BEGIN").await
    } else {
        intent::run(ex, s, change, stmts).await
    }
}

/// SQLite: the write lock of `BEGIN IMMEDIATE` is the executor lock; history check inside it.
pub(crate) async fn run_sqlite(
    ex: &Run<'_>,
    s: &mut Session,
    change: &Change,
    stmts: &[ScriptStatement],
) -> Result<ExecutionReport, EngineError> {
    if change.transaction_mode == TransactionMode::None {
        // Statement by statement would commit between statements and so release the only
        // lock that keeps two executors apart on SQLite: refuse before anything runs.
        return Err(EngineError::Config(
            "transactionMode none is not supported on SQLite: the executor's lock is the \
             change's transaction, so statements cannot commit one by one; use auto"
                .into(),
        ));
    }
    // Create the table outside the change transaction so the check below can read it.
    let deadline = Instant::now() + ex.opts.executor_lock_wait;
    loop {
        match history::ensure(s).await {
            Ok(()) => break,
            Err(EngineError::History(e))
                if classify(Engine::Sqlite, &e) == ErrorClass::LockTimeout
                    && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
    }
    transaction::run(ex, s, change, stmts, "BEGIN IMMEDIATE").await
}

fn statement_error(st: &ScriptStatement, index: usize, e: &sqlx::Error) -> String {
    let msg = match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => error_chain(other),
    };
    format!("statement {} (line {}): {msg}", index + 1, st.line)
}
