//! The executor: runs one approved change exactly once against a target database under a
//! session-level lock, records it in the history table and reports per-statement results.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::{ConnectionConfig, EngineKind};
use super::session::Session;
use super::{EngineError, paths};
use crate::sqltext::{self, guard};

/// A change to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The SchemaChange's uid: the identity of the change in the history table.
    pub uid: String,
    /// Namespace of the SchemaChange.
    pub namespace: String,
    /// Name of the SchemaChange.
    pub name: String,
    /// Version string.
    pub version: String,
    /// The SQL script.
    pub sql: String,
    /// Who approved it.
    pub approved_by: Option<String>,
    /// Operator identity (pod name, …).
    pub operator: String,
    /// How the statements are grouped into transactions.
    pub transaction_mode: paths::TransactionMode,
}

impl Change {
    /// sha256 (hex) of the script.
    pub fn sql_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// Execution tuning.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Attempts in total when statements hit the lock timeout (≥ 1).
    pub max_attempts: u32,
    /// First backoff after a lock timeout; doubled per attempt.
    pub backoff_initial: Duration,
    /// Backoff cap.
    pub backoff_max: Duration,
    /// How long to wait for another executor's lock on the same database.
    pub executor_lock_wait: Duration,
    /// Store before/after snapshots in the history row.
    pub capture_snapshots: bool,
    /// Test hook: sleep before each statement (to widen windows for fault tests).
    pub pause_before_statement: Duration,
}

impl Default for ExecOptions {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(5),
            executor_lock_wait: Duration::from_secs(60),
            capture_snapshots: true,
            pause_before_statement: Duration::ZERO,
        }
    }
}

/// How a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Ran now and was recorded.
    Applied,
    /// Already in the history table as applied; nothing ran.
    AlreadyApplied,
    /// Failed; nothing took effect (PostgreSQL/SQLite) or nothing ran yet (MySQL).
    Failed,
    /// Statements kept hitting the lock timeout; nothing took effect; retry later.
    LockTimeout,
    /// Cancelled on request; nothing took effect (transactional) or see `statements_applied`.
    Cancelled,
    /// Interrupted or failed mid-way on a non-transactional path: some statements ran. Never
    /// re-run automatically.
    NeedsIntervention,
}

/// Result of one statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    /// 0-based index in the script.
    pub index: usize,
    /// 1-based line where the statement starts.
    pub line: usize,
    /// Wall time.
    pub duration: Duration,
    /// Rows affected, when it succeeded.
    pub rows_affected: Option<u64>,
    /// The database's error message.
    pub error: Option<String>,
}

/// What happened to a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExecutionReport {
    /// The outcome.
    pub outcome: Outcome,
    /// Attempts made (1 + lock-timeout retries).
    pub attempts: u32,
    /// Statements in the script.
    pub statements_total: usize,
    /// Statements that took effect.
    pub statements_applied: usize,
    /// Per-statement results of the last attempt.
    pub statements: Vec<StatementResult>,
    /// Summary error message (database message with statement line).
    pub error: Option<String>,
    /// Digest of the schema before.
    pub before_digest: Option<String>,
    /// Digest of the schema after.
    pub after_digest: Option<String>,
}

