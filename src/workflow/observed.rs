//! What a controller observed before deciding: the change, its references, the SQL, the review,
//! the Approvals, the target database's history and the other changes for the same database.
//!
//! Plain data built by the controller; nothing here reads a cluster or a database.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use sha2::{Digest, Sha256};

use crate::api::approval::Decision as ApprovalDecision;
use crate::api::database_instance::DatabaseInstanceSpec;
use crate::api::project::{ProjectSpec, ReviewPolicy};
use crate::api::schema_change::{
    Finding, FindingLevel, ImpactRecord, Phase, ReviewRecord, RiskLevel, SchemaChange,
    SchemaChangeSpec, SchemaChangeStatus,
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
    /// The last review the operator itself computed for this change (kept in its memory, never
    /// read back from `status`, which anyone with status RBAC can write). [`super::decide()`]
    /// uses it only when its [`ReviewOutcome::key`] is the current [`review_key`].
    pub review: Option<ReviewOutcome>,
    /// Why the executor in this process refused the change before running anything, if it did.
    pub refused: Option<String>,
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
    /// `metadata.creationTimestamp` (set by the API server): Approvals older than this were
    /// made for an earlier object of the same name.
    pub created: Option<Time>,
    /// Whether `metadata.deletionTimestamp` is set.
    pub deleting: bool,
    /// The author's user name (`spec.author`, recorded by the admission webhook). While it is
    /// unknown the self-approval rule cannot be applied and is skipped.
    pub author: Option<String>,
    /// The spec.
    pub spec: SchemaChangeSpec,
    /// The current status (default when none was written yet).
    pub status: SchemaChangeStatus,
}

impl ObservedChange {
    /// Takes what the workflow needs from a SchemaChange object.
    #[must_use]
    pub fn from_resource(change: &SchemaChange) -> Self {
        Self {
            name: change.metadata.name.clone().unwrap_or_default(),
            uid: change.metadata.uid.clone().unwrap_or_default(),
            generation: change.metadata.generation,
            created: change.metadata.creation_timestamp.clone(),
            deleting: change.metadata.deletion_timestamp.is_some(),
            author: change.spec.author.as_ref().map(|a| a.username.clone()),
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
    /// The database it points at.
    pub target: Target,
    /// Its engine.
    pub engine: crate::api::database_instance::Engine,
}

/// The database a DatabaseInstance points at, as far as reviews and approvals are concerned:
/// the instance object (its uid) and where it connects. Pointing an instance elsewhere, or
/// recreating it, makes a new target, so changes are reviewed and approved again.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// Fingerprint (sha256 hex) of the identity.
    pub key: String,
    /// For people: `engine://host:port/database (DatabaseInstance uid …)`.
    pub display: String,
}

impl Target {
    /// The target of the instance with this uid and spec.
    #[must_use]
    pub fn of(instance_uid: &str, spec: &DatabaseInstanceSpec) -> Self {
        let engine = spec.engine.as_str();
        let host = spec.host.as_deref().unwrap_or_default();
        let port = spec
            .port
            .or_else(|| spec.engine.default_port())
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let location = if host.is_empty() {
            format!("{engine}:{}", spec.database)
        } else {
            format!("{engine}://{host}{port}/{}", spec.database)
        };
        let key = sha256_hex(&[engine, host, &port, &spec.database, instance_uid]);
        Self {
            key,
            display: format!("{location} (DatabaseInstance uid {instance_uid})"),
        }
    }
}

/// sha256 (hex) of `parts`, each length-prefixed so no two lists collide.
fn sha256_hex(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex_of(&h.finalize())
}

fn hex_of(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// What [`ReviewOutcome::stamped`] tags a fresh review with.
#[derive(Debug, Clone, Copy)]
pub struct ReviewStamp<'a> {
    /// The [`review_key`] the review was computed for.
    pub key: &'a str,
    /// The SQL digest reviewed.
    pub digest: &'a str,
    /// The target reviewed against.
    pub target: &'a Target,
    /// The key of the review this process held for the change before, if any.
    pub previous_key: Option<&'a str>,
    /// The change's current status (a review recorded there may keep its time).
    pub status: &'a SchemaChangeStatus,
    /// The change's creation time.
    pub created: Option<&'a Time>,
    /// Now.
    pub now: &'a Time,
}

/// What a review depends on, as one fingerprint: the exact SQL, the target database and the
/// review policy. A review is reused only while all three are unchanged.
#[must_use]
pub fn review_key(digest: &str, target: &Target, policy: &ReviewPolicy) -> String {
    let policy = serde_json::to_string(policy).unwrap_or_default();
    sha256_hex(&[digest, &target.key, &policy])
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
    hex_of(&Sha256::digest(sql.as_bytes()))
}

/// The outcome of the SQL review that the workflow needs. The review engine's result is
/// converted into this by the controller, which tags it with the [`review_key`] it was computed
/// for and the time it was computed ([`ReviewOutcome::stamped`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReviewOutcome {
    /// The [`review_key`] this review was computed for (empty: not stamped yet).
    pub key: String,
    /// The SQL digest reviewed.
    pub digest: String,
    /// The target reviewed against (for people).
    pub target: String,
    /// When the review was computed. Approvals created before this second do not count.
    pub reviewed_at: Option<Time>,
    /// This review replaced an earlier one of the same change with another key (the instance
    /// was retargeted or the policy edited): then even an Approval naming the change's uid must
    /// be created in a later second than this review.
    pub supersedes: bool,
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
    /// What the statements lock, rewrite or scan on existing tables.
    pub impacts: Vec<ImpactRecord>,
    /// The impact prediction checked against the server, when the project asks for it.
    pub verification: Option<crate::api::schema_change::VerificationRecord>,
}

