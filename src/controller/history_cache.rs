//! One read of a target database's history table, shared by every SchemaChange that targets it.
//!
//! Without it every reconcile of every change opened a session and read the whole history:
//! with thousands of changes on one database the initial sync was quadratic. Now a database's
//! index (uid, version, status, error of each row, no snapshots) is read once and kept until
//!
//! - an execution by this process starts or ends on that database ([`HistoryCache::invalidate`]),
//! - the DatabaseInstance's uid or generation changes (another database, new settings), or
//! - it is older than the time to live (rows written by anyone else: another operator replica,
//!   a human) — 30 s by default.
//!
//! A stale index can only make a change wait or be recorded late, never run twice: the executor
//! re-reads the history under the database lock before running anything.
//!
//! Reads are single-flight: reconciles asking for the same database while it is being read wait
//! for that read instead of starting their own.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;

use crate::engine::{self, ChangeStatus, ConnectionConfig, EngineError, IndexEntry, Session};
use crate::workflow::{HistoryEntry, HistoryFacts, HistoryStatus, Version};

/// How long an index is trusted when nothing this process did invalidated it.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// What a database's history table holds, indexed for the reconciles of its changes.
#[derive(Debug, Default)]
pub struct HistoryIndex {
    rows: HashMap<String, HistoryEntry>,
    applied: Arc<BTreeSet<Version>>,
}

impl HistoryIndex {
    /// Builds the index from the rows of [`engine::history::index`].
    #[must_use]
    pub fn from_entries(entries: Vec<IndexEntry>) -> Self {
        let mut applied = BTreeSet::new();
        let mut rows = HashMap::with_capacity(entries.len());
        for e in entries {
            if e.status == ChangeStatus::Applied
                && let Ok(v) = Version::parse(&e.version)
            {
                applied.insert(v);
            }
            rows.insert(
                e.change_uid,
                HistoryEntry {
                    status: match e.status {
                        ChangeStatus::Running => HistoryStatus::Running,
                        ChangeStatus::Applied => HistoryStatus::Applied,
                        ChangeStatus::Failed => HistoryStatus::Failed,
                        ChangeStatus::NeedsIntervention => HistoryStatus::NeedsIntervention,
                    },
                    message: e.error,
                },
            );
        }
        Self {
            rows,
            applied: Arc::new(applied),
        }
    }

