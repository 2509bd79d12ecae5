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
    /// Lock modes earlier statements of the same transaction already held on the table: a
    /// statement asking for a mode already held adds nothing to `modes`.
    pub held: Vec<String>,
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
    let mut steps = observe_pg_steps(c, &[sql]).await?;
    match steps.pop() {
        Some(Ok(tables)) => Ok(tables),
        Some(Err(e)) => Err(e),
        None => Ok(Vec::new()),
    }
}

type TableRow = (i64, String, String, i64, i64);

/// Runs `statements` one after the other in one transaction that is always rolled back, and
/// reports for each what it did to the tables that existed when the script started: the lock
/// modes it added, whether the table got a new file, how often it was scanned. Stops at the
/// first statement that fails (its entry is the error). The statements must be transactional.
///
/// # Errors
/// `BEGIN`, the catalog queries or the rollback failing.
pub async fn observe_pg_steps(
    c: &mut PgConnection,
    statements: &[&str],
) -> Result<Vec<Result<Vec<ObservedTable>, EngineError>>, EngineError> {
    use sqlx::Executor as _;
    let map = EngineError::Introspect;
    c.execute("BEGIN").await.map_err(map)?;
    let mut steps = Vec::new();
    let result = async {
        let start: Vec<TableRow> = sqlx::query_as(PG_TABLES).fetch_all(&mut *c).await?;
        let mut before: HashMap<i64, (i64, i64)> = files(&start);
        let mut held: Vec<(i64, String)> = sqlx::query_as(PG_LOCKS).fetch_all(&mut *c).await?;
        for sql in statements {
            if let Err(e) = c
                .execute(sqlx::raw_sql(sqlx::AssertSqlSafe((*sql).to_owned())))
                .await
            {
                steps.push(Err(map(e)));
                break;
            }
            let after = files(&sqlx::query_as(PG_TABLES).fetch_all(&mut *c).await?);
            let locks: Vec<(i64, String)> = sqlx::query_as(PG_LOCKS).fetch_all(&mut *c).await?;
            let mut modes: HashMap<i64, Vec<String>> = HashMap::new();
            for (oid, mode) in locks.iter().filter(|l| !held.contains(l)) {
                modes.entry(*oid).or_default().push(mode.clone());
            }
            let mut held_modes: HashMap<i64, Vec<String>> = HashMap::new();
            for (oid, mode) in &held {
                held_modes.entry(*oid).or_default().push(mode.clone());
            }
            let observed = start
                .iter()
                .filter_map(|(oid, schema, name, _, _)| {
                    let (file, scans) = before.get(oid).copied()?;
                    let (file_after, scans_after) =
                        after.get(oid).copied().unwrap_or((file, scans));
                    let t = ObservedTable {
                        schema: schema.clone(),
                        name: name.clone(),
                        modes: modes.remove(oid).unwrap_or_default(),
                        new_file: file_after != file,
                        seq_scans: scans_after - scans,
                        held: held_modes.remove(oid).unwrap_or_default(),
                    };
                    let touched = !t.modes.is_empty() || t.new_file || t.seq_scans > 0;
                    (touched || !t.held.is_empty()).then_some(t)
                })
                .collect();
            steps.push(Ok(observed));
            before = after;
            held = locks;
        }
        Ok::<_, sqlx::Error>(())
    }
    .await;
    // Always rolled back: verification never changes the database.
    let rollback = c.execute("ROLLBACK").await;
    result.map_err(map)?;
    rollback.map_err(map)?;
    Ok(steps)
}

/// Each table's file node and sequential scans, by oid.
fn files(rows: &[TableRow]) -> HashMap<i64, (i64, i64)> {
    rows.iter()
        .map(|(oid, _, _, file, scans)| (*oid, (*file, *scans)))
        .collect()
}
