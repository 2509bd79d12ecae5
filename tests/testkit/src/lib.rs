//! Test support for schemagate: throwaway PostgreSQL and MariaDB servers, per-test databases and
//! SQLite files, and the workflow's test fixtures ([`fixtures`], the same source the unit tests
//! use). Test-only; never used by the operator itself.
//!
//! Servers come from `sg-testdb up` (the URLs in `SCHEMAGATE_TEST_PG_URL` /
//! `SCHEMAGATE_TEST_MYSQL_URL`) or, when those are unset, from a private server started once per
//! test process. A missing server binary is an error naming the Debian package, never a skip.

mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result, anyhow, bail};

pub use schemagate::workflow::fixtures;
pub use server::{PrivateServer, ServerKind, TEST_USER, stop_dir};

/// Environment variable holding the shared PostgreSQL superuser URL.
pub const PG_URL_ENV: &str = "SCHEMAGATE_TEST_PG_URL";
/// Environment variable holding the shared MariaDB superuser URL.
pub const MYSQL_URL_ENV: &str = "SCHEMAGATE_TEST_MYSQL_URL";

static PG: OnceLock<std::result::Result<String, String>> = OnceLock::new();
static MY: OnceLock<std::result::Result<String, String>> = OnceLock::new();
static SERVERS: OnceLock<std::sync::Mutex<Vec<PrivateServer>>> = OnceLock::new();

fn shared(
    kind: ServerKind,
    env: &str,
    cell: &OnceLock<std::result::Result<String, String>>,
) -> Result<String> {
    let r = cell.get_or_init(|| {
        if let Ok(url) = std::env::var(env)
            && !url.is_empty()
        {
            return Ok(url);
        }
        match PrivateServer::start_new(kind) {
            Ok(s) => {
                let url = s.url();
                if let Ok(mut v) = SERVERS.get_or_init(Default::default).lock() {
                    v.push(s);
                }
                Ok(url)
            }
            Err(e) => Err(format!("{e:#}")),
        }
    });
    r.clone().map_err(|e| anyhow!("{e}"))
}

/// Superuser URL (database `postgres`) of the shared PostgreSQL server.
pub fn shared_postgres() -> Result<String> {
    shared(ServerKind::Postgres, PG_URL_ENV, &PG)
}

/// Superuser URL (no database) of the shared MariaDB server.
pub fn shared_mysql() -> Result<String> {
    shared(ServerKind::MariaDb, MYSQL_URL_ENV, &MY)
}

/// A name no other test (in any process) uses.
pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        nanos % 100_000
    )
}

/// Host and port of a `scheme://user@host:port/...` URL.
pub fn host_port(url: &str) -> Result<(String, u16)> {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let rest = rest.rsplit_once('@').map(|x| x.1).unwrap_or(rest);
    let hostport = rest.split(['/', '?']).next().unwrap_or(rest);
    let (h, p) = hostport.rsplit_once(':').context("URL without port")?;
    Ok((h.to_owned(), p.parse().context("bad port")?))
}

/// Runs SQL as superuser on the PostgreSQL server at `url` with `psql` (script via stdin, so
/// any size works; stops at the first error).
pub fn psql(url: &str, sql: &str) -> Result<String> {
    let mut child = Command::new(server::client_bin(ServerKind::Postgres)?)
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-f",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running psql")?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin.write_all(sql.as_bytes()).context("writing to psql")?;
    }
    let out = child.wait_with_output().context("running psql")?;
    if !out.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs SQL as root on the MariaDB server at `url` with the `mariadb` client.
