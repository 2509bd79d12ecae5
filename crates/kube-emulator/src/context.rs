//! Request identity and the extension points for authentication and admission; must not touch
//! the store directly (hooks see copies of objects).

use std::future::Future;
use std::pin::Pin;

use hyper::HeaderMap;
use serde_json::Value;

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// User name, e.g. `system:anonymous`.
    pub username: String,
    /// Groups, e.g. `system:authenticated`.
    pub groups: Vec<String>,
}

impl UserInfo {
    /// The identity used when no authenticator is configured.
    pub fn admin() -> Self {
        Self {
            username: "kube-emulator-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }
}

/// Everything the pipeline knows about a request before it touches the store.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Who is calling (after impersonation, when an authenticator allows it).
    pub user: UserInfo,
    /// Kubernetes verb: get, list, watch, create, update, patch, delete.
    pub verb: String,
    /// The field manager derived from `fieldManager` or the User-Agent.
    pub field_manager: String,
    /// `dryRun=All` was requested (the change is computed but not persisted).
    pub dry_run: bool,
}

/// Why a request was turned away before it reached a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No valid credentials: 401 Unauthorized, as the API server answers.
    Unauthenticated,
    /// Known caller, but not allowed to act as the impersonated user or group: 403 Forbidden
    /// with this message (the API server's wording, e.g. `users "alice" is forbidden: User
    /// "bob" cannot impersonate resource "users" in API group "" at the cluster scope`).
    ImpersonationForbidden(String),
}

/// Turns request headers into a user.
/// The default accepts everyone as an admin; a token-based one can replace it.
pub trait Authenticator: Send + Sync + 'static {
    /// Authenticates a request from its headers (e.g. `Authorization: Bearer ...`,
    /// `Impersonate-User`).
    fn authenticate(&self, headers: &HeaderMap) -> Result<UserInfo, AuthError>;
}

/// Accepts every request as [`UserInfo::admin`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Authenticator for AllowAll {
    fn authenticate(&self, _headers: &HeaderMap) -> Result<UserInfo, AuthError> {
        Ok(UserInfo::admin())
    }
}

/// Bearer-token authentication with a fixed token table, like the API server's static token
/// file. Members of `system:masters` may impersonate others with `Impersonate-User` and
/// `Impersonate-Group` headers; anyone else asking to is refused with 403, as the API server
/// refuses a caller whose RBAC lacks the `impersonate` verb (the emulator has no RBAC, so only
/// `system:masters` holds it). Requests without a known token are rejected (401) unless
/// anonymous access is allowed, in which case they run as `system:anonymous`.
#[derive(Debug, Clone, Default)]
pub struct StaticTokens {
    tokens: std::collections::HashMap<String, UserInfo>,
    allow_anonymous: bool,
}

impl StaticTokens {
    /// An empty table (every request rejected until tokens are added).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token for a user.
    pub fn token(mut self, token: impl Into<String>, user: UserInfo) -> Self {
        self.tokens.insert(token.into(), user);
        self
    }

    /// Lets requests without a token through as `system:anonymous`.
    pub fn allow_anonymous(mut self) -> Self {
        self.allow_anonymous = true;
        self
    }
}

impl Authenticator for StaticTokens {
    fn authenticate(&self, headers: &HeaderMap) -> Result<UserInfo, AuthError> {
        let bearer = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let user = match bearer {
            Some(token) => self
                .tokens
                .get(token)
                .cloned()
                .ok_or(AuthError::Unauthenticated)?,
            None if self.allow_anonymous => UserInfo {
                username: "system:anonymous".into(),
                groups: vec!["system:unauthenticated".into()],
            },
            None => return Err(AuthError::Unauthenticated),
        };
        let Some(target) = headers
            .get("impersonate-user")
            .and_then(|v| v.to_str().ok())
        else {
            return Ok(user);
        };
        if !user.groups.iter().any(|g| g == "system:masters") {
            return Err(AuthError::ImpersonationForbidden(format!(
                "users \"{target}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" \
                 in API group \"\" at the cluster scope",
                user.username
            )));
        }
        let mut groups: Vec<String> = headers
            .get_all("impersonate-group")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        groups.push("system:authenticated".into());
        Ok(UserInfo {
            username: target.to_string(),
            groups,
        })
    }
}

/// What an admission hook is asked about (a subset of `AdmissionRequest`).
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    /// The caller.
    pub user: UserInfo,
    /// CREATE, UPDATE or DELETE.
    pub operation: String,
    /// API group of the resource.
    pub group: String,
    /// API version of the resource.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// `status` for the status subresource.
    pub subresource: Option<String>,
    /// Namespace (empty for cluster-scoped).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// The object about to be persisted (absent on DELETE).
    pub object: Option<Value>,
    /// The current stored object (absent on CREATE).
    pub old_object: Option<Value>,
}

/// An admission hook's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum AdmissionResponse {
    /// Persist as is.
    Allow,
    /// Persist this mutated object instead.
    Mutate(Value),
    /// Reject with 403 and this message (reported like a webhook denial).
    Deny(String),
}

/// Boxed future returned by [`AdmissionHook::admit`].
pub type AdmitFuture<'a> = Pin<Box<dyn Future<Output = AdmissionResponse> + Send + 'a>>;

/// Called for every write after validation and before persisting (mutating then validating).
/// Writes are serialized while a hook runs, so a hook must not call back into the emulator.
pub trait AdmissionHook: Send + Sync + 'static {
    /// Decides on one write.
    fn admit<'a>(&'a self, request: &'a AdmissionRequest) -> AdmitFuture<'a>;
}
