//! The history table in the target database: the source of truth for which changes ran.
//! Versioned layout, created on first use; all values travel as bind parameters.

use super::session::with_conn;
use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::EngineError;
use super::session::Session;
use crate::sqltext::Engine;

/// Current layout version of the history table: 1 the first layout, 2 added `before_error`
/// and `after_error`, 3 added `author`.
pub const LAYOUT_VERSION: i64 = 3;

/// Status of one change in the history table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeStatus {
    /// Statements are being executed (non-transactional path only; visible to others).
    Running,
    /// Every statement ran and was recorded.
    Applied,
    /// The change failed; `statements_applied` says how many statements took effect.
    Failed,
    /// Interrupted mid-way: some statements may have run; a human must look.
    NeedsIntervention,
}

impl ChangeStatus {
    /// The value stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Applied => "applied",
            Self::Failed => "failed",
            Self::NeedsIntervention => "needs-intervention",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "running" => Self::Running,
            "applied" => Self::Applied,
            "failed" => Self::Failed,
            _ => Self::NeedsIntervention,
        }
    }
}

/// One row of the history table.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRecord {
    /// The SchemaChange's uid (primary key).
    pub change_uid: String,
    /// Namespace of the SchemaChange.
    pub namespace: String,
    /// Name of the SchemaChange.
    pub name: String,
    /// Version of the change.
    pub version: String,
    /// sha256 (hex) of the SQL script.
    pub sql_sha256: String,
    /// Status.
    pub status: ChangeStatus,
    /// Number of statements in the script.
    pub statements_total: i64,
    /// Statements that took effect.
    pub statements_applied: i64,
    /// Intent record: index of the statement that was started and not yet recorded done.
    pub current_statement: Option<i64>,
    /// When execution started.
    pub started_at: DateTime<Utc>,
    /// When execution finished.
    pub finished_at: Option<DateTime<Utc>>,
    /// Who approved the change.
    pub approved_by: Option<String>,
    /// Who wrote the change (and which GitOps identity synced it); `None` in rows written
    /// before layout 3 and where no author was recorded.
    pub author: Option<String>,
    /// Which operator instance ran it.
    pub operator: String,
    /// Error message, if any.
    pub error: Option<String>,
    /// Attempts made (lock-timeout retries included).
    pub attempts: i64,
    /// Compressed canonical JSON snapshot before the change.
    pub before_snapshot: Option<Vec<u8>>,
    /// Digest of the before snapshot.
    pub before_digest: Option<String>,
    /// Compressed canonical JSON snapshot after the change.
    pub after_snapshot: Option<Vec<u8>>,
    /// Digest of the after snapshot.
    pub after_digest: Option<String>,
    /// Why `before_snapshot` is missing, when snapshots were on and it could not be taken.
    pub before_error: Option<String>,
    /// Why `after_snapshot` is missing, when snapshots were on and it could not be taken.
    pub after_error: Option<String>,
}

/// One row of the history table without its snapshots, as listed by [`index`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The change uid.
    pub change_uid: String,
    /// Namespace of the SchemaChange.
    pub namespace: String,
    /// Name of the SchemaChange.
    pub name: String,
    /// Version.
    pub version: String,
    /// Status.
    pub status: ChangeStatus,
    /// Error message, if any.
    pub error: Option<String>,
}

/// An applied change, as listed by [`applied_versions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedVersion {
    /// Namespace of the SchemaChange.
    pub namespace: String,
    /// Name of the SchemaChange.
    pub name: String,
    /// Version.
    pub version: String,
    /// The change uid.
    pub change_uid: String,
}

/// Compresses bytes (deflate) for the snapshot columns.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Inverse of [`compress`].
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, EngineError> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .read_to_end(&mut out)
        .map_err(|e| EngineError::Config(format!("corrupt snapshot in history table: {e}")))?;
    Ok(out)
}

fn table(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "schemagate.history",
        _ => "schemagate_history",
    }
}

fn meta(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "schemagate.meta",
        _ => "schemagate_meta",
    }
}

/// Names of the history objects, so snapshots can leave them out.
pub fn is_history_object(schema: Option<&str>, name: &str) -> bool {
    schema == Some("schemagate") || name == "schemagate_history" || name == "schemagate_meta"
}

