//! `schemagate run`: the operator — the four controllers in one process, `/metrics`,
//! `/healthz`, `/readyz`, JSON logs on request, leader election on a Lease, graceful shutdown.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use clap::Args;

use crate::controller::{self, Metrics, Settings};

/// Options of `schemagate run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Address of the HTTP server for /metrics, /healthz and /readyz.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,
    /// Reconciles run at once per controller.
    #[arg(long, default_value_t = 4)]
    pub concurrency: u16,
    /// Namespaces to watch (comma-separated); all when unset.
    #[arg(long, env = "SCHEMAGATE_WATCH_NAMESPACES", value_delimiter = ',')]
    pub watch_namespaces: Vec<String>,
    /// Run without leader election (a single replica, tests, `schemagate dev`).
    #[arg(long)]
    pub no_leader_election: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "schemagate-system")]
    pub lease_namespace: String,
    /// Name of the leader-election Lease.
    #[arg(long, default_value = "schemagate-leader")]
    pub lease_name: String,
    /// Identity of this replica (history table, Events, Lease holder).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Seconds a leader's Lease stays valid without renewal (renewed every third of it); a
    /// replica takes over this long after the leader died without releasing it.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(3..=600))]
    pub lease_duration_seconds: u64,
    /// Whether an Approval counts only with an approver recorded by the admission webhook
    /// (`required`, the default: without the webhook anyone could write one), or also without
    /// (`optional`: for clusters where nothing records identities; RBAC on Approvals is then the
    /// only gate).
    #[arg(long, value_enum, env = "SCHEMAGATE_APPROVER_IDENTITY", default_value_t = ApproverIdentity::Required)]
    pub approver_identity: ApproverIdentity,
    /// The admission webhook.
    #[command(flatten)]
    pub webhook: WebhookArgs,
    /// Approving from chat apps.
    #[command(flatten)]
    pub chat: ChatArgs,
}

/// Options of the chat callback server (approve from Slack, Lark, approval links).
#[derive(Debug, Clone, Default, Args)]
pub struct ChatArgs {
    /// Serve the chat callbacks (plain HTTP, behind your ingress) on this address, e.g.
    /// `0.0.0.0:8090`: Slack interactivity at `/chat/slack`, Lark card actions at
    /// `/chat/lark`, approval links at `/chat/link`.
    #[arg(long)]
    pub chat_addr: Option<SocketAddr>,
    /// Secret (in `--lease-namespace`, the operator's namespace) holding
    /// `slack-signing-secret`, `lark-encrypt-key`, `lark-verification-token` and `link-key`;
    /// read on every request.
    #[arg(long, default_value = "schemagate-chat")]
    pub chat_secret: String,
    /// Public base URL of the chat callbacks (e.g. `https://schemagate.example.com`), for the
    /// approval links in notices.
    #[arg(long, env = "SCHEMAGATE_CHAT_PUBLIC_URL")]
    pub chat_public_url: Option<String>,
    /// Slack follow-up messages go only to `response_url`s starting with this (tests point it
    /// at a local receiver).
    #[arg(long, hide = true, default_value = crate::chat::followup::SLACK_RESPONSE_PREFIX)]
    pub chat_slack_response_prefix: String,
    /// The connection to copy for impersonating clients; `None`: the same inferred
    /// configuration as the operator's client (kubeconfig or in-cluster).
    #[arg(skip)]
    pub config: Option<Arc<kube::Config>>,
}

/// See `--approver-identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApproverIdentity {
    /// Approvals without a recorded approver do not count.
    Required,
    /// Approvals without a recorded approver count as one unknown approver.
    Optional,
}

