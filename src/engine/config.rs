//! Connection settings for one target database and the sqlx connect options built from them.
//! Holds credentials: nothing here may print the password (redacting `Debug`/`Display`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::sqltext::Engine;

/// A secret string (a password). `Debug` and `Display` print `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value; only for handing to the database driver.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the connection uses TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    #[default]
    Disable,
    /// TLS required, server certificate not verified.
    Require,
    /// TLS required, certificate chain and host name verified against this CA (PEM).
    VerifyFull {
        /// PEM of the CA certificate(s).
        ca_pem: Vec<u8>,
    },
}

/// Timeouts applied to every session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection.
    pub connect: Duration,
    /// Waiting for a table/metadata lock (`lock_timeout` / `lock_wait_timeout` / busy timeout).
    pub lock: Duration,
    /// Any single statement (`statement_timeout` / `max_statement_time`); zero means none.
    pub statement: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            lock: Duration::from_secs(3),
            statement: Duration::from_secs(600),
        }
    }
}

/// Where and how to connect to one target database.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// The engine.
    pub engine: Engine,
    /// Host name or IP (server engines).
    pub host: String,
    /// TCP port (server engines).
    pub port: u16,
    /// Database name (server engines).
    pub database: String,
    /// User name.
    pub username: String,
    /// Password, never printed.
    pub password: Secret,
    /// TLS mode.
    pub tls: TlsMode,
    /// Session timeouts.
    pub timeouts: Timeouts,
    /// The database file (SQLite only).
    pub sqlite_path: Option<PathBuf>,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("engine", &self.engine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("tls", &self.tls_name())
            .field("timeouts", &self.timeouts)
            .field("sqlite_path", &self.sqlite_path)
            .finish()
    }
}

impl fmt::Display for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.engine {
            Engine::Sqlite => write!(
                f,
                "sqlite:{}",
                self.sqlite_path
                    .as_deref()
                    .unwrap_or_else(|| "".as_ref())
                    .display()
            ),
            e => write!(
                f,
                "{e}://{}@{}:{}/{}",
                self.username, self.host, self.port, self.database
            ),
        }
    }
}

impl ConnectionConfig {
    /// A server connection with default timeouts and TLS disabled.
    pub fn server(
        engine: Engine,
        host: impl Into<String>,
        port: u16,
        database: impl Into<String>,
        username: impl Into<String>,
        password: Secret,
    ) -> Self {
        Self {
            engine,
            host: host.into(),
            port,
            database: database.into(),
            username: username.into(),
            password,
            tls: TlsMode::Disable,
            timeouts: Timeouts::default(),
            sqlite_path: None,
        }
    }

