//! End-to-end harness: a Kubernetes API (the in-process emulator by default, or a real cluster
//! when `SCHEMAGATE_E2E_REAL_CLUSTER=1` and `KUBECONFIG` are set), the operator running
//! in-process against it with captured logs, a fresh namespace, and `kubectl` helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub mod receiver;

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// Everything the operator logged in this test process.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("schemagate=debug,info"))
            .with_writer(move || Captured(writer.clone()))
            .try_init();
        buf
    })
    .clone()
}

/// The API server, the operator and a namespace for one test.
pub struct Env {
    /// Kubeconfig file for kubectl.
    pub kubeconfig: PathBuf,
    /// The test's namespace.
    pub ns: String,
    /// A client.
    pub client: Client,
    _dir: tempfile::TempDir,
    _emulator: Option<kube_emulator::EmulatorHandle>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    operator: Option<tokio::task::JoinHandle<()>>,
    /// The in-process operator's /metrics address, once it serves.
    http_addr: Arc<Mutex<Option<std::net::SocketAddr>>>,
}

/// Whether the tests run against a real cluster (`SCHEMAGATE_E2E_REAL_CLUSTER=1`).
pub fn real_cluster() -> bool {
    std::env::var("SCHEMAGATE_E2E_REAL_CLUSTER").is_ok_and(|v| v == "1")
}

impl Env {
    /// Starts the API (emulator unless opted out), installs the CRDs, creates a namespace and
    /// starts the operator watching it.
    pub async fn start() -> Result<Self> {
        let mut env = Self::start_without_operator().await?;
        env.start_operator();
        Ok(env)
    }

