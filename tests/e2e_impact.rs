//! Impact analysis through the operator: a change that rewrites an existing table of tens of
//! thousands of rows shows, in `status.review.impacts`, the lock, the rewrite and the table's
//! size read from the live database, and its risk is at least MODERATE; a table the change
//! creates itself costs nothing and is not listed. The live review rules (dry run, affected
//! rows) run in the same review.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{Env, PgTarget, change};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_review_in_status_names_the_lock_the_rewrite_and_the_table_size() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 50000) g;
         ANALYZE orders;",
    )
    .unwrap();
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    env.apply(&change(
        "widen",
        "1",
        "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;\n\
         CREATE TABLE audit (id bigint PRIMARY KEY);\n\
         CREATE INDEX audit_id ON audit (id);",
    ))
    .await
    .unwrap();
    // The default preset refuses type changes (column.disallow-change-type), so the change
    // ends in ReviewFailed; the review is in status either way.
    env.wait_jsonpath("schemachange/widen", "{.status.review.statements}", "3")
        .await
        .unwrap();
    let json = env.get_json("schemachange/widen").await.unwrap();
    let review = &json["status"]["review"];
    let impacts = review["impacts"]
        .as_array()
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(impacts.len(), 1, "only the existing table: {json:#}");
    let i = &impacts[0];
    assert_eq!(i["table"], "orders", "{i:#}");
    assert_eq!(i["lock"], "ACCESS EXCLUSIVE", "{i:#}");
    assert_eq!(i["rewrite"], true, "{i:#}");
    assert!(i["rows"].as_u64().unwrap() >= 49_000, "{i:#}");
    assert!(i["bytes"].as_u64().unwrap() > 1_000_000, "{i:#}");
    assert!(i["message"].as_str().unwrap().contains("50k rows"), "{i:#}");
    assert_ne!(review["risk"], "LOW", "{json:#}");
    // Nothing ran: the review only reads statistics and the catalog.
    assert_eq!(
        pg.psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'amount'")
            .unwrap()
            .trim(),
        "integer"
    );
}

/// The rules that need the live database run in the operator's review: a DML statement the
/// server cannot plan fails the dry run (an error in every preset), an UPDATE whose EXPLAIN
/// estimate is over the limit is reported, and nothing is executed by the review.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_dry_runs_dml_and_estimates_affected_rows() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 20000) g;
         ANALYZE orders;",
    )
    .unwrap();
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    env.apply(&change(
        "fixup",
        "1",
        "UPDATE orders SET amount = 0 WHERE id > 10;\n\
         UPDATE order_lines SET amount = 0 WHERE id = 1;",
    ))
    .await
    .unwrap();
    env.wait_jsonpath("schemachange/fixup", "{.status.phase}", "ReviewFailed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/fixup").await.unwrap();
    let review = &json["status"]["review"];
    let findings = review["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{json:#}"));
    let of = |rule: &str| {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| {
                (
                    f["line"].as_u64().unwrap(),
                    f["level"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("statement.dml-dry-run"),
        [(2, "error".to_owned())],
        "{json:#}"
    );
    assert_eq!(
        of("statement.affected-row-limit"),
        [(1, "warning".to_owned())],
        "{json:#}"
    );
    assert!(review.get("notEvaluated").is_none(), "{json:#}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM orders WHERE amount = 0")
            .unwrap()
            .trim(),
        "0"
    );
}
