//! Which Approvals count for a SchemaChange, the Approval controller's verdict, and the
//! [`ApprovedChange`] token that is the only way to reach the executor.
//!
//! Pure: no client calls. The same per-Approval check serves the change's tally and the
//! Approval's own `Accepted` condition, so the two can never disagree.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::approval::{ApprovalStatus, Decision as ApprovalDecision};
use crate::api::conditions::{reasons, set_condition, types};
use crate::api::identity::SERVICE_ACCOUNT_PREFIX;
use crate::api::project::ApprovalPolicy;
use crate::api::schema_change::{ApprovalRecord, ApproverRecord, Phase, RiskLevel};

use super::observed::{Approver, ObservedApproval, ObservedChange, ReviewOutcome};
use super::version::Version;

/// Whether an Approval counts, with a PascalCase reason and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The `Accepted` condition status.
    pub accepted: bool,
    /// One of `Matched`, `ChangeNotFound`, `ChangeNotReviewed`, `DigestMismatch`,
    /// `AlreadyApplied`, `UidMismatch`, `PredatesChange`, `PredatesReview`, `NotAnApprover`,
    /// `SelfApproval`.
    pub reason: &'static str,
    /// What a human should know.
    pub message: String,
}

impl Verdict {
    fn refused(reason: &'static str, message: String) -> Self {
        Self {
            accepted: false,
            reason,
            message,
        }
    }
}

/// The SchemaChange an Approval is checked against.
struct Subject<'a> {
    name: &'a str,
    uid: &'a str,
    created: Option<&'a Time>,
    /// The reviewed digest (`None`: not reviewed yet).
    digest: Option<&'a str>,
    /// When the review being approved was computed.
    reviewed_at: Option<&'a Time>,
    /// Whether that review replaced an earlier one (retargeted instance, edited policy).
    review_supersedes: bool,
    author: Option<&'a str>,
}

/// Whether `approval` was created too early relative to `bound` (the change's creation, or its
/// review). Creation timestamps have one-second resolution: an Approval that names the change's
/// uid may come from the same second (the uid proves which object it was made for); one that
/// does not must come from a later second, or a script could delete and recreate a change
/// within the second its Approval was made.
fn too_early(approval: &ObservedApproval, bound: Option<&Time>, bound_by_uid: bool) -> bool {
    let Some(bound) = bound else { return false };
    let bound_second = bound.0.as_second();
    approval.created.as_ref().is_none_or(|created| {
        let second = created.0.as_second();
        if bound_by_uid {
            second < bound_second
        } else {
            second <= bound_second
        }
    })
}