fn layout_v1(engine: Engine) -> String {
    let (text, key, ts, blob, big) = match engine {
        Engine::Postgres => ("text", "text", "timestamptz", "bytea", "bigint"),
        Engine::Mysql => ("TEXT", "VARCHAR(191)", "DATETIME(6)", "LONGBLOB", "BIGINT"),
        Engine::Sqlite => ("TEXT", "TEXT", "TEXT", "BLOB", "INTEGER"),
    };
    let suffix = if engine == Engine::Mysql {
        " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
    } else {
        ""
    };
    format!(
        "CREATE TABLE IF NOT EXISTS {t} (\
         change_uid {key} NOT NULL PRIMARY KEY, namespace {text} NOT NULL, name {text} NOT NULL, \
         version {text} NOT NULL, sql_sha256 {text} NOT NULL, status {text} NOT NULL, \
         statements_total {big} NOT NULL, statements_applied {big} NOT NULL, \
         current_statement {big} NULL, started_at {ts} NOT NULL, finished_at {ts} NULL, \
         approved_by {text} NULL, operator {text} NOT NULL, error {text} NULL, \
         attempts {big} NOT NULL, before_snapshot {blob} NULL, before_digest {text} NULL, \
         after_snapshot {blob} NULL, after_digest {text} NULL){suffix}",
        t = table(engine)
    )
}

/// Creates the history table (and its layout-version record) when missing and migrates an older
/// layout. Idempotent; call under the executor lock.
pub async fn ensure(s: &mut Session) -> Result<(), EngineError> {
    // Two sessions creating the schema or a table at once on PostgreSQL: `IF NOT EXISTS` does not
    // stop the loser from failing on the catalog's unique index. The winner's objects exist by
    // then, so looking again succeeds.
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ensure_once(s).await {
            Err(EngineError::History(e)) if attempt < 3 && lost_create_race(&e) => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// A concurrent `CREATE … IF NOT EXISTS` lost to another session (PostgreSQL: unique violation
/// on a catalog, or duplicate object).
fn lost_create_race(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| matches!(code.as_ref(), "23505" | "42P06" | "42P07" | "42710"))
}

async fn ensure_once(s: &mut Session) -> Result<(), EngineError> {
    // Fast path, one query: the table exists in the current layout (the usual case).
    if let Ok(v) = read_layout_version(s).await
        && v == LAYOUT_VERSION
    {
        return Ok(());
    }
    let engine = s.engine();
    let (key, text) = match engine {
        Engine::Mysql => ("VARCHAR(64)", "TEXT"),
        _ => ("text", "text"),
    };
    if engine == Engine::Postgres {
        // Checking first avoids needing CREATE privilege on the database once the schema exists.
        let exists = match s {
            Session::Pg(c) => sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'schemagate')",
            )
            .fetch_one(c)
            .await
            .map_err(EngineError::History)?,
            _ => true,
        };
        if !exists {
            s.exec("CREATE SCHEMA IF NOT EXISTS schemagate")
                .await
                .map_err(EngineError::History)?;
        }
    }
    s.exec(&format!(
        "CREATE TABLE IF NOT EXISTS {} (k {key} NOT NULL PRIMARY KEY, v {text} NOT NULL)",
        meta(engine)
    ))
    .await
    .map_err(EngineError::History)?;
    let current = read_layout_version(s).await?;
    if current < 1 {
        s.exec(&layout_v1(engine))
            .await
            .map_err(EngineError::History)?;
    }
    if current < 2 {
        for column in ["before_error", "after_error"] {
            add_column(s, column, text).await?;
        }
    }
    if current < 3 {
        add_column(s, "author", text).await?;
    }
    // Future layouts: `if current < 4 { ALTER TABLE … }`, one step per version.
    if current != LAYOUT_VERSION {
        let sql = match engine {
            Engine::Mysql => format!(
                "REPLACE INTO {} (k, v) VALUES ('layout_version', ?)",
                meta(engine)
            ),
            _ => format!(
                "INSERT INTO {} (k, v) VALUES ('layout_version', {}) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                meta(engine),
                if engine == Engine::Postgres {
                    "$1"
                } else {
                    "?"
                }
            ),
        };
        let v = LAYOUT_VERSION.to_string();
        let q = sqlx::AssertSqlSafe(sql);
        with_conn!(s, c => sqlx::query(q).bind(v).execute(c).await.map(|_| ()))
            .map_err(EngineError::History)?;
    }
    Ok(())
}

