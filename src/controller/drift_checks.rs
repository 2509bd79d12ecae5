//! The last drift check of each DatabaseInstance run by this process: the schedule of the
//! next one. Memory only; no client calls.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::workflow::instance::LastCheck;

/// The last drift check of each DatabaseInstance (by uid) run by this process. Checks that
/// find what the status already says are not written, so the schedule lives here.
#[derive(Debug, Default)]
pub struct DriftChecks(Mutex<HashMap<String, LastCheck>>);

impl DriftChecks {
    pub(super) fn get(&self, uid: &str) -> Option<LastCheck> {
        self.0.lock().ok().and_then(|m| m.get(uid).cloned())
    }

    pub(super) fn record(&self, uid: &str, check: LastCheck) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(uid.to_owned(), check);
        }
    }
}
