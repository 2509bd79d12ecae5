//! `schemagate dev`: the playground. Starts the Kubernetes API emulator in-process, registers the
//! CRDs, runs the operator against it and against a SQLite file (or `--database URL`), writes a
//! kubeconfig only once everything is ready and prints the kubectl commands to try. Each start
//! begins with an empty SQLite database unless `--keep`; every path it prints is absolute.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use k8s_openapi::api::core::v1::Secret as K8sSecret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::api::database_instance::{
    CredentialsSecretRef, DatabaseInstance, DatabaseInstanceSpec, Engine, Timeouts, TlsMode,
    TlsSpec,
};
use crate::engine::ConnectionConfig;

use super::run::{RunArgs, init_logging, operate, shutdown_signal};

/// Options of `schemagate dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    /// Where to write the kubeconfig for kubectl (written once everything is ready, removed on
    /// exit; printed as an absolute path).
    #[arg(long, default_value = "schemagate-dev.kubeconfig")]
    pub kubeconfig: PathBuf,
    /// A PostgreSQL or MySQL URL to use instead of the embedded SQLite database
    /// (`postgres://user:pass@host:5432/db`). The playground creates the `playground`
    /// DatabaseInstance and its Secret for it.
    #[arg(long)]
    pub database: Option<String>,
    /// The SQLite database file of the playground (relative to the current directory). The
    /// playground creates the `playground` DatabaseInstance for it, with its absolute path. Each
    /// start begins with an empty database: an existing file here is removed (see `--keep`).
    #[arg(long, default_value = "schemagate-dev.sqlite")]
    pub sqlite: PathBuf,
    /// Keep the SQLite database of the last start (its tables and its history of applied
    /// changes) instead of starting empty. The emulated Kubernetes API always starts empty, so
    /// the examples applied again then meet their own history.
    #[arg(long, conflicts_with = "database")]
    pub keep: bool,
    /// Address of the emulated Kubernetes API.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Address of the operator's /metrics, /healthz and /readyz.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub http_addr: SocketAddr,
}

/// Runs `schemagate dev` until ctrl-c.
pub fn run(args: &DevArgs) -> ExitCode {
    init_logging();
    let result = match super::block_on(super::Threads::PerCore, ExitCode::from(2), playground(args))
    {
        Ok(result) => result,
        Err(code) => return code,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn register_crds(client: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crate::api::crds() {
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e).context("registering the CRDs"),
        }
    }
    Ok(())
}

/// The `playground` DatabaseInstance in namespace `default`, in environment `dev`.
async fn create_playground_instance(
    client: &Client,
    engine: Engine,
    location: (Option<String>, Option<u16>, String),
    credentials_secret_ref: Option<CredentialsSecretRef>,
    tls: Option<TlsMode>,
) -> anyhow::Result<()> {
    let (host, port, database) = location;
    let spec = DatabaseInstanceSpec {
        engine,
        host,
        port,
        database,
        credentials_secret_ref,
        // No TLS settings at all for SQLite (none apply): the spec leaves them out.
        tls: tls.map_or_else(TlsSpec::default, |mode| TlsSpec {
            mode,
            ca_secret_ref: None,
        }),
        environment: Some("dev".to_owned()),
        timeouts: Timeouts::default(),
        drift_check_interval_seconds: 600,
    };
    let instances: Api<DatabaseInstance> = Api::namespaced(client.clone(), "default");
    instances
        .create(
            &PostParams::default(),
            &DatabaseInstance::new("playground", spec),
        )
        .await
        .context("creating the playground DatabaseInstance")?;
    Ok(())
}

/// Removes the SQLite database at `path` and its journal files, for a fresh start.
fn remove_sqlite_files(path: &Path) -> anyhow::Result<bool> {
    let mut removed = false;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!(
                        "removing {} for a fresh playground database (--keep reuses it)",
                        PathBuf::from(&name).display()
                    )
                });
            }
        }
    }
    Ok(removed)
}

/// Creates the `playground` DatabaseInstance for the SQLite file at `path` (absolute, so it
/// does not depend on the operator's working directory).
async fn create_sqlite_instance(client: &Client, path: &Path) -> anyhow::Result<()> {
    let location = (None, None, path.to_string_lossy().into_owned());
    create_playground_instance(client, Engine::Sqlite, location, None, None).await
}

/// `path` made absolute against the current directory.
fn absolute(flag: &str, path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path)
        .with_context(|| format!("{flag} {}: cannot make the path absolute", path.display()))
}

