//! What the review rules that need a live database ask it: a statement's plan (EXPLAIN, never
//! executed), the owner of an object against the role a change runs as, whether a schema or
//! database exists. Every probe runs in its own transaction that is always rolled back, so
//! the `SET ROLE` / `search_path` statements replayed before it end with it.

use sqlx::Row;

use super::EngineError;
use super::session::Session;

/// An object whose owner is read. `None` schemas are the session's current schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedObject {
    /// The current database.
    Database,
    /// A schema.
    Schema(Option<String>),
    /// A table (or view, sequence: any relation).
    Table(Option<String>, String),
}

/// The statement's fault (the server refused it: the answer) or the connection's (an error).
type Probed<T> = Result<Result<T, String>, EngineError>;

fn split_error<T>(r: Result<T, sqlx::Error>) -> Probed<T> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(sqlx::Error::Database(e)) => Ok(Err(e.message().to_owned())),
        Err(e) => Err(EngineError::Introspect(e)),
    }
}

/// Runs `body` after `BEGIN` and the `setup` statements, then rolls back whatever happened.
async fn rolled_back<T>(
    s: &mut Session,
    setup: &[String],
    body: impl AsyncFnOnce(&mut Session) -> Result<T, sqlx::Error>,
) -> Probed<T> {
    s.exec("BEGIN").await.map_err(EngineError::Introspect)?;
    let mut result = Ok(());
    for stmt in setup {
        if let Err(e) = s.exec(stmt).await {
            result = Err(e);
            break;
        }
    }
    let result = match result {
        Ok(()) => body(s).await,
        Err(e) => Err(e),
    };
    s.exec("ROLLBACK").await.map_err(EngineError::Introspect)?;
    split_error(result)
}

/// EXPLAINs `statement` (never runs it) after `setup`: `Ok(rows)` with the planner's estimate
/// of the rows it reads to change (PostgreSQL: the node under the modify node; MySQL/MariaDB:
/// the first `rows` value), or the server's error when it cannot plan it.
///
/// # Errors
/// The connection fails (a refused statement is an `Ok(Err(message))`).
pub async fn explain(s: &mut Session, setup: &[String], statement: &str) -> Probed<Option<u64>> {
    let sql = format!("EXPLAIN {statement}");
    rolled_back(s, setup, async |s| match s {
        Session::Pg(c) => {
            let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *c)
                .await?;
            let lines: Vec<String> = rows
                .iter()
                .filter_map(|r| r.try_get::<String, _>(0).ok())
                .collect();
            // The modify node (`Update on t`) estimates 0 rows; the node under it reads
            // what the statement changes.
            let line = lines.get(1).or(lines.first());
            Ok(line.and_then(|l| pg_rows(l)))
        }
        Session::My(c) => {
            let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .fetch_all(&mut *c)
                .await?;
            Ok(rows.iter().find_map(my_rows))
        }
        Session::Lite(c) => {
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "EXPLAIN QUERY PLAN {statement}"
            )))
            .fetch_all(&mut *c)
            .await?;
            Ok(None)
        }
    })
    .await
}

/// `rows=123` of a PostgreSQL plan line.
fn pg_rows(line: &str) -> Option<u64> {
    let at = line.find("rows=")? + "rows=".len();
    let digits: String = line[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The `rows` column of a MySQL/MariaDB EXPLAIN row (an integer or text, by server).
fn my_rows(row: &sqlx::mysql::MySqlRow) -> Option<u64> {
    if let Ok(Some(n)) = row.try_get::<Option<u64>, _>("rows") {
        return Some(n);
    }
    if let Ok(Some(n)) = row.try_get::<Option<i64>, _>("rows") {
        return u64::try_from(n).ok();
    }
    row.try_get::<Option<String>, _>("rows")
        .ok()
        .flatten()
        .and_then(|s| s.trim().parse().ok())
}

/// The owner of `object` (`None` when it does not exist) and the role the session runs as
/// after `setup` (PostgreSQL). A schema owned by `pg_database_owner` is owned by the
/// database's owner.
///
/// # Errors
/// The connection fails (a refused query is an `Ok(Err(message))`).
pub async fn owner(
    s: &mut Session,
    setup: &[String],
    object: &OwnedObject,
) -> Probed<(Option<String>, String)> {
    const DB_OWNER: &str = "SELECT pg_catalog.pg_get_userbyid(datdba)::text \
         FROM pg_catalog.pg_database WHERE datname = current_database()";
    const SCHEMA_OWNER: &str = "SELECT pg_catalog.pg_get_userbyid(nspowner)::text \
         FROM pg_catalog.pg_namespace WHERE nspname = COALESCE($1, current_schema())";
    const TABLE_OWNER: &str = "SELECT pg_catalog.pg_get_userbyid(c.relowner)::text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = COALESCE($1, current_schema()) AND c.relname = $2";
    rolled_back(s, setup, async |s| {
        let Session::Pg(c) = s else {
            return Ok((None, String::new()));
        };
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&mut *c)
            .await?;
        let owner: Option<String> = match object {
            OwnedObject::Database => sqlx::query_scalar(DB_OWNER).fetch_optional(&mut *c).await?,
            OwnedObject::Schema(schema) => {
                sqlx::query_scalar(SCHEMA_OWNER)
                    .bind(schema.as_deref())
                    .fetch_optional(&mut *c)
                    .await?
            }
            OwnedObject::Table(schema, table) => {
                sqlx::query_scalar(TABLE_OWNER)
                    .bind(schema.as_deref())
                    .bind(table.as_str())
                    .fetch_optional(&mut *c)
                    .await?
            }
        };
        let owner = match owner {
            Some(o) if o == "pg_database_owner" => {
                sqlx::query_scalar(DB_OWNER).fetch_optional(&mut *c).await?
            }
            o => o,
        };
        Ok((owner, role))
    })
    .await
}

/// Whether the schema (PostgreSQL) or database (MySQL/MariaDB) `name` exists.
///
/// # Errors
/// The query fails.
pub async fn location_exists(s: &mut Session, name: &str) -> Result<bool, EngineError> {
    let map = EngineError::Introspect;
    Ok(match s {
        Session::Pg(c) => {
            sqlx::query_scalar::<_, i32>("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1")
                .bind(name)
                .fetch_optional(&mut *c)
                .await
                .map_err(map)?
                .is_some()
        }
        Session::My(c) => sqlx::query_scalar::<_, i64>(
            "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
        )
        .bind(name)
        .fetch_optional(&mut *c)
        .await
        .map_err(map)?
        .is_some(),
        Session::Lite(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pg_plan_rows() {
        assert_eq!(
            pg_rows("  ->  Seq Scan on t  (cost=0.00..35.50 rows=2550 width=10)"),
            Some(2550)
        );
        assert_eq!(
            pg_rows("Update on t  (cost=0.00..1.00 rows=0 width=0)"),
            Some(0)
        );
        assert_eq!(pg_rows("Result"), None);
    }
}
