//! The SchemaChange status to report for a decision, whether it differs from the current one,
//! and the Event to publish (only on transitions).
//!
//! Pure: no client calls. Uses `api::conditions::set_condition`, so `lastTransitionTime` moves
//! only when a condition's status flips and an unchanged status compares equal.

use crate::api::conditions::{reasons, set_condition, types};
use crate::api::schema_change::{ApprovalRecord, Phase, RiskLevel, SchemaChangeStatus};

use super::decide::Decision;
use super::observed::{Observed, SqlText, sql_digest};

/// Kubernetes Event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Progress.
    Normal,
    /// Something a human should look at.
    Warning,
}

impl EventType {
    /// `Normal` or `Warning`, as the Events API wants it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// An Event to publish on the SchemaChange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub type_: EventType,
    /// PascalCase reason (the `Ready` condition's reason).
    pub reason: String,
    /// Human message.
    pub message: String,
}

/// The status to write, and what to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The next status.
    pub status: SchemaChangeStatus,
    /// Whether it differs from the current one (no write when false).
    pub changed: bool,
    /// The Event for this transition, if it is one.
    pub event: Option<EventNote>,
}

/// Reasons that make a Warning Event.
const WARNING_REASONS: &[&str] = &[
    reasons::INVALID_REFERENCE,
    reasons::SQL_UNAVAILABLE,
    reasons::PROJECT_NOT_READY,
    reasons::INSTANCE_NOT_READY,
    reasons::REVIEW_FAILED,
    reasons::REJECTED,
    reasons::SQL_CHANGED,
    reasons::VERSION_OUT_OF_ORDER,
    reasons::INVALID_VERSION,
    reasons::EXECUTION_FAILED,
    reasons::EXECUTION_REFUSED,
    reasons::UNSUPPORTED_TRANSACTION_MODE,
    reasons::NEEDS_INTERVENTION,
    reasons::HISTORY_MISSING,
    reasons::CANCELLED,
];

struct Builder<'a> {
    status: SchemaChangeStatus,
    generation: Option<i64>,
    observed: &'a Observed,
}

impl Builder<'_> {
    fn set(&mut self, condition_type: &str, value: bool, reason: &str, message: &str) {
        set_condition(
            &mut self.status.conditions,
            condition_type,
            value,
            reason,
            message,
            self.generation,
            self.observed.now.clone(),
        );
    }

    /// Ready mirrors the step: true only once applied.
    fn ready(&mut self, value: bool, reason: &str, message: &str) {
        self.set(types::READY, value, reason, message);
    }

    /// Records the digest and the operator's own review of it (with when and against which
    /// target it was computed).
    fn review(&mut self) {
        let SqlText::Resolved(sql) = &self.observed.sql else {
            return;
        };
        let Some(review) = &self.observed.review else {
            return;
        };
        self.status.review = Some(review.to_record());
        self.status.sql_digest = Some(sql_digest(sql));
        if review.errors == 0 {
            let risk = match review.risk {
                RiskLevel::Low => "LOW",
                RiskLevel::Moderate => "MODERATE",
                RiskLevel::High => "HIGH",
            };
            let message = format!(
                "{} statement(s), risk {risk}, {} warning(s)",
                review.statements, review.warnings
            );
            self.set(types::REVIEWED, true, reasons::REVIEW_PASSED, &message);
        }
    }

    fn approved(&mut self, record: &ApprovalRecord) {
        let (reason, message) = if record.auto {
            (
                reasons::AUTO_APPROVED,
                "approved by the project's auto-approval policy".to_owned(),
            )
        } else {
            let who: Vec<String> = record
                .approvals
                .iter()
                .map(|a| match &a.user {
                    Some(user) => format!("{user} (Approval {})", a.approval),
                    None => format!("Approval {} (approver not recorded)", a.approval),
                })
                .collect();
            (
                reasons::APPROVED_BY_APPROVAL,
                format!("approved by {}", who.join(", ")),
            )
        };
        self.set(types::APPROVED, true, reason, &message);
        self.status.approval = Some(record.clone());
    }
}

