//! Test helpers for rule tests: review a statement with exactly one rule enabled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::review::{Catalog, Engine, Finding, Policy, review};

/// Findings of `rule` (by any accepted id) when only it runs, with an optional JSON payload and
/// optional schema DDL.
pub(crate) fn run(
    engine: Engine,
    rule: &str,
    payload: Option<&str>,
    schema: Option<&str>,
    sql: &str,
) -> Vec<Finding> {
    let mut policy = Policy::from_yaml("ruleList: []").unwrap();
    let payload = payload.map(|p| serde_json::from_str(p).unwrap());
    policy
        .set_rule(rule, Some(crate::review::RuleLevel::Error), payload)
        .unwrap();
    let catalog = schema.map(|s| Catalog::from_ddl(engine, s).unwrap());
    let canonical = crate::review::RuleId::lookup(rule).unwrap().name();
    let report = review(sql, engine, &policy, catalog.as_ref());
    let syntax: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.rule == "statement.syntax")
        .collect();
    assert!(
        syntax.is_empty() || canonical == "statement.syntax",
        "test SQL does not parse: {syntax:?}"
    );
    report
        .findings
        .into_iter()
        .filter(|f| f.rule == canonical)
        .collect()
}

/// Number of findings of `rule` with default payload and no schema.
pub(crate) fn hits(engine: Engine, rule: &str, sql: &str) -> usize {
    run(engine, rule, None, None, sql).len()
}

/// Number of findings of `rule` with a payload.
pub(crate) fn hits_with(engine: Engine, rule: &str, payload: &str, sql: &str) -> usize {
    run(engine, rule, Some(payload), None, sql).len()
}

/// Number of findings of `rule` against a schema.
pub(crate) fn hits_on(engine: Engine, rule: &str, schema: &str, sql: &str) -> usize {
    run(engine, rule, None, Some(schema), sql).len()
}

pub(crate) use Engine::{Mysql as MY, Postgres as PG, Sqlite as SL};
