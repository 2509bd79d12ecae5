//! End to end with kubectl: the operator (in-process) against the Kubernetes API emulator (or a
//! real cluster, see `e2e_support`) and a real PostgreSQL database from the testkit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{Env, PgTarget, Reviewed, approval, change, condition};

const GOOD_SQL: &str = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);";

/// Applies the base objects and waits for the instance to be Ready.
async fn setup(env: &Env, pg: &PgTarget, password: &str) {
    env.apply(&pg.base_manifests(password)).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
}

async fn digest_of(env: &Env, name: &str) -> Reviewed {
    env.reviewed(name).await.unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn review_failure_is_reported_and_nothing_runs() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change(
        "no-pk",
        "1",
        "CREATE TABLE widgets (id int, name text);",
    ))
    .await
    .unwrap();
    env.wait_jsonpath("schemachange/no-pk", "{.status.phase}", "ReviewFailed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/no-pk").await.unwrap();
    let reviewed = json["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Reviewed")
        .unwrap();
    assert_eq!(reviewed["status"], "False");
    assert!(
        reviewed["message"]
            .as_str()
            .unwrap()
            .contains("table.require-pk"),
        "{json:#}"
    );
    let events = env
        .kubectl_async(&["get", "events", "-o", "json"])
        .await
        .unwrap();
    assert!(events.contains("ReviewFailed"), "{events}");
    assert_eq!(
        pg.psql("SELECT to_regclass('public.widgets') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_change_never_runs() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change("risky", "1", GOOD_SQL)).await.unwrap();
    let digest = digest_of(&env, "risky").await;
    env.apply(&approval("no-way", "risky", &digest, "reject"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/risky", "{.status.phase}", "Rejected")
        .await
        .unwrap();
    // Approving after a rejection changes nothing: rejection is final.
    env.apply(&approval("late-ok", "risky", &digest, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath(
        "approval/late-ok",
        "{.status.conditions[?(@.type==\"Accepted\")].status}",
        "True",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/risky").await.unwrap();
    assert_eq!(json["status"]["phase"], "Rejected", "{json:#}");
    assert_eq!(
        pg.psql("SELECT to_regclass('public.accounts') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approval_with_another_digest_does_not_count() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change("add-accounts", "1", GOOD_SQL))
        .await
        .unwrap();
    let digest = digest_of(&env, "add-accounts").await;
    let wrong = Reviewed {
        digest: "0".repeat(64),
        ..digest.clone()
    };
    assert_ne!(digest.digest, wrong.digest);
    env.apply(&approval("stale", "add-accounts", &wrong, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath(
        "approval/stale",
        "{.status.conditions[?(@.type==\"Accepted\")].reason}",
        "DigestMismatch",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/add-accounts").await.unwrap();
    assert_eq!(json["status"]["phase"], "AwaitingApproval", "{json:#}");
    assert_eq!(
        pg.psql("SELECT to_regclass('public.accounts') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn version_below_the_applied_one_is_refused() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change("v2", "2", GOOD_SQL)).await.unwrap();
    let digest = digest_of(&env, "v2").await;
    env.apply(&approval("ok-v2", "v2", &digest, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/v2", "condition=Applied")
        .await
        .unwrap();
    env.apply(&change(
        "v1",
        "1",
        "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL);",
    ))
    .await
    .unwrap();
    env.wait_jsonpath("schemachange/v1", "{.status.phase}", "Failed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/v1").await.unwrap();
    let ready = json["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["reason"], "VersionOutOfOrder", "{json:#}");
    assert!(
        ready["message"].as_str().unwrap().contains("above 2"),
        "{json:#}"
    );
    assert_eq!(
        pg.psql("SELECT to_regclass('public.orders') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_error_fails_the_change_with_the_message() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE dup (id int PRIMARY KEY, code int NOT NULL); INSERT INTO dup VALUES (1, 7), (2, 7);")
        .unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change(
        "uniq",
        "1",
        "CREATE UNIQUE INDEX uk_dup_code ON dup (code);",
    ))
    .await
    .unwrap();
    let digest = digest_of(&env, "uniq").await;
    env.apply(&approval("ok-uniq", "uniq", &digest, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/uniq", "{.status.phase}", "Failed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/uniq").await.unwrap();
    let applied = json["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Applied")
        .unwrap();
    assert_eq!(applied["status"], "False");
    assert_eq!(applied["reason"], "ExecutionFailed", "{json:#}");
    let error = json["status"]["execution"]["error"].as_str().unwrap();
    assert!(
        error.contains("duplicate") || error.contains("unique"),
        "{error}"
    );
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'uk_dup_code'")
            .unwrap()
            .trim(),
        "0"
    );
}

/// `transactionMode: none` reaches the engine: statement by statement on PostgreSQL, so a
/// failing second statement leaves the first applied, and the change stops as NeedsIntervention
/// (at most once per statement) instead of rolling back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transaction_mode_none_keeps_what_ran_and_needs_intervention() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE dup (id int PRIMARY KEY, code int NOT NULL); INSERT INTO dup VALUES (1, 7), (2, 7);")
        .unwrap();
    setup(&env, &pg, "x").await;
    let manifest = change(
        "steps",
        "1",
        "CREATE TABLE step_one (id int PRIMARY KEY);\nCREATE UNIQUE INDEX uk_dup_code ON dup (code);",
    );
    env.apply(&format!("{manifest}  transactionMode: none\n"))
        .await
        .unwrap();
    let digest = digest_of(&env, "steps").await;
    env.apply(&approval("ok-steps", "steps", &digest, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/steps", "{.status.phase}", "Failed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/steps").await.unwrap();
    assert_eq!(
        condition(&json, "Applied")["reason"],
        "NeedsIntervention",
        "{json:#}"
    );
    assert_eq!(
        json["status"]["execution"]["statementsApplied"], 1,
        "{json:#}"
    );
    assert_eq!(
        pg.psql("SELECT to_regclass('public.step_one') IS NOT NULL")
            .unwrap()
            .trim(),
        "t",
        "the first statement committed on its own"
    );
    assert_eq!(
        pg.psql("SELECT status FROM schemagate.history")
            .unwrap()
            .trim(),
        "needs-intervention"
    );
    // The schema the partial run left is in status for whoever decides.
    let diff = json["status"]["snapshots"]["diff"].to_string();
    assert!(diff.contains("step_one"), "{json:#}");
}

/// SQLite refuses `transactionMode: none` (its executor lock is the change's transaction):
/// nothing runs and the change says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_refuses_transaction_mode_none_and_runs_nothing() {
    let env = Env::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.sqlite");
    // A SQLite instance under the name the `change` helper targets.
    env.apply(&format!(
        r#"apiVersion: schemagate.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: pg
spec:
  engine: sqlite
  database: "{}"
  environment: dev
---
apiVersion: schemagate.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  instances: [pg]
  approval:
    autoApprove:
      - environments: [dev]
        maxRisk: LOW
"#,
        file.display()
    ))
    .await
    .unwrap();
    let manifest = change("steps", "1", GOOD_SQL);
    env.apply(&format!("{manifest}  transactionMode: none\n"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/steps", "{.status.phase}", "Failed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/steps").await.unwrap();
    let ready = condition(&json, "Ready");
    // Refused before review and approval: the spec can never run on SQLite.
    assert_eq!(ready["reason"], "UnsupportedTransactionMode", "{json:#}");
    assert!(json["status"]["approval"].is_null(), "{json:#}");
    let message = ready["message"].as_str().unwrap();
    assert!(message.contains("transactionMode none"), "{message}");
    let cfg = schemagate::engine::ConnectionConfig::sqlite(&file);
    let mut s = schemagate::engine::Session::connect(&cfg).await.unwrap();
    assert!(
        s.exec("SELECT * FROM accounts").await.is_err(),
        "nothing ran"
    );
    s.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn missing_secret_makes_the_instance_not_ready() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    let manifests = pg.base_manifests("x");
    // Everything but the Secret.
    let without_secret: Vec<&str> = manifests
        .split("---\n")
        .filter(|doc| !doc.contains("kind: Secret"))
        .collect();
    env.apply(&without_secret.join("---\n")).await.unwrap();
    env.wait_jsonpath(
        "databaseinstance/pg",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        "SecretNotFound",
    )
    .await
    .unwrap();
    let json = env.get_json("databaseinstance/pg").await.unwrap();
    let ready = &json["status"]["conditions"][0];
    assert_eq!(ready["status"], "False", "{json:#}");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("pg-credentials")
    );
    // Creating the Secret makes it Ready on the next (backed-off) attempt.
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn canary_password_never_appears_in_logs_events_or_status() {
    const CANARY: &str = "canary-Pw-7f3a9c1e";
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, CANARY).await;
    env.apply(&change("add-accounts", "1", GOOD_SQL))
        .await
        .unwrap();
    let digest = digest_of(&env, "add-accounts").await;
    env.apply(&approval("ok", "add-accounts", &digest, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/add-accounts", "condition=Applied")
        .await
        .unwrap();
    // A failing change too, so error paths are covered.
    env.apply(&change(
        "bad",
        "2",
        "CREATE TABLE accounts (id bigint PRIMARY KEY);",
    ))
    .await
    .unwrap();
    let bad_digest = digest_of(&env, "bad").await;
    env.apply(&approval("ok-bad", "bad", &bad_digest, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/bad", "{.status.phase}", "Failed")
        .await
        .unwrap();
    let everything = env
        .kubectl_async(&[
            "get",
            "schemachanges,databaseinstances,projects,approvals,events,configmaps",
            "-o",
            "json",
        ])
        .await
        .unwrap();
    assert!(
        everything.contains("add-accounts"),
        "the dump has the objects"
    );
    assert!(!everything.contains(CANARY), "canary in API objects");
    let logs = env.logs();
    assert!(logs.contains("add-accounts"), "logs were captured");
    assert!(!logs.contains(CANARY), "canary in logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn large_snapshots_go_to_owned_compressed_config_maps() {
    use std::io::Read as _;
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    // About 60 KiB of canonical DDL.
    let tables: String = (0..300)
        .map(|i| {
            format!(
                "CREATE TABLE filler_{i} (id bigint PRIMARY KEY, label text NOT NULL, \
                 created_at timestamptz NOT NULL DEFAULT now());"
            )
        })
        .collect();
    pg.psql(&tables).unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change("add-accounts", "1", GOOD_SQL))
        .await
        .unwrap();
    let digest = digest_of(&env, "add-accounts").await;
    env.apply(&approval("ok", "add-accounts", &digest, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/add-accounts", "condition=Applied")
        .await
        .unwrap();
    let json = env.get_json("schemachange/add-accounts").await.unwrap();
    let after = &json["status"]["snapshots"]["after"];
    assert!(after["ddl"].is_null(), "too large to inline: {after:#}");
    assert!(after["size"].as_u64().unwrap() > 32 * 1024);
    let names: Vec<&str> = after["configMaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(!names.is_empty());
    let mut compressed = Vec::new();
    for name in &names {
        let cm = env.get_json(&format!("configmap/{name}")).await.unwrap();
        assert_eq!(cm["metadata"]["ownerReferences"][0]["kind"], "SchemaChange");
        assert_eq!(cm["metadata"]["ownerReferences"][0]["name"], "add-accounts");
        let b64 = cm["binaryData"]["ddl.gz"].as_str().unwrap();
        compressed.extend(base64_decode(b64));
    }
    let mut ddl = String::new();
    flate2::read::GzDecoder::new(compressed.as_slice())
        .read_to_string(&mut ddl)
        .unwrap();
    assert_eq!(ddl.len() as u64, after["size"].as_u64().unwrap());
    assert!(ddl.contains("\"accounts\"") && ddl.contains("\"filler_299\""));
    assert!(
        json["status"]["snapshots"]["diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("accounts"))
    );
}

/// Standard base64 (the Kubernetes encoding of binaryData), without a dependency.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_applying_change_cancels_it() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE runs (change text NOT NULL)").unwrap();
    setup(&env, &pg, "x").await;
    let sql = "INSERT INTO runs (change) VALUES ('slow');\n\
               DO $$ BEGIN PERFORM pg_sleep(30); END $$;";
    env.apply(&change("slow", "1", sql)).await.unwrap();
    let digest = digest_of(&env, "slow").await;
    env.apply(&approval("ok", "slow", &digest, "approve"))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let running = pg
            .psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")
            .unwrap();
        if running.trim() != "0" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never started");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Returns once the finalizer is gone, long before the 30 s sleep would end.
    env.kubectl_async(&["delete", "schemachange", "slow", "--timeout=20s"])
        .await
        .unwrap();
    assert_eq!(pg.psql("SELECT count(*) FROM runs").unwrap().trim(), "0");
    assert_eq!(
        pg.psql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()")
            .unwrap()
            .trim(),
        "0",
        "the statement was cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unreachable_server_is_reported_and_changes_wait() {
    let env = Env::start().await.unwrap();
    let mut pg = PgTarget::fresh().unwrap();
    // A port nothing listens on.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    pg.port = free.local_addr().unwrap().port();
    drop(free);
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait_jsonpath(
        "databaseinstance/pg",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        "Unreachable",
    )
    .await
    .unwrap();
    env.apply(&change("waits", "1", GOOD_SQL)).await.unwrap();
    env.wait_jsonpath(
        "schemachange/waits",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        "InstanceNotReady",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/waits").await.unwrap();
    assert_eq!(json["status"]["phase"], "Pending", "{json:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_change_is_applied_with_snapshots() {
    let env = Env::start().await.unwrap();
    let db = PgTarget::fresh_mysql().unwrap();
    // The testkit's MariaDB root has no password.
    setup(&env, &db, "").await;
    env.apply(&change(
        "add-accounts",
        "1",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email varchar(255) NOT NULL DEFAULT '');",
    ))
    .await
    .unwrap();
    let digest = digest_of(&env, "add-accounts").await;
    env.apply(&approval("ok", "add-accounts", &digest, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/add-accounts", "condition=Applied")
        .await
        .unwrap();
    assert_eq!(
        db.psql("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'accounts'")
            .unwrap()
            .trim(),
        "1"
    );
    let json = env.get_json("schemachange/add-accounts").await.unwrap();
    let after = json["status"]["snapshots"]["after"]["ddl"]
        .as_str()
        .unwrap();
    assert!(after.contains("`accounts`"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn later_version_waits_blocked_until_the_earlier_one_is_applied() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg, "x").await;
    env.apply(&change("v1", "1", GOOD_SQL)).await.unwrap();
    env.apply(&change(
        "v2",
        "2",
        "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric NOT NULL);",
    ))
    .await
    .unwrap();
    let d1 = digest_of(&env, "v1").await;
    let d2 = digest_of(&env, "v2").await;
    env.apply(&approval("ok-v2", "v2", &d2, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/v2", "{.status.phase}", "Blocked")
        .await
        .unwrap();
    assert_eq!(
        pg.psql("SELECT to_regclass('public.orders') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );
    // Approving v1 applies it, which unblocks v2 (watch-driven).
    env.apply(&approval("ok-v1", "v1", &d1, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/v1", "condition=Applied")
        .await
        .unwrap();
    env.wait("schemachange/v2", "condition=Applied")
        .await
        .unwrap();
    assert_eq!(
        pg.psql("SELECT string_agg(version, ',' ORDER BY finished_at) FROM schemagate.history WHERE status = 'applied'")
            .unwrap()
            .trim(),
        "1,2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_password_is_auth_failed_without_leaking_it() {
    const WRONG: &str = "wrong-Canary-Pw-5b1d";
    let env = Env::start().await.unwrap();
    let mut pg = PgTarget::fresh().unwrap();
    // A login role that must give its password (the testkit server trusts only `postgres`).
    let role = schemagate_testkit::unique_name("sg_login_");
    schemagate_testkit::psql(
        &pg.url,
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'right-Pw-1';"),
    )
    .unwrap();
    pg.user = role;
    env.apply(&pg.base_manifests(WRONG)).await.unwrap();
    env.wait_jsonpath(
        "databaseinstance/pg",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        "AuthFailed",
    )
    .await
    .unwrap();
    let json = env.get_json("databaseinstance/pg").await.unwrap();
    let ready = &json["status"]["conditions"][0];
    assert_eq!(ready["status"], "False", "{json:#}");
    let everything = format!("{json}{}", env.logs());
    assert!(
        !everything.contains(WRONG),
        "the password leaked: {everything}"
    );
    // The right password, but the role may not create the history table: a reason of its own
    // (not "Unreachable"), and the backoff starts afresh since something changed.
    env.apply(&pg.base_manifests("right-Pw-1")).await.unwrap();
    env.wait_jsonpath(
        "databaseinstance/pg",
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        "PermissionDenied",
    )
    .await
    .unwrap();
    let json = env.get_json("databaseinstance/pg").await.unwrap();
    let message = json["status"]["conditions"][0]["message"].as_str().unwrap();
    assert!(message.contains("permission denied"), "{json:#}");
    // The DBA grants it: Ready on the next attempt.
    schemagate_testkit::psql(
        &pg.url,
        &format!(
            "GRANT CREATE ON DATABASE \"{}\" TO {};",
            pg.database, pg.user
        ),
    )
    .unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
}
