//! Table of transitions for `decide`: each named case bends the fixture and states the step, the
//! phase and the `Ready` reason a user would see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::api::conditions::{find, reasons, types};
use crate::api::project::Approvers;
use crate::api::schema_change::{Phase, RiskLevel};

use crate::workflow::decide::{Decision, decide};
use crate::workflow::fixtures::*;
use crate::workflow::observed::*;
use crate::workflow::status::next_status;

fn kind(decision: &Decision) -> &'static str {
    match decision {
        Decision::Nothing => "Nothing",
        Decision::Release => "Release",
        Decision::CancelAndRelease => "CancelAndRelease",
        Decision::Invalid { .. } => "Invalid",
        Decision::WaitForInstance { .. } => "WaitForInstance",
        Decision::Review { .. } => "Review",
        Decision::ReviewFailed { .. } => "ReviewFailed",
        Decision::Reject { .. } => "Reject",
        Decision::WaitForApproval { .. } => "WaitForApproval",
        Decision::Block { .. } => "Block",
        Decision::Execute(_) => "Execute",
        Decision::InProgress => "InProgress",
        Decision::RecordApplied => "RecordApplied",
        Decision::Fail { .. } => "Fail",
        Decision::NeedsIntervention { .. } => "NeedsIntervention",
    }
}

struct Case {
    name: &'static str,
    observed: Observed,
    step: &'static str,
    phase: Phase,
    /// `Ready` reason after the status is built; `None` when no Ready condition is expected.
    ready: Option<&'static str>,
}

