//! Status builder tests: what `kubectl get -o yaml` shows after each step, write skipping,
//! transition times and Events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::api::conditions::{find, reasons, types};
use crate::api::schema_change::{Phase, RiskLevel};

use crate::workflow::decide::{Decision, decide};
use crate::workflow::fixtures::*;
use crate::workflow::status::{EventType, next_status};

#[test]
fn execute_carries_the_reviewed_sql_and_who_approved() {
    let o = with(reviewed(RiskLevel::Low), |o| {
        policy(o).required_approvals = 2;
        o.approvals.push(approve("a-late", "lead"));
        o.approvals.push(approve("a1", "dba"));
    });
    let Decision::Execute(approved) = decide(&o) else {
        panic!("expected Execute");
    };
    assert_eq!(approved.sql(), SQL);
    assert_eq!(approved.digest(), digest());
    assert_eq!(approved.uid(), "uid-1");
    assert_eq!(approved.version().as_str(), "5");
    let record = approved.record();
    assert!(!record.auto);
    let who: Vec<_> = record.approvals.iter().map(|a| a.user.as_deref()).collect();
    assert_eq!(who, [Some("dba"), Some("lead")], "oldest first");
    // Quorum was reached by the later Approval ("a-late" was created at 506).
    assert_eq!(record.approved_at, Some(at(506).0.to_string()));
}

#[test]
fn auto_approval_is_recorded_and_its_time_kept() {
    let mut o = with(reviewed(RiskLevel::Low), |o| {
        policy(o).auto_approve = vec![auto_rule(&["prod"], RiskLevel::Low)];
    });
    let first = next_status(&o, &decide(&o)).status;
    let record = first.approval.clone().unwrap();
    assert!(record.auto);
    assert_eq!(record.approved_at, Some(at(1_000).0.to_string()));
    let approved = find(&first.conditions, types::APPROVED).unwrap();
    assert_eq!(approved.reason, reasons::AUTO_APPROVED);
    o.change.status = first.clone();
    o.now = at(2_000);
    let again = next_status(&o, &decide(&o));
    assert!(!again.changed, "a later reconcile does not move approvedAt");
}

#[test]
fn block_names_the_change_to_wait_for() {
    let o = with(approved_once(), |o| {
        o.siblings
            .push(sibling("add-late", "4.1", Some(Phase::Applying)));
        o.siblings.push(sibling("add-early", "3", None));
    });
    match decide(&o) {
        Decision::Block { on, change, .. } => {
            assert_eq!(on.as_str(), "3");
            assert_eq!(change, "add-early");
        }
        other => panic!("expected Block, got {other:?}"),
    }
    let status = next_status(&o, &decide(&o)).status;
    let ready = find(&status.conditions, types::READY).unwrap();
    assert!(
        ready.message.contains("version 3 (SchemaChange add-early"),
        "{}",
        ready.message
    );
    assert!(
        status.approval.is_some(),
        "approval is recorded while blocked"
    );
}

/// Runs decide + next_status and stores the result as the current status, like a controller.
fn reconcile(o: &mut crate::workflow::observed::Observed) -> crate::workflow::status::StatusUpdate {
    let update = next_status(o, &decide(o));
    o.change.status = update.status.clone();
    update
}

#[test]
fn same_decision_twice_writes_nothing_and_publishes_nothing() {
    let mut o = reviewed(RiskLevel::Low);
    let first = reconcile(&mut o);
    assert!(first.changed);
    let event = first.event.unwrap();
    assert_eq!(event.reason, reasons::AWAITING_APPROVAL);
    assert_eq!(event.type_, EventType::Normal);
    o.now = at(9_999);
    let second = reconcile(&mut o);
    assert!(!second.changed, "no status write when nothing changed");
    assert_eq!(second.event, None);
}

#[test]
fn progress_within_a_phase_updates_status_without_an_event() {
    let mut o = reviewed(RiskLevel::Low);
    policy(&mut o).required_approvals = 2;
    reconcile(&mut o);
    o.approvals.push(approve("a1", "dba"));
    let update = reconcile(&mut o);
    assert!(update.changed);
    assert_eq!(
        update.event, None,
        "still AwaitingApproval: not a transition"
    );
    let ready = find(&o.change.status.conditions, types::READY).unwrap();
    assert!(
        ready.message.starts_with("1 of 2 approval(s)"),
        "{}",
        ready.message
    );
    assert!(
        ready.message.contains(&digest()),
        "tells which digest to quote"
    );
}

#[test]
fn transition_time_moves_only_on_flips() {
    let mut o = base();
    reconcile(&mut o); // Reviewing: Reviewed=False at t=1000
    o.review = Some(stamp(&o, clean_review(RiskLevel::Low)));
    o.now = at(2_000);
    reconcile(&mut o); // AwaitingApproval: Reviewed flips True at 2000, Ready stays False
    let reviewed_c = find(&o.change.status.conditions, types::REVIEWED).unwrap();
    assert_eq!(reviewed_c.last_transition_time, at(2_000));
    let ready = find(&o.change.status.conditions, types::READY).unwrap();
    assert_eq!(ready.last_transition_time, at(1_000), "Ready stayed False");
    assert_eq!(ready.reason, reasons::AWAITING_APPROVAL);
    // Approve, execute, record: Ready flips True at the time it is recorded.
    o.approvals.push(approve("a1", "dba"));
    o.now = at(3_000);
    let applying = reconcile(&mut o);
    assert_eq!(applying.event.unwrap().reason, reasons::APPLYING);
    o.history.as_mut().unwrap().this_change =
        history_entry(crate::workflow::observed::HistoryStatus::Applied, "");
    o.now = at(4_000);
    let applied = reconcile(&mut o);
    assert_eq!(o.change.status.phase, Some(Phase::Applied));
    let ready = find(&o.change.status.conditions, types::READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.last_transition_time.clone()),
        ("True", at(4_000))
    );
    assert_eq!(applied.event.unwrap().reason, reasons::APPLIED);
    // Reviewed and Approved survive to the end, as history of the decision.
    assert!(crate::api::conditions::is_true(
        &o.change.status.conditions,
        types::REVIEWED
    ));
    assert!(crate::api::conditions::is_true(
        &o.change.status.conditions,
        types::APPROVED
    ));
    // Applied and in history: nothing more to do.
    o.now = at(5_000);
    assert_eq!(decide(&o), Decision::Nothing);
    assert!(!reconcile(&mut o).changed);
}

