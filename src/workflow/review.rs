//! The review as the workflow sees it: the review engine's [`Policy`] built from a Project's
//! `spec.review`, and the engine's [`Report`] turned into the [`ReviewOutcome`] that decisions
//! use and status shows. The one place that converts between `review` types and `api` types.
//!
//! Pure: no client calls, no database.

use crate::api::count;
use crate::api::project::{ReviewPolicy, ReviewPreset, RuleLevel};
use crate::api::schema_change::{
    Finding, FindingLevel, ImpactRecord, RiskLevel, VerificationOutcome, VerificationRecord,
    VerifiedStatement,
};
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
        outcome
    }
}

/// Whether the review verifies its impact prediction on an instance (Project
/// `spec.review.verify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyOn {
    /// Not asked for this instance's environment: nothing is recorded.
    No,
    /// Run the verification.
    Run,
    /// Asked for, but not allowed here: recorded as `Skipped` with this message.
    Refused(String),
}

/// Whether an environment name reads as production: `prod`, `production`, `prd`, or one
/// starting with `prod-` or `production-`, in any case.
#[must_use]
pub fn is_production(environment: &str) -> bool {
    let e = environment.trim().to_ascii_lowercase();
    matches!(e.as_str(), "prod" | "production" | "prd")
        || e.starts_with("prod-")
        || e.starts_with("production-")
}

/// Whether to verify a review on an instance of `engine` in `environment`: only where the
/// project lists the environment, never on one that reads as production, and on PostgreSQL
/// only.
#[must_use]
pub fn verify_on(spec: &ReviewPolicy, environment: Option<&str>, engine: Engine) -> VerifyOn {
    let (Some(verify), Some(environment)) = (&spec.verify, environment) else {
        return VerifyOn::No;
    };
    if !verify.environments.iter().any(|e| e == environment) {
        return VerifyOn::No;
    }
    if is_production(environment) {
        return VerifyOn::Refused(format!(
            "not verified: environment {environment:?} reads as production, and verification \
             runs the statements on the database; it runs only on non-production instances"
        ));
    }
    if engine != Engine::Postgres {
        return VerifyOn::Refused(format!(
            "not verified: verification runs on PostgreSQL only; on {engine} name \
             ALGORITHM=INSTANT|INPLACE, LOCK=NONE in the statement and the server refuses what \
             it cannot do that way"
        ));
    }
    VerifyOn::Run
}

/// Statements kept in `status.review.verification.statements`.
const MAX_VERIFIED_STATEMENTS: usize = 20;

/// The status record of a verification: its verdicts, or why it could not run.
#[must_use]
pub fn verification_record(
    result: Result<Vec<crate::review::impact::verify::StatementVerdict>, String>,
) -> VerificationRecord {
    use crate::review::impact::verify::Verdict;
    let verdicts = match result {
        Ok(v) => v,
        Err(message) => {
            return VerificationRecord {
                outcome: VerificationOutcome::Failed,
                checked: 0,
                statements: Vec::new(),
                message: format!("verification failed: {message}"),
            };
        }
    };
    let checked = verdicts
        .iter()
        .filter(|v| !matches!(v.verdict, Verdict::Refused(_)))
        .count();
    let mut statements = Vec::new();
    let (mut wrong, mut refused) = (0, None);
    for v in &verdicts {
        let message = match &v.verdict {
            Verdict::AsPredicted => continue,
            Verdict::Differs(d) => {
                wrong += 1;
                d.clone()
            }
            Verdict::Refused(e) => {
                refused = Some(v.statement + 1);
                format!(
                    "not checked (nor what follows): the server refused it in a transaction: {e}"
                )
            }
        };
        statements.push(VerifiedStatement {
            statement: count(v.statement),
            line: count(v.line),
            message,
        });
    }
    statements.truncate(MAX_VERIFIED_STATEMENTS);
    let outcome = if wrong > 0 {
        VerificationOutcome::Disagreed
    } else if refused.is_some() {
        VerificationOutcome::Incomplete
    } else {
        VerificationOutcome::Agreed
    };
    let mut message = format!(
        "{checked} statement(s) with an impact checked in a transaction that was rolled back, \
         {wrong} not as predicted"
    );
    if let Some(n) = refused {
        message.push_str(&format!(
            "; statement {n} and what follows were not checked"
        ));
    }
    VerificationRecord {
        outcome,
        checked: count(checked),
        statements,
        message,
    }
}

