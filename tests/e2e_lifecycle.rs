//! End to end with kubectl: the operator (in-process) against the Kubernetes API emulator (or a
//! real cluster, see `e2e_support`) and a real PostgreSQL database from the testkit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{Env, PgTarget, approval, change};

const GOOD_SQL: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);";

/// Applies the base objects and waits for the instance to be Ready.
async fn setup(env: &Env, pg: &PgTarget, password: &str) {
    env.apply(&pg.base_manifests(password)).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
}

async fn digest_of(env: &Env, name: &str) -> String {
    env.wait_jsonpath(
        &format!("schemachange/{name}"),
        "{.status.phase}",
        "AwaitingApproval",
    )
    .await
    .unwrap();
    let json = env.get_json(&format!("schemachange/{name}")).await.unwrap();
    json["status"]["sqlDigest"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reviewed_approved_applied_with_snapshots_and_diff() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, "not-checked").await;
    env.apply(&change("add-accounts", "1", GOOD_SQL))
        .await
        .unwrap();
    let digest = digest_of(&env, "add-accounts").await;
    let held = env.get_json("schemachange/add-accounts").await.unwrap();
    let review = &held["status"]["review"];
    assert_eq!(review["errors"], 0, "{held:#}");
    assert!(
        review["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "column.required"),
        "findings in status: {held:#}"
    );
    assert_eq!(
        pg.psql("SELECT to_regclass('public.accounts') IS NULL")
            .unwrap()
            .trim(),
        "t",
        "nothing runs before approval"
    );
    env.apply(&approval("ok-accounts", "add-accounts", &digest, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/add-accounts", "condition=Applied")
        .await
        .unwrap();
    assert_eq!(
        pg.psql("SELECT to_regclass('public.accounts') IS NOT NULL")
            .unwrap()
            .trim(),
        "t"
    );
    let applied = env.get_json("schemachange/add-accounts").await.unwrap();
    let status = &applied["status"];
    assert_eq!(status["phase"], "Applied", "{applied:#}");
    let before = status["snapshots"]["before"]["ddl"].as_str().unwrap();
    let after = status["snapshots"]["after"]["ddl"].as_str().unwrap();
    assert!(!before.contains("accounts"), "{before}");
    assert!(after.contains("\"accounts\""), "{after}");
    let diff: Vec<&str> = status["snapshots"]["diff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        diff.iter()
            .any(|l| l.starts_with("+ table") && l.contains("accounts")),
        "{diff:?}"
    );
    assert_eq!(status["execution"]["statementsApplied"], 1, "{applied:#}");
    assert_eq!(
        status["approval"]["approvals"][0]["approval"],
        "ok-accounts"
    );
    env.wait_jsonpath(
        "approval/ok-accounts",
        "{.status.conditions[?(@.type==\"Accepted\")].reason}",
        "Matched",
    )
    .await
    .unwrap();
}
