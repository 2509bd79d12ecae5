#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::review::catalog::TableSize;
use crate::review::parse;

fn impacts(engine: Engine, schema: &str, sql: &str) -> Vec<Impact> {
    let mut catalog = Catalog::from_ddl(engine, schema).unwrap();
    catalog.set_size(
        None,
        "big",
        TableSize {
            rows: 2_000_000,
            bytes: 700 << 20,
        },
    );
    let is_new = |_: &ObjectName| false;
    let ctx = Context {
        engine,
        server: Server::assumed(engine),
        catalog: &catalog,
        is_new: &is_new,
    };
    match parse::parse(engine, sql) {
        Ok(stmts) => stmts.iter().flat_map(|s| analyze(&ctx, s)).collect(),
        Err(_) => analyze_text(&ctx, sql),
    }
}

fn one(engine: Engine, schema: &str, sql: &str) -> Impact {
    let mut v = impacts(engine, schema, sql);
    assert_eq!(v.len(), 1, "{sql}: {v:?}");
    v.remove(0)
}

const PG: &str =
    "CREATE TABLE big (id bigint PRIMARY KEY, name varchar(20), n numeric(10,2), v int);
CREATE INDEX big_name ON big (name);";

#[test]
fn pg_type_changes_rewrite_unless_binary_coercible() {
    let i = one(
        Engine::Postgres,
        PG,
        "ALTER TABLE big ALTER COLUMN v TYPE bigint",
    );
    assert!(i.rewrite && i.lock == Lock::AccessExclusive, "{i:?}");
    assert_eq!(i.rows, Some(2_000_000));
    assert!(i.describe().contains("2.0M rows"), "{}", i.describe());
    assert!(i.safer.is_some());
    for sql in [
        "ALTER TABLE big ALTER COLUMN name TYPE varchar(40)",
        "ALTER TABLE big ALTER COLUMN name TYPE text",
        "ALTER TABLE big ALTER COLUMN n TYPE numeric(12,2)",
    ] {
        let i = one(Engine::Postgres, PG, sql);
        assert!(!i.rewrite && !i.scan, "{sql}: {i:?}");
    }
    assert!(
        one(
            Engine::Postgres,
            PG,
            "ALTER TABLE big ALTER COLUMN name TYPE varchar(10)"
        )
        .rewrite
    );
    assert!(
        one(
            Engine::Postgres,
            PG,
            "ALTER TABLE big ALTER COLUMN n TYPE numeric(12,3)"
        )
        .rewrite
    );
}

#[test]
fn pg_add_column_rewrites_only_for_volatile_defaults() {
    let cheap = one(
        Engine::Postgres,
        PG,
        "ALTER TABLE big ADD COLUMN c timestamptz DEFAULT now()",
    );
    assert!(!cheap.rewrite && !cheap.scan);
    for sql in [
        "ALTER TABLE big ADD COLUMN c uuid DEFAULT gen_random_uuid()",
        "ALTER TABLE big ADD COLUMN c bigserial",
        "ALTER TABLE big ADD COLUMN c int GENERATED ALWAYS AS (v + 1) STORED",
        "ALTER TABLE big ADD COLUMN c int GENERATED ALWAYS AS IDENTITY",
    ] {
        assert!(one(Engine::Postgres, PG, sql).rewrite, "{sql}");
    }
}