impl ExecutionReport {
    pub(crate) fn new(total: usize) -> Self {
        Self {
            outcome: Outcome::Failed,
            attempts: 0,
            statements_total: total,
            statements_applied: 0,
            statements: Vec::new(),
            error: None,
            before_digest: None,
            after_digest: None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct CancelState {
    pub(crate) requested: AtomicBool,
    pub(crate) backend: Mutex<Option<i64>>,
    cfg: ConnectionConfig,
}

/// Cancels the change running on an [`Executor`] from another task.
#[derive(Debug, Clone)]
pub struct CancelHandle(pub(crate) Arc<CancelState>);

impl CancelHandle {
    /// Requests cancellation: no further statement starts, and the running statement is
    /// interrupted (`pg_cancel_backend` / `KILL QUERY`).
    pub async fn cancel(&self) -> Result<(), EngineError> {
        self.0.requested.store(true, Ordering::SeqCst);
        let backend = self.0.backend.lock().map(|g| *g).unwrap_or(None);
        let Some(id) = backend else { return Ok(()) };
        let mut s = Session::connect(&self.0.cfg).await?;
        let r = match &mut s {
            Session::Pg(c) => sqlx::query("SELECT pg_cancel_backend($1::int)")
                .bind(id)
                .execute(c)
                .await
                .map(|_| ()),
            Session::My(_) => s.exec(&format!("KILL QUERY {id}")).await.map(|_| ()),
            Session::Lite(_) => Ok(()),
        };
        s.close().await;
        r.map_err(EngineError::Session)
    }

    /// Whether cancellation was requested.
    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::SeqCst)
    }
}

/// Runs changes against one target database.
#[derive(Debug)]
pub struct Executor {
    pub(crate) cfg: ConnectionConfig,
    pub(crate) opts: ExecOptions,
    pub(crate) cancel: CancelHandle,
}

const PG_LOCK_KEY: i64 = 0x5343_4847_5445_0001;

/// The backstop behind the review's guards, applied before any connection with the same
/// `sqltext` functions: a script with a NUL byte, or with transaction control in any spelling,
/// never reaches a database. On every engine: on PostgreSQL and SQLite a `COMMIT` would commit
/// part of the change outside the history row's transaction; on MySQL the intent records would
/// be written inside the script's own transaction. The error is permanent
/// ([`EngineError::Config`]): running the same script again cannot succeed.
fn refuse_unsafe_script(engine: EngineKind, sql: &str) -> Result<(), EngineError> {
    if let Some(nul) = guard::find_nul(sql) {
        return Err(EngineError::Config(format!(
            "{nul}; the change was not run"
        )));
    }
    if let Some((offset, control)) = guard::find_transaction_control(engine.dialect(), sql)
        .into_iter()
        .next()
    {
        let (line, _) = sqltext::position(sql, offset);
        return Err(EngineError::Config(format!(
            "line {line}: {control} is transaction control, which schemagate manages itself; \
             remove it (the change was not run)"
        )));
    }
    Ok(())
}

impl Executor {
    /// An executor for `cfg`.
    pub fn new(cfg: ConnectionConfig, opts: ExecOptions) -> Self {
        let cancel = CancelHandle(Arc::new(CancelState {
            requested: AtomicBool::new(false),
            backend: Mutex::new(None),
            cfg: cfg.clone(),
        }));
        Self { cfg, opts, cancel }
    }

    /// A handle another task can use to cancel the running change.
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Executes `change` exactly once (PostgreSQL, SQLite) or at most once per statement
    /// (MySQL; non-transactional PostgreSQL statements). Database and connection failures are
    /// `Err`; the outcome of the change itself is in the report.
    pub async fn execute(&self, change: &Change) -> Result<ExecutionReport, EngineError> {
        refuse_unsafe_script(self.cfg.engine, &change.sql)?;
        let stmts = super::split_statements(self.cfg.engine, &change.sql);
        if stmts.is_empty() {
            return Err(EngineError::Config(
                "the change contains no SQL statement".into(),
            ));
        }
        let mut s = Session::connect(&self.cfg).await?;
        let backend = s.backend_id().await.map_err(EngineError::Session)?;
        if let Ok(mut g) = self.cancel.0.backend.lock() {
            *g = backend;
        }
        let result = match self.cfg.engine {
            EngineKind::Sqlite => paths::run_sqlite(self, &mut s, change, &stmts).await,
            _ => {
                self.lock(&mut s).await?;
                let r = paths::run_locked(self, &mut s, change, &stmts).await;
                // A lost connection releases the lock by itself.
                let _ = self.unlock(&mut s).await;
                r
            }
        };
        if let Ok(mut g) = self.cancel.0.backend.lock() {
            *g = None;
        }
        s.close().await;
        result
    }

