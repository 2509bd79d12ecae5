//! The real-database test harness works: shared servers answer queries, private servers can be
//! stopped (refusing connections) and restarted with their data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemagate_testkit::{
    PrivateServer, ServerKind, fresh_mysql_database, fresh_pg_database, sqlite_file,
};
use sqlx::Connection;

#[tokio::test]
async fn postgres_answers_a_query() {
    let url = fresh_pg_database().unwrap();
    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
    let (v,): (String,) = sqlx::query_as("SELECT current_database()::text")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(url.ends_with(&format!("/{v}")), "{url} vs {v}");
}

#[tokio::test]
async fn mariadb_answers_a_query() {
    let url = fresh_mysql_database().unwrap();
    let mut c = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let (v,): (String,) = sqlx::query_as("SELECT DATABASE()")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(url.ends_with(&format!("/{v}")), "{url} vs {v}");
    let (ver,): (String,) = sqlx::query_as("SELECT VERSION()")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert!(ver.contains("MariaDB"), "{ver}");
}

#[tokio::test]
async fn sqlite_file_answers_a_query() {
    let f = sqlite_file().unwrap();
    let mut c = sqlx::SqliteConnection::connect(&f.url()).await.unwrap();
    sqlx::query("CREATE TABLE t (x INTEGER)")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (41)")
        .execute(&mut c)
        .await
        .unwrap();
    let (v,): (i64,) = sqlx::query_as("SELECT x + 1 FROM t")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(v, 42);
    assert!(f.path().exists());
}

async fn exec(kind: ServerKind, url: &str, sql: &str) -> Result<(), sqlx::Error> {
    match kind {
        ServerKind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await?;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await?;
        }
        ServerKind::MariaDb => {
            let mut c = sqlx::MySqlConnection::connect(url).await?;
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut c)
                .await?;
        }
    }
    Ok(())
}

async fn stop_and_restart(kind: ServerKind) {
    let mut server = PrivateServer::start_new(kind).unwrap();
    let url = match kind {
        ServerKind::Postgres => server.url(),
        ServerKind::MariaDb => server.url_for("mysql"),
    };
    exec(kind, &url, "CREATE TABLE survives (x INT)")
        .await
        .unwrap();
    server.stop().unwrap();
    let refused = exec(kind, &url, "SELECT 1").await;
    assert!(refused.is_err(), "a stopped server must refuse connections");
    server.start().unwrap();
    exec(kind, &url, "INSERT INTO survives VALUES (1)")
        .await
        .unwrap();
}

#[tokio::test]
async fn postgres_private_server_stops_and_restarts_with_its_data() {
    stop_and_restart(ServerKind::Postgres).await;
}

#[tokio::test]
async fn mariadb_private_server_stops_and_restarts_with_its_data() {
    stop_and_restart(ServerKind::MariaDb).await;
}
