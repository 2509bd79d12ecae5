//! Review: the SQL reviewed with the project's policy and the live schema as catalog context,
//! when the workflow asks for it (`Decision::Review`), and its impact prediction verified on the
//! database where the project asks for it (`spec.review.verify`). No decision here: the outcome
//! goes back to `workflow::decide`.

use crate::controller::Context;
use crate::engine::ConnectionConfig;
use crate::review::Catalog;
use crate::sqltext::Engine;
use crate::workflow::{
    Observed, ReviewOutcome, SqlText, VerifyOn, verification_record, verification_skipped,
    verify_on,
};

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
    let mut outcome = ReviewOutcome::from_report(&report);
    let environment = instance.spec.environment.as_deref();
    outcome.verification = match verify_on(&project.spec.review, environment, engine) {
        VerifyOn::No => None,
        VerifyOn::Refused(message) => Some(verification_skipped(message)),
        VerifyOn::Run => match &target.config {
            Some(cfg) => {
                let result =
                    crate::controller::live_schema::verify_script(cfg, sql, &report.impacts).await;
                Some(verification_record(result))
            }
            None => None,
        },
    };
    outcome
}

/// The live schema as review context (`controller::live_schema`); `None` when it cannot be read
/// (the review then only sees what the script itself creates). SQLite changes are reviewed
/// without it, as before impact analysis.
async fn live_catalog(cfg: &ConnectionConfig, engine: Engine) -> Option<Catalog> {
    if engine == Engine::Sqlite {
        return None;
    }
    match crate::controller::live_schema::catalog(cfg).await {
        Ok(catalog) => Some(catalog),
        Err(e) => {
            tracing::warn!(error = %e, "live schema unavailable for review");
            None
        }
    }
}
