//! The review as the workflow sees it: the review engine's [`Policy`] built from a Project's
//! `spec.review`, and the engine's [`Report`] turned into the [`ReviewOutcome`] that decisions
//! use and status shows. The one place that converts between `review` types and `api` types.
//!
//! Pure: no client calls, no database.

use crate::api::count;
use crate::api::project::{ReviewPolicy, ReviewPreset, RuleLevel};
use crate::api::schema_change::{Finding, FindingLevel, ImpactRecord, RiskLevel};
use crate::review::{self, Catalog, Level, Policy, PolicyError, Report, Risk};
use crate::sqltext::Engine;

use super::observed::ReviewOutcome;

/// Builds the review engine's policy from a Project's `spec.review`.
///
/// # Errors
/// An unknown rule id or a malformed rule payload.
pub fn review_policy(spec: &ReviewPolicy) -> Result<Policy, PolicyError> {
    let mut policy = Policy::preset(match spec.preset {
        ReviewPreset::Default => "default",
        ReviewPreset::Strict => "strict",
    })?;
    let mut unknown = Vec::new();
    for rule in &spec.rules {
        let level = match rule.level {
            RuleLevel::Error => review::RuleLevel::Error,
            RuleLevel::Warning => review::RuleLevel::Warning,
            RuleLevel::Disabled => review::RuleLevel::Disabled,
        };
        match policy.set_rule(&rule.id, Some(level), rule.payload.clone()) {
            Ok(()) => {}
            Err(PolicyError::UnknownRules(ids)) => unknown.extend(ids),
            Err(e) => return Err(e),
        }
    }
    if unknown.is_empty() {
        Ok(policy)
    } else {
        Err(PolicyError::UnknownRules(unknown))
    }
}

/// Reviews `sql` for `engine` under a Project's `spec.review`: the one review path of the
/// operator and of `schemagate review` given the Project's manifest, so both reach the same
/// verdict (what differs is only where `catalog` comes from: the live schema, or `--schema`).
///
/// # Errors
/// The Project's policy is invalid ([`review_policy`]).
pub fn review_for_project(
    spec: &ReviewPolicy,
    sql: &str,
    engine: Engine,
    catalog: Option<&Catalog>,
) -> Result<Report, PolicyError> {
    let policy = review_policy(spec)?;
    Ok(review::review(sql, engine, &policy, catalog))
}

impl ReviewOutcome {
    /// The outcome of a review report (not stamped yet: see [`ReviewOutcome::stamped`]).
    #[must_use]
    pub fn from_report(report: &Report) -> Self {
        let findings = report
            .findings
            .iter()
            .map(|f| Finding {
                rule: f.rule.clone(),
                level: f.level.into(),
                statement: count(f.statement),
                line: count(f.line),
                column: count(f.column),
                message: f.message.clone(),
            })
            .collect();
        let mut outcome =
            Self::from_findings(report.risk.into(), count(report.statements), findings);
        // The costliest first: rewrites, then scans while writes wait, then the rest; tables
        // the script created itself cost nothing and are left out.
        let mut impacts: Vec<&crate::review::impact::Impact> =
            report.impacts.iter().filter(|i| !i.new_table).collect();
        impacts.sort_by_key(|i| {
            (
                std::cmp::Reverse((i.rewrite, i.scan && i.blocks_writes(), i.lock)),
                i.statement,
            )
        });
        outcome.impacts = impacts
            .into_iter()
            .map(|i| ImpactRecord {
                statement: count(i.statement),
                line: count(i.line),
                table: i.table.clone(),
                lock: i.lock.as_str().to_owned(),
                algorithm: i.algorithm.map(|a| a.as_str().to_owned()),
                rewrite: i.rewrite,
                scan: i.scan,
                rows: i.rows,
                bytes: i.bytes,
                message: i.describe(),
            })
            .collect();
        outcome.not_evaluated = report
            .not_evaluated
            .iter()
            .map(|n| format!("{}: {}", n.rule, n.reason))
            .collect();
        outcome
    }
}

impl From<Risk> for RiskLevel {
    fn from(risk: Risk) -> Self {
        match risk {
            Risk::Low => RiskLevel::Low,
            Risk::Moderate => RiskLevel::Moderate,
            Risk::High => RiskLevel::High,
        }
    }
}

impl From<Level> for FindingLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Error => FindingLevel::Error,
            Level::Warning => FindingLevel::Warning,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::api::project::RuleOverride;
    use crate::api::schema_change::FindingLevel;

    #[test]
    fn a_report_becomes_the_outcome_status_shows() {
        let policy = Policy::preset("default").unwrap();
        let report = review::review(
            "CREATE TABLE t (id int);\nDROP TABLE t;",
            crate::sqltext::Engine::Postgres,
            &policy,
            None,
        );
        let outcome = ReviewOutcome::from_report(&report);
        assert_eq!(outcome.risk, RiskLevel::High);
        assert_eq!(outcome.statements, 2);
        assert_eq!(outcome.findings.len(), report.findings.len());
        assert_eq!(
            (outcome.errors, outcome.warnings),
            (count(report.errors()), count(report.warnings()))
        );
        let first = (&outcome.findings[0], &report.findings[0]);
        assert_eq!(first.0.rule, first.1.rule);
        assert_eq!(first.0.line, count(first.1.line));
        assert_eq!(
            first.0.level == FindingLevel::Error,
            first.1.level == Level::Error
        );
        assert!(outcome.key.is_empty(), "not stamped yet");
    }

    #[test]
    fn unknown_rules_are_all_named() {
        let spec = ReviewPolicy {
            preset: ReviewPreset::Default,
            rules: vec![
                RuleOverride {
                    id: "no.such-rule".into(),
                    level: RuleLevel::Error,
                    payload: None,
                },
                RuleOverride {
                    id: "table.require-pk".into(),
                    level: RuleLevel::Error,
                    payload: None,
                },
                RuleOverride {
                    id: "other.bogus".into(),
                    level: RuleLevel::Warning,
                    payload: None,
                },
            ],
        };
        let message = review_policy(&spec).unwrap_err().to_string();
        assert!(message.contains("no.such-rule"), "{message}");
        assert!(message.contains("other.bogus"), "{message}");
        assert!(review_policy(&ReviewPolicy::default()).is_ok());
    }

    #[test]
    fn naming_a_built_in_guard_makes_the_policy_invalid() {
        let spec = ReviewPolicy {
            preset: ReviewPreset::Default,
            rules: vec![RuleOverride {
                id: "schemagate.transaction-control".into(),
                level: RuleLevel::Disabled,
                payload: None,
            }],
        };
        let message = review_policy(&spec).unwrap_err().to_string();
        assert!(
            message.contains("schemagate.transaction-control is a built-in guard"),
            "{message}"
        );
    }
}
