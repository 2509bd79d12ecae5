//! SchemaChange and Approval decision logic: observed state in, one next step and the status to
//! report out.
//!
//! Pure: no kube client, no sqlx, no tokio, no clock (the caller passes `now`). Controllers
//! observe, call [`decide()`], act once and write the status [`next_status`] builds.
//!
//! What a SchemaChange controller does for each [`Decision`] (write the built status first when
//! `changed`, publish its Event if any, then act):
//!
//! | Decision | act |
//! | --- | --- |
//! | `Review` | run the review engine, stamp the outcome ([`ReviewOutcome::stamped`]) with the key, keep it in memory and put it in `Observed::review`, decide again |
//! | `Execute(approved)` | write status (phase `Applying`) first, then run `approved.sql()` through the engine under its lock |
//! | `CancelAndRelease` | cancel the running execution, then remove the finalizer |
//! | `Release` | remove the finalizer; never touch the database |
//! | `RecordApplied` | fill `execution`/`snapshots` from the history row (the builder leaves them alone) |
//! | everything else | nothing beyond the status write; wait for the next watch event |
//!
//! The Approval controller uses [`approval_verdict`] and [`next_approval_status`].

pub mod approval;
pub mod decide;
pub mod instance;
pub mod observed;
pub mod review;
pub mod status;
pub mod version;

#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;

pub use approval::{
    ApprovedChange, Tally, Verdict, approval_verdict, auto_approves, may_decide,
    next_approval_status, tally,
};
pub use decide::{Decision, decide};
pub use observed::{
    Approver, HistoryEntry, HistoryFacts, HistoryStatus, Observed, ObservedApproval,
    ObservedChange, ObservedInstance, ObservedProject, ReviewOutcome, ReviewStamp, SiblingChange,
    SqlText, Target, review_key, sql_digest,
};
pub use review::{
    VerifyOn, is_production, review_for_project, review_policy, verification_record,
    verification_skipped, verify_on,
};
pub use status::{EventNote, EventType, StatusUpdate, next_status};
pub use version::{Version, VersionError};
