//! The SchemaChange finalizer, added on first sight and removed when the workflow releases the
//! change (`Release`, `CancelAndRelease`). Removing it never touches the database.
//!
//! kube's `finalizer()` helper does not fit here: it removes the finalizer as soon as its
//! cleanup step returns, but a change deleted while this process applies it keeps its finalizer
//! until the cancelled run has ended and the reconcile it triggers records the outcome (the
//! helper could only be held off by reporting a failure); and a new change is reviewed in the
//! same reconcile that adds the finalizer rather than in the next one.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

use crate::api::schema_change::SchemaChange;
use crate::controller::{Error, FINALIZER};

pub(super) fn has_finalizer(change: &SchemaChange) -> bool {
    change.finalizers().iter().any(|f| f == FINALIZER)
}

pub(super) async fn add_finalizer(
    api: &Api<SchemaChange>,
    change: &SchemaChange,
    name: &str,
) -> Result<(), Error> {
    let mut finalizers = change.finalizers().to_vec();
    finalizers.push(FINALIZER.to_owned());
    let patch = serde_json::json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": change.resource_version() }
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

pub(super) async fn remove_finalizer(
    api: &Api<SchemaChange>,
    change: &SchemaChange,
    name: &str,
) -> Result<(), Error> {
    let finalizers: Vec<&String> = change
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .collect();
    let patch = serde_json::json!({
        "metadata": { "finalizers": finalizers, "resourceVersion": change.resource_version() }
    });
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
