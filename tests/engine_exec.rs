//! Executor behaviour against real PostgreSQL, MariaDB and SQLite: exactly once, history records,
//! concurrency, lock timeouts with retry, cancellation, error reporting, safe identifiers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use schemagate::engine::{
    Change, ChangeStatus, ConnectionConfig, ExecOptions, Executor, Outcome, Secret, Session,
    history,
};
use schemagate::sqltext::Engine;
use schemagate_testkit::{fresh_mysql_database, fresh_pg_database, sqlite_file};

fn cfg(url: &str) -> ConnectionConfig {
    ConnectionConfig::from_url(url).unwrap()
}

fn change(uid: &str, sql: &str) -> Change {
    Change {
        uid: uid.into(),
        namespace: "shop".into(),
        name: "add-orders".into(),
        version: "1".into(),
        sql: sql.into(),
        approved_by: Some("dba@example.com".into()),
        author: None,
        operator: "test".into(),
        transaction_mode: schemagate::engine::TransactionMode::Auto,
    }
}

fn quick() -> ExecOptions {
    ExecOptions {
        backoff_initial: Duration::from_millis(50),
        ..ExecOptions::default()
    }
}

async fn count(cfg: &ConnectionConfig, sql: &'static str) -> i64 {
    let mut s = Session::connect(cfg).await.unwrap();
    let n = match &mut s {
        Session::Pg(c) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(c)
            .await
            .unwrap(),
        Session::My(c) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(c)
            .await
            .unwrap(),
        Session::Lite(c) => sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(c)
            .await
            .unwrap(),
    };
    s.close().await;
    n
}

/// Polls until `sql` (a count) is positive, i.e. the statement to cancel is really running.
async fn wait_until_running(cfg: &ConnectionConfig, sql: &'static str) {
    for _ in 0..600 {
        if count(cfg, sql).await > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("statement never started");
}

const SCRIPT: &str = "CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(20));\n\
                      INSERT INTO orders VALUES (1, 'a');\n\
                      INSERT INTO orders VALUES (2, 'b');";

async fn applies_once_and_records_history(cfg: ConnectionConfig) {
    let ex = Executor::new(cfg.clone(), quick());
    let c = change("uid-1", SCRIPT);
    let r = ex.execute(&c).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{r:?}");
    assert_eq!(
        (r.statements_total, r.statements_applied, r.attempts),
        (3, 3, 1)
    );
    assert_eq!(r.statements[2].line, 3);
    assert_eq!(r.statements[1].rows_affected, Some(1));
    let again = ex.execute(&c).await.unwrap();
    assert_eq!(again.outcome, Outcome::AlreadyApplied);
    assert_eq!(count(&cfg, "SELECT COUNT(*) FROM orders").await, 2);

    let mut s = Session::connect(&cfg).await.unwrap();
    let rec = history::get(&mut s, "uid-1").await.unwrap().unwrap();
    assert_eq!(rec.status, ChangeStatus::Applied);
    assert_eq!(rec.statements_applied, 3);
    assert_eq!(rec.approved_by.as_deref(), Some("dba@example.com"));
    assert_eq!(rec.sql_sha256, c.sql_sha256());
    let versions = history::applied_versions(&mut s).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        history::latest_applied_version(&mut s)
            .await
            .unwrap()
            .unwrap()
            .change_uid,
        "uid-1"
    );
    if cfg.engine != Engine::Sqlite {
        let (json, digest) = history::latest_after_snapshot(&mut s)
            .await
            .unwrap()
            .unwrap();
        let snap =
            schemagate::snapshot::Schema::from_json(std::str::from_utf8(&json).unwrap()).unwrap();
        assert_eq!(snap.digest(), digest);
        assert!(snap.tables.iter().any(|t| t.name == "orders"));
        assert!(!snap.tables.iter().any(|t| t.name.starts_with("schemagate")));
        assert_eq!(rec.after_digest.as_deref(), Some(digest.as_str()));
        assert_ne!(rec.before_digest, rec.after_digest);
    }
    s.close().await;
}

#[tokio::test]
async fn pg_applies_once_and_records_history() {
    applies_once_and_records_history(cfg(&fresh_pg_database().unwrap())).await;
}

#[tokio::test]
async fn mysql_applies_once_and_records_history() {
    applies_once_and_records_history(cfg(&fresh_mysql_database().unwrap())).await;
}

#[tokio::test]
async fn sqlite_applies_once_and_records_history() {
    let f = sqlite_file().unwrap();
    applies_once_and_records_history(ConnectionConfig::sqlite(f.path())).await;
}

