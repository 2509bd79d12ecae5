//! The chat callback server (`schemagate run --chat-addr`): approve and reject from Slack
//! buttons, Lark/Feishu card actions and signed approval links. Requests are verified with the
//! keys of one Secret in the operator's namespace (`keys`), deliveries seen before are refused
//! (`replay`), and each decision becomes an Approval created **as the mapped Kubernetes user**
//! through impersonation (`approve`), so the admission webhook and RBAC decide as for any
//! other approver.
//!
//! Uses the Kubernetes client, `api` and `notify` (verification and parsing, pure); never the
//! databases, the controllers or the CLI.

pub mod approve;
pub mod followup;
mod handlers;
pub mod keys;
pub mod replay;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use crate::notify::actions::LINK_PATH;
use crate::notify::inbound::{MAX_BODY_BYTES, MAX_SKEW_SECONDS};

/// Paths of the endpoints.
pub mod paths {
    /// Slack's interactivity request URL.
    pub const SLACK: &str = "/chat/slack";
    /// Lark's card callback URL.
    pub const LARK: &str = "/chat/lark";
}

/// Settings of the callback server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on (plain HTTP; TLS ends at the ingress in front of it).
    pub addr: SocketAddr,
    /// The operator's namespace, where the Secret is.
    pub namespace: String,
    /// Name of the Secret with `slack-signing-secret`, `lark-encrypt-key`,
    /// `lark-verification-token` and `link-key`.
    pub secret: String,
    /// Slack follow-ups go only to `response_url`s starting with this
    /// ([`followup::SLACK_RESPONSE_PREFIX`]).
    pub slack_response_prefix: String,
}

/// What the endpoints share.
pub struct Server {
    client: kube::Client,
    namespace: String,
    secret: String,
    replays: replay::ReplayCache,
    approver: approve::Approver,
    followup: Arc<followup::FollowUp>,
}

/// At most this many deliveries are remembered for replay refusal.
const REPLAY_CAPACITY: usize = 100_000;

/// The endpoints.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .route(paths::SLACK, post(handlers::slack))
        .route(paths::LARK, post(handlers::lark))
        .route(
            LINK_PATH,
            get(handlers::link_page).post(handlers::link_approve),
        )
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

/// Binds the listener; returns the bound address and the future that serves until `shutdown`.
/// `config` is the operator's connection, copied (with impersonation) for each decision.
///
/// # Errors
/// When the address cannot be bound.
pub async fn start(
    client: kube::Client,
    config: kube::Config,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, impl std::future::Future<Output = ()> + Send)> {
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let addr = listener.local_addr()?;
    let server = Arc::new(Server {
        client: client.clone(),
        namespace: settings.namespace,
        secret: settings.secret,
        replays: replay::ReplayCache::new(MAX_SKEW_SECONDS * 2, REPLAY_CAPACITY),
        approver: approve::Approver { client, config },
        followup: Arc::new(followup::FollowUp::new(settings.slack_response_prefix)),
    });
    tracing::info!(%addr, "serving chat approvals (HTTP)");
    let app = router(server);
    let serve = async move {
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "chat callback server failed");
        }
    };
    Ok((addr, serve))
}
