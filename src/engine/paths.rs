//! The two execution paths: one transaction (PostgreSQL, SQLite) and per-statement intent/done
//! records (MySQL DDL, non-transactional PostgreSQL statements). Called only by the executor.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::config::EngineKind;
use super::executor::{Change, ExecutionReport, Executor, Outcome, StatementResult};
use super::history::{self, ChangeStatus, HistoryRecord};
use super::session::{ErrorClass, Session, classify};
use super::split::ScriptStatement;
use super::{EngineError, error_chain};

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

/// How a change's statements are grouped into transactions (`spec.transactionMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransactionMode {
    /// One transaction with the history row where the engine allows it (PostgreSQL unless a
    /// statement cannot run in a transaction, SQLite); otherwise statement by statement.
    #[default]
    Auto,
    /// Statement by statement, each committed on its own after an intent record: at most once
    /// per statement, and a change that fails part-way needs a human. PostgreSQL and
    /// MySQL/MariaDB; refused on SQLite, whose executor lock is the change's transaction.
    None,
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
async fn capture_apart(ex: &Executor, s: &mut Session) -> Shot {
    if !ex.opts.capture_snapshots {
        return Shot::Off;
    }
    Shot::of(super::introspect::snapshot_consistent(s).await)
}

/// A snapshot inside the change's open transaction (it sees the change's uncommitted DDL and
/// needs no lock the change holds), under a savepoint so that a failing catalog query cannot
/// abort the change: it is rolled back to the savepoint and the row says why. `Err` only when
/// the transaction itself is unusable (the savepoint cannot be taken or restored).
async fn capture_inside(ex: &Executor, s: &mut Session) -> Result<Shot, EngineError> {
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
    ex: &Executor,
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
            EngineKind::Postgres => !stmts.iter().any(|st| pg_needs_autocommit(&st.sql)),
            EngineKind::Mysql => false,
            EngineKind::Sqlite => true,
        };
    if transactional {
        run_transaction(ex, s, change, stmts, "BEGIN").await
    } else {
        run_intent(ex, s, change, stmts).await
    }
}

/// SQLite: the write lock of `BEGIN IMMEDIATE` is the executor lock; history check inside it.
pub(crate) async fn run_sqlite(
    ex: &Executor,
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
                if classify(EngineKind::Sqlite, &e) == ErrorClass::LockTimeout
                    && Instant::now() < deadline => {}
            Err(e) => return Err(e),
        }
    }
    run_transaction(ex, s, change, stmts, "BEGIN IMMEDIATE").await
}

fn statement_error(st: &ScriptStatement, index: usize, e: &sqlx::Error) -> String {
    let msg = match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => error_chain(other),
    };
    format!("statement {} (line {}): {msg}", index + 1, st.line)
}

