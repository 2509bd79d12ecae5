//! What impact analysis needs from a live database: the server's version, each table's
//! estimated rows and bytes (from statistics and file sizes, never a scan), and — for the
//! verification mode — what a statement really locked, rewrote and scanned on PostgreSQL,
//! observed inside a transaction that is always rolled back.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::EngineError;
use super::session::Session;

/// The size of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableStats {
    /// Schema (PostgreSQL) or database (MySQL).
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Estimated rows: `reltuples`, or — for a table never analysed or vacuumed, whose
    /// `reltuples` is -1 (0 before PostgreSQL 14) — the live-tuple count the statistics system
    /// keeps from inserts (PostgreSQL); `TABLE_ROWS` (MySQL). `reltuples` wins when set, since
    /// the live-tuple count can also include inserts reported after the last ANALYZE.
    pub rows: u64,
    /// Bytes of the table with its indexes (and TOAST data).
    pub bytes: u64,
}

/// The server's version string and its tables' sizes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DatabaseStats {
    /// `SELECT version()`.
    pub version: String,
    /// Every table of the database (PostgreSQL: all user schemas).
    pub tables: Vec<TableStats>,
}

const PG_SIZES: &str = "SELECT n.nspname::text, c.relname::text, \
     round(CASE WHEN c.reltuples > 0 THEN c.reltuples::float8 \
          ELSE COALESCE(s.n_live_tup, 0)::float8 END)::int8, \
     pg_total_relation_size(c.oid)::int8 \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid \
     WHERE c.relkind IN ('r', 'p', 'm') \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

const MY_SIZES: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR), \
     CAST(COALESCE(TABLE_ROWS, 0) AS SIGNED), \
     CAST(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) AS SIGNED) \
     FROM information_schema.TABLES \
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'";

/// Reads the server version and table sizes (two queries, statistics only). SQLite has no
/// statistics worth reading: an empty list.
pub async fn database_stats(s: &mut Session) -> Result<DatabaseStats, EngineError> {
    let map = EngineError::Introspect;
    let (version, tables): (String, Vec<(String, String, i64, i64)>) = match s {
        Session::Pg(c) => (
            sqlx::query_scalar("SELECT version()")
                .fetch_one(&mut *c)
                .await
                .map_err(map)?,
            sqlx::query_as(PG_SIZES)
                .fetch_all(&mut *c)
                .await
                .map_err(map)?,
        ),
        Session::My(c) => (
            sqlx::query_scalar("SELECT VERSION()")
                .fetch_one(&mut *c)
                .await
                .map_err(map)?,
            sqlx::query_as(MY_SIZES)
                .fetch_all(&mut *c)
                .await
                .map_err(map)?,
        ),
        Session::Lite(_) => return Ok(DatabaseStats::default()),
    };
    let tables = tables
        .into_iter()
        .map(|(schema, name, rows, bytes)| TableStats {
            schema,
            name,
            rows: u64::try_from(rows).unwrap_or(0),
            bytes: u64::try_from(bytes).unwrap_or(0),
        })
        .collect();
    Ok(DatabaseStats { version, tables })
}

/// What one statement did to one existing table, as PostgreSQL reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTable {
    /// Schema.
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Every lock mode held on the table when the statement finished (`pg_locks.mode`).
    pub modes: Vec<String>,
    /// The table got a new file (`relfilenode` changed): rewritten (or truncated).
    pub new_file: bool,
    /// Sequential scans of the table during the statement (`pg_stat_xact_user_tables`).
    pub seq_scans: i64,
}

const PG_TABLES: &str = "SELECT c.oid::int8, n.nspname::text, c.relname::text, \
     c.relfilenode::int8, COALESCE(s.seq_scan, 0)::int8 \
     FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_stat_xact_user_tables s ON s.relid = c.oid \
     WHERE c.relkind IN ('r', 'p', 'm') \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
       AND n.nspname NOT LIKE 'pg\\_toast%'";

const PG_LOCKS: &str = "SELECT relation::int8, mode FROM pg_catalog.pg_locks \
     WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted";

/// Runs `sql` in a transaction that is always rolled back and reports, for every table that
/// existed before, the locks held at the end, whether it got a new file and how often it was
/// scanned. The statement must be transactional (not CONCURRENTLY, not VACUUM). Call outside
/// a transaction.
///
/// # Errors
/// The statement's own error (after the rollback), or a catalog query failing.
pub async fn observe_pg(
    c: &mut PgConnection,
    sql: &str,
) -> Result<Vec<ObservedTable>, EngineError> {
    use sqlx::Executor as _;
    let map = EngineError::Introspect;
    c.execute("BEGIN").await.map_err(map)?;
    let result = async {
        let before: Vec<(i64, String, String, i64, i64)> =
            sqlx::query_as(PG_TABLES).fetch_all(&mut *c).await?;
        c.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())))
            .await?;
        let after: Vec<(i64, String, String, i64, i64)> =
            sqlx::query_as(PG_TABLES).fetch_all(&mut *c).await?;
        let locks: Vec<(i64, String)> = sqlx::query_as(PG_LOCKS).fetch_all(&mut *c).await?;
        Ok::<_, sqlx::Error>((before, after, locks))
    }
    .await;
    // Always rolled back: verification never changes the database.
    let rollback = c.execute("ROLLBACK").await;
    let (before, after, locks) = result.map_err(map)?;
    rollback.map_err(map)?;
    let after: HashMap<i64, (i64, i64)> = after
        .into_iter()
        .map(|(oid, _, _, file, scans)| (oid, (file, scans)))
        .collect();
    let mut modes: HashMap<i64, Vec<String>> = HashMap::new();
    for (oid, mode) in locks {
        modes.entry(oid).or_default().push(mode);
    }
    Ok(before
        .into_iter()
        .filter_map(|(oid, schema, name, file, scans)| {
            let (file_after, scans_after) = after.get(&oid).copied().unwrap_or((file, scans));
            let t = ObservedTable {
                schema,
                name,
                modes: modes.remove(&oid).unwrap_or_default(),
                new_file: file_after != file,
                seq_scans: scans_after - scans,
            };
            (!t.modes.is_empty() || t.new_file || t.seq_scans > 0).then_some(t)
        })
        .collect())
}
