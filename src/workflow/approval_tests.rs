//! Tests of the Approval verdict (the Approval's `Accepted` condition) and its status builder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::api::approval::ApprovalStatus;
use crate::api::conditions::{find, reasons, types};
use crate::api::project::Approvers;
use crate::api::schema_change::{ApprovalRecord, ApproverRecord, Phase};

use crate::workflow::approval::{approval_verdict, next_approval_status};
use crate::workflow::fixtures::*;
use crate::workflow::observed::{ObservedApproval, ObservedChange, sql_digest};

/// The fixture change after review: its status carries the digest and the review.
fn reviewed_change() -> ObservedChange {
    let o = reviewed(crate::api::schema_change::RiskLevel::Low);
    let mut change = o.change.clone();
    change.status.sql_digest = Some(digest());
    change.status.review = o
        .review
        .as_ref()
        .map(crate::workflow::observed::ReviewOutcome::to_record);
    change
}

/// (name, approval, change, policy, accepted, reason)
type VerdictCase<'a> = (
    &'static str,
    ObservedApproval,
    Option<&'a ObservedChange>,
    Option<&'a crate::api::project::ApprovalPolicy>,
    bool,
    &'static str,
);

#[test]
fn verdict_table() {
    use crate::api::project::ApprovalPolicy as Policy;
    let open = Policy::default();
    let listed = Policy {
        approvers: Approvers {
            users: vec!["dba".into()],
            groups: vec!["dbas".into()],
        },
        ..Policy::default()
    };
    let self_ok = Policy {
        allow_self_approval: true,
        ..Policy::default()
    };
    let applied = {
        let mut c = reviewed_change();
        c.status.phase = Some(Phase::Applied);
        c.status.approval = Some(ApprovalRecord {
            auto: false,
            approvals: vec![ApproverRecord {
                approval: "a-counted".into(),
                user: Some("dba".into()),
                at: None,
            }],
            approved_at: None,
            target: None,
        });
        c
    };
    let unreviewed = base().change;
    let wrong_digest = ObservedApproval {
        sql_digest: sql_digest("DROP TABLE t;"),
        ..approve("a1", "dba")
    };
    let unknown = approval("a1", None, crate::api::Decision::Approve);
    let grouped = ObservedApproval {
        approver: Some(crate::workflow::observed::Approver {
            user: "carol".into(),
            uid: None,
            groups: vec!["dbas".into()],
        }),
        ..approve("a1", "carol")
    };
    let reviewed = reviewed_change();
    let other_uid = ObservedApproval {
        change_uid: Some("uid-of-an-earlier-object".into()),
        ..approve("a1", "dba")
    };
    let same_uid = ObservedApproval {
        change_uid: Some(reviewed.uid.clone()),
        ..approve("a1", "dba")
    };
    let before_change = ObservedApproval {
        created: Some(at(99)),
        ..approve("a1", "dba")
    };
    let before_review = ObservedApproval {
        created: Some(at(REVIEWED_AT - 1)),
        ..approve("a1", "dba")
    };
    let same_second_as_review = ObservedApproval {
        created: Some(at(REVIEWED_AT)),
        ..approve("a1", "dba")
    };
    let same_second_bound = ObservedApproval {
        created: Some(at(REVIEWED_AT)),
        change_uid: Some(reviewed.uid.clone()),
        ..approve("a1", "dba")
    };
    let same_second_as_change = ObservedApproval {
        created: reviewed.created.clone(),
        ..approve("a1", "dba")
    };
    // (name, approval, change, policy, accepted, reason)
    let cases: Vec<VerdictCase<'_>> = vec![
        (
            "names another object of the same name",
            other_uid,
            Some(&reviewed),
            Some(&open),
            false,
            reasons::UID_MISMATCH,
        ),
        (
            "names this object",
            same_uid,
            Some(&reviewed),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
        (
            "older than the change",
            before_change,
            Some(&reviewed),
            Some(&open),
            false,
            reasons::PREDATES_CHANGE,
        ),
        (
            "older than the review",
            before_review,
            Some(&reviewed),
            Some(&open),
            false,
            reasons::PREDATES_REVIEW,
        ),
        (
            "same second as the review, not bound by uid",
            same_second_as_review,
            Some(&reviewed),
            Some(&open),
            false,
            reasons::PREDATES_REVIEW,
        ),
        (
            "same second as the review, bound by uid",
            same_second_bound,
            Some(&reviewed),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
        (
            "same second as the change, not bound by uid",
            same_second_as_change,
            Some(&reviewed),
            Some(&open),
            false,
            reasons::PREDATES_CHANGE,
        ),
        (
            "approve matches",
            approve("a1", "dba"),
            Some(&reviewed),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
        (
            "reject matches",
            reject("r1", "dba"),
            Some(&reviewed),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
        (
            "no such change",
            approve("a1", "dba"),
            None,
            Some(&open),
            false,
            reasons::CHANGE_NOT_FOUND,
        ),
        (
            "wrong digest",
            wrong_digest,
            Some(&reviewed),
            Some(&open),
            false,
            reasons::DIGEST_MISMATCH,
        ),
        (
            "change not reviewed yet",
            approve("a1", "dba"),
            Some(&unreviewed),
            Some(&open),
            false,
            reasons::CHANGE_NOT_REVIEWED,
        ),
        (
            "late for an applied change",
            approve("a-late", "lead"),
            Some(&applied),
            Some(&open),
            false,
            reasons::ALREADY_APPLIED,
        ),
        (
            "counted for the applied change",
            approve("a-counted", "dba"),
            Some(&applied),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
        (
            "user not listed",
            approve("a1", "intern"),
            Some(&reviewed),
            Some(&listed),
            false,
            reasons::NOT_AN_APPROVER,
        ),
        (
            "user listed",
            approve("a1", "dba"),
            Some(&reviewed),
            Some(&listed),
            true,
            reasons::MATCHED,
        ),
        (
            "group listed",
            grouped,
            Some(&reviewed),
            Some(&listed),
            true,
            reasons::MATCHED,
        ),
        (
            "identity unknown, list set",
            unknown.clone(),
            Some(&reviewed),
            Some(&listed),
            false,
            reasons::NOT_AN_APPROVER,
        ),
        (
            "identity unknown, open policy",
            unknown,
            Some(&reviewed),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
        (
            "project missing",
            approve("a1", "dba"),
            Some(&reviewed),
            None,
            false,
            reasons::NOT_AN_APPROVER,
        ),
        (
            "author approves own change",
            approve("a1", "dev"),
            Some(&reviewed),
            Some(&open),
            false,
            reasons::SELF_APPROVAL,
        ),
        (
            "author approves, allowed",
            approve("a1", "dev"),
            Some(&reviewed),
            Some(&self_ok),
            true,
            reasons::MATCHED,
        ),
        (
            "author withdraws by rejecting",
            reject("r1", "dev"),
            Some(&reviewed),
            Some(&open),
            true,
            reasons::MATCHED,
        ),
    ];
    let mut failures = Vec::new();
    for (name, approval, change, policy, accepted, reason) in cases {
        let verdict = approval_verdict(&approval, change, policy);
        if (verdict.accepted, verdict.reason) != (accepted, reason) {
            failures.push(format!(
                "{name}: got {verdict:?}, want ({accepted}, {reason})"
            ));
        }
        assert!(!verdict.message.is_empty(), "{name}");
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn approval_status_records_verdict_and_approver_once() {
    let approval = approve("a1", "dba");
    let verdict = approval_verdict(
        &approval,
        Some(&reviewed_change()),
        Some(&Default::default()),
    );
    let (status, changed) = next_approval_status(
        &ApprovalStatus::default(),
        &approval,
        Some(1),
        &verdict,
        at(10),
    );
    assert!(changed);
    assert_eq!(status.approver.as_deref(), Some("dba"));
    let accepted = find(&status.conditions, types::ACCEPTED).unwrap();
    assert_eq!(
        (accepted.status.as_str(), accepted.reason.as_str()),
        ("True", reasons::MATCHED)
    );
    let (again, changed) = next_approval_status(&status, &approval, Some(1), &verdict, at(20));
    assert!(!changed);
    assert_eq!(again, status);
}

#[test]
fn digest_mismatch_message_quotes_both_digests() {
    let approval = ObservedApproval {
        sql_digest: "f".repeat(64),
        ..approve("a1", "dba")
    };
    let verdict = approval_verdict(
        &approval,
        Some(&reviewed_change()),
        Some(&Default::default()),
    );
    assert!(verdict.message.contains(&"f".repeat(64)));
    assert!(verdict.message.contains(&digest()));
}