/// Options of the admission webhook served by `schemagate run`.
#[derive(Debug, Clone, Default, Args)]
pub struct WebhookArgs {
    /// Serve the admission webhooks (HTTPS) on this address, e.g. `0.0.0.0:9443`.
    #[arg(long)]
    pub webhook_addr: Option<SocketAddr>,
    /// Serve only the webhooks: no controllers, no leader election.
    #[arg(long, requires = "webhook_addr")]
    pub webhook_only: bool,
    /// Secret (in `--lease-namespace`, the operator's namespace) holding the webhook's own CA
    /// and serving certificate; created and renewed by the operator.
    #[arg(long, default_value = "schemagate-webhook-tls")]
    pub webhook_secret: String,
    /// DNS names and IP addresses of the serving certificate (comma-separated), e.g.
    /// `schemagate-webhook.schemagate-system.svc`.
    #[arg(long, value_delimiter = ',')]
    pub webhook_cert_names: Vec<String>,
    /// Validating- and MutatingWebhookConfigurations whose `caBundle` the operator keeps
    /// current (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub webhook_configurations: Vec<String>,
    /// Read `tls.crt`/`tls.key` from this directory instead of managing a CA (cert-manager).
    #[arg(long)]
    pub webhook_cert_dir: Option<std::path::PathBuf>,
    /// Users (e.g. Argo CD's ServiceAccount `system:serviceaccount:argocd:argocd-application-controller`)
    /// whose SchemaChanges name their author in the `schemagate.io/author` annotation
    /// (comma-separated).
    #[arg(long, env = "SCHEMAGATE_GITOPS_IDENTITIES", value_delimiter = ',')]
    pub gitops_identity: Vec<String>,
    /// Seconds between checks of the webhook certificate (renewal, re-read).
    #[arg(long, default_value_t = 3600)]
    pub webhook_cert_check_seconds: u64,
}

impl WebhookArgs {
    fn settings(&self, addr: SocketAddr, namespace: &str) -> crate::webhook::Settings {
        let certs = match &self.webhook_cert_dir {
            Some(dir) => crate::webhook::CertSource::Directory(dir.clone()),
            None => crate::webhook::CertSource::Managed {
                namespace: namespace.to_owned(),
                secret: self.webhook_secret.clone(),
                names: if self.webhook_cert_names.is_empty() {
                    vec![format!("schemagate-webhook.{namespace}.svc")]
                } else {
                    self.webhook_cert_names.clone()
                },
                configurations: self.webhook_configurations.clone(),
            },
        };
        crate::webhook::Settings {
            addr,
            certs,
            gitops_identities: self.gitops_identity.clone(),
            renew_every: std::time::Duration::from_secs(self.webhook_cert_check_seconds.max(1)),
        }
    }
}

/// Installs the tracing subscriber: JSON when `SCHEMAGATE_LOG_FORMAT=json`, `RUST_LOG` filter.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = std::env::var("SCHEMAGATE_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
}

