//! Wiring: one watch of SchemaChanges feeding a shared cache, the four controllers with the
//! watches that re-trigger them (filtered by fingerprints, so status noise of related objects
//! wakes nothing), and a bounded graceful shutdown.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, ReflectHandle, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, Resource};

use crate::api::{Approval, DatabaseInstance, Project, SchemaChange};

use super::executions::Executions;
use super::{
    Context, Error, Metrics, Settings, approval, database_instance, history_cache, notifications,
    project, reviews, schema_change,
};

/// SchemaChange events from the shared cache, each seen after the cache applied it.
type ChangeEvents = ReflectHandle<SchemaChange>;

/// SchemaChanges per page of the initial list.
const CHANGE_LIST_PAGE: u32 = 100;

/// Events a slow subscriber may lag behind the SchemaChange watch before it holds the watch up.
const CHANGE_EVENTS_BUFFER: usize = 1024;

/// What the operator keeps of a SchemaChange in its cache: everything it decides on, without
/// what only people read. The canonical DDL of the snapshots (up to 2 × 32 KiB per change, kept
/// in the API server and the history table), `managedFields` and kubectl's last-applied copy
/// of the spec. Status writes are merge patches computed against this slim copy, so they never
/// mention, and never remove, what was left out.
fn slim(change: &mut SchemaChange) {
    change.metadata.managed_fields = None;
    if let Some(annotations) = change.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    if let Some(snapshots) = change.status.as_mut().and_then(|s| s.snapshots.as_mut()) {
        for snapshot in [snapshots.before.as_mut(), snapshots.after.as_mut()]
            .into_iter()
            .flatten()
        {
            snapshot.ddl = None;
        }
    }
}

