//! An idle operator is quiet: with three DatabaseInstances (two SQLite files, one PostgreSQL
//! database) whose changes are applied, it reconciles each instance at most once per drift
//! interval, writes no status, and touches the PostgreSQL database only for the drift checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use std::time::{Duration, Instant};

use e2e_support::{Env, PgTarget, condition};

/// Drift interval of every instance in the test.
const INTERVAL_SECS: u64 = 3;
/// How long the operator is watched at rest.
const WINDOW: Duration = Duration::from_secs(12);
/// Transactions one drift check may run on PostgreSQL (session set-up, server version, history
/// layout, the read-only snapshot, the latest after-snapshot); generous.
const MAX_TRANSACTIONS_PER_CHECK: i64 = 12;

fn manifests(pg: &PgTarget, dir: &std::path::Path) -> String {
    let sqlite = |name: &str| {
        format!(
            r#"---
apiVersion: schemagate.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: {name}
spec:
  engine: sqlite
  database: "{path}"
  environment: dev
  driftCheckIntervalSeconds: {INTERVAL_SECS}
"#,
            path = dir.join(format!("{name}.sqlite")).display()
        )
    };
    let change = |instance: &str| {
        format!(
            r#"---
apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: {instance}-accounts
spec:
  projectRef: idle
  instanceRef: {instance}
  version: "1"
  sql: |
    CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
"#
        )
    };
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: pg-credentials
stringData:
  username: {user}
  password: unused
---
apiVersion: schemagate.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: pg
spec:
  engine: postgres
  host: "{host}"
  port: {port}
  database: "{database}"
  credentialsSecretRef:
    name: pg-credentials
  tls:
    mode: disable
  environment: dev
  driftCheckIntervalSeconds: {INTERVAL_SECS}
{lite_a}{lite_b}---
apiVersion: schemagate.io/v1alpha1
kind: Project
metadata:
  name: idle
spec:
  instances: [pg, lite-a, lite-b]
  review:
    preset: default
  approval:
    autoApprove:
      - environments: [dev]
        maxRisk: LOW
{c_pg}{c_a}{c_b}"#,
        user = pg.user,
        host = pg.host,
        port = pg.port,
        database = pg.database,
        lite_a = sqlite("lite-a"),
        lite_b = sqlite("lite-b"),
        c_pg = change("pg"),
        c_a = change("lite-a"),
        c_b = change("lite-b"),
    )
}

