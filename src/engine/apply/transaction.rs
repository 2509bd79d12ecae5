//! The transactional path: the whole change and its history row commit in one transaction
//! (PostgreSQL, SQLite), retried as a whole on lock timeouts. Exactly once.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::{
    Run, Shot, base_record, capture_apart, capture_inside, from_existing, statement_error,
};
use crate::engine::EngineError;
use crate::engine::change::{Change, ExecutionReport, Outcome, StatementResult};
use crate::engine::history::{self, ChangeStatus};
use crate::engine::progress::statement_marker;
use crate::engine::session::{ErrorClass, Session, classify};
use crate::engine::split::ScriptStatement;
use crate::sqltext::Engine;

pub(super) async fn run(
    ex: &Run<'_>,
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
        let mut before = if engine == Engine::Sqlite {
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
        if engine == Engine::Sqlite
            && let Some(rec) = history::get(s, &change.uid).await?
            && let Some(r) = from_existing(&rec, stmts.len())
        {
            let _ = s.exec("ROLLBACK").await;
            return Ok(r);
        }
        // SQLite: the database is locked from BEGIN IMMEDIATE, so the before-snapshot is taken
        // inside the transaction, before the first statement.
        if engine == Engine::Sqlite {
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
                    run_batch(c, ex, stmts, &mut report).await
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
                ex.progress.idle();
                if class == ErrorClass::LockTimeout {
                    if report.attempts < ex.opts.max_attempts.max(1) {
                        tokio::time::sleep(ex.opts.backoff(report.attempts + 1)).await;
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
    ex: &Run<'_>,
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
        ex.progress.statement_started(i, stmts.len(), st.line);
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

/// Sends all statements in one simple-query message (PostgreSQL, inside the transaction), each
/// after its [`statement_marker`]: the server sends the results only when the whole message is
/// done, so which statement runs meanwhile is read from the server by the progress probe.
async fn run_batch(
    c: &mut sqlx::PgConnection,
    ex: &Run<'_>,
    stmts: &[ScriptStatement],
    report: &mut ExecutionReport,
) -> Result<(), Step> {
    use futures::StreamExt;
    use sqlx::Executor as _;
    let total = stmts.len();
    // A newline before each `;` so a trailing `--` comment cannot swallow the separator.
    let batch = stmts
        .iter()
        .enumerate()
        .map(|(i, st)| format!("{}\n;\n{}", statement_marker(i, total), st.sql))
        .collect::<Vec<_>>()
        .join("\n;\n");
    ex.progress
        .batch_started(stmts.iter().map(|st| st.line).collect());
    let mut results = c.fetch_many(sqlx::raw_sql(sqlx::AssertSqlSafe(batch)));
    let mut t0 = Instant::now();
    // Two completions per statement: its marker's, then its own.
    let mut completions = 0;
    while let Some(item) = results.next().await {
        let i = completions / 2;
        match item {
            Ok(sqlx::Either::Left(done)) => {
                completions += 1;
                if completions % 2 == 1 {
                    continue;
                }
                let Some(st) = stmts.get(i) else { break };
                report.statements.push(StatementResult {
                    index: i,
                    line: st.line,
                    duration: t0.elapsed(),
                    rows_affected: Some(done.rows_affected()),
                    error: None,
                });
                t0 = Instant::now();
            }
            Ok(sqlx::Either::Right(_row)) => {}
            Err(e) => return Err(Step::Failed(i.min(total.saturating_sub(1)), e)),
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
