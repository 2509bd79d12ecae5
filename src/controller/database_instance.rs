//! DatabaseInstance controller: resolves the Secret (get only), connects, reports `Ready` with the
//! server version or `Ready=False` with a reason (SecretNotFound, SecretInvalid, AuthFailed,
//! TlsFailed, Unreachable) and retries with capped exponential backoff; checks drift (live
//! schema vs the latest recorded after-snapshot) every `driftCheckIntervalSeconds`. Reads the
//! database only; never changes it beyond creating the history table.
//!
//! Quiet at rest: it runs on spec and annotation changes (never on its own status writes, see
//! `super::instance_controller`) and on the timers it sets — the next drift check, exactly when
//! it is due, or a connection retry. A status write that would change nothing but timestamps is
//! skipped, and a drift check that fails leaves `Ready` alone. What to write and when to check
//! next is decided in `workflow::instance`.

use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use crate::api::database_instance::DatabaseInstance;
use crate::engine::{self, ConnectionConfig, EngineError, Session};
use crate::snapshot::Schema;
use crate::workflow::instance::{
    self, Drift, DriftPlan, LastCheck, drift_plan, next_run, recorded_check, target_of,
    worth_writing,
};

use super::connection::{self, ConnectionError};
use super::{Context, Error, backoff, status_patch};

/// Reconciles one DatabaseInstance.
pub async fn reconcile(
    instance: Arc<DatabaseInstance>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let (o, c) = (&*instance, &*ctx);
    super::instrumented(o, c, "databaseinstance", |ns, name| async move {
        reconcile_instance(o, c, &ns, &name).await
    })
    .await
}

/// What a connection attempt found.
struct Probe {
    server_version: String,
    /// The drift check's result, when one ran. Its failure is not the connection's.
    drift: Option<Result<Drift, EngineError>>,
}

async fn probe(cfg: &ConnectionConfig, check_drift: bool) -> Result<Probe, EngineError> {
    let mut s = Session::connect(cfg).await?;
    let result = async {
        let server_version = server_version(&mut s).await?;
        engine::history::ensure(&mut s).await?;
        let drift = if check_drift {
            Some(check_drift_now(&mut s).await)
        } else {
            None
        };
        Ok(Probe {
            server_version,
            drift,
        })
    }
    .await;
    s.close().await;
    result
}

/// Takes the live schema (one consistent read-only snapshot) and compares it with the latest
/// recorded after-snapshot.
async fn check_drift_now(s: &mut Session) -> Result<Drift, EngineError> {
    let live = engine::introspect::snapshot_consistent(s)
        .await?
        .ok_or_else(|| EngineError::Config("this engine has no schema snapshots".into()))?;
    drift_of(s, &live).await
}

async fn server_version(s: &mut Session) -> Result<String, EngineError> {
    match s {
        Session::Pg(c) => {
            sqlx::query_scalar::<_, String>("SHOW server_version")
                .fetch_one(c)
                .await
        }
        Session::My(c) => {
            sqlx::query_scalar::<_, String>("SELECT VERSION()")
                .fetch_one(c)
                .await
        }
        Session::Lite(c) => {
            sqlx::query_scalar::<_, String>("SELECT 'SQLite ' || sqlite_version()")
                .fetch_one(c)
                .await
        }
    }
    .map_err(EngineError::Session)
}

async fn drift_of(s: &mut Session, live: &Schema) -> Result<Drift, EngineError> {
    let recorded = engine::history::latest_after_snapshot(s).await?;
    Ok(instance::drift_between(
        recorded
            .as_ref()
            .map(|(json, digest)| (json.as_slice(), digest.as_str())),
        live,
    ))
}

async fn reconcile_instance(
    instance: &DatabaseInstance,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Action, Error> {
    let uid = instance.uid().unwrap_or_default();
    let current = instance.status.clone().unwrap_or_default();
    let mut status = current.clone();
    let generation = instance.metadata.generation;
    let now = super::now();
    let interval = instance.spec.drift_check_interval_seconds;
    let target = target_of(&instance.spec);
    let last = ctx
        .drift_checks
        .get(&uid)
        .or_else(|| recorded_check(instance, &target));
    let plan = drift_plan(interval, last.as_ref(), &target, now.0);
    // No snapshot while this process runs a change there: it would wait behind the change's
    // locks or see it half done.
    let executing = ctx
        .executions
        .executing_on(&super::history_cache::key(ns, name));
    let check_drift = plan == DriftPlan::Due && !executing;
    if plan == DriftPlan::Due && executing {
        tracing::debug!("drift check deferred: a change is executing on this database");
    }
    let outcome = match connection::resolve(&ctx.client, ns, instance).await {
        Ok(cfg) => probe(&cfg, check_drift)
            .await
            .map_err(ConnectionError::from),
        Err(e) => Err(e),
    };
    let action = match outcome {
        Ok(probe) => {
            reset_failures(ctx, &uid);
            instance::connected(&mut status, probe.server_version, generation, now.clone());
            let checked = probe.drift.is_some();
            if let Some(drift) = probe.drift {
                ctx.drift_checks
                    .record(&uid, LastCheck { target, at: now.0 });
                let drift = drift.map_err(|e| engine::error_chain(&e));
                instance::apply_drift(&mut status, drift, interval, generation, now);
            }
            next_run(plan, checked, interval).map_or_else(Action::await_change, Action::requeue)
        }
        Err(e) => {
            if instance::failure_changed(&current, e.reason()) {
                reset_failures(ctx, &uid);
            }
            let failures = count_failure(ctx, &uid);
            let message = engine::error_chain(&e);
            tracing::info!(reason = e.reason(), error = %message, "instance not ready");
            instance::not_ready(&mut status, e.reason(), &message, generation, now);
            Action::requeue(backoff(failures))
        }
    };
    status.observed_generation = generation;
    if worth_writing(&current, &status) {
        let api: Api<DatabaseInstance> = Api::namespaced(ctx.client.clone(), ns);
        status_patch::write(&api, &ctx.metrics, name, instance.status.as_ref(), &status).await?;
        if let Some(note) = instance::transition(&current, &status) {
            ctx.publish(instance, &note).await;
        }
    }
    Ok(action)
}

fn count_failure(ctx: &Context, uid: &str) -> u32 {
    ctx.failures.lock().map_or(0, |mut m| {
        let n = m.entry(uid.to_owned()).or_default();
        *n = n.saturating_add(1);
        *n
    })
}

fn reset_failures(ctx: &Context, uid: &str) {
    if let Ok(mut m) = ctx.failures.lock() {
        m.remove(uid);
    }
}