#[derive(Clone)]
struct HttpState {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

async fn metrics(
    State(s): State<HttpState>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    (
        StatusCode::OK,
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn readyz(State(s): State<HttpState>) -> StatusCode {
    if s.ready.load(Ordering::SeqCst) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The HTTP router for /metrics, /healthz and /readyz.
fn router(metrics_: Arc<Metrics>, ready: Arc<AtomicBool>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(HttpState {
            metrics: metrics_,
            ready,
        })
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the operator with `client` until `shutdown` resolves. Used by `run` and `dev`;
/// `on_ready` is called with the HTTP address once the controllers start (after leadership).
pub async fn operate(
    client: kube::Client,
    args: &RunArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(SocketAddr) + Send,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(args.http_addr).await?;
    let http_addr = listener.local_addr()?;
    tracing::info!(addr = %http_addr, "serving /metrics /healthz /readyz");
    let app = router(metrics.clone(), ready.clone());
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = http_stopped.await;
            })
            .await;
    });
    let identity = args.identity.clone().unwrap_or_else(|| {
        format!(
            "schemagate-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        )
    });
    let settings = Settings {
        identity: identity.clone(),
        namespaces: args
            .watch_namespaces
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect(),
        concurrency: args.concurrency,
        exec: crate::engine::ExecOptions::default(),
        require_approver_identity: args.approver_identity == ApproverIdentity::Required,
        chat_approvals: args.chat.chat_addr.is_some(),
        progress: crate::controller::ProgressSettings::default(),
    };
    let shutdown = futures::FutureExt::shared(Box::pin(shutdown));
    let webhook = match args.webhook.webhook_addr {
        Some(addr) => {
            let settings = args.webhook.settings(addr, &args.lease_namespace);
            let (_, serve) =
                crate::webhook::start(client.clone(), settings, shutdown.clone()).await?;
            Some(tokio::spawn(serve))
        }
        None => None,
    };
    let chat = match args.chat.chat_addr {
        Some(addr) => {
            let config = match &args.chat.config {
                Some(config) => kube::Config::clone(config),
                None => kube::Config::infer().await?,
            };
            let settings = crate::chat::Settings {
                addr,
                namespace: args.lease_namespace.clone(),
                secret: args.chat.chat_secret.clone(),
                slack_response_prefix: args.chat.chat_slack_response_prefix.clone(),
            };
            let (_, serve) =
                crate::chat::start(client.clone(), config, settings, shutdown.clone()).await?;
            Some(tokio::spawn(serve))
        }
        None => None,
    };
    if args.webhook.webhook_only {
        ready.store(true, Ordering::SeqCst);
        on_ready(http_addr);
        shutdown.await;
        for server in [webhook, chat].into_iter().flatten() {
            let _ = server.await;
        }
        let _ = stop_http.send(());
        let _ = http.await;
        return Ok(());
    }
    let elector = (!args.no_leader_election).then(|| {
        let mut elector = controller::leader::Elector::new(
            client.clone(),
            &args.lease_namespace,
            &args.lease_name,
            &identity,
        );
        elector.lease_duration = std::time::Duration::from_secs(args.lease_duration_seconds);
        elector
    });
    let mut on_ready = Some(on_ready);
    // Lead until shut down: a replica that loses its Lease stops its controllers and campaigns
    // again, so two replicas never both stay idle.
    loop {
        if let Some(elector) = &elector {
            tracing::info!(lease = %args.lease_name, namespace = %args.lease_namespace, "waiting for leadership");
            tokio::select! {
                () = elector.acquire() => tracing::info!("became leader"),
                () = shutdown.clone() => break,
            }
        }
        ready.store(true, Ordering::SeqCst);
        if let Some(on_ready) = on_ready.take() {
            on_ready(http_addr);
        }
        let lost_leadership = Arc::new(AtomicBool::new(false));
        let stop = {
            let shutdown = shutdown.clone();
            let elector = elector.clone();
            let lost_leadership = lost_leadership.clone();
            async move {
                let lost = async {
                    match elector {
                        Some(e) => e.hold().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = shutdown => {}
                    () = lost => {
                        tracing::warn!("lost leadership; stopping the controllers");
                        lost_leadership.store(true, Ordering::SeqCst);
                    }
                }
            }
        };
        controller::run(client.clone(), metrics.clone(), settings.clone(), stop).await;
        ready.store(false, Ordering::SeqCst);
        if !lost_leadership.load(Ordering::SeqCst) {
            if let Some(elector) = &elector {
                elector.release().await;
            }
            break;
        }
    }
    for server in [webhook, chat].into_iter().flatten() {
        let _ = server.await;
    }
    let _ = stop_http.send(());
    let _ = http.await;
    tracing::info!("stopped");
    Ok(())
}

/// Runs `schemagate run`.
pub fn run(args: &RunArgs) -> ExitCode {
    init_logging();
    let result = match super::block_on(super::Threads::PerCore, ExitCode::from(2), async {
        let client = kube::Client::try_default().await?;
        operate(client, args, shutdown_signal(), |_| {}).await
    }) {
        Ok(result) => result,
        Err(code) => return code,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "schemagate run failed");
            ExitCode::from(1)
        }
    }
}
