//! DatabaseInstance controller: resolves the Secret (get only), connects, reports `Ready` with the
//! server version or `Ready=False` with a reason (SecretNotFound, SecretInvalid, AuthFailed,
//! TlsFailed, Unreachable) and retries with capped exponential backoff; checks drift (live
//! schema vs the latest recorded after-snapshot) every `driftCheckIntervalSeconds`. Reads the
//! database only; never changes it beyond creating the history table.
//!
//! Quiet at rest: it runs on spec and annotation changes (never on its own status writes, see
//! `super::instance_controller`) and on the timers it sets — the next drift check, exactly when
//! it is due, or a connection retry. A status write that would change nothing but timestamps is
//! skipped, and a drift check that fails leaves `Ready` alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};
use tracing::Instrument as _;

use crate::api::conditions::{find, reasons, set_condition, set_condition_unknown, types};
use crate::api::database_instance::{
    DatabaseInstance, DatabaseInstanceSpec, DatabaseInstanceStatus,
};
use crate::engine::{self, ConnectionConfig, EngineError, Session};
use crate::snapshot::{Schema, diff, render_objects};
use crate::workflow::{EventNote, EventType};

use super::connection::{self, ConnectionError};
use super::{Context, Error, backoff, ns_name, status_patch};

/// How soon a due drift check is tried again while this process executes a change on the
/// database (at most the interval itself).
const DEFERRED_RETRY: Duration = Duration::from_secs(30);

/// A drift check that ran (successfully or not): when, and against which target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCheck {
    /// The [`target_of`] fingerprint of the spec it ran against.
    target: String,
    /// When it ran.
    at: Timestamp,
}

/// The last drift check of each DatabaseInstance (by uid) run by this process. Checks that
/// find what the status already says are not written, so the schedule lives here.
#[derive(Debug, Default)]
pub struct DriftChecks(Mutex<HashMap<String, LastCheck>>);

impl DriftChecks {
    fn get(&self, uid: &str) -> Option<LastCheck> {
        self.0.lock().ok().and_then(|m| m.get(uid).cloned())
    }

    fn record(&self, uid: &str, check: LastCheck) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(uid.to_owned(), check);
        }
    }
}

/// What identifies the schema an instance points at: a change to any of these retargets it,
/// and the drift check runs at once.
fn target_of(spec: &DatabaseInstanceSpec) -> String {
    format!(
        "{}|{}|{:?}|{}|{}",
        spec.engine.as_str(),
        spec.host.as_deref().unwrap_or_default(),
        spec.port,
        spec.database,
        spec.credentials_secret_ref
            .as_ref()
            .map(|r| r.name.as_str())
            .unwrap_or_default()
    )
}

/// The last check the status records, when the status was computed for the current spec (so
/// for the same target): after a restart, the schedule continues from it.
fn recorded_check(instance: &DatabaseInstance, target: &str) -> Option<LastCheck> {
    let status = instance.status.as_ref()?;
    if status.observed_generation != instance.metadata.generation {
        return None;
    }
    let at = status.last_drift_check.as_deref()?.parse().ok()?;
    Some(LastCheck {
        target: target.to_owned(),
        at,
    })
}

/// When the next drift check is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DriftPlan {
    /// `driftCheckIntervalSeconds: 0`.
    Off,
    /// Now: never checked (by this process, for this target), or the interval has passed.
    Due,
    /// Not before this much time has passed.
    DueIn(Duration),
}

/// Drift runs on its interval only, counted from the last check of the same target.
fn drift_plan(
    interval_seconds: u32,
    last: Option<&LastCheck>,
    target: &str,
    now: Timestamp,
) -> DriftPlan {
    if interval_seconds == 0 {
        return DriftPlan::Off;
    }
    let interval = Duration::from_secs(u64::from(interval_seconds));
    let Some(last) = last.filter(|l| l.target == target) else {
        return DriftPlan::Due;
    };
    let elapsed_ms = now
        .as_millisecond()
        .saturating_sub(last.at.as_millisecond());
    // A clock that went back counts as no time passed.
    let elapsed = Duration::from_millis(u64::try_from(elapsed_ms).unwrap_or(0));
    if elapsed >= interval {
        DriftPlan::Due
    } else {
        DriftPlan::DueIn(interval - elapsed)
    }
}

/// When to run again after a successful connection check.
fn next_run(plan: DriftPlan, checked: bool, interval_seconds: u32) -> Action {
    let interval = Duration::from_secs(u64::from(interval_seconds));
    match plan {
        DriftPlan::Off => Action::await_change(),
        DriftPlan::Due if checked => Action::requeue(interval),
        // Deferred while this process executes a change on the database.
        DriftPlan::Due => Action::requeue(DEFERRED_RETRY.min(interval)),
        DriftPlan::DueIn(wait) => Action::requeue(wait),
    }
}

