//! Tests of the built-in guards and the risk model through `review()`: the attacks from issue
//! 10 must be errors or at least not LOW, whatever the policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::{Engine, Finding, Level, Policy, Report, Risk, RuleLevel, review};

fn default() -> Policy {
    Policy::preset("default").unwrap()
}

/// Every policy shape a project could use, including one that enables nothing.
fn policies() -> Vec<Policy> {
    vec![
        default(),
        Policy::preset("strict").unwrap(),
        Policy::from_yaml("ruleList: []").unwrap(),
    ]
}

fn of<'r>(r: &'r Report, rule: &str) -> Vec<&'r Finding> {
    r.findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn transaction_control_is_an_error_under_every_policy() {
    let sql = "INSERT INTO t (a) VALUES (1);\nCOMMIT/**/;\nSELECT 1/0;";
    for policy in policies() {
        let r = review(sql, Engine::Postgres, &policy, None);
        let tc = of(&r, "schemagate.transaction-control");
        assert_eq!(tc.len(), 1, "{:?}", r.findings);
        assert_eq!(
            (tc[0].level, tc[0].statement, tc[0].line, tc[0].column),
            (Level::Error, 1, 2, 0)
        );
        assert!(
            tc[0].message.starts_with("COMMIT is transaction control"),
            "{}",
            tc[0].message
        );
        assert!(r.fails_at(Level::Error));
    }
    for (engine, sql) in [
        (Engine::Postgres, "END TRANSACTION"),
        (Engine::Postgres, "END WORK"),
        (Engine::Postgres, "ABORT WORK"),
        (Engine::Postgres, "DO $$ BEGIN COMMIT; END $$"),
        (Engine::Mysql, "START TRANSACTION"),
        (Engine::Mysql, "SET autocommit = 0"),
        (Engine::Mysql, "LOCK TABLES t WRITE"),
        (Engine::Sqlite, "BEGIN IMMEDIATE"),
        (Engine::Sqlite, "END"),
    ] {
        let r = review(
            sql,
            engine,
            &Policy::from_yaml("ruleList: []").unwrap(),
            None,
        );
        assert_eq!(
            of(&r, "schemagate.transaction-control").len(),
            1,
            "{engine}: {sql}"
        );
    }
    // The configurable Bytebase rule still exists beside the guard.
    let r = review(
        "COMMIT",
        Engine::Postgres,
        &Policy::preset("strict").unwrap(),
        None,
    );
    assert_eq!(of(&r, "statement.disallow-commit").len(), 1);
}

#[test]
fn trigger_and_routine_bodies_are_not_transaction_control() {
    let sql = "CREATE TABLE commit_log (id int PRIMARY KEY);\n\
               CREATE TRIGGER tr BEFORE INSERT ON commit_log FOR EACH ROW BEGIN SET NEW.id = 1; END;\n\
               INSERT INTO commit_log (id) VALUES (1);";
    let r = review(sql, Engine::Mysql, &default(), None);
    assert_eq!(r.statements, 3);
    assert!(
        of(&r, "schemagate.transaction-control").is_empty(),
        "{:?}",
        r.findings
    );
}

#[test]
fn statements_cut_differently_by_the_server_are_errors() {
    // After standard_conforming_strings = off, PostgreSQL reads `\'` as a quote, and the
    // second statement's last literal becomes SQL.
    let sql = "SET standard_conforming_strings = off;\nSELECT 'x\\', 'y; COMMIT; --';";
    let r = review(sql, Engine::Postgres, &default(), None);
    let tc = of(&r, "schemagate.transaction-control");
    assert_eq!(tc.len(), 1, "{:?}", r.findings);
    assert_eq!((tc[0].statement, tc[0].line, tc[0].column), (1, 2, 17));
    assert!(tc[0].message.contains("backslashes"), "{}", tc[0].message);
    // Without the change, that literal is just a literal.
    let r = review(&sql[39..], Engine::Postgres, &default(), None);
    assert!(of(&r, "schemagate.transaction-control").is_empty());
}

#[test]
fn nul_bytes_are_errors_with_their_position() {
    for policy in policies() {
        let r = review("SELECT 1;\nSELECT 'a\0b';", Engine::Sqlite, &policy, None);
        let nul = of(&r, "schemagate.nul-byte");
        assert_eq!(nul.len(), 1, "{:?}", r.findings);
        assert_eq!(
            (nul[0].level, nul[0].statement, nul[0].line, nul[0].column),
            (Level::Error, 1, 2, 9)
        );
        assert!(
            nul[0].message.contains("line 2, column 9"),
            "{}",
            nul[0].message
        );
    }
    // In a comment after the last statement.
    let r = review("SELECT 1; -- \0", Engine::Postgres, &default(), None);
    assert_eq!(of(&r, "schemagate.nul-byte").len(), 1);
}

