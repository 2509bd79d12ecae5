//! The target database as review context: its schema (from a snapshot), server version and
//! table sizes. Shared by the operator's review and `schemagate review --url`, so both reach
//! the same verdict; and what the server did, in the impact model's terms, for `--verify`.

use crate::engine::{self, ConnectionConfig, Session};
use crate::review::Catalog;
use crate::review::catalog::TableSize;
use crate::review::impact::{Lock, verify};

/// Why the live schema could not serve as review context.
#[derive(Debug, thiserror::Error)]
pub enum LiveSchemaError {
    /// The schema could not be read.
    #[error("reading the live schema failed: {0}")]
    Snapshot(String),
    /// The snapshot's DDL could not be turned into a review catalog.
    #[error("the live schema could not be read as a review catalog: {0}")]
    Catalog(#[from] crate::review::CatalogError),
}

/// The live schema of `cfg`'s database as a review catalog, with the server version and table
/// sizes for impact analysis. Sizes that cannot be read leave the impact without sizes (logged).
///
/// # Errors
/// The schema cannot be read, or its DDL cannot be loaded as a catalog.
pub async fn catalog(cfg: &ConnectionConfig) -> Result<Catalog, LiveSchemaError> {
    let schema = engine::introspect::snapshot_database(cfg)
        .await
        .map_err(|e| LiveSchemaError::Snapshot(engine::error_chain(&e)))?;
    let mut catalog = Catalog::from_ddl(cfg.engine, &schema.canonical_ddl())?;
    match read_stats(cfg).await {
        Ok(stats) => catalog.add_live_stats(
            &stats.version,
            stats.tables.iter().map(|t| {
                let size = TableSize {
                    rows: t.rows,
                    bytes: t.bytes,
                };
                (t.schema.as_str(), t.name.as_str(), size)
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %engine::error_chain(&e), "table sizes unavailable for review");
        }
    }
    Ok(catalog)
}

async fn read_stats(
    cfg: &ConnectionConfig,
) -> Result<engine::stats::DatabaseStats, engine::EngineError> {
    let mut s = engine::Session::connect(cfg).await?;
    let r = engine::stats::database_stats(&mut s).await;
    s.close().await;
    r
}

/// What PostgreSQL reported of statements (`engine::stats::observe_pg_steps`), in the impact
/// model's terms: the strongest lock mode each statement added to a table, and the strongest an
/// earlier statement already held.
#[must_use]
pub fn observed(tables: &[engine::stats::ObservedTable]) -> Vec<verify::Observed> {
    let strongest = |modes: &[String]| modes.iter().filter_map(|m| Lock::from_pg_mode(m)).max();
    tables
        .iter()
        .map(|t| verify::Observed {
            table: t.name.clone(),
            lock: strongest(&t.modes),
            new_file: t.new_file,
            seq_scans: t.seq_scans,
            held_before: strongest(&t.held),
        })
        .collect()
}

/// Verifies the predicted impacts of `sql` (a PostgreSQL script) on `cfg`'s database: runs the
/// statements one after the other in one transaction that is always rolled back, on a new
/// session with short lock and statement timeouts (a verification never queues behind
/// production traffic for long), and compares what the server did with `predicted`.
/// Shared by `schemagate review --verify` and the operator's `spec.review.verify`.
///
/// # Errors
/// Not PostgreSQL, or the session, `BEGIN`, the catalog queries or the rollback failed.
pub async fn verify_script(
    cfg: &ConnectionConfig,
    sql: &str,
    predicted: &[crate::review::impact::Impact],
) -> Result<Vec<verify::StatementVerdict>, String> {
    use crate::sqltext::{self, Engine};
    if cfg.engine != Engine::Postgres {
        return Err(format!(
            "verification runs on PostgreSQL; on {} the impact model is checked by the server \
             itself when the statement names ALGORITHM=INSTANT|INPLACE, LOCK=NONE",
            cfg.engine
        ));
    }
    let statements: Vec<sqltext::split::RawStatement<'_>> =
        sqltext::split::split(sql, Engine::Postgres).collect();
    let texts: Vec<&str> = statements.iter().map(|s| s.text).collect();
    let observed = observe(cfg, &texts).await?;
    let steps: Vec<verify::Step<'_>> = statements
        .iter()
        .map(|s| verify::Step {
            statement: s.index,
            line: s.line,
            text: s.text,
        })
        .collect();
    Ok(verify::compare(&steps, predicted, observed))
}

async fn observe(
    cfg: &ConnectionConfig,
    statements: &[&str],
) -> Result<Vec<Result<Vec<verify::Observed>, String>>, String> {
    let mut session = Session::connect(cfg)
        .await
        .map_err(|e| engine::error_chain(&e))?;
    let result = async {
        session
            .exec("SET lock_timeout = '5s'; SET statement_timeout = '120s'")
            .await
            .map_err(engine::EngineError::Introspect)?;
        let Session::Pg(conn) = &mut session else {
            return Ok(Vec::new());
        };
        engine::stats::observe_pg_steps(conn, statements).await
    }
    .await;
    session.close().await;
    let steps = result.map_err(|e| engine::error_chain(&e))?;
    Ok(steps
        .into_iter()
        .map(|step| {
            step.map(|tables| observed(&tables))
                .map_err(|e| engine::error_chain(&e))
        })
        .collect())
}
