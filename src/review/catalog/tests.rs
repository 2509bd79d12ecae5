//! Tests of the catalog: building from DDL and walking statements through it.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn name(s: &str) -> ObjectName {
    ObjectName::from(s.split('.').map(Ident::new).collect::<Vec<_>>())
}

#[test]
fn builds_tables_from_postgres_ddl() {
    let ddl = "CREATE TABLE public.users (id bigint NOT NULL, email text, CONSTRAINT users_pkey PRIMARY KEY (id));\n\
               CREATE UNIQUE INDEX uk_users_email ON public.users (email);\n\
               COMMENT ON TABLE users IS 'people';\n\
               DO $$ BEGIN END $$;\n\
               CREATE TABLE audit.log (id int);";
    let c = Catalog::from_ddl(Engine::Postgres, ddl).unwrap();
    assert_eq!(c.table_count(), 2);
    assert_eq!(c.skipped(), 1);
    let users = c.table(&name("users")).unwrap();
    assert_eq!(users.primary_key().unwrap().columns, vec!["id"]);
    assert!(users.column("id").unwrap().not_null);
    assert!(!users.column("email").unwrap().not_null);
    assert_eq!(users.indexes.len(), 2);
    assert_eq!(users.comment.as_deref(), Some("people"));
    assert!(c.table(&name("audit.log")).is_some());
    assert!(c.table(&name("log")).is_none());
}

#[test]
fn unreadable_table_ddl_is_an_error() {
    let err = Catalog::from_ddl(Engine::Postgres, "SELECT 1;\nCREATE TABLE (oops;").unwrap_err();
    assert_eq!((err.index, err.line), (1, 2));
}

#[test]
fn walk_through_tracks_alters_and_reports_issues() {
    let mut c = Catalog::from_ddl(
        Engine::Mysql,
        "CREATE TABLE t (id int PRIMARY KEY, a int, KEY idx_a (a));",
    )
    .unwrap();
    let apply = |c: &mut Catalog, sql: &str| {
        parse::parse(Engine::Mysql, sql)
            .unwrap()
            .iter()
            .flat_map(|s| c.apply(s))
            .collect::<Vec<_>>()
    };
    assert!(apply(&mut c, "ALTER TABLE t ADD COLUMN b int, DROP PRIMARY KEY").is_empty());
    let t = c.table(&name("T")).unwrap();
    assert!(t.primary_key().is_none());
    assert!(t.column("b").is_some());
    assert_eq!(
        apply(&mut c, "CREATE TABLE t (x int)"),
        vec![WalkIssue::Duplicate("table t already exists".into())]
    );
    assert_eq!(
        apply(&mut c, "ALTER TABLE nope ADD COLUMN x int"),
        vec![WalkIssue::Unknown("table nope does not exist".into())]
    );
    assert_eq!(
        apply(&mut c, "ALTER TABLE t DROP COLUMN zz"),
        vec![WalkIssue::Unknown("column t.zz does not exist".into())]
    );
    assert!(apply(&mut c, "ALTER TABLE t RENAME TO u").is_empty());
    assert!(c.table(&name("u")).is_some());
    assert!(apply(&mut c, "DROP TABLE u").is_empty());
    assert_eq!(c.table_count(), 0);
}