#[test]
fn scripts_without_statements_are_errors() {
    for sql in ["", "  \n", "-- only a comment\n/* and this */", ";;"] {
        for policy in policies() {
            let r = review(sql, Engine::Postgres, &policy, None);
            assert_eq!(r.statements, 0);
            let empty = of(&r, "schemagate.empty-script");
            assert_eq!(empty.len(), 1, "{sql:?}: {:?}", r.findings);
            assert_eq!(
                (empty[0].level, empty[0].line, empty[0].column),
                (Level::Error, 1, 0)
            );
        }
    }
    let r = review("SELECT 1", Engine::Postgres, &default(), None);
    assert!(of(&r, "schemagate.empty-script").is_empty());
}

#[test]
fn executable_comments_are_reviewed_as_the_server_runs_them() {
    // The attack from issue 10: reviewed as a plain CREATE TABLE (LOW), MariaDB replaced the
    // table and emptied it.
    let sql = "CREATE /*M! OR REPLACE */ TABLE victim (id int PRIMARY KEY);";
    for policy in policies() {
        let r = review(sql, Engine::Mysql, &policy, None);
        assert_eq!(r.risk, Risk::High);
        let w = of(&r, "schemagate.executable-comment");
        assert_eq!(w.len(), 1, "{:?}", r.findings);
        assert_eq!(w[0].level, Level::Warning);
        assert!(
            w[0].message.contains("CREATE OR REPLACE TABLE victim"),
            "{}",
            w[0].message
        );
    }
    // A leading executable comment is a statement that is reviewed (and executed).
    let r = review(
        "/*!40101 SET NAMES utf8 */;\nSELECT 1;",
        Engine::Mysql,
        &default(),
        None,
    );
    assert_eq!(r.statements, 2);
    assert_eq!(r.statement_risks, vec![Risk::High, Risk::Low]);
    assert!(of(&r, "statement.syntax").is_empty(), "{:?}", r.findings);
    // Rules see the expanded text.
    let r = review(
        "/*!50000 DROP TABLE victim */",
        Engine::Mysql,
        &Policy::preset("strict").unwrap(),
        None,
    );
    assert_eq!(
        of(&r, "table.drop-naming-convention").len(),
        1,
        "{:?}",
        r.findings
    );
    // Elsewhere it is an ordinary comment.
    let r = review(sql, Engine::Postgres, &default(), None);
    assert!(of(&r, "schemagate.executable-comment").is_empty());
    assert_eq!(r.risk, Risk::Low);
}

#[test]
fn attacks_from_issue_10_are_not_low_risk() {
    let r = review(
        "DO $$ BEGIN EXECUTE 'DROP TABLE victim'; END $$;",
        Engine::Postgres,
        &default(),
        None,
    );
    assert_eq!(r.risk, Risk::High);
    let r = review(
        "WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d;",
        Engine::Postgres,
        &default(),
        None,
    );
    assert_eq!(r.risk, Risk::Moderate);
    let r = review("SELECT purge_all();", Engine::Postgres, &default(), None);
    assert_eq!(r.risk, Risk::Moderate);
    let r = review("CALL purge_all();", Engine::Mysql, &default(), None);
    assert_eq!(r.risk, Risk::High);
    let r = review(
        "PREPARE s FROM @q; EXECUTE s;",
        Engine::Mysql,
        &default(),
        None,
    );
    assert_eq!(r.statement_risks, vec![Risk::High, Risk::High]);
    let r = review(
        "CREATE FULLTEXT INDEX ft ON t (body);",
        Engine::Mysql,
        &default(),
        None,
    );
    assert_eq!(r.risk, Risk::Moderate);
}

#[test]
fn oversized_scripts_still_run_the_guards() {
    let mut policy = default();
    policy
        .set_rule(
            "builtin.statement.maximum-sql-size",
            Some(RuleLevel::Warning),
            Some(serde_json::json!({"number": 10})),
        )
        .unwrap();
    let r = review(
        "CREATE TABLE t (a int); COMMIT;",
        Engine::Postgres,
        &policy,
        None,
    );
    assert_eq!(of(&r, "builtin.statement.maximum-sql-size").len(), 1);
    assert_eq!(of(&r, "schemagate.transaction-control").len(), 1);
    assert_eq!(r.statement_risks, vec![Risk::Moderate, Risk::Moderate]);
}
