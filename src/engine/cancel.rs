//! Cancelling a running change from another task: no further statement starts, and the
//! running one is interrupted on the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::EngineError;
use super::config::ConnectionConfig;
use super::session::Session;

/// Cancels the change running on an [`Executor`](super::Executor) from another task.
#[derive(Debug, Clone)]
pub struct CancelHandle(Arc<CancelState>);

/// What the handle and the executor share.
#[derive(Debug)]
struct CancelState {
    requested: AtomicBool,
    backend: Mutex<Option<i64>>,
    cfg: ConnectionConfig,
}

impl CancelHandle {
    /// A handle for changes run with `cfg` (the cancel request connects there).
    pub(crate) fn new(cfg: ConnectionConfig) -> Self {
        Self(Arc::new(CancelState {
            requested: AtomicBool::new(false),
            backend: Mutex::new(None),
            cfg,
        }))
    }

    /// Records the server session (backend / connection id) the change runs on, or `None`
    /// when it ended.
    pub(crate) fn set_backend(&self, backend: Option<i64>) {
        if let Ok(mut g) = self.0.backend.lock() {
            *g = backend;
        }
    }
}

impl CancelHandle {
    /// Requests cancellation: no further statement starts, and the running statement is
    /// interrupted (`pg_cancel_backend` / `KILL QUERY`).
    pub async fn cancel(&self) -> Result<(), EngineError> {
        self.0.requested.store(true, Ordering::SeqCst);
        let backend = self.0.backend.lock().map(|g| *g).unwrap_or(None);
        let Some(id) = backend else { return Ok(()) };
        let mut s = Session::connect(&self.0.cfg).await?;
        let r = match &mut s {
            Session::Pg(c) => sqlx::query("SELECT pg_cancel_backend($1::int)")
                .bind(id)
                .execute(c)
                .await
                .map(|_| ()),
            Session::My(_) => s.exec(&format!("KILL QUERY {id}")).await.map(|_| ()),
            Session::Lite(_) => Ok(()),
        };
        s.close().await;
        r.map_err(EngineError::Session)
    }

    /// Whether cancellation was requested.
    pub fn is_requested(&self) -> bool {
        self.0.requested.load(Ordering::SeqCst)
    }
}
