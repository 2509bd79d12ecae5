//! Schema snapshots of a live database: dispatches to the engine's catalog queries, which use a
//! constant number of queries regardless of how many tables exist. Read-only.

use crate::snapshot::Schema;

use super::EngineError;
use super::config::ConnectionConfig;
use super::session::Session;

/// Introspects the session's database. `None` for engines without snapshot support (SQLite).
pub async fn snapshot(s: &mut Session) -> Result<Option<Schema>, EngineError> {
    let mut schema = match s {
        Session::Pg(c) => super::introspect_pg::snapshot(c)
            .await
            .map_err(EngineError::Introspect)?,
        Session::My(c) => super::introspect_my::snapshot(c)
            .await
            .map_err(EngineError::Introspect)?,
        Session::Lite(_) => return Ok(None),
    };
    schema.normalize();
    Ok(Some(schema))
}

/// Connects and snapshots the database of `cfg`.
pub async fn snapshot_database(cfg: &ConnectionConfig) -> Result<Schema, EngineError> {
    let mut s = Session::connect(cfg).await?;
    let r = snapshot(&mut s).await;
    s.close().await;
    r?.ok_or_else(|| EngineError::Config(format!("snapshots are not supported for {}", cfg.engine)))
}