/// Shared error policy: transient errors retry with backoff, permanent ones wait longer.
fn error_policy<K>(_obj: Arc<K>, error: &Error, ctx: Arc<Context>, controller: &str) -> Action {
    ctx.metrics.failure(controller, error.metric_label());
    tracing::warn!(
        controller,
        error = %crate::engine::error_chain(error),
        transient = error.is_transient(),
        "reconcile failed"
    );
    if let Error::Kube(kube::Error::Api(status)) = error
        && status.code == 409
    {
        // A stale read lost a compare-and-swap: a fresher object is already on its way.
        Action::requeue(Duration::from_millis(200))
    } else if error.is_transient() {
        Action::requeue(Duration::from_secs(5))
    } else {
        Action::requeue(Duration::from_secs(300))
    }
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the four controllers until `shutdown` resolves (then finishes running reconciles).
pub async fn run(
    client: Client,
    metrics: Arc<Metrics>,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let scopes: Vec<Option<String>> = if settings.namespaces.is_empty() {
        vec![None]
    } else {
        settings.namespaces.iter().cloned().map(Some).collect()
    };
    let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
    let mut tasks = Vec::new();
    for scope in scopes {
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "schemagate".to_owned(),
                instance: Some(settings.identity.clone()),
            },
        );
        let ctx = Arc::new(Context {
            client: client.clone(),
            metrics: metrics.clone(),
            settings: settings.clone(),
            recorder,
            executions: Arc::new(Executions::default()),
            failures: Mutex::new(HashMap::new()),
            drift_checks: super::drift_checks::DriftChecks::default(),
            notifier: super::notifications::Notifier::default(),
            changes: std::sync::OnceLock::new(),
            reviews: reviews::Reviews::default(),
            history: Arc::new(history_cache::HistoryCache::new(
                history_cache::DEFAULT_TTL,
                metrics.history_reads(),
            )),
        });
        let ns = scope.as_deref();
        let config = kube::runtime::controller::Config::default().concurrency(settings.concurrency);
        // One watch of SchemaChanges, slimmed, feeding one cache and every controller that
        // reacts to them.
        let (reader, writer) = reflector::store_shared::<SchemaChange>(CHANGE_EVENTS_BUFFER);
        let (
            Some(for_changes),
            Some(for_siblings),
            Some(for_projects),
            Some(for_approvals),
            Some(for_notices),
        ) = (
            writer.subscribe(),
            writer.subscribe(),
            writer.subscribe(),
            writer.subscribe(),
            writer.subscribe(),
        )
        else {
            tracing::error!("the SchemaChange cache takes no subscriptions");
            return;
        };
        // Small list pages: each page is held whole (snapshots included) until slimmed.
        let feed = watcher(
            scoped::<SchemaChange>(&client, ns),
            watcher::Config::default().page_size(CHANGE_LIST_PAGE),
        )
        .default_backoff()
        .modify(slim)
        .reflect_shared(writer)
        .take_until(shutdown.clone())
        .for_each(|event| {
            if let Err(e) = event {
                tracing::warn!(error = %e, "watching SchemaChanges failed; retrying");
            }
            futures::future::ready(())
        });
        tasks.push(feed.boxed());
        let _ = ctx.changes.set(reader.clone());
        let changes = schema_change_controller(
            &client,
            ns,
            config.clone(),
            (for_changes, reader.clone()),
            for_siblings,
        );
        tasks.push(drive(
            changes,
            shutdown.clone(),
            schema_change::reconcile,
            "schemachange",
            ctx.clone(),
        ));
        tasks.push(drive(
            instance_controller(&client, ns, config.clone()),
            shutdown.clone(),
            database_instance::reconcile,
            "databaseinstance",
            ctx.clone(),
        ));
        // The notifier: its own controllers, so a slow receiver never holds up the others; it
        // wakes the Project controller when a channel's health changes.
        let (wake_projects, project_wakes) = futures::channel::mpsc::unbounded();
        ctx.notifier.wake_projects_with(wake_projects);
        tasks.push(drive(
            Controller::for_shared_stream(for_notices, reader.clone()).with_config(config.clone()),
            shutdown.clone(),
            notifications::reconcile_change,
            "notify",
            ctx.clone(),
        ));
        tasks.push(drive(
            Controller::new(
                scoped::<DatabaseInstance>(&client, ns),
                watcher::Config::default(),
            )
            .with_config(config.clone()),
            shutdown.clone(),
            notifications::reconcile_instance,
            "notify",
            ctx.clone(),
        ));
        tasks.push(drive(
            project_controller(&client, ns, config.clone(), for_projects)
                .reconcile_on(project_wakes),
            shutdown.clone(),
            project::reconcile,
            "project",
            ctx.clone(),
        ));
        tasks.push(drive(
            approval_controller(&client, ns, config, for_approvals),
            shutdown.clone(),
            approval::reconcile,
            "approval",
            ctx,
        ));
    }
    // Graceful shutdown lets running reconciles finish. kube's controllers only notice it once
    // their cache has synced, so a controller whose kind cannot be listed (CRD missing, RBAC)
    // would never stop: after a grace period, stop anyway. Executions run in their own tasks
    // and are crash-safe (the history table under the database lock).
    let all = futures::future::join_all(tasks);
    let grace = async move {
        shutdown.await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = all => {}
        () = grace => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "some controllers did not stop in time (a kind that cannot be listed?); stopping anyway"
        ),
    }
}

/// Runs `controller` with `reconcile` and the shared error policy (failures counted as
/// `name`) until `shutdown`, as one task.
fn drive<K, F>(
    controller: Controller<K>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    reconcile: fn(Arc<K>, Arc<Context>) -> F,
    name: &'static str,
    ctx: Arc<Context>,
) -> BoxFuture<'static, ()>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    F: Future<Output = Result<Action, Error>> + Send + 'static,
{
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, move |o, e, c| error_policy(o, e, c, name), ctx)
        .for_each(|_| futures::future::ready(()))
        .boxed()
}

