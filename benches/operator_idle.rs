//! Operator at rest with many changes: N SchemaChanges (default 5,000) spread over M SQLite
//! databases (default 50), every one already applied — its history row, with both snapshots,
//! written by the executor as an earlier operator would have left it. Then `schemagate run`
//! starts as its own process against the emulator, twice:
//!
//! 1. first sync: no change has a status yet; the operator records each one Applied from the
//!    history (with its snapshots and diff in status);
//! 2. restart: a second operator process starts over the same, now fully reported, objects; it
//!    must reconcile all of them and write nothing.
//!
//! Reports both sync times, the history reads, and each process's RSS once idle (and peak).
//! The baseline is a bare kube-rs reflector in this process listing and watching the same N
//! objects: the floor for anything that caches them.
//!
//! Run: `cargo bench --bench operator_idle` (`SCHEMAGATE_BENCH_CHANGES`,
//! `SCHEMAGATE_BENCH_INSTANCES` set the sizes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use schemagate::api::{Phase, SchemaChange};
use schemagate::engine::{Change, ConnectionConfig, ExecOptions, Executor, Outcome};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A free local port for the operator's HTTP server (so the bench can read its metrics).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of one un-labelled or labelled series in the operator's /metrics, 0 when absent
/// or unreachable (still starting).
async fn metric(port: u16, series: &str) -> f64 {
    let Ok(mut conn) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return 0.0;
    };
    let request = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if conn.write_all(request.as_bytes()).await.is_err() {
        return 0.0;
    }
    let mut body = String::new();
    let _ = conn.read_to_string(&mut body).await;
    body.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn start_operator(kubeconfig: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .args([
            "run",
            "--http-addr",
            &format!("127.0.0.1:{port}"),
            "--no-leader-election",
        ])
        .env("KUBECONFIG", kubeconfig)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

struct Idle {
    rss: u64,
    hwm: u64,
}

/// Lets the operator settle, then reads its memory and stops it.
async fn idle_and_stop(mut operator: Child) -> Idle {
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pid = operator.id();
    let idle = Idle {
        rss: proc_kib(pid, "VmRSS:"),
        hwm: proc_kib(pid, "VmHWM:"),
    };
    let _ = operator.kill();
    let _ = operator.wait();
    idle
}

const RECONCILES: &str = "schemagate_reconciles_total{controller=\"schemachange\"} ";
const HISTORY_READS: &str = "schemagate_history_reads_total ";
const STATUS_WRITES: &str = "schemagate_status_writes_total{kind=\"SchemaChange\"} ";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_usize("SCHEMAGATE_BENCH_CHANGES", 5000);
    let m = env_usize("SCHEMAGATE_BENCH_INSTANCES", 50).clamp(1, n);
    let dir = tempfile::tempdir().unwrap();
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    emu.write_kubeconfig(&kubeconfig).unwrap();
    let client = emu.client().await.unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in schemagate::api::crds() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let pp = PostParams::default();
    let db_path = |k: usize| dir.path().join(format!("db{k}.sqlite"));
    let instances: Api<schemagate::api::DatabaseInstance> = Api::default_namespaced(client.clone());
    for k in 0..m {
        instances
            .create(
                &pp,
                &obj(serde_json::json!({
                    "apiVersion": "schemagate.io/v1alpha1", "kind": "DatabaseInstance",
                    "metadata": {"name": format!("db{k}")},
                    "spec": {"engine": "sqlite", "database": db_path(k), "environment": "dev",
                             "driftCheckIntervalSeconds": 0}
                })),
            )
            .await
            .unwrap();
    }
    let projects: Api<schemagate::api::Project> = Api::default_namespaced(client.clone());
    let names: Vec<String> = (0..m).map(|k| format!("db{k}")).collect();
    projects
        .create(
            &pp,
            &obj(serde_json::json!({
                "apiVersion": "schemagate.io/v1alpha1", "kind": "Project",
                "metadata": {"name": "p"}, "spec": {"instances": names}
            })),
        )
        .await
        .unwrap();

    // The changes (change i targets database i % m), and their history rows with snapshots,
    // written by the executor itself, one database at a time in version order.
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
                            "spec": {"projectRef": "p", "instanceRef": format!("db{}", i % m),
                                     "version": i.to_string(),
                                     "sql": format!(
                                         "CREATE TABLE t{i} (id INTEGER PRIMARY KEY, \
                                          name TEXT NOT NULL, created_at TEXT);")}
                        })),
                    )
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap();
    let mut per_db: HashMap<usize, Vec<&SchemaChange>> = HashMap::new();
    for c in &made {
        let i: usize = c.spec.version.parse().unwrap();
        per_db.entry(i % m).or_default().push(c);
    }
    futures::stream::iter(per_db)
        .for_each_concurrent(4, |(k, mut list)| {
            let path = db_path(k);
            async move {
                list.sort_by_key(|c| c.spec.version.parse::<usize>().unwrap());
                let ex = Executor::new(ConnectionConfig::sqlite(&path), ExecOptions::default());
                for c in list {
                    let report = ex
                        .execute(&Change {
                            uid: c.metadata.uid.clone().unwrap(),
                            namespace: "default".into(),
                            name: c.metadata.name.clone().unwrap(),
                            version: c.spec.version.clone(),
                            sql: c.spec.sql.clone().unwrap(),
                            approved_by: Some("bench".into()),
                            author: None,
                            operator: "bench".into(),
                            transaction_mode: schemagate::engine::TransactionMode::Auto,
                        })
                        .await
                        .unwrap();
                    assert_eq!(report.outcome, Outcome::Applied);
                }
            }
        })
        .await;
    println!(
        "set-up: {n} changes on {m} databases created and recorded (with snapshots) in {:.1} s",
        created.elapsed().as_secs_f64()
    );

    // Baseline: a bare reflector over the same objects (list + watch until the cache is full).
    let started = Instant::now();
    let (reader, writer) = reflector::store::<SchemaChange>();
    let feed = tokio::spawn(
        reflector(writer, watcher(changes.clone(), watcher::Config::default()))
            .applied_objects()
            .for_each(|_| futures::future::ready(())),
    );
    reader.wait_until_ready().await.unwrap();
    let reflector_sync = started.elapsed();
    assert_eq!(reader.len(), n);
    feed.abort();
    drop(reader);

    // 1. First sync: every change recorded Applied from the history.
    let port = free_port();
    let started = Instant::now();
    let operator = start_operator(&kubeconfig, port);
    let mut phases: HashMap<String, bool> = HashMap::new();
    let mut applied = 0usize;
    let mut events = watcher(changes.clone(), watcher::Config::default())
        .applied_objects()
        .boxed();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1800);
    while applied < n {
        let c = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("only {applied} of {n} Applied after 30 min"))
            .unwrap()
            .unwrap();
        let is_applied = c.status.as_ref().and_then(|s| s.phase) == Some(Phase::Applied)
            && c.status
                .as_ref()
                .and_then(|s| s.snapshots.as_ref())
                .is_some();
        let was = phases.insert(c.metadata.name.clone().unwrap(), is_applied);
        match (was.unwrap_or(false), is_applied) {
            (false, true) => applied += 1,
            (true, false) => applied -= 1,
            _ => {}
        }
    }
    drop(events);
    let first_sync = started.elapsed();
    let first_reads = metric(port, HISTORY_READS).await;
    let first = idle_and_stop(operator).await;

    // 2. Restart over the reported objects: reconcile all, write nothing.
    let port = free_port();
    let started = Instant::now();
    let operator = start_operator(&kubeconfig, port);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if metric(port, RECONCILES).await >= n as f64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "the restarted operator did not reconcile {n} changes in 30 min"
        );
    }
    let restart_sync = started.elapsed();
    let restart_reads = metric(port, HISTORY_READS).await;
    let restart_writes = metric(port, STATUS_WRITES).await;
    let second = idle_and_stop(operator).await;

    println!(
        "baseline: a bare reflector lists and caches the {n} changes in {:.2} s",
        reflector_sync.as_secs_f64()
    );
    println!(
        "first sync ({n} changes recorded Applied): {:.1} s = {:.1}x the reflector; \
         {first_reads} history reads; RSS idle {:.1} MiB, peak {:.1} MiB",
        first_sync.as_secs_f64(),
        first_sync.as_secs_f64() / reflector_sync.as_secs_f64(),
        mib(first.rss),
        mib(first.hwm)
    );
    println!(
        "restart ({n} changes reconciled, {restart_writes} status writes): {:.1} s = {:.1}x the \
         reflector; {restart_reads} history reads; RSS idle {:.1} MiB, peak {:.1} MiB",
        restart_sync.as_secs_f64(),
        restart_sync.as_secs_f64() / reflector_sync.as_secs_f64(),
        mib(second.rss),
        mib(second.hwm)
    );
}
