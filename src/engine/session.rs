//! One database session (a single connection) with the session timeouts applied, raw statement
//! execution, and the error classification the executor needs. No history or locking logic here.

use std::time::Duration;

use sqlx::{Connection, Executor};

use super::EngineError;
use super::config::ConnectionConfig;
use crate::sqltext::Engine;

/// A single open connection to the target database.
pub enum Session {
    /// PostgreSQL.
    Pg(sqlx::PgConnection),
    /// MySQL / MariaDB.
    My(sqlx::MySqlConnection),
    /// SQLite.
    Lite(sqlx::SqliteConnection),
}

/// Evaluates the same sqlx expression on whichever connection a [`Session`] holds, binding it to
/// `$conn`. The arms differ only in the connection's type, which sqlx's generic executor bounds
/// make heavy to abstract over with a function.
macro_rules! with_conn {
    ($session:expr, $conn:ident => $body:expr) => {
        match $session {
            $crate::engine::Session::Pg($conn) => $body,
            $crate::engine::Session::My($conn) => $body,
            $crate::engine::Session::Lite($conn) => $body,
        }
    };
}
pub(crate) use with_conn;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pg(_) => "Session(postgres)",
            Self::My(_) => "Session(mysql)",
            Self::Lite(_) => "Session(sqlite)",
        })
    }
}

/// What kind of failure a database error is, for retry decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Waiting for a lock timed out; the statement ran nothing and may be retried.
    LockTimeout,
    /// The statement was cancelled (by us) or hit the statement timeout.
    Cancelled,
    /// The connection is gone or unusable (server stopped, network, protocol error). Whether
    /// retrying later may help is [`super::EngineError::is_transient`]'s call: a protocol error
    /// ([`is_protocol_error`]) will not go away.
    Connection,
    /// Anything else: bad SQL, constraint violation, …
    Other,
}

/// Whether `err` says client and server disagree about the wire protocol: PostgreSQL SQLSTATE
/// 08P01 (`invalid message format`, e.g. a NUL byte in a query) or a sqlx protocol error.
/// Sending the same thing again fails the same way, so it is never transient.
pub fn is_protocol_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().as_deref() == Some("08P01"),
        _ => false,
    }
}

/// Classifies a sqlx error.
pub fn classify(engine: Engine, err: &sqlx::Error) -> ErrorClass {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => ErrorClass::Connection,
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match engine {
                Engine::Postgres => match code.as_str() {
                    "55P03" => ErrorClass::LockTimeout,
                    "57014" => ErrorClass::Cancelled,
                    c if c.starts_with("08") || c.starts_with("57P") => ErrorClass::Connection,
                    _ => ErrorClass::Other,
                },
                Engine::Mysql => match code.as_str() {
                    // 1205 lock wait timeout (row and metadata locks).
                    "HY000" | "40001" if db.message().contains("Lock wait timeout") => {
                        ErrorClass::LockTimeout
                    }
                    "70100" => ErrorClass::Cancelled,
                    _ if db.message().contains("Query execution was interrupted") => {
                        ErrorClass::Cancelled
                    }
                    _ if db.message().contains("Lock wait timeout") => ErrorClass::LockTimeout,
                    _ => ErrorClass::Other,
                },
                Engine::Sqlite => {
                    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), also extended codes.
                    let n: i64 = code.parse().unwrap_or(0);
                    if n & 0xff == 5 || n & 0xff == 6 {
                        ErrorClass::LockTimeout
                    } else {
                        ErrorClass::Other
                    }
                }
            }
        }
        _ => ErrorClass::Other,
    }
}

