//! Condition types, reasons and the helpers that set them — shared by all four kinds.
//!
//! Pure data: no client calls. `lastTransitionTime` moves only when a condition's status flips.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types.
pub mod types {
    /// DatabaseInstance: reachable with the given credentials. Project: policy valid.
    /// SchemaChange: summary condition (true once applied).
    pub const READY: &str = "Ready";
    /// DatabaseInstance: the live schema differs from the last recorded after-snapshot.
    pub const DRIFTED: &str = "Drifted";
    /// SchemaChange: the SQL review finished without errors.
    pub const REVIEWED: &str = "Reviewed";
    /// SchemaChange: enough valid Approvals exist, or the project auto-approved it.
    pub const APPROVED: &str = "Approved";
    /// SchemaChange: the change is recorded as applied in the target database's history.
    pub const APPLIED: &str = "Applied";
    /// Approval: the Approval matches its SchemaChange and counts.
    pub const ACCEPTED: &str = "Accepted";
    /// Project: every notification channel accepts messages (False names the failing ones).
    pub const NOTIFICATIONS_HEALTHY: &str = "NotificationsHealthy";
}

/// Condition reasons (PascalCase, machine-readable).
pub mod reasons {
    // DatabaseInstance
    /// Connected and authenticated.
    pub const CONNECTED: &str = "Connected";
    /// The credentials Secret does not exist.
    pub const SECRET_NOT_FOUND: &str = "SecretNotFound";
    /// The credentials Secret lacks a key.
    pub const SECRET_INVALID: &str = "SecretInvalid";
    /// The database rejected the credentials.
    pub const AUTH_FAILED: &str = "AuthFailed";
    /// Connected, but the user lacks a privilege the operator needs (creating or reading the
    /// history table, reading the catalog).
    pub const PERMISSION_DENIED: &str = "PermissionDenied";
    /// The server cannot be reached.
    pub const UNREACHABLE: &str = "Unreachable";
    /// TLS negotiation or verification failed.
    pub const TLS_FAILED: &str = "TlsFailed";
    /// The live schema equals the last recorded after-snapshot.
    pub const IN_SYNC: &str = "InSync";
    /// The live schema differs from the last recorded after-snapshot.
    pub const SCHEMA_DRIFT: &str = "SchemaDrift";
    /// No change has been recorded yet, so there is nothing to compare with.
    pub const NO_BASELINE: &str = "NoBaseline";
    /// The drift check could not take or compare the live schema (a lock timeout, a catalog
    /// error); `Drifted` is `Unknown` until the next check. Never affects `Ready`.
    pub const DRIFT_CHECK_FAILED: &str = "DriftCheckFailed";

    // Project
    /// The review and approval policies are valid.
    pub const POLICY_VALID: &str = "PolicyValid";
    /// The review policy names an unknown rule or has a bad payload.
    pub const INVALID_POLICY: &str = "InvalidPolicy";
    /// Every channel accepted its last message.
    pub const CHANNELS_DELIVERING: &str = "ChannelsDelivering";
    /// At least one channel refused or did not answer its last message (retried with backoff).
    pub const DELIVERY_FAILING: &str = "DeliveryFailing";
    /// No message was sent since the operator started.
    pub const NO_DELIVERIES_YET: &str = "NoDeliveriesYet";