    fn mysql_lock_name(&self) -> String {
        let name = format!("schemagate:{}", self.cfg.database);
        if name.len() <= 64 {
            name
        } else {
            format!(
                "schemagate:{}",
                &hex::encode(Sha256::digest(self.cfg.database.as_bytes()))[..40]
            )
        }
    }

    async fn lock(&self, s: &mut Session) -> Result<(), EngineError> {
        let wait = self.opts.executor_lock_wait;
        let deadline = Instant::now() + wait;
        match s {
            Session::Pg(c) => loop {
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(PG_LOCK_KEY)
                    .fetch_one(&mut *c)
                    .await
                    .map_err(EngineError::Lock)?;
                if got {
                    return Ok(());
                }
                if Instant::now() >= deadline {
                    return Err(EngineError::LockBusy(wait));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            },
            Session::My(c) => {
                let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
                    .bind(self.mysql_lock_name())
                    .bind(wait.as_secs_f64())
                    .fetch_one(c)
                    .await
                    .map_err(EngineError::Lock)?;
                if got == Some(1) {
                    Ok(())
                } else {
                    Err(EngineError::LockBusy(wait))
                }
            }
            Session::Lite(_) => Ok(()),
        }
    }

    async fn unlock(&self, s: &mut Session) -> Result<(), EngineError> {
        match s {
            Session::Pg(c) => sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(PG_LOCK_KEY)
                .execute(c)
                .await
                .map(|_| ()),
            Session::My(c) => sqlx::query("SELECT RELEASE_LOCK(?)")
                .bind(self.mysql_lock_name())
                .execute(c)
                .await
                .map(|_| ()),
            Session::Lite(_) => Ok(()),
        }
        .map_err(EngineError::Lock)
    }

    /// Backoff before attempt `attempt` (2 = first retry): doubled, capped.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(2).min(16);
        self.opts
            .backoff_initial
            .saturating_mul(factor)
            .min(self.opts.backoff_max)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn change(sql: &str) -> Change {
        Change {
            uid: "uid".into(),
            namespace: "ns".into(),
            name: "c".into(),
            version: "1".into(),
            sql: sql.into(),
            approved_by: None,
            operator: "test".into(),
            transaction_mode: paths::TransactionMode::Auto,
        }
    }

    /// Nothing listens on port 1: a refusal that came after connecting would be a connect
    /// error instead.
    #[tokio::test]
    async fn unsafe_scripts_are_refused_before_connecting() {
        for url in [
            "postgres://u@127.0.0.1:1/db",
            "mysql://u@127.0.0.1:1/db",
            "sqlite:///nonexistent-dir/x.db",
        ] {
            let ex = Executor::new(
                ConnectionConfig::from_url(url).unwrap(),
                ExecOptions::default(),
            );
            for sql in [
                "SELECT 1;\nSELECT '\0';",
                "INSERT INTO t VALUES (1);\nCOMMIT/**/;\nSELECT 1/0;",
                "ROLLBACK",
                "SAVEPOINT a",
            ] {
                let err = ex.execute(&change(sql)).await.unwrap_err();
                assert!(
                    matches!(err, EngineError::Config(_)),
                    "{url}: {sql:?}: {err}"
                );
                assert!(!err.is_transient());
            }
        }
        let ex = Executor::new(
            ConnectionConfig::from_url("postgres://u@127.0.0.1:1/db").unwrap(),
            ExecOptions::default(),
        );
        let err = ex.execute(&change("SELECT 1;\nCOMMIT;")).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 2: COMMIT is transaction control, which schemagate manages itself; remove it \
             (the change was not run)"
        );
        let err = ex.execute(&change("SELECT\n 'a\0'")).await.unwrap_err();
        assert!(err.to_string().contains("line 2, column 3"), "{err}");
    }
}
