//! What the executor is given (a [`Change`], [`ExecOptions`]) and what it reports
//! ([`ExecutionReport`]). Plain data shared by the executor and its execution paths.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

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
    /// Who wrote it, as recorded by the admission webhook (and the GitOps identity that synced
    /// it, if any).
    pub author: Option<String>,
    /// Operator identity (pod name, …).
    pub operator: String,
    /// How the statements are grouped into transactions.
    pub transaction_mode: TransactionMode,
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

impl ExecOptions {
    /// Backoff before attempt `attempt` (2 = first retry): doubled, capped.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(2).min(16);
        self.backoff_initial
            .saturating_mul(factor)
            .min(self.backoff_max)
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

/// How a change's statements are grouped into transactions (`spec.transactionMode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TransactionMode {
    /// One transaction with the history row where the engine allows it (PostgreSQL unless a
    /// statement cannot run in a transaction, SQLite); otherwise statement by statement.
    #[default]
    Auto,
    /// Statement by statement, each committed on its own after an intent record: at most once
    /// per statement, and a change that fails part-way needs a human. PostgreSQL and
    /// MySQL/MariaDB; refused on SQLite, whose executor lock is the change's transaction.
    None,
}
