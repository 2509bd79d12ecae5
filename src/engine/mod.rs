//! Database access through sqlx (PostgreSQL, MySQL/MariaDB, SQLite): connections, history table,
//! locking, exactly-once execution and schema introspection. No kube.

/// Declares a row type read from a PostgreSQL query by column name (what `#[derive(sqlx::
/// FromRow)]` generates; written here so sqlx's proc-macro crate, which compiles a second copy
/// of every database driver for the build host, is not needed).
macro_rules! pg_row {
    ($(#[$m:meta])* $vis:vis struct $name:ident {
        $($(#[$fm:meta])* $fvis:vis $f:ident: $t:ty),* $(,)?
    }) => {
        $(#[$m])*
        $vis struct $name { $($(#[$fm])* $fvis $f: $t,)* }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $name {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(Self { $($f: row.try_get(stringify!($f))?,)* })
            }
        }
    };
}

mod apply;
mod cancel;
mod change;
pub mod config;
pub mod executor;
pub mod history;
pub mod introspect;
mod introspect_my;
mod introspect_pg;
mod introspect_sqlite;
mod lock;
pub mod probe;
pub mod progress;
pub mod session;
pub mod split;
pub mod stats;

use std::time::Duration;

pub use cancel::CancelHandle;
pub use change::{Change, ExecOptions, ExecutionReport, Outcome, StatementResult, TransactionMode};
pub use config::{ConnectionConfig, Secret, Timeouts, TlsMode};
pub use executor::Executor;
pub use history::{AppliedVersion, ChangeStatus, HistoryRecord, IndexEntry};
pub use progress::{IndexBuild, ProgressHandle, ProgressProbe, RunningStatement};
pub use session::Session;
pub use split::{ScriptStatement, split_statements};

/// Errors of the engine module. Messages never contain credentials: targets are shown as
/// `engine://user@host:port/db`.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Invalid configuration or input.
    #[error("{0}")]
    Config(String),
    /// Could not connect.
    #[error("cannot connect to {target}")]
    Connect {
        /// Redacted target.
        target: String,
        /// Driver error.
        #[source]
        source: sqlx::Error,
    },
    /// Connecting took longer than the connect timeout.
    #[error("connecting to {target} timed out after {after:?}")]
    ConnectTimeout {
        /// Redacted target.
        target: String,
        /// The timeout.
        after: Duration,
    },
    /// Setting up the session failed.
    #[error("session setup failed")]
    Session(#[source] sqlx::Error),
    /// Reading or writing the history table failed.
    #[error("history table access failed")]
    History(#[source] sqlx::Error),
    /// Taking or releasing the executor lock failed.
    #[error("executor lock failed")]
    Lock(#[source] sqlx::Error),
    /// Another executor held the lock for longer than we were willing to wait.
    #[error("another executor holds the lock on this database (waited {0:?})")]
    LockBusy(Duration),
    /// The connection failed while a change was running.
    #[error("connection lost while executing the change")]
    Execution(#[source] sqlx::Error),
    /// Schema introspection failed.
    #[error("schema introspection failed")]
    Introspect(#[source] sqlx::Error),
}

impl EngineError {
    /// Whether retrying later may succeed (network, server down, lock busy). Invalid input and
    /// protocol errors ([`session::is_protocol_error`]) are permanent: the same request would
    /// fail the same way, so retrying only spins.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Config(_) => false,
            Self::Connect { source, .. } => {
                !matches!(source, sqlx::Error::Database(_)) && !session::is_protocol_error(source)
            }
            Self::Session(e)
            | Self::History(e)
            | Self::Lock(e)
            | Self::Execution(e)
            | Self::Introspect(e) => !session::is_protocol_error(e),
            Self::ConnectTimeout { .. } | Self::LockBusy(_) => true,
        }
    }
}

/// Full error chain as one line (`outer: inner: …`), for status messages.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn protocol_errors_are_permanent() {
        let protocol = || sqlx::Error::Protocol("invalid message format".into());
        assert!(!EngineError::Execution(protocol()).is_transient());
        assert!(!EngineError::History(protocol()).is_transient());
        assert!(!EngineError::Session(protocol()).is_transient());
        let io = || sqlx::Error::Io(std::io::Error::other("reset"));
        assert!(EngineError::Execution(io()).is_transient());
        assert!(
            EngineError::Connect {
                target: "x".into(),
                source: io()
            }
            .is_transient()
        );
        assert!(
            !EngineError::Connect {
                target: "x".into(),
                source: protocol()
            }
            .is_transient()
        );
        assert!(EngineError::LockBusy(Duration::from_secs(1)).is_transient());
        assert!(!EngineError::Config("bad".into()).is_transient());
    }
}
