//! `Approval`: a DBA's decision on one SchemaChange, bound to the exact SQL digest reviewed.
//!
//! CRD types only: no client calls.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Specification of an Approval. Immutable: to change a decision, delete the Approval and
/// create another.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "schemagate.io",
    version = "v1alpha1",
    kind = "Approval",
    plural = "approvals",
    singular = "approval",
    shortname = "sgappr",
    category = "schemagate",
    namespaced,
    status = "ApprovalStatus",
    derive = "PartialEq",
    doc = "A decision (approve or reject) on one SchemaChange, valid only for the SQL digest it \
           quotes. The approver's identity is recorded by schemagate, never taken from the spec.",
    printcolumn = r#"{"name":"Change","type":"string","jsonPath":".spec.schemaChangeRef"}"#,
    printcolumn = r#"{"name":"Decision","type":"string","jsonPath":".spec.decision"}"#,
    printcolumn = r#"{"name":"Approver","type":"string","jsonPath":".spec.approver.username"}"#,
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.conditions[?(@.type==\"Accepted\")].status","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("an Approval is immutable: delete it and create another"))]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSpec {
    /// Name of the SchemaChange (same namespace) this decision is about.
    #[schemars(length(min = 1, max = 253))]
    pub schema_change_ref: String,
    /// The SchemaChange's `status.sqlDigest` (64 hex characters) at the time of the decision.
    /// An Approval whose digest differs from the change's does not count.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sql_digest: String,
    /// The SchemaChange's `metadata.uid`, when the approver wants to bind the decision to that
    /// exact object (recommended; `schemagate dev` and the awaiting-approval message print it).
    /// Without it the Approval still only counts for a SchemaChange created before it, and only
    /// when it was created after that change's latest review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128))]
    pub schema_change_uid: Option<String>,
    /// `approve` or `reject`.
    pub decision: Decision,
    /// Why, for the record and for notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub comment: Option<String>,
    /// Who made the decision: written by schemagate's admission webhook from the API request
    /// (a value in the request is refused) and immutable like the rest of the spec. An Approval
    /// without it does not count where the operator requires recorded approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<super::identity::RequestIdentity>,
}

/// An approver's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Let the change run.
    Approve,
    /// Stop the change for good.
    Reject,
}

/// Observed state of an Approval.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalStatus {
    /// `Accepted`: whether the Approval counts, and if not, why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = kube::core::cel::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The approver's user name as recorded by the admission webhook (`spec.approver`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
