//! The guarantees, attacked the way a hurried or malicious user would: delete the history row,
//! repoint the instance, recreate changes under approved names, forge status, precompute
//! approvals, slip dangerous SQL past auto-approval. Each test is a regression test of a hole
//! found by trying (issue 10); each asserts what the database and `kubectl` show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use std::time::Duration;

use e2e_support::{Env, PgTarget, Reviewed, approval, change};

/// Applies the base objects (instance `pg` in `prod`, project `shop`) and waits for Ready.
async fn setup(env: &Env, pg: &PgTarget) {
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
}

/// A table that records each run of a change, so a second run shows as a second row.
fn runs_table(pg: &PgTarget) {
    pg.psql("CREATE TABLE runs (id serial PRIMARY KEY, change text NOT NULL);")
        .unwrap();
}

fn runs(pg: &PgTarget, change: &str) -> String {
    pg.psql(&format!(
        "SELECT count(*) FROM runs WHERE change = '{change}'"
    ))
    .unwrap()
    .trim()
    .to_owned()
}

fn insert(change_name: &str) -> String {
    format!("INSERT INTO runs (change) VALUES ('{change_name}');")
}

async fn approve(env: &Env, name: &str) {
    let reviewed = env.reviewed(name).await.unwrap();
    env.apply(&approval(&format!("ok-{name}"), name, &reviewed, "approve"))
        .await
        .unwrap();
}

