//! Tests of the recovery of statements sqlparser rejects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn recovered(engine: Engine, sql: &str) -> Recovered {
    assert!(parse::parse(engine, sql).is_err(), "sqlparser reads {sql}");
    recover(engine, sql).unwrap_or_else(|| panic!("not recovered: {sql}"))
}

#[test]
fn mysql_shapes_sqlparser_lacks_are_rewritten() {
    let r = recovered(Engine::Mysql, "CREATE TABLE t (a varchar(5) CHARSET ascii)");
    assert!(r.statements[0].to_string().contains("CHARACTER SET ascii"));
    let r = recovered(
        Engine::Mysql,
        "ALTER TABLE t ADD COLUMN (a int,\n b varchar(3))",
    );
    let Statement::AlterTable(at) = &r.statements[0] else {
        panic!()
    };
    assert_eq!(at.operations.len(), 2);
    let r = recovered(Engine::Mysql, "CREATE FULLTEXT INDEX ft ON t (body)");
    let Statement::CreateIndex(ci) = &r.statements[0] else {
        panic!("{:?}", r.statements)
    };
    assert_eq!(
        ci.using.as_ref().map(ToString::to_string).as_deref(),
        Some("FULLTEXT")
    );
    assert!(r.facts.is_empty(), "{:?}", r.facts);
}

#[test]
fn clauses_sqlparser_cannot_hold_become_facts() {
    let r = recovered(
        Engine::Mysql,
        "CREATE TABLE t (a int) PARTITION BY RANGE (a) (PARTITION p0 VALUES LESS THAN (6))",
    );
    assert_eq!(r.facts, vec![Fact::Partitioned]);
    let r = recovered(
        Engine::Mysql,
        "ALTER TABLE t ENGINE = CSV, COMMENT 'x', ADD COLUMN b int",
    );
    let Statement::AlterTable(at) = &r.statements[0] else {
        panic!()
    };
    assert_eq!(at.operations.len(), 1);
    assert_eq!(
        r.facts,
        vec![
            Fact::Option("ENGINE".into(), "CSV".into()),
            Fact::Option("COMMENT".into(), "x".into())
        ]
    );
    let r = recovered(Engine::Mysql, "ALTER TABLE s TRUNCATE PARTITION p1, p2");
    assert_eq!(r.facts, vec![Fact::TruncatePartitions(2)]);
    let r = recovered(
        Engine::Mysql,
        "ALTER TABLE t CONVERT TO CHARACTER SET latin1 COLLATE latin1_bin",
    );
    assert_eq!(r.facts.len(), 2);
    let r = recovered(Engine::Mysql, "ALTER TABLE t RENAME INDEX a TO b");
    assert_eq!(r.facts, vec![Fact::RenameIndex("a".into(), "b".into())]);
    let r = recovered(
        Engine::Postgres,
        "CREATE DATABASE d WITH ENCODING 'UTF8' LC_COLLATE = 'C'",
    );
    assert_eq!(r.facts.len(), 2);
}

#[test]
fn routines_are_understood_by_their_header_and_garbage_is_not() {
    let r = recovered(
        Engine::Mysql,
        "CREATE DEFINER = x PROCEDURE p() BEGIN SELECT 1; END",
    );
    assert_eq!(r.facts, vec![Fact::Routine]);
    assert!(recover(Engine::Mysql, "CREATE TABLE t (a int,,)").is_none());
    assert!(recover(Engine::Postgres, "SELEC 1").is_none());
    assert!(recover(Engine::Mysql, "ALTER TABLE t ENGINE = CSV, FROBNICATE").is_none());
}

/// One class of valid statement that real migration sets contain and sqlparser 0.64 rejects,
/// with what the review must still see in it.
struct ParseCase {
    engine: Engine,
    sql: &'static str,
    /// A rule that must fire on it under `strict` (proof that the statement was understood, not
    /// just waved through), if any.
    fires: Option<&'static str>,
}

