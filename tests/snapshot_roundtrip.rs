//! Snapshots of real databases: a realistic schema snapshots, renders to canonical DDL, loads into
//! an empty database and snapshots again to the same digest (PostgreSQL and MariaDB).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemagate::engine::ConnectionConfig;
use schemagate::engine::introspect::snapshot_database;
use schemagate::snapshot::{ObjectKind, Schema, diff};
use schemagate_testkit::{fresh_mysql_database, fresh_pg_database, mariadb, psql};

async fn load_with_executor(url: &str, ddl: &str) {
    schemagate_testkit::apply_through_executor(url, "load", "1", ddl).await;
}

fn kinds(s: &Schema) -> Vec<ObjectKind> {
    let mut k: Vec<ObjectKind> = s.objects.iter().map(|o| o.kind).collect();
    k.dedup();
    k
}

#[tokio::test]
async fn postgres_snapshot_round_trips_to_the_same_digest() {
    let src = fresh_pg_database().unwrap();
    psql(&src, include_str!("fixtures/roundtrip_pg.sql")).unwrap();
    let mut extra = String::new();
    for i in 0..40 {
        extra.push_str(&format!(
            "CREATE TABLE billing.t{i} (id int PRIMARY KEY, c bigint REFERENCES customers(id), v text DEFAULT 'x{i}');\
             CREATE INDEX t{i}_v ON billing.t{i} (v);"
        ));
    }
    psql(&src, &extra).unwrap();
    let a = snapshot_database(&ConnectionConfig::from_url(&src).unwrap())
        .await
        .unwrap();
    assert_eq!(a.tables.len(), 42);
    let k = kinds(&a);
    for want in [
        ObjectKind::Schema,
        ObjectKind::Extension,
        ObjectKind::Enum,
        ObjectKind::Domain,
        ObjectKind::Sequence,
        ObjectKind::Function,
        ObjectKind::Procedure,
        ObjectKind::View,
        ObjectKind::MaterializedView,
        ObjectKind::Trigger,
    ] {
        assert!(k.contains(&want), "{want:?} missing from {k:?}");
    }
    let ddl = a.canonical_ddl();
    for needle in [
        "GENERATED ALWAYS AS IDENTITY",
        "COLLATE \"C\"",
        "STORED",
        "EXCLUDE USING gist",
        "WHERE ((amount)",
        "USING hash",
        "COMMENT ON COLUMN",
    ] {
        assert!(ddl.contains(needle), "{needle} missing:\n{ddl}");
    }

    let dst = fresh_pg_database().unwrap();
    load_with_executor(&dst, &ddl).await;
    let b = snapshot_database(&ConnectionConfig::from_url(&dst).unwrap())
        .await
        .unwrap();
    let d = diff(
        &schemagate::snapshot::render_objects(&a),
        &schemagate::snapshot::render_objects(&b),
    );
    assert!(d.is_empty(), "{:#?}", d.human_lines());
    assert_eq!(a.digest(), b.digest());
    // JSON survives a round trip too.
    assert_eq!(
        Schema::from_json(&a.canonical_json()).unwrap().digest(),
        a.digest()
    );
}

#[tokio::test]
async fn mariadb_snapshot_round_trips_to_the_same_digest() {
    let src = fresh_mysql_database().unwrap();
    let db = src.rsplit('/').next().unwrap().to_owned();
    mariadb(
        &src,
        Some(&db),
        include_str!("fixtures/roundtrip_mysql.sql"),
    )
    .unwrap();
    let a = snapshot_database(&ConnectionConfig::from_url(&src).unwrap())
        .await
        .unwrap();
    assert_eq!(a.tables.len(), 3);
    let k = kinds(&a);
    for want in [
        ObjectKind::Function,
        ObjectKind::Procedure,
        ObjectKind::View,
        ObjectKind::Trigger,
        ObjectKind::Event,
    ] {
        assert!(k.contains(&want), "{want:?} missing from {k:?}");
    }
    let ddl = a.canonical_ddl();
    for needle in [
        "AUTO_INCREMENT",
        "FULLTEXT KEY",
        "ENGINE=MyISAM",
        "ON UPDATE current_timestamp()",
        "VIRTUAL",
        "STORED",
        "COLLATE latin1_swedish_ci",
        "`name`(10)",
    ] {
        assert!(ddl.contains(needle), "{needle} missing:\n{ddl}");
    }
    assert!(
        !ddl.contains(&db),
        "definitions must not name the source database:\n{ddl}"
    );

    let dst = fresh_mysql_database().unwrap();
    load_with_executor(&dst, &ddl).await;
    let b = snapshot_database(&ConnectionConfig::from_url(&dst).unwrap())
        .await
        .unwrap();
    let d = diff(
        &schemagate::snapshot::render_objects(&a),
        &schemagate::snapshot::render_objects(&b),
    );
    assert!(d.is_empty(), "{:#?}", d.human_lines());
    assert_eq!(a.digest(), b.digest());
}

#[tokio::test]
async fn postgres_diff_names_the_changed_column_type() {
    let url = fresh_pg_database().unwrap();
    psql(
        &url,
        "CREATE TABLE users (id int PRIMARY KEY, email varchar(20))",
    )
    .unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let before = snapshot_database(&cfg).await.unwrap();
    psql(
        &url,
        "ALTER TABLE users ALTER COLUMN email TYPE text; CREATE VIEW v AS SELECT 1 AS one",
    )
    .unwrap();
    let after = snapshot_database(&cfg).await.unwrap();
    let d = diff(
        &schemagate::snapshot::render_objects(&before),
        &schemagate::snapshot::render_objects(&after),
    );
    assert_eq!(
        d.human_lines(),
        [
            "~ table public.users: column \"email\" character varying(20) → text",
            "+ view public.v"
        ]
    );
}
