//! What every controller shares: the client, metrics, settings, the caches and in-memory
//! state of this process, and Event publishing through kube's `Recorder`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kube::runtime::events::{Event as KubeEvent, EventType as KubeEventType, Recorder};
use kube::{Client, Resource};

use crate::api::SchemaChange;
use crate::workflow::{EventNote, EventType};

use super::drift_checks::DriftChecks;
use super::executions::Executions;
use super::{Metrics, history_cache, reviews};

/// Operator settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Identity recorded in the history table and on Events (pod name).
    pub identity: String,
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Reconciles run at once per controller.
    pub concurrency: u16,
    /// Executor options (lock waits, retries).
    pub exec: crate::engine::ExecOptions,
    /// Whether an Approval counts only with an approver recorded by the admission webhook
    /// (true wherever the webhook is installed: without it anyone could write one).
    pub require_approver_identity: bool,
    /// Whether this operator serves the chat callbacks (`--chat-addr`): only then do
    /// `awaitingApproval` notices carry Approve/Reject buttons.
    pub chat_approvals: bool,
    /// How often a running change's progress is read and written to its status.
    pub progress: super::progress::ProgressSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            identity: "schemagate".to_owned(),
            namespaces: Vec::new(),
            concurrency: 4,
            exec: crate::engine::ExecOptions::default(),
            require_approver_identity: true,
            chat_approvals: false,
            progress: super::progress::ProgressSettings::default(),
        }
    }
}

/// State shared by every controller.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub settings: Settings,
    pub(super) recorder: Recorder,
    /// Executions run by this process.
    pub(super) executions: Arc<Executions>,
    /// The SchemaChange controller's cache (siblings and project counts are read from it, not
    /// listed per reconcile).
    pub(super) changes: std::sync::OnceLock<kube::runtime::reflector::Store<SchemaChange>>,
    /// Target databases' history, read once per database and shared by its changes.
    pub(super) history: Arc<history_cache::HistoryCache>,
    /// The reviews this process computed (decisions never read a review back from status).
    pub(super) reviews: reviews::Reviews,
    /// Consecutive connection failures per DatabaseInstance uid (for backoff).
    pub(super) failures: Mutex<HashMap<String, u32>>,
    /// The last drift check of each DatabaseInstance (the schedule of the next one).
    pub(super) drift_checks: DriftChecks,
    /// Notification sending and each channel's health.
    pub(super) notifier: super::notifications::Notifier,
}

impl Context {
    fn publish_note(&self, note: &EventNote) -> KubeEvent {
        KubeEvent {
            type_: match note.type_ {
                EventType::Normal => KubeEventType::Normal,
                EventType::Warning => KubeEventType::Warning,
            },
            reason: note.reason.clone(),
            note: Some(truncate(&note.message, 1000)),
            action: "Reconcile".to_owned(),
            secondary: None,
        }
    }

    /// Publishes an Event on `obj` and logs it (Events are published on transitions only, so
    /// every refusal and failure is logged once, with its reason); a failure to publish is
    /// logged, never fatal.
    pub async fn publish<K>(&self, obj: &K, note: &EventNote)
    where
        K: Resource<DynamicType = ()>,
    {
        let kind = K::kind(&());
        match note.type_ {
            EventType::Normal => {
                tracing::info!(%kind, reason = %note.reason, message = %note.message, "event");
            }
            EventType::Warning => {
                tracing::warn!(%kind, reason = %note.reason, message = %note.message, "event");
            }
        }
        let event = self.publish_note(note);
        if let Err(e) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, "publishing an Event failed");
        }
    }
}

/// `text` cut to at most `max` bytes (on a character boundary), with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