const CLASSES: &[ParseCase] = &[
    // PostgreSQL DROP INDEX CONCURRENTLY, with and without IF EXISTS.
    ParseCase {
        engine: Engine::Postgres,
        sql: "DROP INDEX CONCURRENTLY IF EXISTS ix_orders_placed_at;",
        fires: Some("statement.non-transactional"),
    },
    ParseCase {
        engine: Engine::Postgres,
        sql: "DROP INDEX CONCURRENTLY shop.ix_orders_placed_at CASCADE;",
        fires: Some("statement.non-transactional"),
    },
    // MySQL's BINARY column attribute, in ALTER and CREATE.
    ParseCase {
        engine: Engine::Mysql,
        sql: "ALTER TABLE accounts MODIFY COLUMN login VARCHAR(64) BINARY NOT NULL;",
        fires: Some("statement.require-lock-option"),
    },
    ParseCase {
        engine: Engine::Mysql,
        sql: "CREATE TABLE codes (code CHAR(8) BINARY NOT NULL, note TEXT BINARY, PRIMARY KEY (code)) ENGINE = MyISAM;",
        fires: Some("engine.mysql.use-innodb"),
    },
    // MySQL ALTER TABLE … DROP KEY.
    ParseCase {
        engine: Engine::Mysql,
        sql: "ALTER TABLE sessions DROP KEY sessions_token_idx, DROP KEY sessions_user_idx;",
        fires: Some("statement.require-algorithm-option"),
    },
    // SQLite: extra words of a declared type.
    ParseCase {
        engine: Engine::Sqlite,
        sql: "CREATE TABLE jobs (seq BIGINT AUTO_INCREMENT UNIQUE, payload TEXT NOT NULL);",
        fires: None,
    },
    // SQLite: module arguments of a virtual table.
    ParseCase {
        engine: Engine::Sqlite,
        sql: "CREATE VIRTUAL TABLE notes_search USING fts5 (title, body, content='notes', tokenize=\"porter ascii\");",
        fires: None,
    },
    // PostgreSQL roles, publications and event triggers.
    ParseCase {
        engine: Engine::Postgres,
        sql: "CREATE USER report_reader NOINHERIT LOGIN;",
        fires: None,
    },
    ParseCase {
        engine: Engine::Postgres,
        sql: "ALTER ROLE report_reader SET search_path TO reports, public;",
        fires: None,
    },
    ParseCase {
        engine: Engine::Postgres,
        sql: "CREATE USER replicator WITH LOGIN REPLICATION;",
        fires: None,
    },
    ParseCase {
        engine: Engine::Postgres,
        sql: "CREATE PUBLICATION changes_feed;",
        fires: None,
    },
    ParseCase {
        engine: Engine::Postgres,
        sql: "CREATE EVENT TRIGGER log_ddl ON ddl_command_end\n  WHEN TAG IN ('CREATE TABLE')\n  EXECUTE FUNCTION audit.log_ddl();",
        fires: None,
    },
    ParseCase {
        engine: Engine::Postgres,
        sql: "DROP EVENT TRIGGER IF EXISTS log_ddl;",
        fires: None,
    },
];

#[test]
fn real_migration_shapes_are_understood() {
    let strict = crate::review::Policy::preset("strict").unwrap();
    for case in CLASSES {
        assert!(
            parse::parse(case.engine, case.sql).is_err(),
            "sqlparser reads it now; the recovery may be obsolete: {}",
            case.sql
        );
        let report = crate::review::review(case.sql, case.engine, &strict, None);
        assert_eq!(report.statements, 1, "{}", case.sql);
        assert!(
            report.findings.iter().all(|f| f.rule != "statement.syntax"),
            "{}: {:?}",
            case.sql,
            report.findings
        );
        if let Some(rule) = case.fires {
            assert!(
                report.findings.iter().any(|f| f.rule == rule),
                "{rule} should fire on {}: {:?}",
                case.sql,
                report.findings
            );
        }
    }
}

#[test]
fn broken_statements_of_those_shapes_stay_syntax_findings() {
    let strict = crate::review::Policy::preset("strict").unwrap();
    for (engine, sql) in [
        (Engine::Postgres, "DROP INDEX CONCURRENTLY IF EXISTS;"),
        (Engine::Postgres, "CREATE ROLE (x;"),
        (Engine::Postgres, "CREATE PUBLICATION;"),
        (Engine::Postgres, "CREATE EVENT log_ddl;"),
        (Engine::Mysql, "ALTER TABLE sessions DROP KEY a b;"),
        (Engine::Mysql, "CREATE TABLE t (a INT BINARY BINARY);"),
        (Engine::Sqlite, "CREATE VIRTUAL TABLE v USING fts5 (a, b"),
    ] {
        let report = crate::review::review(sql, engine, &strict, None);
        assert!(
            report.findings.iter().any(|f| f.rule == "statement.syntax"),
            "{sql}: {:?}",
            report.findings
        );
    }
}

#[test]
fn drop_index_concurrently_keeps_its_weaker_lock() {
    let policy = crate::review::Policy::preset("default").unwrap();
    let schema = crate::review::Catalog::from_ddl(
        Engine::Postgres,
        "CREATE TABLE orders (id int PRIMARY KEY, placed_at timestamptz);\nCREATE INDEX ix_orders_placed_at ON orders (placed_at);",
    )
    .unwrap();
    let report = crate::review::review(
        "DROP INDEX CONCURRENTLY ix_orders_placed_at;",
        Engine::Postgres,
        &policy,
        Some(&schema),
    );
    let locks: Vec<_> = report.impacts.iter().map(|i| i.lock).collect();
    assert_eq!(
        locks,
        vec![crate::review::impact::Lock::ShareUpdateExclusive],
        "{:?}",
        report.impacts
    );
    // The rule that asks for CONCURRENTLY reads the statement as written.
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.rule != "index.create-concurrently"),
        "{:?}",
        report.findings
    );
}