#[test]
fn review_record_is_written_with_its_time_target_and_key() {
    let mut o = reviewed(RiskLevel::Moderate);
    reconcile(&mut o);
    let review = o.change.status.review.clone().unwrap();
    assert_eq!(review.risk, RiskLevel::Moderate);
    assert_eq!((review.errors, review.warnings), (0, 1));
    assert_eq!(review.reviewed_at, Some(at(REVIEWED_AT).0.to_string()));
    assert_eq!(review.target.as_deref(), Some(target().display.as_str()));
    assert_eq!(review.key, o.review.as_ref().map(|r| r.key.clone()));
    assert_eq!(o.change.status.sql_digest, Some(digest()));
    // The same review next time: nothing to write.
    o.now = at(2_000);
    assert!(!reconcile(&mut o).changed);
}

#[test]
fn review_failure_is_a_warning_naming_the_first_error() {
    let mut o = base();
    o.review = Some(stamp(&o, failed_review()));
    let update = reconcile(&mut o);
    let event = update.event.unwrap();
    assert_eq!(event.type_, EventType::Warning);
    assert_eq!(event.reason, reasons::REVIEW_FAILED);
    assert!(
        event.message.contains("table.require-pk"),
        "{}",
        event.message
    );
    assert!(!crate::api::conditions::is_true(
        &o.change.status.conditions,
        types::REVIEWED
    ));
}

#[test]
fn observed_generation_follows_the_object() {
    let mut o = applied_status();
    o.history.as_mut().unwrap().this_change =
        history_entry(crate::workflow::observed::HistoryStatus::Applied, "");
    assert_eq!(o.change.status.observed_generation, Some(1));
    o.change.generation = Some(2); // description edited
    let update = reconcile(&mut o);
    assert!(update.changed);
    assert_eq!(update.event, None);
    assert_eq!(o.change.status.observed_generation, Some(2));
    assert!(
        o.change
            .status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(2))
    );
}

#[test]
fn release_leaves_status_alone() {
    let mut o = with_phase(reviewed(RiskLevel::Low), Phase::AwaitingApproval);
    o.change.deleting = true;
    let update = reconcile(&mut o);
    assert!(!update.changed);
    assert_eq!(update.event, None);
}

#[test]
fn a_new_digest_drops_the_stale_review() {
    let mut o = reviewed(RiskLevel::Low);
    reconcile(&mut o);
    // The SQL changed before anything was pinned by a review? It was pinned: SqlChanged.
    o.sql = crate::workflow::observed::SqlText::Resolved("SELECT 2;".into());
    o.review = None;
    let update = reconcile(&mut o);
    assert_eq!(update.event.unwrap().reason, reasons::SQL_CHANGED);
    // Without a recorded review the new digest is simply reviewed, and the old record dropped.
    let mut o = reviewed(RiskLevel::Low);
    o.change.status.sql_digest = Some("0".repeat(64));
    o.review = None;
    let update = reconcile(&mut o);
    assert_eq!(o.change.status.phase, Some(Phase::Reviewing));
    assert_eq!(o.change.status.sql_digest, Some(digest()));
    assert_eq!(update.event.unwrap().reason, reasons::REVIEWING);
}

#[test]
fn an_instance_not_checked_yet_is_a_normal_wait_and_a_failing_one_a_warning() {
    let mut o = base();
    o.history = None;
    let instance = o.instance.as_mut().unwrap();
    instance.ready = false;
    instance.checked = false;
    instance.message = "not checked yet".into();
    let event = reconcile(&mut o).event.unwrap();
    assert_eq!(event.type_, EventType::Normal);
    assert_eq!(event.reason, reasons::WAITING_FOR_INSTANCE);
    // The check then fails: that is worth a warning.
    let instance = o.instance.as_mut().unwrap();
    instance.checked = true;
    instance.message = "connection refused".into();
    let event = reconcile(&mut o).event.unwrap();
    assert_eq!(event.type_, EventType::Warning);
    assert_eq!(event.reason, reasons::INSTANCE_NOT_READY);
    assert!(
        event.message.contains("connection refused"),
        "{}",
        event.message
    );
}

#[test]
fn progress_left_by_a_run_is_dropped_by_the_next_status() {
    // An operator killed mid-run leaves its last progress behind; whatever the next reconcile
    // decides (here: the history says applied), the status it builds has none.
    let mut o = applied_status();
    o.history.as_mut().unwrap().this_change =
        history_entry(crate::workflow::observed::HistoryStatus::Applied, "");
    let written = o.change.status.clone();
    o.change.status.progress = Some(crate::api::schema_change::ExecutionProgress {
        statement: 2,
        statements: 3,
        summary: "2/3 12s".into(),
        ..Default::default()
    });
    let update = next_status(&o, &decide(&o));
    assert_eq!(update.status.progress, None);
    assert!(
        update.changed,
        "the leftover progress is removed by a write"
    );
    assert_eq!(update.status, written);
}
