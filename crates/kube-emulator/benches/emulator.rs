//! Benchmark: 5,000 custom objects with three watchers against the emulator over real HTTP.
//! Reports create throughput, list latency, watch delivery throughput and process RSS.
//! Run with `cargo bench -p kube-emulator`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, PostParams};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::runtime::watcher;
use serde_json::json;

const OBJECTS: usize = 5_000;
const WATCHERS: usize = 3;
const CONCURRENCY: usize = 16;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let client = emu.client().await.unwrap();
    let rss_start = rss_kib();
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "items.bench.example.com"},
        "spec": {"group": "bench.example.com", "scope": "Namespaced",
            "names": {"kind": "Item", "plural": "items", "singular": "item"},
            "versions": [{"name": "v1", "served": true, "storage": true, "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
                    "properties": {"index": {"type": "integer"}, "payload": {"type": "string", "maxLength": 256}}}}}}}]}
    }))
    .unwrap();
    Api::<CustomResourceDefinition>::all(client.clone())
        .create(&PostParams::default(), &crd)
        .await
        .unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("bench.example.com", "v1", "Item"),
        "items",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);

    let delivered = Arc::new(AtomicUsize::new(0));
    let mut watcher_tasks = Vec::new();
    for _ in 0..WATCHERS {
        let w = watcher::watcher(api.clone(), watcher::Config::default());
        let delivered = delivered.clone();
        let mut stream = w.boxed();
        // Wait for the initial (empty) list so every watcher sees all creates.
        loop {
            if let Some(watcher::Event::InitDone) = stream.try_next().await.unwrap() {
                break;
            }
        }
        watcher_tasks.push(tokio::spawn(async move {
            while let Some(ev) = stream.try_next().await.unwrap() {
                if let watcher::Event::Apply(_) = ev {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }

    let started = Instant::now();
    futures::stream::iter(0..OBJECTS)
        .map(|i| {
            let api = api.clone();
            async move {
                let obj: DynamicObject = serde_json::from_value(json!({
                    "apiVersion": "bench.example.com/v1", "kind": "Item",
                    "metadata": {"name": format!("item-{i:05}"), "labels": {"shard": format!("s{}", i % 10)}},
                    "spec": {"index": i, "payload": "x".repeat(200)}
                }))
                .unwrap();
                api.create(&PostParams::default(), &obj).await.unwrap();
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let create_secs = started.elapsed().as_secs_f64();
    while delivered.load(Ordering::Relaxed) < OBJECTS * WATCHERS {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let watch_secs = started.elapsed().as_secs_f64();

    let mut full = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let list = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(list.items.len(), OBJECTS);
        full.push(t.elapsed().as_secs_f64());
    }
    let t = Instant::now();
    let mut pages = 0;
    let mut seen = 0;
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(500);
        if let Some(c) = &token {
            lp = lp.continue_token(c);
        }
        let page = api.list(&lp).await.unwrap();
        pages += 1;
        seen += page.items.len();
        token = page.metadata.continue_.filter(|c| !c.is_empty());
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, OBJECTS);
    let paged_secs = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let shard = api
        .list(&ListParams::default().labels("shard=s3"))
        .await
        .unwrap();
    assert_eq!(shard.items.len(), OBJECTS / 10);
    let selector_secs = t.elapsed().as_secs_f64();
    let rss_end = rss_kib();
    for task in watcher_tasks {
        task.abort();
    }

    let median = {
        full.sort_by(f64::total_cmp);
        full[full.len() / 2]
    };
    println!(
        "kube-emulator benchmark: {OBJECTS} custom objects (~0.5 KiB each), {WATCHERS} kube-rs watchers, {CONCURRENCY} concurrent creators"
    );
    println!(
        "create:            {:>8.0} objects/s  ({create_secs:.2} s total)",
        OBJECTS as f64 / create_secs
    );
    println!(
        "watch delivery:    {:>8.0} events/s   ({} events, all delivered {watch_secs:.2} s after the first create)",
        (OBJECTS * WATCHERS) as f64 / watch_secs,
        OBJECTS * WATCHERS
    );
    println!(
        "list all (median of 5): {:>6.1} ms  ({:.0} objects/s)",
        median * 1000.0,
        OBJECTS as f64 / median
    );
    println!(
        "paginated list (limit=500): {pages} pages in {:.1} ms",
        paged_secs * 1000.0
    );
    println!(
        "label-selector list (500 of 5000): {:.1} ms",
        selector_secs * 1000.0
    );
    println!(
        "RSS (emulator + client in one process): {} MiB at start, {} MiB after",
        rss_start / 1024,
        rss_end / 1024
    );
    emu.shutdown().await;
}