    /// What the workflow needs to know about the change with this uid. Its own version never
    /// needs excluding from the applied set: a change with a row is decided by that row alone.
    #[must_use]
    pub fn facts(&self, uid: &str) -> HistoryFacts {
        HistoryFacts {
            this_change: self.rows.get(uid).cloned(),
            applied_versions: self.applied.clone(),
        }
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Identity of the DatabaseInstance an index was read for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIdentity {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.generation`.
    pub generation: Option<i64>,
}

#[derive(Debug, Default)]
struct Slot {
    index: Option<(InstanceIdentity, Instant, Arc<HistoryIndex>)>,
}

/// Indexes by DatabaseInstance (`namespace/name`).
#[derive(Debug)]
pub struct HistoryCache {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    ttl: Duration,
    reads: Counter,
}

impl Default for HistoryCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL, Counter::default())
    }
}

/// The cache key of a DatabaseInstance.
#[must_use]
pub fn key(namespace: &str, instance: &str) -> String {
    format!("{namespace}/{instance}")
}

impl HistoryCache {
    /// A cache trusting an index for `ttl`, counting its reads of history tables in `reads`.
    #[must_use]
    pub fn new(ttl: Duration, reads: Counter) -> Self {
        Self {
            slots: Mutex::new(HashMap::new()),
            ttl,
            reads,
        }
    }

    fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        match self.slots.lock() {
            Ok(mut slots) => slots.entry(key.to_owned()).or_default().clone(),
            // A poisoned map only loses sharing: read on our own.
            Err(_) => Arc::default(),
        }
    }

    /// The index of the database behind `key`, read through `cfg` (creating the history table
    /// when missing) unless a fresh one for the same instance identity is at hand.
    pub async fn get(
        &self,
        key: &str,
        identity: &InstanceIdentity,
        cfg: &ConnectionConfig,
    ) -> Result<Arc<HistoryIndex>, EngineError> {
        let slot = self.slot(key);
        let mut slot = slot.lock().await;
        if let Some((id, read_at, index)) = &slot.index
            && id == identity
            && read_at.elapsed() < self.ttl
        {
            return Ok(index.clone());
        }
        slot.index = None;
        let index = Arc::new(read(cfg).await?);
        self.reads.inc();
        slot.index = Some((identity.clone(), Instant::now(), index.clone()));
        Ok(index)
    }

    /// Forgets the index behind `key` (an execution on that database started or ended). Waits
    /// for a read in flight, so a read that began before the execution cannot be kept.
    pub async fn invalidate(&self, key: &str) {
        let slot = self.slot(key);
        slot.lock().await.index = None;
    }

    /// History reads done so far (for tests and metrics).
    #[must_use]
    pub fn reads(&self) -> u64 {
        self.reads.get()
    }
}

async fn read(cfg: &ConnectionConfig) -> Result<HistoryIndex, EngineError> {
    let mut s = Session::connect(cfg).await?;
    let result = async {
        engine::history::ensure(&mut s).await?;
        engine::history::index(&mut s).await
    }
    .await;
    s.close().await;
    Ok(HistoryIndex::from_entries(result?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn entry(uid: &str, version: &str, status: ChangeStatus) -> IndexEntry {
        IndexEntry {
            change_uid: uid.into(),
            namespace: "ns".into(),
            name: uid.into(),
            version: version.into(),
            status,
            error: (status == ChangeStatus::Failed).then(|| "boom".to_owned()),
        }
    }

    #[test]
    fn facts_give_the_own_row_and_only_applied_versions() {
        let index = HistoryIndex::from_entries(vec![
            entry("a", "1", ChangeStatus::Applied),
            entry("b", "2", ChangeStatus::Failed),
            entry("c", "3", ChangeStatus::Running),
            entry("d", "not-a-version!", ChangeStatus::Applied),
        ]);
        assert_eq!(index.len(), 4);
        let b = index.facts("b");
        assert_eq!(
            b.this_change,
            Some(HistoryEntry {
                status: HistoryStatus::Failed,
                message: Some("boom".into())
            })
        );
        let versions: Vec<String> = b.applied_versions.iter().map(ToString::to_string).collect();
        assert_eq!(versions, ["1"]);
        assert_eq!(index.facts("zz").this_change, None);
    }

    #[tokio::test]
    async fn reads_once_until_invalidated_or_the_instance_changes() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ConnectionConfig::sqlite(dir.path().join("db.sqlite"));
        let cache = HistoryCache::default();
        let id = InstanceIdentity {
            uid: "u".into(),
            generation: Some(1),
        };
        let k = key("ns", "db");
        let first = cache.get(&k, &id, &cfg).await.unwrap();
        assert!(first.is_empty());
        // The read created the history table.
        let mut s = Session::connect(&cfg).await.unwrap();
        let row = engine::HistoryRecord {
            change_uid: "x".into(),
            namespace: "ns".into(),
            name: "x".into(),
            version: "7".into(),
            sql_sha256: String::new(),
            status: ChangeStatus::Applied,
            statements_total: 1,
            statements_applied: 1,
            current_statement: None,
            started_at: chrono::Utc::now(),
            finished_at: Some(chrono::Utc::now()),
            approved_by: None,
            author: None,
            operator: "t".into(),
            error: None,
            attempts: 1,
            before_snapshot: None,
            before_digest: None,
            after_snapshot: None,
            after_digest: None,
            before_error: None,
            after_error: None,
        };
        engine::history::upsert(&mut s, &row).await.unwrap();
        s.close().await;

        // Cached: the new row is not seen, and nothing was read.
        assert!(cache.get(&k, &id, &cfg).await.unwrap().is_empty());
        assert_eq!(cache.reads(), 1);
        // An execution on that database invalidates.
        cache.invalidate(&k).await;
        let again = cache.get(&k, &id, &cfg).await.unwrap();
        assert_eq!(again.facts("x").applied_versions.len(), 1);
        assert_eq!(cache.reads(), 2);
        // A new generation of the instance reads again.
        let edited = InstanceIdentity {
            generation: Some(2),
            ..id.clone()
        };
        cache.get(&k, &edited, &cfg).await.unwrap();
        assert_eq!(cache.reads(), 3);
        // Concurrent asks for one database share one read.
        cache.invalidate(&k).await;
        let asks = (0..8).map(|_| cache.get(&k, &edited, &cfg));
        for r in futures::future::join_all(asks).await {
            assert_eq!(r.unwrap().len(), 1);
        }
        assert_eq!(cache.reads(), 4);
    }

    #[tokio::test]
    async fn an_old_index_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ConnectionConfig::sqlite(dir.path().join("db.sqlite"));
        let cache = HistoryCache::new(Duration::ZERO, Counter::default());
        let id = InstanceIdentity {
            uid: "u".into(),
            generation: None,
        };
        cache.get("k", &id, &cfg).await.unwrap();
        cache.get("k", &id, &cfg).await.unwrap();
        assert_eq!(cache.reads(), 2);
    }
}
