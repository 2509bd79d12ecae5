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
    /// Check the review's impact prediction against the server during the review, on
    /// non-production instances only: each statement runs in a transaction that is always
    /// rolled back (it really takes its locks, for at most 5 s of waiting, and really rewrites
    /// what it rewrites, on the instance's database), and `status.review.verification` says
    /// where the prediction was wrong. PostgreSQL only. Off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyPolicy>,
}

/// Where the review verifies its impact prediction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyPolicy {
    /// Environments (DatabaseInstance `spec.environment`) whose instances are verified. An
    /// instance without an environment never is, and neither is one whose environment reads as
    /// production (`prod`, `production`, `prd`, or starting with `prod-` or `production-`, in
    /// any case), even when listed: verification runs statements on the real database.
    #[schemars(length(min = 1, max = 32))]
    pub environments: Vec<String>,
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
    /// Chat accounts that may approve from a chat app (buttons in the `awaitingApproval`
    /// message), each mapped to the Kubernetes user it acts as.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_identities: Vec<ChatIdentity>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            approvers: Approvers::default(),
            required_approvals: default_required_approvals(),
            allow_self_approval: false,
            auto_approve: Vec::new(),
            chat_identities: Vec::new(),
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

/// A notification channel: one chat room or webhook receiver.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationTarget {
    /// A name for this channel, unique in the project; used in Events, metrics, the delivery
    /// records and the `NotificationsHealthy` condition.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    pub name: String,
    /// Message format and provider: `webhook` (schemagate's JSON document, HMAC-signed when a
    /// signing key is given), `slack`, `teams`, `lark` (Lark/Feishu), `dingtalk`, `wecom`,
    /// `discord` or `googlechat`.
    #[serde(rename = "type", default)]
    pub kind: NotificationKind,
    /// Secret key holding the destination URL. Chat webhook URLs carry tokens: they are read
    /// when a message is sent and never written to logs, Events or status.
    pub url_secret_ref: super::database_instance::SecretKeyRef,
    /// Secret key holding the signing secret: required by `lark` and `dingtalk` robots with
    /// signature verification on, and signs `webhook` deliveries (`X-Schemagate-Signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_secret_ref: Option<super::database_instance::SecretKeyRef>,
    /// Which events this channel hears about; all of them when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<NotificationEvent>,
    /// Changes reviewed below this risk are not announced here (drift is always announced).
    /// Defaults to `LOW`: everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_risk: Option<RiskLevel>,
    /// At most this many messages per minute to this channel (chat providers throttle robots;
    /// Slack allows about one message per second). Defaults to 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 600))]
    pub rate_per_minute: Option<u32>,
}

/// A moment in a change's life that is announced.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub enum NotificationEvent {
    /// The review finished: risk and findings (for the author).
    Reviewed,
    /// The change waits for Approvals: the exact SQL digest to approve (for the approvers).
    AwaitingApproval,
    /// The change was approved (by whom) or approved automatically.
    Approved,
    /// The change ran and was recorded: the schema diff.
    Applied,
    /// The change failed, was rejected, failed review, or needs a human.
    Failed,
    /// A database instance's schema drifted from what schemagate recorded.
    Drifted,
}

impl NotificationEvent {
    /// Every event, in the order of a change's life.
    pub const ALL: [Self; 6] = [
        Self::Reviewed,
        Self::AwaitingApproval,
        Self::Approved,
        Self::Applied,
        Self::Failed,
        Self::Drifted,
    ];

    /// The event's name as written in manifests and delivery records.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewed => "reviewed",
            Self::AwaitingApproval => "awaitingApproval",
            Self::Approved => "approved",
            Self::Applied => "applied",
            Self::Failed => "failed",
            Self::Drifted => "drifted",
        }
    }
}

/// Message format and provider of a notification channel.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// schemagate's own JSON document, signed with HMAC-SHA256 when a signing key is given.
    #[default]
    Webhook,
    /// Slack incoming webhook (Block Kit).
    Slack,
    /// Microsoft Teams incoming webhook / Workflows (Adaptive Card).
    Teams,
    /// Lark / Feishu custom bot (interactive card; signed when the bot requires it).
    Lark,
    /// DingTalk custom robot (markdown; signed when the robot requires it).
    #[serde(rename = "dingtalk")]
    DingTalk,
    /// WeCom (WeChat Work) group robot (markdown).
    #[serde(rename = "wecom")]
    WeCom,
    /// Discord webhook (embeds).
    Discord,
    /// Google Chat incoming webhook (cards v2).
    #[serde(rename = "googlechat")]
    GoogleChat,
}

impl NotificationKind {
    /// The provider's name as written in manifests.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Teams => "teams",
            Self::Lark => "lark",
            Self::DingTalk => "dingtalk",
            Self::WeCom => "wecom",
            Self::Discord => "discord",
            Self::GoogleChat => "googlechat",
        }
    }
}

/// A chat account allowed to approve from a chat app, and the Kubernetes user it acts as.
/// The operator creates the Approval impersonating `user` (and `groups`), so the admission
/// webhook records that user and Kubernetes RBAC decides whether they may approve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatIdentity {
    /// The chat app: `slack`, `lark` or `teams`.
    pub provider: NotificationKind,
    /// The account's id in that app (Slack user id such as `U024BE7LH`, Lark open_id, Teams
    /// AAD object id).
    #[schemars(length(min = 1, max = 128))]
    pub id: String,
    /// The Kubernetes user name to act as.
    #[schemars(length(min = 1, max = 253))]
    pub user: String,
    /// The Kubernetes groups to act with (each must be allowed by the operator's impersonation
    /// RBAC).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
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
