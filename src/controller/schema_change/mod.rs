//! SchemaChange controller. [`reconcile`] reads as its steps, one module each: guards (a run in
//! this process, the [`finalizer`]) → [`observe`] (change, Project, DatabaseInstance + Secret,
//! SQL, Approvals, history, siblings) → `workflow::decide` (with a [`review`] when it asks for
//! one) → [`report`] (status subresource, Event on transitions) → act once ([`execute`],
//! release).
//!
//! Decisions come from `crate::workflow` only. Deleting a change never touches the database,
//! except to cancel an execution this process is running for it.

mod execute;
mod finalizer;
mod observe;
mod report;
mod review;

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use crate::api::schema_change::{Phase, SchemaChange};
use crate::workflow::{Decision, Observed, ReviewStamp, decide, next_status};

use super::{Context, Error};
use observe::Target;

pub(crate) use observe::observed_approval;

/// When to look again after the history table could not be read.
const HISTORY_RETRY: Duration = Duration::from_secs(5);

/// Reconciles one SchemaChange.
pub async fn reconcile(change: Arc<SchemaChange>, ctx: Arc<Context>) -> Result<Action, Error> {
    let (o, c) = (&*change, &*ctx);
    super::instrumented(o, c, "schemachange", |ns, name| async move {
        reconcile_change(o, c, &ns, &name).await
    })
    .await
}

/// The reconcile, as a table of contents: guards → observe → decide → report → act. Status is
/// written before acting: an execution starts only once its status says `Applying`.
async fn reconcile_change(
    change: &SchemaChange,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Action, Error> {
    let api: Api<SchemaChange> = Api::namespaced(ctx.client.clone(), ns);
    let uid = change.uid().unwrap_or_default();
    let deleting = change.metadata.deletion_timestamp.is_some();
    // 1. Guards: a run in this process, and the finalizer.
    if let Some(action) = guard(ctx, &api, change, &uid, name).await? {
        return Ok(action);
    }
    // 2. Observe (reads only).
    let target = observe::target(ctx, ns, change).await?;
    let mut observed = observe::observe(ctx, ns, change, &target).await?;
    // 3. Decide (pure), reviewing first when the workflow asks for a review.
    let decision = decide_reviewed(ctx, &uid, &mut observed, &target).await;
    tracing::debug!(?decision, "decided");
    let update = next_status(&observed, &decision);
    if deleting || update.status.phase.is_some_and(Phase::is_terminal) {
        // The review is only needed on the way to an execution.
        ctx.reviews.forget(&uid);
    }
    // 4. Report: the status (with the history row's record of the run, when the decision rests
    // on the history) and the Event of a transition.
    let row = observe::history_row(&decision, &observed, &target).await?;
    report::write(ctx, &api, change, &decision, update, row.as_ref()).await?;
    // 5. Act, once.
    act(ctx, ns, change, decision, &target, row.as_ref(), &observed).await?;
    if target.history_unreadable && !deleting {
        return Ok(Action::requeue(HISTORY_RETRY));
    }
    Ok(Action::await_change())
}

/// What comes before observing: a change this process is executing waits for its run to end
/// (which re-triggers the reconcile), and is cancelled when deleted; a live change gets the
/// finalizer. `Some` ends the reconcile with that action.
async fn guard(
    ctx: &Context,
    api: &Api<SchemaChange>,
    change: &SchemaChange,
    uid: &str,
    name: &str,
) -> Result<Option<Action>, Error> {
    let deleting = change.metadata.deletion_timestamp.is_some();
    if let Some(handle) = ctx.executions.running(uid) {
        if deleting {
            tracing::info!("deleted while applying: cancelling the execution");
            if let Err(e) = handle.cancel().await {
                tracing::warn!(error = %crate::engine::error_chain(&e), "cancel failed");
            }
        }
        // The execution task re-triggers this reconcile when it ends.
        return Ok(Some(Action::await_change()));
    }
    let has_finalizer = finalizer::has_finalizer(change);
    if deleting && !has_finalizer {
        return Ok(Some(Action::await_change()));
    }
    if !deleting && !has_finalizer {
        finalizer::add_finalizer(api, change, name).await?;
    }
    Ok(None)
}

/// `workflow::decide`; when it asks for a review, the review is run, stamped with its key and
/// kept in memory, and the workflow decides again with it.
async fn decide_reviewed(
    ctx: &Context,
    uid: &str,
    observed: &mut Observed,
    target: &Target,
) -> Decision {
    let decision = decide(observed);
    let Decision::Review { digest, key } = decision else {
        return decision;
    };
    let reviewed_target = observed
        .instance
        .as_ref()
        .map(|i| i.target.clone())
        .unwrap_or_default();
    let review = review::run_review(ctx, observed, target)
        .await
        .stamped(&ReviewStamp {
            key: &key,
            digest: &digest,
            target: &reviewed_target,
            previous_key: observed.review.as_ref().map(|r| r.key.as_str()),
            status: &observed.change.status,
            created: observed.change.created.as_ref(),
            now: &observed.now,
        });
    ctx.reviews.put(uid, review.clone());
    observed.review = Some(review);
    decide(observed)
}

/// Acts on the decision: starts an execution, settles an interrupted one, or releases the
/// finalizer. Every other decision needs nothing beyond the status already written.
async fn act(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
    decision: Decision,
    target: &Target,
    row: Option<&crate::engine::HistoryRecord>,
    observed: &Observed,
) -> Result<(), Error> {
    if matches!(decision, Decision::RecordApplied) {
        ctx.executions.forget(&observed.change.uid);
    }
    match decision {
        Decision::Execute(approved) => {
            if let (Some(cfg), Some(instance)) = (&target.config, &target.instance) {
                let retries = instance.spec.timeouts.lock_retries;
                execute::spawn_execution(
                    ctx,
                    ns,
                    approved,
                    &change.spec,
                    cfg.clone(),
                    retries,
                    &target.history_key,
                );
            }
        }
        Decision::Release | Decision::CancelAndRelease => {
            let api: Api<SchemaChange> = Api::namespaced(ctx.client.clone(), ns);
            finalizer::remove_finalizer(&api, change, &change.name_any()).await?;
        }
        Decision::InProgress => {
            // Not running here (checked by `guard`): another executor, or a dead one.
            if let Some(row) = row {
                execute::spawn_recovery(ctx, ns, change, target, row, &observed.sql);
            }
        }
        // `WaitForInstance`: the instance controller retries the connection, and its status
        // change re-triggers this change.
        _ => {}
    }
    Ok(())
}
