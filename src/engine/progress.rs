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
    /// The start line of each statement of a batch whose statements the server reports
    /// ([`statement_marker`]); empty otherwise.
    batch_lines: Vec<usize>,
}

/// The prefix of the `application_name` the PostgreSQL batch path sets before each statement.
const MARKER_PREFIX: &str = "schemagate: statement ";

/// A statement that sets the session's `application_name` (for this transaction only) to say
/// that statement `index` of `total` runs next, and returns the server's clock (microseconds
/// since the epoch) as it does. The PostgreSQL transaction path sends the whole script as one
/// message, and the server sends the statements' results only when the message is done, so the
/// executor can tell neither which statement runs nor how long each took; the server can: this
/// marker runs right before each statement, `pg_stat_activity` shows it at once (to DBAs too),
/// and the clocks of consecutive markers (the last one from [`end_marker`]) give each
/// statement's duration.
pub(crate) fn statement_marker(index: usize, total: usize) -> String {
    format!(
        "SELECT set_config('application_name', '{MARKER_PREFIX}{} of {total}', true), {CLOCK}",
        index + 1
    )
}

/// The server's clock after the last statement of a batch (see [`statement_marker`]).
pub(crate) fn end_marker() -> String {
    format!("SELECT NULL::text, {CLOCK}")
}

/// The server's wall clock in microseconds since the epoch (`clock_timestamp()` moves during a
/// transaction, unlike `now()`).
const CLOCK: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::int8";

/// The 0-based statement index and the total of a [`statement_marker`]'s `application_name`.
fn parse_marker(application_name: &str) -> Option<(usize, usize)> {
    let rest = application_name.strip_prefix(MARKER_PREFIX)?;
    let (n, total) = rest.split_once(" of ")?;
    let n: usize = n.parse().ok()?;
    Some((n.checked_sub(1)?, total.parse().ok()?))
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

    /// A batch of statements starting at `lines` is sent as one message: the first statement
    /// starts now, and which one runs later is learnt from the server ([`Self::server_says`]).
    pub(crate) fn batch_started(&self, lines: Vec<usize>) {
        if let Ok(mut s) = self.0.lock() {
            s.running = lines
                .first()
                .map(|&line| (0, lines.len(), line, Utc::now()));
            s.batch_lines = lines;
        }
    }

    /// No statement runs any more (the run ended, or it is between attempts).
    pub(crate) fn idle(&self) {
        if let Ok(mut s) = self.0.lock() {
            s.running = None;
            s.batch_lines.clear();
        }
    }

    /// The server says statement `index` of the running batch runs (seen now, so it started at
    /// most one poll ago). Ignored outside a batch, for another script, and for a statement
    /// before the one already known.
    fn server_says(&self, index: usize, total: usize) {
        let Ok(mut s) = self.0.lock() else { return };
        let Some(&line) = s.batch_lines.get(index) else {
            return;
        };
        if s.batch_lines.len() != total {
            return;
        }
        if s.running.is_some_and(|(known, ..)| known < index) {
            s.running = Some((index, total, line, Utc::now()));
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

pg_row! {
/// One row of the probe's query: the session's `application_name` and its index build.
struct PgSample {
    application_name: Option<String>,
    command: Option<String>,
    phase: Option<String>,
    blocks_done: Option<i64>,
    blocks_total: Option<i64>,
    tuples_done: Option<i64>,
    tuples_total: Option<i64>,
    lockers_done: Option<i64>,
    lockers_total: Option<i64>,
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

    /// What server session `backend` reports: on PostgreSQL the statement of a batch it runs
    /// (its [`statement_marker`], passed on to `handle`) and the index it builds, if any. Other
    /// engines answer `Ok(None)` without connecting.
    ///
    /// # Errors
    /// The probe could not connect or the query failed (the session is dropped and reopened on
    /// the next call).
    pub async fn sample(
        &mut self,
        backend: i64,
        handle: &ProgressHandle,
    ) -> Result<Option<IndexBuild>, EngineError> {
        if self.cfg.engine != Engine::Postgres {
            return Ok(None);
        }
        if self.session.is_none() {
            self.session = Some(Session::connect(&self.cfg).await?);
        }
        let Some(Session::Pg(conn)) = self.session.as_mut() else {
            return Ok(None);
        };
        let row = sqlx::query_as::<_, PgSample>(
            "SELECT a.application_name, p.command, p.phase, p.blocks_done, p.blocks_total, \
             p.tuples_done, p.tuples_total, p.lockers_done, p.lockers_total \
             FROM pg_catalog.pg_stat_activity a \
             LEFT JOIN pg_catalog.pg_stat_progress_create_index p ON p.pid = a.pid \
             WHERE a.pid = $1",
        )
        .bind(i32::try_from(backend).unwrap_or(0))
        .fetch_optional(&mut *conn)
        .await;
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                if let Some(s) = self.session.take() {
                    s.close().await;
                }
                return Err(EngineError::Session(e));
            }
        };
        let Some(row) = row else { return Ok(None) };
        if let Some((index, total)) = row.application_name.as_deref().and_then(parse_marker) {
            handle.server_says(index, total);
        }
        let n = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0);
        Ok(row.command.map(|command| IndexBuild {
            command,
            phase: row.phase.unwrap_or_default(),
            blocks: (n(row.blocks_done), n(row.blocks_total)),
            tuples: (n(row.tuples_done), n(row.tuples_total)),
            lockers: (n(row.lockers_done), n(row.lockers_total)),
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

    #[test]
    fn in_a_batch_the_server_tells_which_statement_runs() {
        let h = ProgressHandle::default();
        h.batch_started(vec![1, 4, 9]);
        assert_eq!(h.now().map(|n| (n.index, n.line)), Some((0, 1)));
        let marker = statement_marker(2, 3);
        assert!(
            marker.starts_with(
                "SELECT set_config('application_name', 'schemagate: statement 3 of 3', true), "
            ),
            "{marker}"
        );
        let (index, total) = parse_marker("schemagate: statement 3 of 3").unwrap();
        assert_eq!((index, total), (2, 3));
        h.server_says(index, total);
        assert_eq!(h.now().map(|n| (n.index, n.total, n.line)), Some((2, 3, 9)));
        h.server_says(1, 3);
        assert_eq!(h.now().unwrap().index, 2, "never backwards");
        h.server_says(5, 7);
        assert_eq!(h.now().unwrap().index, 2, "another script's marker");
        for not_a_marker in [
            "psql",
            "schemagate: statement 0 of 3",
            "schemagate: statement x of 3",
        ] {
            assert_eq!(parse_marker(not_a_marker), None, "{not_a_marker}");
        }
        h.idle();
        h.server_says(1, 3);
        assert_eq!(h.now(), None, "no batch runs");
    }
}
