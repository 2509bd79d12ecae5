//! SchemaChange controller: observe (change, Project, DatabaseInstance + Secret, SQL, Approvals,
//! history, siblings) → `workflow::decide` → act once (review, execute, record, release) →
//! report (status subresource, Event on transitions).
//!
//! Decisions come from `crate::workflow` only. Deleting a change never touches the database,
//! except to cancel an execution this process is running for it.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use tracing::Instrument as _;

use crate::api::approval::Approval;
use crate::api::conditions::{is_true, types};
use crate::api::database_instance::DatabaseInstance;
use crate::api::project::Project;
use crate::api::schema_change::{
    ExecutionRecord, Finding, FindingLevel, Phase, RiskLevel, SchemaChange, SchemaChangeStatus,
    StatementResult,
};
use crate::engine::{self, ConnectionConfig, EngineKind, ExecutionReport, HistoryRecord, Session};
use crate::review::{Catalog, Level, Risk};
use crate::workflow::{
    ApprovedChange, Decision, HistoryFacts, Observed, ObservedApproval, ObservedChange,
    ObservedInstance, ObservedProject, ReviewOutcome, SiblingChange, SqlText, decide, next_status,
};

use super::{Context, Error, FINALIZER, connection, ns_name, snapshots, status_patch};

/// Most per-statement results kept in status.
const MAX_STATEMENT_RESULTS: usize = 200;

/// Reconciles one SchemaChange.
pub async fn reconcile(change: Arc<SchemaChange>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let (ns, name) = ns_name(change.as_ref())?;
    let span =
        tracing::info_span!("reconcile", kind = "SchemaChange", namespace = %ns, name = %name);
    let result = reconcile_change(&change, &ctx, &ns, &name)
        .instrument(span)
        .await;
    ctx.metrics.reconciled("schemachange", started.elapsed());
    result
}

