//! End to end (operator against the API emulator, real PostgreSQL): the review-side guarantees
//! of issue 10. Auto-approval (`maxRisk: LOW` on a dev instance) never applies what the reviewer
//! cannot fully understand, and transaction control, NUL bytes and scripts without statements
//! fail the review before anyone is asked to approve them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{Env, PgTarget, change};

/// The base manifests with a dev instance and a project that auto-approves LOW risk there.
fn auto_approving(pg: &PgTarget) -> String {
    pg.base_manifests("x")
        .replace("environment: prod", "environment: dev")
        .replace(
            "  review:\n    preset: default\n",
            "  review:\n    preset: default\n  approval:\n    autoApprove:\n      - environments: [dev]\n        maxRisk: LOW\n",
        )
}

async fn setup(env: &Env, pg: &PgTarget) {
    pg.psql("CREATE TABLE victim (id bigint PRIMARY KEY); INSERT INTO victim VALUES (1), (2);")
        .unwrap();
    env.apply(&auto_approving(pg)).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    // Auto-approval is on: a LOW change is applied without an Approval.
    env.apply(&change(
        "low",
        "1",
        "CREATE TABLE accounts (id bigint PRIMARY KEY);",
    ))
    .await
    .unwrap();
    env.wait("schemachange/low", "condition=Applied")
        .await
        .unwrap();
}

/// Waits for `name` to be held for a human, and checks its review's risk.
async fn held_with_risk(env: &Env, name: &str, risk: &str) {
    env.wait_jsonpath(
        &format!("schemachange/{name}"),
        "{.status.phase}",
        "AwaitingApproval",
    )
    .await
    .unwrap();
    let json = env.get_json(&format!("schemachange/{name}")).await.unwrap();
    assert_eq!(json["status"]["review"]["risk"], risk, "{json:#}");
}

fn victim_rows(pg: &PgTarget) -> String {
    pg.psql("SELECT count(*) FROM victim")
        .unwrap()
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_approval_does_not_apply_a_do_block() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg).await;
    env.apply(&change(
        "sneaky-do",
        "2",
        "DO $$ BEGIN EXECUTE 'DROP TABLE victim'; END $$;",
    ))
    .await
    .unwrap();
    held_with_risk(&env, "sneaky-do", "HIGH").await;
    assert_eq!(victim_rows(&pg), "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_approval_does_not_apply_a_data_modifying_cte() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg).await;
    env.apply(&change(
        "sneaky-cte",
        "2",
        "WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d;",
    ))
    .await
    .unwrap();
    held_with_risk(&env, "sneaky-cte", "MODERATE").await;
    assert_eq!(victim_rows(&pg), "2");
}

/// Waits for ReviewFailed and returns the Reviewed condition's message.
async fn review_failed(env: &Env, name: &str) -> String {
    env.wait_jsonpath(
        &format!("schemachange/{name}"),
        "{.status.phase}",
        "ReviewFailed",
    )
    .await
    .unwrap();
    let json = env.get_json(&format!("schemachange/{name}")).await.unwrap();
    json["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Reviewed")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guards_fail_the_review_before_approval() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg).await;
    env.apply(&change(
        "hidden-commit",
        "2",
        "INSERT INTO victim VALUES (3);\nCOMMIT/**/;\nSELECT 1/0;",
    ))
    .await
    .unwrap();
    let message = review_failed(&env, "hidden-commit").await;
    assert!(
        message.contains("schemagate.transaction-control"),
        "{message}"
    );
    env.apply(&change(
        "only-comments",
        "3",
        "-- TODO: write the migration\n/* nothing yet */",
    ))
    .await
    .unwrap();
    let message = review_failed(&env, "only-comments").await;
    assert!(message.contains("schemagate.empty-script"), "{message}");
    // A NUL byte, written as a YAML escape.
    env.apply(
        "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata:\n  name: nul\n\
         spec:\n  projectRef: shop\n  instanceRef: pg\n  version: \"4\"\n  sql: \"SELECT 'a\\0b';\"\n",
    )
    .await
    .unwrap();
    let message = review_failed(&env, "nul").await;
    assert!(message.contains("schemagate.nul-byte"), "{message}");
    assert_eq!(victim_rows(&pg), "2");
}