/// The record of a verification that was asked for but not run ([`VerifyOn::Refused`]).
#[must_use]
pub fn verification_skipped(message: String) -> VerificationRecord {
    VerificationRecord {
        outcome: VerificationOutcome::Skipped,
        checked: 0,
        statements: Vec::new(),
        message,
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
            verify: None,
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
            verify: None,
        };
        let message = review_policy(&spec).unwrap_err().to_string();
        assert!(
            message.contains("schemagate.transaction-control is a built-in guard"),
            "{message}"
        );
    }

    #[test]
    fn verification_runs_only_where_listed_never_on_production_and_on_postgres() {
        let spec = |envs: &[&str]| ReviewPolicy {
            verify: Some(crate::api::project::VerifyPolicy {
                environments: envs.iter().map(|e| (*e).to_owned()).collect(),
            }),
            ..ReviewPolicy::default()
        };
        let pg = Engine::Postgres;
        assert_eq!(
            verify_on(&ReviewPolicy::default(), Some("dev"), pg),
            VerifyOn::No
        );
        assert_eq!(verify_on(&spec(&["dev"]), Some("dev"), pg), VerifyOn::Run);
        assert_eq!(
            verify_on(&spec(&["dev"]), Some("staging"), pg),
            VerifyOn::No
        );
        assert_eq!(verify_on(&spec(&["dev"]), None, pg), VerifyOn::No);
        for prod in ["prod", "Production", "PRD", "prod-eu", "production-2"] {
            assert!(is_production(prod), "{prod}");
            let VerifyOn::Refused(why) = verify_on(&spec(&[prod]), Some(prod), pg) else {
                panic!("{prod} verified");
            };
            assert!(why.contains("production"), "{why}");
        }
        assert!(!is_production("preprod") && !is_production("products"));
        let VerifyOn::Refused(why) = verify_on(&spec(&["dev"]), Some("dev"), Engine::Mysql) else {
            panic!("mysql verified");
        };
        assert!(why.contains("PostgreSQL only"), "{why}");
    }

    #[test]
    fn verification_records_say_where_the_prediction_was_wrong() {
        use crate::review::impact::verify::{StatementVerdict, Verdict};
        let v = |statement, verdict| StatementVerdict {
            statement,
            line: statement + 1,
            verdict,
        };
        let agreed = verification_record(Ok(vec![v(0, Verdict::AsPredicted)]));
        assert_eq!(agreed.outcome, VerificationOutcome::Agreed);
        assert_eq!((agreed.checked, agreed.statements.len()), (1, 0));
        let wrong = verification_record(Ok(vec![
            v(0, Verdict::AsPredicted),
            v(
                2,
                Verdict::Differs("orders: predicted SHARE, observed ACCESS EXCLUSIVE".into()),
            ),
            v(
                3,
                Verdict::Refused("cannot run inside a transaction block".into()),
            ),
        ]));
        assert_eq!(wrong.outcome, VerificationOutcome::Disagreed);
        assert_eq!(wrong.checked, 2);
        assert_eq!(
            (wrong.statements[0].statement, wrong.statements[0].line),
            (2, 3)
        );
        assert!(
            wrong.statements[0]
                .message
                .contains("observed ACCESS EXCLUSIVE")
        );
        assert!(wrong.statements[1].message.contains("not checked"));
        assert!(
            wrong.message.contains("1 not as predicted; statement 4"),
            "{}",
            wrong.message
        );
        let incomplete = verification_record(Ok(vec![v(0, Verdict::Refused("x".into()))]));
        assert_eq!(incomplete.outcome, VerificationOutcome::Incomplete);
        let failed = verification_record(Err("cannot connect".into()));
        assert_eq!(failed.outcome, VerificationOutcome::Failed);
        assert!(failed.message.contains("cannot connect"));
    }
}