async fn reconcile_change(
    change: &SchemaChange,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Action, Error> {
    let api: Api<SchemaChange> = Api::namespaced(ctx.client.clone(), ns);
    let uid = change.uid().unwrap_or_default();
    let deleting = change.metadata.deletion_timestamp.is_some();
    if let Some(handle) = ctx.executions.running(&uid) {
        if deleting {
            tracing::info!("deleted while applying: cancelling the execution");
            if let Err(e) = handle.cancel().await {
                tracing::warn!(error = %engine::error_chain(&e), "cancel failed");
            }
        }
        // The execution task re-triggers this reconcile when it ends.
        return Ok(Action::await_change());
    }
    if deleting && !has_finalizer(change) {
        return Ok(Action::await_change());
    }
    if !deleting && !has_finalizer(change) {
        add_finalizer(&api, change, name).await?;
    }
    let target = observe_target(ctx, ns, change).await?;
    let mut observed = observe(ctx, ns, change, &target).await?;
    let mut decision = decide(&observed);
    if let Decision::Review { digest, key } = decision {
        let reviewed_target = observed
            .instance
            .as_ref()
            .map(|i| i.target.clone())
            .unwrap_or_default();
        let review =
            run_review(ctx, &observed, &target)
                .await
                .stamped(&crate::workflow::ReviewStamp {
                    key: &key,
                    digest: &digest,
                    target: &reviewed_target,
                    previous_key: observed.review.as_ref().map(|r| r.key.as_str()),
                    status: &observed.change.status,
                    created: observed.change.created.as_ref(),
                    now: &observed.now,
                });
        ctx.reviews.put(&uid, review.clone());
        observed.review = Some(review);
        decision = decide(&observed);
    }
    tracing::debug!(?decision, "decided");
    let update = next_status(&observed, &decision);
    if deleting || update.status.phase.is_some_and(Phase::is_terminal) {
        // The review is only needed on the way to an execution.
        ctx.reviews.forget(&uid);
    }
    let mut status = update.status;
    // Only decisions read from the history need the row itself (with its snapshots).
    let row = match (&decision, &target.config) {
        (
            Decision::RecordApplied
            | Decision::Fail { .. }
            | Decision::NeedsIntervention { .. }
            | Decision::InProgress,
            Some(cfg),
        ) if observed
            .history
            .as_ref()
            .is_some_and(|h| h.this_change.is_some()) =>
        {
            history_row(cfg, &uid).await?
        }
        _ => None,
    };
    if matches!(
        decision,
        Decision::RecordApplied | Decision::Fail { .. } | Decision::NeedsIntervention { .. }
    ) && let Some(row) = &row
    {
        fill_from_history(ctx, change, &uid, row, &mut status).await?;
    }
    let current = change.status.clone().unwrap_or_default();
    if status != current {
        status_patch::write(&api, &ctx.metrics, name, change.status.as_ref(), &status).await?;
    }
    if let Some(event) = &update.event {
        ctx.publish(change, event).await;
    }
    if matches!(decision, Decision::RecordApplied) {
        ctx.executions.forget(&uid);
    }
    match decision {
        Decision::Execute(approved) => {
            if let (Some(cfg), Some(instance)) = (target.config, &target.instance) {
                let retries = instance.spec.timeouts.lock_retries;
                let mode = engine_mode(change.spec.transaction_mode);
                spawn_execution(ctx, ns, approved, mode, cfg, retries, &target.history_key);
            }
        }
        Decision::Release | Decision::CancelAndRelease => {
            remove_finalizer(&api, change, name).await?;
        }
        Decision::InProgress => {
            // Not running here (checked above): another executor, or a dead one.
            if let Some(row) = &row {
                spawn_recovery(ctx, ns, change, &target, row, &observed.sql);
            }
        }
        Decision::WaitForInstance { .. } => {
            // The instance controller retries the connection; its status change re-triggers us.
        }
        _ => {}
    }
    if target.history_unreadable && !deleting {
        return Ok(Action::requeue(HISTORY_RETRY));
    }
    Ok(Action::await_change())
}

/// When to look again after the history table could not be read.
const HISTORY_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

fn has_finalizer(change: &SchemaChange) -> bool {
    change.finalizers().iter().any(|f| f == FINALIZER)
}

async fn add_finalizer(
    api: &Api<SchemaChange>,
    change: &SchemaChange,
    name: &str,
) -> Result<(), Error> {
    let mut finalizers = change.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    let patch = serde_json::json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": change.resource_version() }
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

async fn remove_finalizer(
    api: &Api<SchemaChange>,
    change: &SchemaChange,
    name: &str,
) -> Result<(), Error> {
    let finalizers: Vec<&String> = change
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .collect();
    let patch = serde_json::json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": change.resource_version() }
    });
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// What was learnt about the target database.
struct Target {
    /// The DatabaseInstance, when it exists.
    instance: Option<DatabaseInstance>,
    /// Its connection settings, when it is Ready and they resolve.
    config: Option<ConnectionConfig>,
    /// Why the target is not usable, when it is not.
    not_ready: String,
    /// History facts, when the database was read.
    history: Option<HistoryFacts>,
    /// The history cache key of the instance.
    history_key: String,
    /// The instance is usable but its history table could not be read (a transient error).
    history_unreadable: bool,
}

async fn observe_target(ctx: &Context, ns: &str, change: &SchemaChange) -> Result<Target, Error> {
    let instances: Api<DatabaseInstance> = Api::namespaced(ctx.client.clone(), ns);
    let instance = instances.get_opt(&change.spec.instance_ref).await?;
    let mut target = Target {
        instance,
        config: None,
        not_ready: String::new(),
        history: None,
        history_key: super::history_cache::key(ns, &change.spec.instance_ref),
        history_unreadable: false,
    };
    let Some(instance) = &target.instance else {
        return Ok(target);
    };
    let conditions = instance
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    if !is_true(conditions, types::READY) {
        target.not_ready = crate::api::conditions::find(conditions, types::READY)
            .map_or_else(|| "not checked yet".to_owned(), |c| c.message.clone());
        return Ok(target);
    }
    let cfg = match connection::resolve(&ctx.client, ns, instance).await {
        Ok(cfg) => cfg,
        Err(e) => {
            target.not_ready = engine::error_chain(&e);
            return Ok(target);
        }
    };
    let uid = change.uid().unwrap_or_default();
    let identity = super::history_cache::InstanceIdentity {
        uid: instance.uid().unwrap_or_default(),
        generation: instance.metadata.generation,
    };
    let mut index = ctx.history.get(&target.history_key, &identity, &cfg).await;
    // The status says the change ran but the (possibly cached) index has no row for it: another
    // operator may have run it since the index was read. Read again before the workflow takes
    // the missing row at its word.
    let phase = change.status.as_ref().and_then(|s| s.phase);
    if matches!(phase, Some(Phase::Applied | Phase::Applying))
        && index
            .as_ref()
            .is_ok_and(|i| i.facts(&uid).this_change.is_none())
    {
        ctx.history.invalidate(&target.history_key).await;
        index = ctx.history.get(&target.history_key, &identity, &cfg).await;
    }
    match index {
        Ok(index) => {
            target.history = Some(index.facts(&uid));
            target.config = Some(cfg);
        }
        // Not fatal: the change waits (or, when deleted, is released without the database).
        // The instance stays Ready, so nothing else would wake this change: retry on a timer.
        Err(e) => {
            tracing::info!(error = %engine::error_chain(&e), "history table not readable");
            target.not_ready = engine::error_chain(&e);
            target.history_unreadable = true;
        }
    }
    Ok(target)
}

/// This change's whole history row (with its snapshots), read when it is to be reported.
async fn history_row(
    cfg: &ConnectionConfig,
    uid: &str,
) -> Result<Option<HistoryRecord>, engine::EngineError> {
    let mut s = Session::connect(cfg).await?;
    let row = engine::history::get(&mut s, uid).await;
    s.close().await;
    row
}

async fn observe(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
    target: &Target,
) -> Result<Observed, Error> {
    let client = &ctx.client;
    let projects: Api<Project> = Api::namespaced(client.clone(), ns);
    let project = projects
        .get_opt(&change.spec.project_ref)
        .await?
        .map(|p| ObservedProject {
            policy_error: super::project::review_policy(&p.spec.review)
                .err()
                .map(|e| e.to_string()),
            spec: p.spec,
        });
    let instance = target.instance.as_ref().map(|i| ObservedInstance {
        engine: i.spec.engine,
        target: crate::workflow::Target::of(&i.uid().unwrap_or_default(), &i.spec),
        environment: i.spec.environment.clone(),
        ready: target.config.is_some(),
        message: target.not_ready.clone(),
        checked: i
            .status
            .as_ref()
            .is_some_and(|s| crate::api::conditions::find(&s.conditions, types::READY).is_some()),
    });
    let sql = read_sql(ctx, ns, change).await?;
    let uid = change.uid().unwrap_or_default();
    let review = ctx.reviews.get(&uid);
    let refused = match ctx.executions.finished(&uid) {
        Some(super::Finished::Error {
            message,
            transient: false,
        }) => Some(message),
        _ => None,
    };
    let approvals = approvals(ctx, ns, change, target).await?;
    let decided_by_history = target
        .history
        .as_ref()
        .is_some_and(|h| h.this_change.is_some());
    let siblings = if decided_by_history {
        Vec::new()
    } else {
        siblings(ctx, ns, change).await
    };
    Ok(Observed {
        change: ObservedChange::from_resource(change, None),
        project,
        instance,
        sql,
        review,
        refused,
        approvals,
        history: target.history.clone(),
        siblings,
        now: super::now(),
    })
}

/// The Approvals naming this change. Listed from the API server rather than read from the
/// Approval controller's cache: the watch event that triggered this reconcile may reach that
/// cache later, and a missed Approval would leave the change waiting with nothing to wake it.
/// Not needed when the history decides (applied, failed, running) or the change is going away.
async fn approvals(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
    target: &Target,
) -> Result<Vec<ObservedApproval>, Error> {
    let decided_by_history = target
        .history
        .as_ref()
        .is_some_and(|h| h.this_change.is_some());
    if decided_by_history || change.metadata.deletion_timestamp.is_some() {
        return Ok(Vec::new());
    }
    let name = change.name_any();
    let api: Api<Approval> = Api::namespaced(ctx.client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|a| a.spec.schema_change_ref == name)
        .map(observed_approval)
        .collect())
}

