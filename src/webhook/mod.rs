//! The admission webhooks served by the operator (HTTPS): identities recorded from the API
//! request on Approvals (approver) and SchemaChanges (author, GitOps syncer), and who may
//! approve. Its own certificates (`certs`), the HTTPS server (`tls`), the pure identity rules
//! (`identity`) and the endpoints (`admission`).
//!
//! Uses the Kubernetes client, `api` and `workflow` (the approver rules the tally also
//! applies); never the databases or the controllers.

pub mod admission;
pub mod certs;
pub mod identity;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use kube::Client;

/// Paths of the endpoints, as the webhook configurations name them.
pub mod paths {
    /// Mutating, Approvals.
    pub const MUTATE_APPROVAL: &str = "/mutate/approvals";
    /// Validating, Approvals.
    pub const VALIDATE_APPROVAL: &str = "/validate/approvals";
    /// Mutating, SchemaChanges.
    pub const MUTATE_CHANGE: &str = "/mutate/schemachanges";
    /// Validating, SchemaChanges.
    pub const VALIDATE_CHANGE: &str = "/validate/schemachanges";
}

/// Where the serving certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// schemagate's own CA and certificate in a Secret, `caBundle` published to the named
    /// webhook configurations.
    Managed {
        /// Namespace of the Secret (the operator's).
        namespace: String,
        /// Name of the Secret.
        secret: String,
        /// DNS names and IP addresses of the serving certificate.
        names: Vec<String>,
        /// Validating/MutatingWebhookConfigurations whose `caBundle` is kept current.
        configurations: Vec<String>,
    },
    /// `tls.crt` and `tls.key` in a directory (cert-manager; its CA injector sets `caBundle`).
    Directory(PathBuf),
}

/// Settings of the webhook server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// The certificate.
    pub certs: CertSource,
    /// Users whose SchemaChanges carry the author in the `schemagate.io/author` annotation.
    pub gitops_identities: Vec<String>,
    /// How often the certificate is checked for renewal (and re-read).
    pub renew_every: Duration,
}

/// Errors starting the webhook.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Certificates.
    #[error(transparent)]
    Certs(#[from] certs::CertError),
    /// TLS.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Listening or reading certificate files.
    #[error("webhook: {0}")]
    Io(#[from] std::io::Error),
}

/// The endpoints.
pub fn router(admission: Arc<admission::Admission>) -> Router {
    Router::new()
        .route(paths::MUTATE_APPROVAL, post(admission::mutate_approval))
        .route(paths::VALIDATE_APPROVAL, post(admission::validate_approval))
        .route(paths::MUTATE_CHANGE, post(admission::mutate_change))
        .route(paths::VALIDATE_CHANGE, post(admission::validate_change))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(admission)
}

async fn load(client: &Client, source: &CertSource) -> Result<certs::Material, WebhookError> {
    match source {
        CertSource::Managed {
            namespace,
            secret,
            names,
            configurations,
        } => {
            let material = certs::ensure(client, namespace, secret, names).await?;
            certs::publish_ca_bundle(client, configurations, &material.ca_bundle_pem).await?;
            Ok(material)
        }
        CertSource::Directory(dir) => Ok(certs::Material {
            cert_pem: tokio::fs::read_to_string(dir.join("tls.crt")).await?,
            key_pem: tokio::fs::read_to_string(dir.join("tls.key")).await?,
            ca_bundle_pem: String::new(),
        }),
    }
}

/// Binds the listener and loads the certificate; returns the bound address and a future that
/// serves until `shutdown` (renewing the certificate on the way).
///
/// # Errors
/// When the address cannot be bound or no certificate can be had.
pub async fn start(
    client: Client,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, impl std::future::Future<Output = ()> + Send), WebhookError> {
    let listener = tokio::net::TcpListener::bind(settings.addr).await?;
    let addr = listener.local_addr()?;
    let current = Arc::new(tls::CurrentCert::default());
    let material = load(&client, &settings.certs).await?;
    current.set(&material.cert_pem, &material.key_pem)?;
    let app = router(Arc::new(admission::Admission {
        client: client.clone(),
        gitops_identities: settings.gitops_identities.clone(),
    }));
    tracing::info!(%addr, "serving the admission webhooks (HTTPS)");
    let renewing = {
        let current = current.clone();
        async move {
            let mut last = material;
            loop {
                tokio::time::sleep(settings.renew_every).await;
                match load(&client, &settings.certs).await {
                    Ok(material) if material != last => {
                        if let Err(e) = current.set(&material.cert_pem, &material.key_pem) {
                            tracing::warn!(error = %e, "renewed webhook certificate unusable");
                            continue;
                        }
                        tracing::info!("webhook certificate reloaded");
                        last = material;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook certificate check failed"),
                }
            }
        }
    };
    let serve = async move {
        let served = tls::serve(listener, current, app, shutdown);
        tokio::select! {
            result = served => {
                if let Err(e) = result {
                    tracing::error!(error = %e, "admission webhook server failed");
                }
            }
            () = renewing => {}
        }
    };
    Ok((addr, serve))
}
