//! The cheaper forms of the snapshot's text against the server's full ones, on the snapshot
//! corpus and on the shapes it lacks: constraint definitions rebuilt in Rust against
//! `pg_get_constraintdef` (quoted and keyword names, INCLUDE, NULLS NOT DISTINCT, match types,
//! every referential action, deferrable, NOT VALID, partitioned tables), and defaults printed
//! without their relation against `pg_get_expr(adbin, adrelid)`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use sqlx::Connection;

use std::sync::atomic::AtomicUsize;

use super::{Catalog, Read, catalog, constraint_definitions, worker};
use crate::snapshot::SnapshotOptions;
use schemagate_testkit::{fresh_pg_database, psql, shared_postgres};

const SHAPES: &str = r#"
CREATE SCHEMA "Odd Schema";
CREATE TABLE "Odd Schema"."User" (
  "Id" int, "select" int, a int, b int, c int, "Mixed ""q""" int,
  PRIMARY KEY ("Id") INCLUDE (a, "select"),
  UNIQUE NULLS NOT DISTINCT (a, b),
  CONSTRAINT later UNIQUE (c) DEFERRABLE INITIALLY DEFERRED,
  UNIQUE ("Mixed ""q""") DEFERRABLE,
  UNIQUE (b) INCLUDE (c) WITH (fillfactor = 70)
);
CREATE TABLE public.child (
  id int PRIMARY KEY, u int, v int, w int,
  FOREIGN KEY (u) REFERENCES "Odd Schema"."User" ("Id") MATCH FULL ON UPDATE CASCADE
    ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT fk2 FOREIGN KEY (v, w) REFERENCES "Odd Schema"."User" (a, b)
    ON DELETE RESTRICT ON UPDATE SET DEFAULT
);
ALTER TABLE child ADD CONSTRAINT fk3 FOREIGN KEY (w) REFERENCES "Odd Schema"."User" ("Id")
  ON DELETE NO ACTION NOT VALID;
ALTER TABLE child ADD CONSTRAINT fk4 FOREIGN KEY (id) REFERENCES child (id) ON DELETE CASCADE;
CREATE TABLE p (id int, k int, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TABLE refp (x int, k int, FOREIGN KEY (x, k) REFERENCES p (id, k) ON DELETE SET NULL (x));
CREATE TABLE "order" ("user" int REFERENCES child, "table" int UNIQUE);
CREATE SEQUENCE "Odd Schema"."Seq";
CREATE SEQUENCE "it's";
CREATE SEQUENCE "back\slash";
CREATE SEQUENCE "select";
CREATE TABLE defaults (
  a int DEFAULT nextval('"Odd Schema"."Seq"'), b text DEFAULT 'x' || current_user,
  c timestamptz DEFAULT now() - interval '1 day', d int[] DEFAULT ARRAY[1, 2],
  e numeric GENERATED ALWAYS AS (a * 2) STORED, f bigserial, g int GENERATED ALWAYS AS IDENTITY,
  h bigint DEFAULT nextval('"it''s"'), i bigint DEFAULT nextval('"back\slash"'),
  j bigint DEFAULT nextval('"select"'), k timestamptz DEFAULT now(), l bool DEFAULT true,
  m text DEFAULT 'it''s', n int DEFAULT -1, o varchar(5) DEFAULT 'v',
  p int GENERATED ALWAYS AS (a + n) STORED, q regclass DEFAULT 'defaults'::regclass
);
"#;

/// The defaults of `SHAPES` printed from their trees in Rust (the others, with implicit casts
/// or operators on other types: the server's text). `i`'s sequence name has a backslash,
/// which leaves it to the server after all, when the names are joined in.
const DEFAULTS_IN_RUST: [&str; 10] = ["f", "h", "i", "j", "k", "l", "m", "n", "p", "q"];

/// A connection to `url` in the snapshot's read-only transaction, and the catalog read in it.
async fn read_catalog(url: &str) -> (sqlx::PgConnection, Catalog) {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut c)
        .await
        .unwrap();
    let (version, _) = catalog::pin_settings(&mut c).await.unwrap();
    let read = Read {
        version,
        opts: SnapshotOptions::default(),
    };
    let cat: Catalog = worker(&mut c, read, &AtomicUsize::new(0)).await.unwrap();
    (c, cat)
}