    /// A SQLite file (created when missing).
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self {
            engine: Engine::Sqlite,
            host: String::new(),
            port: 0,
            database: String::new(),
            username: String::new(),
            password: Secret::default(),
            tls: TlsMode::Disable,
            timeouts: Timeouts::default(),
            sqlite_path: Some(path.into()),
        }
    }

    fn tls_name(&self) -> &'static str {
        match self.tls {
            TlsMode::Disable => "disable",
            TlsMode::Require => "require",
            TlsMode::VerifyFull { .. } => "verify-full",
        }
    }

    /// Parses a URL (`postgres://user:pass@host:port/db?sslmode=require`, `mysql://…`,
    /// `sqlite:///path` or `sqlite:path`). Errors never echo the URL, which may hold a password.
    pub fn from_url(url: &str) -> Result<Self, super::EngineError> {
        let bad = |what: &str| super::EngineError::Config(format!("invalid database URL: {what}"));
        let (scheme, rest) = url.split_once(':').ok_or_else(|| bad("no scheme"))?;
        let engine: Engine = scheme.parse().map_err(|_| {
            super::EngineError::Config(format!("unknown engine `{}`", scheme.to_ascii_lowercase()))
        })?;
        if engine == Engine::Sqlite {
            let path = rest.trim_start_matches("//");
            let path = path.split('?').next().unwrap_or(path);
            return Ok(Self::sqlite(path));
        }
        let rest = rest
            .strip_prefix("//")
            .ok_or_else(|| bad("expected `//` after the scheme"))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (auth, hostpart) = rest.rsplit_once('@').unwrap_or(("", rest));
        let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
        let (hostport, db) = hostpart.split_once('/').unwrap_or((hostpart, ""));
        let default_port = engine.default_port().unwrap_or_default();
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| bad("port is not a number"))?),
            None => (hostport, default_port),
        };
        let mut cfg = Self::server(
            engine,
            percent_decode(host),
            port,
            percent_decode(db),
            percent_decode(user),
            Secret::new(percent_decode(pass)),
        );
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match (k, v) {
                ("sslmode" | "ssl-mode", "disable" | "DISABLED" | "prefer" | "PREFERRED") => {
                    cfg.tls = TlsMode::Disable;
                }
                ("sslmode" | "ssl-mode", "require" | "REQUIRED") => cfg.tls = TlsMode::Require,
                ("sslrootcert" | "ssl-ca", path) => {
                    let pem = std::fs::read(percent_decode(path)).map_err(|e| {
                        super::EngineError::Config(format!("cannot read CA file: {e}"))
                    })?;
                    cfg.tls = TlsMode::VerifyFull { ca_pem: pem };
                }
                _ => {}
            }
        }
        Ok(cfg)
    }

    pub(crate) fn pg_options(&self) -> sqlx::postgres::PgConnectOptions {
        use sqlx::postgres::{PgConnectOptions, PgSslMode};
        let mut o = PgConnectOptions::new_without_pgpass()
            .host(&self.host)
            .port(self.port)
            .username(&self.username)
            .database(&self.database)
            .application_name("schemagate");
        if !self.password.expose().is_empty() {
            o = o.password(self.password.expose());
        }
        match &self.tls {
            TlsMode::Disable => o.ssl_mode(PgSslMode::Disable),
            TlsMode::Require => o.ssl_mode(PgSslMode::Require),
            TlsMode::VerifyFull { ca_pem } => o
                .ssl_mode(PgSslMode::VerifyFull)
                .ssl_root_cert_from_pem(ca_pem.clone()),
        }
    }

    pub(crate) fn mysql_options(&self) -> sqlx::mysql::MySqlConnectOptions {
        use sqlx::mysql::{MySqlConnectOptions, MySqlSslMode};
        let mut o = MySqlConnectOptions::new()
            .host(&self.host)
            .port(self.port)
            .username(&self.username)
            .database(&self.database)
            .charset("utf8mb4");
        if !self.password.expose().is_empty() {
            o = o.password(self.password.expose());
        }
        match &self.tls {
            TlsMode::Disable => o.ssl_mode(MySqlSslMode::Disabled),
            TlsMode::Require => o.ssl_mode(MySqlSslMode::Required),
            TlsMode::VerifyFull { ca_pem } => o
                .ssl_mode(MySqlSslMode::VerifyIdentity)
                .ssl_ca_from_pem(ca_pem.clone()),
        }
    }

    pub(crate) fn sqlite_options(&self) -> sqlx::sqlite::SqliteConnectOptions {
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(self.sqlite_path.clone().unwrap_or_default())
            .create_if_missing(true)
            .busy_timeout(self.timeouts.lock)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_password() {
        let cfg =
            ConnectionConfig::from_url("postgres://app:canary%21pw@db:5433/shop?sslmode=require")
                .unwrap();
        assert_eq!(cfg.password.expose(), "canary!pw");
        assert_eq!(cfg.port, 5433);
        assert_eq!(cfg.tls, TlsMode::Require);
        for text in [
            format!("{cfg:?}"),
            format!("{cfg}"),
            format!("{:?}", cfg.password),
        ] {
            assert!(!text.contains("canary"), "{text}");
        }
        assert_eq!(cfg.to_string(), "postgres://app@db:5433/shop");
    }

    #[test]
    fn sqlite_urls_name_a_file() {
        let cfg = ConnectionConfig::from_url("sqlite:///tmp/x.db?mode=rwc").unwrap();
        assert_eq!(cfg.sqlite_path.unwrap(), PathBuf::from("/tmp/x.db"));
    }
}
