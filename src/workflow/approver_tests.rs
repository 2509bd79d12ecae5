//! Table tests of who may decide (`may_decide`) and of distinct approvers in the tally.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

use crate::api::Decision;
use crate::api::conditions::reasons;
use crate::api::project::{ApprovalPolicy, Approvers};
use crate::workflow::approval::{may_decide, tally};
use crate::workflow::fixtures::*;
use crate::workflow::observed::{Approver, ObservedApproval};

fn who(user: &str, groups: &[&str]) -> Approver {
    Approver {
        user: user.into(),
        uid: None,
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn policy(users: &[&str], groups: &[&str], allow_self: bool) -> ApprovalPolicy {
    ApprovalPolicy {
        approvers: Approvers {
            users: users.iter().map(|u| (*u).to_owned()).collect(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        },
        allow_self_approval: allow_self,
        ..ApprovalPolicy::default()
    }
}

#[test]
fn who_may_decide() {
    let sa = "system:serviceaccount:ci:bot";
    // (case, policy, approver, identity required, author, decision, Ok or refusal reason)
    let cases: Vec<(
        &str,
        ApprovalPolicy,
        Option<Approver>,
        bool,
        Option<&str>,
        Decision,
        Result<(), &str>,
    )> = vec![
        (
            "dba by group",
            policy(&[], &["dba"], false),
            Some(who("alice", &["dba"])),
            true,
            Some("bob"),
            Decision::Approve,
            Ok(()),
        ),
        (
            "named user",
            policy(&["alice"], &[], false),
            Some(who("alice", &[])),
            true,
            Some("bob"),
            Decision::Approve,
            Ok(()),
        ),
        (
            "open policy: anyone RBAC lets through",
            policy(&[], &[], false),
            Some(who("carol", &[])),
            true,
            Some("bob"),
            Decision::Approve,
            Ok(()),
        ),
        (
            "not in the lists",
            policy(&["alice"], &["dba"], false),
            Some(who("carol", &["developers"])),
            true,
            Some("bob"),
            Decision::Approve,
            Err(reasons::NOT_AN_APPROVER),
        ),
        (
            "self-approval",
            policy(&[], &["dba"], false),
            Some(who("bob", &["dba"])),
            true,
            Some("bob"),
            Decision::Approve,
            Err(reasons::SELF_APPROVAL),
        ),
        (
            "self-approval allowed",
            policy(&[], &["dba"], true),
            Some(who("bob", &["dba"])),
            true,
            Some("bob"),
            Decision::Approve,
            Ok(()),
        ),
        (
            "the author may withdraw",
            policy(&[], &["dba"], false),
            Some(who("bob", &["dba"])),
            true,
            Some("bob"),
            Decision::Reject,
            Ok(()),
        ),
        (
            "self-approval reported before the list",
            policy(&["alice"], &[], false),
            Some(who("bob", &[])),
            true,
            Some("bob"),
            Decision::Approve,
            Err(reasons::SELF_APPROVAL),
        ),
        (
            "ServiceAccount in an approver group",
            policy(&[], &["dba", "system:serviceaccounts"], false),
            Some(who(sa, &["system:serviceaccounts"])),
            true,
            Some("bob"),
            Decision::Approve,
            Err(reasons::SERVICE_ACCOUNT_APPROVER),
        ),
        (
            "ServiceAccount under an open policy",
            policy(&[], &[], false),
            Some(who(sa, &[])),
            true,
            Some("bob"),
            Decision::Approve,
            Err(reasons::SERVICE_ACCOUNT_APPROVER),
        ),
        (
            "ServiceAccount named by the project",
            policy(&[sa], &[], false),
            Some(who(sa, &[])),
            true,
            Some("bob"),
            Decision::Approve,
            Ok(()),
        ),
        (
            "no approver recorded, required",
            policy(&[], &[], false),
            None,
            true,
            Some("bob"),
            Decision::Approve,
            Err(reasons::APPROVER_NOT_RECORDED),
        ),
        (
            "no approver recorded, optional, open policy",
            policy(&[], &[], false),
            None,
            false,
            Some("bob"),
            Decision::Approve,
            Ok(()),
        ),
        (
            "no approver recorded, optional, listed approvers",
            policy(&[], &["dba"], false),
            None,
            false,
            Some("bob"),
            Decision::Approve,
            Err(reasons::NOT_AN_APPROVER),
        ),
        (
            "no author recorded",
            policy(&[], &["dba"], false),
            Some(who("bob", &["dba"])),
            true,
            None,
            Decision::Approve,
            Ok(()),
        ),
    ];
    for (case, policy, approver, required, author, decision, want) in cases {
        let got = may_decide(&policy, approver.as_ref(), required, author, decision, "c")
            .map_err(|v| v.reason);
        assert_eq!(got, want, "{case}");
        if let (Err(_), Err(verdict)) = (
            want,
            may_decide(&policy, approver.as_ref(), required, author, decision, "c"),
        ) {
            assert!(!verdict.accepted, "{case}");
            if let Some(a) = &approver {
                assert!(
                    verdict.message.contains(&a.user),
                    "{case}: {}",
                    verdict.message
                );
            }
        }
    }
}

fn by(name: &str, user: &str, uid: Option<&str>) -> ObservedApproval {
    ObservedApproval {
        approver: Some(Approver {
            user: user.into(),
            uid: uid.map(str::to_owned),
            groups: vec!["dba".into()],
        }),
        ..approve(name, user)
    }
}

#[test]
fn distinct_approvers_are_people_by_uid() {
    let o = reviewed(crate::api::schema_change::RiskLevel::Low);
    let review = o.review.clone().unwrap();
    let mut policy = ApprovalPolicy {
        required_approvals: 2,
        ..ApprovalPolicy::default()
    };
    policy.approvers.groups = vec!["dba".into()];
    let cases: Vec<(&str, Vec<ObservedApproval>, usize)> = vec![
        (
            "one person twice",
            vec![
                by("a1", "alice", Some("u-1")),
                by("a22", "alice", Some("u-1")),
            ],
            1,
        ),
        (
            "two people",
            vec![
                by("a1", "alice", Some("u-1")),
                by("a22", "dave", Some("u-2")),
            ],
            2,
        ),
        // An account deleted and created again under the same name is another person.
        (
            "same name, another uid",
            vec![
                by("a1", "alice", Some("u-1")),
                by("a22", "alice", Some("u-9")),
            ],
            2,
        ),
        // One person known under two names (the authenticator gives the same uid).
        (
            "same uid, two names",
            vec![
                by("a1", "alice", Some("u-1")),
                by("a22", "alice@corp", Some("u-1")),
            ],
            1,
        ),
        (
            "no uid: by name",
            vec![by("a1", "alice", None), by("a22", "alice", None)],
            1,
        ),
    ];
    for (case, approvals, counted) in cases {
        let t = tally(&o.change, &review, &policy, &approvals);
        assert!(t.ignored.is_empty(), "{case}: {:?}", t.ignored);
        assert_eq!(t.approvals.len(), counted, "{case}");
        assert_eq!(t.satisfied(), counted >= 2, "{case}");
    }
}
