//! `schemagate review --url`: the live database as review context, and `--verify`: the
//! predicted impact checked against what PostgreSQL does, in transactions that are always
//! rolled back.

use std::fmt::Write as _;

use crate::engine::{ConnectionConfig, Session, error_chain, stats};
use crate::review::impact::verify;
use crate::review::{Catalog, Engine, Policy, Report};
use crate::sqltext;

use super::review_output::FileReport;

/// The database given with `--url`, and its schema as a review catalog.
pub(super) struct Live {
    pub(super) cfg: ConnectionConfig,
    catalog: Catalog,
    runtime: tokio::runtime::Runtime,
}

impl Live {
    /// Connects to `url` (checked against `--engine`) and reads its schema and table sizes.
    pub(super) fn connect(url: &str, engine: Option<Engine>) -> Result<Self, String> {
        let engine = engine.map(|e| e.to_string());
        let cfg = super::snapshot::config(url, engine.as_deref())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let catalog = runtime
            .block_on(crate::controller::live_schema::catalog(&cfg))
            .map_err(|e| e.to_string())?;
        Ok(Self {
            cfg,
            catalog,
            runtime,
        })
    }

    /// The live catalog, for a review in `engine` (which must be the database's).
    pub(super) fn catalog_for(&self, engine: Engine) -> Result<Catalog, String> {
        if engine != self.cfg.engine {
            return Err(format!(
                "a {engine} change cannot be reviewed against a {} database",
                self.cfg.engine
            ));
        }
        Ok(self.catalog.clone())
    }

    /// Runs the rules that need the live database on `sql`'s report (see
    /// `controller::live_schema::run_live_rules`).
    pub(super) fn run_live_rules(&self, sql: &str, policy: &Policy, report: &mut Report) {
        if report.engine != self.cfg.engine {
            return;
        }
        self.runtime
            .block_on(crate::controller::live_schema::run_live_rules(
                &self.cfg, sql, policy, report,
            ));
    }

    /// Runs each reviewed script statement by statement in a transaction that is rolled back
    /// and reports, per statement with a predicted or observed impact, whether the server did
    /// what the review predicted.
    pub(super) fn verify(&self, reports: &[FileReport], sql: &[String]) -> Result<String, String> {
        if self.cfg.engine != Engine::Postgres {
            return Err(format!(
                "--verify runs on PostgreSQL; on {} the impact model is checked by the server \
                 itself when the statement names ALGORITHM=INSTANT|INPLACE, LOCK=NONE",
                self.cfg.engine
            ));
        }
        let mut out = String::from("\nverification (each script in a transaction, rolled back):\n");
        let (mut checked, mut disagreements, mut refused) = (0, 0, 0);
        for (file, sql) in reports.iter().zip(sql) {
            let statements: Vec<sqltext::split::RawStatement<'_>> =
                sqltext::split::split(sql, Engine::Postgres).collect();
            let texts: Vec<&str> = statements.iter().map(|s| s.text).collect();
            let steps = self.runtime.block_on(observe(&self.cfg, &texts))?;
            let label = match &file.object {
                Some(object) => format!("{} ({object})", file.path),
                None => file.path.clone(),
            };
            for (statement, step) in statements.iter().zip(steps) {
                let predicted: Vec<_> = file
                    .report
                    .impacts
                    .iter()
                    .filter(|i| i.statement == statement.index)
                    .cloned()
                    .collect();
                let at = format!(
                    "{label}: statement {} (line {})",
                    statement.index + 1,
                    statement.line
                );
                let observed = match step {
                    Ok(observed) => observed,
                    Err(e) => {
                        let _ = writeln!(
                            out,
                            "  {at}: not verified (nor what follows), the server refused it in a \
                             transaction: {e}"
                        );
                        refused += 1;
                        break;
                    }
                };
                if predicted.is_empty() && observed.is_empty() {
                    continue;
                }
                checked += 1;
                match verify::disagreement(statement.text, &predicted, &observed) {
                    None => {
                        let _ = writeln!(out, "  {at}: as predicted");
                    }
                    Some(d) => {
                        disagreements += 1;
                        let _ = writeln!(out, "  {at}: {d}");
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "{checked} statement(s) with an impact checked, {disagreements} not as predicted, \
             {refused} script(s) stopped by the server"
        );
        Ok(out)
    }
}

/// Observes the statements on a new session with short lock and statement timeouts (a
/// verification never queues behind production traffic for long).
async fn observe(
    cfg: &ConnectionConfig,
    statements: &[&str],
) -> Result<Vec<Result<Vec<verify::Observed>, String>>, String> {
    let mut session = Session::connect(cfg).await.map_err(|e| error_chain(&e))?;
    let result = async {
        session
            .exec("SET lock_timeout = '5s'; SET statement_timeout = '120s'")
            .await
            .map_err(crate::engine::EngineError::Introspect)?;
        let Session::Pg(conn) = &mut session else {
            return Ok(Vec::new());
        };
        stats::observe_pg_steps(conn, statements).await
    }
    .await;
    session.close().await;
    let steps = result.map_err(|e| error_chain(&e))?;
    Ok(steps
        .into_iter()
        .map(|step| {
            step.map(|tables| crate::controller::live_schema::observed(&tables))
                .map_err(|e| error_chain(&e))
        })
        .collect())
}
