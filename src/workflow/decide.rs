//! `decide`: the one next step for a SchemaChange, from what was observed.
//!
//! Pure: no client calls, no clock. The order of the checks is the policy: history first
//! (it is the source of truth), then references, SQL, version order, review, rejection,
//! approval, ordering against earlier versions, and only then execution.

use crate::api::conditions::reasons;
use crate::api::schema_change::{ApprovalRecord, Phase, SchemaChangeStatus};

use super::approval::{ApprovedChange, auto_approves, tally};
use super::observed::{
    HistoryFacts, HistoryStatus, Observed, ReviewOutcome, SqlText, review_key, sql_digest,
};
use super::version::Version;

/// The one next step for a SchemaChange. The status to report for it comes from
/// [`super::next_status`].
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The status already says everything; do nothing.
    Nothing,
    /// Being deleted and not applying: drop the finalizer. The database is never touched.
    Release,
    /// Being deleted while applying: cancel the running execution, then drop the finalizer.
    CancelAndRelease,
    /// A reference, the SQL source or the Project's policy is missing or wrong; wait for a fix
    /// (phase `Pending`).
    Invalid {
        /// Condition reason.
        reason: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The DatabaseInstance is not Ready; wait without changing the phase.
    WaitForInstance {
        /// The instance's own message.
        message: String,
        /// False while the instance has not been checked yet (start-up, a new instance): a
        /// normal wait, not a warning.
        checked: bool,
    },
    /// Review the SQL with this digest: the operator has no review of its own for this SQL,
    /// target and policy yet (a new change, a restart, a retargeted instance, an edited policy).
    Review {
        /// sha256 of the SQL to review.
        digest: String,
        /// The [`review_key`] the review is for; the controller stamps the outcome with it.
        key: String,
    },
    /// The review found errors.
    ReviewFailed {
        /// The review.
        review: ReviewOutcome,
    },
    /// A valid Approval rejected the change (or one did earlier: rejection is final).
    Reject {
        /// Who rejected it, as recorded.
        by: String,
    },
    /// Reviewed; waiting for more approvals.
    WaitForApproval {
        /// Distinct approvers so far.
        have: u32,
        /// Approvals needed.
        need: u32,
        /// Approvals naming the change that do not count, each as "Approval NAME: why".
        ignored: Vec<String>,
    },
    /// Approved, but an earlier version (or a same version with a smaller name) for the same
    /// database has not been applied yet.
    Block {
        /// The version waited for.
        on: Version,
        /// The SchemaChange carrying it.
        change: String,
        /// Its phase.
        phase: Option<Phase>,
        /// Who approved this change.
        approval: ApprovalRecord,
    },
    /// Run it.
    Execute(ApprovedChange),
    /// The history says an executor is running it now; wait.
    InProgress,
    /// The history says it was applied but the status does not show it yet.
    RecordApplied,
    /// A permanent failure.
    Fail {
        /// Condition reason.
        reason: &'static str,
        /// What happened.
        message: String,
    },
    /// Interrupted part-way outside a transaction (or the history lost it): a human must look.
    NeedsIntervention {
        /// Which statements ran, or what is inconsistent.
        message: String,
    },
}

impl Decision {
    /// Whether acting on this decision needs this change's whole history row (with its
    /// snapshots), when the history has one: to report what the history says (see
    /// [`Decision::reports_from_history`]), or, for `InProgress`, to settle a run that an
    /// executor left `running`.
    #[must_use]
    pub fn needs_history_row(&self) -> bool {
        self.reports_from_history() || matches!(self, Self::InProgress)
    }

    /// Whether the status reports the execution and the snapshots from the history row, when
    /// the history has one for this change (it ran: applied, failed, interrupted).
    #[must_use]
    pub fn reports_from_history(&self) -> bool {
        matches!(
            self,
            Self::RecordApplied | Self::Fail { .. } | Self::NeedsIntervention { .. }
        )
    }
}