/// Adds a nullable text column to the history table. Two processes may migrate at once (the
/// operator's instance check does not hold the executor lock) and not every engine has
/// `ADD COLUMN IF NOT EXISTS`: a failed ALTER is fine when the column is there afterwards.
async fn add_column(s: &mut Session, column: &str, text: &str) -> Result<(), EngineError> {
    let t = table(s.engine());
    let Err(e) = s
        .exec(&format!("ALTER TABLE {t} ADD COLUMN {column} {text} NULL"))
        .await
    else {
        return Ok(());
    };
    match s
        .exec(&format!("SELECT {column} FROM {t} WHERE 1 = 0"))
        .await
    {
        Ok(_) => Ok(()),
        Err(_) => Err(EngineError::History(e)),
    }
}

async fn read_layout_version(s: &mut Session) -> Result<i64, EngineError> {
    let sql = format!(
        "SELECT v FROM {} WHERE k = 'layout_version'",
        meta(s.engine())
    );
    let q = sqlx::AssertSqlSafe(sql);
    let v: Option<String> = with_conn!(s, c => sqlx::query_scalar(q).fetch_optional(c).await)
        .map_err(EngineError::History)?;
    Ok(v.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// Rewrites `?` placeholders to `$n` for PostgreSQL.
fn placeholders(engine: Engine, sql: &str) -> String {
    if engine != Engine::Postgres {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

const COLUMNS: &str = "change_uid, namespace, name, version, sql_sha256, status, statements_total, \
     statements_applied, current_statement, started_at, finished_at, approved_by, operator, error, \
     attempts, before_snapshot, before_digest, after_snapshot, after_digest, before_error, \
     after_error, author";

macro_rules! bind_record {
    ($q:expr, $r:expr) => {
        $q.bind(&$r.change_uid)
            .bind(&$r.namespace)
            .bind(&$r.name)
            .bind(&$r.version)
            .bind(&$r.sql_sha256)
            .bind($r.status.as_str())
            .bind($r.statements_total)
            .bind($r.statements_applied)
            .bind($r.current_statement)
            .bind($r.started_at)
            .bind($r.finished_at)
            .bind(&$r.approved_by)
            .bind(&$r.operator)
            .bind(&$r.error)
            .bind($r.attempts)
            .bind(&$r.before_snapshot)
            .bind(&$r.before_digest)
            .bind(&$r.after_snapshot)
            .bind(&$r.after_digest)
            .bind(&$r.before_error)
            .bind(&$r.after_error)
            .bind(&$r.author)
    };
}

/// Inserts or replaces the row of `r.change_uid`.
pub async fn upsert(s: &mut Session, r: &HistoryRecord) -> Result<(), EngineError> {
    let engine = s.engine();
    let marks = vec!["?"; COLUMNS.split(", ").count()].join(", ");
    let updates: Vec<String> = COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| match engine {
            Engine::Mysql => format!("{c} = VALUES({c})"),
            _ => format!("{c} = excluded.{c}"),
        })
        .collect();
    let conflict = match engine {
        Engine::Mysql => "ON DUPLICATE KEY UPDATE",
        _ => "ON CONFLICT (change_uid) DO UPDATE SET",
    };
    let sql = placeholders(
        engine,
        &format!(
            "INSERT INTO {} ({COLUMNS}) VALUES ({marks}) {conflict} {}",
            table(engine),
            updates.join(", ")
        ),
    );
    let q = sqlx::AssertSqlSafe(sql);
    with_conn!(s, c => bind_record!(sqlx::query(q), r).execute(c).await.map(|_| ()))
        .map_err(EngineError::History)
}

/// Records progress of the non-transactional path: the intent (`current`) or done (`applied`).
pub async fn set_progress(
    s: &mut Session,
    uid: &str,
    applied: i64,
    current: Option<i64>,
) -> Result<(), EngineError> {
    let engine = s.engine();
    let sql = placeholders(
        engine,
        &format!(
            "UPDATE {} SET statements_applied = ?, current_statement = ? WHERE change_uid = ?",
            table(engine)
        ),
    );
    let q = sqlx::AssertSqlSafe(sql);
    with_conn!(s, c => sqlx::query(q)
        .bind(applied)
        .bind(current)
        .bind(uid)
        .execute(c)
        .await
        .map(|_| ()))
    .map_err(EngineError::History)
}

macro_rules! read_record {
    ($row:expr) => {{
        let row = $row;
        (|| -> Result<HistoryRecord, sqlx::Error> {
            Ok(HistoryRecord {
                change_uid: row.try_get("change_uid")?,
                namespace: row.try_get("namespace")?,
                name: row.try_get("name")?,
                version: row.try_get("version")?,
                sql_sha256: row.try_get("sql_sha256")?,
                status: ChangeStatus::parse(&row.try_get::<String, _>("status")?),
                statements_total: row.try_get("statements_total")?,
                statements_applied: row.try_get("statements_applied")?,
                current_statement: row.try_get("current_statement")?,
                started_at: row.try_get("started_at")?,
                finished_at: row.try_get("finished_at")?,
                approved_by: row.try_get("approved_by")?,
                operator: row.try_get("operator")?,
                error: row.try_get("error")?,
                attempts: row.try_get("attempts")?,
                before_snapshot: row.try_get("before_snapshot")?,
                before_digest: row.try_get("before_digest")?,
                after_snapshot: row.try_get("after_snapshot")?,
                after_digest: row.try_get("after_digest")?,
                before_error: row.try_get("before_error")?,
                after_error: row.try_get("after_error")?,
                author: row.try_get("author")?,
            })
        })()
    }};
}

async fn select(
    s: &mut Session,
    where_sql: &str,
    bind: Option<&str>,
) -> Result<Vec<HistoryRecord>, EngineError> {
    let engine = s.engine();
    let sql = placeholders(
        engine,
        &format!("SELECT {COLUMNS} FROM {} {where_sql}", table(engine)),
    );
    let q = sqlx::AssertSqlSafe(sql);
    let mut out = Vec::new();
    with_conn!(s, c => {
        let mut q = sqlx::query(q);
        if let Some(b) = bind {
            q = q.bind(b);
        }
        for row in q.fetch_all(c).await.map_err(EngineError::History)? {
            out.push(read_record!(&row).map_err(EngineError::History)?);
        }
    });
    Ok(out)
}

/// One change's record.
pub async fn get(s: &mut Session, change_uid: &str) -> Result<Option<HistoryRecord>, EngineError> {
    Ok(select(s, "WHERE change_uid = ?", Some(change_uid))
        .await?
        .into_iter()
        .next())
}

/// Every row without the snapshot columns (each row also holds two compressed snapshots), in
/// the order the changes finished (unfinished rows last), then by uid. One query: this is what the
/// operator reads, once per database and not once per change.
pub async fn index(s: &mut Session) -> Result<Vec<IndexEntry>, EngineError> {
    let sql = format!(
        "SELECT change_uid, namespace, name, version, status, error FROM {} \
         ORDER BY CASE WHEN finished_at IS NULL THEN 1 ELSE 0 END, finished_at, change_uid",
        table(s.engine())
    );
    let q = sqlx::AssertSqlSafe(sql);
    type Row = (String, String, String, String, String, Option<String>);
    let rows: Vec<Row> =
        with_conn!(s, c => sqlx::query_as(q).fetch_all(c).await).map_err(EngineError::History)?;
    Ok(rows
        .into_iter()
        .map(
            |(change_uid, namespace, name, version, status, error)| IndexEntry {
                change_uid,
                namespace,
                name,
                version,
                status: ChangeStatus::parse(&status),
                error,
            },
        )
        .collect())
}

/// All applied changes, oldest first.
pub async fn applied_versions(s: &mut Session) -> Result<Vec<AppliedVersion>, EngineError> {
    Ok(index(s)
        .await?
        .into_iter()
        .filter(|e| e.status == ChangeStatus::Applied)
        .map(|e| AppliedVersion {
            namespace: e.namespace,
            name: e.name,
            version: e.version,
            change_uid: e.change_uid,
        })
        .collect())
}

/// The most recently applied version, if any.
pub async fn latest_applied_version(
    s: &mut Session,
) -> Result<Option<AppliedVersion>, EngineError> {
    Ok(applied_versions(s).await?.pop())
}

/// The after-snapshot (decompressed canonical JSON) and digest of the latest applied change.
pub async fn latest_after_snapshot(
    s: &mut Session,
) -> Result<Option<(Vec<u8>, String)>, EngineError> {
    let rows = select(
        s,
        "WHERE status = 'applied' AND after_snapshot IS NOT NULL ORDER BY finished_at DESC, change_uid",
        None,
    )
    .await?;
    match rows.into_iter().next() {
        Some(HistoryRecord {
            after_snapshot: Some(data),
            after_digest,
            ..
        }) => Ok(Some((decompress(&data)?, after_digest.unwrap_or_default()))),
        _ => Ok(None),
    }
}
