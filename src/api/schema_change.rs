//! `SchemaChange`: one versioned change to one database, and everything recorded about it.
//!
//! CRD types only: no client calls.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Largest inline `spec.sql` in bytes; larger scripts go through `sqlFrom`.
pub const MAX_INLINE_SQL_BYTES: usize = 256 * 1024;

/// Specification of a SchemaChange. The SQL-bearing fields are immutable: to change the SQL,
/// create a new SchemaChange.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "schemagate.io",
    version = "v1alpha1",
    kind = "SchemaChange",
    plural = "schemachanges",
    singular = "schemachange",
    shortname = "sgc",
    category = "schemagate",
    namespaced,
    status = "SchemaChangeStatus",
    derive = "PartialEq",
    doc = "A versioned SQL change to one database: reviewed automatically, held until approved, \
           executed exactly once and recorded with schema snapshots before and after.",
    printcolumn = r#"{"name":"Project","type":"string","jsonPath":".spec.projectRef"}"#,
    printcolumn = r#"{"name":"Instance","type":"string","jsonPath":".spec.instanceRef"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".spec.version"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Risk","type":"string","jsonPath":".status.review.risk"}"#,
    printcolumn = r#"{"name":"Progress","type":"string","jsonPath":".status.progress.summary"}"#,
    printcolumn = r#"{"name":"Author","type":"string","jsonPath":".spec.author.username","priority":1}"#,
    printcolumn = r#"{"name":"Digest","type":"string","jsonPath":".status.sqlDigest","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = kube::core::Rule::new("has(self.sql) != has(self.sqlFrom)").message("exactly one of sql and sqlFrom must be set"))]
#[x_kube(validation = kube::core::Rule::new("has(self.sql) == has(oldSelf.sql) && has(self.sqlFrom) == has(oldSelf.sqlFrom)").message("sql and sqlFrom are immutable: create a new SchemaChange"))]
#[x_kube(validation = kube::core::Rule::new("has(self.author) == has(oldSelf.author) && has(self.syncedBy) == has(oldSelf.syncedBy)").message("author and syncedBy are recorded at creation and immutable"))]
#[serde(rename_all = "camelCase")]
pub struct SchemaChangeSpec {
    /// Name of the Project (same namespace) this change belongs to. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("projectRef is immutable"))]
    pub project_ref: String,
    /// Name of the DatabaseInstance (same namespace) to change. Immutable.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("instanceRef is immutable"))]
    pub instance_ref: String,
    /// Version that orders changes per database, Flyway-style: dot- or underscore-separated
    /// numbers compared numerically (`1.10` comes after `1.9`). A change waits while an earlier
    /// version for the same database is not applied. Immutable.
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[0-9]+([._][0-9]+)*$"))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("version is immutable"))]
    pub version: String,
    /// The SQL script, at most 256 KiB. Exactly one of `sql` and `sqlFrom` is set. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 262_144))]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("sql is immutable: create a new SchemaChange"))]
    pub sql: Option<String>,
    /// Where to read the SQL script from, for scripts larger than 256 KiB. Immutable; the
    /// operator also pins the digest of what it reviewed, so editing the ConfigMap later fails
    /// the change instead of running unreviewed SQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("sqlFrom is immutable: create a new SchemaChange"))]
    pub sql_from: Option<SqlSource>,
    /// What the change does, for reviewers and notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub description: Option<String>,
    /// How statements are grouped into transactions: `auto` (default) runs the change and its
    /// history record in one transaction where the engine allows it; `none` runs statement by
    /// statement with an intent record each (PostgreSQL, MySQL; refused on SQLite). Immutable:
    /// it is part of what was reviewed and approved.
    #[serde(default)]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("transactionMode is immutable: create a new SchemaChange"))]
    pub transaction_mode: TransactionMode,
    /// Who wrote the change: written by schemagate's admission webhook from the API request, or,
    /// when a configured GitOps identity syncs it, from the `schemagate.io/author` annotation
    /// only that identity may set. A value in the request is refused. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("author is immutable"))]
    pub author: Option<super::identity::RequestIdentity>,
    /// The GitOps identity that created the change on the author's behalf, when there was one.
    /// Written by the admission webhook; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("syncedBy is immutable"))]
    pub synced_by: Option<super::identity::RequestIdentity>,
}