impl Session {
    /// Opens a connection within the connect timeout and sets the session timeouts.
    pub async fn connect(cfg: &ConnectionConfig) -> Result<Self, EngineError> {
        let limit = cfg.timeouts.connect;
        let fut = async {
            Ok::<_, sqlx::Error>(match cfg.engine {
                Engine::Postgres => {
                    Self::Pg(sqlx::PgConnection::connect_with(&cfg.pg_options()).await?)
                }
                Engine::Mysql => {
                    Self::My(sqlx::MySqlConnection::connect_with(&cfg.mysql_options()).await?)
                }
                Engine::Sqlite => {
                    Self::Lite(sqlx::SqliteConnection::connect_with(&cfg.sqlite_options()).await?)
                }
            })
        };
        let mut s = match tokio::time::timeout(limit, fut).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                return Err(EngineError::Connect {
                    target: cfg.to_string(),
                    source: e,
                });
            }
            Err(_) => {
                return Err(EngineError::ConnectTimeout {
                    target: cfg.to_string(),
                    after: limit,
                });
            }
        };
        s.set_timeouts(cfg.timeouts.lock, cfg.timeouts.statement)
            .await?;
        s.pin_literal_syntax().await?;
        Ok(s)
    }

    /// The engine of this session.
    pub fn engine(&self) -> Engine {
        match self {
            Self::Pg(_) => Engine::Postgres,
            Self::My(_) => Engine::Mysql,
            Self::Lite(_) => Engine::Sqlite,
        }
    }

    /// Sets the lock and statement timeouts of this session.
    pub async fn set_timeouts(
        &mut self,
        lock: Duration,
        statement: Duration,
    ) -> Result<(), EngineError> {
        let lock_ms = lock.as_millis().max(1);
        let stmt_ms = statement.as_millis();
        match self {
            Self::Pg(_) => {
                self.exec(&format!(
                    "SET lock_timeout = {lock_ms}; SET statement_timeout = {stmt_ms}; \
                     SET idle_in_transaction_session_timeout = 0"
                ))
                .await
                .map_err(EngineError::Session)?;
            }
            Self::My(_) => {
                let secs = lock.as_secs().max(1);
                self.exec(&format!(
                    "SET SESSION lock_wait_timeout = {secs}, SESSION innodb_lock_wait_timeout = {secs}"
                ))
                .await
                .map_err(EngineError::Session)?;
                // MariaDB calls it max_statement_time (seconds), MySQL max_execution_time (ms,
                // SELECT only); set whichever exists.
                let st = statement.as_secs_f64();
                if self
                    .exec(&format!("SET SESSION max_statement_time = {st}"))
                    .await
                    .is_err()
                {
                    let _ = self
                        .exec(&format!("SET SESSION max_execution_time = {stmt_ms}"))
                        .await;
                }
            }
            Self::Lite(_) => {
                self.exec(&format!("PRAGMA busy_timeout = {lock_ms}"))
                    .await
                    .map_err(EngineError::Session)?;
            }
        }
        Ok(())
    }

    /// Makes this session read string literals the way schemagate's splitter and guards do,
    /// whatever the server's or database's defaults: PostgreSQL `standard_conforming_strings =
    /// on`; MySQL without `NO_BACKSLASH_ESCAPES`, `ANSI_QUOTES` and `ANSI` (the rest of the
    /// session's `sql_mode`, which sqlx derived from the global one, is kept). A script that
    /// changes this itself is read both ways by the guards from then on.
    pub async fn pin_literal_syntax(&mut self) -> Result<(), EngineError> {
        let sql = match self {
            Self::Pg(_) => "SET standard_conforming_strings = on",
            Self::My(_) => {
                "SET SESSION sql_mode = TRIM(BOTH ',' FROM \
                 REPLACE(REPLACE(REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), \
                 ',NO_BACKSLASH_ESCAPES,', ','), ',ANSI_QUOTES,', ','), ',ANSI,', ','))"
            }
            Self::Lite(_) => return Ok(()),
        };
        self.exec(sql).await.map_err(EngineError::Session)?;
        Ok(())
    }

    /// Runs raw SQL (one or more statements, no parameters); returns rows affected.
    pub async fn exec(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        let q = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()));
        Ok(match self {
            Self::Pg(c) => c.execute(q).await?.rows_affected(),
            Self::My(c) => c.execute(q).await?.rows_affected(),
            Self::Lite(c) => c.execute(q).await?.rows_affected(),
        })
    }

    /// The server-side id of this connection (for cancellation from another session).
    pub async fn backend_id(&mut self) -> Result<Option<i64>, sqlx::Error> {
        Ok(match self {
            Self::Pg(c) => {
                let (id,): (i32,) = sqlx::query_as("SELECT pg_backend_pid()")
                    .fetch_one(c)
                    .await?;
                Some(i64::from(id))
            }
            Self::My(c) => {
                let (id,): (u64,) = sqlx::query_as("SELECT CONNECTION_ID()")
                    .fetch_one(c)
                    .await?;
                i64::try_from(id).ok()
            }
            Self::Lite(_) => None,
        })
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        let _ = match self {
            Self::Pg(c) => c.close().await,
            Self::My(c) => c.close().await,
            Self::Lite(c) => c.close().await,
        };
    }
}
