//! Report: the status the workflow built, completed with what the history row (and this
//! process's report of the run) says about an execution, written when it changed; then the
//! Event of a transition.

use kube::Api;

use crate::api::schema_change::{
    ExecutionRecord, SchemaChange, SchemaChangeStatus, StatementResult,
};
use crate::controller::{Context, Error, snapshots, status_patch};
use crate::engine::{ExecutionReport, HistoryRecord};
use crate::workflow::{Decision, StatusUpdate};

/// Most per-statement results kept in status.
const MAX_STATEMENT_RESULTS: usize = 200;

/// Writes the status of `update` (when it differs from the current one), with `execution` and
/// `snapshots` from the history `row` when the decision reports from the history, and
/// publishes the update's Event.
pub(super) async fn write(
    ctx: &Context,
    api: &Api<SchemaChange>,
    change: &SchemaChange,
    decision: &Decision,
    update: StatusUpdate,
    row: Option<&HistoryRecord>,
) -> Result<(), Error> {
    let mut status = update.status;
    if decision.reports_from_history()
        && let Some(row) = row
    {
        let uid = change.metadata.uid.as_deref().unwrap_or_default();
        fill_from_history(ctx, change, uid, row, &mut status).await?;
    }
    if status != change.status.clone().unwrap_or_default() {
        let name = change.metadata.name.as_deref().unwrap_or_default();
        status_patch::write(api, &ctx.metrics, name, change.status.as_ref(), &status).await?;
    }
    if let Some(event) = &update.event {
        ctx.publish(change, event).await;
    }
    Ok(())
}

/// Fills `execution` and `snapshots` from the history row (and this process's report of the
/// run, which has the per-statement results).
async fn fill_from_history(
    ctx: &Context,
    change: &SchemaChange,
    uid: &str,
    row: &HistoryRecord,
    status: &mut SchemaChangeStatus,
) -> Result<(), Error> {
    let report = match ctx.executions.finished(uid) {
        Some(crate::controller::Finished::Report(report)) => Some(report),
        _ => None,
    };
    if status.execution.is_none() || report.is_some() {
        status.execution = Some(execution_record(row, report.as_ref()));
    }
    if status.snapshots.is_none()
        && let Some(record) = snapshots::record(&ctx.client, change, row).await?
    {
        status.snapshots = Some(record);
    }
    Ok(())
}

fn statement_results(report: &ExecutionReport) -> Vec<StatementResult> {
    report
        .statements
        .iter()
        .take(MAX_STATEMENT_RESULTS)
        .map(|s| StatementResult {
            index: crate::api::count(s.index),
            line: crate::api::count(s.line),
            duration_ms: u64::try_from(s.duration.as_millis()).unwrap_or(u64::MAX),
            rows_affected: s.rows_affected.unwrap_or(0),
            error: s.error.clone(),
        })
        .collect()
}

pub(super) fn execution_from_report(
    base: ExecutionRecord,
    report: &ExecutionReport,
) -> ExecutionRecord {
    let statements = statement_results(report);
    ExecutionRecord {
        statements_total: crate::api::count(report.statements_total),
        statements_applied: crate::api::count(report.statements_applied),
        rows_affected: statements.iter().map(|s| s.rows_affected).sum(),
        attempts: report.attempts,
        error: report.error.clone(),
        statements,
        ..base
    }
}

fn execution_record(row: &HistoryRecord, report: Option<&ExecutionReport>) -> ExecutionRecord {
    let statements = report.map(statement_results).unwrap_or_default();
    ExecutionRecord {
        started_at: Some(row.started_at.to_rfc3339()),
        finished_at: row.finished_at.map(|t| t.to_rfc3339()),
        statements_total: u32::try_from(row.statements_total).unwrap_or(0),
        statements_applied: u32::try_from(row.statements_applied).unwrap_or(0),
        rows_affected: statements.iter().map(|s| s.rows_affected).sum(),
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        error: row.error.clone(),
        statements,
    }
}
