//! Fault tests with operator processes: `kill -9` mid-change then restart, and two operators at
//! once. A side-effect table counts how often each change's SQL really ran in PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{Env, PgTarget, approval, change};

async fn approve(env: &Env, name: &str) {
    let reviewed = env.reviewed(name).await.unwrap();
    env.apply(&approval(&format!("ok-{name}"), name, &reviewed, "approve"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_change_then_restart_applies_exactly_once() {
    let env = Env::start_without_operator().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE runs (change text NOT NULL)").unwrap();
    let logs = tempfile::tempdir().unwrap();
    let first = env.operator_process("first", &logs.path().join("first.log"));
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    let sql = "INSERT INTO runs (change) VALUES ('slow');\n\
               DO $$ BEGIN PERFORM pg_sleep(3); END $$;";
    env.apply(&change("slow", "1", sql)).await.unwrap();
    approve(&env, "slow").await;
    // Wait until the change is inside the database, then kill the operator without warning.
    pg.wait_until_running(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND pid <> pg_backend_pid()",
    )
    .await;
    first.kill_9();
    let _second = env.operator_process("second", &logs.path().join("second.log"));
    env.wait("schemachange/slow", "condition=Applied")
        .await
        .unwrap();
    assert_eq!(
        pg.psql("SELECT count(*) FROM runs").unwrap().trim(),
        "1",
        "the change ran exactly once"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM schemagate.history WHERE status = 'applied'")
            .unwrap()
            .trim(),
        "1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_operators_at_once_apply_each_change_once() {
    let env = Env::start_without_operator().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE runs (change text NOT NULL)").unwrap();
    let logs = tempfile::tempdir().unwrap();
    let _a = env.operator_process("a", &logs.path().join("a.log"));
    let _b = env.operator_process("b", &logs.path().join("b.log"));
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    let names = ["c1", "c2", "c3"];
    for (i, name) in names.iter().enumerate() {
        let sql = format!("INSERT INTO runs (change) VALUES ('{name}');");
        env.apply(&change(name, &(i + 1).to_string(), &sql))
            .await
            .unwrap();
    }
    for name in names {
        approve(&env, name).await;
    }
    for name in names {
        env.wait(&format!("schemachange/{name}"), "condition=Applied")
            .await
            .unwrap();
    }
    assert_eq!(
        pg.psql("SELECT string_agg(change, ',' ORDER BY change) FROM runs")
            .unwrap()
            .trim(),
        "c1,c2,c3"
    );
    // Neither operator later mistakes the other's work for a lost history row: the changes stay
    // Applied once both have seen every status update.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    for name in names {
        let json = env.get_json(&format!("schemachange/{name}")).await.unwrap();
        assert_eq!(json["status"]["phase"], "Applied", "{json:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_change_on_mariadb_reports_needs_intervention() {
    let env = Env::start_without_operator().await.unwrap();
    let db = PgTarget::fresh_mysql().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let first = env.operator_process("first", &logs.path().join("first.log"));
    // The testkit's MariaDB root has no password.
    env.apply(&db.base_manifests("")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    let sql = "CREATE TABLE first_one (id bigint PRIMARY KEY);\n\
               DO SLEEP(4);\n\
               CREATE TABLE second_one (id bigint PRIMARY KEY);";
    env.apply(&change("two-step", "1", sql)).await.unwrap();
    approve(&env, "two-step").await;
    db.wait_until_running(
        "SELECT count(*) FROM information_schema.processlist WHERE info LIKE 'DO SLEEP%'",
    )
    .await;
    first.kill_9();
    let _second = env.operator_process("second", &logs.path().join("second.log"));
    env.wait_jsonpath(
        "schemachange/two-step",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        "NeedsIntervention",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/two-step").await.unwrap();
    assert_eq!(json["status"]["phase"], "Failed", "{json:#}");
    let tables = db
        .psql("SELECT group_concat(table_name ORDER BY table_name) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE '%_one'")
        .unwrap();
    assert_eq!(tables.trim(), "first_one", "never re-run, never continued");
}
