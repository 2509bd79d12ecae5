//! Operator at rest with many changes: 5,000 SchemaChanges already applied (their rows are in the
//! target database's history table), then `schemagate run` starts as its own process against the
//! emulator. Reports the initial sync (start → every change's status says Applied, recorded from
//! the history) and the operator process's RSS once idle.
//! Run: `cargo bench --bench operator_idle` (`SCHEMAGATE_BENCH_CHANGES` sets the count, default
//! 5000). Uses a SQLite target so the set-up needs no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use schemagate::api::{Phase, SchemaChange};
use schemagate::engine::{Change, ConnectionConfig, ExecOptions, Executor, Outcome};

fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("SCHEMAGATE_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("target.sqlite");
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    emu.write_kubeconfig(&kubeconfig).unwrap();
    let client = emu.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in schemagate::api::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let pp = PostParams::default();
    let instances: Api<schemagate::api::DatabaseInstance> = Api::default_namespaced(client.clone());
    instances
        .create(
            &pp,
            &obj(serde_json::json!({
                "apiVersion": "schemagate.io/v1alpha1", "kind": "DatabaseInstance",
                "metadata": {"name": "db"},
                "spec": {"engine": "sqlite", "database": db_path, "environment": "dev",
                         "driftCheckIntervalSeconds": 0}
            })),
        )
        .await
        .unwrap();
    let projects: Api<schemagate::api::Project> = Api::default_namespaced(client.clone());
    projects
        .create(
            &pp,
            &obj(serde_json::json!({
                "apiVersion": "schemagate.io/v1alpha1", "kind": "Project",
                "metadata": {"name": "p"}, "spec": {"instances": ["db"]}
            })),
        )
        .await
        .unwrap();

    // The changes, and their history rows written by the executor itself (as a previous
    // operator would have left them).
    let changes: Api<SchemaChange> = Api::default_namespaced(client.clone());
    let created = Instant::now();
    let made: Vec<SchemaChange> = futures::stream::iter(1..=n)
        .map(|i| {
            let changes = changes.clone();
            async move {
                changes
                    .create(
                        &PostParams::default(),
                        &obj(serde_json::json!({
                            "apiVersion": "schemagate.io/v1alpha1", "kind": "SchemaChange",
                            "metadata": {"name": format!("c{i}")},
                            "spec": {"projectRef": "p", "instanceRef": "db",
                                     "version": i.to_string(),
                                     "sql": format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY);")}
                        })),
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap();
    let ex = Executor::new(
        ConnectionConfig::sqlite(&db_path),
        ExecOptions {
            capture_snapshots: false,
            ..ExecOptions::default()
        },
    );
    for c in &made {
        let report = ex
            .execute(&Change {
                uid: c.metadata.uid.clone().unwrap(),
                namespace: "default".into(),
                name: c.metadata.name.clone().unwrap(),
                version: c.spec.version.clone(),
                sql: c.spec.sql.clone().unwrap(),
                approved_by: Some("bench".into()),
                operator: "bench".into(),
            })
            .await
            .unwrap();
        assert_eq!(report.outcome, Outcome::Applied);
    }
    println!(
        "set-up: {n} changes created and recorded in {:.1} s",
        created.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut operator = Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .args(["run", "--http-addr", "127.0.0.1:0", "--no-leader-election"])
        .env("KUBECONFIG", &kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = operator.id();
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let list = changes.list(&ListParams::default()).await.unwrap();
        let applied = list
            .items
            .iter()
            .filter(|c| c.status.as_ref().and_then(|s| s.phase) == Some(Phase::Applied))
            .count();
        if applied == n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {applied} of {n} Applied after 30 min"
        );
        assert!(
            operator.try_wait().unwrap().is_none(),
            "the operator exited"
        );
    }
    let sync = started.elapsed();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss = proc_kib(pid, "VmRSS:");
    let hwm = proc_kib(pid, "VmHWM:");
    let _ = operator.kill();
    let _ = operator.wait();
    println!(
        "{n} applied SchemaChanges: initial sync {:.1} s; operator RSS idle {:.1} MiB, peak {:.1} MiB",
        sync.as_secs_f64(),
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}