/// How long a graceful shutdown may take before the controllers are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A filter for watch mappers: true when `fingerprint(obj)` differs from the last one seen for
/// that object, so a status-only update of a related object does not re-trigger everything.
fn changed_by<K: Resource>(
    fingerprint: impl Fn(&K) -> String + Send + Sync + 'static,
) -> impl Fn(&K) -> bool + Send + Sync + 'static {
    let seen: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    move |obj: &K| {
        let key = format!(
            "{}/{}",
            obj.meta().namespace.as_deref().unwrap_or_default(),
            obj.meta().name.as_deref().unwrap_or_default()
        );
        let now = fingerprint(obj);
        seen.lock()
            .map(|mut m| m.insert(key, now.clone()).as_ref() != Some(&now))
            .unwrap_or(true)
    }
}

/// An object's generation and its `Ready` condition (status and reason): what related changes
/// depend on. Messages, other conditions and the rest of the status are noise to them.
fn generation_and_ready(
    generation: Option<i64>,
    conditions: Option<&Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>,
) -> String {
    let ready = conditions
        .and_then(|c| crate::api::conditions::find(c, crate::api::conditions::types::READY))
        .map(|c| format!("{}/{}", c.status, c.reason))
        .unwrap_or_default();
    format!("{generation:?}/{ready}")
}

/// What of a DatabaseInstance its SchemaChanges depend on: the spec and whether it is Ready,
/// and why not — not drift results, `lastDriftCheck` or the server version.
fn instance_fingerprint(instance: &DatabaseInstance) -> String {
    generation_and_ready(
        instance.metadata.generation,
        instance.status.as_ref().map(|s| &s.conditions),
    )
}

/// What of a Project its SchemaChanges depend on: the spec and whether its policy is valid
/// (not its counts by phase).
fn project_fingerprint(project: &Project) -> String {
    generation_and_ready(
        project.metadata.generation,
        project.status.as_ref().map(|s| &s.conditions),
    )
}

fn phase_of(change: &SchemaChange) -> String {
    format!(
        "{:?}/{:?}/{}",
        change.status.as_ref().and_then(|s| s.phase),
        change.status.as_ref().and_then(|s| s.sql_digest.clone()),
        change.metadata.deletion_timestamp.is_some()
    )
}

/// SchemaChanges, re-triggered by their Approvals, their instance and project, the siblings
/// they may be blocked on, and the end of their own execution.
fn schema_change_controller(
    client: &Client,
    ns: Option<&str>,
    config: kube::runtime::controller::Config,
    (changes, reader): (ChangeEvents, Store<SchemaChange>),
    siblings: ChangeEvents,
) -> Controller<SchemaChange> {
    let controller = Controller::for_shared_stream(changes, reader).with_config(config);
    let store = controller.store();
    let by_instance = store.clone();
    let by_project = store.clone();
    let by_sibling = store;
    let instance_changed = changed_by(instance_fingerprint);
    let project_changed = changed_by(project_fingerprint);
    let sibling_changed = changed_by(phase_of);
    controller
        .watches(
            scoped::<Approval>(client, ns),
            watcher::Config::default(),
            |approval: Approval| {
                approval.metadata.namespace.clone().map(|ns| {
                    ObjectRef::<SchemaChange>::new(&approval.spec.schema_change_ref).within(&ns)
                })
            },
        )
        .watches(
            scoped::<DatabaseInstance>(client, ns),
            watcher::Config::default(),
            move |instance: DatabaseInstance| {
                if !instance_changed(&instance) {
                    return Vec::new();
                }
                let name = instance.metadata.name.clone().unwrap_or_default();
                cached_changes(&by_instance, &instance.metadata.namespace, |c| {
                    c.spec.instance_ref == name
                })
            },
        )
        .watches(
            scoped::<Project>(client, ns),
            watcher::Config::default(),
            move |project: Project| {
                if !project_changed(&project) {
                    return Vec::new();
                }
                let name = project.metadata.name.clone().unwrap_or_default();
                cached_changes(&by_project, &project.metadata.namespace, |c| {
                    c.spec.project_ref == name
                })
            },
        )
        .watches_shared_stream(siblings, move |changed: Arc<SchemaChange>| {
            // A change that moved on may unblock the later versions for the same database.
            if !sibling_changed(&changed) {
                return Vec::new();
            }
            cached_changes(&by_sibling, &changed.metadata.namespace, |c| {
                c.spec.instance_ref == changed.spec.instance_ref
                    && c.metadata.name != changed.metadata.name
                    && c.status.as_ref().and_then(|s| s.phase) == Some(crate::api::Phase::Blocked)
            })
        })
}

