//! The notifier's state in this process: the sender (HTTP client, rate limits) and the health
//! of each channel, which the Project controller turns into `NotificationsHealthy`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use futures::channel::mpsc::UnboundedSender;
use kube::runtime::reflector::ObjectRef;

use crate::api::Project;

use super::send;

/// The notifier's state in this process: the sender and each channel's last outcome.
#[derive(Default)]
pub struct Notifier {
    pub(super) sender: send::Sender,
    /// Per project (`namespace/name`), per channel: the last delivery error, `None` after a
    /// success.
    health: Mutex<HashMap<String, BTreeMap<String, Option<String>>>>,
    /// Wakes the Project controller when a channel's health changed.
    wake_projects: std::sync::OnceLock<UnboundedSender<ObjectRef<Project>>>,
}

impl Notifier {
    /// Where to send the Projects whose channel health changed.
    pub fn wake_projects_with(&self, sender: UnboundedSender<ObjectRef<Project>>) {
        let _ = self.wake_projects.set(sender);
    }

    /// The failing channels of `namespace/project` and their last errors, or `None` when no
    /// delivery was tried in this process.
    #[must_use]
    pub fn health(&self, namespace: &str, project: &str) -> Option<BTreeMap<String, String>> {
        let health = self.health.lock().ok()?;
        let channels = health.get(&format!("{namespace}/{project}"))?;
        Some(
            channels
                .iter()
                .filter_map(|(c, e)| Some((c.clone(), e.clone()?)))
                .collect(),
        )
    }

    pub(super) fn record_health(
        &self,
        namespace: &str,
        project: &str,
        channel: &str,
        error: Option<&str>,
    ) {
        let changed = self.health.lock().is_ok_and(|mut health| {
            let channels = health.entry(format!("{namespace}/{project}")).or_default();
            let new = error.map(str::to_owned);
            let old = channels.insert(channel.to_owned(), new.clone());
            // A first success, a new failure or a recovery changes the condition; the same
            // failure again does not.
            old.map(|o| o.is_some()) != Some(new.is_some())
        });
        if changed && let Some(wake) = self.wake_projects.get() {
            let _ = wake.unbounded_send(ObjectRef::<Project>::new(project).within(namespace));
        }
    }
}