/// Builds the next status for `decision` from the observed current status.
#[must_use]
pub fn next_status(observed: &Observed, decision: &Decision) -> StatusUpdate {
    let current = &observed.change.status;
    let mut b = Builder {
        status: current.clone(),
        generation: observed.change.generation,
        observed,
    };
    // Progress is written only by the task executing the change, and a reconcile never runs
    // while this process executes it: progress found here is left over from a run that ended
    // (or from an operator that died mid-run), so every status built here drops it.
    b.status.progress = None;
    let name = &observed.change.name;
    let version = &observed.change.spec.version;
    let phase = match decision {
        Decision::Release => {
            return StatusUpdate {
                status: current.clone(),
                changed: false,
                event: None,
            };
        }
        Decision::Nothing => {
            // Refresh observedGeneration (e.g. after a description edit), nothing else.
            for condition in &mut b.status.conditions {
                condition.observed_generation = b.generation;
            }
            b.status.observed_generation = b.generation;
            let changed = b.status != *current;
            return StatusUpdate {
                status: b.status,
                changed,
                event: None,
            };
        }
        Decision::CancelAndRelease => {
            let message = "deleted while applying: execution cancelled; the database keeps \
                           only what its history table records";
            b.set(types::APPLIED, false, reasons::CANCELLED, message);
            b.ready(false, reasons::CANCELLED, message);
            Phase::Failed
        }
        Decision::Invalid { reason, message } => {
            b.ready(false, reason, message);
            Phase::Pending
        }
        Decision::WaitForInstance { message, checked } => {
            let reason = if *checked {
                reasons::INSTANCE_NOT_READY
            } else {
                reasons::WAITING_FOR_INSTANCE
            };
            b.ready(false, reason, message);
            current.phase.unwrap_or(Phase::Pending)
        }
        Decision::Review { digest, .. } => {
            if b.status.sql_digest.as_deref() != Some(digest.as_str()) {
                b.status.review = None;
                b.status.sql_digest = Some(digest.clone());
            }
            let message = format!("reviewing SQL with digest {digest}");
            b.set(types::REVIEWED, false, reasons::REVIEWING, &message);
            b.ready(false, reasons::REVIEWING, &message);
            Phase::Reviewing
        }
        Decision::ReviewFailed { review } => {
            b.review();
            let first = review
                .findings
                .iter()
                .find(|f| f.level == crate::api::schema_change::FindingLevel::Error)
                .map(|f| format!(": {} (line {}): {}", f.rule, f.line, f.message))
                .unwrap_or_default();
            let message = format!(
                "{} error(s), {} warning(s){first}; fix the SQL and create a new SchemaChange",
                review.errors, review.warnings
            );
            b.set(types::REVIEWED, false, reasons::REVIEW_FAILED, &message);
            b.ready(false, reasons::REVIEW_FAILED, &message);
            Phase::ReviewFailed
        }
        Decision::Reject { by } => {
            b.review();
            let message = format!("rejected by {by}");
            b.set(types::APPROVED, false, reasons::REJECTED, &message);
            b.ready(false, reasons::REJECTED, &message);
            Phase::Rejected
        }
        Decision::WaitForApproval {
            have,
            need,
            ignored,
        } => {
            b.review();
            let digest = b.status.sql_digest.clone().unwrap_or_default();
            let uid = &observed.change.uid;
            let mut message = format!(
                "{have} of {need} approval(s); approve with an Approval whose schemaChangeRef is \
                 {name}, schemaChangeUid is {uid} and sqlDigest is {digest}"
            );
            if !ignored.is_empty() {
                message.push_str("; not counted: ");
                message.push_str(&ignored.join("; "));
            }
            b.set(types::APPROVED, false, reasons::AWAITING_APPROVAL, &message);
            b.ready(false, reasons::AWAITING_APPROVAL, &message);
            Phase::AwaitingApproval
        }
        Decision::Block {
            on,
            change,
            phase,
            approval,
        } => {
            b.review();
            b.approved(approval);
            let shown = phase.map_or("no phase yet", Phase::as_str);
            let message = format!(
                "waiting for version {on} (SchemaChange {change}, {shown}) to be applied to the \
                 same database first; apply or delete it"
            );
            b.set(
                types::APPLIED,
                false,
                reasons::BLOCKED_BY_EARLIER_VERSION,
                &message,
            );
            b.ready(false, reasons::BLOCKED_BY_EARLIER_VERSION, &message);
            Phase::Blocked
        }
        Decision::Execute(approved) => {
            b.review();
            b.approved(approved.record());
            let message = format!("applying version {version}");
            b.set(types::APPLIED, false, reasons::APPLYING, &message);
            b.ready(false, reasons::APPLYING, &message);
            Phase::Applying
        }
        Decision::InProgress => {
            let message = format!("version {version} is being applied (per the history table)");
            b.set(types::APPLIED, false, reasons::APPLYING, &message);
            b.ready(false, reasons::APPLYING, &message);
            Phase::Applying
        }
        Decision::RecordApplied => {
            let message = format!("version {version} applied and recorded in the history table");
            b.set(types::APPLIED, true, reasons::APPLIED, &message);
            b.ready(true, reasons::APPLIED, &message);
            Phase::Applied
        }
        Decision::Fail { reason, message } => {
            if *reason == reasons::EXECUTION_FAILED || *reason == reasons::EXECUTION_REFUSED {
                b.set(types::APPLIED, false, reason, message);
            }
            b.ready(false, reason, message);
            Phase::Failed
        }
        Decision::NeedsIntervention { message } => {
            let reason = if observed
                .history
                .as_ref()
                .is_some_and(|h| h.this_change.is_none())
            {
                reasons::HISTORY_MISSING
            } else {
                reasons::NEEDS_INTERVENTION
            };
            b.set(types::APPLIED, false, reason, message);
            b.ready(false, reason, message);
            Phase::Failed
        }
    };
    b.status.phase = Some(phase);
    b.status.observed_generation = b.generation;
    let changed = b.status != *current;
    let event = transition_event(current, &b.status);
    StatusUpdate {
        status: b.status,
        changed,
        event,
    }
}

/// An Event when the phase or the `Ready` condition's status or reason changed.
fn transition_event(before: &SchemaChangeStatus, after: &SchemaChangeStatus) -> Option<EventNote> {
    use crate::api::conditions::find;
    let ready_after = find(&after.conditions, types::READY)?;
    let ready_before = find(&before.conditions, types::READY);
    let same_ready = ready_before
        .is_some_and(|c| c.status == ready_after.status && c.reason == ready_after.reason);
    if same_ready && before.phase == after.phase {
        return None;
    }
    let type_ = if WARNING_REASONS.contains(&ready_after.reason.as_str()) {
        EventType::Warning
    } else {
        EventType::Normal
    };
    Some(EventNote {
        type_,
        reason: ready_after.reason.clone(),
        message: ready_after.message.clone(),
    })
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