#[tokio::test]
async fn pg_failure_rolls_back_everything_and_reports_line_and_message() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let sql = "CREATE TABLE a (id int);\n\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (1);";
    let r = ex.execute(&change("f1", sql)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(r.statements_applied, 0);
    let err = r.error.unwrap();
    assert!(
        err.contains("line 4") && err.contains("relation \"nope\" does not exist"),
        "{err}"
    );
    assert_eq!(r.statements[2].line, 4);
    assert_eq!(
        count(&cfg, "SELECT COUNT(*) FROM pg_class WHERE relname = 'a'").await,
        0
    );
    // A failed transactional change may run again once fixed.
    let fixed = change("f1", "CREATE TABLE a (id int);");
    assert_eq!(ex.execute(&fixed).await.unwrap().outcome, Outcome::Applied);
}

#[tokio::test]
async fn mysql_failure_midway_needs_intervention_and_is_not_rerun() {
    let cfg = cfg(&fresh_mysql_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let sql = "CREATE TABLE a (id int);\nCREATE TABLE b (id int);\nALTER TABLE nope ADD x int;";
    let r = ex.execute(&change("m1", sql)).await.unwrap();
    assert_eq!(r.outcome, Outcome::NeedsIntervention);
    assert_eq!(r.statements_applied, 2);
    assert!(r.error.unwrap().contains("line 3"));
    let again = ex.execute(&change("m1", sql)).await.unwrap();
    assert_eq!(again.outcome, Outcome::NeedsIntervention);
    assert_eq!(again.attempts, 0, "nothing may run again");
}

async fn five_concurrent_executors_apply_once(cfg: ConnectionConfig) {
    let sql = "CREATE TABLE runs (id INT);\nINSERT INTO runs VALUES (1);";
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let cfg = cfg.clone();
        tasks.push(tokio::spawn(async move {
            Executor::new(cfg, quick())
                .execute(&change("same", sql))
                .await
                .unwrap()
                .outcome
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| **o == Outcome::Applied).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::AlreadyApplied)
            .count(),
        4
    );
    assert_eq!(count(&cfg, "SELECT COUNT(*) FROM runs").await, 1);
}

#[tokio::test]
async fn pg_five_concurrent_executors_apply_once() {
    five_concurrent_executors_apply_once(cfg(&fresh_pg_database().unwrap())).await;
}

#[tokio::test]
async fn mysql_five_concurrent_executors_apply_once() {
    five_concurrent_executors_apply_once(cfg(&fresh_mysql_database().unwrap())).await;
}

#[tokio::test]
async fn sqlite_five_concurrent_executors_apply_once() {
    let f = sqlite_file().unwrap();
    five_concurrent_executors_apply_once(ConnectionConfig::sqlite(f.path())).await;
}

#[tokio::test]
async fn pg_lock_timeout_gives_up_without_blocking_readers_then_retry_succeeds() {
    use sqlx::Connection;
    let url = fresh_pg_database().unwrap();
    let mut cfg = cfg(&url);
    cfg.timeouts.lock = Duration::from_millis(300);
    let mut setup = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE busy (id int); INSERT INTO busy VALUES (1)")
        .execute(&mut setup)
        .await
        .unwrap();
    // A long transaction holds a share lock on the table.
    let mut blocker = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; SELECT * FROM busy")
        .execute(&mut blocker)
        .await
        .unwrap();

    let opts = ExecOptions {
        max_attempts: 3,
        ..quick()
    };
    let ex = Executor::new(cfg.clone(), opts);
    let c = change("lock1", "ALTER TABLE busy ADD COLUMN note text;");
    let reader = tokio::spawn({
        let url = url.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut r = sqlx::PgConnection::connect(&url).await.unwrap();
            // Readers queue behind the waiting ALTER only until its lock timeout; a generous
            // statement timeout turns "blocked for good" into a failure instead of a hang.
            sqlx::raw_sql("SET statement_timeout = '20s'")
                .execute(&mut r)
                .await
                .unwrap();
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM busy")
                .fetch_one(&mut r)
                .await
        }
    });
    let r = ex.execute(&c).await.unwrap();
    assert_eq!(r.outcome, Outcome::LockTimeout, "{r:?}");
    assert_eq!(r.attempts, 3);
    assert!(r.error.unwrap().contains("lock timeout"));
    assert_eq!(reader.await.unwrap().unwrap(), 1);

    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();
    let r = ex.execute(&c).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
}

