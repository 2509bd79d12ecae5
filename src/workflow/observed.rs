//! What a controller observed before deciding: the change, its references, the SQL, the review,
//! the Approvals, the target database's history and the other changes for the same database.
//!
//! Plain data built by the controller; nothing here reads a cluster or a database.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sha2::{Digest, Sha256};

use crate::api::approval::Decision as ApprovalDecision;
use crate::api::project::ProjectSpec;
use crate::api::schema_change::{
    Finding, FindingLevel, Phase, ReviewRecord, RiskLevel, SchemaChange, SchemaChangeSpec,
    SchemaChangeStatus,
};

use super::version::Version;

/// Most findings kept in `status.review.findings`.
pub const MAX_STATUS_FINDINGS: usize = 100;

/// Everything [`super::decide()`] looks at. `now` is passed in so decisions are reproducible.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The SchemaChange itself.
    pub change: ObservedChange,
    /// Its Project, `None` when no Project of that name exists.
    pub project: Option<ObservedProject>,
    /// Its DatabaseInstance, `None` when none of that name exists.
    pub instance: Option<ObservedInstance>,
    /// The SQL text, or why it could not be read.
    pub sql: SqlText,
    /// The review of the current SQL digest, when one was already done (from the cached
    /// `status.review`, see [`cached_review`], or from a review the controller just ran).
    pub review: Option<ReviewOutcome>,
    /// The Approvals whose `schemaChangeRef` names this change.
    pub approvals: Vec<ObservedApproval>,
    /// Facts from the target database's history table; `None` when it could not be read (the
    /// instance is not Ready).
    pub history: Option<HistoryFacts>,
    /// The other SchemaChanges targeting the same DatabaseInstance (this one excluded).
    pub siblings: Vec<SiblingChange>,
    /// The current time.
    pub now: Time,
}

/// The SchemaChange as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedChange {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.uid`: the key of the change in the history table.
    pub uid: String,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The author's user name. `None` until the admission webhook records it (a later issue);
    /// while it is unknown the self-approval rule cannot be applied and is skipped.
    pub author: Option<String>,
    /// The spec.
    pub spec: SchemaChangeSpec,
    /// The current status (default when none was written yet).
    pub status: SchemaChangeStatus,
}

impl ObservedChange {
    /// Takes what the workflow needs from a SchemaChange object.
    #[must_use]
    pub fn from_resource(change: &SchemaChange, author: Option<String>) -> Self {
        Self {
            name: change.metadata.name.clone().unwrap_or_default(),
            uid: change.metadata.uid.clone().unwrap_or_default(),
            generation: change.metadata.generation,
            deleting: change.metadata.deletion_timestamp.is_some(),
            author,
            spec: change.spec.clone(),
            status: change.status.clone().unwrap_or_default(),
        }
    }
}

/// The Project as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedProject {
    /// The spec.
    pub spec: ProjectSpec,
    /// Why the project's policy is invalid (its `Ready=False` message), `None` when valid.
    pub policy_error: Option<String>,
}

/// The DatabaseInstance as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedInstance {
    /// `spec.environment`.
    pub environment: Option<String>,
    /// Whether its `Ready` condition is `True`.
    pub ready: bool,
    /// Its `Ready` condition message (why it is not ready).
    pub message: String,
    /// Whether the instance controller has checked it at all (it has a `Ready` condition).
    pub checked: bool,
}

/// The SQL of the change.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlText {
    /// The script, inline or read from the ConfigMap.
    Resolved(String),
    /// It could not be read: the ConfigMap or the key is missing. The message says which.
    Unavailable(String),
}

/// sha256 (lowercase hex) of the exact SQL bytes: the digest Approvals quote.
#[must_use]
pub fn sql_digest(sql: &str) -> String {
    use std::fmt::Write as _;
    Sha256::digest(sql.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// The outcome of the SQL review that the workflow needs. The review engine's result is
/// converted into this by the controller.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewOutcome {
    /// Highest risk of any statement.
    pub risk: RiskLevel,
    /// Number of statements.
    pub statements: u32,
    /// Number of error findings (any error fails the review).
    pub errors: u32,
    /// Number of warning findings.
    pub warnings: u32,
    /// All findings, in any order.
    pub findings: Vec<Finding>,
}

impl ReviewOutcome {
    /// Builds an outcome from findings, counting errors and warnings.
    #[must_use]
    pub fn from_findings(risk: RiskLevel, statements: u32, findings: Vec<Finding>) -> Self {
        let errors = findings
            .iter()
            .filter(|f| f.level == FindingLevel::Error)
            .count();
        let warnings = findings.len() - errors;
        Self {
            risk,
            statements,
            errors: u32::try_from(errors).unwrap_or(u32::MAX),
            warnings: u32::try_from(warnings).unwrap_or(u32::MAX),
            findings,
        }
    }

    /// The record for `status.review`: errors first, at most [`MAX_STATUS_FINDINGS`].
    #[must_use]
    pub fn to_record(&self, reviewed_at: Option<String>) -> ReviewRecord {
        let mut findings = self.findings.clone();
        findings.sort_by_key(|f| (f.level != FindingLevel::Error, f.statement, f.line));
        let truncated = findings.len().saturating_sub(MAX_STATUS_FINDINGS);
        findings.truncate(MAX_STATUS_FINDINGS);
        ReviewRecord {
            risk: self.risk,
            statements: self.statements,
            errors: self.errors,
            warnings: self.warnings,
            findings,
            truncated: u32::try_from(truncated).unwrap_or(u32::MAX),
            reviewed_at,
        }
    }

    /// The outcome as cached in a status record (findings beyond the cap are not recoverable,
    /// but the counts are).
    #[must_use]
    pub fn from_record(record: &ReviewRecord) -> Self {
        Self {
            risk: record.risk,
            statements: record.statements,
            errors: record.errors,
            warnings: record.warnings,
            findings: record.findings.clone(),
        }
    }
}

/// The review cached in `status` when it is for `digest`; `None` means the SQL must be reviewed.
#[must_use]
pub fn cached_review(status: &SchemaChangeStatus, digest: &str) -> Option<ReviewOutcome> {
    match (&status.sql_digest, &status.review) {
        (Some(reviewed), Some(record)) if reviewed == digest => {
            Some(ReviewOutcome::from_record(record))
        }
        _ => None,
    }
}

/// An approver's identity as established by schemagate (never from user-written spec fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// Kubernetes user name.
    pub user: String,
    /// Kubernetes groups of the user.
    pub groups: Vec<String>,
}

