//! Progress of a running change in its status (`status.progress`): a task beside the
//! execution reads which statement runs (from the executor, every engine) and, on PostgreSQL,
//! how far an index build has come (a second session reading `pg_stat_progress_create_index`),
//! every [`ProgressSettings::poll`], and writes it at most once per
//! [`ProgressSettings::min_write_gap`]. It never touches the history table or anything a
//! decision reads; the execution task removes the progress when the run ends.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use kube::Api;
use kube::api::{Patch, PatchParams};
use tracing::Instrument as _;

use crate::api::schema_change::{ExecutionProgress, IndexBuildProgress, SchemaChange};
use crate::engine::{self, ConnectionConfig, IndexBuild, ProgressHandle, ProgressProbe};

/// How often progress is read and how often it may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressSettings {
    /// Time between two reads of the progress (zero: no progress is reported).
    pub poll: Duration,
    /// Least time between two progress writes of one change to the API server.
    pub min_write_gap: Duration,
}

impl Default for ProgressSettings {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            min_write_gap: Duration::from_secs(4),
        }
    }
}

/// `status.progress` for the statement running now and, when one runs, its index build.
#[must_use]
pub fn progress_status(
    running: &engine::RunningStatement,
    index: Option<&IndexBuild>,
    now: DateTime<Utc>,
) -> ExecutionProgress {
    let statement = crate::api::count(running.index + 1);
    let statements = crate::api::count(running.total);
    let elapsed = (now - running.started_at).to_std().unwrap_or_default();
    let mut summary = format!("{statement}/{statements} {}", elapsed_text(elapsed));
    let index_build = index.map(|b| {
        let fraction = b.fraction();
        let percent = b.percent();
        // The phase without its "building index: " prefix keeps the column short.
        let phase = b.phase.rsplit(": ").next().unwrap_or(&b.phase);
        match percent {
            Some(p) => summary.push_str(&format!(" index {p}% {phase}")),
            None => summary.push_str(&format!(" index {phase}")),
        }
        IndexBuildProgress {
            command: b.command.clone(),
            phase: b.phase.clone(),
            done: fraction.map_or(0, |f| f.0),
            total: fraction.map_or(0, |f| f.1),
            unit: fraction.map(|f| f.2.as_str().to_owned()),
            percent,
        }
    });
    ExecutionProgress {
        statement,
        statements,
        line: crate::api::count(running.line),
        statement_started_at: running.started_at.to_rfc3339(),
        updated_at: now.to_rfc3339(),
        index_build,
        summary,
    }
}