/// Creates the `playground` DatabaseInstance and its Secret for a `--database` URL.
async fn create_server_instance(client: &Client, url: &str) -> anyhow::Result<()> {
    let cfg = ConnectionConfig::from_url(url).context("--database")?;
    let engine = cfg.engine;
    let secrets: Api<K8sSecret> = Api::namespaced(client.clone(), "default");
    let secret = K8sSecret {
        metadata: ObjectMeta {
            name: Some("playground-credentials".to_owned()),
            ..ObjectMeta::default()
        },
        string_data: Some(
            [
                ("username".to_owned(), cfg.username.clone()),
                ("password".to_owned(), cfg.password.expose().to_owned()),
            ]
            .into(),
        ),
        ..K8sSecret::default()
    };
    secrets.create(&PostParams::default(), &secret).await?;
    let tls = match cfg.tls {
        crate::engine::TlsMode::Disable => TlsMode::Disable,
        _ => TlsMode::Require,
    };
    let credentials = CredentialsSecretRef {
        name: "playground-credentials".to_owned(),
        username_key: "username".to_owned(),
        password_key: "password".to_owned(),
    };
    let location = (Some(cfg.host.clone()), Some(cfg.port), cfg.database.clone());
    create_playground_instance(client, engine, location, Some(credentials), Some(tls)).await
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The examples directory as the user should type it: absolute when `./examples` exists (the
/// repository root), else as the README names it.
fn examples_dir() -> String {
    match std::path::absolute("examples") {
        Ok(p) if p.is_dir() => format!("{}/", p.display()),
        _ => "examples/".to_owned(),
    }
}

fn instructions(kubeconfig: &Path, http: SocketAddr, database: &str) -> String {
    let k = kubeconfig.display();
    let examples = examples_dir();
    format!(
        r#"
schemagate dev is ready; its `playground` DatabaseInstance is {database}.
You are its one user: each change records you as author and each Approval as approver, so the
example Project allows self-approval (a real cluster's admission webhook records each person).
In another terminal:

  export KUBECONFIG={k}
  kubectl apply -f {examples}   # a project and a change for the playground instance
  kubectl get schemachanges -w          # Reviewing → AwaitingApproval (ctrl-c to stop)
  kubectl describe schemachange add-accounts   # findings, digest, Events

  # approve exactly the SQL that was reviewed, for exactly this object:
  DIGEST=$(kubectl get schemachange add-accounts -o jsonpath='{{.status.sqlDigest}}')
  CHANGE_UID=$(kubectl get schemachange add-accounts -o jsonpath='{{.metadata.uid}}')
  sed -e "s/REPLACE_WITH_DIGEST/$DIGEST/" -e "s/REPLACE_WITH_UID/$CHANGE_UID/" \
    examples/approve/approval.yaml | kubectl apply -f -
  kubectl wait --for=condition=Applied schemachange/add-accounts
  kubectl get schemachange add-accounts -o jsonpath='{{.status.execution}}{{"\n"}}{{.status.snapshots}}{{"\n"}}'

Metrics: http://{http}/metrics   Stop with ctrl-c.
"#
    )
}

async fn playground(args: &DevArgs) -> anyhow::Result<()> {
    let kubeconfig = absolute("--kubeconfig", &args.kubeconfig)?;
    let sqlite = absolute("--sqlite", &args.sqlite)?;
    if args.database.is_none() && !args.keep && remove_sqlite_files(&sqlite)? {
        println!(
            "schemagate dev: starting with an empty database (removed {}; --keep reuses it)",
            sqlite.display()
        );
    }
    let emulator = kube_emulator::Emulator::builder()
        .listen(args.listen)
        .admission_hook(std::sync::Arc::new(super::dev_identity::PlaygroundIdentity))
        .start()
        .await
        .context("starting the Kubernetes API emulator")?;
    let client = emulator.client().await?;
    register_crds(&client).await?;
    let database = match &args.database {
        Some(url) => {
            create_server_instance(&client, url).await?;
            let cfg = ConnectionConfig::from_url(url).context("--database")?;
            format!(
                "{}://{}:{}/{}",
                cfg.engine.as_str(),
                cfg.host,
                cfg.port,
                cfg.database
            )
        }
        None => {
            create_sqlite_instance(&client, &sqlite).await?;
            format!("the SQLite file {}", sqlite.display())
        }
    };
    let run_args = RunArgs {
        http_addr: args.http_addr,
        concurrency: 4,
        watch_namespaces: Vec::new(),
        no_leader_election: true,
        lease_namespace: "default".to_owned(),
        lease_name: "schemagate-leader".to_owned(),
        identity: Some("schemagate-dev".to_owned()),
        lease_duration_seconds: 15,
        // The playground records its one user as author and approver (`dev_identity`).
        approver_identity: super::run::ApproverIdentity::Required,
        webhook: super::run::WebhookArgs::default(),
        chat: super::run::ChatArgs::default(),
    };
    let kubeconfig_yaml = emulator.kubeconfig_yaml();
    let written = std::sync::Mutex::new(None);
    let result = operate(client, &run_args, shutdown_signal(), |http| {
        let outcome = write_atomically(&kubeconfig, &kubeconfig_yaml);
        if outcome.is_ok() {
            println!("{}", instructions(&kubeconfig, http, &database));
        }
        if let Ok(mut w) = written.lock() {
            *w = Some(outcome);
        }
    })
    .await;
    let _ = std::fs::remove_file(&kubeconfig);
    emulator.shutdown().await;
    if let Ok(mut w) = written.lock()
        && let Some(Err(e)) = w.take()
    {
        return Err(e);
    }
    result
}
