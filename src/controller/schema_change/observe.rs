//! Observe: everything the workflow decides on, read from the API server, the controller's
//! caches and the target database's history table. Reads only.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ListParams;
use kube::{Api, ResourceExt};

use crate::api::approval::Approval;
use crate::api::conditions::{is_true, types};
use crate::api::database_instance::DatabaseInstance;
use crate::api::project::Project;
use crate::api::schema_change::{Phase, SchemaChange};
use crate::controller::{Context, Error, connection};
use crate::engine::{self, ConnectionConfig, HistoryRecord, Session};
use crate::workflow::{
    Approver, Decision, HistoryFacts, Observed, ObservedApproval, ObservedChange, ObservedInstance,
    ObservedProject, SiblingChange, SqlText,
};

/// What was learnt about the target database.
pub(super) struct Target {
    /// The DatabaseInstance, when it exists.
    pub(super) instance: Option<DatabaseInstance>,
    /// Its connection settings, when it is Ready and they resolve.
    pub(super) config: Option<ConnectionConfig>,
    /// Why the target is not usable, when it is not.
    pub(super) not_ready: String,
    /// History facts, when the database was read.
    pub(super) history: Option<HistoryFacts>,
    /// The history cache key of the instance.
    pub(super) history_key: String,
    /// The instance is usable but its history table could not be read (a transient error).
    pub(super) history_unreadable: bool,
}

impl Target {
    /// Whether the history table has a row for this change: then the history decides (applied,
    /// failed, running), and neither Approvals nor siblings matter.
    pub(super) fn decided_by_history(&self) -> bool {
        self.history
            .as_ref()
            .is_some_and(|h| h.this_change.is_some())
    }
}

/// The target database: its DatabaseInstance, connection settings and history facts.
pub(super) async fn target(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
) -> Result<Target, Error> {
    let instances: Api<DatabaseInstance> = Api::namespaced(ctx.client.clone(), ns);
    let instance = instances.get_opt(&change.spec.instance_ref).await?;
    let mut target = Target {
        instance,
        config: None,
        not_ready: String::new(),
        history: None,
        history_key: crate::controller::history_cache::key(ns, &change.spec.instance_ref),
        history_unreadable: false,
    };
    let Some(instance) = &target.instance else {
        return Ok(target);
    };
    let conditions = instance
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    if !is_true(conditions, types::READY) {
        target.not_ready = crate::api::conditions::find(conditions, types::READY)
            .map_or_else(|| "not checked yet".to_owned(), |c| c.message.clone());
        return Ok(target);
    }
    let cfg = match connection::resolve(&ctx.client, ns, instance).await {
        Ok(cfg) => cfg,
        Err(e) => {
            target.not_ready = engine::error_chain(&e);
            return Ok(target);
        }
    };
    let uid = change.uid().unwrap_or_default();
    let identity = crate::controller::history_cache::InstanceIdentity {
        uid: instance.uid().unwrap_or_default(),
        generation: instance.metadata.generation,
    };
    let mut index = ctx.history.get(&target.history_key, &identity, &cfg).await;
    // The status says the change ran but the (possibly cached) index has no row for it: another
    // operator may have run it since the index was read. Read again before the workflow takes
    // the missing row at its word.
    let phase = change.status.as_ref().and_then(|s| s.phase);
    if matches!(phase, Some(Phase::Applied | Phase::Applying))
        && index
            .as_ref()
            .is_ok_and(|i| i.facts(&uid).this_change.is_none())
    {
        ctx.history.invalidate(&target.history_key).await;
        index = ctx.history.get(&target.history_key, &identity, &cfg).await;
    }
    match index {
        Ok(index) => {
            target.history = Some(index.facts(&uid));
            target.config = Some(cfg);
        }
        // Not fatal: the change waits (or, when deleted, is released without the database).
        // The instance stays Ready, so nothing else would wake this change: retry on a timer.
        Err(e) => {
            tracing::info!(error = %engine::error_chain(&e), "history table not readable");
            target.not_ready = engine::error_chain(&e);
            target.history_unreadable = true;
        }
    }
    Ok(target)
}

/// This change's whole history row (with its snapshots), when the decision rests on the
/// history and the history has a row for the change (read only then: it holds the snapshots).
pub(super) async fn history_row(
    decision: &Decision,
    observed: &Observed,
    target: &Target,
) -> Result<Option<HistoryRecord>, Error> {
    let Some(cfg) = target
        .config
        .as_ref()
        .filter(|_| target.decided_by_history())
    else {
        return Ok(None);
    };
    if !decision.needs_history_row() {
        return Ok(None);
    }
    let mut s = Session::connect(cfg).await?;
    let row = engine::history::get(&mut s, &observed.change.uid).await;
    s.close().await;
    Ok(row?)
}