/// What the workflow sees of an Approval. The approver identity is recorded by the admission
/// webhook (a later issue); until then it is unknown here.
pub(super) fn observed_approval(a: &Approval) -> ObservedApproval {
    ObservedApproval {
        name: a.name_any(),
        change: a.spec.schema_change_ref.clone(),
        decision: a.spec.decision,
        sql_digest: a.spec.sql_digest.clone(),
        change_uid: a.spec.schema_change_uid.clone(),
        approver: None,
        created: a.metadata.creation_timestamp.clone(),
    }
}

/// The other live changes for the same instance, from the controller's cache (spec fields are
/// immutable, so only the phase can be a little behind; a phase change re-triggers us).
async fn siblings(ctx: &Context, ns: &str, change: &SchemaChange) -> Vec<SiblingChange> {
    let name = change.name_any();
    let Some(store) = ctx.changes.get() else {
        return Vec::new();
    };
    // Before the initial list is complete an earlier version could be missing: wait for it.
    let _ = store.wait_until_ready().await;
    store
        .state()
        .into_iter()
        .filter(|c| {
            c.metadata.namespace.as_deref() == Some(ns)
                && c.spec.instance_ref == change.spec.instance_ref
                && c.name_any() != name
                && c.metadata.deletion_timestamp.is_none()
        })
        .map(|c| SiblingChange {
            name: c.name_any(),
            version: c.spec.version.clone(),
            phase: c.status.as_ref().and_then(|s| s.phase),
        })
        .collect()
}