/// An Approval naming this change.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedApproval {
    /// `metadata.name`.
    pub name: String,
    /// `spec.schemaChangeRef`.
    pub change: String,
    /// `spec.decision`.
    pub decision: ApprovalDecision,
    /// `spec.sqlDigest`.
    pub sql_digest: String,
    /// Who created it, when known (recorded by the admission webhook in a later issue).
    pub approver: Option<Approver>,
    /// `metadata.creationTimestamp`.
    pub created: Option<Time>,
}

/// Status of a change in the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryStatus {
    /// An executor holds the change right now (or died holding a non-transactional one).
    Running,
    /// Applied and committed.
    Applied,
    /// The database returned an error; nothing of the change remains (rolled back).
    Failed,
    /// Interrupted part-way outside a transaction; a human must look.
    NeedsIntervention,
}

/// This change's own row in the history table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Its status.
    pub status: HistoryStatus,
    /// The recorded error or intervention note (already free of credentials).
    pub message: Option<String>,
}

/// What the target database's history table says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryFacts {
    /// The row for this change's uid, if any.
    pub this_change: Option<HistoryEntry>,
    /// Versions of every applied change in the database (shared by every change that targets
    /// it: the operator reads the history once per database).
    pub applied_versions: Arc<BTreeSet<Version>>,
}

impl HistoryFacts {
    /// The highest applied version.
    #[must_use]
    pub fn latest_applied(&self) -> Option<&Version> {
        self.applied_versions.last()
    }
}

/// Another SchemaChange for the same DatabaseInstance.
#[derive(Debug, Clone, PartialEq)]
pub struct SiblingChange {
    /// `metadata.name`.
    pub name: String,
    /// `spec.version` as written.
    pub version: String,
    /// `status.phase`.
    pub phase: Option<Phase>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_resource_reads_identity_generation_and_deletion() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
        use k8s_openapi::jiff::Timestamp;
        let spec: SchemaChangeSpec = serde_json::from_value(serde_json::json!({
            "projectRef": "p", "instanceRef": "i", "version": "1", "sql": "SELECT 1;"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut change = SchemaChange::new("c", spec);
        change.metadata = ObjectMeta {
            name: Some("c".into()),
            uid: Some("u".into()),
            generation: Some(3),
            deletion_timestamp: Some(Time(Timestamp::UNIX_EPOCH)),
            ..ObjectMeta::default()
        };
        let observed = ObservedChange::from_resource(&change, None);
        assert_eq!(
            (
                observed.name.as_str(),
                observed.uid.as_str(),
                observed.generation,
                observed.deleting
            ),
            ("c", "u", Some(3), true)
        );
        assert_eq!(observed.status, SchemaChangeStatus::default());
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            sql_digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(sql_digest("SELECT 1;"), sql_digest("SELECT 1; "));
    }

    #[test]
    fn cached_review_only_for_the_same_digest() {
        let status = SchemaChangeStatus {
            sql_digest: Some("aa".into()),
            review: Some(ReviewRecord::default()),
            ..SchemaChangeStatus::default()
        };
        assert!(cached_review(&status, "aa").is_some());
        assert!(cached_review(&status, "bb").is_none());
        assert!(cached_review(&SchemaChangeStatus::default(), "aa").is_none());
    }

    #[test]
    fn record_puts_errors_first_and_caps_findings() {
        let finding = |level, statement| Finding {
            rule: "r".into(),
            level,
            statement,
            line: 1,
            column: 0,
            message: "m".into(),
        };
        let mut findings: Vec<Finding> = (0..120)
            .map(|i| finding(FindingLevel::Warning, i))
            .collect();
        findings.push(finding(FindingLevel::Error, 500));
        let outcome = ReviewOutcome::from_findings(RiskLevel::Moderate, 3, findings);
        assert_eq!((outcome.errors, outcome.warnings), (1, 120));
        let record = outcome.to_record(None);
        assert_eq!(record.findings.len(), MAX_STATUS_FINDINGS);
        assert_eq!(record.truncated, 21);
        assert_eq!(record.findings[0].level, FindingLevel::Error);
    }
}