/// Everything else the workflow looks at, with the target already observed.
pub(super) async fn observe(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
    target: &Target,
) -> Result<Observed, Error> {
    let client = &ctx.client;
    let projects: Api<Project> = Api::namespaced(client.clone(), ns);
    let project = projects
        .get_opt(&change.spec.project_ref)
        .await?
        .map(|p| ObservedProject {
            policy_error: crate::workflow::review_policy(&p.spec.review)
                .err()
                .map(|e| e.to_string()),
            spec: p.spec,
        });
    let instance = target.instance.as_ref().map(|i| ObservedInstance {
        engine: i.spec.engine,
        target: crate::workflow::Target::of(&i.uid().unwrap_or_default(), &i.spec),
        environment: i.spec.environment.clone(),
        ready: target.config.is_some(),
        message: target.not_ready.clone(),
        checked: i
            .status
            .as_ref()
            .is_some_and(|s| crate::api::conditions::find(&s.conditions, types::READY).is_some()),
    });
    let sql = read_sql(ctx, ns, change).await?;
    let uid = change.uid().unwrap_or_default();
    let review = ctx.reviews.get(&uid);
    let refused = match ctx.executions.finished(&uid) {
        Some(crate::controller::Finished::Error {
            message,
            transient: false,
        }) => Some(message),
        _ => None,
    };
    let approvals = approvals(ctx, ns, change, target).await?;
    let siblings = if target.decided_by_history() {
        Vec::new()
    } else {
        siblings(ctx, ns, change).await
    };
    Ok(Observed {
        change: ObservedChange::from_resource(change),
        project,
        instance,
        sql,
        review,
        refused,
        approvals,
        history: target.history.clone(),
        siblings,
        now: crate::controller::now(),
    })
}

/// The Approvals naming this change. Listed from the API server rather than read from the
/// Approval controller's cache: the watch event that triggered this reconcile may reach that
/// cache later, and a missed Approval would leave the change waiting with nothing to wake it.
/// Not needed when the history decides (applied, failed, running) or the change is going away.
async fn approvals(
    ctx: &Context,
    ns: &str,
    change: &SchemaChange,
    target: &Target,
) -> Result<Vec<ObservedApproval>, Error> {
    if target.decided_by_history() || change.metadata.deletion_timestamp.is_some() {
        return Ok(Vec::new());
    }
    let name = change.name_any();
    let api: Api<Approval> = Api::namespaced(ctx.client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .filter(|a| a.spec.schema_change_ref == name)
        .map(|a| observed_approval(a, ctx.settings.require_approver_identity))
        .collect())
}

/// What the workflow sees of an Approval: the approver recorded by the admission webhook
/// (`spec.approver`); `identity_required` says whether one missing makes it not count.
pub(crate) fn observed_approval(a: &Approval, identity_required: bool) -> ObservedApproval {
    ObservedApproval {
        name: a.name_any(),
        change: a.spec.schema_change_ref.clone(),
        decision: a.spec.decision,
        sql_digest: a.spec.sql_digest.clone(),
        change_uid: a.spec.schema_change_uid.clone(),
        approver: a.spec.approver.as_ref().map(|i| Approver {
            user: i.username.clone(),
            uid: i.uid.clone(),
            groups: i.groups.clone(),
        }),
        identity_required,
        created: a.metadata.creation_timestamp.clone(),
    }
}

/// The other live changes for the same instance, from the controller's cache (spec fields are
/// immutable, so only the phase can be a little behind; a phase change re-triggers us).
async fn siblings(ctx: &Context, ns: &str, change: &SchemaChange) -> Vec<SiblingChange> {
    let name = change.name_any();
    let Some(store) = ctx.changes.get() else {
        return Vec::new();
    };
    // Before the initial list is complete an earlier version could be missing: wait for it.
    let _ = store.wait_until_ready().await;
    store
        .state()
        .into_iter()
        .filter(|c| {
            c.metadata.namespace.as_deref() == Some(ns)
                && c.spec.instance_ref == change.spec.instance_ref
                && c.name_any() != name
                && c.metadata.deletion_timestamp.is_none()
        })
        .map(|c| SiblingChange {
            name: c.name_any(),
            version: c.spec.version.clone(),
            phase: c.status.as_ref().and_then(|s| s.phase),
        })
        .collect()
}

async fn read_sql(ctx: &Context, ns: &str, change: &SchemaChange) -> Result<SqlText, Error> {
    if let Some(sql) = &change.spec.sql {
        return Ok(SqlText::Resolved(sql.clone()));
    }
    let Some(source) = &change.spec.sql_from else {
        return Ok(SqlText::Unavailable(
            "neither sql nor sqlFrom is set".to_owned(),
        ));
    };
    let r = &source.config_map_key_ref;
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let Some(cm) = api.get_opt(&r.name).await? else {
        return Ok(SqlText::Unavailable(format!(
            "ConfigMap {} not found in this namespace",
            r.name
        )));
    };
    let text = cm
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key).cloned())
        .or_else(|| {
            cm.binary_data
                .as_ref()
                .and_then(|d| d.get(&r.key))
                .and_then(|b| String::from_utf8(b.0.clone()).ok())
        });
    Ok(match text {
        Some(sql) => SqlText::Resolved(sql),
        None => SqlText::Unavailable(format!("ConfigMap {} has no key {}", r.name, r.key)),
    })
}