/// Decides the next step for the observed SchemaChange.
#[must_use]
pub fn decide(observed: &Observed) -> Decision {
    let change = &observed.change;
    let status = &change.status;
    if change.deleting {
        let applying = status.phase == Some(Phase::Applying)
            || observed
                .history
                .as_ref()
                .and_then(|h| h.this_change.as_ref())
                .is_some_and(|e| e.status == HistoryStatus::Running);
        return if applying {
            Decision::CancelAndRelease
        } else {
            Decision::Release
        };
    }
    if let Some(history) = &observed.history
        && let Some(decision) = from_history(observed, history)
    {
        return decision;
    }
    if let Some(message) = &observed.refused {
        return Decision::Fail {
            reason: reasons::EXECUTION_REFUSED,
            message: message.clone(),
        };
    }
    if status.phase.is_some_and(Phase::is_terminal) {
        // Final: a rejection is for good (even if the rejecting Approval is deleted later), a
        // failed review or run needs a new SchemaChange. Only the history table may overturn
        // it (handled above).
        return Decision::Nothing;
    }
    let Some(project) = &observed.project else {
        return invalid_reference(format!(
            "Project {} not found in this namespace",
            change.spec.project_ref
        ));
    };
    let Some(instance) = &observed.instance else {
        return invalid_reference(format!(
            "DatabaseInstance {} not found in this namespace",
            change.spec.instance_ref
        ));
    };
    if !project.spec.instances.contains(&change.spec.instance_ref) {
        return invalid_reference(format!(
            "Project {} does not list DatabaseInstance {} in spec.instances",
            change.spec.project_ref, change.spec.instance_ref
        ));
    }
    if let Some(error) = &project.policy_error {
        return Decision::Invalid {
            reason: reasons::PROJECT_NOT_READY,
            message: format!("Project {} is not ready: {error}", change.spec.project_ref),
        };
    }
    let Some(history) = observed.history.as_ref().filter(|_| instance.ready) else {
        return Decision::WaitForInstance {
            message: format!(
                "DatabaseInstance {} is not ready: {}",
                change.spec.instance_ref, instance.message
            ),
            checked: instance.checked,
        };
    };
    let sql = match &observed.sql {
        SqlText::Resolved(sql) => sql,
        SqlText::Unavailable(message) => {
            return Decision::Invalid {
                reason: reasons::SQL_UNAVAILABLE,
                message: message.clone(),
            };
        }
    };
    let digest = sql_digest(sql);
    // The digest first reviewed is pinned: the operator's own review, or (after a restart) the
    // status. A forged status can only make the change fail here, never let it run.
    let pinned = observed
        .review
        .as_ref()
        .map(|r| &r.digest)
        .filter(|d| !d.is_empty())
        .or(status.review.as_ref().and(status.sql_digest.as_ref()));
    if let Some(pinned) = pinned
        && *pinned != digest
    {
        return Decision::Fail {
            reason: reasons::SQL_CHANGED,
            message: format!(
                "the SQL now has digest {digest} but {pinned} was reviewed; \
                 create a new SchemaChange for the new SQL"
            ),
        };
    }
    if instance.engine == crate::api::database_instance::Engine::Sqlite
        && change.spec.transaction_mode == crate::api::schema_change::TransactionMode::None
    {
        return Decision::Fail {
            reason: reasons::UNSUPPORTED_TRANSACTION_MODE,
            message: "transactionMode none is not supported on SQLite: the executor's lock is the \
                      change's own transaction, so statements cannot commit one by one; create \
                      the change again with transactionMode auto"
                .to_owned(),
        };
    }
    let version = match Version::parse(&change.spec.version) {
        Ok(version) => version,
        Err(error) => {
            return Decision::Fail {
                reason: reasons::INVALID_VERSION,
                message: error.to_string(),
            };
        }
    };
    if let Some(decision) = out_of_order(&version, history) {
        return decision;
    }
    let key = review_key(&digest, &instance.target, &project.spec.review);
    let Some(review) = observed.review.as_ref().filter(|r| r.key == key) else {
        return Decision::Review { digest, key };
    };
    if review.errors > 0 {
        return Decision::ReviewFailed {
            review: review.clone(),
        };
    }
    let policy = &project.spec.approval;
    let counted = tally(change, review, policy, &observed.approvals);
    if let Some(rejection) = &counted.rejection {
        return Decision::Reject {
            by: rejection.user.clone().unwrap_or_else(|| {
                format!("an unrecorded approver (Approval {})", rejection.approval)
            }),
        };
    }
    let record = if counted.satisfied() {
        ApprovalRecord {
            auto: false,
            approved_at: counted.quorum_at.clone(),
            approvals: counted.approvals.clone(),
            target: Some(review.target.clone()),
        }
    } else if auto_approves(policy, instance.environment.as_deref(), review.risk)
        && !waited_for_approval(status, review)
    {
        let approved_at = status
            .approval
            .as_ref()
            .filter(|r| r.auto)
            .and_then(|r| r.approved_at.clone())
            .or_else(|| Some(observed.now.0.to_string()));
        ApprovalRecord {
            auto: true,
            approvals: Vec::new(),
            approved_at,
            target: Some(review.target.clone()),
        }
    } else {
        return Decision::WaitForApproval {
            have: crate::api::count(counted.approvals.len()),
            need: counted.required,
            ignored: counted
                .ignored
                .iter()
                .map(|(name, verdict)| format!("Approval {name}: {}", verdict.message))
                .chain(
                    (auto_approves(policy, instance.environment.as_deref(), review.risk)
                        && waited_for_approval(status, review))
                    .then(|| {
                        "the project's auto-approval changed after this change was reviewed \
                         and waiting; it applies to changes reviewed from now on"
                            .to_owned()
                    }),
                )
                .collect(),
        };
    };
    if let Some(blocker) = earliest_blocker(observed, &version, history) {
        return Decision::Block {
            on: blocker.0,
            change: blocker.1,
            phase: blocker.2,
            approval: record,
        };
    }
    Decision::Execute(ApprovedChange::new(
        change,
        version,
        sql.clone(),
        digest,
        record,
    ))
}

