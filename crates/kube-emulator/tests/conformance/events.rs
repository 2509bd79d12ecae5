//! Events: core v1 and events.k8s.io/v1 are two views of one storage; kube-rs `Recorder`
//! events show up in `kubectl describe`.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event;
use kube::Resource;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::events::{Event as RecordedEvent, EventType, Recorder, Reporter};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn recorder_events_are_visible_in_both_groups_and_in_describe() {
    let t = Target::new().await;
    t.install_crd().await;
    let w = t.make_widget("ev", 1).await;
    let reporter = Reporter {
        controller: "conformance-controller".into(),
        instance: Some("pod-1".into()),
    };
    let recorder = Recorder::new(t.client.clone(), reporter);
    let event = RecordedEvent {
        type_: EventType::Normal,
        reason: "Reconciled".into(),
        note: Some("widget is ready".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder.publish(&event, &w.object_ref(&())).await.unwrap();
    recorder.publish(&event, &w.object_ref(&())).await.unwrap();

    let new_api: Api<Event> = t.api();
    let listed = new_api.list(&ListParams::default()).await.unwrap();
    assert_eq!(
        listed.items.len(),
        1,
        "the second publish patches the same event as a series"
    );
    let e = &listed.items[0];
    assert_eq!(e.note.as_deref(), Some("widget is ready"));
    assert_eq!(
        e.regarding.as_ref().and_then(|r| r.name.as_deref()),
        Some("ev")
    );
    assert_eq!(e.series.as_ref().map(|s| s.count), Some(2));

    let core: Api<CoreEvent> = t.api();
    let selector = format!(
        "involvedObject.name=ev,involvedObject.uid={}",
        w.metadata.uid.clone().unwrap()
    );
    let found = core
        .list(&ListParams::default().fields(&selector))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].message.as_deref(), Some("widget is ready"));
    assert_eq!(found.items[0].reason.as_deref(), Some("Reconciled"));

    let out = tokio::process::Command::new("kubectl")
        .args(["describe", "widget", "ev", "-n", &t.ns])
        .env("KUBECONFIG", &t.kubeconfig)
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Reconciled"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("Normal") && line.contains("widget is ready"),
        "{line}"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn leases_support_optimistic_concurrency() {
    let t = Target::new().await;
    let leases: Api<Lease> = t.api();
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).unwrap();
    let created = leases.create(&PostParams::default(), &lease).await.unwrap();
    let mut mine = created.clone();
    mine.spec.as_mut().unwrap().holder_identity = Some("b".into());
    leases
        .replace("leader", &PostParams::default(), &mine)
        .await
        .unwrap();
    let mut theirs = created;
    theirs.spec.as_mut().unwrap().holder_identity = Some("c".into());
    let err = leases
        .replace("leader", &PostParams::default(), &theirs)
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (409, "Conflict".into()));
    assert_eq!(
        leases
            .get("leader")
            .await
            .unwrap()
            .spec
            .unwrap()
            .holder_identity
            .as_deref(),
        Some("b")
    );
    t.cleanup().await;
}