async fn read_sql(ctx: &Context, ns: &str, change: &SchemaChange) -> Result<SqlText, Error> {
    if let Some(sql) = &change.spec.sql {
        return Ok(SqlText::Resolved(sql.clone()));
    }
    let Some(source) = &change.spec.sql_from else {
        return Ok(SqlText::Unavailable(
            "neither sql nor sqlFrom is set".to_owned(),
        ));
    };
    let r = &source.config_map_key_ref;
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let Some(cm) = api.get_opt(&r.name).await? else {
        return Ok(SqlText::Unavailable(format!(
            "ConfigMap {} not found in this namespace",
            r.name
        )));
    };
    let text = cm
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key).cloned())
        .or_else(|| {
            cm.binary_data
                .as_ref()
                .and_then(|d| d.get(&r.key))
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
        });
    Ok(match text {
        Some(sql) => SqlText::Resolved(sql),
        None => SqlText::Unavailable(format!("ConfigMap {} has no key {}", r.name, r.key)),
    })
}

/// Reviews the SQL with the project's policy and the live schema as catalog context.
async fn run_review(ctx: &Context, observed: &Observed, target: &Target) -> ReviewOutcome {
    let SqlText::Resolved(sql) = &observed.sql else {
        return ReviewOutcome::default();
    };
    let (Some(project), Some(instance)) = (&observed.project, &target.instance) else {
        return ReviewOutcome::default();
    };
    let engine = connection::review_engine(instance.spec.engine);
    // The workflow only asks for a review once the project's policy is valid.
    let Ok(policy) = super::project::review_policy(&project.spec.review) else {
        return ReviewOutcome::default();
    };
    let catalog = match &target.config {
        Some(cfg) => live_catalog(cfg, engine).await,
        None => None,
    };
    let sql = sql.clone();
    let report = crate::review::review(&sql, engine, &policy, catalog.as_ref());
    for finding in &report.findings {
        ctx.metrics.finding(&finding.rule);
    }
    let findings = report
        .findings
        .iter()
        .map(|f| Finding {
            rule: f.rule.clone(),
            level: match f.level {
                Level::Error => FindingLevel::Error,
                Level::Warning => FindingLevel::Warning,
            },
            statement: u32::try_from(f.statement).unwrap_or(u32::MAX),
            line: u32::try_from(f.line).unwrap_or(u32::MAX),
            column: u32::try_from(f.column).unwrap_or(u32::MAX),
            message: f.message.clone(),
        })
        .collect();
    let risk = match report.risk {
        Risk::Low => RiskLevel::Low,
        Risk::Moderate => RiskLevel::Moderate,
        Risk::High => RiskLevel::High,
    };
    ReviewOutcome::from_findings(
        risk,
        u32::try_from(report.statements).unwrap_or(u32::MAX),
        findings,
    )
}

