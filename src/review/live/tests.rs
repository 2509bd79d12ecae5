//! Tests of the live rules' plan and verdicts (the database side is in tests/review_live.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::review::{Level, review};

fn strict() -> Policy {
    Policy::preset("strict").unwrap()
}

fn rules_of(report: &Report) -> Vec<&str> {
    report
        .not_evaluated
        .iter()
        .map(|n| n.rule.as_str())
        .collect()
}

#[test]
fn offline_review_says_which_live_rules_it_did_not_evaluate() {
    let r = review(
        "UPDATE accounts SET frozen = true WHERE id = 7;",
        Engine::Postgres,
        &strict(),
        None,
    );
    assert_eq!(
        rules_of(&r),
        ["statement.dml-dry-run", "statement.affected-row-limit"]
    );
    assert!(
        r.not_evaluated[0].reason.contains("--url"),
        "{:?}",
        r.not_evaluated
    );
    // Not findings: they never fail a review.
    assert!(
        r.findings
            .iter()
            .all(|f| !f.rule.starts_with("statement.dml"))
    );
    // INSERT is dry-run but has no affected-row estimate; DDL is the owner check's.
    let r = review(
        "INSERT INTO a (x) VALUES (1);",
        Engine::Mysql,
        &strict(),
        None,
    );
    assert_eq!(rules_of(&r), ["statement.dml-dry-run"]);
    let r = review(
        "CREATE TABLE app.t (id int PRIMARY KEY);",
        Engine::Postgres,
        &strict(),
        None,
    );
    assert_eq!(rules_of(&r), ["statement.object-owner-check"]);
    // Nothing to judge, nothing listed.
    let r = review("SELECT 1;", Engine::Postgres, &strict(), None);
    assert!(r.not_evaluated.is_empty());
    // Disabled rules are not listed.
    let mut p = strict();
    p.set_rule(
        "statement.dml-dry-run",
        Some(crate::review::RuleLevel::Disabled),
        None,
    )
    .unwrap();
    p.set_rule(
        "statement.affected-row-limit",
        Some(crate::review::RuleLevel::Disabled),
        None,
    )
    .unwrap();
    let r = review("DELETE FROM t WHERE id = 1;", Engine::Postgres, &p, None);
    assert!(r.not_evaluated.is_empty(), "{:?}", r.not_evaluated);
}

#[test]
fn plan_collects_setup_limits_and_owned_objects() {
    let sql = "SET ROLE app_owner;\nUPDATE t SET a = 1 WHERE b = 2;\nCREATE TABLE s.n (id int);\nALTER TABLE m ADD COLUMN c int;\nINSERT INTO t (a) VALUES (1);";
    let p = plan(sql, Engine::Postgres, &strict());
    assert_eq!(p.explains.len(), 2);
    assert_eq!(p.explains[0].setup, ["SET ROLE app_owner"]);
    assert!(p.explains[0].counts_rows && !p.explains[1].counts_rows);
    assert_eq!(p.explains[0].at.line, 2);
    let objects: Vec<_> = p.owners.iter().map(|o| o.object.clone()).collect();
    assert_eq!(
        objects,
        [
            OwnedObject::Schema(Some("s".into())),
            OwnedObject::Table(None, "m".into())
        ]
    );
    let p = plan(
        "DELETE FROM t WHERE a > 1 LIMIT 10;",
        Engine::Mysql,
        &strict(),
    );
    assert_eq!(p.explains[0].limit, Some(10));
    assert!(p.owners.is_empty(), "the owner check is PostgreSQL's");
}

#[test]
fn answers_become_findings_at_the_rules_levels() {
    let sql = "DELETE FROM t WHERE a > 1;\nUPDATE nope SET a = 1 WHERE b = 1;\nALTER TABLE t ADD COLUMN c int;";
    let policy = strict();
    let mut report = review(sql, Engine::Postgres, &policy, None);
    let p = plan(sql, Engine::Postgres, &policy);
    let answers = Answers {
        explains: vec![
            Ok(Some(5000)),
            Err("relation \"nope\" does not exist".into()),
        ],
        owners: vec![Ok((Some("dba".into()), "app".into()))],
        backup_exists: None,
    };
    apply(&mut report, &p, &answers, &policy);
    assert!(
        report.not_evaluated.is_empty(),
        "{:?}",
        report.not_evaluated
    );
    let live: Vec<(&str, usize, Level)> = report
        .findings
        .iter()
        .filter(|f| {
            [
                "statement.dml-dry-run",
                "statement.affected-row-limit",
                "statement.object-owner-check",
            ]
            .contains(&f.rule.as_str())
        })
        .map(|f| (f.rule.as_str(), f.line, f.level))
        .collect();
    assert_eq!(
        live,
        [
            ("statement.affected-row-limit", 1, Level::Warning),
            ("statement.dml-dry-run", 2, Level::Error),
            ("statement.object-owner-check", 3, Level::Error),
        ]
    );
}

#[test]
fn mysql_limit_caps_the_estimate() {
    let sql = "DELETE FROM t WHERE a > 1 LIMIT 10;";
    let policy = strict();
    let mut report = review(sql, Engine::Mysql, &policy, None);
    let p = plan(sql, Engine::Mysql, &policy);
    let answers = Answers {
        explains: vec![Ok(Some(1_000_000))],
        ..Answers::default()
    };
    apply(&mut report, &p, &answers, &policy);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule != "statement.affected-row-limit"),
        "{:?}",
        report.findings
    );
}

#[test]
fn prior_backup_needs_the_backup_location() {
    let mut policy = strict();
    policy
        .set_rule(
            "builtin.prior-backup-check",
            Some(crate::review::RuleLevel::Error),
            None,
        )
        .unwrap();
    policy.set_change_type(Some(ChangeType::Dml));
    let sql = "UPDATE t SET a = 1 WHERE id = 1;";
    let mut report = review(sql, Engine::Mysql, &policy, None);
    assert!(rules_of(&report).contains(&"builtin.prior-backup-check"));
    let p = plan(sql, Engine::Mysql, &policy);
    assert!(p.backup);
    let answers = Answers {
        explains: vec![Ok(Some(1))],
        backup_exists: Some(false),
        ..Answers::default()
    };
    apply(&mut report, &p, &answers, &policy);
    let f = report
        .findings
        .iter()
        .find(|f| f.rule == "builtin.prior-backup-check")
        .expect("backup finding");
    assert!(
        f.message.contains("database \"bbdataarchive\""),
        "{}",
        f.message
    );
}