    /// Like [`Env::start`] without an operator (tests start operator processes themselves).
    pub async fn start_without_operator() -> Result<Self> {
        let _ = capture_logs();
        let dir = tempfile::tempdir()?;
        let (client, kubeconfig, emulator) = if real_cluster() {
            let path = PathBuf::from(std::env::var("KUBECONFIG").context("KUBECONFIG")?);
            (Client::try_default().await?, path, None)
        } else {
            let emu = kube_emulator::Emulator::start().await?;
            let path = dir.path().join("kubeconfig");
            emu.write_kubeconfig(&path)?;
            (emu.client().await?, path, Some(emu))
        };
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in schemagate::api::crds() {
            match crds.create(&PostParams::default(), &crd).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {}
                Err(e) => return Err(e.into()),
            }
        }
        let ns = format!(
            "e2e-{}",
            schemagate_testkit::unique_name("n").replace('_', "-")
        );
        let namespaces: Api<Namespace> = Api::all(client.clone());
        namespaces
            .create(
                &PostParams::default(),
                &Namespace {
                    metadata: ObjectMeta {
                        name: Some(ns.clone()),
                        ..ObjectMeta::default()
                    },
                    ..Namespace::default()
                },
            )
            .await?;
        Ok(Self {
            kubeconfig,
            ns,
            client,
            _dir: dir,
            _emulator: emulator,
            stop: None,
            operator: None,
            http_addr: Arc::default(),
        })
    }

    /// Starts the in-process operator (again, after [`Env::stop_operator`]).
    pub fn start_operator(&mut self) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let args = schemagate::cli::run::RunArgs {
            http_addr: "127.0.0.1:0".parse().unwrap(),
            concurrency: 4,
            watch_namespaces: vec![self.ns.clone()],
            no_leader_election: true,
            lease_namespace: self.ns.clone(),
            lease_name: "schemagate-leader".into(),
            identity: Some("e2e-operator".into()),
            lease_duration_seconds: 15,
            approver_identity: schemagate::cli::run::ApproverIdentity::Optional,
            webhook: schemagate::cli::run::WebhookArgs::default(),
            chat: schemagate::cli::run::ChatArgs::default(),
        };
        let client = self.client.clone();
        let http_addr = self.http_addr.clone();
        self.operator = Some(tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            schemagate::cli::run::operate(client, &args, shutdown, move |addr| {
                *http_addr.lock().unwrap() = Some(addr);
            })
            .await
            .unwrap();
        }));
        self.stop = Some(stop);
    }

    /// `schemagate run` as a child process watching the test namespace (logs to `log`).
    pub fn spawn_operator_process(
        &self,
        identity: &str,
        log: &std::path::Path,
    ) -> Result<std::process::Child> {
        let log = std::fs::File::create(log)?;
        Ok(Command::new(env!("CARGO_BIN_EXE_schemagate"))
            .args(["run", "--no-leader-election", "--http-addr", "127.0.0.1:0"])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("SCHEMAGATE_WATCH_NAMESPACES", &self.ns)
            .env("POD_NAME", identity)
            .env("SCHEMAGATE_APPROVER_IDENTITY", "optional")
            .env("RUST_LOG", "schemagate=debug,info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?)
    }

    /// [`Env::spawn_operator_process`], killed with SIGKILL when dropped.
    pub fn operator_process(&self, identity: &str, log: &std::path::Path) -> OperatorProcess {
        OperatorProcess(self.spawn_operator_process(identity, log).unwrap())
    }

    /// Stops the operator gracefully.
    pub async fn stop_operator(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.operator.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
    }

    /// The in-process operator's Prometheus text (/metrics).
    pub async fn metrics(&self) -> Result<String> {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = (*self.http_addr.lock().unwrap()).context("the operator is not serving yet")?;
        let mut conn = tokio::net::TcpStream::connect(addr).await?;
        conn.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut body = String::new();
        conn.read_to_string(&mut body).await?;
        Ok(body)
    }

    /// The sum of every series of a metric family whose labels contain `labels` (e.g.
    /// `controller="databaseinstance"`; empty for all), 0 when there is none yet.
    pub async fn metric_sum(&self, family: &str, labels: &str) -> Result<f64> {
        Ok(self
            .metrics()
            .await?
            .lines()
            .filter(|l| {
                l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} "))
            })
            .filter(|l| l.contains(labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum())
    }

    /// Everything logged so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&capture_logs().lock().unwrap()).into_owned()
    }

    /// `kubectl apply -f -` of a manifest (run on a blocking thread).
    pub async fn apply(&self, manifest: &str) -> Result<String> {
        let (cfg, ns, manifest) = (
            self.kubeconfig.clone(),
            self.ns.clone(),
            manifest.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            let env = KubectlOnly {
                kubeconfig: cfg,
                ns,
            };
            env.run(&["apply", "-f", "-"], Some(&manifest))
        })
        .await?
    }

    /// `kubectl wait` (blocking thread).
    pub async fn wait(&self, what: &str, condition: &str) -> Result<String> {
        self.kubectl_async(&["wait", what, &format!("--for={condition}"), "--timeout=90s"])
            .await
    }

    /// kubectl on a blocking thread.
    pub async fn kubectl_async(&self, args: &[&str]) -> Result<String> {
        let (cfg, ns) = (self.kubeconfig.clone(), self.ns.clone());
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let env = KubectlOnly {
                kubeconfig: cfg,
                ns,
            };
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            env.run(&refs, None)
        })
        .await?
    }

    /// An object as JSON.
    pub async fn get_json(&self, what: &str) -> Result<serde_json::Value> {
        Ok(serde_json::from_str(
            &self.kubectl_async(&["get", what, "-o", "json"]).await?,
        )?)
    }

    /// Waits (watch-driven via kubectl) until `jsonpath` of `what` equals `value`.
    pub async fn wait_jsonpath(&self, what: &str, jsonpath: &str, value: &str) -> Result<String> {
        self.wait(what, &format!("jsonpath={jsonpath}={value}"))
            .await
    }
}

struct KubectlOnly {
    kubeconfig: PathBuf,
    ns: String,
}

impl KubectlOnly {
    fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let mut child = Command::new("kubectl")
            .env("KUBECONFIG", &self.kubeconfig)
            .arg("-n")
            .arg(&self.ns)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("running kubectl")?;
        if let Some(text) = stdin {
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
        }
        drop(child.stdin.take());
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

/// A `schemagate run` child process, killed (SIGKILL: no chance to clean up) when dropped.
pub struct OperatorProcess(pub std::process::Child);

impl OperatorProcess {
    /// `kill -9`, and waits for the process to be gone.
    pub fn kill_9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A database for one test (PostgreSQL unless made with `fresh_mysql`): host, port and
/// database name from the testkit.
pub struct PgTarget {
    /// `postgres` or `mysql`.
    pub engine: &'static str,
    /// User name.
    pub user: String,
    /// URL (superuser, no password: the testkit server trusts local connections).
    pub url: String,
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database name.
    pub database: String,
}

impl PgTarget {
    /// A fresh database on the shared server.
    pub fn fresh() -> Result<Self> {
        let url = schemagate_testkit::fresh_pg_database()?;
        let (host, port) = schemagate_testkit::host_port(&url)?;
        let database = url.rsplit('/').next().unwrap_or_default().to_owned();
        Ok(Self {
            engine: "postgres",
            user: "postgres".into(),
            url,
            host,
            port,
            database,
        })
    }

