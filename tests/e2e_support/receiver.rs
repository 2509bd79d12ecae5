//! A real HTTP receiver for notification tests: accepts, refuses (503) or hangs on demand and
//! keeps every delivery it accepted, with headers and body.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

/// How the receiver answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 200 and keep the delivery.
    Accept = 0,
    /// 503 Service Unavailable.
    Refuse = 1,
    /// Never answer.
    Hang = 2,
}

/// One accepted delivery.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// Headers, lower-case names.
    pub headers: BTreeMap<String, String>,
    /// The raw body.
    pub raw: Vec<u8>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: serde_json::Value,
}

impl Delivery {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Shared {
    mode: AtomicU8,
    attempts: AtomicUsize,
    accepted: Mutex<Vec<Delivery>>,
}

/// The receiver; stops when dropped.
pub struct Receiver {
    /// Base URL (`http://127.0.0.1:port`); any path is accepted.
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.attempts.fetch_add(1, Ordering::SeqCst);
    match shared.mode.load(Ordering::SeqCst) {
        1 => StatusCode::SERVICE_UNAVAILABLE,
        2 => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
        _ => {
            let delivery = Delivery {
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                    .collect(),
                body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                raw: body.to_vec(),
            };
            shared.accepted.lock().unwrap().push(delivery);
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Starts a receiver on a free local port, in `mode`.
    pub async fn start(mode: Mode) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        shared.mode.store(mode as u8, Ordering::SeqCst);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, shared, task })
    }

    /// Changes how it answers from now on.
    pub fn set(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Requests received, whatever the answer.
    pub fn attempts(&self) -> usize {
        self.shared.attempts.load(Ordering::SeqCst)
    }

    /// Accepted deliveries, in order of arrival.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.shared.accepted.lock().unwrap().clone()
    }

    /// Events (`X-Schemagate-Event`) of the accepted deliveries, once per delivery key (what a
    /// receiver honouring the dedupe key sees), in order of first arrival.
    pub fn distinct_events(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.accepted()
            .into_iter()
            .filter(|d| seen.insert(d.header("x-schemagate-delivery").to_owned()))
            .map(|d| d.header("x-schemagate-event").to_owned())
            .collect()
    }

    /// Waits until a delivery of `event` was accepted; returns it.
    pub async fn wait_for(&self, event: &str, timeout: Duration) -> Result<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(d) = self
                .accepted()
                .into_iter()
                .find(|d| d.header("x-schemagate-event") == event)
            {
                return Ok(d);
            }
            if Instant::now() > deadline {
                bail!(
                    "no {event} delivery within {timeout:?}; got {:?}",
                    self.distinct_events()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
