//! What a running change is doing now, for its status: which statement of how many and since
//! when (every engine, kept by the executor in memory), and on PostgreSQL how far an index build
//! has come (`pg_stat_progress_create_index`, read from a second session). Reads only: nothing
//! here writes to the target database or takes a lock there.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::EngineError;
use super::config::ConnectionConfig;
use super::session::Session;
use crate::sqltext::Engine;

/// The statement an executor is running, as [`ProgressHandle::now`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningStatement {
    /// 0-based index of the statement in the script.
    pub index: usize,
    /// Statements in the script.
    pub total: usize,
    /// 1-based line where the statement starts.
    pub line: usize,
    /// When the statement was sent (for the first statement of a batch: when the batch was).
    pub started_at: DateTime<Utc>,
    /// The server session running it (PostgreSQL backend pid, MySQL connection id).
    pub backend: Option<i64>,
}

/// Shared between an executor and whoever reports its progress: the executor marks each
/// statement as it starts and clears the mark when its run ends.
#[derive(Debug, Clone, Default)]
pub struct ProgressHandle(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    backend: Option<i64>,
    running: Option<(usize, usize, usize, DateTime<Utc>)>,
}

impl ProgressHandle {
    /// Records the server session the change runs on (`None` when the run ended).
    pub(crate) fn set_backend(&self, backend: Option<i64>) {
        if let Ok(mut s) = self.0.lock() {
            s.backend = backend;
        }
    }

    /// Statement `index` of `total` (starting at `line`) starts now.
    pub(crate) fn statement_started(&self, index: usize, total: usize, line: usize) {
        if let Ok(mut s) = self.0.lock() {
            s.running = Some((index, total, line, Utc::now()));
        }
    }

    /// No statement runs any more (the run ended, or it is between attempts).
    pub(crate) fn idle(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.running = None;
        }
    }

    /// The statement running now, if any.
    #[must_use]
    pub fn now(&self) -> Option<RunningStatement> {
        let s = self.0.lock().ok()?;
        let (index, total, line, started_at) = s.running?;
        Some(RunningStatement {
            index,
            total,
            line,
            started_at,
            backend: s.backend,
        })
    }
}

/// One row of `pg_stat_progress_create_index`: an index being built by `CREATE INDEX
/// [CONCURRENTLY]`, `REINDEX` or a constraint that builds one (`ADD PRIMARY KEY`, `ADD UNIQUE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexBuild {
    /// `CREATE INDEX`, `CREATE INDEX CONCURRENTLY`, `REINDEX` or `REINDEX CONCURRENTLY`.
    pub command: String,
    /// The server's phase name, e.g. `building index: scanning table`.
    pub phase: String,
    /// Heap blocks processed in the current phase, and of how many.
    pub blocks: (u64, u64),
    /// Tuples processed in the current phase, and of how many.
    pub tuples: (u64, u64),
    /// Sessions waited for in a `waiting for …` phase, and of how many.
    pub lockers: (u64, u64),
}

/// What [`IndexBuild::fraction`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Heap blocks (`scanning table` phases).
    Blocks,
    /// Tuples (`loading tuples in tree`, index validation).
    Tuples,
    /// Sessions waited for (`waiting for …` phases).
    Lockers,
}

impl ProgressUnit {
    /// The unit's name for people.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Blocks => "blocks",
            Self::Tuples => "tuples",
            Self::Lockers => "sessions",
        }
    }
}

impl IndexBuild {
    /// How far the current phase has come: done, total and what they count. `None` in phases
    /// the server gives no total for (`initializing`, `sorting live tuples`).
    #[must_use]
    pub fn fraction(&self) -> Option<(u64, u64, ProgressUnit)> {
        let scanning_table = self.phase.contains("scanning table");
        let candidates = if scanning_table {
            [
                (self.blocks, ProgressUnit::Blocks),
                (self.tuples, ProgressUnit::Tuples),
                (self.lockers, ProgressUnit::Lockers),
            ]
        } else if self.phase.starts_with("waiting") {
            [
                (self.lockers, ProgressUnit::Lockers),
                (self.tuples, ProgressUnit::Tuples),
                (self.blocks, ProgressUnit::Blocks),
            ]
        } else {
            [
                (self.tuples, ProgressUnit::Tuples),
                (self.blocks, ProgressUnit::Blocks),
                (self.lockers, ProgressUnit::Lockers),
            ]
        };
        candidates
            .into_iter()
            .find(|((_, total), _)| *total > 0)
            .map(|((done, total), unit)| (done.min(total), total, unit))
    }

