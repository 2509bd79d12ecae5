//! The executor's progress handle against real PostgreSQL, MariaDB and SQLite: while a change
//! runs, another task sees which statement of how many runs, from which line, on which server
//! session, on every execution path (PostgreSQL's one-batch transaction, where the probe reads
//! the statement from the server; statement by statement; intent records); when the run ends it
//! sees none. A batch's statement results (rows affected, failing statement) are unchanged by
//! the markers. And the second-session probe of PostgreSQL's
//! index builds reads a real `CREATE INDEX` in progress.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use schemagate::engine::{
    Change, ConnectionConfig, ExecOptions, Executor, Outcome, ProgressProbe, RunningStatement,
    TransactionMode,
};
use schemagate_testkit::{fresh_mysql_database, fresh_pg_database, sqlite_file};

fn change(sql: &str, mode: TransactionMode) -> Change {
    schemagate_testkit::engine_change(&format!("uid-{mode:?}"), sql, mode)
}

/// Runs `sql` (three statements, the second slow) and returns every distinct statement the
/// progress handle reported while it ran.
async fn observed_while_running(
    cfg: ConnectionConfig,
    sql: &str,
    mode: TransactionMode,
) -> Vec<RunningStatement> {
    let executor = Executor::new(cfg.clone(), ExecOptions::default());
    let handle = executor.progress_handle();
    let work = change(sql, mode);
    let run = tokio::spawn(async move { executor.execute(&work).await });
    // As the operator does: PostgreSQL's batch path learns its statement from the server.
    let mut probe = ProgressProbe::new(cfg);
    let mut seen: Vec<RunningStatement> = Vec::new();
    while !run.is_finished() {
        if let Some(backend) = handle.now().and_then(|s| s.backend) {
            probe.sample(backend, &handle).await.unwrap();
        }
        if let Some(now) = handle.now()
            && seen.last().is_none_or(|last| last.index != now.index)
        {
            seen.push(now);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    probe.close().await;
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.outcome, Outcome::Applied, "{report:?}");
    assert_eq!(handle.now(), None, "nothing runs once the run ended");
    seen
}

fn assert_saw_the_slow_statement(seen: &[RunningStatement], session: bool) {
    let slow = seen
        .iter()
        .find(|s| s.index == 1)
        .unwrap_or_else(|| panic!("statement 2 never reported: {seen:?}"));
    assert_eq!((slow.total, slow.line), (3, 2), "{seen:?}");
    assert_eq!(slow.backend.is_some(), session, "{seen:?}");
    // Reported in order, never past the script.
    assert!(seen.windows(2).all(|w| w[0].index < w[1].index), "{seen:?}");
    assert!(seen.iter().all(|s| s.index < 3));
}

#[tokio::test]
async fn pg_progress_on_the_batch_and_the_statement_paths() {
    let sql = "CREATE TABLE a (id int);\nSELECT pg_sleep(1.5);\nCREATE TABLE b (id int);";
    let url = fresh_pg_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let seen = observed_while_running(cfg.clone(), sql, TransactionMode::Auto).await;
    assert_saw_the_slow_statement(&seen, true);
    let sql = sql.replace(" a ", " c ").replace(" b ", " d ");
    let seen = observed_while_running(cfg, &sql, TransactionMode::None).await;
    assert_saw_the_slow_statement(&seen, true);
}

#[tokio::test]
async fn mysql_progress_statement_by_statement() {
    let url = fresh_mysql_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let sql = "CREATE TABLE a (id int);\nDO SLEEP(1.5);\nCREATE TABLE b (id int);";
    let seen = observed_while_running(cfg, sql, TransactionMode::Auto).await;
    assert_saw_the_slow_statement(&seen, true);
}

#[tokio::test]
async fn sqlite_progress_in_its_transaction() {
    let file = sqlite_file().unwrap();
    let cfg = ConnectionConfig::sqlite(file.path());
    let sql = "CREATE TABLE a (id int);\n\
               WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) \
               SELECT count(*) FROM c;\n\
               CREATE TABLE b (id int);";
    let seen = observed_while_running(cfg, sql, TransactionMode::Auto).await;
    assert_saw_the_slow_statement(&seen, false);
}

#[tokio::test]
async fn the_probe_reads_a_running_index_build_from_a_second_session() {
    let url = fresh_pg_database().unwrap();
    schemagate_testkit::psql(
        &url,
        "CREATE TABLE big (k text);
         INSERT INTO big SELECT md5(g::text) FROM generate_series(1, 1000000) g;",
    )
    .unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let executor = Executor::new(cfg.clone(), ExecOptions::default());
    let handle = executor.progress_handle();
    let work = change(
        "CREATE INDEX big_k ON big (md5(md5(md5(k))));",
        TransactionMode::Auto,
    );
    let run = tokio::spawn(async move { executor.execute(&work).await });
    let mut probe = ProgressProbe::new(cfg);
    let mut builds = Vec::new();
    while !run.is_finished() {
        if let Some(backend) = handle.now().and_then(|s| s.backend)
            && let Some(build) = probe.sample(backend, &handle).await.unwrap()
        {
            builds.push(build);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    probe.close().await;
    assert_eq!(run.await.unwrap().unwrap().outcome, Outcome::Applied);
    let scanning = builds
        .iter()
        .find(|b| b.phase == "building index: scanning table" && b.percent().is_some())
        .unwrap_or_else(|| panic!("no scan seen: {builds:?}"));
    assert_eq!(scanning.command, "CREATE INDEX");
    assert!(scanning.blocks.1 > 0, "{scanning:?}");
    // Another engine has no index-build view: answered without connecting.
    let mut mysql =
        ProgressProbe::new(ConnectionConfig::from_url("mysql://u@127.0.0.1:1/db").unwrap());
    assert_eq!(
        mysql
            .sample(1, &schemagate::engine::ProgressHandle::default())
            .await
            .unwrap(),
        None
    );
}

/// PostgreSQL's one-message transaction: each statement's duration is its own (from the
/// server's clock between the markers), not the whole message's time on the first statement
/// that completes, and a statement that returns rows keeps its rows affected.
#[tokio::test]
async fn pg_batch_reports_each_statements_own_duration() {
    let url = fresh_pg_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let sql = "CREATE TABLE a (id int);\nSELECT pg_sleep(0.6);\nINSERT INTO a VALUES (1), (2);\n\
               SELECT pg_sleep(0.3);";
    let executor = Executor::new(cfg, ExecOptions::default());
    let report = executor
        .execute(&change(sql, TransactionMode::Auto))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Applied, "{report:?}");
    let ms: Vec<u128> = report
        .statements
        .iter()
        .map(|s| s.duration.as_millis())
        .collect();
    assert_eq!(ms.len(), 4, "{report:?}");
    assert!(ms[1] >= 600 && ms[3] >= 300 && ms[3] < 600, "{ms:?}");
    assert!(ms[0] < 300 && ms[2] < 300, "{ms:?}");
    assert_eq!(report.statements[2].rows_affected, Some(2), "{report:?}");
}