/// Where the SQL comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SqlSource {
    /// A key of a ConfigMap in the same namespace.
    pub config_map_key_ref: ConfigMapKeyRef,
}

/// A key in a ConfigMap of the same namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeyRef {
    /// Name of the ConfigMap.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the ConfigMap.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Transaction grouping of a change's statements.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TransactionMode {
    /// One transaction with the history row where the engine allows it (PostgreSQL, SQLite,
    /// unless a statement such as `CREATE INDEX CONCURRENTLY` cannot run in one); otherwise
    /// statement by statement with an intent record for each.
    #[default]
    Auto,
    /// Statement by statement, each committed on its own after an intent record, also on
    /// PostgreSQL: at most once per statement, and a change that fails part-way stops as
    /// `NeedsIntervention`. Refused on SQLite (its executor lock is the change's transaction).
    None,
}

/// Lifecycle phase of a SchemaChange (for print columns; conditions are the API).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Phase {
    /// Created, not yet looked at.
    #[default]
    Pending,
    /// The SQL is being reviewed.
    Reviewing,
    /// The review found errors. Create a new SchemaChange with fixed SQL.
    ReviewFailed,
    /// Reviewed; waiting for Approvals.
    AwaitingApproval,
    /// Approved; about to run.
    Approved,
    /// Waiting for an earlier version for the same database to be applied.
    Blocked,
    /// Running in the database.
    Applying,
    /// Executed and recorded in the history table.
    Applied,
    /// The database returned an error, or the change needs a human (see conditions).
    Failed,
    /// An Approval rejected the change.
    Rejected,
}

impl Phase {
    /// The phase name as shown in `status.phase`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Reviewing => "Reviewing",
            Self::ReviewFailed => "ReviewFailed",
            Self::AwaitingApproval => "AwaitingApproval",
            Self::Approved => "Approved",
            Self::Blocked => "Blocked",
            Self::Applying => "Applying",
            Self::Applied => "Applied",
            Self::Failed => "Failed",
            Self::Rejected => "Rejected",
        }
    }

    /// Whether nothing more will happen to a change in this phase.
    #[must_use]
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Applied | Self::Failed | Self::Rejected | Self::ReviewFailed
        )
    }
}

/// Risk level of a statement or a script.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum RiskLevel {
    /// Creates objects or reads data.
    #[default]
    Low,
    /// Changes data or existing objects (UPDATE, DELETE, ALTER TABLE, DROP INDEX).
    Moderate,
    /// Destroys data (DROP DATABASE/SCHEMA/TABLE, TRUNCATE).
    High,
}

impl RiskLevel {
    /// The risk as written in status and manifests: `LOW`, `MODERATE` or `HIGH`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Moderate => "MODERATE",
            Self::High => "HIGH",
        }
    }
}

/// Level of a review finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FindingLevel {
    /// Blocks the change.
    Error,
    /// Reported only.
    Warning,
}

