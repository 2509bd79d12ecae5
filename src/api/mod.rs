//! CRD types of group `schemagate.io`, version `v1alpha1`: one file per kind plus the shared
//! condition constants. Types only — no client calls, no database access.

pub mod approval;
pub mod conditions;
pub mod database_instance;
pub mod project;
mod schema;
pub mod schema_change;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use approval::{Approval, ApprovalSpec, ApprovalStatus, Decision};
pub use database_instance::{
    DatabaseInstance, DatabaseInstanceSpec, DatabaseInstanceStatus, Engine,
};
pub use project::{Project, ProjectSpec, ProjectStatus};
pub use schema_change::{Phase, RiskLevel, SchemaChange, SchemaChangeSpec, SchemaChangeStatus};

/// The API group.
pub const GROUP: &str = "schemagate.io";
/// The API version.
pub const VERSION: &str = "v1alpha1";

/// A count (of statements, findings, lines …) as status holds it: `u32`, the CRD schema's
/// integer. A larger count, which no real script reaches, saturates at `u32::MAX`.
#[must_use]
pub fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The CRDs of all four kinds, in a stable order.
#[must_use]
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        DatabaseInstance::crd(),
        Project::crd(),
        SchemaChange::crd(),
        Approval::crd(),
    ]
}

/// One CRD as a YAML document (with a leading `---`).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml_ng::Error> {
    Ok(format!("---\n{}", serde_yaml_ng::to_string(crd)?))
}

/// All CRDs as multi-document YAML, as printed by `schemagate crd`.
pub fn crds_yaml() -> Result<String, serde_yaml_ng::Error> {
    crds().iter().map(crd_yaml).collect()
}
