//! The one engine type of schemagate: which database a target is, and so which SQL dialect its
//! text is in. Every layer uses this enum (the `DatabaseInstance` spec field, the review, the
//! executor, the snapshot model); the conversions that exist (names on the command line and in
//! URLs, the usual port) are here, nowhere else. Plain data: no kube, no sqlx.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A database engine (and its SQL dialect). MariaDB uses `Mysql`. Serialised lowercase
/// (`postgres`, `mysql`, `sqlite`): the `spec.engine` of a DatabaseInstance, the `dialect` of a
/// snapshot and the `--engine` of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL (any maintained version).
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
    /// SQLite; a DatabaseInstance's `database` is the path of the database file as seen by the
    /// operator.
    Sqlite,
}

impl Engine {
    /// The lowercase name used in manifests, URLs and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Sqlite => "sqlite",
        }
    }

    /// The engine's usual TCP port (`None` for SQLite).
    #[must_use]
    pub fn default_port(self) -> Option<u16> {
        match self {
            Engine::Postgres => Some(5432),
            Engine::Mysql => Some(3306),
            Engine::Sqlite => None,
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An engine name that is not postgres, mysql (mariadb) or sqlite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown engine {0:?} (expected postgres, mysql or sqlite)")]
pub struct UnknownEngine(pub String);

impl FromStr for Engine {
    type Err = UnknownEngine;
    /// Case-insensitive; also `postgresql`, `pg`, `mariadb` and `sqlite3`.
    fn from_str(s: &str) -> Result<Self, UnknownEngine> {
        match s.trim().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Engine::Postgres),
            "mysql" | "mariadb" => Ok(Engine::Mysql),
            "sqlite" | "sqlite3" => Ok(Engine::Sqlite),
            _ => Err(UnknownEngine(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
            assert_eq!(engine.as_str().parse::<Engine>(), Ok(engine));
            assert_eq!(
                serde_json::to_string(&engine).ok(),
                Some(format!("\"{engine}\""))
            );
        }
        assert_eq!("MariaDB".parse::<Engine>(), Ok(Engine::Mysql));
        assert_eq!("PostgreSQL".parse::<Engine>(), Ok(Engine::Postgres));
        assert!("oracle".parse::<Engine>().is_err());
        assert_eq!(Engine::Postgres.default_port(), Some(5432));
        assert_eq!(Engine::Sqlite.default_port(), None);
    }
}