async fn run_transaction(
    ex: &Executor,
    s: &mut Session,
    change: &Change,
    stmts: &[ScriptStatement],
    begin: &str,
) -> Result<ExecutionReport, EngineError> {
    let engine = s.engine();
    let mut report = ExecutionReport::new(stmts.len());
    let deadline = Instant::now() + ex.opts.executor_lock_wait;
    'attempt: loop {
        report.attempts += 1;
        report.statements.clear();
        // PostgreSQL: the before-snapshot on this session under the executor lock, just before
        // BEGIN (so it waits for no lock of the change) in a read-only transaction of its own;
        // taken again on a retry, as others may have changed the schema meanwhile.
        let mut before = if engine == EngineKind::Sqlite {
            Shot::Off
        } else {
            capture_apart(ex, s).await
        };
        if let Err(e) = s.exec(begin).await {
            // SQLite: another writer holds the database; wait like for the executor lock.
            if classify(engine, &e) == ErrorClass::LockTimeout && Instant::now() < deadline {
                report.attempts -= 1;
                continue;
            }
            return Err(EngineError::Execution(e));
        }
        if engine == EngineKind::Sqlite
            && let Some(rec) = history::get(s, &change.uid).await?
            && let Some(r) = from_existing(&rec, stmts.len())
        {
            let _ = s.exec("ROLLBACK").await;
            return Ok(r);
        }
        // SQLite: the database is locked from BEGIN IMMEDIATE, so the before-snapshot is taken
        // inside the transaction, before the first statement.
        if engine == EngineKind::Sqlite {
            before = capture_inside(ex, s).await?;
        }
        let started_at = Utc::now();
        let step = match s {
            // One round trip for the whole script: the server streams one completion per
            // statement, which gives rows affected, the failing statement and (from arrival
            // times) durations, without a client round trip between statements.
            Session::Pg(c) if ex.opts.pause_before_statement.is_zero() => {
                if ex.cancel.is_requested() {
                    Err(Step::Cancelled)
                } else {
                    run_batch(c, stmts, &mut report).await
                }
            }
            _ => run_each(ex, s, stmts, &mut report).await,
        };
        let finished_at = Utc::now();
        match step {
            Ok(()) => {}
            Err(Step::Cancelled) => {
                let _ = s.exec("ROLLBACK").await;
                report.outcome = Outcome::Cancelled;
                report.error = Some("cancelled on request; nothing was applied".into());
                return record_failure(s, change, report, started_at).await;
            }
            Err(Step::Failed(i, e)) => {
                let st = &stmts[i];
                let msg = statement_error(st, i, &e);
                report.statements.push(StatementResult {
                    index: i,
                    line: st.line,
                    duration: Duration::ZERO,
                    rows_affected: None,
                    error: Some(msg.clone()),
                });
                let class = classify(engine, &e);
                if class == ErrorClass::Connection {
                    return Err(EngineError::Execution(e));
                }
                let _ = s.exec("ROLLBACK").await;
                report.error = Some(msg);
                if class == ErrorClass::LockTimeout {
                    if report.attempts < ex.opts.max_attempts.max(1) {
                        tokio::time::sleep(ex.backoff(report.attempts + 1)).await;
                        continue 'attempt;
                    }
                    report.outcome = Outcome::LockTimeout;
                } else if ex.cancel.is_requested() {
                    report.outcome = Outcome::Cancelled;
                } else {
                    report.outcome = Outcome::Failed;
                }
                return record_failure(s, change, report, started_at).await;
            }
        }
        let after = capture_inside(ex, s).await?;
        let mut rec = base_record(change, stmts.len(), ChangeStatus::Applied, started_at);
        rec.statements_applied = rec.statements_total;
        rec.finished_at = Some(finished_at);
        rec.attempts = i64::from(report.attempts);
        before.into_before(&mut rec);
        after.into_after(&mut rec);
        history::upsert(s, &rec).await?;
        s.exec("COMMIT").await.map_err(EngineError::Execution)?;
        report.outcome = Outcome::Applied;
        report.statements_applied = stmts.len();
        report.before_digest = rec.before_digest;
        report.after_digest = rec.after_digest;
        return Ok(report);
    }
}

/// Why the statements of an attempt stopped.
enum Step {
    /// Cancellation was requested before a statement started.
    Cancelled,
    /// The statement at this index failed with this error.
    Failed(usize, sqlx::Error),
}

/// Runs statements one by one (SQLite; PostgreSQL with the test pause).
async fn run_each(
    ex: &Executor,
    s: &mut Session,
    stmts: &[ScriptStatement],
    report: &mut ExecutionReport,
) -> Result<(), Step> {
    for (i, st) in stmts.iter().enumerate() {
        if !ex.opts.pause_before_statement.is_zero() {
            tokio::time::sleep(ex.opts.pause_before_statement).await;
        }
        if ex.cancel.is_requested() {
            return Err(Step::Cancelled);
        }
        let t0 = Instant::now();
        match s.exec(&st.sql).await {
            Ok(rows) => report.statements.push(StatementResult {
                index: i,
                line: st.line,
                duration: t0.elapsed(),
                rows_affected: Some(rows),
                error: None,
            }),
            Err(e) => return Err(Step::Failed(i, e)),
        }
    }
    Ok(())
}

/// Sends all statements in one simple-query message (PostgreSQL, inside the transaction).
async fn run_batch(
    c: &mut sqlx::PgConnection,
    stmts: &[ScriptStatement],
    report: &mut ExecutionReport,
) -> Result<(), Step> {
    use futures::StreamExt;
    use sqlx::Executor as _;
    // A newline before each `;` so a trailing `--` comment cannot swallow the separator.
    let batch = stmts
        .iter()
        .map(|st| st.sql.as_str())
        .collect::<Vec<_>>()
        .join("\n;\n");
    let mut results = c.fetch_many(sqlx::raw_sql(sqlx::AssertSqlSafe(batch)));
    let mut t0 = Instant::now();
    let mut i = 0;
    while let Some(item) = results.next().await {
        match item {
            Ok(sqlx::Either::Left(done)) => {
                let Some(st) = stmts.get(i) else { break };
                report.statements.push(StatementResult {
                    index: i,
                    line: st.line,
                    duration: t0.elapsed(),
                    rows_affected: Some(done.rows_affected()),
                    error: None,
                });
                t0 = Instant::now();
                i += 1;
            }
            Ok(sqlx::Either::Right(_row)) => {}
            Err(e) => return Err(Step::Failed(i.min(stmts.len().saturating_sub(1)), e)),
        }
    }
    Ok(())
}

