//! `DatabaseInstance`: one database server plus one database that schemagate manages.
//!
//! CRD types only: no client calls, no database access.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// The database engine of an instance: the one engine type every layer uses (see
/// [`crate::sqltext::Engine`]), re-exported here because it is a field of the spec.
pub use crate::sqltext::Engine;

/// Specification of a DatabaseInstance.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "schemagate.io",
    version = "v1alpha1",
    kind = "DatabaseInstance",
    plural = "databaseinstances",
    singular = "databaseinstance",
    shortname = "sgdb",
    category = "schemagate",
    namespaced,
    status = "DatabaseInstanceStatus",
    derive = "PartialEq",
    doc = "A database server and database that schemagate reviews changes for, executes them on, \
           snapshots and watches for drift.",
    printcolumn = r#"{"name":"Engine","type":"string","jsonPath":".spec.engine"}"#,
    printcolumn = r#"{"name":"Environment","type":"string","jsonPath":".spec.environment"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.serverVersion","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = kube::core::Rule::new("self.engine == 'sqlite' || has(self.host)").message("host is required for postgres and mysql"))]
#[x_kube(validation = kube::core::Rule::new("self.engine == 'sqlite' || has(self.credentialsSecretRef)").message("credentialsSecretRef is required for postgres and mysql"))]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInstanceSpec {
    /// Database engine: `postgres`, `mysql` (also MariaDB) or `sqlite`.
    pub engine: Engine,
    /// Host name or address of the server. Required for postgres and mysql.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub host: Option<String>,
    /// TCP port. Defaults to 5432 for postgres and 3306 for mysql.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<u16>,
    /// Name of the database (schema, in MySQL terms) to manage. For sqlite, the path of the
    /// database file inside the operator's pod.
    #[schemars(length(min = 1, max = 1024))]
    pub database: String,
    /// Secret in the same namespace holding the credentials (keys `username` and `password` unless
    /// overridden). The operator reads it with `get` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret_ref: Option<CredentialsSecretRef>,
    /// TLS settings for the connection. Defaults to mode `require`.
    #[serde(default)]
    pub tls: TlsSpec,
    /// Free-form environment name such as `dev`, `staging` or `prod`. Projects use it for
    /// auto-approval rules; an instance without one never matches an auto-approval rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub environment: Option<String>,
    /// Connection, lock and statement timeouts.
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Seconds between drift checks (snapshot of the live schema compared with the last recorded
    /// after-snapshot). 0 disables drift detection. Defaults to 600.
    #[serde(default = "default_drift_interval")]
    #[schemars(range(min = 0, max = 604800))]
    pub drift_check_interval_seconds: u32,
}

fn default_drift_interval() -> u32 {
    600
}

/// Reference to the Secret holding the database credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Name of a Secret in the same namespace.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key of the user name in the Secret. Defaults to `username`.
    #[serde(default = "default_username_key")]
    pub username_key: String,
    /// Key of the password in the Secret. Defaults to `password`.
    #[serde(default = "default_password_key")]
    pub password_key: String,
}

fn default_username_key() -> String {
    "username".to_owned()
}

fn default_password_key() -> String {
    "password".to_owned()
}

/// How the connection uses TLS.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plain TCP. Only for local or otherwise protected networks.
    Disable,
    /// Encrypt, without verifying the server certificate.
    #[default]
    Require,
    /// Encrypt and verify the server certificate and host name against the CA.
    VerifyFull,
}

/// TLS settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    /// `disable`, `require` (default) or `verify-full`.
    #[serde(default)]
    pub mode: TlsMode,
    /// Secret key holding the PEM CA bundle used by `verify-full`. The system roots are used when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<SecretKeyRef>,
}

/// A key in a Secret of the same namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Timeouts applied to every session the operator opens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    /// Seconds to wait for a connection. Defaults to 10.
    #[serde(default = "default_connect_timeout")]
    #[schemars(range(min = 1, max = 600))]
    pub connect_seconds: u32,
    /// Seconds a statement may wait for a table lock before it gives up (`lock_timeout`,
    /// `lock_wait_timeout`), so a change never queues behind a long transaction and blocks
    /// production traffic. Defaults to 5.
    #[serde(default = "default_lock_timeout")]
    #[schemars(range(min = 1, max = 3600))]
    pub lock_seconds: u32,
    /// Seconds one statement may run. Defaults to 600.
    #[serde(default = "default_statement_timeout")]
    #[schemars(range(min = 1, max = 86400))]
    pub statement_seconds: u32,
    /// How many times a change that hit the lock timeout is retried (with capped backoff) before
    /// it is reported failed. Defaults to 5.
    #[serde(default = "default_lock_retries")]
    #[schemars(range(min = 0, max = 100))]
    pub lock_retries: u32,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect_seconds: default_connect_timeout(),
            lock_seconds: default_lock_timeout(),
            statement_seconds: default_statement_timeout(),
            lock_retries: default_lock_retries(),
        }
    }
}

fn default_connect_timeout() -> u32 {
    10
}
fn default_lock_timeout() -> u32 {
    5
}
fn default_statement_timeout() -> u32 {
    600
}
fn default_lock_retries() -> u32 {
    5
}

/// Observed state of a DatabaseInstance.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseInstanceStatus {
    /// `Ready` (connected) and `Drifted` (live schema differs from the recorded one).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = kube::core::cel::ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// Version string reported by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// sha256 of the canonical DDL of the last snapshot taken (drift check or change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_snapshot_digest: Option<String>,
    /// When the last drift check ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift_check: Option<String>,
    /// Short lines describing the drift, when `Drifted` is true.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
    /// The generation this status was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
