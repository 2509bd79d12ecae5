//! Which notices a SchemaChange or a DatabaseInstance calls for, read from its status alone.
//!
//! A notice is a fact of the subject's history, not of one reconcile: "reviewed" holds once the
//! status has a review, "approved" once it has an approval record, and so on. The same status
//! gives the same notices (and the same keys) in every process and after every restart, which
//! is what lets the delivery records de-duplicate them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use sha2::{Digest, Sha256};

use super::{
    ApprovalSummary, DIFF_LINES, FindingLine, FindingsSummary, Notice, NotificationEvent, Subject,
    TOP_FINDINGS,
};
use crate::api::conditions::{find, types};
use crate::api::schema_change::FindingLevel;
use crate::api::{DatabaseInstance, Phase, SchemaChange};

/// The dedupe key of `event` about `about` (a digest) for the object with `uid`.
fn key(uid: &str, event: NotificationEvent, about: &str) -> String {
    let mut hash = Sha256::new();
    for part in [uid, event.as_str(), about] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

/// The notices `change` calls for now, in the order of its life. `environment` is its
/// instance's `spec.environment`.
#[must_use]
pub fn change_notices(change: &SchemaChange, environment: Option<&str>) -> Vec<Notice> {
    let (Some(status), Some(uid), Some(namespace), Some(name)) = (
        change.status.as_ref(),
        change.metadata.uid.as_deref(),
        change.metadata.namespace.as_deref(),
        change.metadata.name.as_deref(),
    ) else {
        return Vec::new();
    };
    let Some(digest) = status.sql_digest.as_deref() else {
        return Vec::new();
    };
    let subject = Subject::SchemaChange {
        name: name.to_owned(),
        uid: uid.to_owned(),
        version: change.spec.version.clone(),
        instance: change.spec.instance_ref.clone(),
        environment: environment.map(str::to_owned),
        author: change.spec.author.as_ref().map(|a| a.username.clone()),
        description: change.spec.description.clone(),
    };
    let review = status.review.as_ref();
    let base = |event: NotificationEvent, title: String, at: String| Notice {
        event,
        key: key(uid, event, digest),
        namespace: namespace.to_owned(),
        project: change.spec.project_ref.clone(),
        subject: subject.clone(),
        title,
        risk: review.map(|r| r.risk),
        sql_digest: Some(digest.to_owned()),
        findings: review.map(|r| {
            let mut top: Vec<_> = r.findings.iter().collect();
            // Errors first, then in script order.
            top.sort_by_key(|f| (f.level != FindingLevel::Error, f.statement, f.line));
            FindingsSummary {
                errors: r.errors,
                warnings: r.warnings,
                statements: r.statements,
                top: top
                    .into_iter()
                    .take(TOP_FINDINGS)
                    .map(|f| FindingLine {
                        level: match f.level {
                            FindingLevel::Error => "error",
                            FindingLevel::Warning => "warning",
                        }
                        .to_owned(),
                        rule: f.rule.clone(),
                        line: f.line,
                        message: f.message.clone(),
                    })
                    .collect(),
            }
        }),
        approval: None,
        diff: Vec::new(),
        diff_truncated: 0,
        reason: None,
        detail: None,
        occurred_at: at,
        actions: None,
    };
    let conditions = &status.conditions;
    let phase = status.phase.unwrap_or_default();
    let who = format!("{namespace}/{name} ({})", change.spec.version);
    let mut out = Vec::new();
    if let Some(r) = review
        && let Some(at) = r.reviewed_at.clone()
    {
        let verdict = if r.errors > 0 {
            "failed review"
        } else {
            "passed review"
        };
        out.push(base(
            NotificationEvent::Reviewed,
            format!("{who} {verdict}: {} risk", r.risk.as_str()),
            at,
        ));
    }
    if phase == Phase::AwaitingApproval {
        let at = transition_time(conditions, types::APPROVED)
            .or_else(|| review.and_then(|r| r.reviewed_at.clone()))
            .unwrap_or_default();
        out.push(base(
            NotificationEvent::AwaitingApproval,
            format!("{who} is awaiting approval"),
            at,
        ));
    }
    if let Some(approval) = status.approval.as_ref()
        && let Some(at) = approval.approved_at.clone()
    {
        let mut notice = base(
            NotificationEvent::Approved,
            format!("{who} was approved"),
            at,
        );
        notice.approval = Some(ApprovalSummary {
            auto: approval.auto,
            approvers: approval
                .approvals
                .iter()
                .filter_map(|a| a.user.clone())
                .collect(),
        });
        out.push(notice);
    }
    if phase == Phase::Applied {
        let at = status
            .execution
            .as_ref()
            .and_then(|e| e.finished_at.clone())
            .or_else(|| transition_time(conditions, types::APPLIED))
            .unwrap_or_default();
        let mut notice = base(NotificationEvent::Applied, format!("{who} was applied"), at);
        if let Some(snapshots) = status.snapshots.as_ref() {
            notice.diff = snapshots.diff.iter().take(DIFF_LINES).cloned().collect();
            let left = snapshots.diff.len().saturating_sub(DIFF_LINES);
            notice.diff_truncated =
                snapshots.diff_truncated + u32::try_from(left).unwrap_or(u32::MAX);
        }
        out.push(notice);
    }
    if matches!(phase, Phase::Failed | Phase::ReviewFailed | Phase::Rejected) {
        let failed = [types::APPLIED, types::APPROVED, types::REVIEWED]
            .iter()
            .filter_map(|t| find(conditions, t))
            .find(|c| c.status == "False");
        let what = match phase {
            Phase::ReviewFailed => "failed review",
            Phase::Rejected => "was rejected",
            _ => "failed",
        };
        let mut notice = base(
            NotificationEvent::Failed,
            format!("{who} {what}"),
            failed
                .map(|c| c.last_transition_time.0.to_string())
                .unwrap_or_default(),
        );
        notice.reason = failed.map(|c| c.reason.clone());
        notice.detail = failed.map(|c| c.message.clone()).filter(|m| !m.is_empty());
        // Distinct failures of the same SQL (a rejection, then a failed run) are distinct
        // notices.
        let reason = notice.reason.clone().unwrap_or_default();
        notice.key = key(
            uid,
            NotificationEvent::Failed,
            &format!("{digest}/{reason}"),
        );
        out.push(notice);
    }
    out
}

/// The last transition time of the condition `type_` (RFC 3339).
fn transition_time(conditions: &[Condition], type_: &str) -> Option<String> {
    find(conditions, type_).map(|c| c.last_transition_time.0.to_string())
}

/// The drift notice `instance` calls for, for `project`: when its `Drifted` condition is true.
/// One per drifted schema: a drift that changes again is a new notice.
#[must_use]
pub fn drift_notice(instance: &DatabaseInstance, project: &str) -> Option<Notice> {
    let status = instance.status.as_ref()?;
    let drifted = find(&status.conditions, types::DRIFTED).filter(|c| c.status == "True")?;
    let uid = instance.metadata.uid.as_deref()?;
    let namespace = instance.metadata.namespace.clone()?;
    let name = instance.metadata.name.clone()?;
    let about = status.last_snapshot_digest.clone().unwrap_or_default();
    let lines = &status.drift;
    Some(Notice {
        event: NotificationEvent::Drifted,
        key: key(
            uid,
            NotificationEvent::Drifted,
            &format!("{project}/{about}"),
        ),
        title: format!("{namespace}/{name}: the schema drifted from what schemagate recorded"),
        namespace,
        project: project.to_owned(),
        subject: Subject::DatabaseInstance {
            name,
            uid: uid.to_owned(),
            environment: instance.spec.environment.clone(),
        },
        risk: None,
        sql_digest: None,
        findings: None,
        approval: None,
        diff: lines.iter().take(DIFF_LINES).cloned().collect(),
        diff_truncated: u32::try_from(lines.len().saturating_sub(DIFF_LINES)).unwrap_or(u32::MAX),
        reason: Some(drifted.reason.clone()),
        detail: Some(drifted.message.clone()).filter(|m| !m.is_empty()),
        occurred_at: drifted.last_transition_time.0.to_string(),
        actions: None,
    })
}

#[cfg(test)]
#[path = "due_tests.rs"]
mod tests;
