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
            ex.progress.statement_started(i, stmts.len(), st.line);
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
                    let mut msg = statement_error(st, i, &e);
                    if class != ErrorClass::Connection
                        && let Some(dropped) = drop_invalid_index(s, &st.sql, &e).await
                    {
                        msg.push_str(&format!(
                            "; the invalid index {dropped} it left behind was dropped"
                        ));
                    }
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

/// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY [IF NOT EXISTS] name …` names, as written
/// (quoted or qualified); `None` for other statements and for unnamed indexes.
fn concurrent_index_name(sql: &str) -> Option<String> {
    let mut words = sql.split_whitespace().map(str::to_ascii_uppercase);
    if words.next()? != "CREATE" {
        return None;
    }
    let mut next = words.next()?;
    if next == "UNIQUE" {
        next = words.next()?;
    }
    if next != "INDEX" || words.next()? != "CONCURRENTLY" {
        return None;
    }
    // The same words again, as written, after `CONCURRENTLY [IF NOT EXISTS]`.
    let upper = sql.to_ascii_uppercase();
    let mut rest = &sql[upper.find("CONCURRENTLY")? + "CONCURRENTLY".len()..];
    rest = rest.trim_start();
    if rest.to_ascii_uppercase().starts_with("IF NOT EXISTS") {
        rest = rest["IF NOT EXISTS".len()..].trim_start();
    }
    let end = if rest.starts_with('"') {
        // A quoted name (possibly qualified): up to the first whitespace or `(` outside quotes.
        let mut quoted = false;
        rest.char_indices()
            .find(|&(_, c)| {
                if c == '"' {
                    quoted = !quoted;
                }
                !quoted && (c.is_whitespace() || c == '(')
            })
            .map_or(rest.len(), |(i, _)| i)
    } else {
        rest.find(|c: char| c.is_whitespace() || c == '(')
            .unwrap_or(rest.len())
    };
    let name = &rest[..end];
    (!name.is_empty() && !name.eq_ignore_ascii_case("ON")).then(|| name.to_owned())
}

/// A failed `CREATE INDEX CONCURRENTLY` leaves its half-built index behind, marked invalid: it
/// costs every write to the table and makes a retry fail with "already exists". Drops it
/// (`DROP INDEX CONCURRENTLY`) when the statement named it and it is invalid, unless the error was
/// that the name was already taken (the invalid index is then someone else's). Returns the name
/// dropped.
async fn drop_invalid_index(s: &mut Session, sql: &str, error: &sqlx::Error) -> Option<String> {
    let name = concurrent_index_name(sql)?;
    let duplicate = error
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "42P07");
    let Session::Pg(conn) = s else {
        return None;
    };
    if duplicate {
        return None;
    }
    let invalid: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index \
         WHERE indexrelid = pg_catalog.to_regclass($1) AND NOT indisvalid)",
    )
    .bind(&name)
    .fetch_one(&mut *conn)
    .await
    .ok()?;
    if !invalid {
        return None;
    }
    s.exec(&format!("DROP INDEX CONCURRENTLY IF EXISTS {name}"))
        .await
        .ok()?;
    Some(name)
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

#[cfg(test)]
mod tests {
    use super::concurrent_index_name;

    #[test]
    fn names_of_concurrent_index_builds() {
        let name = |sql: &str| concurrent_index_name(sql);
        assert_eq!(
            name("CREATE INDEX CONCURRENTLY idx_a ON t (a)").as_deref(),
            Some("idx_a")
        );
        assert_eq!(
            name("create unique index concurrently if not exists s.u_b on s.t(b)").as_deref(),
            Some("s.u_b")
        );
        assert_eq!(
            name("CREATE INDEX CONCURRENTLY \"My Index\" ON t (x)").as_deref(),
            Some("\"My Index\"")
        );
        assert_eq!(name("CREATE INDEX CONCURRENTLY ON t (a)"), None, "unnamed");
        assert_eq!(name("CREATE INDEX idx ON t (a)"), None, "not concurrent");
        assert_eq!(name("DROP INDEX CONCURRENTLY idx"), None);
    }
}
