//! The notifier: announces what happened to SchemaChanges (and drift of DatabaseInstances) on
//! their Project's channels.
//!
//! Its own controllers, beside the others: a slow or dead receiver delays only notices, never
//! a review or an execution. Each reconcile reads the notices the subject's status calls for
//! (`notify::change_notices`), the subject's delivery ledger (a ConfigMap it owns,
//! `schemagate-notify-<uid>`), sends what is due and records it. Messages go out once per
//! transition, at least once across restarts and leader changes; failures retry with capped
//! backoff, and each channel's health reaches the Project's `NotificationsHealthy` condition.

mod notifier;
mod send;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt as _};

use crate::api::{DatabaseInstance, Project, SchemaChange};
use crate::notify::ledger::{Ledger, Step, wants};
use crate::notify::{self, Notice};

use super::{Context, Error};

pub use notifier::Notifier;
pub use send::DELIVERY_TIMEOUT;

/// Label on delivery ledgers.
pub const LEDGER_LABEL: &str = "schemagate.io/notifications";

/// Reconciles the notices of one SchemaChange.
pub async fn reconcile_change(
    change: Arc<SchemaChange>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let (o, c) = (&*change, &*ctx);
    super::instrumented(o, c, "notify", |ns, _| async move {
        notify_change(o, c, &ns).await.map(look_again)
    })
    .await
}

/// The controller's answer for "look again after `wait`" (or only when something changes).
fn look_again(wait: Option<std::time::Duration>) -> Action {
    wait.map_or_else(Action::await_change, |w| {
        Action::requeue(w.max(std::time::Duration::from_millis(100)))
    })
}

/// When to look at the change again: `None` when nothing is pending.
async fn notify_change(
    change: &SchemaChange,
    ctx: &Context,
    ns: &str,
) -> Result<Option<std::time::Duration>, Error> {
    let now = Utc::now();
    // Cheap first: most changes at rest have nothing recent to announce.
    if change.metadata.deletion_timestamp.is_some()
        || !notify::change_notices(change, None)
            .iter()
            .any(|n| Ledger::default().step("", n, now) == Step::Send)
    {
        return Ok(None);
    }
    let projects: Api<Project> = Api::namespaced(ctx.client.clone(), ns);
    let Some(project) = projects.get_opt(&change.spec.project_ref).await? else {
        return Ok(None);
    };
    if project.spec.notifications.is_empty() {
        return Ok(None);
    }
    let instances: Api<DatabaseInstance> = Api::namespaced(ctx.client.clone(), ns);
    let environment = instances
        .get_opt(&change.spec.instance_ref)
        .await?
        .and_then(|i| i.spec.environment);
    let mut notices = notify::change_notices(change, environment.as_deref());
    if ctx.settings.chat_approvals && !project.spec.approval.chat_identities.is_empty() {
        add_approval_buttons(change, &mut notices);
    }
    deliver(ctx, ns, &project, change, &notices).await
}

/// Approve/Reject buttons on the `awaitingApproval` notice (Slack and Lark show them; the
/// callback endpoint turns a click into an Approval created as the mapped user). One-time links
/// are issued per person, so they never go to a channel.
fn add_approval_buttons(change: &SchemaChange, notices: &mut [Notice]) {
    let (Some(namespace), Some(name), Some(uid), Some(digest)) = (
        change.metadata.namespace.clone(),
        change.metadata.name.clone(),
        change.metadata.uid.clone(),
        change.status.as_ref().and_then(|s| s.sql_digest.clone()),
    ) else {
        return;
    };
    let change = notify::actions::ChangeRef {
        namespace,
        name,
        uid,
        digest,
    };
    for notice in notices
        .iter_mut()
        .filter(|n| n.event == crate::api::NotificationEvent::AwaitingApproval)
    {
        notice.actions = Some(notify::actions::approval_actions(&change, None));
    }
}

/// Reconciles the drift notices of one DatabaseInstance, for every Project that lists it.
pub async fn reconcile_instance(
    instance: Arc<DatabaseInstance>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let (o, c) = (&*instance, &*ctx);
    super::instrumented(o, c, "notify", |ns, name| async move {
        notify_instance(o, c, &ns, &name).await.map(look_again)
    })
    .await
}

