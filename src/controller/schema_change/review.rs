//! Review: the SQL reviewed with the project's policy and the live schema as catalog context,
//! when the workflow asks for it (`Decision::Review`). No decision here: the outcome goes back
//! to `workflow::decide`.

use crate::controller::Context;
use crate::engine::{self, ConnectionConfig};
use crate::review::Catalog;
use crate::review::catalog::TableSize;
use crate::sqltext::Engine;
use crate::workflow::{Observed, ReviewOutcome, SqlText};

use super::observe::Target;

/// Reviews the SQL with the project's policy and the live schema as catalog context.
pub(super) async fn run_review(
    ctx: &Context,
    observed: &Observed,
    target: &Target,
) -> ReviewOutcome {
    let SqlText::Resolved(sql) = &observed.sql else {
        return ReviewOutcome::default();
    };
    let (Some(project), Some(instance)) = (&observed.project, &target.instance) else {
        return ReviewOutcome::default();
    };
    let engine = instance.spec.engine;
    let catalog = match &target.config {
        Some(cfg) => live_catalog(cfg, engine).await,
        None => None,
    };
    // The workflow only asks for a review once the project's policy is valid. The same call
    // serves `schemagate review` given the Project's manifest: one verdict.
    let Ok(report) =
        crate::workflow::review_for_project(&project.spec.review, sql, engine, catalog.as_ref())
    else {
        return ReviewOutcome::default();
    };
    for finding in &report.findings {
        ctx.metrics.finding(&finding.rule);
    }
    ReviewOutcome::from_report(&report)
}

/// The live schema as review context, with the server version and table sizes for impact
/// analysis; `None` when the schema cannot be read (the review then only sees what the script
/// itself creates). Sizes that cannot be read leave the impact without sizes.
async fn live_catalog(cfg: &ConnectionConfig, engine: Engine) -> Option<Catalog> {
    if cfg.engine == Engine::Sqlite {
        return None;
    }
    let mut catalog = match engine::introspect::snapshot_database(cfg).await {
        Ok(schema) => match Catalog::from_ddl(engine, &schema.canonical_ddl()) {
            Ok(catalog) => catalog,
            Err(e) => {
                // A gap in the review's parser, not in the database: said, never silent.
                tracing::warn!(error = %e, "live schema unreadable for review");
                return None;
            }
        },
        Err(e) => {
            tracing::warn!(error = %engine::error_chain(&e), "live schema unavailable for review");
            return None;
        }
    };
    match read_stats(cfg).await {
        Ok(stats) => add_stats(&mut catalog, &stats),
        Err(e) => {
            tracing::warn!(error = %engine::error_chain(&e), "table sizes unavailable for review");
        }
    }
    Some(catalog)
}

async fn read_stats(
    cfg: &ConnectionConfig,
) -> Result<engine::stats::DatabaseStats, engine::EngineError> {
    let mut s = engine::Session::connect(cfg).await?;
    let r = engine::stats::database_stats(&mut s).await;
    s.close().await;
    r
}

/// Puts the server version and table sizes into the catalog.
fn add_stats(catalog: &mut Catalog, stats: &engine::stats::DatabaseStats) {
    catalog.add_live_stats(
        &stats.version,
        stats.tables.iter().map(|t| {
            let size = TableSize {
                rows: t.rows,
                bytes: t.bytes,
            };
            (t.schema.as_str(), t.name.as_str(), size)
        }),
    );
}
