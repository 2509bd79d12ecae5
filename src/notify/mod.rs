//! Notifications: what is announced about a change or a database instance, and the request each
//! chat provider expects for it. Pure: no client, no clock, no I/O (the controller reads the
//! Secrets, sends the requests and keeps the delivery records).
//!
//! - [`Notice`] is one announcement (a change reached an event), with a dedupe key that is the
//!   same in every process and after every restart, so a message is recorded once per channel.
//! - [`render`] turns a notice into the provider's own request ([`Outgoing`]): Block Kit for
//!   Slack, an Adaptive Card for Teams, an interactive card for Lark/Feishu, markdown for DingTalk
//!   and WeCom, embeds for Discord, a card for Google Chat, schemagate's JSON for `webhook`.
//!   Signing keys and URLs stay inside the `Outgoing` value and are never formatted.

use serde::{Deserialize, Serialize};

pub use crate::api::{NotificationEvent, NotificationKind, RiskLevel};

/// One announcement: a change (or an instance, for drift) reached an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    /// What happened.
    pub event: NotificationEvent,
    /// Dedupe key: lowercase hex sha256 of the subject's uid, the event and what the event is
    /// about (the SQL digest; the drift snapshot digest). Sent as `X-Schemagate-Delivery`.
    pub key: String,
    /// Namespace of the subject.
    pub namespace: String,
    /// Project the subject belongs to.
    pub project: String,
    /// What the notice is about.
    pub subject: Subject,
    /// One line for the message title, such as `orders/add-email-index is awaiting approval`.
    pub title: String,
    /// The reviewed risk, when there was a review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskLevel>,
    /// sha256 of the reviewed SQL: what an Approval must name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_digest: Option<String>,
    /// Review findings, summarised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<FindingsSummary>,
    /// Who approved (Kubernetes user names), or that the policy approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalSummary>,
    /// Schema diff lines (`+`/`-`/`~` prefixed), at most [`DIFF_LINES`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
    /// How many diff lines were left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub diff_truncated: u32,
    /// Condition reason for failures and drift (`ReviewFailed`, `HistoryMissing`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable detail for failures and drift (already free of credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When the event happened (RFC 3339), from the subject's status.
    pub occurred_at: String,
    /// Approve/reject actions, on `awaitingApproval` notices when chat approvals are set up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<ApprovalActions>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// At most this many diff lines travel in a notice.
pub const DIFF_LINES: usize = 20;
/// At most this many findings travel in a notice.
pub const TOP_FINDINGS: usize = 5;

/// What a notice is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Subject {
    /// A SchemaChange.
    #[serde(rename_all = "camelCase")]
    SchemaChange {
        /// Its name.
        name: String,
        /// Its uid.
        uid: String,
        /// Its version.
        version: String,
        /// The DatabaseInstance it targets.
        instance: String,
        /// That instance's environment, when set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
        /// Its author as the admission webhook recorded it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        author: Option<String>,
        /// Its description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// A DatabaseInstance (drift).
    #[serde(rename_all = "camelCase")]
    DatabaseInstance {
        /// Its name.
        name: String,
        /// Its uid.
        uid: String,
        /// Its environment, when set.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<String>,
    },
}

impl Subject {
    /// The subject's name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::SchemaChange { name, .. } | Self::DatabaseInstance { name, .. } => name,
        }
    }
}

/// Review findings in a notice.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingsSummary {
    /// Number of error findings.
    pub errors: u32,
    /// Number of warning findings.
    pub warnings: u32,
    /// Number of statements reviewed.
    pub statements: u32,
    /// The first findings (errors first), at most [`TOP_FINDINGS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<FindingLine>,
}

/// One finding in a notice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingLine {
    /// `error` or `warning`.
    pub level: String,
    /// Rule id.
    pub rule: String,
    /// Line in the script (1-based).
    pub line: u32,
    /// The finding's message.
    pub message: String,
}

/// Who approved.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalSummary {
    /// Approved by the project's auto-approval policy.
    pub auto: bool,
    /// Approvers' Kubernetes user names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
}

/// Buttons and links for approving from the chat app.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalActions {
    /// Opaque value carried by interactive buttons (Slack `value`, Lark `value`); the callback
    /// endpoint reads the change and digest back from it.
    pub approve_value: String,
    /// The same for rejecting.
    pub reject_value: String,
    /// Signed one-time approval link, for providers without interactive buttons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_url: Option<String>,
}

/// A channel's secrets, read from its Secret when a message is sent. Never `Debug`-printed.
#[derive(Clone)]
pub struct ChannelSecret {
    /// The destination URL (with its token).
    pub url: String,
    /// The signing secret, when the channel has one.
    pub signing_key: Option<String>,
}

impl std::fmt::Debug for ChannelSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelSecret(<redacted>)")
    }
}

/// The HTTP request to send: POST `url` with `headers` and `body`.
#[derive(Clone)]
pub struct Outgoing {
    /// Where to POST (may carry a token or signature in its query: never log it).
    pub url: String,
    /// Headers, `Content-Type` included.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Why a notice could not be turned into a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// The provider requires a signing key and the channel has none.
    #[error("the {0} channel needs a signing key (signingKeySecretRef)")]
    SigningKeyRequired(&'static str),
    /// The destination URL is not an http(s) URL.
    #[error("the destination URL is not an http(s) URL")]
    BadUrl,
    /// An approval button's value or link is longer than the provider accepts.
    #[error("an approval action is longer than {0} accepts in a button")]
    ActionTooLong(&'static str),
}

pub mod actions;
mod due;
mod example;
pub mod inbound;
pub mod ledger;
mod providers;

pub use due::{change_notices, drift_notice};
pub use example::{EXAMPLE_UNIX, example_notice};
pub use providers::{check_response, render};
