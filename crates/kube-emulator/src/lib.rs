//! Kubernetes API emulator (test and playground infrastructure, not product): an in-memory
//! API server over real HTTP on 127.0.0.1 for `kube::Client`, kube-rs controllers and kubectl.
//! It must never be used against production data; see `LIMITATIONS.md` for what it does not do.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kube_emulator::EmulatorError> {
//! let emu = kube_emulator::Emulator::start().await?;
//! let client = emu.client().await?;
//! emu.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?;
//! emu.shutdown().await;
//! # Ok(()) }
//! ```

mod cel_rules;
pub mod context;
mod convert;
pub mod discovery;
pub mod error;
mod fieldpath;
mod fields;
mod handlers;
pub mod patch;
mod protobuf;
pub mod registry;
pub mod selectors;
mod server;
mod store;
pub mod table;
pub mod validation;
mod watch;
mod write;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, watch as watch_channel};
use tokio::task::{JoinHandle, JoinSet};

pub use context::{
    AdmissionHook, AdmissionRequest, AdmissionResponse, AdmitFuture, AllowAll, AuthError,
    Authenticator, RequestContext, StaticTokens, UserInfo,
};
/// Request headers as seen by an [`Authenticator`].
pub use http::HeaderMap;

/// Errors from starting or talking to the emulator.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// Binding or reading the listening socket failed.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the kubeconfig failed.
    #[error("cannot write kubeconfig {path}")]
    WriteKubeconfig {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The server URL did not parse (should not happen).
    #[error("invalid server url")]
    Url(#[source] http::uri::InvalidUri),
    /// Building a kube client failed.
    #[error("cannot build kube client")]
    Client(#[source] kube::Error),
}

/// Configures an emulator before starting it.
pub struct EmulatorBuilder {
    addr: SocketAddr,
    history_limit: usize,
    bookmark_interval: Duration,
    authenticator: Arc<dyn Authenticator>,
    admission: Vec<Arc<dyn AdmissionHook>>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            history_limit: 20_000,
            bookmark_interval: Duration::from_secs(1),
            authenticator: Arc::new(AllowAll),
            admission: Vec::new(),
        }
    }
}

impl EmulatorBuilder {
    /// Listen address (default `127.0.0.1:0`, an ephemeral port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// How many change events are kept for watches resuming from an old resourceVersion
    /// (older ones get `410 Gone`). Default 20,000.
    pub fn history_limit(mut self, events: usize) -> Self {
        self.history_limit = events;
        self
    }

    /// Interval between BOOKMARK events on watches that allow them. Default 1 s.
    pub fn bookmark_interval(mut self, every: Duration) -> Self {
        self.bookmark_interval = every;
        self
    }

    /// Replaces the authenticator (default: everyone is an admin).
    pub fn authenticator(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.authenticator = auth;
        self
    }

    /// Adds an admission hook, called for every write before it is persisted.
    pub fn admission_hook(mut self, hook: Arc<dyn AdmissionHook>) -> Self {
        self.admission.push(hook);
        self
    }

    /// Binds the socket and starts serving; ready when this returns.
    pub async fn start(self) -> Result<EmulatorHandle, EmulatorError> {
        let listener =
            TcpListener::bind(self.addr)
                .await
                .map_err(|source| EmulatorError::Bind {
                    addr: self.addr.to_string(),
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: self.addr.to_string(),
                source,
            })?;
        let (stop_tx, stop_rx) = watch_channel::channel(false);
        let shared = Arc::new(server::Shared {
            store: Mutex::new(store::Store::new(self.history_limit)),
            authenticator: self.authenticator,
            admission: self.admission,
            bookmark_interval: self.bookmark_interval,
            shutdown: stop_rx.clone(),
        });
        let task = tokio::spawn(serve(listener, shared, stop_rx));
        Ok(EmulatorHandle {
            addr,
            stop: stop_tx,
            task: Some(task),
        })
    }
}

async fn serve(
    listener: TcpListener,
    shared: Arc<server::Shared>,
    mut stop: watch_channel::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                connections.spawn(async move {
                    let svc = service_fn(move |req| server::handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    connections.shutdown().await;
}

/// The emulator entry point.
pub struct Emulator;

impl Emulator {
    /// Starts an emulator on an ephemeral port of 127.0.0.1 with default settings.
    pub async fn start() -> Result<EmulatorHandle, EmulatorError> {
        EmulatorBuilder::default().start().await
    }

    /// A builder for non-default settings.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// A running emulator; stops serving when dropped or on [`EmulatorHandle::shutdown`].
pub struct EmulatorHandle {
    addr: SocketAddr,
    stop: watch_channel::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmulatorHandle {
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig document (YAML) pointing at this emulator, namespace `default`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: {url}\ncontexts:\n- name: kube-emulator\n  context:\n    cluster: kube-emulator\n    user: kube-emulator\n    namespace: default\ncurrent-context: kube-emulator\nusers:\n- name: kube-emulator\n  user: {{}}\npreferences: {{}}\n",
            url = self.url()
        )
    }

    /// A kubeconfig document for one user authenticating with a bearer token (for use with a
    /// [`StaticTokens`] authenticator). The token is written to the file as given; use only
    /// throwaway test tokens.
    pub fn kubeconfig_yaml_with_token(&self, user: &str, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-emulator\n  cluster:\n    server: {url}\ncontexts:\n- name: {user}\n  context:\n    cluster: kube-emulator\n    user: {user}\n    namespace: default\ncurrent-context: {user}\nusers:\n- name: {user}\n  user:\n    token: {token}\npreferences: {{}}\n",
            url = self.url()
        )
    }

    /// A `kube::Config` that authenticates with a bearer token.
    pub fn kube_config_with_token(&self, token: &str) -> Result<kube::Config, EmulatorError> {
        let mut config = self.kube_config()?;
        config.auth_info.token = Some(token.to_string().into());
        Ok(config)
    }

    /// Writes the kubeconfig to `path` (written to a temporary file and renamed into place,
    /// so a reader never sees a partial file).
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), EmulatorError> {
        let tmp = path.with_extension("tmp-kube-emulator");
        let err = |source| EmulatorError::WriteKubeconfig {
            path: path.display().to_string(),
            source,
        };
        std::fs::write(&tmp, self.kubeconfig_yaml()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// A `kube::Config` for this emulator (namespace `default`).
    pub fn kube_config(&self) -> Result<kube::Config, EmulatorError> {
        let uri: http::Uri = self.url().parse().map_err(EmulatorError::Url)?;
        let mut config = kube::Config::new(uri);
        config.default_namespace = "default".into();
        config.read_timeout = None;
        Ok(config)
    }

    /// A `kube::Client` for this emulator.
    pub async fn client(&self) -> Result<kube::Client, EmulatorError> {
        kube::Client::try_from(self.kube_config()?).map_err(EmulatorError::Client)
    }

    /// Stops accepting connections, ends open watches and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