/// Checks one Approval against a change's identity, its reviewed digest and review, and the
/// project's policy.
///
/// An Approval is bound to one SchemaChange object: to its uid when it names one, and in any
/// case it must be younger than the change (an older one was made for an earlier object of the
/// same name) and than the review it approves (a change reviewed again — retargeted instance,
/// edited policy — needs new Approvals).
///
/// Rejections by the author are allowed (withdrawing one's own change is harmless); approvals by
/// the author need `allowSelfApproval`. When the author is unknown the self-approval rule
/// cannot be applied. When the approver is unknown, only a policy with no users and no groups
/// lets the Approval count.
fn check(
    approval: &ObservedApproval,
    subject: &Subject<'_>,
    policy: &ApprovalPolicy,
) -> Result<(), Verdict> {
    let change_name = subject.name;
    let bound_by_uid = approval.change_uid.is_some();
    if let Some(uid) = &approval.change_uid
        && uid != subject.uid
    {
        return Err(Verdict::refused(
            reasons::UID_MISMATCH,
            format!(
                "schemaChangeUid {uid} names another object than SchemaChange {change_name} \
                 (uid {}); it was deleted and created again",
                subject.uid
            ),
        ));
    }
    if too_early(approval, subject.created, bound_by_uid) {
        return Err(Verdict::refused(
            reasons::PREDATES_CHANGE,
            format!(
                "not created after SchemaChange {change_name} (uid {}): it may have been made for \
                 an earlier object of the same name; create a new Approval (with \
                 schemaChangeUid {})",
                subject.uid, subject.uid
            ),
        ));
    }
    let Some(digest) = subject.digest else {
        return Err(Verdict::refused(
            reasons::CHANGE_NOT_REVIEWED,
            format!(
                "SchemaChange {change_name} has not been reviewed yet, so it has no sqlDigest to approve"
            ),
        ));
    };
    if approval.sql_digest != digest {
        return Err(Verdict::refused(
            reasons::DIGEST_MISMATCH,
            format!(
                "sqlDigest {} does not match the reviewed SQL of SchemaChange {change_name} ({digest}); \
                 the SQL changed or the digest was mistyped",
                approval.sql_digest
            ),
        ));
    }
    if too_early(
        approval,
        subject.reviewed_at,
        bound_by_uid && !subject.review_supersedes,
    ) {
        let at = subject
            .reviewed_at
            .map(|t| t.0.to_string())
            .unwrap_or_default();
        let hint = if bound_by_uid && !subject.review_supersedes {
            ""
        } else if bound_by_uid {
            " (after a new review, an Approval must be created in a later second than it)"
        } else {
            " (an Approval without schemaChangeUid must be created in a later second than the \
             review)"
        };
        return Err(Verdict::refused(
            reasons::PREDATES_REVIEW,
            format!(
                "created before the review it would approve (SchemaChange {change_name} was \
                 reviewed at {at}, e.g. again after its DatabaseInstance changed target){hint}; \
                 read the review and create a new Approval with schemaChangeUid {}",
                subject.uid
            ),
        ));
    }
    may_decide(
        policy,
        approval.approver.as_ref(),
        approval.identity_required,
        subject.author,
        approval.decision,
        change_name,
    )
}

/// Whether `approver` may make `decision` on a change by `author` under `policy`: the rules that
/// depend on who decides, shared by the admission webhook (which refuses at creation) and the
/// operator's tally (which counts only what passes them).
///
/// - Without a recorded approver: refused when `identity_required`; otherwise allowed only by a
///   policy that names no users and no groups.
/// - A ServiceAccount approves only when `approvers.users` names it (groups never admit one).
/// - The author may reject (withdraw) their own change, and approve it only with
///   `allowSelfApproval` (checked before the list, so the author hears the real reason).
/// - Otherwise the approver must be named in `approvers.users` or belong to one of
///   `approvers.groups`, unless both are empty.
///
/// # Errors
/// The refusal, with its reason and a message naming the approver.
pub fn may_decide(
    policy: &ApprovalPolicy,
    approver: Option<&Approver>,
    identity_required: bool,
    author: Option<&str>,
    decision: ApprovalDecision,
    change_name: &str,
) -> Result<(), Verdict> {
    let Some(approver) = approver else {
        if identity_required {
            return Err(Verdict::refused(
                reasons::APPROVER_NOT_RECORDED,
                "no approver was recorded by schemagate's admission webhook (is it installed?); \
                 delete this Approval and create it again once the webhook runs"
                    .to_owned(),
            ));
        }
        if policy.approvers.users.is_empty() && policy.approvers.groups.is_empty() {
            return Ok(());
        }
        return Err(Verdict::refused(
            reasons::NOT_AN_APPROVER,
            "an unrecorded approver is not among the project's approvers (users or groups)"
                .to_owned(),
        ));
    };
    let who = &approver.user;
    let named = policy.approvers.users.contains(who);
    if approver.user.starts_with(SERVICE_ACCOUNT_PREFIX) && !named {
        return Err(Verdict::refused(
            reasons::SERVICE_ACCOUNT_APPROVER,
            format!(
                "{who} is a ServiceAccount; a ServiceAccount may decide on a change only when \
                 the project names it in spec.approval.approvers.users"
            ),
        ));
    }
    if author == Some(who.as_str())
        && decision == ApprovalDecision::Approve
        && !policy.allow_self_approval
    {
        return Err(Verdict::refused(
            reasons::SELF_APPROVAL,
            format!(
                "{who} wrote SchemaChange {change_name} and the project does not allow \
                 self-approval: another approver must approve it"
            ),
        ));
    }
    let open_to_all = policy.approvers.users.is_empty() && policy.approvers.groups.is_empty();
    if !open_to_all
        && !named
        && !approver
            .groups
            .iter()
            .any(|g| policy.approvers.groups.contains(g))
    {
        return Err(Verdict::refused(
            reasons::NOT_AN_APPROVER,
            format!(
                "{who} is not among the project's approvers (users {:?}, groups {:?})",
                policy.approvers.users, policy.approvers.groups
            ),
        ));
    }
    Ok(())
}