/// Impacts kept in `status.review` (the costliest first).
pub const MAX_STATUS_IMPACTS: usize = 20;

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
            key: String::new(),
            digest: String::new(),
            target: String::new(),
            reviewed_at: None,
            supersedes: false,
            risk,
            statements,
            errors: crate::api::count(errors),
            warnings: crate::api::count(warnings),
            findings,
            impacts: Vec::new(),
            verification: None,
        }
    }

    /// Tags the review with what it was computed for and when. `reviewed_at` is `now`, unless
    /// `status` already records a review with the same key and the same verdict (the operator
    /// restarted and reviewed again): then the recorded time is kept, but never earlier than
    /// the change's creation, so a forged `reviewedAt` cannot let an older Approval count.
    #[must_use]
    pub fn stamped(mut self, stamp: &ReviewStamp<'_>) -> Self {
        let status_key = stamp.status.review.as_ref().and_then(|r| r.key.as_deref());
        let recorded = stamp
            .status
            .review
            .as_ref()
            .filter(|r| r.key.as_deref() == Some(stamp.key))
            .filter(|r| {
                (r.risk, r.statements, r.errors, r.warnings)
                    == (self.risk, self.statements, self.errors, self.warnings)
            })
            .and_then(|r| r.reviewed_at.as_deref())
            .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
            .map(Time)
            .filter(|t| t.0 <= stamp.now.0);
        let at = match (recorded, stamp.created) {
            (Some(at), Some(created)) if at.0 < created.0 => created.clone(),
            (Some(at), _) => at,
            (None, _) => stamp.now.clone(),
        };
        self.supersedes = [stamp.previous_key, status_key]
            .into_iter()
            .flatten()
            .any(|k| !k.is_empty() && k != stamp.key);
        self.key = stamp.key.to_owned();
        self.digest = stamp.digest.to_owned();
        self.target.clone_from(&stamp.target.display);
        self.reviewed_at = Some(at);
        self
    }

    /// The record for `status.review`: errors first, at most [`MAX_STATUS_FINDINGS`].
    #[must_use]
    pub fn to_record(&self) -> ReviewRecord {
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
            truncated: crate::api::count(truncated),
            reviewed_at: self.reviewed_at.as_ref().map(|t| t.0.to_string()),
            target: (!self.target.is_empty()).then(|| self.target.clone()),
            key: (!self.key.is_empty()).then(|| self.key.clone()),
            supersedes: self.supersedes,
            impacts: self
                .impacts
                .iter()
                .take(MAX_STATUS_IMPACTS)
                .cloned()
                .collect(),
            verification: self.verification.clone(),
        }
    }
}

/// An approver's identity as established by schemagate (never from user-written spec fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    /// Kubernetes user name.
    pub user: String,
    /// Kubernetes user uid, when the authenticator gives one: tells apart two people who held
    /// the same user name (an account deleted and created again) and joins one person's names.
    pub uid: Option<String>,
    /// Kubernetes groups of the user.
    pub groups: Vec<String>,
}

