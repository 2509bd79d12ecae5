#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

use super::*;

fn change(status: serde_json::Value) -> SchemaChange {
    serde_json::from_value(json!({
        "apiVersion": "schemagate.io/v1alpha1", "kind": "SchemaChange",
        "metadata": {"name": "add-email", "namespace": "shop", "uid": "uid-1"},
        "spec": {"projectRef": "orders", "instanceRef": "orders-db", "version": "20260101",
                 "sql": "ALTER TABLE t ADD c int;", "author": {"username": "alice"}},
        "status": status,
    }))
    .unwrap()
}

fn cond(type_: &str, status: &str, reason: &str, at: &str) -> serde_json::Value {
    json!({"type": type_, "status": status, "reason": reason, "message": format!("{reason} happened"),
           "lastTransitionTime": at})
}

fn reviewed(extra: serde_json::Value) -> serde_json::Value {
    let mut s = json!({
        "sqlDigest": "d1",
        "review": {"risk": "MODERATE", "statements": 1, "errors": 0, "warnings": 2,
                   "reviewedAt": "2026-01-01T10:00:00Z",
                   "findings": [
                       {"rule": "w.one", "level": "warning", "statement": 1, "line": 3, "column": 1, "message": "m1"},
                       {"rule": "e.one", "level": "error", "statement": 1, "line": 9, "column": 1, "message": "m2"}]},
    });
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

fn events(notices: &[Notice]) -> Vec<NotificationEvent> {
    notices.iter().map(|n| n.event).collect()
}

#[test]
fn nothing_before_a_digest_is_known() {
    assert!(change_notices(&change(json!({"phase": "Pending"})), None).is_empty());
}

#[test]
fn awaiting_approval_carries_digest_risk_and_errors_first() {
    let c = change(reviewed(json!({
        "phase": "AwaitingApproval",
        "conditions": [cond("Approved", "False", "AwaitingApproval", "2026-01-01T10:00:01Z")]})));
    let notices = change_notices(&c, Some("prod"));
    assert_eq!(
        events(&notices),
        [
            NotificationEvent::Reviewed,
            NotificationEvent::AwaitingApproval
        ]
    );
    let waiting = &notices[1];
    assert_eq!(waiting.sql_digest.as_deref(), Some("d1"));
    assert_eq!(waiting.risk, Some(crate::api::RiskLevel::Moderate));
    assert_eq!(waiting.occurred_at, "2026-01-01T10:00:01Z");
    let findings = waiting.findings.as_ref().unwrap();
    assert_eq!(findings.top[0].rule, "e.one", "errors come first");
    assert_eq!(findings.warnings, 2);
    match &waiting.subject {
        Subject::SchemaChange {
            environment,
            author,
            ..
        } => {
            assert_eq!(environment.as_deref(), Some("prod"));
            assert_eq!(author.as_deref(), Some("alice"));
        }
        other => panic!("unexpected subject {other:?}"),
    }
    assert!(
        notices[0].title.contains("passed review: MODERATE risk"),
        "{}",
        notices[0].title
    );
}

#[test]
fn applied_change_announces_its_whole_life_except_the_wait() {
    let diff: Vec<String> = (0..30).map(|i| format!("+ column c{i}")).collect();
    let c = change(reviewed(json!({
        "phase": "Applied",
        "approval": {"auto": false, "approvedAt": "2026-01-01T10:05:00Z",
                     "approvals": [{"approval": "ok", "user": "dave"}]},
        "execution": {"finishedAt": "2026-01-01T10:06:00Z", "statementsTotal": 1, "statementsApplied": 1,
                      "rowsAffected": 0, "attempts": 1},
        "snapshots": {"diff": diff, "diffTruncated": 5}})));
    let notices = change_notices(&c, None);
    assert_eq!(
        events(&notices),
        [
            NotificationEvent::Reviewed,
            NotificationEvent::Approved,
            NotificationEvent::Applied
        ]
    );
    assert_eq!(notices[1].approval.as_ref().unwrap().approvers, ["dave"]);
    assert_eq!(notices[2].diff.len(), DIFF_LINES);
    assert_eq!(notices[2].diff_truncated, 5 + 10);
    assert_eq!(notices[2].occurred_at, "2026-01-01T10:06:00Z");
}

#[test]
fn keys_are_stable_and_distinct() {
    let a = change(reviewed(json!({"phase": "AwaitingApproval"})));
    let again = change_notices(&a, None);
    assert_eq!(change_notices(&a, None), again, "same status, same notices");
    let mut edited = a.clone();
    edited.status.as_mut().unwrap().sql_digest = Some("d2".into());
    let keys: Vec<_> = change_notices(&edited, None)
        .into_iter()
        .map(|n| n.key)
        .collect();
    assert!(
        again.iter().all(|n| !keys.contains(&n.key)),
        "new SQL, new keys"
    );
    assert_ne!(again[0].key, again[1].key);
}

#[test]
fn failures_name_their_reason() {
    let c = change(reviewed(json!({
        "phase": "Failed",
        "conditions": [cond("Approved", "True", "ApprovedByApproval", "2026-01-01T10:00:00Z"),
                       cond("Applied", "False", "ExecutionFailed", "2026-01-01T11:00:00Z")]})));
    let failed = change_notices(&c, None).pop().unwrap();
    assert_eq!(failed.event, NotificationEvent::Failed);
    assert_eq!(failed.reason.as_deref(), Some("ExecutionFailed"));
    assert_eq!(failed.detail.as_deref(), Some("ExecutionFailed happened"));
    let mut other = c.clone();
    other.status.as_mut().unwrap().conditions[1].reason = "NeedsIntervention".into();
    assert_ne!(change_notices(&other, None).pop().unwrap().key, failed.key);
}

#[test]
fn drift_only_when_drifted() {
    let instance = |status: &str| -> DatabaseInstance {
        serde_json::from_value(json!({
            "apiVersion": "schemagate.io/v1alpha1", "kind": "DatabaseInstance",
            "metadata": {"name": "orders-db", "namespace": "shop", "uid": "i-1"},
            "spec": {"engine": "postgres", "host": "h", "database": "d",
                     "credentialsSecretRef": {"name": "s"}, "environment": "prod"},
            "status": {"conditions": [cond("Drifted", status, "SchemaDrift", "2026-01-01T12:00:00Z")],
                       "lastSnapshotDigest": "snap", "drift": ["+ table extra"]}
        }))
        .unwrap()
    };
    assert!(drift_notice(&instance("False"), "orders").is_none());
    let notice = drift_notice(&instance("True"), "orders").unwrap();
    assert_eq!(notice.diff, ["+ table extra"]);
    assert_eq!(notice.reason.as_deref(), Some("SchemaDrift"));
    assert_ne!(
        notice.key,
        drift_notice(&instance("True"), "billing").unwrap().key
    );
}