/// Loads `sql` into a fresh database and checks every definition; returns how many were
/// rebuilt in Rust and which kinds, and the columns whose defaults were printed in Rust.
async fn rebuilt_equal_servers(sql: &str) -> (usize, Vec<String>, Vec<String>) {
    let url = fresh_pg_database().unwrap();
    psql(&url, sql).unwrap();
    let (mut c, mut cat) = read_catalog(&url).await;
    let mut defaults_in_rust: Vec<String> = cat
        .attrdefs
        .iter()
        .filter(|d| cat.attrdef_texts.contains_key(&d.0))
        .filter_map(|d| {
            let a = cat
                .attributes
                .iter()
                .find(|a| a.rel == d.1 && a.num == d.2)?;
            Some(a.name.clone())
        })
        .collect();
    defaults_in_rust.sort();
    let to_build: Vec<(String, String)> = cat
        .constraints
        .iter()
        .filter(|k| k.definition.is_empty())
        .map(|k| (k.name.clone(), k.kind.clone()))
        .collect();
    constraint_definitions(&mut c, &mut cat).await.unwrap();
    let oids: Vec<i64> = cat.constraints.iter().map(|k| k.oid).collect();
    let server: HashMap<i64, String> = catalog::constraint_definitions(&mut c, &oids)
        .await
        .unwrap()
        .into_iter()
        .collect();
    for k in &cat.constraints {
        assert_eq!(k.definition, server[&k.oid], "constraint {}", k.name);
    }
    let defaults: HashMap<i64, String> = sqlx::query_as(
        "SELECT oid::int8, pg_get_expr(adbin, adrelid) FROM pg_attrdef WHERE adrelid >= 16384",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(defaults.len(), cat.attrdefs.len());
    for (oid, _, _, text) in &cat.attrdefs {
        assert_eq!(text, &defaults[oid]);
    }
    let mut kinds: Vec<String> = to_build.iter().map(|(_, k)| k.clone()).collect();
    kinds.sort();
    kinds.dedup();
    (to_build.len(), kinds, defaults_in_rust)
}

#[tokio::test]
async fn cheaper_texts_are_the_servers_to_the_byte() {
    psql(
        &shared_postgres().unwrap(),
        "DO $$ BEGIN CREATE ROLE sg_corpus_staff; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .unwrap();
    let (n, kinds, defaults) = rebuilt_equal_servers(SHAPES).await;
    // All but the foreign key with SET NULL (x), which the server prints.
    assert_eq!(n, 13, "{kinds:?}");
    assert_eq!(kinds, ["f", "p", "u"]);
    assert_eq!(defaults, DEFAULTS_IN_RUST);
    for sql in [
        include_str!("../../../tests/fixtures/corpus/pg_commerce.sql"),
        include_str!("../../../tests/fixtures/corpus/pg_payroll.sql"),
        include_str!("../../../tests/fixtures/corpus/pg_tenancy.sql"),
    ] {
        let (n, ..) = rebuilt_equal_servers(sql).await;
        assert!(n > 0);
    }
}

/// Index shapes: those named `*_rs` are printed in Rust, `*_srv` left to the server.
const INDEX_SHAPES: &str = r#"
CREATE SCHEMA "Odd Schema";
CREATE DOMAIN pos AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (x int, y int);
CREATE FUNCTION sg_twice(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1 * 2';
CREATE FUNCTION sg_eq(int, int) RETURNS bool IMMUTABLE LANGUAGE sql AS 'SELECT $1 = $2';
CREATE OPERATOR public.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = sg_eq);
CREATE TABLE "Odd Schema".ix (
  "Id" int, "select" text, a int, b text, c varchar(20), d bool, e numeric, f timestamptz,
  g jsonb, h int[], "x y" text, ch char(3), r int4range, dp pos, pr pair, "User" text
);
CREATE INDEX lower_rs ON "Odd Schema".ix (lower(b));
CREATE INDEX lower_varchar_rs ON "Odd Schema".ix (lower(c));
CREATE INDEX keyword_col_rs ON "Odd Schema".ix (upper("select"), a);
CREATE INDEX plus_rs ON "Odd Schema".ix ((a + 1));
CREATE INDEX negative_rs ON "Odd Schema".ix ((a * -1)) WHERE a > -5;
CREATE INDEX several_rs ON "Odd Schema".ix (a, (a - 1), b, lower("User")) INCLUDE (c);
CREATE INDEX partial_rs ON "Odd Schema".ix (a) WHERE a > 0;
CREATE INDEX quote_rs ON "Odd Schema".ix (b) WHERE b = 'it''s ünï';
CREATE INDEX empty_rs ON "Odd Schema".ix (b) WHERE b <> '';
CREATE INDEX varchar_eq_rs ON "Odd Schema".ix (c) WHERE c = 'x';
CREATE INDEX bool_col_rs ON "Odd Schema".ix (a) WHERE d;
CREATE INDEX not_rs ON "Odd Schema".ix (a) WHERE NOT d;
CREATE INDEX is_null_rs ON "Odd Schema".ix (a) WHERE b IS NULL;
CREATE INDEX and_or_rs ON "Odd Schema".ix (a)
  WHERE b IS NOT NULL AND a > 1 AND (d OR a < 10) AND "Id" >= 10;
CREATE INDEX concat_op_rs ON "Odd Schema".ix ((b || 'x'), ("x y" || b));
CREATE INDEX jsonb_rs ON "Odd Schema".ix ((g ->> 'k'));
CREATE INDEX keyword_fn_rs ON "Odd Schema".ix ("left"(b, 3), substr(b, 1, 2), md5(b));
CREATE INDEX bool_expr_rs ON "Odd Schema".ix ((lower(b) = 'x'));
CREATE INDEX like_rs ON "Odd Schema".ix (a) WHERE b LIKE 'a%' AND b = "select";
CREATE INDEX user_fn_rs ON "Odd Schema".ix (public.sg_twice(a));
CREATE INDEX user_op_rs ON "Odd Schema".ix ((a OPERATOR(public.===) 1));
CREATE INDEX explicit_cast_rs ON "Odd Schema".ix ((b::varchar));
CREATE UNIQUE INDEX unique_partial_rs ON "Odd Schema".ix (lower(b) text_pattern_ops DESC) WHERE d;
CREATE INDEX bool_const_rs ON "Odd Schema".ix (a) WHERE d = true OR d = false;
CREATE INDEX boolean_test_srv ON "Odd Schema".ix (a) WHERE d IS TRUE;
CREATE INDEX in_list_srv ON "Odd Schema".ix (a) WHERE a IN (1, 2);
CREATE INDEX coalesce_srv ON "Odd Schema".ix (coalesce(a, 0));
CREATE INDEX at_time_zone_srv ON "Odd Schema".ix (date_trunc('day', f AT TIME ZONE 'UTC'));
CREATE INDEX int_cast_srv ON "Odd Schema".ix ((a::bigint));
CREATE INDEX bpchar_srv ON "Odd Schema".ix (a) WHERE ch = 'ab';
CREATE INDEX numeric_srv ON "Odd Schema".ix (a) WHERE e > 1.5;
CREATE INDEX backslash_srv ON "Odd Schema".ix (a) WHERE b = 'back\slash';
CREATE INDEX polymorphic_srv ON "Odd Schema".ix (a) WHERE r @> 5;
CREATE INDEX variadic_srv ON "Odd Schema".ix ((num_nonnulls(a, b)));
CREATE INDEX domain_srv ON "Odd Schema".ix (a) WHERE dp IS NULL;
CREATE INDEX composite_srv ON "Odd Schema".ix (a) WHERE pr IS NULL;
CREATE INDEX collated_column ON "Odd Schema".ix ((b COLLATE "C"));
CREATE INDEX array_srv ON "Odd Schema".ix ((h[1]));
CREATE TABLE parted (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
CREATE INDEX parted_rs ON parted (lower(v)) WHERE k > 1;
CREATE MATERIALIZED VIEW mv AS SELECT a, b FROM "Odd Schema".ix;
CREATE INDEX mv_rs ON mv (lower(b)) WHERE a IS NOT NULL;
"#;

#[tokio::test]
async fn index_expressions_printed_in_rust_are_the_servers_to_the_byte() {
    let url = fresh_pg_database().unwrap();
    psql(&url, INDEX_SHAPES).unwrap();
    let (mut c, mut cat) = read_catalog(&url).await;
    let in_rust: Vec<i64> = cat.index_texts.keys().copied().collect();
    constraint_definitions(&mut c, &mut cat).await.unwrap();
    let oids: Vec<i64> = cat.indexes.iter().map(|i| i.oid).collect();
    let server: HashMap<i64, (Option<String>, Option<String>)> =
        catalog::index_expressions(&mut c, &oids)
            .await
            .unwrap()
            .into_iter()
            .map(|(o, e, p)| (o, (e, p)))
            .collect();
    let name = |oid: i64| {
        cat.classes
            .iter()
            .find(|c| c.oid == oid)
            .map_or_else(String::new, |c| c.name.clone())
    };
    let (mut rust_names, mut server_names) = (Vec::new(), Vec::new());
    for i in &cat.indexes {
        let n = name(i.oid);
        assert_eq!(
            (&i.expressions, &i.predicate),
            (&server[&i.oid].0, &server[&i.oid].1),
            "index {n}"
        );
        if i.expressions.is_some() || i.predicate.is_some() {
            if in_rust.contains(&i.oid) {
                rust_names.push(n);
            } else {
                server_names.push(n);
            }
        }
    }
    let wrong: Vec<&String> = rust_names
        .iter()
        // The partition's copy of its parent's index has the server's name.
        .filter(|n| !n.ends_with("_rs") && *n != "parted_1_lower_idx")
        .chain(server_names.iter().filter(|n| !n.ends_with("_srv")))
        .collect();
    assert!(wrong.is_empty(), "printed by the wrong side: {wrong:?}");
    assert_eq!(rust_names.len(), 27, "{rust_names:?}");
    assert_eq!(server_names.len(), 13, "{server_names:?}");
}

/// Trees that differ only in their nodes' `:location` are printed once: the key leaves out
/// exactly those fields, and nothing that only looks like one.
#[test]
fn tree_keys_leave_out_locations_only() {
    use super::without_locations as key;
    let a = "({FUNCEXPR :funcid 870 :args ({VAR :varno 1 :varattno 4 :location 41}) \
             :location 35})";
    let b = "({FUNCEXPR :funcid 870 :args ({VAR :varno 1 :varattno 4 :location 7}) \
             :location -1})";
    assert_eq!(key(a), key(b));
    assert_eq!(
        key(a),
        "({FUNCEXPR :funcid 870 :args ({VAR :varno 1 :varattno 4})})"
    );
    // Another column: another key.
    assert_ne!(key(a), key(&b.replace(":varattno 4", ":varattno 5")));
    // No location: the text itself, not a copy.
    assert!(matches!(
        key("{CONST :consttype 23}"),
        std::borrow::Cow::Borrowed(_)
    ));
    // An escaped space belongs to a word, and a value that is not an integer is no location.
    for kept in [
        "{X :name a\\ :location 5}",
        "{X :location abc}",
        "{X :location -}",
        "{X :location 5a}",
    ] {
        assert_eq!(key(kept), kept);
    }
}

/// `quote::Quoter` against the server's `quote_ident` on every keyword the server knows (each
/// category), in both cases, and on names that are bare or quoted for other reasons; and with
/// `quote_all_identifiers` on.
#[tokio::test]
async fn quoting_in_rust_is_the_servers() {
    let url = shared_postgres().unwrap();
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let extra = [
        "users",
        "_x9",
        "Users",
        "9lives",
        "a$b",
        "a b",
        "",
        "say \"hi\"",
        "café",
        "x-y",
        "ab_",
    ];
    for quote_all in [false, true] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET quote_all_identifiers = {quote_all}"
        )))
        .execute(&mut c)
        .await
        .unwrap();
        let quoter = catalog::quoter(&mut c).await.unwrap();
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT n, quote_ident(n) FROM (SELECT word::text FROM pg_get_keywords() \
               UNION ALL SELECT upper(word) FROM pg_get_keywords() \
               UNION ALL SELECT unnest($1::text[])) AS u(n)",
        )
        .bind(&extra[..])
        .fetch_all(&mut c)
        .await
        .unwrap();
        assert!(rows.len() > 2 * 400, "{} names", rows.len());
        for (name, server) in rows {
            assert_eq!(
                quoter.quote(&name),
                server,
                "{name:?}, quote_all {quote_all}"
            );
        }
    }
}