fn case(
    name: &'static str,
    observed: Observed,
    step: &'static str,
    phase: Phase,
    ready: Option<&'static str>,
) -> Case {
    Case {
        name,
        observed,
        step,
        phase,
        ready,
    }
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    use Phase as P;
    vec![
        // --- references, SQL, instance ---
        case(
            "new change is reviewed",
            base(),
            "Review",
            P::Reviewing,
            Some(reasons::REVIEWING),
        ),
        case(
            "missing project",
            with(base(), |o| o.project = None),
            "Invalid",
            P::Pending,
            Some(reasons::INVALID_REFERENCE),
        ),
        case(
            "missing instance",
            with(base(), |o| {
                o.instance = None;
                o.history = None;
            }),
            "Invalid",
            P::Pending,
            Some(reasons::INVALID_REFERENCE),
        ),
        case(
            "project does not list the instance",
            with(base(), |o| {
                o.project.as_mut().unwrap().spec.instances = vec!["other".into()]
            }),
            "Invalid",
            P::Pending,
            Some(reasons::INVALID_REFERENCE),
        ),
        case(
            "project policy invalid",
            with(base(), |o| {
                o.project.as_mut().unwrap().policy_error = Some("unknown rule table.nope".into())
            }),
            "Invalid",
            P::Pending,
            Some(reasons::PROJECT_NOT_READY),
        ),
        case(
            "instance not ready",
            with(base(), |o| {
                o.instance.as_mut().unwrap().ready = false;
                o.history = None;
            }),
            "WaitForInstance",
            P::Pending,
            Some(reasons::INSTANCE_NOT_READY),
        ),
        case(
            "instance not checked yet: a normal wait",
            with(base(), |o| {
                let i = o.instance.as_mut().unwrap();
                i.ready = false;
                i.checked = false;
                o.history = None;
            }),
            "WaitForInstance",
            P::Pending,
            Some(reasons::WAITING_FOR_INSTANCE),
        ),
        case(
            "instance not ready keeps AwaitingApproval",
            with(
                with_phase(reviewed(RiskLevel::Low), P::AwaitingApproval),
                |o| {
                    o.instance.as_mut().unwrap().ready = false;
                    o.history = None;
                },
            ),
            "WaitForInstance",
            P::AwaitingApproval,
            Some(reasons::INSTANCE_NOT_READY),
        ),
        case(
            "instance down keeps a cached Applied",
            with(applied_status(), |o| {
                o.instance.as_mut().unwrap().ready = false;
                o.history = None;
            }),
            "Nothing",
            P::Applied,
            Some(reasons::APPLIED),
        ),
        case(
            "instance deleted keeps a cached Applied",
            with(applied_status(), |o| {
                o.instance = None;
                o.history = None;
            }),
            "Nothing",
            P::Applied,
            Some(reasons::APPLIED),
        ),
        case(
            "ConfigMap missing",
            with(base(), |o| {
                o.sql = SqlText::Unavailable("ConfigMap sql not found".into())
            }),
            "Invalid",
            P::Pending,
            Some(reasons::SQL_UNAVAILABLE),
        ),
        case(
            "ConfigMap edited after review",
            with(reviewed(RiskLevel::Low), |o| {
                o.review.as_mut().unwrap().digest = sql_digest("SELECT 1;");
            }),
            "Fail",
            P::Failed,
            Some(reasons::SQL_CHANGED),
        ),
        case(
            "ConfigMap edited after review, seen after a restart",
            with(base(), |o| {
                o.change.status.sql_digest = Some(sql_digest("SELECT 1;"));
                o.change.status.review = Some(stamp(o, clean_review(RiskLevel::Low)).to_record());
            }),
            "Fail",
            P::Failed,
            Some(reasons::SQL_CHANGED),
        ),
        case(
            "transactionMode none on SQLite is refused before review",
            with(base(), |o| {
                o.instance.as_mut().unwrap().engine = crate::api::database_instance::Engine::Sqlite;
                o.change.spec.transaction_mode = crate::api::schema_change::TransactionMode::None;
            }),
            "Fail",
            P::Failed,
            Some(reasons::UNSUPPORTED_TRANSACTION_MODE),
        ),
        case(
            "version not a version",
            with(base(), |o| o.change.spec.version = "v5".into()),
            "Fail",
            P::Failed,
            Some(reasons::INVALID_VERSION),
        ),
        // --- version order against the history ---
        case(
            "version below latest applied",
            with(reviewed(RiskLevel::Low), |o| {
                applied_versions(o, &["1", "6"])
            }),
            "Fail",
            P::Failed,
            Some(reasons::VERSION_OUT_OF_ORDER),
        ),
        case(
            "version applied by another change",
            with(reviewed(RiskLevel::Low), |o| {
                applied_versions(o, &["4", "5"])
            }),
            "Fail",
            P::Failed,
            Some(reasons::VERSION_OUT_OF_ORDER),
        ),
        case(
            "version 5.0 equals applied 0005",
            with(reviewed(RiskLevel::Low), |o| {
                applied_versions(o, &["0005"]);
                o.change.spec.version = "5.0".into();
            }),
            "Fail",
            P::Failed,
            Some(reasons::VERSION_OUT_OF_ORDER),
        ),
        case(
            "version above latest applied (1.10 > 1.9)",
            with(approved_once(), |o| {
                applied_versions(o, &["1.9"]);
                o.change.spec.version = "1.10".into();
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        // --- review ---
        case(
            "review errors",
            with(base(), |o| o.review = Some(stamp(o, failed_review()))),
            "ReviewFailed",
            P::ReviewFailed,
            Some(reasons::REVIEW_FAILED),
        ),
        case(
            "clean review waits for approval",
            reviewed(RiskLevel::Moderate),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        // --- approvals ---
        case(
            "one valid approval",
            approved_once(),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "approval for another digest",
            with(reviewed(RiskLevel::Low), |o| {
                let mut a = approve("a1", "dba");
                a.sql_digest = sql_digest("DROP TABLE t;");
                o.approvals.push(a);
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "approval naming another change",
            with(reviewed(RiskLevel::Low), |o| {
                let mut a = approve("a1", "dba");
                a.change = "other".into();
                o.approvals.push(a);
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "approver not in policy",
            with(approved_once(), |o| {
                policy(o).approvers = Approvers {
                    users: vec!["boss".into()],
                    groups: vec![],
                }
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "approver allowed by group",
            with(approved_once(), |o| {
                policy(o).approvers = Approvers {
                    users: vec!["boss".into()],
                    groups: vec!["devs".into()],
                }
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "self-approval refused",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals.push(approve("a1", "dev"))
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "self-approval allowed by policy",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals.push(approve("a1", "dev"));
                policy(o).allow_self_approval = true;
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "author unknown: self-approval cannot be checked",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals.push(approve("a1", "dev"));
                o.change.author = None;
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "two approvals by one user count once",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).required_approvals = 2;
                o.approvals.push(approve("a1", "dba"));
                o.approvals.push(approve("a2", "dba"));
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "two distinct approvers",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).required_approvals = 2;
                o.approvals.push(approve("a1", "dba"));
                o.approvals.push(approve("a2", "lead"));
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "unrecorded approvers count as one",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).required_approvals = 2;
                o.approvals
                    .push(approval("a1", None, crate::api::Decision::Approve));
                o.approvals
                    .push(approval("a2", None, crate::api::Decision::Approve));
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "unrecorded approver, open policy",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals
                    .push(approval("a1", None, crate::api::Decision::Approve))
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "unrecorded approver, listed policy",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals
                    .push(approval("a1", None, crate::api::Decision::Approve));
                policy(o).approvers.users = vec!["dba".into()];
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "valid rejection",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals.push(reject("r1", "dba"))
            }),
            "Reject",
            P::Rejected,
            Some(reasons::REJECTED),
        ),
        case(
            "rejection beats approval",
            with(approved_once(), |o| o.approvals.push(reject("r1", "lead"))),
            "Reject",
            P::Rejected,
            Some(reasons::REJECTED),
        ),
        case(
            "author may withdraw by rejecting",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals.push(reject("r1", "dev"))
            }),
            "Reject",
            P::Rejected,
            Some(reasons::REJECTED),
        ),
        case(
            "rejection by a non-approver is ignored",
            with(approved_once(), |o| {
                o.approvals.push(reject("r1", "intern"));
                policy(o).approvers.users = vec!["dba".into()];
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "rejection for another digest is ignored",
            with(approved_once(), |o| {
                let mut r = reject("r1", "lead");
                r.sql_digest = sql_digest("x");
                o.approvals.push(r);
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "rejection is final",
            with(with_phase(reviewed(RiskLevel::Low), P::Rejected), |o| {
                o.approvals.push(approve("a1", "dba"))
            }),
            "Nothing",
            P::Rejected,
            None,
        ),
        // --- auto-approval ---
        case(
            "auto-approved: env listed, risk within",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::Low)]
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "auto-approval: risk above max",
            with(reviewed(RiskLevel::High), |o| {
                policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::Moderate)]
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "auto-approval: env not listed",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).auto_approve = vec![auto_rule(&["dev"], RiskLevel::High)]
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "auto-approval: instance without env",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::High)];
                o.instance.as_mut().unwrap().environment = None;
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "auto-approval added while the change waited: it still waits for an Approval",
            with(
                with_phase(reviewed(RiskLevel::Low), P::AwaitingApproval),
                |o| {
                    policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::High)];
                    let key = o.review.as_ref().unwrap().key.clone();
                    o.change.status.review = Some(crate::api::schema_change::ReviewRecord {
                        key: Some(key),
                        ..Default::default()
                    });
                },
            ),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "auto-approval for a change that waited under another review: it applies",
            with(
                with_phase(reviewed(RiskLevel::Low), P::AwaitingApproval),
                |o| {
                    policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::High)];
                    o.change.status.review = Some(crate::api::schema_change::ReviewRecord {
                        key: Some("an earlier review".into()),
                        ..Default::default()
                    });
                },
            ),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "auto-approval does not override a rejection",
            with(reviewed(RiskLevel::Low), |o| {
                policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::High)];
                o.approvals.push(reject("r1", "dba"));
            }),
            "Reject",
            P::Rejected,
            Some(reasons::REJECTED),
        ),
        // --- ordering per database ---
        case(
            "earlier version pending blocks",
            with(approved_once(), |o| {
                o.siblings
                    .push(sibling("add-s", "4", Some(P::AwaitingApproval)))
            }),
            "Block",
            P::Blocked,
            Some(reasons::BLOCKED_BY_EARLIER_VERSION),
        ),
        case(
            "earlier version (1.9 < 1.10) blocks",
            with(approved_once(), |o| {
                o.change.spec.version = "1.10".into();
                o.siblings.push(sibling("s", "1.9", None));
            }),
            "Block",
            P::Blocked,
            Some(reasons::BLOCKED_BY_EARLIER_VERSION),
        ),
        case(
            "rejected earlier version still blocks",
            with(approved_once(), |o| {
                o.siblings.push(sibling("add-s", "4", Some(P::Rejected)))
            }),
            "Block",
            P::Blocked,
            Some(reasons::BLOCKED_BY_EARLIER_VERSION),
        ),
        case(
            "earlier version applied per history",
            with(approved_once(), |o| {
                o.siblings.push(sibling("add-s", "4", Some(P::Applying)));
                applied_versions(o, &["4"]);
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "later version does not block",
            with(approved_once(), |o| {
                o.siblings
                    .push(sibling("add-u", "6", Some(P::AwaitingApproval)))
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "same version, smaller name goes first",
            with(approved_once(), |o| {
                o.siblings
                    .push(sibling("add-a", "05", Some(P::AwaitingApproval)))
            }),
            "Block",
            P::Blocked,
            Some(reasons::BLOCKED_BY_EARLIER_VERSION),
        ),
        case(
            "same version, larger name waits for us",
            with(approved_once(), |o| {
                o.siblings
                    .push(sibling("add-z", "5", Some(P::AwaitingApproval)))
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "same version, smaller name rejected",
            with(approved_once(), |o| {
                o.siblings.push(sibling("add-a", "5", Some(P::Rejected)))
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "blocked but unapproved waits for approval first",
            with(reviewed(RiskLevel::Low), |o| {
                o.siblings.push(sibling("add-s", "4", None))
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        // --- history wins ---
        case(
            "history applied, status not",
            with(with_phase(approved_once(), P::Applying), |o| {
                o.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Applied, "")
            }),
            "RecordApplied",
            P::Applied,
            Some(reasons::APPLIED),
        ),
        case(
            "history applied, status awaiting: never run twice",
            with(with_phase(approved_once(), P::AwaitingApproval), |o| {
                o.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Applied, "")
            }),
            "RecordApplied",
            P::Applied,
            Some(reasons::APPLIED),
        ),
        case(
            "history applied even if SQL source vanished",
            with(base(), |o| {
                o.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Applied, "");
                o.sql = SqlText::Unavailable("gone".into());
                o.project = None;
            }),
            "RecordApplied",
            P::Applied,
            Some(reasons::APPLIED),
        ),
        case(
            "history applied, status applied",
            with(applied_status(), |o| {
                o.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Applied, "")
            }),
            "Nothing",
            P::Applied,
            Some(reasons::APPLIED),
        ),
        case(
            "history running",
            with(approved_once(), |o| {
                o.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Running, "")
            }),
            "InProgress",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "history failed",
            with(with_phase(approved_once(), P::Applying), |o| {
                o.history.as_mut().unwrap().this_change =
                    history_entry(HistoryStatus::Failed, "line 1: relation t exists")
            }),
            "Fail",
            P::Failed,
            Some(reasons::EXECUTION_FAILED),
        ),
        case(
            "history needs intervention",
            with(with_phase(approved_once(), P::Applying), |o| {
                o.history.as_mut().unwrap().this_change =
                    history_entry(HistoryStatus::NeedsIntervention, "statements 1-2 of 3 ran")
            }),
            "NeedsIntervention",
            P::Failed,
            Some(reasons::NEEDS_INTERVENTION),
        ),
        case(
            "status applied but history has no record",
            applied_status(),
            "NeedsIntervention",
            P::Failed,
            Some(reasons::HISTORY_MISSING),
        ),
        case(
            "failed in the database, history row gone: never run again",
            {
                let mut failed = approved_once();
                failed.history.as_mut().unwrap().this_change =
                    history_entry(HistoryStatus::Failed, "line 1: relation t exists");
                let status = next_status(&failed, &decide(&failed)).status;
                with(approved_once(), |o| o.change.status = status)
            },
            "NeedsIntervention",
            P::Failed,
            Some(reasons::HISTORY_MISSING),
        ),
        case(
            "history missing stays a stop (touched again, approvals still there)",
            {
                let o = applied_status();
                let status = next_status(&o, &decide(&o)).status;
                with(approved_once(), |o| o.change.status = status)
            },
            "NeedsIntervention",
            P::Failed,
            Some(reasons::HISTORY_MISSING),
        ),
        case(
            "applying, no row: the transaction rolled back, run again",
            with_phase(approved_once(), P::Applying),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "failed before running (version out of order): final without a row",
            {
                let mut out = reviewed(RiskLevel::Low);
                applied_versions(&mut out, &["6"]);
                let status = next_status(&out, &decide(&out)).status;
                with(approved_once(), |o| o.change.status = status)
            },
            "Nothing",
            P::Failed,
            Some(reasons::VERSION_OUT_OF_ORDER),
        ),
        case(
            "refused by the executor before anything ran",
            with(with_phase(approved_once(), P::Applying), |o| {
                o.refused = Some("transaction control is managed by schemagate".into())
            }),
            "Fail",
            P::Failed,
            Some(reasons::EXECUTION_REFUSED),
        ),
        // --- the review the operator computed, for this SQL, target and policy ---
        case(
            "a review read back from status is not trusted (restart, forged status)",
            with(base(), |o| {
                policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::Low)];
                o.change.status.sql_digest = Some(digest());
                o.change.status.review = Some(stamp(o, clean_review(RiskLevel::Low)).to_record());
            }),
            "Review",
            P::Reviewing,
            Some(reasons::REVIEWING),
        ),
        case(
            "instance retargeted after approval: reviewed again",
            with(approved_once(), |o| {
                o.instance.as_mut().unwrap().target = Target {
                    key: "target-key-2".into(),
                    display: "postgres://other:5432/shop (DatabaseInstance uid i-1)".into(),
                };
            }),
            "Review",
            P::Reviewing,
            Some(reasons::REVIEWING),
        ),
        case(
            "re-reviewed after a retarget: a uid-bound approval from that second does not count",
            with(approved_once(), |o| {
                o.approvals[0].change_uid = Some("uid-1".into());
                let review = o.review.as_mut().unwrap();
                review.supersedes = true;
                review.reviewed_at = o.approvals[0].created.clone();
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "first review: a uid-bound approval from the same second counts",
            with(approved_once(), |o| {
                o.approvals[0].change_uid = Some("uid-1".into());
                o.review.as_mut().unwrap().reviewed_at = o.approvals[0].created.clone();
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        case(
            "review policy edited: reviewed again",
            with(approved_once(), |o| {
                o.project.as_mut().unwrap().spec.review.preset =
                    crate::api::project::ReviewPreset::Strict;
            }),
            "Review",
            P::Reviewing,
            Some(reasons::REVIEWING),
        ),
        case(
            "approval older than the review does not count",
            with(approved_once(), |o| {
                o.approvals[0].created = Some(at(REVIEWED_AT - 10));
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "approval older than the change (a recreated change) does not count",
            with(approved_once(), |o| {
                o.change.created = Some(at(600));
                o.review.as_mut().unwrap().reviewed_at = Some(at(600));
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "a rejection older than a recreated change does not stop it",
            with(reviewed(RiskLevel::Low), |o| {
                o.approvals.push(reject("r1", "dba"));
                o.change.created = Some(at(600));
                o.review.as_mut().unwrap().reviewed_at = Some(at(600));
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "approval bound to another uid does not count",
            with(approved_once(), |o| {
                o.approvals[0].change_uid = Some("uid-0".into());
            }),
            "WaitForApproval",
            P::AwaitingApproval,
            Some(reasons::AWAITING_APPROVAL),
        ),
        case(
            "approval bound to this uid counts",
            with(approved_once(), |o| {
                o.approvals[0].change_uid = Some("uid-1".into());
            }),
            "Execute",
            P::Applying,
            Some(reasons::APPLYING),
        ),
        // --- deletion ---
        case(
            "deleted while applying (status)",
            with(with_phase(approved_once(), P::Applying), |o| {
                o.change.deleting = true
            }),
            "CancelAndRelease",
            P::Failed,
            Some(reasons::CANCELLED),
        ),
        case(
            "deleted while applying (history)",
            with(approved_once(), |o| {
                o.change.deleting = true;
                o.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Running, "");
            }),
            "CancelAndRelease",
            P::Failed,
            Some(reasons::CANCELLED),
        ),
        case(
            "deleted while waiting",
            with(with_phase(approved_once(), P::AwaitingApproval), |o| {
                o.change.deleting = true
            }),
            "Release",
            P::AwaitingApproval,
            None,
        ),
    ]
}

#[test]
fn every_transition() {
    let mut failures = Vec::new();
    for c in cases() {
        let decision = decide(&c.observed);
        let update = next_status(&c.observed, &decision);
        let ready = find(&update.status.conditions, types::READY).map(|r| r.reason.as_str());
        let got = (kind(&decision), update.status.phase, ready);
        let want = (c.step, Some(c.phase), c.ready);
        if got != want {
            failures.push(format!(
                "{}: got {got:?}, want {want:?} ({decision:?})",
                c.name
            ));
        }
        if let Some(r) = find(&update.status.conditions, types::READY) {
            assert!(!r.message.is_empty(), "{}: Ready has a message", c.name);
            assert_eq!(r.observed_generation, Some(1), "{}", c.name);
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn awaiting_approval_says_what_to_quote_and_why_an_approval_did_not_count() {
    let o = with(approved_once(), |o| {
        o.approvals[0].created = Some(at(REVIEWED_AT - 10));
    });
    let update = next_status(&o, &decide(&o));
    let ready = find(&update.status.conditions, types::READY).unwrap();
    for needle in [
        "schemaChangeUid is uid-1",
        digest().as_str(),
        "Approval a1: created before the review",
    ] {
        assert!(
            ready.message.contains(needle),
            "{needle}: {}",
            ready.message
        );
    }
}

#[test]
fn an_applied_change_is_never_executed_again_whatever_else_is_observed() {
    // Every combination of history row (none, or each status) and approvals for a change whose
    // status says it was applied: no decision may be Execute.
    let statuses = [
        None,
        Some(HistoryStatus::Applied),
        Some(HistoryStatus::Failed),
        Some(HistoryStatus::Running),
        Some(HistoryStatus::NeedsIntervention),
    ];
    for row in statuses {
        for refused in [None, Some("x".to_owned())] {
            let o = with(applied_status(), |o| {
                o.history.as_mut().unwrap().this_change = row.and_then(|s| history_entry(s, ""));
                o.refused.clone_from(&refused);
                o.approvals.push(approve("a9", "other"));
            });
            let d = decide(&o);
            assert!(
                !matches!(d, Decision::Execute(_)),
                "{row:?} {refused:?}: {d:?}"
            );
        }
    }
}