/// The SchemaChanges in the shared cache, in namespace `ns`, for which `selected` holds.
fn cached_changes(
    store: &Store<SchemaChange>,
    ns: &Option<String>,
    selected: impl Fn(&SchemaChange) -> bool,
) -> Vec<ObjectRef<SchemaChange>> {
    store
        .state()
        .into_iter()
        .filter(|c| &c.metadata.namespace == ns && selected(c))
        .map(|c| ObjectRef::from(c.as_ref()))
        .collect()
}

/// DatabaseInstances, triggered by spec (generation) and annotation changes only: not by status
/// writes, its own included (each drift check used to write status, whose watch event woke the
/// next reconcile, forever). Everything else is a timer the reconcile sets. The cache still
/// holds every update, so a reconcile reads the current status.
fn instance_controller(
    client: &Client,
    ns: Option<&str>,
    config: kube::runtime::controller::Config,
) -> Controller<DatabaseInstance> {
    use kube::runtime::{Predicate as _, predicates};
    let (reader, writer) = reflector::store();
    let triggers = watcher(
        scoped::<DatabaseInstance>(client, ns),
        watcher::Config::default(),
    )
    .default_backoff()
    .reflect(writer)
    .applied_objects()
    .predicate_filter(
        predicates::generation.combine(predicates::annotations),
        kube::runtime::PredicateConfig::default(),
    );
    Controller::for_stream(triggers, reader).with_config(config)
}

/// Projects, re-triggered by their SchemaChanges (for the counts by phase).
fn project_controller(
    client: &Client,
    ns: Option<&str>,
    config: kube::runtime::controller::Config,
    changes: ChangeEvents,
) -> Controller<Project> {
    // Counting is per project, and a burst of change events needs one count, not one each.
    Controller::new(scoped::<Project>(client, ns), watcher::Config::default())
        .with_config(config.debounce(Duration::from_millis(200)))
        .watches_shared_stream(changes, |change: Arc<SchemaChange>| {
            change
                .metadata
                .namespace
                .clone()
                .map(|ns| ObjectRef::<Project>::new(&change.spec.project_ref).within(&ns))
        })
}