/// `41s`, `3m05s`, `2h07m`.
fn elapsed_text(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// Whether a progress read is worth a write: the first one is, then only one that says
/// something new (not just a later `updatedAt`) and comes `gap` after the last write.
#[derive(Debug)]
struct Throttle {
    gap: Duration,
    last: Option<(ExecutionProgress, Instant)>,
}

impl Throttle {
    fn due(&self, next: &ExecutionProgress, now: Instant) -> bool {
        match &self.last {
            None => true,
            Some((last, at)) => {
                now.duration_since(*at) >= self.gap
                    && ExecutionProgress {
                        updated_at: String::new(),
                        ..last.clone()
                    } != ExecutionProgress {
                        updated_at: String::new(),
                        ..next.clone()
                    }
            }
        }
    }

    fn wrote(&mut self, progress: ExecutionProgress, now: Instant) {
        self.last = Some((progress, now));
    }
}

/// The running progress task of one execution; [`Reporter::stop`] ends it.
pub struct Reporter {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporter {
    /// Starts reporting the progress of the executor behind `handle` on change `name`; `None`
    /// when progress reports are switched off.
    pub fn spawn(
        api: Api<SchemaChange>,
        name: String,
        handle: ProgressHandle,
        cfg: ConnectionConfig,
        settings: ProgressSettings,
        metrics: std::sync::Arc<crate::controller::Metrics>,
    ) -> Option<Self> {
        if settings.poll.is_zero() {
            return None;
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let span = tracing::debug_span!("progress", name = %name);
        let task = tokio::spawn(
            async move {
                let mut probe = ProgressProbe::new(cfg.clone());
                let mut throttle = Throttle {
                    gap: settings.min_write_gap,
                    last: None,
                };
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        () = tokio::time::sleep(settings.poll) => {}
                    }
                    let Some(backend) = handle.now().map(|r| r.backend) else { continue };
                    let index = match backend {
                        Some(backend) => {
                            // Bounded by the poll interval, so a slow probe never holds up
                            // the end of the run; a probe cut short starts a new session.
                            match tokio::time::timeout(settings.poll, probe.sample(backend, &handle))
                                .await
                            {
                                Ok(Ok(index)) => index,
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %engine::error_chain(&e), "index progress unavailable");
                                    None
                                }
                                Err(_) => {
                                    probe = ProgressProbe::new(cfg.clone());
                                    None
                                }
                            }
                        }
                        None => None,
                    };
                    // Again: the probe may have learnt which statement of a batch runs.
                    let Some(running) = handle.now() else { continue };
                    let progress = progress_status(&running, index.as_ref(), Utc::now());
                    let now = Instant::now();
                    if !throttle.due(&progress, now) {
                        continue;
                    }
                    metrics.status_written("SchemaChange");
                    let patch = serde_json::json!({ "status": { "progress": progress } });
                    match api
                        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                        .await
                    {
                        Ok(_) => throttle.wrote(progress, now),
                        Err(e) => tracing::debug!(error = %e, "writing progress failed"),
                    }
                }
                probe.close().await;
            }
            .instrument(span),
        );
        Some(Self { stop, task })
    }

    /// Stops the task and waits for it, so no progress write comes after this returns.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn running(index: usize, secs_ago: i64, now: DateTime<Utc>) -> engine::RunningStatement {
        engine::RunningStatement {
            index,
            total: 3,
            line: 4,
            started_at: now - chrono::Duration::seconds(secs_ago),
            backend: Some(1),
        }
    }

    #[test]
    fn the_summary_says_statement_elapsed_and_index_percentage() {
        let now = Utc::now();
        let p = progress_status(&running(1, 41, now), None, now);
        assert_eq!((p.statement, p.statements, p.line), (2, 3, 4));
        assert_eq!(p.summary, "2/3 41s");
        assert_eq!(p.index_build, None);
        let build = IndexBuild {
            command: "CREATE INDEX CONCURRENTLY".into(),
            phase: "building index: scanning table".into(),
            blocks: (460, 1000),
            tuples: (0, 0),
            lockers: (0, 0),
        };
        let p = progress_status(&running(1, 185, now), Some(&build), now);
        assert_eq!(p.summary, "2/3 3m05s index 46% scanning table");
        let b = p.index_build.unwrap();
        assert_eq!(
            (b.done, b.total, b.unit.as_deref(), b.percent),
            (460, 1000, Some("blocks"), Some(46))
        );
        assert_eq!(b.phase, "building index: scanning table");
        let sorting = IndexBuild {
            phase: "building index: sorting live tuples".into(),
            blocks: (0, 0),
            ..build
        };
        let p = progress_status(&running(0, 7300, now), Some(&sorting), now);
        assert_eq!(p.summary, "1/3 2h01m index sorting live tuples");
        assert_eq!(p.index_build.unwrap().unit, None);
    }

    #[test]
    fn writes_are_spaced_and_only_carry_news() {
        let now = Utc::now();
        let t0 = Instant::now();
        let mut throttle = Throttle {
            gap: Duration::from_secs(5),
            last: None,
        };
        let first = progress_status(&running(0, 2, now), None, now);
        assert!(throttle.due(&first, t0), "the first read is written");
        throttle.wrote(first.clone(), t0);
        let later = progress_status(&running(0, 4, now), None, now);
        assert!(
            !throttle.due(&later, t0 + Duration::from_secs(2)),
            "too soon"
        );
        assert!(throttle.due(&later, t0 + Duration::from_secs(5)));
        let same = ExecutionProgress {
            updated_at: "later".into(),
            ..first
        };
        assert!(
            !throttle.due(&same, t0 + Duration::from_secs(60)),
            "only the time of reading changed"
        );
    }
}
