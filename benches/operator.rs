//! Operator latency: an Approval created → the SchemaChange's status says Applied, for a
//! one-statement change on PostgreSQL, watch-driven end to end (emulator over HTTP, in-process
//! operator, real PostgreSQL). Prints p50/p95/max.
//! Run: `cargo bench --bench operator` (starts a throwaway server unless SCHEMAGATE_TEST_PG_URL
//! is set). `SCHEMAGATE_BENCH_CHANGES` sets the sample size (default 50).
//! `SCHEMAGATE_BENCH_KUBECONFIG=FILE` runs the same bench against that cluster instead of the
//! emulator (e.g. the real control plane of `tests/kube/up DIR`: `DIR/admin.kubeconfig`), in a
//! namespace of its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;
use schemagate::api::{Approval, Phase, SchemaChange};

fn obj<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let samples: usize = std::env::var("SCHEMAGATE_BENCH_CHANGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    if std::env::var("RUST_LOG").is_ok() {
        schemagate::cli::run::init_logging();
    }
    let url = schemagate_testkit::fresh_pg_database().unwrap();
    let (host, port) = schemagate_testkit::host_port(&url).unwrap();
    let database = url.rsplit('/').next().unwrap().to_owned();
    let (client, _emulator, target) = match std::env::var_os("SCHEMAGATE_BENCH_KUBECONFIG") {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(&path).unwrap();
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .unwrap();
            let target = format!("{} ({})", config.cluster_url, path.to_string_lossy());
            (kube::Client::try_from(config).unwrap(), None, target)
        }
        None => {
            let emu = kube_emulator::Emulator::start().await.unwrap();
            (
                emu.client().await.unwrap(),
                Some(emu),
                "the emulator".to_owned(),
            )
        }
    };
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in schemagate::api::crds() {
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("{e}"),
        }
        await_condition(
            crds.clone(),
            crd.metadata.name.as_deref().unwrap(),
            kube::runtime::wait::conditions::is_crd_established(),
        )
        .await
        .unwrap();
    }
    let ns = format!("bench-{}", std::process::id());
    Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &obj(serde_json::json!({"metadata": {"name": ns}})),
        )
        .await
        .unwrap();
    let args = schemagate::cli::run::RunArgs {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        concurrency: 4,
        watch_namespaces: vec![ns.clone()],
        no_leader_election: true,
        lease_namespace: ns.clone(),
        lease_name: "l".into(),
        identity: Some("bench".into()),
        lease_duration_seconds: 15,
        approver_identity: schemagate::cli::run::ApproverIdentity::Optional,
        webhook: schemagate::cli::run::WebhookArgs::default(),
        chat: schemagate::cli::run::ChatArgs::default(),
    };
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let op_client = client.clone();
    tokio::spawn(async move {
        schemagate::cli::run::operate(op_client, &args, std::future::pending(), move |_| {
            let _ = ready_tx.send(());
        })
        .await
        .unwrap();
    });
    ready_rx.await.unwrap();
    let pp = PostParams::default();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(
            &pp,
            &obj(serde_json::json!({
                "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pg"},
                "stringData": {"username": "postgres", "password": "x"}
            })),
        )
        .await
        .unwrap();
    let instances: Api<schemagate::api::DatabaseInstance> = Api::namespaced(client.clone(), &ns);
    instances
        .create(
            &pp,
            &obj(serde_json::json!({
                "apiVersion": "schemagate.io/v1alpha1", "kind": "DatabaseInstance",
                "metadata": {"name": "pg"},
                "spec": {"engine": "postgres", "host": host, "port": port, "database": database,
                         "credentialsSecretRef": {"name": "pg"}, "tls": {"mode": "disable"},
                         "driftCheckIntervalSeconds": 0}
            })),
        )
        .await
        .unwrap();
    let projects: Api<schemagate::api::Project> = Api::namespaced(client.clone(), &ns);
    projects
        .create(
            &pp,
            &obj(serde_json::json!({
                "apiVersion": "schemagate.io/v1alpha1", "kind": "Project",
                "metadata": {"name": "p"}, "spec": {"instances": ["pg"]}
            })),
        )
        .await
        .unwrap();
    let changes: Api<SchemaChange> = Api::namespaced(client.clone(), &ns);
    let approvals: Api<Approval> = Api::namespaced(client.clone(), &ns);
    let phase_is = |p: Phase| {
        move |c: Option<&SchemaChange>| {
            c.and_then(|c| c.status.as_ref()).and_then(|s| s.phase) == Some(p)
        }
    };
    let mut latencies = Vec::with_capacity(samples);
    for i in 1..=samples {
        let name = format!("c{i}");
        changes
            .create(
                &pp,
                &obj(serde_json::json!({
                    "apiVersion": "schemagate.io/v1alpha1", "kind": "SchemaChange",
                    "metadata": {"name": name},
                    "spec": {"projectRef": "p", "instanceRef": "pg", "version": i.to_string(),
                             "sql": format!("CREATE TABLE t{i} (id bigint PRIMARY KEY);")}
                })),
            )
            .await
            .unwrap();
        let held = await_condition(changes.clone(), &name, phase_is(Phase::AwaitingApproval))
            .await
            .unwrap()
            .unwrap();
        let uid = held.metadata.uid.clone().unwrap();
        let digest = held.status.unwrap().sql_digest.unwrap();
        let started = Instant::now();
        approvals
            .create(
                &pp,
                &obj(serde_json::json!({
                    "apiVersion": "schemagate.io/v1alpha1", "kind": "Approval",
                    "metadata": {"name": format!("a{i}")},
                    "spec": {"schemaChangeRef": name, "schemaChangeUid": uid,
                             "sqlDigest": digest, "decision": "approve"}
                })),
            )
            .await
            .unwrap();
        await_condition(changes.clone(), &name, phase_is(Phase::Applied))
            .await
            .unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    println!(
        "approval → Applied on {target}, one-statement change on PostgreSQL, {samples} changes: \
         p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.95).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
}
