//! Schema snapshots of a live database: dispatches to the engine's catalog queries, which use a
//! constant number of queries regardless of how many tables exist. Read-only.

use crate::snapshot::Schema;
pub use crate::snapshot::SnapshotOptions;

use super::EngineError;
use super::config::ConnectionConfig;
use super::session::Session;
use crate::sqltext::Engine;

/// Introspects the session's database. `None` when the engine has no snapshot support (all three have it today).
pub async fn snapshot(s: &mut Session) -> Result<Option<Schema>, EngineError> {
    snapshot_with(s, SnapshotOptions::default()).await
}

/// [`snapshot`] with options.
pub async fn snapshot_with(
    s: &mut Session,
    opts: SnapshotOptions,
) -> Result<Option<Schema>, EngineError> {
    let mut schema = match s {
        Session::Pg(c) => super::introspect_pg::snapshot(c, opts)
            .await
            .map_err(EngineError::Introspect)?,
        Session::My(c) => super::introspect_my::snapshot(c, opts)
            .await
            .map_err(EngineError::Introspect)?,
        Session::Lite(c) => super::introspect_sqlite::snapshot(c)
            .await
            .map_err(EngineError::Introspect)?,
    };
    schema.normalize();
    Ok(Some(schema))
}

/// Introspects the session's database in one read-only transaction, so the catalog queries
/// agree with each other: PostgreSQL `REPEATABLE READ, READ ONLY` (one MVCC snapshot), SQLite a
/// deferred read transaction. MySQL/MariaDB's data dictionary is not transactional, so there
/// the queries simply run in a row. Call outside any transaction; the session is left outside
/// one, also when a query fails.
pub async fn snapshot_consistent(s: &mut Session) -> Result<Option<Schema>, EngineError> {
    let begin = match s {
        Session::Pg(_) => Some("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"),
        Session::Lite(_) => Some("BEGIN DEFERRED"),
        Session::My(_) => None,
    };
    let Some(begin) = begin else {
        return snapshot(s).await;
    };
    s.exec(begin).await.map_err(EngineError::Introspect)?;
    let result = snapshot(s).await;
    // Read-only: ending it either way changes nothing.
    let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
    if let Err(e) = s.exec(end).await
        && result.is_ok()
    {
        return Err(EngineError::Introspect(e));
    }
    result
}

/// Connects and snapshots the database of `cfg`.
pub async fn snapshot_database(cfg: &ConnectionConfig) -> Result<Schema, EngineError> {
    snapshot_database_with(cfg, SnapshotOptions::default()).await
}

/// [`snapshot_database`] with options.
pub async fn snapshot_database_with(
    cfg: &ConnectionConfig,
    opts: SnapshotOptions,
) -> Result<Schema, EngineError> {
    if cfg.engine == Engine::Postgres {
        // Several connections in one exported snapshot: about twice as fast on large
        // catalogs. One per core of this machine, two to three: each also costs the server a
        // backend and its cold caches, and on two cores a third made it slower (BENCHMARKS.md).
        let n = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 3));
        let sessions = super::introspect_pg::timed!(
            "connect",
            futures::future::try_join_all((0..n).map(|_| Session::connect(cfg))).await
        )?;
        let mut conns = Vec::with_capacity(n);
        for s in sessions {
            let Session::Pg(c) = s else {
                return Err(EngineError::Config("unexpected session kind".into()));
            };
            conns.push(c);
        }
        let mut a = conns.remove(0);
        let r = super::introspect_pg::timed!(
            "snapshot_parallel",
            super::introspect_pg::snapshot_parallel(&mut a, conns, opts).await
        );
        let _ = sqlx::Connection::close(a).await;
        let mut schema = r.map_err(EngineError::Introspect)?;
        super::introspect_pg::timed!("normalize", schema.normalize());
        return Ok(schema);
    }
    let mut s = Session::connect(cfg).await?;
    let r = snapshot_with(&mut s, opts).await;
    s.close().await;
    r?.ok_or_else(|| EngineError::Config(format!("snapshots are not supported for {}", cfg.engine)))
}