    // SchemaChange
    /// Review passed (possibly with warnings).
    pub const REVIEW_PASSED: &str = "ReviewPassed";
    /// Review found errors.
    pub const REVIEW_FAILED: &str = "ReviewFailed";
    /// The SQL could not be read (missing ConfigMap or key).
    pub const SQL_UNAVAILABLE: &str = "SqlUnavailable";
    /// Waiting for Approvals.
    pub const AWAITING_APPROVAL: &str = "AwaitingApproval";
    /// Approved by enough Approvals.
    pub const APPROVED_BY_APPROVAL: &str = "ApprovedByApproval";
    /// Approved by the project's auto-approval policy.
    pub const AUTO_APPROVED: &str = "AutoApproved";
    /// An Approval rejected the change.
    pub const REJECTED: &str = "Rejected";
    /// Waiting for an earlier version on the same database.
    pub const BLOCKED_BY_EARLIER_VERSION: &str = "BlockedByEarlierVersion";
    /// The version is at or below the latest applied version (or was applied by another change).
    pub const VERSION_OUT_OF_ORDER: &str = "VersionOutOfOrder";
    /// The referenced Project or DatabaseInstance does not exist or does not allow this target.
    pub const INVALID_REFERENCE: &str = "InvalidReference";
    /// Execution is in progress.
    pub const APPLYING: &str = "Applying";
    /// Executed and recorded in the history table.
    pub const APPLIED: &str = "Applied";
    /// The database returned an error; the transaction was rolled back where possible.
    pub const EXECUTION_FAILED: &str = "ExecutionFailed";
    /// A non-transactional change was interrupted part-way; a human must look.
    pub const NEEDS_INTERVENTION: &str = "NeedsIntervention";
    /// The review of the current SQL digest is running.
    pub const REVIEWING: &str = "Reviewing";
    /// The target DatabaseInstance is not Ready, so the change waits.
    pub const INSTANCE_NOT_READY: &str = "InstanceNotReady";
    /// The target DatabaseInstance has not been checked yet (the operator is starting, or the
    /// instance is new), so the change waits; not a warning.
    pub const WAITING_FOR_INSTANCE: &str = "WaitingForInstance";
    /// The Project's policy is invalid, so the change waits for it to be fixed.
    pub const PROJECT_NOT_READY: &str = "ProjectNotReady";
    /// The SQL (from a ConfigMap) no longer matches the digest that was reviewed.
    pub const SQL_CHANGED: &str = "SqlChanged";
    /// `spec.version` is not a version.
    pub const INVALID_VERSION: &str = "InvalidVersion";
    /// Status says the change ran (applied or failed) but the target database's history table
    /// has no record of it; it is never run again automatically.
    pub const HISTORY_MISSING: &str = "HistoryMissing";
    /// The change asks for something its engine cannot do safely (`transactionMode: none` on
    /// SQLite, where the executor's lock is the change's transaction).
    pub const UNSUPPORTED_TRANSACTION_MODE: &str = "UnsupportedTransactionMode";
    /// The executor refused the change before running anything (for example transaction control
    /// or a NUL byte in the script that the review did not catch); nothing ran.
    pub const EXECUTION_REFUSED: &str = "ExecutionRefused";
    /// The change was deleted while it was applying; execution was cancelled.
    pub const CANCELLED: &str = "Cancelled";

    // Approval
    /// The Approval names an existing change and its digest.
    pub const MATCHED: &str = "Matched";
    /// No SchemaChange of that name exists in the namespace.
    pub const CHANGE_NOT_FOUND: &str = "ChangeNotFound";
    /// The change has not been reviewed yet, so there is no digest to match (re-checked once it
    /// is).
    pub const CHANGE_NOT_REVIEWED: &str = "ChangeNotReviewed";
    /// The Approval's sqlDigest differs from the change's reviewed digest.
    pub const DIGEST_MISMATCH: &str = "DigestMismatch";
    /// The Approval's schemaChangeUid names another object than the current SchemaChange.
    pub const UID_MISMATCH: &str = "UidMismatch";
    /// The Approval is older than the SchemaChange it names: it was made for an earlier object
    /// of the same name.
    pub const PREDATES_CHANGE: &str = "PredatesChange";
    /// The Approval is older than the review it would approve (the change was reviewed again,
    /// e.g. because its DatabaseInstance now points at another database).
    pub const PREDATES_REVIEW: &str = "PredatesReview";
    /// The change was already applied before this Approval arrived.
    pub const ALREADY_APPLIED: &str = "AlreadyApplied";
    /// The approver is not allowed by the project's approval policy.
    pub const NOT_AN_APPROVER: &str = "NotAnApprover";
    /// The approver is the author of the change and self-approval is not allowed.
    pub const SELF_APPROVAL: &str = "SelfApproval";
    /// The approver is a ServiceAccount, which approves only when the project names it in
    /// `approvers.users`.
    pub const SERVICE_ACCOUNT_APPROVER: &str = "ServiceAccountApprover";
    /// No approver was recorded by the admission webhook, and the operator requires one.
    pub const APPROVER_NOT_RECORDED: &str = "ApproverNotRecorded";
}

