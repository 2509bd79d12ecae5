//! DatabaseInstance controller: resolves the Secret (get only), connects, reports `Ready` with the
//! server version or `Ready=False` with a reason (SecretNotFound, SecretInvalid, AuthFailed,
//! TlsFailed, Unreachable) and retries with capped exponential backoff; checks drift (live
//! schema vs the latest recorded after-snapshot). Reads the database only; never changes it
//! beyond creating the history table.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use tracing::Instrument as _;

use crate::api::conditions::{find, reasons, set_condition, types};
use crate::api::database_instance::{DatabaseInstance, DatabaseInstanceStatus};
use crate::engine::{self, ConnectionConfig, EngineError, Session};
use crate::snapshot::{Schema, diff, render_objects};
use crate::workflow::{EventNote, EventType};

use super::connection::{self, ConnectionError};
use super::{Context, Error, backoff, ns_name, status_patch};

/// Reconciles one DatabaseInstance.
pub async fn reconcile(
    instance: Arc<DatabaseInstance>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let (ns, name) = ns_name(instance.as_ref())?;
    let span =
        tracing::info_span!("reconcile", kind = "DatabaseInstance", namespace = %ns, name = %name);
    let result = reconcile_instance(&instance, &ctx, &ns, &name)
        .instrument(span)
        .await;
    ctx.metrics
        .reconciled("databaseinstance", started.elapsed());
    result
}

/// What a connection attempt found.
struct Probe {
    server_version: String,
    drift: Option<Drift>,
}

/// The drift check's result.
struct Drift {
    live_digest: String,
    /// `None`: no after-snapshot recorded yet.
    lines: Option<Vec<String>>,
}

async fn probe(cfg: &ConnectionConfig, check_drift: bool) -> Result<Probe, EngineError> {
    let mut s = Session::connect(cfg).await?;
    let result = async {
        let server_version = server_version(&mut s).await?;
        engine::history::ensure(&mut s).await?;
        let drift = if check_drift {
            match engine::introspect::snapshot(&mut s).await? {
                Some(live) => Some(drift_of(&mut s, &live).await?),
                None => None,
            }
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
    let live_digest = live.digest();
    let Some((json, recorded_digest)) = engine::history::latest_after_snapshot(s).await? else {
        return Ok(Drift {
            live_digest,
            lines: None,
        });
    };
    if recorded_digest == live_digest {
        return Ok(Drift {
            live_digest,
            lines: Some(Vec::new()),
        });
    }
    let recorded = std::str::from_utf8(&json)
        .ok()
        .and_then(|t| Schema::from_json(t).ok());
    let lines = match recorded {
        Some(recorded) => {
            let mut lines = diff(&render_objects(&recorded), &render_objects(live)).human_lines();
            lines.truncate(50);
            lines
        }
        None => vec!["the recorded snapshot could not be read".to_owned()],
    };
    Ok(Drift {
        live_digest,
        lines: Some(lines),
    })
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
    let outcome = match connection::resolve(&ctx.client, ns, instance).await {
        Ok(cfg) => probe(&cfg, interval > 0)
            .await
            .map_err(ConnectionError::from),
        Err(e) => Err(e),
    };
    let action = match outcome {
        Ok(probe) => {
            reset_failures(ctx, &uid);
            let message = format!("connected; server {}", probe.server_version);
            set_condition(
                &mut status.conditions,
                types::READY,
                true,
                reasons::CONNECTED,
                &message,
                generation,
                now.clone(),
            );
            status.server_version = Some(probe.server_version);
            if let Some(drift) = probe.drift {
                apply_drift(&mut status, drift, generation, now);
            }
            if interval > 0 {
                Action::requeue(Duration::from_secs(u64::from(interval)))
            } else {
                Action::await_change()
            }
        }
        Err(e) => {
            // A different failure means something was fixed: start backing off afresh.
            let previous = crate::api::conditions::find(&current.conditions, types::READY)
                .map(|c| c.reason.as_str());
            if previous.is_some_and(|r| r != e.reason()) {
                reset_failures(ctx, &uid);
            }
            let failures = count_failure(ctx, &uid);
            let message = crate::engine::error_chain(&e);
            tracing::info!(reason = e.reason(), error = %message, "instance not ready");
            set_condition(
                &mut status.conditions,
                types::READY,
                false,
                e.reason(),
                &message,
                generation,
                now,
            );
            Action::requeue(backoff(failures))
        }
    };
    status.observed_generation = generation;
    if status != current {
        let api: Api<DatabaseInstance> = Api::namespaced(ctx.client.clone(), ns);
        status_patch::write(&api, &ctx.metrics, name, instance.status.as_ref(), &status).await?;
        if let Some(note) = transition(&current, &status) {
            ctx.publish(instance, &note).await;
        }
    }
    Ok(action)
}

fn apply_drift(
    status: &mut DatabaseInstanceStatus,
    drift: Drift,
    generation: Option<i64>,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) {
    let (drifted, reason, message, lines) = match drift.lines {
        None => (
            false,
            reasons::NO_BASELINE,
            "no applied change with a snapshot yet".to_owned(),
            Vec::new(),
        ),
        Some(lines) if lines.is_empty() => (
            false,
            reasons::IN_SYNC,
            "live schema matches the last recorded after-snapshot".to_owned(),
            Vec::new(),
        ),
        Some(lines) => (
            true,
            reasons::SCHEMA_DRIFT,
            format!(
                "live schema differs from the last recorded after-snapshot ({} difference(s))",
                lines.len()
            ),
            lines,
        ),
    };
    set_condition(
        &mut status.conditions,
        types::DRIFTED,
        drifted,
        reason,
        &message,
        generation,
        now.clone(),
    );
    status.drift = lines;
    status.last_snapshot_digest = Some(drift.live_digest);
    status.last_drift_check = Some(now.0.to_string());
}

/// An Event when `Ready` or `Drifted` changed reason.
fn transition(
    before: &DatabaseInstanceStatus,
    after: &DatabaseInstanceStatus,
) -> Option<EventNote> {
    for condition_type in [types::READY, types::DRIFTED] {
        let Some(now) = find(&after.conditions, condition_type) else {
            continue;
        };
        let was = find(&before.conditions, condition_type);
        if was.is_none_or(|c| c.reason != now.reason || c.status != now.status) {
            let warning = (condition_type == types::READY && now.status == "False")
                || (condition_type == types::DRIFTED && now.status == "True");
            return Some(EventNote {
                type_: if warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: now.reason.clone(),
                message: now.message.clone(),
            });
        }
    }
    None
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