/// Approvals, re-triggered by the SchemaChange they name.
fn approval_controller(
    client: &Client,
    ns: Option<&str>,
    config: kube::runtime::controller::Config,
    changes: ChangeEvents,
) -> Controller<Approval> {
    let controller = Controller::new(scoped::<Approval>(client, ns), watcher::Config::default())
        .with_config(config);
    let store = controller.store();
    let change_changed = changed_by(|c: &SchemaChange| {
        format!(
            "{}/{:?}",
            phase_of(c),
            c.status.as_ref().and_then(|s| s.approval.clone())
        )
    });
    controller.watches_shared_stream(changes, move |change: Arc<SchemaChange>| {
        if !change_changed(&change) {
            return Vec::new();
        }
        let name = change.metadata.name.clone().unwrap_or_default();
        let ns = change.metadata.namespace.clone();
        store
            .state()
            .into_iter()
            .filter(|a| a.spec.schema_change_ref == name && a.metadata.namespace == ns)
            .map(|a| ObjectRef::from(a.as_ref()))
            .collect::<Vec<_>>()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::controller::{now, status_patch};

    #[test]
    fn mapper_filter_fires_only_when_the_fingerprint_changes() {
        let changed = changed_by(|c: &SchemaChange| phase_of(c));
        let spec: crate::api::SchemaChangeSpec = serde_json::from_value(serde_json::json!({
            "projectRef": "p", "instanceRef": "i", "version": "1", "sql": "SELECT 1;"
        }))
        .unwrap();
        let mut change = SchemaChange::new("c", spec);
        change.metadata.namespace = Some("ns".into());
        assert!(changed(&change), "first sight");
        assert!(!changed(&change), "same phase");
        change.status = Some(crate::api::SchemaChangeStatus {
            phase: Some(crate::api::Phase::Applied),
            ..Default::default()
        });
        assert!(changed(&change), "phase moved");
        assert!(!changed(&change));
    }

    #[test]
    fn the_slim_cache_copy_never_makes_a_status_write_drop_the_snapshots() {
        let mut change: SchemaChange = serde_json::from_value(serde_json::json!({
            "apiVersion": "schemagate.io/v1alpha1", "kind": "SchemaChange",
            "metadata": {"name": "c", "namespace": "ns",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}",
                                         "team": "a"},
                         "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
            "spec": {"projectRef": "p", "instanceRef": "i", "version": "1", "sql": "SELECT 1;"},
            "status": {"phase": "Applied",
                       "snapshots": {"before": {"digest": "d1", "size": 3, "ddl": "a;\n"},
                                     "after": {"digest": "d2", "size": 3, "ddl": "b;\n"},
                                     "diff": ["+ table b"]}}
        }))
        .unwrap();
        slim(&mut change);
        assert_eq!(change.metadata.managed_fields, None);
        let annotations = change.metadata.annotations.clone().unwrap();
        assert_eq!(annotations.keys().collect::<Vec<_>>(), ["team"]);
        let old = change.status.clone().unwrap();
        let snapshots = old.snapshots.clone().unwrap();
        assert_eq!(snapshots.after.unwrap().digest, "d2", "references are kept");
        assert_eq!(snapshots.diff, ["+ table b"]);
        // A later status write computed from the slim copy leaves the DDL alone.
        let mut new = old.clone();
        new.observed_generation = Some(2);
        let patch = status_patch::replace_patch(
            &serde_json::to_value(&old).unwrap(),
            &serde_json::to_value(&new).unwrap(),
        );
        assert!(!patch.to_string().contains("ddl"), "{patch}");
        assert!(!patch.to_string().contains("null"), "{patch}");
    }

    #[test]
    fn schema_changes_ignore_instance_status_noise() {
        use crate::api::conditions::{reasons, set_condition, set_condition_unknown, types};
        let mut instance: DatabaseInstance = serde_json::from_value(serde_json::json!({
            "apiVersion": "schemagate.io/v1alpha1", "kind": "DatabaseInstance",
            "metadata": {"name": "db", "namespace": "ns", "generation": 1},
            "spec": {"engine": "sqlite", "database": "/tmp/x.sqlite"}
        }))
        .unwrap();
        let changed = changed_by(instance_fingerprint);
        assert!(changed(&instance), "first sight");
        let t = now();
        let status = instance.status.get_or_insert_default();
        set_condition(
            &mut status.conditions,
            types::READY,
            true,
            reasons::CONNECTED,
            "connected; server SQLite 3",
            Some(1),
            t.clone(),
        );
        assert!(changed(&instance), "became Ready");
        let status = instance.status.get_or_insert_default();
        set_condition(
            &mut status.conditions,
            types::READY,
            true,
            reasons::CONNECTED,
            "connected; server SQLite 4",
            Some(1),
            t.clone(),
        );
        set_condition_unknown(
            &mut status.conditions,
            types::DRIFTED,
            reasons::DRIFT_CHECK_FAILED,
            "lock timeout",
            Some(1),
            t.clone(),
        );
        status.last_drift_check = Some("2026-01-01T00:00:00Z".into());
        status.drift = vec!["+ table t".into()];
        assert!(
            !changed(&instance),
            "drift, versions and messages are noise"
        );
        instance.metadata.generation = Some(2);
        assert!(changed(&instance), "a spec edit");
        let status = instance.status.get_or_insert_default();
        set_condition(
            &mut status.conditions,
            types::READY,
            false,
            reasons::UNREACHABLE,
            "down",
            Some(2),
            t,
        );
        assert!(changed(&instance), "no longer Ready");
    }
}