/// The live schema as review context; `None` when it cannot be read (the review then only
/// sees what the script itself creates).
async fn live_catalog(cfg: &ConnectionConfig, engine: crate::review::Engine) -> Option<Catalog> {
    if cfg.engine == EngineKind::Sqlite {
        return None;
    }
    match engine::introspect::snapshot_database(cfg).await {
        Ok(schema) => Catalog::from_ddl(engine, &schema.canonical_ddl()).ok(),
        Err(e) => {
            tracing::warn!(error = %engine::error_chain(&e), "live schema unavailable for review");
            None
        }
    }
}

/// Runs an approved change in the background, so a deletion can cancel it; the end of the run
/// re-triggers the reconcile, which records the outcome from the history table.
fn spawn_execution(
    ctx: &Context,
    ns: &str,
    approved: ApprovedChange,
    transaction_mode: engine::TransactionMode,
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
        operator: ctx.settings.identity.clone(),
        transaction_mode,
    };
    spawn_run(ctx, ns, work, cfg, lock_retries, history_key);
}

/// Settles a history row left `running` by an executor that died (the operator was killed
/// mid-change on a non-transactional path). The row proves the change was approved and started.
/// The executor, under the database lock, never re-runs a change that ran any statement: it
/// marks it NeedsIntervention (or, when nothing ran, runs it — which the approval allowed).
fn spawn_recovery(
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
fn engine_mode(mode: crate::api::schema_change::TransactionMode) -> engine::TransactionMode {
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
    let executor = engine::Executor::new(cfg, opts);
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
            let result = executor.execute(&work).await;
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
                    executions.finish(&uid, super::Finished::Report(report));
                }
                Err(e) => {
                    let message = engine::error_chain(&e);
                    let transient = e.is_transient();
                    tracing::warn!(error = %message, transient, "execution failed before recording");
                    record.error = Some(message.clone());
                    executions.finish(&uid, super::Finished::Error { message, transient });
                    if transient {
                        tokio::time::sleep(super::backoff(2)).await;
                    }
                }
            }
            // Reporting the run is also what re-triggers the reconcile that records the
            // outcome from the history table.
            let patch = serde_json::json!({ "status": { "execution": record } });
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
        Some(super::Finished::Report(report)) => Some(report),
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
            index: u32::try_from(s.index).unwrap_or(u32::MAX),
            line: u32::try_from(s.line).unwrap_or(u32::MAX),
            duration_ms: u64::try_from(s.duration.as_millis()).unwrap_or(u64::MAX),
            rows_affected: s.rows_affected.unwrap_or(0),
            error: s.error.clone(),
        })
        .collect()
}

fn execution_from_report(base: ExecutionRecord, report: &ExecutionReport) -> ExecutionRecord {
    let statements = statement_results(report);
    ExecutionRecord {
        statements_total: u32::try_from(report.statements_total).unwrap_or(u32::MAX),
        statements_applied: u32::try_from(report.statements_applied).unwrap_or(u32::MAX),
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