    /// Percent of the current phase done (0–100), when the phase has a total.
    #[must_use]
    pub fn percent(&self) -> Option<u32> {
        let (done, total, _) = self.fraction()?;
        u32::try_from(done.saturating_mul(100) / total).ok()
    }
}

/// A second session to the target database that reads progress views; connects on first use
/// and again after an error.
#[derive(Debug)]
pub struct ProgressProbe {
    cfg: ConnectionConfig,
    session: Option<Session>,
}

impl ProgressProbe {
    /// A probe for `cfg`'s database (no connection yet).
    #[must_use]
    pub fn new(cfg: ConnectionConfig) -> Self {
        Self { cfg, session: None }
    }

    /// The index build running in server session `backend`, if any. Only PostgreSQL reports
    /// one; other engines answer `Ok(None)` without connecting.
    ///
    /// # Errors
    /// The probe could not connect or the query failed (the session is dropped and reopened on
    /// the next call).
    pub async fn index_build(&mut self, backend: i64) -> Result<Option<IndexBuild>, EngineError> {
        if self.cfg.engine != Engine::Postgres {
            return Ok(None);
        }
        if self.session.is_none() {
            self.session = Some(Session::connect(&self.cfg).await?);
        }
        let Some(Session::Pg(conn)) = self.session.as_mut() else {
            return Ok(None);
        };
        let row: Result<Option<(String, String, [i64; 6])>, sqlx::Error> =
            sqlx::query_as::<_, (String, String, i64, i64, i64, i64, i64, i64)>(
                "SELECT command, phase, blocks_done, blocks_total, tuples_done, tuples_total, \
             lockers_done, lockers_total \
             FROM pg_catalog.pg_stat_progress_create_index WHERE pid = $1",
            )
            .bind(i32::try_from(backend).unwrap_or(0))
            .fetch_optional(&mut *conn)
            .await
            .map(|r| r.map(|(c, p, a, b, d, e, f, g)| (c, p, [a, b, d, e, f, g])));
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                if let Some(s) = self.session.take() {
                    s.close().await;
                }
                return Err(EngineError::Session(e));
            }
        };
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(row.map(|(command, phase, v)| IndexBuild {
            command,
            phase,
            blocks: (n(v[0]), n(v[1])),
            tuples: (n(v[2]), n(v[3])),
            lockers: (n(v[4]), n(v[5])),
        }))
    }

    /// Closes the probe's session.
    pub async fn close(self) {
        if let Some(s) = self.session {
            s.close().await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn build(phase: &str, blocks: (u64, u64), tuples: (u64, u64)) -> IndexBuild {
        IndexBuild {
            command: "CREATE INDEX".into(),
            phase: phase.into(),
            blocks,
            tuples,
            lockers: (0, 0),
        }
    }

    #[test]
    fn the_fraction_counts_what_the_phase_works_through() {
        let scan = build("building index: scanning table", (250, 1000), (0, 0));
        assert_eq!(scan.fraction(), Some((250, 1000, ProgressUnit::Blocks)));
        assert_eq!(scan.percent(), Some(25));
        // Loading counts tuples although the scan's block counts are still set.
        let load = build(
            "building index: loading tuples in tree",
            (1000, 1000),
            (30, 40),
        );
        assert_eq!(load.percent(), Some(75));
        assert_eq!(
            build("building index: sorting live tuples", (0, 0), (0, 0)).percent(),
            None
        );
        assert_eq!(build("initializing", (0, 0), (0, 0)).fraction(), None);
        let mut wait = build("waiting for old snapshots", (0, 0), (0, 0));
        wait.lockers = (1, 4);
        assert_eq!(wait.fraction(), Some((1, 4, ProgressUnit::Lockers)));
        // A done count past its total (the server estimates) never reads over 100 %.
        assert_eq!(
            build("index validation: scanning table", (12, 10), (0, 0)).percent(),
            Some(100)
        );
    }

    #[test]
    fn the_handle_reports_the_running_statement_until_idle() {
        let h = ProgressHandle::default();
        assert_eq!(h.now(), None);
        h.set_backend(Some(42));
        h.statement_started(1, 3, 7);
        let now = h.now().unwrap();
        assert_eq!(
            (now.index, now.total, now.line, now.backend),
            (1, 3, 7, Some(42))
        );
        h.idle();
        assert_eq!(h.now(), None);
    }
}
