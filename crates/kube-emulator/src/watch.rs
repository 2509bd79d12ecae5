//! Watch streams: replay from a resourceVersion out of bounded history (410 Gone beyond it),
//! initial events, BOOKMARKs and timeouts; must not modify objects.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::error::{ApiError, ApiResult};
use crate::handlers::{ApiRequest, Filter, present};
use crate::registry::ResourceType;
use crate::server::{Body, Shared, stream_response};
use crate::store::{EventType, StoredEvent};
use crate::table;

struct Encoder {
    rt: ResourceType,
    table: bool,
    include_object: String,
}

impl Encoder {
    fn line(&self, kind: &str, obj: Value) -> Bytes {
        let object = if self.table && kind != "BOOKMARK" && kind != "ERROR" {
            let rv = obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            table::table(&self.rt, &[obj], &rv, None, &self.include_object, true)
        } else {
            obj
        };
        let mut bytes =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        bytes.push(b'\n');
        Bytes::from(bytes)
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        self.line(
            "BOOKMARK",
            json!({"kind": self.rt.kind, "apiVersion": self.rt.api_version(), "metadata": meta}),
        )
    }

    fn gone(&self, rv: u64) -> Bytes {
        let status = ApiError::gone(format!("too old resource version: {rv}")).to_status();
        self.line("ERROR", status)
    }
}

/// What a watcher should see for a stored event, with selector transitions.
fn classify(ev: &StoredEvent, rt: &ResourceType, filter: &Filter) -> Option<(&'static str, Value)> {
    if ev.key != rt.storage_key() {
        return None;
    }
    let now = filter.matches(&ev.object);
    let before = ev.previous.as_ref().is_some_and(|p| filter.matches(p));
    let kind = match ev.kind {
        EventType::Added if now => "ADDED",
        EventType::Modified if now && before => "MODIFIED",
        EventType::Modified if now => "ADDED",
        EventType::Modified if before => "DELETED",
        EventType::Deleted if now || before => "DELETED",
        _ => return None,
    };
    Some((kind, present(rt, ev.object.clone())))
}

/// Starts a watch stream.
pub async fn watch(shared: Arc<Shared>, req: ApiRequest) -> ApiResult<Response<Body>> {
    let filter = Filter::from_request(&req)?;
    let q = |k: &str| req.query.get(k).map(String::as_str);
    let send_initial = q("sendInitialEvents") == Some("true");
    let bookmarks = q("allowWatchBookmarks") == Some("true");
    let timeout = q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .unwrap_or(1800);
    let from: Option<u64> = match q("resourceVersion").filter(|r| !r.is_empty() && *r != "0") {
        Some(r) => Some(
            r.parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version {r:?}")))?,
        ),
        None => None,
    };
    let enc = Encoder {
        rt: req.rt.clone(),
        table: req.table,
        include_object: q("includeObject").unwrap_or("Metadata").to_string(),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut initial: Vec<Bytes> = Vec::new();
    let (mut events, start_rv) = {
        let store = shared.store.lock().await;
        let start_rv = store.current_rv();
        if send_initial || from.is_none() {
            for obj in store.list(&req.rt, filter.namespace.as_deref()) {
                if filter.matches(obj) {
                    initial.push(enc.line("ADDED", present(&req.rt, obj.clone())));
                }
            }
            if send_initial {
                initial.push(enc.bookmark(start_rv, true));
            }
        } else if let Some(rv) = from {
            if rv < store.compacted_through() {
                initial.push(enc.gone(rv));
                drop(store);
                tokio::spawn(async move {
                    for b in initial {
                        let _ = tx.send(b).await;
                    }
                });
                return Ok(stream_response(rx, req.table));
            }
            for ev in store.history_since(rv) {
                if let Some((kind, obj)) = classify(&ev, &req.rt, &filter) {
                    initial.push(enc.line(kind, obj));
                }
            }
        }
        (store.subscribe(), start_rv)
    };
    let mut shutdown = shared.shutdown.clone();
    let interval = shared.bookmark_interval;
    let rt = req.rt.clone();
    tokio::spawn(async move {
        for b in initial {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        let mut last_rv = start_rv;
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => {
                        last_rv = last_rv.max(ev.rv);
                        if let Some((kind, obj)) = classify(&ev, &rt, &filter)
                            && tx.send(enc.line(kind, obj)).await.is_err() {
                                return;
                            }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(enc.gone(last_rv)).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    if tx.send(enc.bookmark(last_rv, false)).await.is_err() {
                        return;
                    }
                }
                _ = &mut deadline => return,
                _ = shutdown.changed() => return,
                _ = tx.closed() => return,
            }
        }
    });
    Ok(stream_response(rx, req.table))
}