/// `"True"` or `"False"` as the condition `status` field wants it.
#[must_use]
pub fn status_str(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

/// Sets (inserts or updates) the condition of `condition_type` in `conditions`.
///
/// `lastTransitionTime` is kept from the existing condition unless `status` flips, so rewriting an
/// unchanged condition never produces a status diff. Returns `true` when anything changed.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    condition_type: &str,
    status: bool,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: Time,
) -> bool {
    set_condition_status(
        conditions,
        condition_type,
        status_str(status),
        reason,
        message,
        observed_generation,
        now,
    )
}

/// Like [`set_condition`] with status `Unknown`: the operator could not find out.
pub fn set_condition_unknown(
    conditions: &mut Vec<Condition>,
    condition_type: &str,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: Time,
) -> bool {
    set_condition_status(
        conditions,
        condition_type,
        "Unknown",
        reason,
        message,
        observed_generation,
        now,
    )
}

fn set_condition_status(
    conditions: &mut Vec<Condition>,
    condition_type: &str,
    status: &str,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    now: Time,
) -> bool {
    if let Some(existing) = conditions.iter_mut().find(|c| c.type_ == condition_type) {
        let unchanged = existing.status == status
            && existing.reason == reason
            && existing.message == message
            && existing.observed_generation == observed_generation;
        if unchanged {
            return false;
        }
        if existing.status != status {
            existing.last_transition_time = now;
        }
        existing.status = status.to_owned();
        existing.reason = reason.to_owned();
        existing.message = message.to_owned();
        existing.observed_generation = observed_generation;
        return true;
    }
    conditions.push(Condition {
        type_: condition_type.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation,
        last_transition_time: now,
    });
    true
}

/// Finds a condition by type.
#[must_use]
pub fn find<'a>(conditions: &'a [Condition], condition_type: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == condition_type)
}

/// Whether the condition of `condition_type` is present with status `True`.
#[must_use]
pub fn is_true(conditions: &[Condition], condition_type: &str) -> bool {
    find(conditions, condition_type).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let mut conds = Vec::new();
        assert!(set_condition(
            &mut conds,
            types::READY,
            false,
            "Unreachable",
            "down",
            Some(1),
            at(10)
        ));
        // Same status, new message: changed, but the transition time stays.
        assert!(set_condition(
            &mut conds,
            types::READY,
            false,
            "AuthFailed",
            "denied",
            Some(1),
            at(20)
        ));
        assert_eq!(conds[0].last_transition_time, at(10));
        assert_eq!(conds[0].reason, "AuthFailed");
        // Flip: time moves.
        assert!(set_condition(
            &mut conds,
            types::READY,
            true,
            "Connected",
            "ok",
            Some(1),
            at(30)
        ));
        assert_eq!(conds[0].last_transition_time, at(30));
        // Identical rewrite: reported unchanged, nothing moves.
        assert!(!set_condition(
            &mut conds,
            types::READY,
            true,
            "Connected",
            "ok",
            Some(1),
            at(40)
        ));
        assert_eq!(conds[0].last_transition_time, at(30));
        assert_eq!(conds.len(), 1);
        assert!(is_true(&conds, types::READY));
        assert!(!is_true(&conds, types::DRIFTED));
    }
}
