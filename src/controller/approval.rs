//! Approval controller: the `Accepted` condition (does this Approval count, and if not, why) from
//! `workflow::approval_verdict`. Reads the named SchemaChange and its Project; writes only the
//! Approval's status.

use std::sync::Arc;

use kube::Api;
use kube::runtime::controller::Action;

use crate::api::approval::Approval;
use crate::api::conditions::types;
use crate::api::project::Project;
use crate::api::schema_change::SchemaChange;
use crate::workflow::{
    EventNote, EventType, ObservedChange, approval_verdict, next_approval_status,
};

use super::{Context, Error, status_patch};

/// Reconciles one Approval.
pub async fn reconcile(approval: Arc<Approval>, ctx: Arc<Context>) -> Result<Action, Error> {
    let (o, c) = (&*approval, &*ctx);
    super::instrumented(o, c, "approval", |ns, name| async move {
        reconcile_approval(o, c, &ns, &name).await
    })
    .await
}

async fn reconcile_approval(
    approval: &Approval,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Action, Error> {
    let changes: Api<SchemaChange> = Api::namespaced(ctx.client.clone(), ns);
    let change = changes.get_opt(&approval.spec.schema_change_ref).await?;
    let policy = match &change {
        Some(c) => {
            let projects: Api<Project> = Api::namespaced(ctx.client.clone(), ns);
            projects
                .get_opt(&c.spec.project_ref)
                .await?
                .map(|p| p.spec.approval)
        }
        None => None,
    };
    let observed =
        super::schema_change::observed_approval(approval, ctx.settings.require_approver_identity);
    let observed_change = change.as_ref().map(ObservedChange::from_resource);
    let verdict = approval_verdict(&observed, observed_change.as_ref(), policy.as_ref());
    let current = approval.status.clone().unwrap_or_default();
    let (status, changed) = next_approval_status(
        &current,
        &observed,
        approval.metadata.generation,
        &verdict,
        super::now(),
    );
    if changed {
        let api: Api<Approval> = Api::namespaced(ctx.client.clone(), ns);
        status_patch::write(&api, &ctx.metrics, name, approval.status.as_ref(), &status).await?;
        let before = crate::api::conditions::find(&current.conditions, types::ACCEPTED);
        if before.is_none_or(|c| c.reason != verdict.reason) {
            let note = EventNote {
                type_: if verdict.accepted {
                    EventType::Normal
                } else {
                    EventType::Warning
                },
                reason: verdict.reason.to_owned(),
                message: verdict.message.clone(),
            };
            ctx.publish(approval, &note).await;
        }
    }
    Ok(Action::await_change())
}