/// When to look at the instance again (the soonest wait over its projects): `None` when nothing
/// is pending.
async fn notify_instance(
    instance: &DatabaseInstance,
    ctx: &Context,
    ns: &str,
    name: &str,
) -> Result<Option<std::time::Duration>, Error> {
    // Cheap first: not drifted, or drifted too long ago to announce.
    if !notify::drift_notice(instance, "")
        .is_some_and(|n| Ledger::default().step("", &n, Utc::now()) == Step::Send)
    {
        return Ok(None);
    }
    let projects: Api<Project> = Api::namespaced(ctx.client.clone(), ns);
    let mut soonest: Option<std::time::Duration> = None;
    for project in projects.list(&ListParams::default()).await? {
        if project.spec.notifications.is_empty()
            || !project.spec.instances.iter().any(|i| i == name)
        {
            continue;
        }
        let Some(notice) = notify::drift_notice(instance, &project.name_any()) else {
            continue;
        };
        let wait = deliver(ctx, ns, &project, instance, std::slice::from_ref(&notice)).await?;
        soonest = match (soonest, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(soonest)
}

/// Sends what is due of `notices` about `subject` to `project`'s channels and records it in the
/// subject's ledger. Returns when to look again (the soonest retry or rate-limit wait).
async fn deliver<K>(
    ctx: &Context,
    ns: &str,
    project: &Project,
    subject: &K,
    notices: &[Notice],
) -> Result<Option<std::time::Duration>, Error>
where
    K: Resource<DynamicType = ()>,
{
    let Some(uid) = subject.meta().uid.clone() else {
        return Err(Error::MissingField("uid"));
    };
    let ledgers: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let ledger_name = format!("schemagate-notify-{uid}");
    let stored = ledgers.get_opt(&ledger_name).await?;
    let mut ledger = Ledger::from_data(
        &stored
            .as_ref()
            .and_then(|cm| cm.data.clone())
            .unwrap_or_default(),
    );
    let project_name = project.name_any();
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
    let mut wait: Option<DateTime<Utc>> = None;
    let mut soonest = |t: DateTime<Utc>| wait = Some(wait.map_or(t, |w| w.min(t)));
    let mut wrote = false;
    for notice in notices {
        for channel in project
            .spec
            .notifications
            .iter()
            .filter(|c| wants(c, notice))
        {
            let now = Utc::now();
            match ledger.step(&channel.name, notice, now) {
                Step::Done => continue,
                Step::WaitUntil(at) => {
                    soonest(at);
                    continue;
                }
                Step::Send => {}
            }
            let bucket = format!("{ns}/{project_name}/{}", channel.name);
            if let Err(after) = ctx.notifier.sender.take(&bucket, channel.rate_per_minute) {
                soonest(now + chrono::Duration::from_std(after).unwrap_or_default());
                continue;
            }
            let outcome = ctx.notifier.sender.send(&secrets, channel, notice).await;
            let event = notice.event.as_str();
            let provider = channel.kind.as_str();
            wrote = true;
            match outcome {
                Ok(()) => {
                    ledger.delivered(&channel.name, notice, Utc::now());
                    ctx.metrics.notification(provider, event, "delivered");
                    ctx.notifier
                        .record_health(ns, &project_name, &channel.name, None);
                    tracing::info!(channel = %channel.name, event, key = %notice.key, "notified");
                }
                Err(error) => {
                    if let Some(next) = ledger.failed(&channel.name, notice, Utc::now(), &error) {
                        soonest(next);
                    }
                    ctx.metrics.notification(provider, event, "failed");
                    ctx.notifier
                        .record_health(ns, &project_name, &channel.name, Some(&error));
                    tracing::warn!(channel = %channel.name, event, %error, "notification failed");
                }
            }
        }
    }
    if wrote {
        write_ledger(&ledgers, stored, &ledger_name, subject, &ledger).await?;
    }
    Ok(wait.map(|at| (at - Utc::now()).to_std().unwrap_or_default()))
}

/// Creates or replaces (with the read's resourceVersion, so a stale copy loses) the ledger.
async fn write_ledger<K: Resource<DynamicType = ()>>(
    ledgers: &Api<ConfigMap>,
    stored: Option<ConfigMap>,
    name: &str,
    subject: &K,
    ledger: &Ledger,
) -> Result<(), Error> {
    let data = Some(ledger.to_data());
    match stored {
        Some(mut cm) => {
            cm.data = data;
            ledgers.replace(name, &PostParams::default(), &cm).await?;
        }
        None => {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    owner_references: subject.owner_ref(&()).map(|o| vec![o]),
                    labels: Some(BTreeMap::from([(
                        LEDGER_LABEL.to_owned(),
                        "ledger".to_owned(),
                    )])),
                    ..ObjectMeta::default()
                },
                data,
                ..ConfigMap::default()
            };
            ledgers.create(&PostParams::default(), &cm).await?;
        }
    }
    Ok(())
}
