//! kube-rs runtime against the API: `watcher` (list-watch and streaming lists), `reflector`
//! and a `Controller` using `finalizer()` and status patches.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{Controller, WatchStreamExt, reflector};
use serde_json::json;

use crate::common::*;

async fn wait_until<F: Fn() -> bool>(what: &str, f: F) {
    let ok = tokio::time::timeout(Duration::from_secs(30), async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(ok.is_ok(), "timed out waiting for {what}");
}

async fn watcher_sees_lifecycle(config: watcher::Config) {
    let t = Target::new().await;
    t.install_crd().await;
    t.make_widget("before", 1).await;
    let mut stream = watcher::watcher(t.widgets(), config).boxed();
    let mut initial = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Event::Init => {}
            Event::InitApply(w) => initial.push(w.name_any()),
            Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(initial, ["before"]);
    t.make_widget("after", 2).await;
    t.widgets()
        .delete("before", &DeleteParams::default())
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(30), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Event::Apply(w) => seen.push(format!("apply {}", w.name_any())),
            Event::Delete(w) => seen.push(format!("delete {}", w.name_any())),
            _ => {}
        }
    }
    assert_eq!(seen, ["apply after", "delete before"]);
    t.cleanup().await;
}

#[tokio::test]
async fn watcher_list_watch() {
    watcher_sees_lifecycle(watcher::Config::default()).await;
}

#[tokio::test]
async fn watcher_streaming_lists() {
    watcher_sees_lifecycle(watcher::Config::default().streaming_lists()).await;
}

#[tokio::test]
async fn reflector_store_follows_changes() {
    let t = Target::new().await;
    t.install_crd().await;
    t.make_widget("one", 1).await;
    let (reader, writer) = reflector::store::<Widget>();
    let stream = reflector::reflector(
        writer,
        watcher::watcher(t.widgets(), watcher::Config::default().any_semantic()),
    )
    .applied_objects()
    .for_each(|_| async {});
    let task = tokio::spawn(stream);
    tokio::time::timeout(Duration::from_secs(30), reader.wait_until_ready())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reader.state().len(), 1);
    t.make_widget("two", 2).await;
    t.widgets()
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 7}})),
        )
        .await
        .unwrap();
    let r = reader.clone();
    wait_until("store has both widgets with the new size", move || {
        let s = r.state();
        s.len() == 2 && s.iter().any(|w| w.name_any() == "one" && w.spec.size == 7)
    })
    .await;
    t.widgets()
        .delete("two", &DeleteParams::default())
        .await
        .unwrap();
    let r = reader.clone();
    wait_until("deleted widget leaves the store", move || {
        r.state().len() == 1
    })
    .await;
    task.abort();
    t.cleanup().await;
}

const FINALIZER: &str = "conformance.example.com/cleanup";

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed")]
struct ReconcileError(#[source] Box<kube::runtime::finalizer::Error<kube::Error>>);

struct Ctx {
    api: Api<Widget>,
    cleaned: std::sync::Mutex<Vec<String>>,
}

async fn reconcile(w: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let api = ctx.api.clone();
    finalizer(&api, FINALIZER, w, |event| async {
        match event {
            Finalizer::Apply(w) => {
                let status = json!({"status": {"observedGeneration": w.metadata.generation, "conditions": [{"type": "Ready", "status": "True"}]}});
                api.patch_status(&w.name_any(), &PatchParams::default(), &Patch::Merge(status)).await?;
                Ok(Action::await_change())
            }
            Finalizer::Cleanup(w) => {
                ctx.cleaned.lock().unwrap().push(w.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| ReconcileError(Box::new(e)))
}

#[tokio::test]
async fn controller_with_finalizer_and_status_patches() {
    let t = Target::new().await;
    t.install_crd().await;
    let api = t.widgets();
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        cleaned: std::sync::Mutex::new(Vec::new()),
    });
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_millis(200)),
            ctx.clone(),
        )
        .for_each(|_| async {});
    let task = tokio::spawn(controller);

    t.make_widget("c", 1).await;
    let ready = |w: &Widget| {
        w.status.as_ref().is_some_and(|s| {
            s.observed_generation == w.metadata.generation
                && s.conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status == "True")
        })
    };
    let cond = move |w: Option<&Widget>| w.is_some_and(ready);
    let got = tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(api.clone(), "c", cond),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert_eq!(got.finalizers(), [FINALIZER]);
    assert_eq!(got.status.as_ref().unwrap().observed_generation, Some(1));

    api.patch(
        "c",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 5}})),
    )
    .await
    .unwrap();
    let cond =
        move |w: Option<&Widget>| w.is_some_and(|w| w.metadata.generation == Some(2) && ready(w));
    tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(api.clone(), "c", cond),
    )
    .await
    .unwrap()
    .unwrap();

    let uid = got.uid().unwrap();
    api.delete("c", &DeleteParams::default()).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(30),
        kube::runtime::wait::await_condition(
            api.clone(),
            "c",
            kube::runtime::wait::conditions::is_deleted(&uid),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(*ctx.cleaned.lock().unwrap(), ["c"]);
    task.abort();
    t.cleanup().await;
}
