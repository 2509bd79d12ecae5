//! Raw watch semantics: replay from a resourceVersion, 410 Gone, bookmarks, timeouts and
//! streaming lists.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

use crate::common::*;

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

/// Reads raw watch lines from `path` until `n` lines arrived or the stream ends.
async fn raw_watch(t: &Target, path: &str, n: usize) -> Vec<Value> {
    let req = http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Vec::new())
        .unwrap();
    let resp = t
        .client
        .send(req.map(kube::client::Body::from))
        .await
        .unwrap();
    let mut body = http_body_util::BodyDataStream::new(resp.into_body());
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let read = async {
        while out.len() < n {
            let Some(chunk) = body.next().await else {
                break;
            };
            buf.extend_from_slice(&chunk.unwrap());
            while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=pos).collect();
                let event = serde_json::from_slice::<Value>(&line).unwrap();
                // A real cluster publishes this ConfigMap in every namespace; tests ignore it.
                if event["object"]["metadata"]["name"] != "kube-root-ca.crt" {
                    out.push(event);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .unwrap();
    out.truncate(n);
    out
}

#[tokio::test]
async fn watch_replays_from_resource_version_in_order() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    let first = cms.create(&PostParams::default(), &cm("a")).await.unwrap();
    cms.create(&PostParams::default(), &cm("b")).await.unwrap();
    cms.delete("a", &Default::default()).await.unwrap();
    let stream = cms
        .watch(
            &WatchParams::default().timeout(10),
            &first.resource_version().unwrap(),
        )
        .await
        .unwrap();
    let events: Vec<WatchEvent<ConfigMap>> =
        tokio::time::timeout(Duration::from_secs(30), stream.take(2).try_collect())
            .await
            .unwrap()
            .unwrap();
    match (&events[0], &events[1]) {
        (WatchEvent::Added(b), WatchEvent::Deleted(a)) => {
            assert_eq!(b.name_any(), "b");
            assert_eq!(a.name_any(), "a");
        }
        other => panic!("unexpected events {other:?}"),
    }
    t.cleanup().await;
}

#[tokio::test]
async fn watch_from_compacted_resource_version_gets_410() {
    let t = Target::with(kube_emulator::Emulator::builder().history_limit(20)).await;
    if t.real {
        // A real cluster compacts on its own schedule; this knob exists only in the emulator.
        return t.cleanup().await;
    }
    let cms: Api<ConfigMap> = t.api();
    let first = cms.create(&PostParams::default(), &cm("a")).await.unwrap();
    for i in 0..30 {
        cms.create(&PostParams::default(), &cm(&format!("n{i}")))
            .await
            .unwrap();
    }
    let path = format!(
        "/api/v1/namespaces/{}/configmaps?watch=true&resourceVersion={}",
        t.ns,
        first.resource_version().unwrap()
    );
    let events = raw_watch(&t, &path, 1).await;
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(events[0]["object"]["code"], 410);
    assert_eq!(events[0]["object"]["reason"], "Expired");
    t.cleanup().await;
}

#[tokio::test]
async fn bookmarks_and_streaming_initial_events() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    cms.create(&PostParams::default(), &cm("a")).await.unwrap();
    cms.create(&PostParams::default(), &cm("b")).await.unwrap();
    let path = format!(
        "/api/v1/namespaces/{}/configmaps?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        t.ns
    );
    let events = raw_watch(&t, &path, 3).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "ADDED", "BOOKMARK"]);
    assert_eq!(
        events[2]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert!(
        events[2]["object"]["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    if !t.real {
        // The emulator sends periodic bookmarks every second (a real server about once a minute).
        let list = cms.list(&Default::default()).await.unwrap();
        let rv = list.metadata.resource_version.unwrap();
        let path = format!(
            "/api/v1/namespaces/{}/configmaps?watch=true&resourceVersion={rv}&allowWatchBookmarks=true",
            t.ns
        );
        let events = raw_watch(&t, &path, 1).await;
        assert_eq!(events[0]["type"], "BOOKMARK");
        assert_eq!(
            events[0]["object"]["metadata"]["resourceVersion"],
            rv.as_str()
        );
    }
    t.cleanup().await;
}

#[tokio::test]
async fn watch_ends_after_timeout_seconds() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    // Only this test's objects (none): a real cluster's controller manager creates
    // kube-root-ca.crt in a new namespace whenever it gets to it.
    let selector = "conformance-watch-timeout=yes";
    let list = cms
        .list(&kube::api::ListParams::default().labels(selector))
        .await
        .unwrap();
    let stream = cms
        .watch(
            &WatchParams::default().timeout(1).labels(selector),
            &list.metadata.resource_version.unwrap(),
        )
        .await
        .unwrap();
    let events: Vec<_> = tokio::time::timeout(Duration::from_secs(30), stream.collect::<Vec<_>>())
        .await
        .expect("stream ends by itself");
    // Only bookmarks (kube asks for them by default); no object events, and the stream ended.
    assert!(
        events
            .iter()
            .all(|e| matches!(e, Ok(WatchEvent::Bookmark(_)))),
        "{events:?}"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn label_selector_watch_sees_objects_enter_and_leave() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    let a = cms.create(&PostParams::default(), &cm("a")).await.unwrap();
    let rv = a.resource_version().unwrap();
    let p = kube::api::PatchParams::default();
    cms.patch(
        "a",
        &p,
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"sel": "yes"}}})),
    )
    .await
    .unwrap();
    cms.patch(
        "a",
        &p,
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"sel": "no"}}})),
    )
    .await
    .unwrap();
    let path = format!(
        "/api/v1/namespaces/{}/configmaps?watch=true&resourceVersion={rv}&labelSelector=sel%3Dyes",
        t.ns
    );
    let events = raw_watch(&t, &path, 2).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["ADDED", "DELETED"]);
    t.cleanup().await;
}
