//! The snapshots and times the executor records for a change, against real PostgreSQL, MariaDB
//! and SQLite: both snapshots of an ALTER of an existing table (taken without waiting for the
//! change's own locks), a missing snapshot recorded with its reason instead of silently, and
//! `started_at`/`finished_at` spanning the statements. Also `transactionMode: none`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use schemagate::engine::{
    Change, ChangeStatus, ConnectionConfig, EngineError, ExecOptions, Executor, HistoryRecord,
    Outcome, Session, TransactionMode, history,
};
use schemagate::snapshot::{Schema, diff, render_objects};
use schemagate_testkit::{fresh_mysql_database, fresh_pg_database, sqlite_file};

/// A target whose lock timeout is 5 s: a snapshot that waited for the change's own lock would
/// take at least that long.
fn cfg(url: &str) -> ConnectionConfig {
    let mut cfg = ConnectionConfig::from_url(url).unwrap();
    cfg.timeouts.lock = Duration::from_secs(5);
    cfg
}

fn change(uid: &str, sql: &str, mode: TransactionMode) -> Change {
    schemagate_testkit::engine_change(uid, sql, mode)
}

fn quick() -> ExecOptions {
    ExecOptions {
        backoff_initial: Duration::from_millis(50),
        max_attempts: 1,
        ..ExecOptions::default()
    }
}

async fn row(cfg: &ConnectionConfig, uid: &str) -> Option<HistoryRecord> {
    let mut s = Session::connect(cfg).await.unwrap();
    let row = history::get(&mut s, uid).await.unwrap();
    s.close().await;
    row
}

async fn exec(cfg: &ConnectionConfig, sql: &str) {
    let mut s = Session::connect(cfg).await.unwrap();
    s.exec(sql).await.unwrap();
    s.close().await;
}

fn schema(column: Option<&Vec<u8>>) -> Schema {
    let json = history::decompress(column.expect("snapshot recorded")).unwrap();
    Schema::from_json(std::str::from_utf8(&json).unwrap()).unwrap()
}

/// The diff lines between the row's two snapshots.
fn diff_lines(rec: &HistoryRecord) -> Vec<String> {
    let before = schema(rec.before_snapshot.as_ref());
    let after = schema(rec.after_snapshot.as_ref());
    diff(&render_objects(&before), &render_objects(&after)).human_lines()
}

/// Runs `sql` (an ALTER of the existing table `accounts` plus a statement sleeping 300 ms) and
/// checks what a DBA reads afterwards: both snapshots and a diff naming the change, a run that did
/// not wait out a lock timeout, and start/finish times that span the statements.
async fn alter_gets_both_snapshots_quickly(cfg: ConnectionConfig, sql: &str, expect_in_diff: &str) {
    let ex = Executor::new(cfg.clone(), quick());
    let started = Instant::now();
    let report = ex
        .execute(&change("alter", sql, TransactionMode::Auto))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.outcome, Outcome::Applied, "{report:?}");
    assert!(
        took < Duration::from_secs(3),
        "the change took {took:?}: a snapshot waited for a lock (timeout 5 s)"
    );
    let rec = row(&cfg, "alter").await.unwrap();
    assert_eq!(
        (rec.before_error.as_deref(), rec.after_error.as_deref()),
        (None, None)
    );
    assert!(
        rec.before_digest.is_some() && rec.after_digest.is_some(),
        "{rec:?}"
    );
    assert_ne!(rec.before_digest, rec.after_digest);
    assert_eq!(report.before_digest, rec.before_digest);
    let lines = diff_lines(&rec);
    assert!(
        lines.iter().any(|l| l.contains(expect_in_diff)),
        "diff {lines:?} does not mention {expect_in_diff}"
    );
    let span = rec.finished_at.unwrap() - rec.started_at;
    assert!(
        span >= chrono::TimeDelta::milliseconds(300),
        "started_at..finished_at is {span:?}, the statements slept 300 ms"
    );
    assert!(span < chrono::TimeDelta::seconds(3), "{span:?}");
    eprintln!("ALTER change took {took:?}; recorded run {span:?}");
}

#[tokio::test]
async fn pg_alter_of_a_table_with_defaults_has_both_snapshots_and_a_diff() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    exec(
        &cfg,
        "CREATE TABLE accounts (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'new', \
         created timestamptz DEFAULT now())",
    )
    .await;
    alter_gets_both_snapshots_quickly(
        cfg,
        "ALTER TABLE accounts ADD COLUMN plan text NOT NULL DEFAULT 'free';\n\
         ALTER TABLE accounts ALTER COLUMN status SET DEFAULT 'pending';\n\
         SELECT pg_sleep(0.3);",
        "plan",
    )
    .await;
}

#[tokio::test]
async fn mariadb_alter_of_a_table_with_defaults_has_both_snapshots_and_a_diff() {
    let cfg = cfg(&fresh_mysql_database().unwrap());
    exec(
        &cfg,
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, status VARCHAR(20) NOT NULL DEFAULT 'new')",
    )
    .await;
    alter_gets_both_snapshots_quickly(
        cfg,
        "ALTER TABLE accounts ADD COLUMN plan VARCHAR(20) NOT NULL DEFAULT 'free';\n\
         SELECT SLEEP(0.3);",
        "plan",
    )
    .await;
}