async fn ready_reason(env: &Env, what: &str) -> String {
    let json = env.get_json(what).await.unwrap();
    json["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .and_then(|c| c["reason"].as_str())
        .unwrap_or_default()
        .to_owned()
}

async fn wait_reason(env: &Env, what: &str, reason: &str) {
    env.wait_jsonpath(
        what,
        "{.status.conditions[?(@.type==\"Ready\")].reason}",
        reason,
    )
    .await
    .unwrap_or_else(|e| panic!("{what} never reached {reason}: {e}"));
}

/// Changes `spec` of the instance `pg` with a merge patch (bumps its generation).
async fn patch_instance(env: &Env, patch: &str) {
    env.kubectl_async(&["patch", "databaseinstance/pg", "--type=merge", "-p", patch])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_whose_history_row_is_gone_is_never_run_again() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    runs_table(&pg);
    setup(&env, &pg).await;
    env.apply(&change("c1", "1", &insert("c1"))).await.unwrap();
    approve(&env, "c1").await;
    env.wait("schemachange/c1", "condition=Applied")
        .await
        .unwrap();
    let failing = format!("{}\nSELECT 1/0;", insert("c2"));
    env.apply(&change("c2", "2", &failing)).await.unwrap();
    approve(&env, "c2").await;
    wait_reason(&env, "schemachange/c2", "ExecutionFailed").await;
    assert_eq!((runs(&pg, "c1"), runs(&pg, "c2")), ("1".into(), "0".into()));

    // The history rows vanish (a restore from an older backup, a cleanup script), and the
    // instance is touched.
    pg.psql("DELETE FROM schemagate.history").unwrap();
    patch_instance(&env, r#"{"spec":{"timeouts":{"lockSeconds":6}}}"#).await;
    wait_reason(&env, "schemachange/c1", "HistoryMissing").await;
    wait_reason(&env, "schemachange/c2", "HistoryMissing").await;
    let c1 = env.get_json("schemachange/c1").await.unwrap();
    let message = c1["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("will not run it again") && message.contains("create a new SchemaChange"),
        "says what a human must decide: {message}"
    );
    // Touch it again, restart the operator: still nothing runs.
    patch_instance(&env, r#"{"spec":{"timeouts":{"lockSeconds":7}}}"#).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!((runs(&pg, "c1"), runs(&pg, "c2")), ("1".into(), "0".into()));
    assert_eq!(
        pg.psql("SELECT count(*) FROM schemagate.history")
            .unwrap()
            .trim(),
        "0",
        "no execution recorded a new row"
    );
    assert!(
        env.logs().contains("HistoryMissing"),
        "the refusal is logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repointing_the_instance_never_runs_old_changes_or_old_approvals_elsewhere() {
    let env = Env::start().await.unwrap();
    let a = PgTarget::fresh().unwrap();
    let b = PgTarget::fresh().unwrap();
    runs_table(&a);
    runs_table(&b);
    setup(&env, &a).await;
    // v1 applied on A.
    env.apply(&change("c1", "1", &insert("c1"))).await.unwrap();
    approve(&env, "c1").await;
    env.wait("schemachange/c1", "condition=Applied")
        .await
        .unwrap();
    // v3 approved on A, but blocked behind v2 that nobody approved yet.
    env.apply(&change("c2", "2", &insert("c2"))).await.unwrap();
    env.reviewed("c2").await.unwrap();
    env.apply(&change("c3", "3", &insert("c3"))).await.unwrap();
    approve(&env, "c3").await;
    env.wait_jsonpath("schemachange/c3", "{.status.phase}", "Blocked")
        .await
        .unwrap();

    // Repoint the instance to database B.
    patch_instance(
        &env,
        &format!(r#"{{"spec":{{"database":"{}"}}}}"#, b.database),
    )
    .await;
    // The applied change is not run again on B; the approved one is reviewed again against B
    // and its old Approval no longer counts.
    wait_reason(&env, "schemachange/c1", "HistoryMissing").await;
    wait_reason(&env, "schemachange/c3", "AwaitingApproval").await;
    let c3 = env.get_json("schemachange/c3").await.unwrap();
    assert!(
        c3["status"]["review"]["target"]
            .as_str()
            .unwrap()
            .contains(&b.database),
        "reviewed against the new target: {c3:#}"
    );
    let ready = ready_reason(&env, "schemachange/c3").await;
    assert_eq!(ready, "AwaitingApproval");
    env.wait_jsonpath(
        "approval/ok-c3",
        "{.status.conditions[?(@.type==\"Accepted\")].reason}",
        "PredatesReview",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    for name in ["c1", "c2", "c3"] {
        assert_eq!(
            runs(&b, name),
            "0",
            "{name} ran on the database it was not approved for"
        );
    }
    assert_eq!(runs(&a, "c1"), "1");
    assert_eq!(runs(&a, "c3"), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_approval_counts_only_for_the_object_it_was_made_for() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    runs_table(&pg);
    setup(&env, &pg).await;

    // Approved without a uid (as from git), applied; deleted and recreated at once under the
    // same name with another version: the old Approval does not count.
    env.apply(&change("ins", "1", &insert("ins")))
        .await
        .unwrap();
    let reviewed = env.reviewed("ins").await.unwrap();
    // An Approval without schemaChangeUid must come from a later second than the review.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let no_uid = Reviewed {
        uid: String::new(),
        ..reviewed
    };
    let manifest =
        approval("ok-ins", "ins", &no_uid, "approve").replace("  schemaChangeUid: \"\"\n", "");
    env.apply(&manifest).await.unwrap();
    env.wait("schemachange/ins", "condition=Applied")
        .await
        .unwrap();
    env.kubectl_async(&["delete", "schemachange/ins", "--wait=true"])
        .await
        .unwrap();
    env.apply(&change("ins", "2", &insert("ins")))
        .await
        .unwrap();
    env.reviewed("ins").await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.get_json("schemachange/ins").await.unwrap()["status"]["phase"],
        "AwaitingApproval"
    );
    assert_eq!(runs(&pg, "ins"), "1", "an INSERT approved once ran twice");

    // An Approval written in advance (the digest is just sha256 of the SQL) does not count.
    let sql = insert("pre");
    let manifest_sql = format!("{sql}\n");
    let digest = schemagate::workflow::sql_digest(&manifest_sql);
    let early = Reviewed {
        digest,
        uid: String::new(),
    };
    env.apply(
        &approval("pre-ok", "pre", &early, "approve").replace("  schemaChangeUid: \"\"\n", ""),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.apply(&change("pre", "3", &sql)).await.unwrap();
    let pre = env.reviewed("pre").await.unwrap();
    assert_eq!(pre.digest, early.digest, "the precomputed digest is right");
    env.wait_jsonpath(
        "approval/pre-ok",
        "{.status.conditions[?(@.type==\"Accepted\")].reason}",
        "PredatesChange",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs(&pg, "pre"), "0");

    // Rejected, then recreated while an approve still exists: neither decision carries over.
    env.apply(&change("rej", "4", &insert("rej")))
        .await
        .unwrap();
    let rej = env.reviewed("rej").await.unwrap();
    env.apply(&approval("rej-no", "rej", &rej, "reject"))
        .await
        .unwrap();
    wait_reason(&env, "schemachange/rej", "Rejected").await;
    env.apply(&approval("rej-yes", "rej", &rej, "approve"))
        .await
        .unwrap();
    env.kubectl_async(&["delete", "schemachange/rej", "--wait=true"])
        .await
        .unwrap();
    env.apply(&change("rej", "4", &insert("rej")))
        .await
        .unwrap();
    env.reviewed("rej").await.unwrap();
    env.wait_jsonpath(
        "approval/rej-yes",
        "{.status.conditions[?(@.type==\"Accepted\")].reason}",
        "UidMismatch",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(runs(&pg, "rej"), "0");
    assert_eq!(
        ready_reason(&env, "schemachange/rej").await,
        "AwaitingApproval"
    );
}

/// A project that auto-approves LOW-risk changes on the `prod` instance of the fixture.
fn auto_approving_project() -> &'static str {
    r"apiVersion: schemagate.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  instances: [pg]
  review:
    preset: default
  approval:
    autoApprove:
      - {environments: [prod], maxRisk: LOW}
"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn auto_approval_trusts_only_the_operators_own_review() {
    let mut env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE victim (id int PRIMARY KEY); INSERT INTO victim VALUES (1);")
        .unwrap();
    setup(&env, &pg).await;
    env.apply(auto_approving_project()).await.unwrap();
    // A clean LOW change is auto-applied (the policy works).
    env.apply(&change(
        "low",
        "1",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);",
    ))
    .await
    .unwrap();
    env.wait("schemachange/low", "condition=Applied")
        .await
        .unwrap();
    // (Statements the reviewer cannot see into are never LOW: tests/e2e_guards.rs.)
    // A review that failed, then forged in status as clean and LOW: not auto-applied, also not
    // after an operator restart (the operator reviews again rather than read status back).
    env.apply(&change("drop", "3", "DROP TABLE victim;"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/drop", "{.status.phase}", "ReviewFailed")
        .await
        .unwrap();
    let forged = r#"{"status":{"phase":"AwaitingApproval","review":{"risk":"LOW","statements":1,"errors":0,"warnings":0,"findings":null}}}"#;
    for restart in [false, true] {
        if restart {
            env.stop_operator().await;
            env.start_operator();
        }
        env.kubectl_async(&[
            "patch",
            "schemachange/drop",
            "--subresource=status",
            "--type=merge",
            "-p",
            forged,
        ])
        .await
        .unwrap();
        env.wait_jsonpath("schemachange/drop", "{.status.phase}", "ReviewFailed")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        pg.psql("SELECT count(*) FROM victim").unwrap().trim(),
        "1",
        "the victim table survived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_executable_comments_are_never_auto_approved() {
    let env = Env::start().await.unwrap();
    let my = PgTarget::fresh_mysql().unwrap();
    my.psql("CREATE TABLE victim (id int PRIMARY KEY); INSERT INTO victim VALUES (1);")
        .unwrap();
    // The testkit's MariaDB root has no password.
    env.apply(&my.base_manifests("")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    env.apply(auto_approving_project()).await.unwrap();
    env.apply(&change(
        "replace",
        "1",
        "CREATE /*M! OR REPLACE */ TABLE victim (id int PRIMARY KEY);",
    ))
    .await
    .unwrap();
    let phase = env
        .wait_jsonpath(
            "schemachange/replace",
            "{.status.phase}",
            "AwaitingApproval",
        )
        .await;
    let json = env.get_json("schemachange/replace").await.unwrap();
    assert!(phase.is_ok(), "{json:#}");
    assert_eq!(json["status"]["review"]["risk"], "HIGH", "{json:#}");
    assert_eq!(my.psql("SELECT count(*) FROM victim").unwrap().trim(), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nul_byte_fails_the_review_and_the_change_deletes_promptly() {
    // (Which guards fail the review: tests/e2e_guards.rs.) Here: a NUL byte as a JSON escape in
    // an inline script must not leave a worker spinning with the change stuck in deletion.
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg).await;
    let nul = r#"{"apiVersion":"schemagate.io/v1alpha1","kind":"SchemaChange","metadata":{"name":"nul"},"spec":{"projectRef":"shop","instanceRef":"pg","version":"1","sql":"SELECT 1;\u0000DROP TABLE x;"}}"#;
    env.apply(nul).await.unwrap();
    env.wait_jsonpath("schemachange/nul", "{.status.phase}", "ReviewFailed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/nul").await.unwrap();
    assert!(
        json["status"]["review"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "schemagate.nul-byte" && f["level"] == "error"),
        "{json:#}"
    );
    let deleted = tokio::time::timeout(
        Duration::from_secs(20),
        env.kubectl_async(&["delete", "schemachange/nul", "--wait=true"]),
    )
    .await;
    assert!(matches!(deleted, Ok(Ok(_))), "delete hung: {deleted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sql_from_a_binary_data_config_map_is_reviewed() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg).await;
    let sql = "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);\n";
    let encoded = base64(sql.as_bytes());
    env.apply(&format!(
        r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: sql
binaryData:
  change.sql: {encoded}
---
apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: from-binary
spec:
  projectRef: shop
  instanceRef: pg
  version: "1"
  sqlFrom:
    configMapKeyRef: {{name: sql, key: change.sql}}
"#
    ))
    .await
    .unwrap();
    let reviewed = env.reviewed("from-binary").await.unwrap();
    assert_eq!(reviewed.digest, schemagate::workflow::sql_digest(sql));
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_digest_mismatch_is_logged_once_with_its_reason() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    setup(&env, &pg).await;
    env.apply(&change(
        "add",
        "1",
        "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);",
    ))
    .await
    .unwrap();
    let reviewed = env.reviewed("add").await.unwrap();
    let wrong = Reviewed {
        digest: "1".repeat(64),
        ..reviewed
    };
    env.apply(&approval("mistyped", "add", &wrong, "approve"))
        .await
        .unwrap();
    env.wait_jsonpath(
        "approval/mistyped",
        "{.status.conditions[?(@.type==\"Accepted\")].reason}",
        "DigestMismatch",
    )
    .await
    .unwrap();
    let logs = env.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("DigestMismatch") && l.contains("mistyped"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
}