#[tokio::test]
async fn mysql_lock_timeout_is_retried_and_reported() {
    use sqlx::Connection;
    let url = fresh_mysql_database().unwrap();
    let mut cfg = cfg(&url);
    cfg.timeouts.lock = Duration::from_secs(1);
    let mut setup = sqlx::MySqlConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE busy (id int)")
        .execute(&mut setup)
        .await
        .unwrap();
    let mut blocker = sqlx::MySqlConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN; SELECT * FROM busy")
        .execute(&mut blocker)
        .await
        .unwrap();
    let ex = Executor::new(
        cfg,
        ExecOptions {
            max_attempts: 2,
            ..quick()
        },
    );
    let c = change("lock2", "ALTER TABLE busy ADD COLUMN note text;");
    let r = ex.execute(&c).await.unwrap();
    assert_eq!((r.outcome, r.attempts), (Outcome::LockTimeout, 2), "{r:?}");
    sqlx::raw_sql("COMMIT").execute(&mut blocker).await.unwrap();
    assert_eq!(ex.execute(&c).await.unwrap().outcome, Outcome::Applied);
}

#[tokio::test]
async fn pg_cancel_from_another_task_rolls_back() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let handle = ex.cancel_handle();
    let c = change("c1", "CREATE TABLE gone (id int);\nSELECT pg_sleep(60);");
    let watch = cfg.clone();
    let canceller = tokio::spawn(async move {
        wait_until_running(
            &watch,
            "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
        )
        .await;
        handle.cancel().await.unwrap();
    });
    let r = ex.execute(&c).await.unwrap();
    canceller.await.unwrap();
    assert_eq!(r.outcome, Outcome::Cancelled, "{r:?}");
    assert_eq!(
        count(&cfg, "SELECT COUNT(*) FROM pg_class WHERE relname = 'gone'").await,
        0
    );
}

#[tokio::test]
async fn mysql_cancel_from_another_task_interrupts_the_statement() {
    let cfg = cfg(&fresh_mysql_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let handle = ex.cancel_handle();
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        handle.cancel().await.unwrap();
    });
    let r = ex
        .execute(&change(
            "c2",
            "SELECT SLEEP(60);\nCREATE TABLE never (id int);",
        ))
        .await
        .unwrap();
    canceller.await.unwrap();
    assert_eq!(r.outcome, Outcome::Cancelled, "{r:?}");
    assert_eq!(r.statements_applied, 0);
}

#[tokio::test]
async fn injection_looking_identifiers_are_stored_verbatim() {
    for url in [
        fresh_pg_database().unwrap(),
        fresh_mysql_database().unwrap(),
    ] {
        let cfg = cfg(&url);
        let ex = Executor::new(cfg.clone(), quick());
        ex.execute(&change("setup", "CREATE TABLE canary (id int);"))
            .await
            .unwrap();
        let evil = "x\"; DROP TABLE canary; --";
        let evil2 = "x'); DROP TABLE canary; -- `";
        let mut c = change(evil, "CREATE TABLE t1 (id int);");
        c.namespace = evil2.into();
        c.name = evil.into();
        c.version = evil2.into();
        c.approved_by = Some(evil2.into());
        assert_eq!(ex.execute(&c).await.unwrap().outcome, Outcome::Applied);
        assert_eq!(
            count(&cfg, "SELECT COUNT(*) FROM canary").await,
            0,
            "canary table must survive"
        );
        let mut s = Session::connect(&cfg).await.unwrap();
        let rec = history::get(&mut s, evil).await.unwrap().unwrap();
        assert_eq!(
            (
                rec.namespace.as_str(),
                rec.name.as_str(),
                rec.version.as_str()
            ),
            (evil2, evil, evil2)
        );
        s.close().await;
    }
}