/// The verdict for the Approval controller's `Accepted` condition.
///
/// `change` is the SchemaChange the Approval names (`None`: no such change); `policy` is its
/// Project's approval policy (`None`: the Project does not exist, so nobody can be checked).
/// "Already applied" is read from the change's status: the Approval controller does not read
/// the database, and an Approval that counted for the applied change stays `Matched`.
#[must_use]
pub fn approval_verdict(
    approval: &ObservedApproval,
    change: Option<&ObservedChange>,
    policy: Option<&ApprovalPolicy>,
) -> Verdict {
    let Some(change) = change else {
        return Verdict::refused(
            reasons::CHANGE_NOT_FOUND,
            format!(
                "no SchemaChange named {} in this namespace",
                approval.change
            ),
        );
    };
    let status = &change.status;
    let counted = status
        .approval
        .as_ref()
        .is_some_and(|r| r.approvals.iter().any(|a| a.approval == approval.name));
    if status.phase == Some(Phase::Applied) && !counted {
        return Verdict::refused(
            reasons::ALREADY_APPLIED,
            format!(
                "SchemaChange {} was already applied; this Approval had no part in it",
                change.name
            ),
        );
    }
    let Some(policy) = policy else {
        return Verdict::refused(
            reasons::NOT_AN_APPROVER,
            format!(
                "Project {} of SchemaChange {} does not exist, so no approver policy allows this Approval",
                change.spec.project_ref, change.name
            ),
        );
    };
    let reviewed_at = status
        .review
        .as_ref()
        .and_then(|r| r.reviewed_at.as_deref())
        .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
        .map(Time);
    let subject = Subject {
        name: &change.name,
        uid: &change.uid,
        created: change.created.as_ref(),
        digest: status.sql_digest.as_deref(),
        reviewed_at: reviewed_at.as_ref(),
        review_supersedes: status.review.as_ref().is_some_and(|r| r.supersedes),
        author: change.author.as_deref(),
    };
    if let Err(verdict) = check(approval, &subject, policy) {
        return verdict;
    }
    Verdict {
        accepted: true,
        reason: reasons::MATCHED,
        message: match approval.decision {
            ApprovalDecision::Approve => {
                format!("approves SchemaChange {} as reviewed", change.name)
            }
            ApprovalDecision::Reject => format!("rejects SchemaChange {}", change.name),
        },
    }
}

/// The next Approval status for a verdict; the flag says whether anything changed.
#[must_use]
pub fn next_approval_status(
    current: &ApprovalStatus,
    approval: &ObservedApproval,
    generation: Option<i64>,
    verdict: &Verdict,
    now: Time,
) -> (ApprovalStatus, bool) {
    let mut status = current.clone();
    let mut changed = set_condition(
        &mut status.conditions,
        types::ACCEPTED,
        verdict.accepted,
        verdict.reason,
        &verdict.message,
        generation,
        now,
    );
    let approver = approval.approver.as_ref().map(|a| a.user.clone());
    if approver.is_some() && status.approver != approver {
        status.approver = approver;
        changed = true;
    }
    if status.observed_generation != generation {
        status.observed_generation = generation;
        changed = true;
    }
    (status, changed)
}

/// How the Approvals naming a change add up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// One record per distinct approver whose approval counts, oldest first.
    pub approvals: Vec<ApproverRecord>,
    /// Approvals needed (`requiredApprovals`).
    pub required: u32,
    /// Creation time of the approval that reached `required` (RFC 3339), if reached.
    pub quorum_at: Option<String>,
    /// The oldest valid rejection, if any.
    pub rejection: Option<ApproverRecord>,
    /// Approvals that do not count, with the reason and message.
    pub ignored: Vec<(String, Verdict)>,
}