#[test]
fn pg_locks_by_form() {
    let cases = [
        ("CREATE INDEX i2 ON big (v)", Lock::Share, true),
        (
            "CREATE INDEX CONCURRENTLY i2 ON big (v)",
            Lock::ShareUpdateExclusive,
            true,
        ),
        (
            "ALTER TABLE big ALTER COLUMN v SET NOT NULL",
            Lock::AccessExclusive,
            true,
        ),
        (
            "ALTER TABLE big ADD CONSTRAINT c CHECK (v > 0) NOT VALID",
            Lock::AccessExclusive,
            false,
        ),
        (
            "ALTER TABLE big ADD CONSTRAINT c CHECK (v > 0)",
            Lock::AccessExclusive,
            true,
        ),
        (
            "ALTER TABLE big VALIDATE CONSTRAINT c",
            Lock::ShareUpdateExclusive,
            true,
        ),
        (
            "ALTER TABLE big SET (fillfactor = 70)",
            Lock::ShareUpdateExclusive,
            false,
        ),
        ("DROP INDEX big_name", Lock::AccessExclusive, false),
        (
            "DROP INDEX CONCURRENTLY big_name",
            Lock::ShareUpdateExclusive,
            false,
        ),
        ("CLUSTER big USING big_name", Lock::AccessExclusive, true),
        ("REINDEX TABLE big", Lock::Share, true),
        (
            "COMMENT ON COLUMN big.v IS 'x'",
            Lock::ShareUpdateExclusive,
            false,
        ),
    ];
    for (sql, lock, costly) in cases {
        let i = one(Engine::Postgres, PG, sql);
        assert_eq!((i.lock, i.proportional()), (lock, costly), "{sql}: {i:?}");
        assert_eq!(i.table, "big", "{sql}");
    }
    // A foreign key locks both tables.
    let v = impacts(
        Engine::Postgres,
        "CREATE TABLE big (id int PRIMARY KEY); CREATE TABLE child (id int, big_id int);",
        "ALTER TABLE child ADD CONSTRAINT fk FOREIGN KEY (big_id) REFERENCES big (id)",
    );
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|i| i.lock == Lock::ShareRowExclusive));
}

#[test]
fn a_table_created_in_the_script_costs_nothing() {
    let catalog = Catalog::new(Engine::Postgres);
    let is_new = |_: &ObjectName| true;
    let ctx = Context {
        engine: Engine::Postgres,
        server: Server::assumed(Engine::Postgres),
        catalog: &catalog,
        is_new: &is_new,
    };
    let stmt =
        &parse::parse(Engine::Postgres, "ALTER TABLE t ALTER COLUMN a TYPE bigint").unwrap()[0];
    let i = &analyze(&ctx, stmt)[0];
    assert!(i.new_table && !i.rewrite && i.safer.is_none(), "{i:?}");
}

const MY: &str =
    "CREATE TABLE big (id bigint PRIMARY KEY, name varchar(20) NOT NULL, v int, KEY big_v (v));";

#[test]
fn mysql_algorithms_by_form() {
    let cases = [
        (
            "ALTER TABLE big ADD COLUMN c int",
            Algorithm::Instant,
            Lock::ShareUpdateExclusive,
        ),
        (
            "ALTER TABLE big ADD COLUMN c int AUTO_INCREMENT UNIQUE",
            Algorithm::Inplace,
            Lock::Share,
        ),
        (
            "ALTER TABLE big MODIFY v bigint",
            Algorithm::Copy,
            Lock::Share,
        ),
        (
            "ALTER TABLE big MODIFY name varchar(60) NOT NULL",
            Algorithm::Nocopy,
            Lock::ShareUpdateExclusive,
        ),
        (
            "ALTER TABLE big ADD INDEX i (name)",
            Algorithm::Nocopy,
            Lock::ShareUpdateExclusive,
        ),
        (
            "CREATE INDEX i ON big (name)",
            Algorithm::Nocopy,
            Lock::ShareUpdateExclusive,
        ),
        (
            "ALTER TABLE big DROP PRIMARY KEY",
            Algorithm::Copy,
            Lock::Share,
        ),
        (
            "ALTER TABLE big ENGINE=InnoDB",
            Algorithm::Inplace,
            Lock::ShareUpdateExclusive,
        ),
        (
            "ALTER TABLE big CONVERT TO CHARACTER SET utf8mb4",
            Algorithm::Copy,
            Lock::Share,
        ),
        (
            "OPTIMIZE TABLE big",
            Algorithm::Inplace,
            Lock::ShareUpdateExclusive,
        ),
    ];
    for (sql, alg, lock) in cases {
        let i = one(Engine::Mysql, MY, sql);
        assert_eq!((i.algorithm, i.lock), (Some(alg), lock), "{sql}: {i:?}");
    }
}

#[test]
fn server_versions_parse() {
    let pg = Server::from_version_string(
        Engine::Postgres,
        "PostgreSQL 15.4 (Debian 15.4-1) on x86_64",
    );
    assert_eq!(pg.version, 1500);
    let maria = Server::from_version_string(Engine::Mysql, "10.11.6-MariaDB-0+deb12u1");
    assert_eq!((maria.mariadb, maria.version), (true, 1011));
    let my = Server::from_version_string(Engine::Mysql, "8.0.36");
    assert_eq!((my.mariadb, my.version), (false, 800));
}
