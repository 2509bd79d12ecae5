//! DatabaseInstance spec + its Secret → `engine::ConnectionConfig`, and the `Ready` reason for
//! a failure to resolve or connect. Reads Secrets with `get` only; never logs their values.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret as K8sSecret;
use kube::{Api, Client};

use crate::api::conditions::reasons;
use crate::api::database_instance::{DatabaseInstance, Engine, TlsMode as ApiTlsMode};
use crate::engine::{ConnectionConfig, EngineError, Secret, Timeouts, TlsMode};

/// Why an instance's connection settings could not be built or used. Messages never contain
/// credentials.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The credentials Secret does not exist.
    #[error("Secret {0} not found in this namespace")]
    SecretNotFound(String),
    /// The Secret lacks a key or holds non-UTF-8 data.
    #[error("Secret {secret} has no usable key {key}")]
    SecretInvalid {
        /// Secret name.
        secret: String,
        /// The missing key.
        key: String,
    },
    /// Reading the Secret failed for another reason.
    #[error("reading Secret {secret} failed")]
    Kube {
        /// Secret name.
        secret: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Connecting failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ConnectionError {
    /// The `Ready=False` reason for this failure.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::SecretNotFound(_) => reasons::SECRET_NOT_FOUND,
            Self::SecretInvalid { .. } => reasons::SECRET_INVALID,
            Self::Kube { .. } => reasons::UNREACHABLE,
            Self::Engine(e) => engine_reason(e),
        }
    }
}

/// Whether the database refused an operation for lack of privilege: SQLSTATE 42501 on
/// PostgreSQL, errors 1044 (database), 1142 (table) and 1227 on MySQL/MariaDB, SQLite cannot.
fn permission_denied(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = e else {
        return false;
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    code == "42501"
        || db
            .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
            .is_some_and(|m| matches!(m.number(), 1044 | 1142 | 1227))
}

/// `AuthFailed`, `TlsFailed`, `PermissionDenied` or `Unreachable` for a connection error.
fn engine_reason(e: &EngineError) -> &'static str {
    match e {
        EngineError::Session(source)
        | EngineError::History(source)
        | EngineError::Introspect(source)
            if permission_denied(source) =>
        {
            reasons::PERMISSION_DENIED
        }
        EngineError::Connect { source, .. } if permission_denied(source) => {
            reasons::PERMISSION_DENIED
        }
        EngineError::Connect { source, .. } => match source {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // PostgreSQL 28xxx: invalid authorization; MySQL 1045: access denied.
                if code.starts_with("28")
                    || db.message().contains("Access denied")
                    || db.message().contains("password authentication failed")
                {
                    reasons::AUTH_FAILED
                } else {
                    reasons::UNREACHABLE
                }
            }
            sqlx::Error::Tls(_) => reasons::TLS_FAILED,
            _ => reasons::UNREACHABLE,
        },
        _ => reasons::UNREACHABLE,
    }
}

fn secret_value(
    secret: &K8sSecret,
    secret_name: &str,
    key: &str,
) -> Result<Vec<u8>, ConnectionError> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|s| s.as_bytes().to_vec())
        })
        .ok_or_else(|| ConnectionError::SecretInvalid {
            secret: secret_name.to_owned(),
            key: key.to_owned(),
        })
}

async fn get_secret(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<K8sSecret, ConnectionError> {
    let api: Api<K8sSecret> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await {
        Ok(Some(secret)) => Ok(secret),
        Ok(None) => Err(ConnectionError::SecretNotFound(name.to_owned())),
        Err(source) => Err(ConnectionError::Kube {
            secret: name.to_owned(),
            source,
        }),
    }
}

fn utf8(bytes: Vec<u8>, secret: &str, key: &str) -> Result<String, ConnectionError> {
    String::from_utf8(bytes).map_err(|_| ConnectionError::SecretInvalid {
        secret: secret.to_owned(),
        key: key.to_owned(),
    })
}

/// Builds the connection settings of `instance` (in `namespace`), reading its Secrets.
pub async fn resolve(
    client: &Client,
    namespace: &str,
    instance: &DatabaseInstance,
) -> Result<ConnectionConfig, ConnectionError> {
    let spec = &instance.spec;
    let timeouts = Timeouts {
        connect: Duration::from_secs(u64::from(spec.timeouts.connect_seconds)),
        lock: Duration::from_secs(u64::from(spec.timeouts.lock_seconds)),
        statement: Duration::from_secs(u64::from(spec.timeouts.statement_seconds)),
    };
    if spec.engine == Engine::Sqlite {
        let mut cfg = ConnectionConfig::sqlite(&spec.database);
        cfg.timeouts = timeouts;
        return Ok(cfg);
    }
    let (username, password) = match &spec.credentials_secret_ref {
        Some(r) => {
            let secret = get_secret(client, namespace, &r.name).await?;
            let user = utf8(
                secret_value(&secret, &r.name, &r.username_key)?,
                &r.name,
                &r.username_key,
            )?;
            let pass = utf8(
                secret_value(&secret, &r.name, &r.password_key)?,
                &r.name,
                &r.password_key,
            )?;
            (user, Secret::new(pass))
        }
        None => (String::new(), Secret::default()),
    };
    let tls = match spec.tls.mode {
        ApiTlsMode::Disable => TlsMode::Disable,
        ApiTlsMode::Require => TlsMode::Require,
        ApiTlsMode::VerifyFull => {
            let ca_pem = match &spec.tls.ca_secret_ref {
                Some(r) => {
                    let secret = get_secret(client, namespace, &r.name).await?;
                    secret_value(&secret, &r.name, &r.key)?
                }
                None => Vec::new(),
            };
            TlsMode::VerifyFull { ca_pem }
        }
    };
    let port = spec
        .port
        .or_else(|| spec.engine.default_port())
        .unwrap_or_default();
    let mut cfg = ConnectionConfig::server(
        spec.engine,
        spec.host.clone().unwrap_or_default(),
        port,
        spec.database.clone(),
        username,
        password,
    );
    cfg.tls = tls;
    cfg.timeouts = timeouts;
    Ok(cfg)
}
