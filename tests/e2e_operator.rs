//! The operator process's plumbing: Lease-based leader election and the /metrics, /healthz,
//! /readyz endpoints, against the emulator or (`SCHEMAGATE_E2E_REAL_CLUSTER=1`, see
//! `e2e_support`) a real cluster, in a namespace of the test's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use std::net::SocketAddr;

use e2e_support::{Env, real_cluster};

use schemagate::controller::leader::Elector;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// Runs the operator in-process; returns its HTTP address (once ready), a stop switch and its
/// task.
async fn spawn_operator(
    client: kube::Client,
    args: schemagate::cli::run::RunArgs,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(async move {
        schemagate::cli::run::operate(
            client,
            &args,
            async {
                let _ = stop_rx.await;
            },
            move |addr| {
                let _ = ready_tx.send(addr);
            },
        )
        .await
        .unwrap();
    });
    (ready_rx.await.unwrap(), stop_tx, operator)
}

#[tokio::test]
async fn only_one_candidate_holds_the_lease_until_it_releases() {
    let env = Env::start_without_operator().await.unwrap();
    let client = env.client.clone();
    let a = Elector::new(client.clone(), &env.ns, "leader", "replica-a");
    let b = Elector::new(client.clone(), &env.ns, "leader", "replica-b");
    assert!(
        a.try_acquire().await.unwrap(),
        "first candidate takes the lease"
    );
    assert!(!b.try_acquire().await.unwrap(), "second one must wait");
    assert!(a.try_acquire().await.unwrap(), "the holder renews");
    assert!(!b.try_acquire().await.unwrap());
    a.release().await;
    assert!(
        b.try_acquire().await.unwrap(),
        "released lease is taken at once"
    );
    assert!(!a.try_acquire().await.unwrap());
    let lease: k8s_openapi::api::coordination::v1::Lease = kube::Api::namespaced(client, &env.ns)
        .get("leader")
        .await
        .unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_readiness_and_metrics_once_leader() {
    // CRDs are installed before the operator starts, as in a real deployment.
    let env = Env::start_without_operator().await.unwrap();
    let client = env.client.clone();
    let ns = env.ns.clone();
    let args = schemagate::cli::run::RunArgs {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        concurrency: 2,
        // All namespaces on the emulator; only the test's own on a shared real cluster.
        watch_namespaces: if real_cluster() {
            vec![ns.clone()]
        } else {
            vec![]
        },
        no_leader_election: false,
        lease_namespace: ns.clone(),
        lease_name: "schemagate-leader".into(),
        identity: Some("only-replica".into()),
        lease_duration_seconds: 15,
        approver_identity: schemagate::cli::run::ApproverIdentity::Optional,
        webhook: schemagate::cli::run::WebhookArgs::default(),
        chat: schemagate::cli::run::ChatArgs::default(),
    };
    let (addr, stop_tx, operator) = spawn_operator(client.clone(), args).await;
    assert!(http_get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    assert!(http_get(addr, "/readyz").await.starts_with("HTTP/1.1 200"));
    // A Project to reconcile, so the counters have a series.
    let project: schemagate::api::Project = serde_json::from_value(serde_json::json!({
        "apiVersion": "schemagate.io/v1alpha1", "kind": "Project",
        "metadata": {"name": "p", "namespace": ns},
        "spec": {"instances": ["db"]}
    }))
    .unwrap();
    kube::Api::<schemagate::api::Project>::namespaced(client.clone(), &ns)
        .create(&Default::default(), &project)
        .await
        .unwrap();
    let expected = "schemagate_reconciles_total{controller=\"project\"}";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let metrics = http_get(addr, "/metrics").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        if metrics.contains(expected) {
            assert!(metrics.contains("schemagate_reconcile_duration_seconds_bucket"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let lease: k8s_openapi::api::coordination::v1::Lease =
        kube::Api::namespaced(client.clone(), &ns)
            .get("schemagate-leader")
            .await
            .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("only-replica")
    );
    stop_tx.send(()).unwrap();
    operator.await.unwrap();
    // Graceful shutdown gives the lease up.
    let lease: k8s_openapi::api::coordination::v1::Lease =
        kube::Api::namespaced(client.clone(), &ns)
            .get("schemagate-leader")
            .await
            .unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_loses_its_lease_stops_and_campaigns_again() {
    use k8s_openapi::api::coordination::v1::Lease;
    let env = Env::start_without_operator().await.unwrap();
    let client = env.client.clone();
    let ns = env.ns.clone();
    let args = schemagate::cli::run::RunArgs {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        concurrency: 2,
        watch_namespaces: vec![ns.clone()],
        no_leader_election: false,
        lease_namespace: ns.clone(),
        lease_name: "schemagate-leader".into(),
        identity: Some("replica-a".into()),
        lease_duration_seconds: 3,
        approver_identity: schemagate::cli::run::ApproverIdentity::Optional,
        webhook: schemagate::cli::run::WebhookArgs::default(),
        chat: schemagate::cli::run::ChatArgs::default(),
    };
    let (addr, stop_tx, operator) = spawn_operator(client.clone(), args).await;
    let leases: kube::Api<Lease> = kube::Api::namespaced(client, &ns);
    let wait_for = |ready: bool| async move {
        let want = if ready {
            "HTTP/1.1 200"
        } else {
            "HTTP/1.1 503"
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !http_get(addr, "/readyz").await.starts_with(want) {
            assert!(
                std::time::Instant::now() < deadline,
                "/readyz never answered {want}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    wait_for(true).await;

    // Another candidate takes the Lease (as after a network partition) and then dies.
    let mut lease = leases.get("schemagate-leader").await.unwrap();
    let spec = lease.spec.as_mut().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
    spec.holder_identity = Some("replica-b".into());
    spec.renew_time = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(
        k8s_openapi::jiff::Timestamp::now(),
    ));
    spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    leases
        .replace("schemagate-leader", &Default::default(), &lease)
        .await
        .unwrap();

    // The old leader notices at its next renewal and stops leading ...
    wait_for(false).await;
    // ... and takes the Lease back once replica-b's has expired.
    wait_for(true).await;
    let spec = leases.get("schemagate-leader").await.unwrap().spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-a"));
    assert_eq!(spec.lease_transitions, Some(2));

    stop_tx.send(()).unwrap();
    operator.await.unwrap();
    let spec = leases.get("schemagate-leader").await.unwrap().spec.unwrap();
    assert_eq!(
        spec.holder_identity, None,
        "a graceful stop releases the Lease"
    );
}

/// Emulator only (a shared real cluster has the CRDs; the real-cluster profile leaves it out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_promptly_even_when_the_crds_are_missing() {
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let client = emu.client().await.unwrap();
    let args = schemagate::cli::run::RunArgs {
        http_addr: "127.0.0.1:0".parse().unwrap(),
        concurrency: 2,
        watch_namespaces: vec![],
        no_leader_election: true,
        lease_namespace: "default".into(),
        lease_name: "schemagate-leader".into(),
        identity: Some("no-crds".into()),
        lease_duration_seconds: 15,
        approver_identity: schemagate::cli::run::ApproverIdentity::Optional,
        webhook: schemagate::cli::run::WebhookArgs::default(),
        chat: schemagate::cli::run::ChatArgs::default(),
    };
    let (_addr, stop_tx, operator) = spawn_operator(client, args).await;
    // Let every watch fail and back off at least once.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    stop_tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), operator)
        .await
        .expect("the operator did not stop within 10 s")
        .unwrap();
}
