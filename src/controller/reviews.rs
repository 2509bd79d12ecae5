//! The reviews this process computed, by SchemaChange uid. Decisions use only these, never the
//! review recorded in `status` (anyone with status RBAC can write that). After a restart every
//! change on its way to execution is reviewed again.
//!
//! Memory only; no client calls.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::workflow::ReviewOutcome;

/// Reviews by SchemaChange uid; an entry lives while its change may still execute.
#[derive(Debug, Default)]
pub struct Reviews(Mutex<HashMap<String, ReviewOutcome>>);

impl Reviews {
    /// The last review computed for the change with this uid.
    pub fn get(&self, uid: &str) -> Option<ReviewOutcome> {
        self.0.lock().ok().and_then(|m| m.get(uid).cloned())
    }

    /// Keeps `review` as the change's latest review.
    pub fn put(&self, uid: &str, review: ReviewOutcome) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(uid.to_owned(), review);
        }
    }

    /// Drops the change's review (it is final, or gone).
    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(uid);
        }
    }

    /// How many reviews are kept.
    pub fn len(&self) -> usize {
        self.0.lock().map_or(0, |m| m.len())
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
