//! Project controller: validates the review policy (unknown rule → `Ready=False` naming it) and
//! counts the project's SchemaChanges by phase. Reads only; writes only the Project's status.

use std::collections::BTreeMap;
use std::sync::Arc;

use kube::Api;
use kube::api::ListParams;
use kube::runtime::controller::Action;

use crate::api::conditions::{reasons, set_condition, types};
use crate::api::project::Project;
use crate::api::schema_change::SchemaChange;
use crate::workflow::review_policy;

use super::{Context, Error, status_patch};

/// Reconciles one Project.
pub async fn reconcile(project: Arc<Project>, ctx: Arc<Context>) -> Result<Action, Error> {
    let (o, c) = (&*project, &*ctx);
    super::instrumented(o, c, "project", |ns, name| async move {
        reconcile_project(o, c, &ns, &name).await
    })
    .await
}

/// `NotificationsHealthy` from this process's deliveries: absent without channels, kept as it is
/// until this process has tried a delivery (after a restart), then True or False naming the
/// failing channels.
fn notifications_condition(
    project: &Project,
    ctx: &Context,
    ns: &str,
    name: &str,
    status: &mut crate::api::ProjectStatus,
) {
    let kind = types::NOTIFICATIONS_HEALTHY;
    if project.spec.notifications.is_empty() {
        status.conditions.retain(|c| c.type_ != kind);
        return;
    }
    let generation = project.metadata.generation;
    match ctx.notifier.health(ns, name) {
        Some(failing) if failing.is_empty() => {
            set_condition(
                &mut status.conditions,
                kind,
                true,
                reasons::CHANNELS_DELIVERING,
                "every channel accepted its last message",
                generation,
                super::now(),
            );
        }
        Some(failing) => {
            let list: Vec<String> = failing
                .iter()
                .map(|(channel, error)| format!("{channel} ({error})"))
                .collect();
            set_condition(
                &mut status.conditions,
                kind,
                false,
                reasons::DELIVERY_FAILING,
                &format!(
                    "failing channels, retried with backoff: {}",
                    list.join("; ")
                ),
                generation,
                super::now(),
            );
        }
        None if crate::api::conditions::find(&status.conditions, kind).is_none() => {
            crate::api::conditions::set_condition_unknown(
                &mut status.conditions,
                kind,
                reasons::NO_DELIVERIES_YET,
                "no message was sent since the operator started",
                generation,
                super::now(),
            );
        }
        None => {}
    }
}

/// Delay of the re-count after a count changed.
const RECOUNT_AFTER: std::time::Duration = std::time::Duration::from_secs(2);

/// The namespace's SchemaChanges: from the SchemaChange controller's cache (every change event
/// re-triggers the count, so listing them from the API server each time would be quadratic).
async fn project_changes(ctx: &Context, ns: &str) -> Result<Vec<Arc<SchemaChange>>, Error> {
    if let Some(store) = ctx.changes.get() {
        let _ = store.wait_until_ready().await;
        return Ok(store
            .state()
            .into_iter()
            .filter(|c| c.metadata.namespace.as_deref() == Some(ns))
            .collect());
    }
    let api: Api<SchemaChange> = Api::namespaced(ctx.client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(Arc::new)
        .collect())
}

async fn reconcile_project(
    project: &Project,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Action, Error> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for change in project_changes(ctx, ns).await? {
        if change.spec.project_ref == name {
            let phase = change
                .status
                .as_ref()
                .and_then(|s| s.phase)
                .unwrap_or_default();
            *counts.entry(phase.as_str().to_owned()).or_default() += 1;
        }
    }
    let current = project.status.clone().unwrap_or_default();
    let mut status = current.clone();
    let (ok, reason, message) = match review_policy(&project.spec.review) {
        Ok(_) => (
            true,
            reasons::POLICY_VALID,
            "review and approval policies are valid".to_owned(),
        ),
        Err(e) => (false, reasons::INVALID_POLICY, e.to_string()),
    };
    let generation = project.metadata.generation;
    set_condition(
        &mut status.conditions,
        types::READY,
        ok,
        reason,
        &message,
        generation,
        super::now(),
    );
    notifications_condition(project, ctx, ns, name, &mut status);
    status.changes = counts;
    status.observed_generation = generation;
    if status != current {
        let api: Api<Project> = Api::namespaced(ctx.client.clone(), ns);
        status_patch::write(&api, &ctx.metrics, name, project.status.as_ref(), &status).await?;
        if !ok
            && crate::api::conditions::find(&current.conditions, types::READY)
                .is_none_or(|c| c.reason != reason)
        {
            let note = crate::workflow::EventNote {
                type_: crate::workflow::EventType::Warning,
                reason: reason.to_owned(),
                message,
            };
            ctx.publish(project, &note).await;
        }
        // The counts come from a cache that may not yet hold the change event that triggered
        // this reconcile: count once more shortly, until a count changes nothing.
        return Ok(Action::requeue(RECOUNT_AFTER));
    }
    Ok(Action::await_change())
}
