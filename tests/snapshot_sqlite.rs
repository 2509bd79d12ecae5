//! SQLite snapshots of real database files: what the `schemagate dev` playground shows before and
//! after a change. Round trip through the canonical DDL to the same digest, and a diff a user reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemagate::engine::introspect::snapshot_database;
use schemagate::engine::{Change, ConnectionConfig, ExecOptions, Executor, Outcome};
use schemagate::snapshot::{ObjectKind, diff, render_objects as render};
use schemagate_testkit::sqlite_file;

const SCHEMA: &str = r#"
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  "display name" TEXT DEFAULT 'anon'
);
CREATE TABLE orders (
  id INTEGER NOT NULL,
  line INTEGER NOT NULL,
  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  total NUMERIC(12, 2) DEFAULT 0,
  PRIMARY KEY (id, line)
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE UNIQUE INDEX customers_lower_email ON customers (lower(email));
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE TRIGGER orders_guard BEFORE DELETE ON customers BEGIN SELECT 1; END;
"#;

async fn apply(cfg: &ConnectionConfig, uid: &str, sql: &str) {
    let ex = Executor::new(cfg.clone(), ExecOptions::default());
    let change = Change {
        uid: uid.into(),
        namespace: "t".into(),
        name: uid.into(),
        version: uid.trim_start_matches('v').into(),
        sql: sql.into(),
        approved_by: None,
        author: None,
        operator: "test".into(),
        transaction_mode: schemagate::engine::TransactionMode::Auto,
    };
    let r = ex.execute(&change).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}\n{sql}", r.error);
}

#[tokio::test]
async fn sqlite_snapshot_round_trips_to_the_same_digest() {
    let src_file = sqlite_file().unwrap();
    let src = ConnectionConfig::sqlite(src_file.path());
    apply(&src, "v1", SCHEMA).await;
    let a = snapshot_database(&src).await.unwrap();

    let names: Vec<&str> = a.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        ["customers", "orders"],
        "history tables are left out"
    );
    let orders = &a.tables[1];
    let constraints: Vec<&str> = orders
        .constraints
        .iter()
        .map(|c| c.definition.as_str())
        .collect();
    assert!(
        constraints.contains(&"PRIMARY KEY (\"id\", \"line\")"),
        "{constraints:?}"
    );
    assert!(
        constraints.contains(
            &"FOREIGN KEY (\"customer_id\") REFERENCES \"customers\" (\"id\") ON DELETE CASCADE"
        ),
        "{constraints:?}"
    );
    assert!(
        a.tables[0]
            .constraints
            .iter()
            .any(|c| c.definition == "UNIQUE (\"email\")")
    );
    let kinds: Vec<ObjectKind> = a.objects.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [ObjectKind::View, ObjectKind::Trigger]);
    let ddl = a.canonical_ddl();
    assert!(
        ddl.contains("CREATE INDEX orders_customer ON orders (customer_id)"),
        "{ddl}"
    );

    // The canonical DDL loads into an empty database and snapshots to the same digest.
    let copy_file = sqlite_file().unwrap();
    let copy = ConnectionConfig::sqlite(copy_file.path());
    apply(&copy, "v1", &ddl).await;
    let b = snapshot_database(&copy).await.unwrap();
    assert_eq!(
        a.digest(),
        b.digest(),
        "{}\n---\n{}",
        ddl,
        b.canonical_ddl()
    );
}

/// SQLite's pragmas upper-case the type names it knows (`text` → `TEXT`) but keep the others as
/// written (`bigint`): the snapshot shows every type as the user declared it, and a later
/// `ALTER TABLE … ADD COLUMN` keeps its own spelling too.
#[tokio::test]
async fn sqlite_types_keep_the_casing_they_were_declared_with() {
    let file = sqlite_file().unwrap();
    let db = ConnectionConfig::sqlite(file.path());
    apply(
        &db,
        "v1",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, n int, \
         r Real, b BLOB, d varchar(20), k);",
    )
    .await;
    apply(&db, "v2", "ALTER TABLE accounts ADD COLUMN note integer").await;
    let ddl = snapshot_database(&db).await.unwrap().canonical_ddl();
    for column in [
        "\"id\" bigint,",
        "\"email\" text NOT NULL,",
        "\"n\" int,",
        "\"r\" Real,",
        "\"b\" BLOB,",
        "\"d\" varchar(20),",
        "\"k\",",
        "\"note\" integer",
    ] {
        assert!(ddl.contains(column), "{column} in\n{ddl}");
    }
    assert!(
        !ddl.contains(" ,"),
        "a column without a type has no stray space:\n{ddl}"
    );
}

#[tokio::test]
async fn sqlite_diff_names_what_a_change_did() {
    let file = sqlite_file().unwrap();
    let db = ConnectionConfig::sqlite(file.path());
    apply(&db, "v1", SCHEMA).await;
    let before = snapshot_database(&db).await.unwrap();
    apply(
        &db,
        "v2",
        "ALTER TABLE customers ADD COLUMN phone TEXT; DROP INDEX orders_customer; \
         CREATE TABLE invoices (id INTEGER PRIMARY KEY, order_id INTEGER);",
    )
    .await;
    let after = snapshot_database(&db).await.unwrap();
    let lines = diff(&render(&before), &render(&after))
        .human_lines()
        .join("\n");
    assert!(lines.contains("invoices"), "{lines}");
    assert!(lines.contains("phone"), "{lines}");
    assert!(lines.contains("orders_customer"), "{lines}");
    assert_ne!(before.digest(), after.digest());
}
