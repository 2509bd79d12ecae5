//! `schemagate review --url`: the live database as review context, and `--verify`: the
//! predicted impact checked against what PostgreSQL does, in transactions that are always
//! rolled back.

use std::fmt::Write as _;

use crate::engine::ConnectionConfig;
use crate::review::impact::verify;
use crate::review::{Catalog, Engine};

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
            let verdicts = self
                .runtime
                .block_on(crate::controller::live_schema::verify_script(
                    &self.cfg,
                    sql,
                    &file.report.impacts,
                ))?;
            let label = match &file.object {
                Some(object) => format!("{} ({object})", file.path),
                None => file.path.clone(),
            };
            for v in verdicts {
                let at = format!("{label}: statement {} (line {})", v.statement + 1, v.line);
                match v.verdict {
                    verify::Verdict::AsPredicted => {
                        checked += 1;
                        let _ = writeln!(out, "  {at}: as predicted");
                    }
                    verify::Verdict::Differs(d) => {
                        checked += 1;
                        disagreements += 1;
                        let _ = writeln!(out, "  {at}: {d}");
                    }
                    verify::Verdict::Refused(e) => {
                        refused += 1;
                        let _ = writeln!(
                            out,
                            "  {at}: not verified (nor what follows), the server refused it in a \
                             transaction: {e}"
                        );
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
