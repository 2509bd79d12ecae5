//! DatabaseInstance decisions: when the next drift check is due, what a check or a connection
//! attempt writes to the status, whether that is worth a write, and the Event of a
//! transition. The controller connects, snapshots and reads the history; everything it then
//! decides is here.
//!
//! Pure: no client calls, no database, no clock (the caller passes `now`).

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{find, reasons, set_condition, set_condition_unknown, types};
use crate::api::database_instance::{
    DatabaseInstance, DatabaseInstanceSpec, DatabaseInstanceStatus,
};
use crate::snapshot::{Schema, drift_lines};

use super::status::{EventNote, EventType};

/// How soon a due drift check is tried again while this process executes a change on the
/// database (at most the interval itself).
pub const DEFERRED_RETRY: Duration = Duration::from_secs(30);

/// A drift check that ran (successfully or not): when, and against which target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastCheck {
    /// The [`target_of`] fingerprint of the spec it ran against.
    pub target: String,
    /// When it ran.
    pub at: Timestamp,
}

/// What identifies the schema an instance points at: a change to any of these retargets it,
/// and the drift check runs at once.
pub fn target_of(spec: &DatabaseInstanceSpec) -> String {
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
pub fn recorded_check(instance: &DatabaseInstance, target: &str) -> Option<LastCheck> {
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
pub enum DriftPlan {
    /// `driftCheckIntervalSeconds: 0`.
    Off,
    /// Now: never checked (by this process, for this target), or the interval has passed.
    Due,
    /// Not before this much time has passed.
    DueIn(Duration),
}

/// Drift runs on its interval only, counted from the last check of the same target.
pub fn drift_plan(
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

/// When to run again after a successful connection check (`None`: only on a spec change).
#[must_use]
pub fn next_run(plan: DriftPlan, checked: bool, interval_seconds: u32) -> Option<Duration> {
    let interval = Duration::from_secs(u64::from(interval_seconds));
    match plan {
        DriftPlan::Off => None,
        DriftPlan::Due if checked => Some(interval),
        // Deferred while this process executes a change on the database.
        DriftPlan::Due => Some(DEFERRED_RETRY.min(interval)),
        DriftPlan::DueIn(wait) => Some(wait),
    }
}

/// Whether `new` differs from `current` in more than the time of the last drift check: a
/// check that confirms what the status says is not written.
pub fn worth_writing(current: &DatabaseInstanceStatus, new: &DatabaseInstanceStatus) -> bool {
    let mut without_times = new.clone();
    without_times
        .last_drift_check
        .clone_from(&current.last_drift_check);
    without_times != *current
}

/// The drift check's result: the live schema against the latest recorded after-snapshot.
pub struct Drift {
    /// Digest of the live schema.
    pub live_digest: String,
    /// `None`: no after-snapshot recorded yet.
    pub lines: Option<Vec<String>>,
}

/// Compares the live schema with the latest recorded after-snapshot (its canonical JSON and
/// digest; `None` when no change recorded one yet), by [`drift_lines`]. At most 50
/// difference lines.
#[must_use]
pub fn drift_between(recorded: Option<(&[u8], &str)>, live: &Schema) -> Drift {
    let live_digest = live.digest();
    let Some((json, recorded_digest)) = recorded else {
        return Drift {
            live_digest,
            lines: None,
        };
    };
    if recorded_digest == live_digest {
        return Drift {
            live_digest,
            lines: Some(Vec::new()),
        };
    }
    let recorded = std::str::from_utf8(json)
        .ok()
        .and_then(|t| Schema::from_json(t).ok());
    let lines = match recorded {
        Some(recorded) => {
            // A snapshot of an older format renders the same schema differently: compared
            // by names until a change records one in the current format.
            let mut lines = drift_lines(&recorded, live);
            lines.truncate(50);
            lines
        }
        None => vec!["the recorded snapshot could not be read".to_owned()],
    };
    Drift {
        live_digest,
        lines: Some(lines),
    }
}

/// `Ready=True` after a successful connection, with the server version.
pub fn connected(
    status: &mut DatabaseInstanceStatus,
    server_version: String,
    generation: Option<i64>,
    now: Time,
) {
    set_condition(
        &mut status.conditions,
        types::READY,
        true,
        reasons::CONNECTED,
        &format!("connected; server {server_version}"),
        generation,
        now,
    );
    status.server_version = Some(server_version);
}

/// `Ready=False` with the failure's reason and message.
pub fn not_ready(
    status: &mut DatabaseInstanceStatus,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: Time,
) {
    set_condition(
        &mut status.conditions,
        types::READY,
        false,
        reason,
        message,
        generation,
        now,
    );
}

/// Whether a connection failure with `reason` is a different failure from the one `status`
/// records: something was fixed, so backing off starts afresh.
#[must_use]
pub fn failure_changed(status: &DatabaseInstanceStatus, reason: &str) -> bool {
    find(&status.conditions, types::READY).is_some_and(|c| c.reason != reason)
}

/// Records a drift check (or its failure, as the error chain) in the status: `Drifted`, the
/// difference lines and the live digest. A failed check leaves `Ready` alone.
pub fn apply_drift(
    status: &mut DatabaseInstanceStatus,
    drift: Result<Drift, String>,
    interval_seconds: u32,
    generation: Option<i64>,
    now: Time,
) {
    status.last_drift_check = Some(now.0.to_string());
    let drift = match drift {
        Ok(drift) => drift,
        Err(e) => {
            // Not the connection's fault (a lock timeout behind someone's DDL, a catalog
            // error): `Ready` stays as it is, and the next interval tries again.
            let message = format!("the drift check failed; retried in {interval_seconds} s: {e}");
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
#[must_use]
pub fn transition(
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
        assert_eq!(next_run(DriftPlan::Off, false, 0), None);
        assert_eq!(
            next_run(DriftPlan::Due, true, 600),
            Some(Duration::from_secs(600))
        );
        assert_eq!(next_run(DriftPlan::Due, false, 600), Some(DEFERRED_RETRY));
        assert_eq!(
            next_run(DriftPlan::Due, false, 5),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            next_run(DriftPlan::DueIn(Duration::from_secs(42)), false, 600),
            Some(Duration::from_secs(42))
        );
    }

    #[test]
    fn a_check_that_only_moves_the_timestamp_is_not_written() {
        let mut current = DatabaseInstanceStatus::default();
        let now = Time(at(1_000));
        let drift = || Drift {
            live_digest: "d".into(),
            lines: Some(Vec::new()),
        };
        apply_drift(&mut current, Ok(drift()), 600, Some(1), now);
        let mut again = current.clone();
        let later = Time(at(1_600));
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
        let t = Time(at(1_000));
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
        let failed = "canceling statement due to lock timeout".to_owned();
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

    fn sqlite_schema(format: u32, columns: &[(&str, &str)]) -> Schema {
        let mut s = Schema::new(crate::snapshot::Dialect::Sqlite);
        s.format = format;
        let mut t = crate::snapshot::Table::new("", "notes");
        for (name, ty) in columns {
            t.columns.push(crate::snapshot::Column::new(*name, *ty));
        }
        s.tables.push(t);
        s
    }

    fn drift_of(recorded: &Schema, live: &Schema) -> Vec<String> {
        let json = recorded.canonical_json();
        let digest = recorded.digest();
        drift_between(Some((json.as_bytes(), &digest)), live)
            .lines
            .unwrap()
    }

    #[test]
    fn a_sqlite_snapshot_of_format_2_is_compared_by_names_not_by_type_casing() {
        // Format 2 kept the pragmas' upper-cased type names; format 3 keeps `text` as declared.
        let recorded = sqlite_schema(2, &[("id", "INTEGER"), ("body", "TEXT")]);
        let live = sqlite_schema(3, &[("id", "INTEGER"), ("body", "text")]);
        assert_ne!(recorded.digest(), live.digest());
        assert_eq!(drift_of(&recorded, &live), Vec::<String>::new());
        // A real change still shows.
        let dropped = sqlite_schema(3, &[("id", "INTEGER")]);
        assert_eq!(
            drift_of(&recorded, &dropped),
            ["~ table notes: removed column \"body\""]
        );
        // Between snapshots of the same format the casing is a difference.
        let same_format = sqlite_schema(3, &[("id", "INTEGER"), ("body", "TEXT")]);
        assert!(!drift_of(&same_format, &live).is_empty());
        assert_eq!(Schema::new(crate::snapshot::Dialect::Sqlite).format, 3);
    }
}