/// Whether `new` differs from `current` in more than the time of the last drift check: a
/// check that confirms what the status says is not written.
fn worth_writing(current: &DatabaseInstanceStatus, new: &DatabaseInstanceStatus) -> bool {
    let mut without_times = new.clone();
    without_times
        .last_drift_check
        .clone_from(&current.last_drift_check);
    without_times != *current
}

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
    /// The drift check's result, when one ran. Its failure is not the connection's.
    drift: Option<Result<Drift, EngineError>>,
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
            let checked = probe.drift.is_some();
            if let Some(drift) = probe.drift {
                ctx.drift_checks
                    .record(&uid, LastCheck { target, at: now.0 });
                apply_drift(&mut status, drift, interval, generation, now);
            }
            next_run(plan, checked, interval)
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
    if worth_writing(&current, &status) {
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
    drift: Result<Drift, EngineError>,
    interval_seconds: u32,
    generation: Option<i64>,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) {
    status.last_drift_check = Some(now.0.to_string());
    let drift = match drift {
        Ok(drift) => drift,
        Err(e) => {
            // Not the connection's fault (a lock timeout behind someone's DDL, a catalog
            // error): `Ready` stays as it is, and the next interval tries again.
            let message = format!(
                "the drift check failed; retried in {interval_seconds} s: {}",
                crate::engine::error_chain(&e)
            );
            tracing::info!(error = %message, "drift check failed");
            set_condition_unknown(
                &mut status.conditions,
                types::DRIFTED,
                reasons::DRIFT_CHECK_FAILED,
                &message,
                generation,
                now,
            );
            status.drift.clear();
            return;
        }
    };
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
                || (condition_type == types::DRIFTED && now.status != "False");
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn spec(host: &str) -> DatabaseInstanceSpec {
        serde_json::from_value(serde_json::json!({
            "engine": "postgres", "host": host, "database": "app",
            "credentialsSecretRef": {"name": "creds"}
        }))
        .unwrap()
    }

    #[test]
    fn drift_runs_on_its_interval_counted_from_the_last_check_of_the_same_target() {
        let target = target_of(&spec("db1"));
        let last = LastCheck {
            target: target.clone(),
            at: at(1_000),
        };
        assert_eq!(
            drift_plan(0, Some(&last), &target, at(5_000)),
            DriftPlan::Off
        );
        assert_eq!(
            drift_plan(600, None, &target, at(1_000)),
            DriftPlan::Due,
            "never checked"
        );
        assert_eq!(
            drift_plan(600, Some(&last), &target, at(1_010)),
            DriftPlan::DueIn(Duration::from_secs(590)),
            "due exactly 600 s after the last check"
        );
        assert_eq!(
            drift_plan(600, Some(&last), &target, at(1_600)),
            DriftPlan::Due
        );
        // Retargeted (another host): at once.
        let moved = target_of(&spec("db2"));
        assert_ne!(moved, target);
        assert_eq!(
            drift_plan(600, Some(&last), &moved, at(1_010)),
            DriftPlan::Due
        );
        // A clock that went back waits a whole interval rather than checking early.
        assert_eq!(
            drift_plan(600, Some(&last), &target, at(900)),
            DriftPlan::DueIn(Duration::from_secs(600))
        );
    }

    #[test]
    fn the_next_run_is_the_next_due_time_or_a_short_retry_when_deferred() {
        let secs = |a: Action| format!("{a:?}");
        assert_eq!(
            secs(next_run(DriftPlan::Off, false, 0)),
            secs(Action::await_change())
        );
        assert_eq!(
            secs(next_run(DriftPlan::Due, true, 600)),
            secs(Action::requeue(Duration::from_secs(600)))
        );
        assert_eq!(
            secs(next_run(DriftPlan::Due, false, 600)),
            secs(Action::requeue(DEFERRED_RETRY))
        );
        assert_eq!(
            secs(next_run(DriftPlan::Due, false, 5)),
            secs(Action::requeue(Duration::from_secs(5)))
        );
        assert_eq!(
            secs(next_run(
                DriftPlan::DueIn(Duration::from_secs(42)),
                false,
                600
            )),
            secs(Action::requeue(Duration::from_secs(42)))
        );
    }

    #[test]
    fn a_check_that_only_moves_the_timestamp_is_not_written() {
        let mut current = DatabaseInstanceStatus::default();
        let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(1_000));
        let drift = || Drift {
            live_digest: "d".into(),
            lines: Some(Vec::new()),
        };
        apply_drift(&mut current, Ok(drift()), 600, Some(1), now);
        let mut again = current.clone();
        let later = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(1_600));
        apply_drift(&mut again, Ok(drift()), 600, Some(1), later.clone());
        assert_ne!(again.last_drift_check, current.last_drift_check);
        assert!(!worth_writing(&current, &again));
        // A different result is written.
        let mut drifted = current.clone();
        apply_drift(
            &mut drifted,
            Ok(Drift {
                live_digest: "e".into(),
                lines: Some(vec!["+ table t".into()]),
            }),
            600,
            Some(1),
            later,
        );
        assert!(worth_writing(&current, &drifted));
    }

    #[test]
    fn a_failed_drift_check_is_unknown_drift_and_leaves_ready_alone() {
        let mut status = DatabaseInstanceStatus::default();
        let t = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(at(1_000));
        set_condition(
            &mut status.conditions,
            types::READY,
            true,
            reasons::CONNECTED,
            "connected",
            Some(1),
            t.clone(),
        );
        apply_drift(
            &mut status,
            Ok(Drift {
                live_digest: "d".into(),
                lines: Some(vec!["+ table t".into()]),
            }),
            600,
            Some(1),
            t.clone(),
        );
        let before = status.clone();
        let failed = EngineError::Config("canceling statement due to lock timeout".into());
        apply_drift(&mut status, Err(failed), 600, Some(1), t);
        let ready = find(&status.conditions, types::READY).unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Connected")
        );
        let drifted = find(&status.conditions, types::DRIFTED).unwrap();
        assert_eq!(drifted.status, "Unknown");
        assert_eq!(drifted.reason, reasons::DRIFT_CHECK_FAILED);
        assert!(
            drifted.message.contains("lock timeout"),
            "{}",
            drifted.message
        );
        assert!(
            drifted.message.contains("retried in 600 s"),
            "{}",
            drifted.message
        );
        assert!(status.drift.is_empty());
        let note = transition(&before, &status).unwrap();
        assert_eq!(note.reason, reasons::DRIFT_CHECK_FAILED);
        assert!(matches!(note.type_, EventType::Warning));
    }
}