#[tokio::test]
async fn sqlite_alter_of_a_table_with_defaults_has_both_snapshots_and_a_diff() {
    let file = sqlite_file().unwrap();
    let cfg = ConnectionConfig::sqlite(file.path());
    exec(
        &cfg,
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'new')",
    )
    .await;
    let ex = Executor::new(cfg.clone(), quick());
    let report = ex
        .execute(&change(
            "alter",
            "ALTER TABLE accounts ADD COLUMN plan TEXT NOT NULL DEFAULT 'free';",
            TransactionMode::Auto,
        ))
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Applied, "{report:?}");
    let rec = row(&cfg, "alter").await.unwrap();
    assert_eq!(
        (rec.before_error.as_deref(), rec.after_error.as_deref()),
        (None, None)
    );
    assert_ne!(rec.before_digest, rec.after_digest);
    let lines = diff_lines(&rec);
    assert!(lines.iter().any(|l| l.contains("plan")), "{lines:?}");
    assert!(rec.finished_at.unwrap() >= rec.started_at);
}

/// Another session holds an exclusive lock on a table with a check constraint for the whole run:
/// neither snapshot can read it within the lock timeout. The change itself (which does not
/// touch that table) still applies — the failing catalog query inside its transaction is rolled
/// back to a savepoint instead of aborting it — and the row says why both snapshots are missing.
#[tokio::test]
async fn pg_a_snapshot_that_cannot_be_taken_is_recorded_with_its_reason() {
    let url = fresh_pg_database().unwrap();
    let mut cfg = ConnectionConfig::from_url(&url).unwrap();
    cfg.timeouts.lock = Duration::from_millis(500);
    // The server's deparser opens a table to print its check constraint, so the snapshot
    // waits for the lock (a default alone no longer needs the table opened).
    exec(
        &cfg,
        "CREATE TABLE busy (id int CHECK (id > 0), note text DEFAULT 'x')",
    )
    .await;
    let Session::Pg(mut holder) = Session::connect(&cfg).await.unwrap() else {
        unreachable!()
    };
    sqlx::raw_sql("BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let ex = Executor::new(cfg.clone(), quick());
    let report = ex
        .execute(&change(
            "side",
            "CREATE TABLE unrelated (id int);",
            TransactionMode::Auto,
        ))
        .await
        .unwrap();
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    assert_eq!(report.outcome, Outcome::Applied, "{report:?}");
    let rec = row(&cfg, "side").await.unwrap();
    assert_eq!(rec.status, ChangeStatus::Applied);
    assert!(rec.before_snapshot.is_none() && rec.after_snapshot.is_none());
    for why in [&rec.before_error, &rec.after_error] {
        let why = why.as_deref().expect("the reason is recorded");
        assert!(why.contains("lock timeout"), "{why}");
    }
    let mut s = Session::connect(&cfg).await.unwrap();
    assert!(
        s.exec("SELECT * FROM unrelated").await.is_ok(),
        "the change committed"
    );
    s.close().await;
}

/// `transactionMode: none` on PostgreSQL: statement by statement. A failing second statement
/// leaves the first applied, and the change stops as needs-intervention and is never re-run.
#[tokio::test]
async fn pg_transaction_mode_none_keeps_what_ran_and_needs_intervention() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    let ex = Executor::new(cfg.clone(), quick());
    let c = change(
        "none",
        "CREATE TABLE first_step (id int);\nINSERT INTO missing_table VALUES (1);",
        TransactionMode::None,
    );
    let report = ex.execute(&c).await.unwrap();
    assert_eq!(report.outcome, Outcome::NeedsIntervention, "{report:?}");
    assert_eq!(report.statements_applied, 1);
    let error = report.error.clone().unwrap();
    assert!(error.contains("statement 2 (line 2)"), "{error}");
    let rec = row(&cfg, "none").await.unwrap();
    assert_eq!(rec.status, ChangeStatus::NeedsIntervention);
    assert_eq!((rec.statements_applied, rec.current_statement), (1, None));
    // The schema the partial run left is recorded for whoever must decide.
    let lines = diff_lines(&rec);
    assert!(lines.iter().any(|l| l.contains("first_step")), "{lines:?}");
    let mut s = Session::connect(&cfg).await.unwrap();
    assert!(
        s.exec("SELECT * FROM first_step").await.is_ok(),
        "statement 1 committed"
    );
    s.close().await;
    // Never run again, not even its first statement.
    let again = ex.execute(&c).await.unwrap();
    assert_eq!(again.outcome, Outcome::NeedsIntervention);
    assert_eq!(row(&cfg, "none").await.unwrap().attempts, rec.attempts);
    // The same script in `auto` is all or nothing.
    let auto = change(
        "auto",
        &c.sql.replace("first_step", "second"),
        TransactionMode::Auto,
    );
    let report = ex.execute(&auto).await.unwrap();
    assert_eq!(
        (report.outcome, report.statements_applied),
        (Outcome::Failed, 0)
    );
    let mut s = Session::connect(&cfg).await.unwrap();
    assert!(s.exec("SELECT * FROM second").await.is_err(), "rolled back");
    s.close().await;
}