impl Approver {
    /// Who this is for counting distinct approvers: the uid when known, else the user name.
    #[must_use]
    pub fn person(&self) -> (&str, &str) {
        match &self.uid {
            Some(uid) => ("uid", uid.as_str()),
            None => ("user", self.user.as_str()),
        }
    }
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
    /// `spec.schemaChangeUid`, when the Approval names the object it is for.
    pub change_uid: Option<String>,
    /// Who created it (`spec.approver`, recorded by the admission webhook).
    pub approver: Option<Approver>,
    /// Whether an Approval without a recorded approver is refused (`ApproverNotRecorded`):
    /// true wherever the webhook is installed; false only where the operator is told nothing
    /// records identities (then such Approvals count together as one unknown approver).
    pub identity_required: bool,
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
        let observed = ObservedChange::from_resource(&change);
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
    fn target_identity_changes_with_where_the_instance_points_and_its_uid() {
        let spec: DatabaseInstanceSpec = serde_json::from_value(serde_json::json!({
            "engine": "postgres", "host": "db", "database": "shop",
            "credentialsSecretRef": {"name": "s"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let t = Target::of("u1", &spec);
        assert_eq!(
            t.display,
            "postgres://db:5432/shop (DatabaseInstance uid u1)"
        );
        assert_eq!(t, Target::of("u1", &spec), "stable");
        let mut other_db = spec.clone();
        other_db.database = "shop2".into();
        let mut other_port = spec.clone();
        other_port.port = Some(5433);
        let mut other_env = spec.clone();
        other_env.environment = Some("dev".into());
        assert_ne!(t.key, Target::of("u1", &other_db).key);
        assert_ne!(t.key, Target::of("u1", &other_port).key);
        assert_ne!(t.key, Target::of("u2", &spec).key, "a recreated instance");
        assert_eq!(
            t.key,
            Target::of("u1", &other_env).key,
            "environment is policy, not target"
        );
    }

    #[test]
    fn review_key_depends_on_sql_target_and_policy() {
        let spec: DatabaseInstanceSpec = serde_json::from_value(serde_json::json!({
            "engine": "sqlite", "database": "/tmp/a.db"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let t = Target::of("u1", &spec);
        let policy = ReviewPolicy::default();
        let key = review_key("d1", &t, &policy);
        assert_eq!(key, review_key("d1", &t, &policy));
        assert_ne!(key, review_key("d2", &t, &policy));
        assert_ne!(key, review_key("d1", &Target::of("u2", &spec), &policy));
        let strict: ReviewPolicy = serde_json::from_value(serde_json::json!({"preset": "strict"}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(key, review_key("d1", &t, &strict));
    }

    #[test]
    fn stamping_keeps_a_recorded_time_only_for_the_same_review_and_never_before_creation() {
        use k8s_openapi::jiff::Timestamp;
        let at = |s: i64| Time(Timestamp::from_second(s).unwrap_or_else(|e| panic!("{e}")));
        let target = Target {
            key: "t".into(),
            display: "sqlite:/x".into(),
        };
        let review = ReviewOutcome::from_findings(RiskLevel::Low, 1, Vec::new());
        let empty = SchemaChangeStatus::default();
        let (created, first_time, later) = (at(100), at(1_000), at(5_000));
        let stamp = |key: &'static str, status: &'static SchemaChangeStatus, now: &'static Time| {
            ReviewStamp {
                key,
                digest: "d",
                target: Box::leak(Box::new(target.clone())),
                previous_key: None,
                status,
                created: Some(Box::leak(Box::new(created.clone()))),
                now,
            }
        };
        let first_time: &'static Time = Box::leak(Box::new(first_time));
        let later: &'static Time = Box::leak(Box::new(later));
        let empty: &'static SchemaChangeStatus = Box::leak(Box::new(empty));
        let fresh = review.clone().stamped(&stamp("k", empty, first_time));
        assert_eq!(
            fresh.reviewed_at.as_ref(),
            Some(first_time),
            "a first review is stamped now"
        );
        assert_eq!(
            (fresh.key.as_str(), fresh.target.as_str()),
            ("k", "sqlite:/x")
        );
        assert!(!fresh.supersedes);
        let recorded: &'static SchemaChangeStatus = Box::leak(Box::new(SchemaChangeStatus {
            review: Some(fresh.to_record()),
            ..SchemaChangeStatus::default()
        }));
        let again = review.clone().stamped(&stamp("k", recorded, later));
        assert_eq!(
            again.reviewed_at.as_ref(),
            Some(first_time),
            "a restart keeps the time"
        );
        assert!(!again.supersedes, "the same review");
        let other_key = review.clone().stamped(&stamp("k2", recorded, later));
        assert_eq!(
            other_key.reviewed_at.as_ref(),
            Some(later),
            "another target or policy: now"
        );
        assert!(other_key.supersedes, "it replaces the recorded review");
        let mut in_memory = stamp("k2", empty, later);
        in_memory.previous_key = Some("k");
        assert!(review.clone().stamped(&in_memory).supersedes);
        // A forged, earlier reviewedAt cannot reach before the change existed.
        let mut forged = recorded.clone();
        if let Some(r) = forged.review.as_mut() {
            r.reviewed_at = Some(at(10).0.to_string());
        }
        let forged: &'static SchemaChangeStatus = Box::leak(Box::new(forged));
        let stamped = review.stamped(&stamp("k", forged, later));
        assert_eq!(stamped.reviewed_at, Some(created));
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
        let record = outcome.to_record();
        assert_eq!(record.findings.len(), MAX_STATUS_FINDINGS);
        assert_eq!(record.truncated, 21);
        assert_eq!(record.findings[0].level, FindingLevel::Error);
    }
}