/// Collects everything logged at any level into a buffer.
#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn canary_password_never_appears_in_errors_or_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let canary = "Canary-Pw-7f3a9";
    let pg = schemagate_testkit::shared_postgres().unwrap();
    let role = schemagate_testkit::unique_name("r");
    schemagate_testkit::psql(
        &pg,
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'right-one'"),
    )
    .unwrap();
    let (host, port) = schemagate_testkit::host_port(&pg).unwrap();
    let mut targets = vec![
        ConnectionConfig::server(
            Engine::Postgres,
            &host,
            port,
            "postgres",
            &role,
            Secret::new(canary),
        ),
        ConnectionConfig::server(
            Engine::Postgres,
            &host,
            port,
            "nodb",
            "nouser",
            Secret::new(canary),
        ),
        // Nothing listens on port 1.
        ConnectionConfig::server(
            Engine::Postgres,
            "127.0.0.1",
            1,
            "x",
            "y",
            Secret::new(canary),
        ),
    ];
    let my = schemagate_testkit::shared_mysql().unwrap();
    let (mh, mp) = schemagate_testkit::host_port(&my).unwrap();
    targets.push(ConnectionConfig::server(
        Engine::Mysql,
        &mh,
        mp,
        "x",
        "nouser",
        Secret::new(canary),
    ));
    let url = format!("postgres://{role}:{canary}@{host}:{port}/postgres");
    targets.push(ConnectionConfig::from_url(&url).unwrap());
    for t in targets {
        let err = Executor::new(t.clone(), quick())
            .execute(&change("u", "SELECT 1;"))
            .await
            .unwrap_err();
        let text = format!(
            "{} | {err:?} | {} | {t:?} | {t}",
            schemagate::engine::error_chain(&err),
            err
        );
        assert!(!text.contains(canary), "password leaked: {text}");
        assert!(text.contains("cannot connect"), "{text}");
        tracing::error!(error = %schemagate::engine::error_chain(&err), target = %t, "change failed");
    }
    // A successful run with a password-protected role logs nothing secret either.
    schemagate_testkit::psql(&pg, &format!("CREATE DATABASE {role} OWNER {role}")).unwrap();
    let ok = format!("postgres://{role}:right-one@{host}:{port}/{role}");
    let r = Executor::new(ConnectionConfig::from_url(&ok).unwrap(), quick());
    assert_eq!(
        r.execute(&change("ok", "SELECT 1;")).await.unwrap().outcome,
        Outcome::Applied
    );
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logged.contains("change failed"), "the log capture works");
    assert!(
        !logged.contains(canary) && !logged.contains("right-one"),
        "{logged}"
    );
}

#[tokio::test]
async fn pg_non_transactional_statements_use_intent_records() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let sql = "CREATE TABLE big (id int);\nCREATE INDEX CONCURRENTLY big_id ON big (id);";
    let r = ex.execute(&change("conc", sql)).await.unwrap();
    assert_eq!(
        (r.outcome, r.statements_applied),
        (Outcome::Applied, 2),
        "{r:?}"
    );
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM pg_class WHERE relname = 'big_id'"
        )
        .await,
        1
    );

    // Failing after the first statement took effect: reported, recorded, never re-run.
    let bad = "CREATE TABLE half (id int);\nCREATE INDEX CONCURRENTLY nope_i ON nope (id);";
    let r = ex.execute(&change("conc2", bad)).await.unwrap();
    assert_eq!(
        (r.outcome, r.statements_applied),
        (Outcome::NeedsIntervention, 1),
        "{r:?}"
    );
    let mut s = Session::connect(&cfg).await.unwrap();
    let rec = history::get(&mut s, "conc2").await.unwrap().unwrap();
    assert_eq!(
        (rec.status, rec.statements_applied),
        (ChangeStatus::NeedsIntervention, 1)
    );
    s.close().await;
    assert_eq!(ex.execute(&change("conc2", bad)).await.unwrap().attempts, 0);
    assert_eq!(
        count(&cfg, "SELECT COUNT(*) FROM pg_class WHERE relname = 'half'").await,
        1
    );
}

/// A `CREATE UNIQUE INDEX CONCURRENTLY` that fails on duplicates leaves PostgreSQL's half-built,
/// invalid index behind; the executor drops it, says so, and the change can be fixed and run
/// under a new version without "already exists".
#[tokio::test]
async fn pg_failed_concurrent_index_build_leaves_no_invalid_index() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec("CREATE TABLE dup (v int); INSERT INTO dup VALUES (1), (1), (2);")
        .await
        .unwrap();
    s.close().await;
    let ex = Executor::new(cfg.clone(), quick());
    let build = "CREATE UNIQUE INDEX CONCURRENTLY dup_v ON dup (v);";
    let r = ex.execute(&change("cic-fails", build)).await.unwrap();
    assert_eq!(
        (r.outcome, r.statements_applied),
        (Outcome::Failed, 0),
        "{r:?}"
    );
    let error = r.error.unwrap_or_default();
    assert!(
        error.contains("the invalid index dup_v it left behind was dropped"),
        "{error}"
    );
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM pg_class WHERE relname = 'dup_v'"
        )
        .await,
        0,
        "no invalid index left"
    );
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec("DELETE FROM dup WHERE v = 1;").await.unwrap();
    s.close().await;
    let r = ex.execute(&change("cic-again", build)).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{r:?}");
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM pg_index WHERE indexrelid = 'dup_v'::regclass AND indisvalid"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn scripts_with_transaction_control_are_refused() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let err = ex
        .execute(&change("tx", "CREATE TABLE a (id int);\nCOMMIT;"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(
        count(&cfg, "SELECT COUNT(*) FROM pg_class WHERE relname = 'a'").await,
        0
    );
}