/// Observed state of a SchemaChange.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaChangeStatus {
    /// Where the change is in its lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// `Reviewed`, `Approved`, `Applied` and the summary `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = kube::core::cel::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// sha256 (hex) of the exact SQL that was reviewed. Approvals must quote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_digest: Option<String>,
    /// Result of the SQL review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewRecord>,
    /// Who approved the change, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRecord>,
    /// What happened in the database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionRecord>,
    /// While the change runs: which statement, for how long, and how far an index build has
    /// come. Written by the operator executing the change every few seconds at most, and
    /// removed when the run ends. For people only: no decision reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<ExecutionProgress>,
    /// Schema snapshots before and after the change, and their diff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<SnapshotsRecord>,
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// Result of the SQL review.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewRecord {
    /// Highest risk of any statement.
    pub risk: RiskLevel,
    /// Number of statements in the script.
    pub statements: u32,
    /// Number of error findings.
    pub errors: u32,
    /// Number of warning findings.
    pub warnings: u32,
    /// The findings (at most 100; `truncated` says how many more there were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
    /// Findings left out of `findings` to keep the status small.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub truncated: u32,
    /// When the review ran (RFC 3339). Only Approvals created at or after this second count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at: Option<String>,
    /// The database the SQL was reviewed against (engine, host, port, database and the
    /// DatabaseInstance's uid). If the instance is pointed elsewhere, the change is reviewed
    /// again and needs new Approvals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Fingerprint of what was reviewed: the SQL digest, the target and the review policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// True when this review replaced an earlier one (the instance was retargeted or the policy
    /// edited): every Approval must then be created in a later second than `reviewedAt`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub supersedes: bool,
    /// What the statements lock, rewrite or scan on existing tables, with the tables' sizes
    /// from the live database (at most 20, the costliest first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impacts: Vec<ImpactRecord>,
    /// The impact prediction checked against the server (Project `spec.review.verify`), when
    /// the project asks for it for this instance's environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationRecord>,
}

/// The impact prediction checked against what PostgreSQL did with the statements in a
/// transaction that was rolled back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRecord {
    /// `Agreed` (every checked statement did as predicted), `Disagreed` (see `statements`),
    /// `Incomplete` (the server refused a statement in a transaction, so it and what follows
    /// were not checked), `Failed` (the verification itself could not run) or `Skipped` (the
    /// instance is not eligible; `message` says why).
    pub outcome: VerificationOutcome,
    /// Statements with an impact that were checked.
    #[serde(default)]
    pub checked: u32,
    /// Statements where the prediction was wrong or that could not be checked (at most 20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<VerifiedStatement>,
    /// For people: the counts, or why nothing was verified.
    pub message: String,
}

/// The result of a verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum VerificationOutcome {
    /// Every checked statement did as predicted.
    Agreed,
    /// At least one statement did not do as predicted.
    Disagreed,
    /// A statement was refused in a transaction; it and what follows were not checked.
    Incomplete,
    /// The verification could not run (connection, engine).
    Failed,
    /// Not run: the instance is not eligible.
    Skipped,
}

/// A statement whose verification has something to say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedStatement {
    /// 0-based index of the statement in the script.
    pub statement: u32,
    /// 1-based line where the statement starts.
    pub line: u32,
    /// Where the prediction was wrong, or why the statement could not be checked.
    pub message: String,
}

/// What one statement does to one existing table while it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImpactRecord {
    /// 0-based index of the statement in the script.
    pub statement: u32,
    /// 1-based line where the statement starts.
    pub line: u32,
    /// The table, as the statement names it.
    pub table: String,
    /// The table lock held while the statement runs, on PostgreSQL's scale (e.g.
    /// `ACCESS EXCLUSIVE`: reads and writes wait; `SHARE`: writes wait).
    pub lock: String,
    /// MySQL/MariaDB: the cheapest `ALGORITHM` the server can use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// The table is rewritten: time and disk proportional to its size.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rewrite: bool,
    /// The table is read in full while the lock is held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scan: bool,
    /// Estimated rows, from the database's statistics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes of the table with its indexes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// For people: lock, cost, what it blocks, size, why and the safer alternative.
    pub message: String,
}