impl Tally {
    /// Whether enough distinct approvers approved.
    #[must_use]
    pub fn satisfied(&self) -> bool {
        self.approvals.len() >= usize::try_from(self.required).unwrap_or(usize::MAX)
    }
}

fn record(approval: &ObservedApproval) -> ApproverRecord {
    ApproverRecord {
        approval: approval.name.clone(),
        user: approval.approver.as_ref().map(|a| a.user.clone()),
        at: approval.created.as_ref().map(|t| t.0.to_string()),
    }
}

/// Counts the Approvals for `change` against the operator's review of it (digest, time, and
/// whether it replaced an earlier review). Approvers are distinct people: by user uid when the
/// authenticator gives one, else by user name; Approvals whose approver is unknown count
/// together as one approver.
#[must_use]
pub fn tally(
    change: &ObservedChange,
    review: &ReviewOutcome,
    policy: &ApprovalPolicy,
    approvals: &[ObservedApproval],
) -> Tally {
    let subject = Subject {
        name: &change.name,
        uid: &change.uid,
        created: change.created.as_ref(),
        digest: Some(&review.digest),
        reviewed_at: review.reviewed_at.as_ref(),
        review_supersedes: review.supersedes,
        author: change.author.as_deref(),
    };
    let mut ordered: Vec<&ObservedApproval> = approvals
        .iter()
        .filter(|a| a.change == change.name)
        .collect();
    ordered.sort_by(|a, b| (&a.created, &a.name).cmp(&(&b.created, &b.name)));
    let mut out = Tally {
        required: policy.required_approvals.max(1),
        ..Tally::default()
    };
    let mut seen: BTreeSet<Option<(&str, &str)>> = BTreeSet::new();
    for approval in ordered {
        if let Err(verdict) = check(approval, &subject, policy) {
            out.ignored.push((approval.name.clone(), verdict));
            continue;
        }
        match approval.decision {
            ApprovalDecision::Reject => {
                if out.rejection.is_none() {
                    out.rejection = Some(record(approval));
                }
            }
            ApprovalDecision::Approve => {
                if seen.insert(approval.approver.as_ref().map(Approver::person)) {
                    out.approvals.push(record(approval));
                    if out.quorum_at.is_none() && out.satisfied() {
                        out.quorum_at = approval.created.as_ref().map(|t| t.0.to_string());
                    }
                }
            }
        }
    }
    out
}

/// Whether the project auto-approves a change of `risk` on an instance in `environment`.
#[must_use]
pub fn auto_approves(policy: &ApprovalPolicy, environment: Option<&str>, risk: RiskLevel) -> bool {
    let Some(environment) = environment else {
        return false;
    };
    policy
        .auto_approve
        .iter()
        .any(|rule| rule.environments.iter().any(|e| e == environment) && risk <= rule.max_risk)
}

/// A change that may be executed: it can only be built by the workflow from a satisfied
/// [`Tally`] or an auto-approval rule, so unapproved SQL cannot reach the executor by type.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovedChange {
    name: String,
    uid: String,
    version: Version,
    sql: String,
    digest: String,
    record: ApprovalRecord,
}

impl ApprovedChange {
    /// Only the workflow's decision may approve.
    pub(super) fn new(
        change: &ObservedChange,
        version: Version,
        sql: String,
        digest: String,
        record: ApprovalRecord,
    ) -> Self {
        Self {
            name: change.name.clone(),
            uid: change.uid.clone(),
            version,
            sql,
            digest,
            record,
        }
    }

    /// The SchemaChange name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The SchemaChange uid: the history table's key.
    #[must_use]
    pub fn uid(&self) -> &str {
        &self.uid
    }
    /// The version.
    #[must_use]
    pub fn version(&self) -> &Version {
        &self.version
    }
    /// The exact SQL that was reviewed and approved.
    #[must_use]
    pub fn sql(&self) -> &str {
        &self.sql
    }
    /// sha256 of [`Self::sql`].
    #[must_use]
    pub fn digest(&self) -> &str {
        &self.digest
    }
    /// Who approved it, for `status.approval` and the history row.
    #[must_use]
    pub fn record(&self) -> &ApprovalRecord {
        &self.record
    }
}

#[cfg(test)]
#[path = "approval_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "approver_tests.rs"]
mod approver_tests;
