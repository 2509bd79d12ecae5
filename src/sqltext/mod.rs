//! SQL text handling shared by `review` and `engine`: the statement splitter and the guards that
//! both the reviewer and the executor apply (transaction control, NUL bytes, MySQL executable
//! comments). Pure text work on `&str`: it must import nothing from `review`, `engine`,
//! `controller`, kube or sqlx, so that executing never depends on reviewing and both see the
//! same statements.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod guard;
mod lex;
pub mod split;

/// The SQL dialect family of a database. MariaDB uses `Mysql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
    /// SQLite.
    Sqlite,
}

impl Engine {
    /// The lowercase name (`postgres`, `mysql`, `sqlite`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Sqlite => "sqlite",
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
    fn from_str(s: &str) -> Result<Self, UnknownEngine> {
        match s.trim().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Engine::Postgres),
            "mysql" | "mariadb" => Ok(Engine::Mysql),
            "sqlite" | "sqlite3" => Ok(Engine::Sqlite),
            _ => Err(UnknownEngine(s.to_owned())),
        }
    }
}

/// The 1-based line and 0-based column (in characters) of byte `offset` in `text`, counting
/// from a known position: `start` is (line, column) of `text`'s first byte.
#[must_use]
pub fn advance(start: (usize, usize), text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    match before.rfind('\n') {
        Some(nl) => (
            start.0 + before.matches('\n').count(),
            before[nl + 1..].chars().count(),
        ),
        None => (start.0, start.1 + before.chars().count()),
    }
}

/// The 1-based line and 0-based column (in characters) of byte `offset` in `text`.
#[must_use]
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    advance((1, 0), text, offset)
}

#[cfg(test)]
mod tests {
    /// `sqltext` is the leaf that `review` and `engine` share: it may use neither of them, nor
    /// the layers above, nor kube or sqlx.
    #[test]
    fn imports_nothing_from_other_layers() {
        let sources = [
            ("mod.rs", include_str!("mod.rs")),
            ("lex.rs", include_str!("lex.rs")),
            ("split.rs", include_str!("split.rs")),
            ("guard.rs", include_str!("guard.rs")),
            ("guard_tests.rs", include_str!("guard_tests.rs")),
        ];
        let forbidden: Vec<String> = [
            "review",
            "engine",
            "controller",
            "workflow",
            "snapshot",
            "api",
            "cli",
        ]
        .iter()
        .map(|m| ["crate::", m].concat())
        .chain(["kube", "sqlx"].iter().map(|c| [c, "::"].concat()))
        .collect();
        for (file, text) in sources {
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for f in &forbidden {
                    assert!(
                        !line.contains(f.as_str()),
                        "sqltext/{file} uses {f}: {line}"
                    );
                }
            }
        }
    }
}