fn invalid_reference(message: String) -> Decision {
    Decision::Invalid {
        reason: reasons::INVALID_REFERENCE,
        message,
    }
}

/// History wins over status: an applied change is never run again, and a change that status
/// says ran is never run again when its history row is missing.
fn from_history(observed: &Observed, history: &HistoryFacts) -> Option<Decision> {
    let status = &observed.change.status;
    let Some(entry) = &history.this_change else {
        return status_says_it_ran(status).then(|| Decision::NeedsIntervention {
            message: history_missing_message(observed),
        });
    };
    let message = entry.message.clone().unwrap_or_default();
    Some(match entry.status {
        HistoryStatus::Applied => {
            if status.phase == Some(Phase::Applied) {
                Decision::Nothing
            } else {
                Decision::RecordApplied
            }
        }
        HistoryStatus::Running => Decision::InProgress,
        HistoryStatus::Failed => Decision::Fail {
            reason: reasons::EXECUTION_FAILED,
            message,
        },
        HistoryStatus::NeedsIntervention => Decision::NeedsIntervention { message },
    })
}

/// Whether the status records a run that reached the history table: applied, failed in the
/// database, interrupted, or already found missing. (`Applying` alone is not proof: on the
/// transactional path a run that died left nothing, and running it again is the guarantee.)
fn status_says_it_ran(status: &crate::api::schema_change::SchemaChangeStatus) -> bool {
    use crate::api::conditions::{find, types};
    if status.phase == Some(Phase::Applied) {
        return true;
    }
    let applied_reason = find(&status.conditions, types::APPLIED).map(|c| c.reason.as_str());
    matches!(
        applied_reason,
        Some(
            reasons::APPLIED
                | reasons::EXECUTION_FAILED
                | reasons::NEEDS_INTERVENTION
                | reasons::HISTORY_MISSING
        )
    ) || status
        .execution
        .as_ref()
        .is_some_and(|e| e.statements_applied > 0)
}

fn history_missing_message(observed: &Observed) -> String {
    let status = &observed.change.status;
    let what = match status.phase {
        Some(Phase::Applied) => "was applied",
        _ => "ran",
    };
    let target = observed
        .instance
        .as_ref()
        .map_or_else(String::new, |i| format!(" of {}", i.target.display));
    format!(
        "status says this change {what}, but the history table{target} has no row for it: the \
         row was deleted, the database was restored from an earlier backup, or the \
         DatabaseInstance now points at another database. schemagate will not run it again \
         automatically. If the change must run on this database, create a new SchemaChange (it \
         is reviewed and approved again); otherwise leave or delete this one"
    )
}

/// A version at or below the latest applied one that is not this change's own row is refused.
fn out_of_order(version: &Version, history: &HistoryFacts) -> Option<Decision> {
    if history.applied_versions.contains(version) {
        return Some(Decision::Fail {
            reason: reasons::VERSION_OUT_OF_ORDER,
            message: format!(
                "version {version} was already applied to this database by another change; \
                 give this change a version above {}",
                history.latest_applied().unwrap_or(version)
            ),
        });
    }
    let latest = history.latest_applied()?;
    (version < latest).then(|| Decision::Fail {
        reason: reasons::VERSION_OUT_OF_ORDER,
        message: format!(
            "version {version} is below the latest applied version {latest}; \
             changes apply in version order, so give it a version above {latest}"
        ),
    })
}

/// The lowest not-yet-applied sibling that must go first: any lower version (whatever its
/// phase: delete it to unblock), or an equal version with a smaller name that is still alive.
fn earliest_blocker(
    observed: &Observed,
    version: &Version,
    history: &HistoryFacts,
) -> Option<(Version, String, Option<Phase>)> {
    // A sibling whose version does not parse fails on its own (InvalidVersion) and orders nothing.
    observed
        .siblings
        .iter()
        .filter_map(|s| Version::parse(&s.version).ok().map(|v| (v, s)))
        .filter(|(v, _)| !history.applied_versions.contains(v))
        .filter(|(v, s)| {
            v < version
                || (v == version
                    && s.name < observed.change.name
                    && !matches!(
                        s.phase,
                        Some(Phase::Rejected | Phase::ReviewFailed | Phase::Failed)
                    ))
        })
        .min_by(|(va, sa), (vb, sb)| va.cmp(vb).then_with(|| sa.name.cmp(&sb.name)))
        .map(|(v, s)| (v, s.name.clone(), s.phase))
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;

/// Whether the change already waited for Approvals under this very review: it is then judged by
/// the approval policy it was reviewed and waited under, and an auto-approval rule added (or an
/// environment changed) since does not approve it. Read from status, which can only withhold an
/// auto-approval here, never grant one.
fn waited_for_approval(status: &SchemaChangeStatus, review: &ReviewOutcome) -> bool {
    status.phase == Some(Phase::AwaitingApproval)
        && status.review.as_ref().and_then(|r| r.key.as_deref()) == Some(review.key.as_str())
}