/// Records a rolled-back attempt as `failed` with nothing applied (outside the transaction).
async fn record_failure(
    s: &mut Session,
    change: &Change,
    report: ExecutionReport,
    started_at: DateTime<Utc>,
) -> Result<ExecutionReport, EngineError> {
    let mut rec = base_record(
        change,
        report.statements_total,
        ChangeStatus::Failed,
        started_at,
    );
    rec.finished_at = Some(Utc::now());
    rec.attempts = i64::from(report.attempts);
    rec.error.clone_from(&report.error);
    history::upsert(s, &rec).await?;
    Ok(report)
}

async fn run_intent(
    ex: &Executor,
    s: &mut Session,
    change: &Change,
    stmts: &[ScriptStatement],
) -> Result<ExecutionReport, EngineError> {
    let engine = s.engine();
    let mut report = ExecutionReport::new(stmts.len());
    report.attempts = 1;
    // Under the executor lock, before the first statement: waits for no lock of the change.
    let before = capture_apart(ex, s).await;
    // Started: after the snapshot, when the first statement is about to run.
    let mut rec = base_record(change, stmts.len(), ChangeStatus::Running, Utc::now());
    rec.attempts = 1;
    before.into_before(&mut rec);
    history::upsert(s, &rec).await?;
    for (i, st) in stmts.iter().enumerate() {
        if !ex.opts.pause_before_statement.is_zero() {
            tokio::time::sleep(ex.opts.pause_before_statement).await;
        }
        let idx = i64::try_from(i).unwrap_or(i64::MAX);
        loop {
            if ex.cancel.0.requested.load(Ordering::SeqCst) {
                report.outcome = if i == 0 {
                    Outcome::Cancelled
                } else {
                    Outcome::NeedsIntervention
                };
                report.error = Some(format!("cancelled on request after {i} statements"));
                return finish_intent_failure(ex, s, rec, report, i).await;
            }
            // Intent record first: if we die between here and the done record, the next run
            // sees `current_statement` and refuses to guess.
            history::set_progress(s, &change.uid, idx, Some(idx)).await?;
            let t0 = Instant::now();
            let result = s.exec(&st.sql).await;
            let mut res = StatementResult {
                index: i,
                line: st.line,
                duration: t0.elapsed(),
                rows_affected: None,
                error: None,
            };
            match result {
                Ok(rows) => {
                    res.rows_affected = Some(rows);
                    report.statements.push(res);
                    history::set_progress(s, &change.uid, idx + 1, None).await?;
                    report.statements_applied = i + 1;
                    break;
                }
                Err(e) => {
                    let class = classify(engine, &e);
                    let msg = statement_error(st, i, &e);
                    res.error = Some(msg.clone());
                    report.statements.push(res);
                    if class == ErrorClass::Connection {
                        return Err(EngineError::Execution(e));
                    }
                    report.error = Some(msg);
                    if class == ErrorClass::LockTimeout && report.attempts < ex.opts.max_attempts {
                        // A lock timeout ran nothing: clear the intent and retry this statement.
                        history::set_progress(s, &change.uid, idx, None).await?;
                        report.attempts += 1;
                        tokio::time::sleep(ex.backoff(report.attempts)).await;
                        continue;
                    }
                    report.outcome = match class {
                        _ if i > 0 => Outcome::NeedsIntervention,
                        ErrorClass::LockTimeout => Outcome::LockTimeout,
                        ErrorClass::Cancelled if ex.cancel.is_requested() => Outcome::Cancelled,
                        _ => Outcome::Failed,
                    };
                    return finish_intent_failure(ex, s, rec, report, i).await;
                }
            }
        }
    }
    let finished_at = Utc::now();
    // Every statement has committed: a failed after-snapshot must not leave the row `running`
    // (which reads as interrupted), so it is recorded as missing instead.
    let after = capture_apart(ex, s).await;
    rec.status = ChangeStatus::Applied;
    rec.statements_applied = rec.statements_total;
    rec.finished_at = Some(finished_at);
    rec.attempts = i64::from(report.attempts);
    after.into_after(&mut rec);
    history::upsert(s, &rec).await?;
    report.outcome = Outcome::Applied;
    report.before_digest = rec.before_digest;
    report.after_digest = rec.after_digest;
    Ok(report)
}

async fn finish_intent_failure(
    ex: &Executor,
    s: &mut Session,
    mut rec: HistoryRecord,
    report: ExecutionReport,
    applied: usize,
) -> Result<ExecutionReport, EngineError> {
    rec.finished_at = Some(Utc::now());
    rec.status = if applied > 0 {
        // Part of the change took effect: the schema it left is what a human must judge.
        capture_apart(ex, s).await.into_after(&mut rec);
        ChangeStatus::NeedsIntervention
    } else {
        ChangeStatus::Failed
    };
    rec.statements_applied = i64::try_from(applied).unwrap_or(i64::MAX);
    rec.current_statement = None;
    rec.attempts = i64::from(report.attempts);
    rec.error.clone_from(&report.error);
    history::upsert(s, &rec).await?;
    Ok(report)
}
