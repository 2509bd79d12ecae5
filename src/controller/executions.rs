//! The changes executing in this process (with their cancel handles and the database they
//! run on) and how finished runs ended, by SchemaChange uid. Memory only; no client calls.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::engine::{CancelHandle, ExecutionReport};

/// How an execution run by this process ended.
#[derive(Debug, Clone)]
pub enum Finished {
    /// The executor reported; the history table has the row.
    Report(ExecutionReport),
    /// The executor failed before recording anything; `transient` errors are retried.
    Error {
        /// The error chain (free of credentials).
        message: String,
        /// Whether retrying may succeed.
        transient: bool,
    },
}

/// Changes executing in this process (with cancel handles and the database they run on) and
/// the ends of finished runs, by uid.
#[derive(Debug, Default)]
pub struct Executions {
    running: Mutex<HashMap<String, Running>>,
    finished: Mutex<HashMap<String, Finished>>,
}

/// A change executing in this process.
#[derive(Debug)]
struct Running {
    handle: CancelHandle,
    /// The history cache key of its DatabaseInstance (`history_cache::key`).
    database: String,
}

impl Executions {
    /// The cancel handle of a change running here.
    pub fn running(&self, uid: &str) -> Option<CancelHandle> {
        self.running
            .lock()
            .ok()
            .and_then(|m| m.get(uid).map(|r| r.handle.clone()))
    }

    /// Marks a change as running on the DatabaseInstance of `database` (its history cache key).
    pub fn start(&self, uid: &str, database: &str, handle: CancelHandle) {
        if let Ok(mut m) = self.running.lock() {
            m.insert(
                uid.to_owned(),
                Running {
                    handle,
                    database: database.to_owned(),
                },
            );
        }
    }

    /// Whether this process is executing a change on the DatabaseInstance of `database` (its
    /// history cache key): a drift snapshot then waits, instead of queueing behind the change's
    /// locks or reading its half-done schema.
    pub fn executing_on(&self, database: &str) -> bool {
        self.running
            .lock()
            .map(|m| m.values().any(|r| r.database == database))
            .unwrap_or(false)
    }

    /// Marks a change as finished.
    pub fn finish(&self, uid: &str, end: Finished) {
        if let Ok(mut m) = self.finished.lock() {
            m.insert(uid.to_owned(), end);
        }
        if let Ok(mut m) = self.running.lock() {
            m.remove(uid);
        }
    }

    /// How the last run of a change here ended, if not yet recorded.
    pub fn finished(&self, uid: &str) -> Option<Finished> {
        self.finished.lock().ok().and_then(|m| m.get(uid).cloned())
    }

    /// Forgets a recorded run.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.finished.lock() {
            m.remove(uid);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::controller::history_cache;

    #[test]
    fn executions_know_which_instance_they_run_on() {
        let executions = Executions::default();
        let handle = crate::engine::Executor::new(
            crate::engine::ConnectionConfig::sqlite("/nonexistent/db.sqlite"),
            crate::engine::ExecOptions::default(),
        )
        .cancel_handle();
        let db = history_cache::key("ns", "db");
        assert!(!executions.executing_on(&db));
        executions.start("uid-1", &db, handle);
        assert!(executions.executing_on(&db));
        assert!(!executions.executing_on(&history_cache::key("ns", "other")));
        assert!(executions.running("uid-1").is_some());
        executions.finish(
            "uid-1",
            Finished::Error {
                message: "x".into(),
                transient: true,
            },
        );
        assert!(
            !executions.executing_on(&db),
            "a finished run frees the instance"
        );
    }
}