// serde's skip_serializing_if hands a reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// One review finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Rule id, such as `table.require-pk` or `statement.syntax`.
    pub rule: String,
    /// `error` or `warning`.
    pub level: FindingLevel,
    /// 0-based index of the statement in the script.
    pub statement: u32,
    /// 1-based line where the statement starts.
    pub line: u32,
    /// 0-based column where the statement starts.
    pub column: u32,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Who approved the change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRecord {
    /// True when the project's auto-approval policy approved the change.
    #[serde(default)]
    pub auto: bool,
    /// The Approvals that counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApproverRecord>,
    /// When the change became approved (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// The database the approval is for (the target of the review it approves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One Approval that counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApproverRecord {
    /// Name of the Approval object.
    pub approval: String,
    /// The approver's user name as the admission webhook recorded it on the Approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When the Approval was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// What happened in the database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionRecord {
    /// When execution started (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When execution finished (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// Number of statements in the script.
    pub statements_total: u32,
    /// Number of statements that ran to completion (and, in a transaction, committed).
    pub statements_applied: u32,
    /// Total rows affected.
    #[serde(default)]
    pub rows_affected: u64,
    /// How many attempts were made (lock timeouts are retried).
    #[serde(default)]
    pub attempts: u32,
    /// The database's error, with the statement's line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Per-statement results (at most 200).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementResult>,
}

/// How far a running change has come.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionProgress {
    /// The statement running now, counted from 1.
    pub statement: u32,
    /// Statements in the script.
    pub statements: u32,
    /// 1-based line where the running statement starts.
    pub line: u32,
    /// When the running statement started (RFC 3339).
    pub statement_started_at: String,
    /// When this progress was read from the database (RFC 3339).
    pub updated_at: String,
    /// PostgreSQL: the index the statement is building (`CREATE INDEX [CONCURRENTLY]`,
    /// `REINDEX`, a constraint that builds an index), from `pg_stat_progress_create_index`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_build: Option<IndexBuildProgress>,
    /// One line for `kubectl get`: statement, elapsed time and, during an index build, the
    /// percentage of its current phase (e.g. `2/3 41s index 46% scanning table`).
    pub summary: String,
}

/// An index build in progress, as PostgreSQL reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IndexBuildProgress {
    /// `CREATE INDEX`, `CREATE INDEX CONCURRENTLY`, `REINDEX` or `REINDEX CONCURRENTLY`.
    pub command: String,
    /// The server's phase, e.g. `building index: scanning table` or `waiting for old
    /// snapshots`. A build goes through several phases; each counts from 0 again.
    pub phase: String,
    /// Units of the current phase done.
    #[serde(default)]
    pub done: u64,
    /// Units of the current phase in all (0 when the phase has no total).
    #[serde(default)]
    pub total: u64,
    /// What `done` and `total` count: `blocks`, `tuples` or `sessions` (waited for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Percent of the current phase done, when the phase has a total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u32>,
}

/// Result of one statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatementResult {
    /// 0-based statement index.
    pub index: u32,
    /// 1-based line where the statement starts.
    pub line: u32,
    /// Duration in milliseconds.
    pub duration_ms: u64,
    /// Rows affected.
    #[serde(default)]
    pub rows_affected: u64,
    /// The database's error message, if the statement failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Snapshots before and after, and their diff.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotsRecord {
    /// The schema before the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<SnapshotRef>,
    /// The schema after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<SnapshotRef>,
    /// Short human lines describing what changed (at most 200).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
    /// Diff lines left out of `diff`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub diff_truncated: u32,
    /// Why there is no `before` snapshot although the change ran (the catalog query failed);
    /// the diff is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_error: Option<String>,
    /// Why there is no `after` snapshot although the change ran (the catalog query failed);
    /// the diff is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_error: Option<String>,
}

/// One schema snapshot: inline canonical DDL when it fits in 32 KiB, otherwise ConfigMaps.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    /// sha256 (hex) of the canonical DDL.
    pub digest: String,
    /// Size of the canonical DDL in bytes.
    pub size: u64,
    /// The canonical DDL, when it is at most 32 KiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl: Option<String>,
    /// ConfigMaps owned by the SchemaChange holding the gzip-compressed DDL in order (key
    /// `ddl.gz`), when it is larger than 32 KiB.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_maps: Vec<String>,
}
