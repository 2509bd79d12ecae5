//! Fault tests: `kill -9` of a process mid-change (in a loop, per engine) and a database server
//! stopped mid-change. Real servers, real processes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use schemagate::engine::{
    Change, ConnectionConfig, ExecOptions, Executor, Outcome, Session, history,
};
use schemagate_testkit::{
    PrivateServer, ServerKind, fresh_mysql_database, fresh_pg_database, sqlite_file,
};

/// Kill iterations per engine: 20 in the suite; `SCHEMAGATE_KILL_ITERATIONS=500` for a long run.
fn iterations() -> usize {
    std::env::var("SCHEMAGATE_KILL_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .max(20)
}

fn script(i: usize) -> String {
    format!(
        "CREATE TABLE k{i} (id int);\nINSERT INTO hits VALUES ({i}, 1);\n\
         INSERT INTO hits VALUES ({i}, 2);\nINSERT INTO hits VALUES ({i}, 3);"
    )
}

/// Cheap varying kill instants without a RNG dependency.
fn kill_after(i: usize) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_millis(u64::from((nanos / 7 + i as u32 * 37) % 260))
}

fn run_child(
    url: &str,
    uid: &str,
    file: &std::path::Path,
    pause_ms: u32,
    kill: Option<Duration>,
) -> Option<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .args([
            "__exec-change",
            "--url",
            url,
            "--uid",
            uid,
            "--pause-ms",
            &pause_ms.to_string(),
        ])
        .arg("--file")
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    match kill {
        Some(d) => {
            std::thread::sleep(d);
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            None
        }
        None => {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
    }
}

async fn hits(cfg: &ConnectionConfig, i: usize) -> Vec<i64> {
    let mut s = Session::connect(cfg).await.unwrap();
    let sql = format!("SELECT CAST(n AS SIGNED) FROM hits WHERE i = {i} ORDER BY n");
    let sql = if cfg.engine == schemagate::sqltext::Engine::Mysql {
        sql
    } else {
        sql.replace("SIGNED", "BIGINT")
    };
    let q = sqlx::AssertSqlSafe(sql);
    let v = match &mut s {
        Session::Pg(c) => sqlx::query_scalar::<_, i64>(q).fetch_all(c).await.unwrap(),
        Session::My(c) => sqlx::query_scalar::<_, i64>(q).fetch_all(c).await.unwrap(),
        Session::Lite(c) => sqlx::query_scalar::<_, i64>(q).fetch_all(c).await.unwrap(),
    };
    s.close().await;
    v
}

async fn kill_loop(url: &str, transactional: bool) {
    let cfg = ConnectionConfig::from_url(url).unwrap();
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec("CREATE TABLE hits (i int, n int)").await.unwrap();
    s.close().await;
    let dir = tempfile::tempdir().unwrap();
    let mut interrupted = 0;
    for i in 0..iterations() {
        let file = dir.path().join(format!("{i}.sql"));
        std::fs::write(&file, script(i)).unwrap();
        let uid = format!("kill-{i}");
        run_child(url, &uid, &file, 40, Some(kill_after(i)));
        let after_kill = hits(&cfg, i).await;
        if transactional {
            assert!(
                after_kill.is_empty() || after_kill == [1, 2, 3],
                "partial commit: {after_kill:?}"
            );
        }
        // Run again to completion.
        let report: serde_json::Value =
            serde_json::from_str(&run_child(url, &uid, &file, 0, None).unwrap()).unwrap();
        let outcome = report["outcome"].as_str().unwrap().to_owned();
        let after = hits(&cfg, i).await;
        let mut dedup = after.clone();
        dedup.dedup();
        assert_eq!(dedup, after, "a statement ran twice: {after:?}");
        match outcome.as_str() {
            "applied" | "already-applied" => {
                assert_eq!(after, [1, 2, 3], "iteration {i}: {report}")
            }
            "needs-intervention" if !transactional => {
                interrupted += 1;
                // The record says how many statements ran; the data agrees.
                let applied = report["statements_applied"].as_u64().unwrap() as usize;
                // Statement 0 is the CREATE TABLE; the one with an intent but no done record
                // may or may not have run.
                let inserts_done = applied.saturating_sub(1);
                assert!(
                    after.len() == inserts_done || after.len() == inserts_done + 1,
                    "{after:?} {report}"
                );
                let mut s = Session::connect(&cfg).await.unwrap();
                let rec = history::get(&mut s, &uid).await.unwrap().unwrap();
                assert_eq!(
                    rec.status,
                    schemagate::engine::ChangeStatus::NeedsIntervention
                );
                s.close().await;
            }
            other => panic!("iteration {i}: unexpected outcome {other}: {report}"),
        }
    }
    eprintln!(
        "{interrupted} of {} runs were interrupted mid-way",
        iterations()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pg_change_applies_exactly_once_under_kill_9() {
    kill_loop(&fresh_pg_database().unwrap(), true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_change_applies_exactly_once_under_kill_9() {
    let f = sqlite_file().unwrap();
    kill_loop(&f.url(), true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mariadb_statement_never_runs_twice_under_kill_9() {
    kill_loop(&fresh_mysql_database().unwrap(), false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_stopped_mid_change_leaves_nothing_half_recorded() {
    let mut server = PrivateServer::start_new(ServerKind::Postgres).unwrap();
    let cfg = ConnectionConfig::from_url(&server.url()).unwrap();
    let opts = ExecOptions {
        pause_before_statement: Duration::from_millis(300),
        ..ExecOptions::default()
    };
    let sql = (0..6)
        .map(|i| format!("CREATE TABLE s{i} (id int);\n"))
        .collect::<String>();
    let change = Change {
        uid: "stop-1".into(),
        namespace: "t".into(),
        name: "stop".into(),
        version: "1".into(),
        sql,
        approved_by: None,
        author: None,
        operator: "test".into(),
        transaction_mode: schemagate::engine::TransactionMode::Auto,
    };
    let task = tokio::spawn({
        let (cfg, change, opts) = (cfg.clone(), change.clone(), opts.clone());
        async move { Executor::new(cfg, opts).execute(&change).await }
    });
    // Stop the server once the executor holds its lock and is between statements.
    let pg_url = server.url();
    for _ in 0..600 {
        let n = schemagate_testkit::psql(
            &pg_url,
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'",
        )
        .unwrap();
        if n.trim() != "0" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    tokio::task::block_in_place(|| server.stop().unwrap());
    let err = task.await.unwrap().unwrap_err();
    let msg = schemagate::engine::error_chain(&err);
    assert!(
        msg.contains("connection lost while executing the change"),
        "{msg}"
    );
    assert!(err.is_transient());

    tokio::task::block_in_place(|| server.start().unwrap());
    let mut s = Session::connect(&cfg).await.unwrap();
    assert!(
        history::get(&mut s, "stop-1").await.unwrap().is_none(),
        "no history row for a rolled-back change"
    );
    let Session::Pg(c) = &mut s else {
        unreachable!()
    };
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_class WHERE relname LIKE 's_'")
        .fetch_one(c)
        .await
        .unwrap();
    assert_eq!(n, 0);
    s.close().await;
    let r = Executor::new(cfg, ExecOptions::default())
        .execute(&change)
        .await
        .unwrap();
    assert_eq!(r.outcome, Outcome::Applied);
}
