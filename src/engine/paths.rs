//! The two execution paths: one transaction (PostgreSQL, SQLite) and per-statement intent/done
//! records (MySQL DDL, non-transactional PostgreSQL statements). Called only by the executor.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chrono::Utc;

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

fn base_record(change: &Change, total: usize, status: ChangeStatus) -> HistoryRecord {
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
        started_at: Utc::now(),
        finished_at: None,
        approved_by: change.approved_by.clone(),
        operator: change.operator.clone(),
        error: None,
        attempts: 0,
        before_snapshot: None,
        before_digest: None,
        after_snapshot: None,
        after_digest: None,
    }
}

/// Takes a snapshot when enabled and supported: (compressed canonical JSON, digest).
async fn capture(ex: &Executor, s: &mut Session) -> Result<Option<(Vec<u8>, String)>, EngineError> {
    if !ex.opts.capture_snapshots {
        return Ok(None);
    }
    let Some(schema) = super::introspect::snapshot(s).await? else {
        return Ok(None);
    };
    Ok(Some((
        history::compress(schema.canonical_json().as_bytes()),
        schema.digest(),
    )))
}

/// The before-snapshot of a PostgreSQL change, taken on its own connection while the statements
/// run: the change is uncommitted until we join this, so MVCC shows the schema as it was before.
/// Catalog reads take no locks on user tables, and the session's lock timeout bounds any wait.
/// `None` when it fails; the change itself never depends on it.
async fn before_snapshot(cfg: super::config::ConnectionConfig) -> Option<(Vec<u8>, String)> {
    let mut s = Session::connect(&cfg).await.ok()?;
    let r = super::introspect::snapshot(&mut s).await;
    s.close().await;
    let schema = r.ok()??;
    Some((
        history::compress(schema.canonical_json().as_bytes()),
        schema.digest(),
    ))
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
    let transactional = match s.engine() {
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
    let mut before_task = (ex.opts.capture_snapshots && engine == EngineKind::Postgres)
        .then(|| tokio::spawn(before_snapshot(ex.cfg.clone())));
    'attempt: loop {
        report.attempts += 1;
        report.statements.clear();
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
        // Engines without the PostgreSQL side connection take the before-snapshot inside the
        // transaction, before the first statement (SQLite: the database is locked from BEGIN).
        let before_inline = if before_task.is_none() {
            capture(ex, s).await?
        } else {
            None
        };
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
        match step {
            Ok(()) => {}
            Err(Step::Cancelled) => {
                let _ = s.exec("ROLLBACK").await;
                report.outcome = Outcome::Cancelled;
                report.error = Some("cancelled on request; nothing was applied".into());
                return record_failure(s, change, report).await;
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
                return record_failure(s, change, report).await;
            }
        }
        let before = match before_task.take() {
            Some(task) => task.await.ok().flatten(),
            None => before_inline,
        };
        let after = capture(ex, s).await?;
        let mut rec = base_record(change, stmts.len(), ChangeStatus::Applied);
        rec.statements_applied = rec.statements_total;
        rec.finished_at = Some(Utc::now());
        rec.attempts = i64::from(report.attempts);
        if let Some((data, digest)) = before {
            rec.before_snapshot = Some(data);
            rec.before_digest = Some(digest);
        }
        if let Some((data, digest)) = after {
            rec.after_snapshot = Some(data);
            rec.after_digest = Some(digest);
        }
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
) -> Result<ExecutionReport, EngineError> {
    let mut rec = base_record(change, report.statements_total, ChangeStatus::Failed);
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
    let before = capture(ex, s).await?;
    let mut rec = base_record(change, stmts.len(), ChangeStatus::Running);
    rec.attempts = 1;
    if let Some((data, digest)) = before {
        rec.before_snapshot = Some(data);
        rec.before_digest = Some(digest);
    }
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
                return finish_intent_failure(s, rec, report, i).await;
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
                    return finish_intent_failure(s, rec, report, i).await;
                }
            }
        }
    }
    let after = capture(ex, s).await?;
    rec.status = ChangeStatus::Applied;
    rec.statements_applied = rec.statements_total;
    rec.finished_at = Some(Utc::now());
    rec.attempts = i64::from(report.attempts);
    if let Some((data, digest)) = after {
        rec.after_snapshot = Some(data);
        rec.after_digest = Some(digest);
    }
    history::upsert(s, &rec).await?;
    report.outcome = Outcome::Applied;
    report.before_digest = rec.before_digest;
    report.after_digest = rec.after_digest;
    Ok(report)
}

async fn finish_intent_failure(
    s: &mut Session,
    mut rec: HistoryRecord,
    report: ExecutionReport,
    applied: usize,
) -> Result<ExecutionReport, EngineError> {
    rec.status = if applied > 0 {
        ChangeStatus::NeedsIntervention
    } else {
        ChangeStatus::Failed
    };
    rec.statements_applied = i64::try_from(applied).unwrap_or(i64::MAX);
    rec.current_statement = None;
    rec.finished_at = Some(Utc::now());
    rec.attempts = i64::from(report.attempts);
    rec.error.clone_from(&report.error);
    history::upsert(s, &rec).await?;
    Ok(report)
}
