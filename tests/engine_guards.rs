//! The executor's backstop against real PostgreSQL, MariaDB and SQLite: scripts with
//! transaction control (any spelling) or a NUL byte are refused before anything runs, promptly,
//! with a permanent error; PostgreSQL protocol errors are permanent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use schemagate::engine::session::is_protocol_error;
use schemagate::engine::{
    Change, ConnectionConfig, EngineError, ExecOptions, Executor, Outcome, Session,
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
        name: uid.into(),
        version: "1".into(),
        sql: sql.into(),
        approved_by: Some("dba@example.com".into()),
        author: None,
        operator: "test".into(),
        transaction_mode: schemagate::engine::TransactionMode::Auto,
    }
}

/// A refusal takes no time; anything slower is a spin or a retry loop.
const PROMPT: Duration = Duration::from_secs(10);

async fn exec(cfg: &ConnectionConfig, sql: &str) {
    let mut s = Session::connect(cfg).await.unwrap();
    s.exec(sql).await.unwrap();
    s.close().await;
}

async fn count(cfg: &ConnectionConfig, sql: &'static str) -> i64 {
    let mut s = Session::connect(cfg).await.unwrap();
    let n = match &mut s {
        Session::Pg(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
        Session::My(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
        Session::Lite(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
    }
    .unwrap();
    s.close().await;
    n
}

/// Runs `sql` as a change and expects a prompt, permanent refusal.
async fn refused(ex: &Executor, uid: &str, sql: &str) -> EngineError {
    let result = tokio::time::timeout(PROMPT, ex.execute(&change(uid, sql)))
        .await
        .unwrap_or_else(|_| panic!("{sql:?}: not refused within {PROMPT:?}"));
    let err = match result {
        Ok(report) => panic!("{sql:?} ran: {report:?}"),
        Err(e) => e,
    };
    assert!(matches!(err, EngineError::Config(_)), "{sql:?}: {err}");
    assert!(!err.is_transient(), "{sql:?}: {err}");
    err
}

/// The table `t` every script below writes to; it must stay empty.
async fn with_table(cfg: &ConnectionConfig) {
    exec(cfg, "CREATE TABLE t (id int)").await;
}

#[tokio::test]
async fn pg_commit_hidden_by_a_comment_commits_nothing() {
    // Issue 10: phase Failed, "0 statements applied", yet the INSERT was committed.
    let cfg = cfg(&fresh_pg_database().unwrap());
    with_table(&cfg).await;
    let ex = Executor::new(cfg.clone(), ExecOptions::default());
    let err = refused(
        &ex,
        "c1",
        "INSERT INTO t VALUES (1);\nCOMMIT/**/;\nSELECT 1/0;",
    )
    .await;
    assert!(
        err.to_string()
            .starts_with("line 2: COMMIT is transaction control"),
        "{err}"
    );
    assert_eq!(count(&cfg, "SELECT COUNT(*) FROM t").await, 0);
    // Nothing ran at all: not even the history table was created.
    assert_eq!(
        count(
            &cfg,
            "SELECT COUNT(*) FROM pg_namespace WHERE nspname = 'schemagate'"
        )
        .await,
        0
    );
}

const PG_SPELLINGS: &[&str] = &[
    "COMMIT/**/",
    "commit -- x",
    "END",
    "END TRANSACTION",
    "END WORK",
    "ABORT",
    "ABORT WORK",
    "ROLLBACK AND CHAIN",
    "COMMIT AND CHAIN",
    "BEGIN",
    "START TRANSACTION",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "ROLLBACK TO SAVEPOINT s",
    "PREPARE TRANSACTION 'x'",
    "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "DO $$ BEGIN COMMIT; END $$",
    "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$",
];

const MYSQL_SPELLINGS: &[&str] = &[
    "COMMIT/**/",
    "commit # x",
    "BEGIN",
    "BEGIN WORK",
    "START TRANSACTION",
    "ROLLBACK WORK",
    "SAVEPOINT s",
    "RELEASE SAVEPOINT s",
    "SET autocommit = 0",
    "SET @@session.autocommit = 0",
    "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "XA START 'x'",
    "LOCK TABLES t WRITE",
    "UNLOCK TABLES",
    "/*!COMMIT*/",
    "/*M!100000 START TRANSACTION */",
    "BEGIN NOT ATOMIC INSERT INTO t VALUES (2); COMMIT; END",
];

const SQLITE_SPELLINGS: &[&str] = &[
    "COMMIT/**/",
    "END",
    "END TRANSACTION",
    "BEGIN",
    "BEGIN IMMEDIATE",
    "ROLLBACK",
    "SAVEPOINT s",
    "RELEASE s",
];

async fn every_spelling_is_refused(cfg: ConnectionConfig, spellings: &[&str]) {
    with_table(&cfg).await;
    let ex = Executor::new(cfg.clone(), ExecOptions::default());
    for (i, spelling) in spellings.iter().enumerate() {
        let sql = format!("INSERT INTO t VALUES (1);\n{spelling};\nINSERT INTO t VALUES (3);");
        let err = refused(&ex, &format!("s{i}"), &sql).await;
        assert!(err.to_string().starts_with("line 2: "), "{spelling}: {err}");
    }
    assert_eq!(count(&cfg, "SELECT COUNT(*) FROM t").await, 0);
}

#[tokio::test]
async fn pg_every_spelling_of_transaction_control_is_refused() {
    every_spelling_is_refused(cfg(&fresh_pg_database().unwrap()), PG_SPELLINGS).await;
}

#[tokio::test]
async fn mysql_every_spelling_of_transaction_control_is_refused() {
    every_spelling_is_refused(cfg(&fresh_mysql_database().unwrap()), MYSQL_SPELLINGS).await;
}

#[tokio::test]
async fn sqlite_every_spelling_of_transaction_control_is_refused() {
    let file = sqlite_file().unwrap();
    every_spelling_is_refused(cfg(&file.url()), SQLITE_SPELLINGS).await;
}

async fn nul_is_refused_promptly(cfg: ConnectionConfig) {
    with_table(&cfg).await;
    let ex = Executor::new(cfg.clone(), ExecOptions::default());
    // Issue 10: SQLite spun at 100% CPU holding the file lock; PostgreSQL's "invalid message
    // format" was retried forever.
    let err = refused(&ex, "nul", "INSERT INTO t VALUES (1);\nSELECT 'a\0b';").await;
    assert!(err.to_string().contains("NUL byte"), "{err}");
    assert!(err.to_string().contains("line 2, column 9"), "{err}");
    assert_eq!(count(&cfg, "SELECT COUNT(*) FROM t").await, 0);
    // The database is not left locked: a good change runs at once.
    let r = tokio::time::timeout(
        PROMPT,
        ex.execute(&change("after", "INSERT INTO t VALUES (2);")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{r:?}");
}

#[tokio::test]
async fn pg_nul_byte_is_refused_promptly() {
    nul_is_refused_promptly(cfg(&fresh_pg_database().unwrap())).await;
}

#[tokio::test]
async fn mysql_nul_byte_is_refused_promptly() {
    nul_is_refused_promptly(cfg(&fresh_mysql_database().unwrap())).await;
}

#[tokio::test]
async fn sqlite_nul_byte_is_refused_promptly() {
    let file = sqlite_file().unwrap();
    nul_is_refused_promptly(cfg(&file.url())).await;
}

#[tokio::test]
async fn pg_protocol_errors_are_permanent() {
    // What used to happen to a NUL byte past the guard: the server rejects the message.
    let cfg = cfg(&fresh_pg_database().unwrap());
    assert_eq!(cfg.engine, Engine::Postgres);
    let mut s = Session::connect(&cfg).await.unwrap();
    let err = tokio::time::timeout(PROMPT, s.exec("SELECT 'a\0b'"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(is_protocol_error(&err), "{err:?}");
    assert!(!EngineError::Execution(err).is_transient());
    s.close().await;
}

#[tokio::test]
async fn mysql_leading_executable_comments_are_executed() {
    // They used to be dropped as comments: reviewed as nothing, executed as nothing.
    let cfg = cfg(&fresh_mysql_database().unwrap());
    let ex = Executor::new(cfg.clone(), ExecOptions::default());
    let sql = "/*!40101 SET @schemagate_probe = 1 */;\n\
               CREATE TABLE probe (id int) /*!50100 ENGINE=InnoDB */;\n\
               /*M!100100 INSERT INTO probe VALUES (7) */;";
    let r = ex.execute(&change("exec-comments", sql)).await.unwrap();
    assert_eq!(
        (r.outcome, r.statements_total, r.statements_applied),
        (Outcome::Applied, 3, 3),
        "{r:?}"
    );
    assert_eq!(
        count(&cfg, "SELECT COUNT(*) FROM probe WHERE id = 7").await,
        1
    );
}

async fn text_of(s: &mut Session, sql: &'static str) -> String {
    match s {
        Session::Pg(c) => sqlx::query_scalar::<_, String>(sql).fetch_one(c).await,
        Session::My(c) => sqlx::query_scalar::<_, String>(sql).fetch_one(c).await,
        Session::Lite(c) => sqlx::query_scalar::<_, String>(sql).fetch_one(c).await,
    }
    .unwrap()
}

#[tokio::test]
async fn pg_sessions_read_literals_as_the_guards_do_whatever_the_database_default() {
    let url = fresh_pg_database().unwrap();
    let cfg = cfg(&url);
    let db = url.rsplit('/').next().unwrap().to_owned();
    exec(
        &cfg,
        &format!("ALTER DATABASE \"{db}\" SET standard_conforming_strings = off"),
    )
    .await;
    let mut s = Session::connect(&cfg).await.unwrap();
    assert_eq!(
        text_of(&mut s, "SHOW standard_conforming_strings").await,
        "on"
    );
    // So `\` is an ordinary character, as the splitter and the guards read it.
    assert_eq!(text_of(&mut s, r"SELECT 'a\'").await, r"a\");
    s.close().await;
}

#[tokio::test]
async fn mysql_sessions_read_literals_as_the_guards_do() {
    let cfg = cfg(&fresh_mysql_database().unwrap());
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec("SET SESSION sql_mode = 'ANSI,NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES'")
        .await
        .unwrap();
    s.pin_literal_syntax().await.unwrap();
    let mode = text_of(&mut s, "SELECT @@SESSION.sql_mode").await;
    assert!(!mode.contains("NO_BACKSLASH_ESCAPES"), "{mode}");
    assert!(!mode.contains("ANSI"), "{mode}");
    assert!(mode.contains("STRICT_TRANS_TABLES"), "{mode}");
    assert_eq!(text_of(&mut s, r#"SELECT "a\"b""#).await, "a\"b");
    s.close().await;
}