    /// A fresh database on the shared MariaDB server.
    pub fn fresh_mysql() -> Result<Self> {
        let url = schemagate_testkit::fresh_mysql_database()?;
        let (host, port) = schemagate_testkit::host_port(&url)?;
        let database = url.rsplit('/').next().unwrap_or_default().to_owned();
        Ok(Self {
            engine: "mysql",
            user: "root".into(),
            url,
            host,
            port,
            database,
        })
    }

    /// Runs SQL through psql (or the mariadb client) and returns its output.
    pub fn psql(&self, sql: &str) -> Result<String> {
        if self.engine == "mysql" {
            return schemagate_testkit::mariadb(&self.url, Some(&self.database), sql);
        }
        schemagate_testkit::psql(&self.url, sql)
    }

    /// Waits (up to 60 s) until `count_sql` (a `SELECT count(*)` of the server's sessions)
    /// is not 0: a statement of a running change is inside the database.
    pub async fn wait_until_running(&self, count_sql: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.psql(count_sql).unwrap().trim() == "0" {
            assert!(
                std::time::Instant::now() < deadline,
                "the change never got there: {count_sql}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Secret + DatabaseInstance + Project manifests for this database.
    pub fn base_manifests(&self, password: &str) -> String {
        format!(
            r#"apiVersion: v1
kind: Secret
metadata:
  name: pg-credentials
stringData:
  username: {user}
  password: "{password}"
---
apiVersion: schemagate.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: pg
spec:
  engine: {engine}
  host: "{host}"
  port: {port}
  database: "{database}"
  credentialsSecretRef:
    name: pg-credentials
  tls:
    mode: disable
  environment: prod
---
apiVersion: schemagate.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  instances: [pg]
  review:
    preset: default
"#,
            engine = self.engine,
            user = self.user,
            host = self.host,
            port = self.port,
            database = self.database,
        )
    }
}

/// The condition of type `kind` in an object's JSON (`status.conditions`); panics when absent.
pub fn condition<'a>(object: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == kind))
        .unwrap_or_else(|| panic!("no {kind} condition: {object:#}"))
}

/// A SchemaChange manifest.
pub fn change(name: &str, version: &str, sql: &str) -> String {
    let sql = sql.replace('\n', "\n    ");
    format!(
        r#"apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: {name}
spec:
  projectRef: shop
  instanceRef: pg
  version: "{version}"
  sql: |
    {sql}
"#
    )
}

/// What an Approval quotes of a reviewed change: its SQL digest and its uid.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// `status.sqlDigest`.
    pub digest: String,
    /// `metadata.uid`.
    pub uid: String,
}

impl Reviewed {
    /// Reads them from a SchemaChange as JSON.
    pub fn of(change: &serde_json::Value) -> Self {
        Self {
            digest: change["status"]["sqlDigest"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            uid: change["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

impl Env {
    /// Waits until `name` awaits approval and returns what an Approval must quote.
    pub async fn reviewed(&self, name: &str) -> Result<Reviewed> {
        self.wait_jsonpath(
            &format!("schemachange/{name}"),
            "{.status.phase}",
            "AwaitingApproval",
        )
        .await?;
        Ok(Reviewed::of(
            &self.get_json(&format!("schemachange/{name}")).await?,
        ))
    }
}

/// An Approval manifest bound to the reviewed change (digest and uid).
pub fn approval(name: &str, change: &str, reviewed: &Reviewed, decision: &str) -> String {
    format!(
        r#"apiVersion: schemagate.io/v1alpha1
kind: Approval
metadata:
  name: {name}
spec:
  schemaChangeRef: {change}
  schemaChangeUid: "{uid}"
  sqlDigest: "{digest}"
  decision: {decision}
"#,
        uid = reviewed.uid,
        digest = reviewed.digest,
    )
}
