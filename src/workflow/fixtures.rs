//! Test fixtures: a valid observed change and small builders to bend it case by case.
//!
//! Tests only (unit tests, and integration tests through `schemagate_testkit::fixtures` with the
//! `fixtures` feature); no I/O.
#![allow(clippy::unwrap_used)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::approval::Decision as ApprovalDecision;
use crate::api::project::{ApprovalPolicy, AutoApproveRule, ProjectSpec};
use crate::api::schema_change::{
    Finding, FindingLevel, Phase, RiskLevel, SchemaChangeSpec, SchemaChangeStatus, TransactionMode,
};

use super::decide::decide;
use super::observed::*;
use super::status::next_status;
use super::version::Version;

pub const SQL: &str = "CREATE TABLE t (id int PRIMARY KEY);";
pub const NAME: &str = "add-t";

pub fn at(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

pub fn digest() -> String {
    sql_digest(SQL)
}

/// A change in namespace-valid shape: project lists the instance, the instance is Ready in
/// `prod`, the history is empty, nothing reviewed yet.
pub fn base() -> Observed {
    Observed {
        change: ObservedChange {
            name: NAME.into(),
            uid: "uid-1".into(),
            generation: Some(1),
            created: Some(at(100)),
            deleting: false,
            author: Some("dev".into()),
            spec: SchemaChangeSpec {
                project_ref: "shop".into(),
                instance_ref: "shop-db".into(),
                version: "5".into(),
                sql: Some(SQL.into()),
                sql_from: None,
                description: None,
                transaction_mode: TransactionMode::Auto,
                author: None,
                synced_by: None,
            },
            status: SchemaChangeStatus::default(),
        },
        project: Some(ObservedProject {
            spec: ProjectSpec {
                instances: vec!["shop-db".into()],
                review: Default::default(),
                approval: ApprovalPolicy::default(),
                notifications: Vec::new(),
            },
            policy_error: None,
        }),
        instance: Some(ObservedInstance {
            environment: Some("prod".into()),
            ready: true,
            message: "connected".into(),
            checked: true,
            target: target(),
            engine: crate::api::database_instance::Engine::Postgres,
        }),
        sql: SqlText::Resolved(SQL.into()),
        review: None,
        refused: None,
        approvals: Vec::new(),
        history: Some(HistoryFacts::default()),
        siblings: Vec::new(),
        now: at(1_000),
    }
}

/// The fixture instance's target database.
pub fn target() -> Target {
    Target {
        key: "target-key-1".into(),
        display: "postgres://db:5432/shop (DatabaseInstance uid i-1)".into(),
    }
}

/// When the fixture reviews ran.
pub const REVIEWED_AT: i64 = 400;

/// `review` as the operator stamps it for the fixture `o` (its current key), at [`REVIEWED_AT`].
pub fn stamp(o: &Observed, review: ReviewOutcome) -> ReviewOutcome {
    let key = review_key(
        &digest(),
        &o.instance.as_ref().unwrap().target,
        &o.project.as_ref().unwrap().spec.review,
    );
    let mut review = review;
    review.key = key;
    review.digest = digest();
    review.target = o.instance.as_ref().unwrap().target.display.clone();
    review.reviewed_at = Some(at(REVIEWED_AT));
    review
}

/// `base()` with a clean review of `risk`.
pub fn reviewed(risk: RiskLevel) -> Observed {
    let mut o = base();
    o.review = Some(stamp(&o, clean_review(risk)));
    o
}

pub fn clean_review(risk: RiskLevel) -> ReviewOutcome {
    ReviewOutcome::from_findings(
        risk,
        1,
        vec![finding(FindingLevel::Warning, "column.comment")],
    )
}

pub fn failed_review() -> ReviewOutcome {
    ReviewOutcome::from_findings(
        RiskLevel::Low,
        1,
        vec![
            finding(FindingLevel::Error, "table.require-pk"),
            finding(FindingLevel::Warning, "column.comment"),
        ],
    )
}

pub fn finding(level: FindingLevel, rule: &str) -> Finding {
    Finding {
        rule: rule.into(),
        level,
        statement: 0,
        line: 1,
        column: 0,
        message: format!("{rule} says no"),
    }
}

/// An Approval by `user` (None: identity unrecorded) for the fixture change.
pub fn approval(name: &str, user: Option<&str>, decision: ApprovalDecision) -> ObservedApproval {
    ObservedApproval {
        name: name.into(),
        change: NAME.into(),
        decision,
        sql_digest: digest(),
        change_uid: None,
        approver: user.map(|u| Approver {
            user: u.into(),
            uid: None,
            groups: vec!["devs".into()],
        }),
        identity_required: false,
        created: Some(at(500 + i64::try_from(name.len()).unwrap())),
    }
}

pub fn approve(name: &str, user: &str) -> ObservedApproval {
    approval(name, Some(user), ApprovalDecision::Approve)
}

pub fn reject(name: &str, user: &str) -> ObservedApproval {
    approval(name, Some(user), ApprovalDecision::Reject)
}

pub fn policy(o: &mut Observed) -> &mut ApprovalPolicy {
    &mut o.project.as_mut().unwrap().spec.approval
}

pub fn auto_rule(envs: &[&str], max_risk: RiskLevel) -> AutoApproveRule {
    AutoApproveRule {
        environments: envs.iter().map(|e| (*e).to_owned()).collect(),
        max_risk,
    }
}

pub fn with_phase(mut o: Observed, phase: Phase) -> Observed {
    o.change.status.phase = Some(phase);
    o
}

pub fn history_entry(status: HistoryStatus, message: &str) -> Option<HistoryEntry> {
    Some(HistoryEntry {
        status,
        message: Some(message.into()),
    })
}

pub fn applied_versions(o: &mut Observed, versions: &[&str]) {
    let h = o.history.as_mut().unwrap();
    h.applied_versions = std::sync::Arc::new(
        versions
            .iter()
            .map(|v| Version::parse(v).unwrap())
            .collect(),
    );
}

pub fn sibling(name: &str, version: &str, phase: Option<Phase>) -> SiblingChange {
    SiblingChange {
        name: name.into(),
        version: version.into(),
        phase,
    }
}

/// Applies `f` to a fresh fixture.
pub fn with(mut o: Observed, f: impl FnOnce(&mut Observed)) -> Observed {
    f(&mut o);
    o
}

pub fn approved_once() -> Observed {
    with(reviewed(RiskLevel::Low), |o| {
        o.approvals.push(approve("a1", "dba"));
    })
}

/// A status as the operator wrote it when it applied the change.
pub fn applied_status() -> Observed {
    let o = approved_once();
    let mut applied = o.clone();
    applied.history.as_mut().unwrap().this_change = history_entry(HistoryStatus::Applied, "");
    let status = next_status(&applied, &decide(&applied)).status;
    with(o, |o| o.change.status = status)
}
