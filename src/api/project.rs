//! `Project`: groups database instances and holds the review, approval and notification policy.
//!
//! CRD types only: no client calls.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::schema_change::RiskLevel;

/// Specification of a Project.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "schemagate.io",
    version = "v1alpha1",
    kind = "Project",
    plural = "projects",
    singular = "project",
    shortname = "sgproj",
    category = "schemagate",
    namespaced,
    status = "ProjectStatus",
    derive = "PartialEq",
    doc = "A team's project: which database instances its changes may target, how their SQL is \
           reviewed, who approves them and who is told.",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Preset","type":"string","jsonPath":".spec.review.preset","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ProjectSpec {
    /// Names of the DatabaseInstances (same namespace) that this project's changes may target.
    #[schemars(length(min = 1, max = 256))]
    pub instances: Vec<String>,
    /// SQL review policy.
    #[serde(default)]
    pub review: ReviewPolicy,
    /// Approval policy.
    #[serde(default)]
    pub approval: ApprovalPolicy,
    /// Where to send notifications about this project's changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<NotificationTarget>,
}

/// A review preset.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ReviewPreset {
    /// Modelled on Bytebase's development template: most rules warn, few block.
    #[default]
    Default,
    /// Modelled on Bytebase's production template: most rules are errors.
    Strict,
}

/// The level of a review rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    /// A finding blocks the change (`ReviewFailed`).
    Error,
    /// A finding is reported but does not block.
    Warning,
    /// The rule does not run.
    Disabled,
}

/// SQL review policy: a preset plus per-rule overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewPolicy {
    /// The preset to start from: `default` or `strict`. Defaults to `default`.
    #[serde(default)]
    pub preset: ReviewPreset,
    /// Per-rule overrides of level and options, by Bytebase-compatible rule id
    /// (for example `table.require-pk` or `naming.index.idx`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleOverride>,
}

/// One rule's level and options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleOverride {
    /// Rule id, such as `column.no-null` (Bytebase's dotted id; its enum spelling such as
    /// `COLUMN_NO_NULL` is accepted too).
    #[schemars(length(min = 1, max = 128))]
    pub id: String,
    /// `error`, `warning` or `disabled`.
    pub level: RuleLevel,
    /// Rule options, in the shape Bytebase documents for the rule (for example
    /// `{"format": "^idx_{{table}}_{{column_list}}$", "maxLength": 64}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_unknown_object")]
    pub payload: Option<serde_json::Value>,
}

/// Who may approve, how many approvals are needed and what is approved automatically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalPolicy {
    /// Users and groups whose Approvals count. When both lists are empty, anyone allowed by
    /// Kubernetes RBAC to create Approvals in the namespace may approve.
    #[serde(default)]
    pub approvers: Approvers,
    /// How many distinct approvers must approve. Defaults to 1.
    #[serde(default = "default_required_approvals")]
    #[schemars(range(min = 1, max = 10))]
    pub required_approvals: u32,
    /// Whether the author of a change may approve it. Defaults to false.
    #[serde(default)]
    pub allow_self_approval: bool,
    /// Rules under which a change is approved without an Approval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auto_approve: Vec<AutoApproveRule>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            approvers: Approvers::default(),
            required_approvals: default_required_approvals(),
            allow_self_approval: false,
            auto_approve: Vec::new(),
        }
    }
}

fn default_required_approvals() -> u32 {
    1
}

/// Users and groups allowed to approve.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Approvers {
    /// Kubernetes user names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Kubernetes groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// Approve automatically when the target's environment is listed and the reviewed risk is at or
/// below `maxRisk`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoApproveRule {
    /// Environments (DatabaseInstance `spec.environment`) this rule applies to.
    #[schemars(length(min = 1))]
    pub environments: Vec<String>,
    /// Highest risk approved automatically: `LOW`, `MODERATE` or `HIGH`. Defaults to `LOW`.
    #[serde(default)]
    pub max_risk: RiskLevel,
}

/// A notification destination.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationTarget {
    /// A name for this target, used in Events and metrics.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// Payload format: `webhook` (schemagate's JSON), `slack` or `teams`.
    #[serde(rename = "type", default)]
    pub kind: NotificationKind,
    /// Secret key holding the destination URL (URLs of chat webhooks carry tokens).
    pub url_secret_ref: super::database_instance::SecretKeyRef,
    /// Phases to notify about; all transitions when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<super::schema_change::Phase>,
}

/// Payload format of a notification target.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// schemagate's own JSON document.
    #[default]
    Webhook,
    /// Slack incoming webhook.
    Slack,
    /// Microsoft Teams incoming webhook.
    Teams,
}

/// Observed state of a Project.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatus {
    /// `Ready`: the review and approval policies are valid.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = kube::core::cel::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Number of this project's SchemaChanges in each phase.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, u32>,
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