/// Committed transactions of one database, read through the server's maintenance database (so
/// the reads themselves are not counted).
async fn xact_commit(admin: &mut sqlx::PgConnection, database: &str) -> i64 {
    sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
        .bind(database)
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_operator_reconciles_once_per_drift_interval_and_writes_nothing() {
    use sqlx::Connection as _;
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    let files = tempfile::tempdir().unwrap();
    env.apply(&manifests(&pg, files.path())).await.unwrap();
    for instance in ["pg", "lite-a", "lite-b"] {
        env.wait(
            &format!("schemachange/{instance}-accounts"),
            "condition=Applied",
        )
        .await
        .unwrap();
        // The first drift check after the change: the baseline every later check confirms.
        env.wait_jsonpath(
            &format!("databaseinstance/{instance}"),
            "{.status.conditions[?(@.type==\"Drifted\")].reason}",
            "InSync",
        )
        .await
        .unwrap();
    }
    let admin_url = schemagate_testkit::shared_postgres().unwrap();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();

    let reconciles = |controller: &'static str| {
        let env = &env;
        async move {
            env.metric_sum(
                "schemagate_reconciles_total",
                &format!("controller=\"{controller}\""),
            )
            .await
            .unwrap()
        }
    };
    let writes = || async {
        env.metric_sum("schemagate_status_writes_total", "")
            .await
            .unwrap()
    };
    let instance_reconciles = reconciles("databaseinstance").await;
    let other_reconciles = reconciles("schemachange").await
        + reconciles("project").await
        + reconciles("approval").await;
    let status_writes = writes().await;

    // Watch the PostgreSQL database's transactions: they must come in bursts, one per drift
    // check, and nothing in between.
    let first = xact_commit(&mut admin, &pg.database).await;
    let mut last = first;
    let mut bursts: i64 = 0;
    let mut last_change: Option<Instant> = None;
    let end = Instant::now() + WINDOW;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = xact_commit(&mut admin, &pg.database).await;
        if now != last {
            // Changes less than a second apart belong to the same check.
            if last_change.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                bursts += 1;
            }
            last_change = Some(Instant::now());
            last = now;
        }
    }
    // Let the last check's counters and metrics land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let transactions = xact_commit(&mut admin, &pg.database).await - first;

    let instance_reconciles = reconciles("databaseinstance").await - instance_reconciles;
    let other_reconciles = reconciles("schemachange").await
        + reconciles("project").await
        + reconciles("approval").await
        - other_reconciles;
    let status_writes = writes().await - status_writes;
    let intervals = WINDOW.as_secs() / INTERVAL_SECS;
    eprintln!(
        "idle {WINDOW:?}, 3 instances, drift every {INTERVAL_SECS} s: {instance_reconciles} \
         DatabaseInstance reconciles, {other_reconciles} other reconciles, {status_writes} status \
         writes, {transactions} PostgreSQL transactions in {bursts} bursts"
    );
    // At most one reconcile per instance per interval (plus one where the window cuts an
    // interval), and the timers do run: at least one per instance per interval but the edges.
    #[allow(clippy::cast_precision_loss)]
    let (at_most, at_least) = (3.0 * (intervals + 1) as f64, 3.0 * (intervals - 1) as f64);
    assert!(
        (at_least..=at_most).contains(&instance_reconciles),
        "{instance_reconciles} DatabaseInstance reconciles in {WINDOW:?}, expected {at_least}..={at_most}"
    );
    assert_eq!(
        other_reconciles, 0.0,
        "nothing changed: nothing to reconcile"
    );
    assert_eq!(
        status_writes, 0.0,
        "checks that confirm the status write nothing"
    );
    let bursts_allowed = i64::try_from(intervals + 1).unwrap();
    assert!(
        (1..=bursts_allowed).contains(&bursts),
        "{bursts} bursts of PostgreSQL transactions in {WINDOW:?} (drift every {INTERVAL_SECS} s)"
    );
    assert!(
        transactions <= bursts * MAX_TRANSACTIONS_PER_CHECK,
        "{transactions} transactions in {bursts} drift checks"
    );
    let instance = env.get_json("databaseinstance/pg").await.unwrap();
    assert_eq!(
        condition(&instance, "Ready")["status"],
        "True",
        "{instance:#}"
    );
}

/// A drift check that cannot take its snapshot — another session holds an exclusive lock on a
/// table with a check constraint (whose text the server prints only with the table open), as a
/// long migration by another tool would — leaves `Ready`
/// alone (the instance stays usable) and says so on `Drifted`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drift_check_that_hits_the_lock_timeout_leaves_ready_alone() {
    use sqlx::Connection as _;
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE busy (id int CHECK (id > 0), note text DEFAULT 'x')")
        .unwrap();
    let mut holder = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    sqlx::raw_sql("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let manifests = pg.base_manifests("x").replace(
        "  environment: prod\n",
        "  environment: prod\n  timeouts:\n    lockSeconds: 1\n",
    );
    env.apply(&manifests).await.unwrap();
    env.wait_jsonpath(
        "databaseinstance/pg",
        "{.status.conditions[?(@.type==\"Drifted\")].reason}",
        "DriftCheckFailed",
    )
    .await
    .unwrap();
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    let json = env.get_json("databaseinstance/pg").await.unwrap();
    let ready = condition(&json, "Ready");
    assert_eq!(
        (ready["status"].as_str(), ready["reason"].as_str()),
        (Some("True"), Some("Connected")),
        "{json:#}"
    );
    let drifted = condition(&json, "Drifted");
    assert_eq!(drifted["status"], "Unknown", "{json:#}");
    let message = drifted["message"].as_str().unwrap();
    assert!(message.contains("lock timeout"), "{message}");
    assert!(message.contains("retried in 600 s"), "{message}");
}
