//! The non-transactional path: an intent record before each statement and a done record after
//! it (MySQL DDL commits implicitly; PostgreSQL statements that cannot run in a transaction;
//! `transactionMode: none`). At most once per statement: a change interrupted part-way is never
//! re-run, it needs a human.

use std::time::Instant;

use chrono::Utc;

use super::{Run, base_record, capture_apart, statement_error};
use crate::engine::EngineError;
use crate::engine::change::{Change, ExecutionReport, Outcome, StatementResult};
use crate::engine::history::{self, ChangeStatus, HistoryRecord};
use crate::engine::session::{ErrorClass, Session, classify};
use crate::engine::split::ScriptStatement;

pub(super) async fn run(
    ex: &Run<'_>,
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
            if ex.cancel.is_requested() {
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
                        tokio::time::sleep(ex.opts.backoff(report.attempts)).await;
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
    ex: &Run<'_>,
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
