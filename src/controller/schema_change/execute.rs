//! Act: run an approved change (or settle one an executor left `running`) in the background,
//! under the engine's lock, so a deletion can cancel it; the end of the run is reported on the
//! change, which re-triggers the reconcile that records the outcome from the history table.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use tracing::Instrument as _;

use crate::api::schema_change::{ExecutionRecord, SchemaChange};
use crate::controller::Context;
use crate::engine::{self, ConnectionConfig, HistoryRecord};
use crate::workflow::{ApprovedChange, SqlText};

use super::observe::Target;
use super::report::execution_from_report;

/// Runs an approved change in the background, so a deletion can cancel it; the end of the run
/// re-triggers the reconcile, which records the outcome from the history table.
pub(super) fn spawn_execution(
    ctx: &Context,
    ns: &str,
    approved: ApprovedChange,
    spec: &crate::api::schema_change::SchemaChangeSpec,
    cfg: ConnectionConfig,
    lock_retries: u32,
    history_key: &str,
) {
    let uid = approved.uid().to_owned();
    let approved_by = approved
        .record()
        .approvals
        .iter()
        .map(|a| {
            a.user
                .clone()
                .unwrap_or_else(|| format!("Approval {}", a.approval))
        })
        .collect::<Vec<_>>();
    let work = engine::Change {
        uid: uid.clone(),
        namespace: ns.to_owned(),
        name: approved.name().to_owned(),
        version: approved.version().to_string(),
        sql: approved.sql().to_owned(),
        approved_by: if approved.record().auto {
            Some("auto-approval policy".to_owned())
        } else {
            Some(approved_by.join(", "))
        },
        author: history_author(spec),
        operator: ctx.settings.identity.clone(),
        transaction_mode: engine_mode(spec.transaction_mode),
    };
    spawn_run(ctx, ns, work, cfg, lock_retries, history_key);
}

/// The author for the history row: the recorded author, and the GitOps identity that synced
/// the change beside it.
fn history_author(spec: &crate::api::schema_change::SchemaChangeSpec) -> Option<String> {
    let author = spec.author.as_ref()?;
    Some(match &spec.synced_by {
        Some(syncer) if syncer.username != author.username => {
            format!("{} (synced by {})", author.username, syncer.username)
        }
        _ => author.username.clone(),
    })
}

/// Settles a history row left `running` by an executor that died (the operator was killed
/// mid-change on a non-transactional path). The row proves the change was approved and started.
/// The executor, under the database lock, never re-runs a change that ran any statement: it
/// marks it NeedsIntervention (or, when nothing ran, runs it — which the approval allowed).
pub(super) fn spawn_recovery(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
    target: &Target,
    row: &HistoryRecord,
    sql: &SqlText,
) {
    let (Some(cfg), Some(instance), SqlText::Resolved(sql)) =
        (&target.config, &target.instance, sql)
    else {
        return;
    };
    // Only the SQL the history row recorded may run.
    if crate::workflow::sql_digest(sql) != row.sql_sha256 {
        return;
    }
    tracing::info!("history says running but no executor here: settling it under the lock");
    let work = engine::Change {
        uid: row.change_uid.clone(),
        namespace: ns.to_owned(),
        name: change.name_any(),
        version: change.spec.version.clone(),
        sql: sql.clone(),
        approved_by: row.approved_by.clone(),
        author: row.author.clone(),
        operator: ctx.settings.identity.clone(),
        transaction_mode: engine_mode(change.spec.transaction_mode),
    };
    spawn_run(
        ctx,
        ns,
        work,
        cfg.clone(),
        instance.spec.timeouts.lock_retries,
        &target.history_key,
    );
}

/// `spec.transactionMode` for the engine (immutable by a CEL rule, so what was approved).
pub(super) fn engine_mode(
    mode: crate::api::schema_change::TransactionMode,
) -> engine::TransactionMode {
    match mode {
        crate::api::schema_change::TransactionMode::Auto => engine::TransactionMode::Auto,
        crate::api::schema_change::TransactionMode::None => engine::TransactionMode::None,
    }
}

/// Runs `work` in the background and reports the run on the change's status.
fn spawn_run(
    ctx: &Context,
    ns: &str,
    work: engine::Change,
    cfg: ConnectionConfig,
    lock_retries: u32,
    history_key: &str,
) {
    let engine_name = cfg.engine.as_str();
    let mut opts = ctx.settings.exec.clone();
    opts.max_attempts = 1 + lock_retries;
    let executor = engine::Executor::new(cfg.clone(), opts);
    let progress = executor.progress_handle();
    let progress_settings = ctx.settings.progress;
    let uid = work.uid.clone();
    ctx.executions
        .start(&uid, history_key, executor.cancel_handle());
    let api: Api<SchemaChange> = Api::namespaced(ctx.client.clone(), ns);
    let name = work.name.clone();
    let metrics = ctx.metrics.clone();
    let executions = ctx.executions.clone();
    let history = ctx.history.clone();
    let history_key = history_key.to_owned();
    let span = tracing::info_span!("execute", namespace = %ns, name = %work.name);
    tokio::spawn(
        async move {
            tracing::info!(version = %work.version, "executing");
            let started_at = chrono::Utc::now().to_rfc3339();
            let reporter = crate::controller::progress::Reporter::spawn(
                api.clone(),
                name.clone(),
                progress,
                cfg,
                progress_settings,
                metrics.clone(),
            );
            let result = executor.execute(&work).await;
            // Before the end is reported: no progress write may come after it.
            if let Some(reporter) = reporter {
                reporter.stop().await;
            }
            // Before the end is reported: the reconcile it triggers must read the new row.
            history.invalidate(&history_key).await;
            let finished_at = chrono::Utc::now().to_rfc3339();
            let outcome = match &result {
                Ok(report) => format!("{:?}", report.outcome),
                Err(_) => "error".to_owned(),
            };
            metrics.executed(engine_name, &outcome);
            let mut record = ExecutionRecord {
                started_at: Some(started_at),
                finished_at: Some(finished_at),
                ..ExecutionRecord::default()
            };
            match result {
                Ok(report) => {
                    tracing::info!(outcome, "execution ended");
                    record = execution_from_report(record, &report);
                    executions.finish(&uid, crate::controller::Finished::Report(report));
                }
                Err(e) => {
                    let message = engine::error_chain(&e);
                    let transient = e.is_transient();
                    tracing::warn!(error = %message, transient, "execution failed before recording");
                    record.error = Some(message.clone());
                    executions.finish(&uid, crate::controller::Finished::Error { message, transient });
                    if transient {
                        tokio::time::sleep(crate::controller::backoff(2)).await;
                    }
                }
            }
            // Reporting the run is also what re-triggers the reconcile that records the
            // outcome from the history table. The run's progress goes with it.
            let patch = serde_json::json!({ "status": { "execution": record, "progress": null } });
            if let Err(e) = api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                tracing::warn!(error = %e, "reporting the execution failed");
            }
        }
        .instrument(span),
    );
}
