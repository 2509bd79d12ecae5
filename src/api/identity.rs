//! Who sent a request, as the Kubernetes API server authenticated it: the approver on an
//! Approval, the author (and GitOps syncer) on a SchemaChange.
//!
//! CRD types only: no client calls. These fields are written by schemagate's admission webhook
//! from the request's `userInfo`; a value supplied by a user is refused there.

use serde::{Deserialize, Serialize};

/// Annotation on a SchemaChange naming its author (the commit author a GitOps tool passes
/// through). Honoured only when the request comes from a configured GitOps identity; anyone else
/// who sets it is refused.
pub const AUTHOR_ANNOTATION: &str = "schemagate.io/author";

/// A user as the API server authenticated it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestIdentity {
    /// The Kubernetes user name (for a ServiceAccount `system:serviceaccount:<ns>:<name>`).
    #[schemars(length(min = 1, max = 512))]
    pub username: String,
    /// The user's uid, when the authenticator provides one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub uid: Option<String>,
    /// The user's groups at the time of the request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(length(max = 512)))]
    pub groups: Vec<String>,
}

/// The prefix of every ServiceAccount user name.
pub const SERVICE_ACCOUNT_PREFIX: &str = "system:serviceaccount:";

impl RequestIdentity {
    /// Whether this is a ServiceAccount rather than a person.
    #[must_use]
    pub fn is_service_account(&self) -> bool {
        self.username.starts_with(SERVICE_ACCOUNT_PREFIX)
    }
}