/// SQLite refuses `none` before anything runs: its executor lock is the change's transaction.
#[tokio::test]
async fn sqlite_refuses_transaction_mode_none_before_anything_runs() {
    let file = sqlite_file().unwrap();
    let cfg = ConnectionConfig::sqlite(file.path());
    let ex = Executor::new(cfg.clone(), quick());
    let err = ex
        .execute(&change(
            "none",
            "CREATE TABLE t (id int);",
            TransactionMode::None,
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Config(_)), "{err:?}");
    assert!(
        !err.is_transient(),
        "a permanent error: retrying cannot help"
    );
    assert!(err.to_string().contains("transactionMode none"), "{err}");
    let mut s = Session::connect(&cfg).await.unwrap();
    assert!(s.exec("SELECT * FROM t").await.is_err(), "nothing ran");
    s.close().await;
}

/// A history table left in layout 1 by an older operator gains the snapshot-error and author
/// columns in place, its rows kept (and readable, without an author), also when two processes
/// migrate it at the same moment; new rows record their author.
async fn layout_1_is_migrated_in_place(cfg: ConnectionConfig, table: &str, meta: &str) {
    let ex = Executor::new(cfg.clone(), quick());
    let old = change(
        "old",
        "CREATE TABLE t1 (id int PRIMARY KEY);",
        TransactionMode::Auto,
    );
    assert_eq!(ex.execute(&old).await.unwrap().outcome, Outcome::Applied);
    for column in ["before_error", "after_error", "author"] {
        exec(&cfg, &format!("ALTER TABLE {table} DROP COLUMN {column}")).await;
    }
    exec(
        &cfg,
        &format!("UPDATE {meta} SET v = '1' WHERE k = 'layout_version'"),
    )
    .await;
    let (mut a, mut b) = (
        Session::connect(&cfg).await.unwrap(),
        Session::connect(&cfg).await.unwrap(),
    );
    let (ra, rb) = tokio::join!(history::ensure(&mut a), history::ensure(&mut b));
    ra.unwrap();
    rb.unwrap();
    a.close().await;
    b.close().await;
    // A migrator that finds the columns already added (it lost the race) succeeds too.
    exec(
        &cfg,
        &format!("UPDATE {meta} SET v = '1' WHERE k = 'layout_version'"),
    )
    .await;
    let mut late = Session::connect(&cfg).await.unwrap();
    history::ensure(&mut late).await.unwrap();
    late.close().await;
    let kept = row(&cfg, "old").await.unwrap();
    assert_eq!(kept.status, ChangeStatus::Applied);
    assert_eq!((kept.before_error, kept.after_error), (None, None));
    assert_eq!(kept.author, None);
    assert_eq!(kept.approved_by.as_deref(), old.approved_by.as_deref());
    let mut new = change(
        "new",
        "CREATE TABLE t2 (id int PRIMARY KEY);",
        TransactionMode::Auto,
    );
    new.author = Some("bob (synced by argocd)".into());
    new.approved_by = Some("alice, dave".into());
    assert_eq!(ex.execute(&new).await.unwrap().outcome, Outcome::Applied);
    let recorded = row(&cfg, "new").await.unwrap();
    assert!(recorded.after_digest.is_some());
    assert_eq!(
        (recorded.author.as_deref(), recorded.approved_by.as_deref()),
        (Some("bob (synced by argocd)"), Some("alice, dave"))
    );
}

#[tokio::test]
async fn pg_history_layout_1_is_migrated_in_place() {
    let cfg = cfg(&fresh_pg_database().unwrap());
    layout_1_is_migrated_in_place(cfg, "schemagate.history", "schemagate.meta").await;
}

#[tokio::test]
async fn mariadb_history_layout_1_is_migrated_in_place() {
    let cfg = cfg(&fresh_mysql_database().unwrap());
    layout_1_is_migrated_in_place(cfg, "schemagate_history", "schemagate_meta").await;
}

#[tokio::test]
async fn sqlite_history_layout_1_is_migrated_in_place() {
    let file = sqlite_file().unwrap();
    let cfg = ConnectionConfig::sqlite(file.path());
    layout_1_is_migrated_in_place(cfg, "schemagate_history", "schemagate_meta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_many_sessions_create_the_history_table_at_once() {
    // The operator's instance probe, two reconciles and an executor may all meet a fresh
    // database together; `IF NOT EXISTS` alone lets the losers fail on PostgreSQL's catalog.
    for _ in 0..3 {
        let cfg = cfg(&fresh_pg_database().unwrap());
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let cfg = cfg.clone();
                tokio::spawn(async move {
                    let mut s = Session::connect(&cfg).await.unwrap();
                    let r = schemagate::engine::history::ensure(&mut s).await;
                    s.close().await;
                    r.map_err(|e| schemagate::engine::error_chain(&e))
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    }
}
