//! Thin Kubernetes glue: one controller per kind, each reconcile is observe (async reads) →
//! `workflow::decide` → act once → report (status subresource patch, Event on transitions).
//!
//! The only module (with `main.rs`) that uses both kube and the database engine. No decision
//! logic lives here: what to do next comes from `crate::workflow`.

pub mod approval;
pub mod connection;
pub mod database_instance;
pub mod history_cache;
pub mod leader;
pub mod live_schema;
pub mod metrics;
pub mod notifications;
pub mod progress;
pub mod project;
pub mod reviews;
pub mod schema_change;
pub mod snapshots;
mod status_patch;

mod context;
mod drift_checks;
mod error;
mod executions;
mod runtime;

use std::time::Duration;

use kube::Resource;

pub use context::{Context, Settings};
pub use error::Error;
pub use executions::{Executions, Finished};
pub use metrics::Metrics;
pub use progress::ProgressSettings;
pub use runtime::run;

/// Name of the finalizer schemagate puts on SchemaChanges.
pub const FINALIZER: &str = "schemagate.io/finalizer";

/// Capped exponential backoff: 1 s, 2 s, 4 s … at most 5 minutes.
#[must_use]
pub fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(8)).min(Duration::from_secs(300))
}

/// Namespace and name of a namespaced object.
fn ns_name<K: Resource>(obj: &K) -> Result<(String, String), Error> {
    let ns = obj
        .meta()
        .namespace
        .clone()
        .ok_or(Error::MissingField("namespace"))?;
    let name = obj.meta().name.clone().ok_or(Error::MissingField("name"))?;
    Ok((ns, name))
}

/// One reconcile of `obj`: `run(namespace, name)` inside a span naming the controller and the
/// object, counted with its duration under `controller` in the metrics.
async fn instrumented<K, Fut>(
    obj: &K,
    ctx: &Context,
    controller: &'static str,
    run: impl FnOnce(String, String) -> Fut,
) -> Result<kube::runtime::controller::Action, Error>
where
    K: Resource<DynamicType = ()>,
    Fut: std::future::Future<Output = Result<kube::runtime::controller::Action, Error>>,
{
    use tracing::Instrument as _;
    let started = std::time::Instant::now();
    let (ns, name) = ns_name(obj)?;
    let kind = K::kind(&());
    let span = tracing::info_span!("reconcile", controller, %kind, namespace = %ns, name = %name);
    let result = run(ns, name).instrument(span).await;
    ctx.metrics.reconciled(controller, started.elapsed());
    result
}

/// The current time as a Kubernetes `Time`.
fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(8), Duration::from_secs(256));
        assert_eq!(backoff(50), Duration::from_secs(256));
    }
}