pub fn mariadb(url: &str, db: Option<&str>, sql: &str) -> Result<String> {
    let (host, port) = host_port(url)?;
    let mut c = Command::new(server::client_bin(ServerKind::MariaDb)?);
    c.args(["--no-defaults", "-uroot", "-N", "-B"])
        .arg(format!("-h{host}"))
        .arg(format!("-P{port}"));
    if let Some(db) = db {
        c.arg(db);
    }
    // The script goes through stdin, so any size works and `DELIMITER` lines behave as usual.
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running mariadb")?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        stdin
            .write_all(sql.as_bytes())
            .context("writing to mariadb")?;
    }
    let out = child.wait_with_output().context("running mariadb")?;
    if !out.status.success() {
        bail!("mariadb failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `pg_dump --schema-only` of the database at `url` (to compare snapshots against at test
/// time; its output is never kept).
pub fn pg_dump_schema(url: &str) -> Result<String> {
    let out = Command::new(server::named_client_bin(ServerKind::Postgres, "pg_dump")?)
        .args(["--schema-only", "-d", url])
        .output()
        .context("running pg_dump")?;
    if !out.status.success() {
        bail!("pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `mariadb-dump --no-data` with routines, events and triggers of the database at `url`.
pub fn mariadb_dump_schema(url: &str) -> Result<String> {
    let (host, port) = host_port(url)?;
    let db = url.rsplit('/').next().unwrap_or_default();
    let out = Command::new(server::named_client_bin(
        ServerKind::MariaDb,
        "mariadb-dump",
    )?)
    .args([
        "--no-defaults",
        "--no-data",
        "--routines",
        "--events",
        "--triggers",
        "-uroot",
    ])
    .arg(format!("-h{host}"))
    .arg(format!("-P{port}"))
    .arg(db)
    .output()
    .context("running mariadb-dump")?;
    if !out.status.success() {
        bail!(
            "mariadb-dump failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Creates a uniquely named database on the shared PostgreSQL server; returns its URL.
pub fn fresh_pg_database() -> Result<String> {
    let base = shared_postgres()?;
    let name = unique_name("t");
    psql(&base, &format!("CREATE DATABASE {name}"))?;
    let (host, port) = host_port(&base)?;
    Ok(format!("postgres://postgres@{host}:{port}/{name}"))
}

/// Creates a uniquely named database on the shared MariaDB server; returns its URL.
pub fn fresh_mysql_database() -> Result<String> {
    let base = shared_mysql()?;
    let name = unique_name("t");
    mariadb(&base, None, &format!("CREATE DATABASE {name}"))?;
    let (host, port) = host_port(&base)?;
    Ok(format!("mysql://root@{host}:{port}/{name}"))
}

/// A SQLite database file in its own temp dir (removed on drop).
#[derive(Debug)]
pub struct SqliteFile {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SqliteFile {
    /// The file path (the file itself does not exist until something creates it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A sqlx URL that creates the file when missing.
    pub fn url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.path.display())
    }
}

/// A fresh SQLite file path in a temp dir.
pub fn sqlite_file() -> Result<SqliteFile> {
    let dir = tempfile::Builder::new().prefix("sgl").tempdir()?;
    let path = dir.path().join("db.sqlite");
    Ok(SqliteFile { _dir: dir, path })
}

/// An unapproved change of namespace `shop` named `uid`, version 1, for the engine tests.
pub fn engine_change(
    uid: &str,
    sql: &str,
    mode: schemagate::engine::TransactionMode,
) -> schemagate::engine::Change {
    schemagate::engine::Change {
        uid: uid.into(),
        namespace: "shop".into(),
        name: uid.into(),
        version: "1".into(),
        sql: sql.into(),
        approved_by: None,
        author: None,
        operator: "test".into(),
        transaction_mode: mode,
    }
}

/// Runs `sql` on the database at `url` through schemagate's executor, as change `uid` at
/// `version` (so a history row is written, as the operator would), and panics unless it was
/// applied. For tests that load a schema the way a change does.
#[allow(clippy::unwrap_used, clippy::panic)]
pub async fn apply_through_executor(url: &str, uid: &str, version: &str, sql: &str) {
    use schemagate::engine::{Change, ConnectionConfig, ExecOptions, Executor, Outcome};
    let ex = Executor::new(
        ConnectionConfig::from_url(url).unwrap(),
        ExecOptions::default(),
    );
    let change = Change {
        uid: uid.into(),
        namespace: "t".into(),
        name: uid.into(),
        version: version.into(),
        sql: sql.into(),
        approved_by: None,
        author: None,
        operator: "test".into(),
        transaction_mode: schemagate::engine::TransactionMode::Auto,
    };
    let r = ex.execute(&change).await.unwrap();
    assert!(
        r.outcome == Outcome::Applied,
        "{:?}: {:?}\n{sql}",
        r.outcome,
        r.error
    );
}
