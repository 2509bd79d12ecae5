//! Merge patch, JSON patch, strategic merge patch and server-side apply.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn json_patch_test_on_missing_finalizers_passes_like_the_api_server() {
    let t = Target::new().await;
    t.install_crd().await;
    t.make_widget("j", 1).await;
    let api = t.widgets();
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["example.com/f"]}
    ]))
    .unwrap();
    let w = api
        .patch(
            "j",
            &PatchParams::default(),
            &Patch::Json::<()>(ops.clone()),
        )
        .await
        .unwrap();
    assert_eq!(w.finalizers(), ["example.com/f"]);
    let err = api
        .patch("j", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap_err();
    assert_eq!(
        api_error(err).0,
        422,
        "test against a present value that differs fails"
    );
    let remove: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "example.com/f"},
        {"op": "remove", "path": "/metadata/finalizers/0"}
    ]))
    .unwrap();
    let w = api
        .patch("j", &PatchParams::default(), &Patch::Json::<()>(remove))
        .await
        .unwrap();
    assert!(w.finalizers().is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn strategic_merge_patch_works_on_builtins_and_is_415_on_custom_resources() {
    let t = Target::new().await;
    t.install_crd().await;
    let cms: Api<ConfigMap> = t.api();
    let mut c = ConfigMap::default();
    c.metadata.name = Some("s".into());
    c.data = Some(BTreeMap::from([
        ("a".into(), "1".into()),
        ("b".into(), "2".into()),
    ]));
    cms.create(&PostParams::default(), &c).await.unwrap();
    let patched = cms
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"a": null, "c": "3"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        patched.data.unwrap(),
        BTreeMap::from([("b".into(), "2".into()), ("c".into(), "3".into())])
    );
    t.make_widget("s", 1).await;
    let err = t
        .widgets()
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (415, "UnsupportedMediaType".into()));
    let merged = t
        .widgets()
        .patch(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.spec.size, 2);
    t.cleanup().await;
}

fn widget_apply(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "conformance.example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})
}

#[tokio::test]
async fn server_side_apply_creates_conflicts_forces_and_removes_unowned_fields() {
    let t = Target::new().await;
    t.install_crd().await;
    let path = format!("{}/a", t.widgets_path());
    let (code, status) = t
        .raw(
            "PATCH",
            &path,
            "application/apply-patch+yaml",
            widget_apply("a", json!({"size": 1})),
        )
        .await;
    assert_eq!(code, 422, "fieldManager is required: {status}");
    assert_eq!(status["reason"], "Invalid");
    assert_eq!(status["details"]["kind"], "PatchOptions");
    assert_eq!(status["details"]["causes"][0]["field"], "fieldManager");

    let api = t.widgets();
    let w = api
        .patch(
            "a",
            &PatchParams::apply("alice"),
            &Patch::Apply(widget_apply("a", json!({"size": 1, "label": "x"}))),
        )
        .await
        .unwrap();
    assert_eq!(w.spec.size, 1);
    assert!(
        w.managed_fields()
            .iter()
            .any(|m| m.manager.as_deref() == Some("alice")
                && m.operation.as_deref() == Some("Apply"))
    );

    let err = api
        .patch(
            "a",
            &PatchParams::apply("bob"),
            &Patch::Apply(widget_apply("a", json!({"size": 2}))),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(err), (409, "Conflict".into()));
    let same = api
        .patch(
            "a",
            &PatchParams::apply("bob"),
            &Patch::Apply(widget_apply("a", json!({"size": 1, "color": "red"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        same.spec.color,
        Some(Color::Red),
        "applying an equal value to a shared field is no conflict"
    );

    let forced = api
        .patch(
            "a",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(widget_apply("a", json!({"size": 3}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.size, 3);
    assert_eq!(
        forced.spec.color, None,
        "bob no longer applies color and nobody else owns it"
    );

    let dropped = api
        .patch(
            "a",
            &PatchParams::apply("alice"),
            &Patch::Apply(widget_apply("a", json!({}))),
        )
        .await
        .unwrap();
    assert_eq!(dropped.spec.label, None, "alice stopped applying label");
    assert_eq!(dropped.spec.size, 3, "size is bob's now");

    let st = api
        .patch_status(
            "a",
            &PatchParams::apply("ctrl").force(),
            &Patch::Apply(json!({"apiVersion": "conformance.example.com/v1", "kind": "Widget", "status": {"observedGeneration": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(st.status.unwrap().observed_generation, Some(5));
    t.cleanup().await;
}

#[tokio::test]
async fn update_managers_own_changed_fields_and_clients_may_rewrite_managed_fields() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    let c: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "m"}, "data": {"a": "1"}})).unwrap();
    cms.create(&PostParams::default(), &c).await.unwrap();
    let patched = cms
        .patch(
            "m",
            &PatchParams {
                field_manager: Some("editor".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({"data": {"b": "2"}})),
        )
        .await
        .unwrap();
    let editor = patched
        .managed_fields()
        .iter()
        .find(|m| m.manager.as_deref() == Some("editor"))
        .cloned()
        .expect("editor entry");
    assert_eq!(editor.operation.as_deref(), Some("Update"));
    assert_eq!(editor.fields_v1.unwrap().0, json!({"f:data": {"f:b": {}}}));
    // An applier setting data.b to another value conflicts with the Update manager.
    let err = cms
        .patch("m", &PatchParams::apply("applier"), &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}, "data": {"b": "3"}})))
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 409);
    // Clearing managedFields explicitly (as a client may) removes the old ownership ...
    let ops: json_patch::Patch = serde_json::from_value(
        json!([{"op": "replace", "path": "/metadata/managedFields", "value": [{}]}]),
    )
    .unwrap();
    let cleared = cms
        .patch("m", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert!(cleared.managed_fields().is_empty());
    // ... and the next apply finds every field owned by `before-first-apply` (an Update
    // manager): a different value conflicts with it, an equal one is shared.
    let apply_b = |v: &str| {
        Patch::Apply(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}, "data": {"b": v}}),
        )
    };
    let err = cms
        .patch("m", &PatchParams::apply("applier"), &apply_b("3"))
        .await
        .unwrap_err();
    let (code, message) = match err {
        kube::Error::Api(s) => (s.code, s.message),
        other => panic!("{other:?}"),
    };
    assert_eq!(code, 409);
    assert!(message.contains("before-first-apply"), "{message}");
    let applied = cms
        .patch("m", &PatchParams::apply("applier"), &apply_b("2"))
        .await
        .unwrap();
    let managers: Vec<(String, String)> = applied
        .managed_fields()
        .iter()
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("before-first-apply".into(), "Update".into()))
            && managers.contains(&("applier".into(), "Apply".into())),
        "{managers:?}"
    );
    let applied = cms
        .patch("m", &PatchParams::apply("applier").force(), &apply_b("3"))
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["b"], "3");
    t.cleanup().await;
}

#[tokio::test]
async fn server_side_apply_merges_list_map_items_per_manager() {
    let t = Target::new().await;
    t.install_crd().await;
    t.make_widget("lm", 1).await;
    let api = t.widgets();
    let status = |conds: Value| json!({"apiVersion": "conformance.example.com/v1", "kind": "Widget", "status": {"conditions": conds}});
    api.patch_status(
        "lm",
        &PatchParams::apply("reviewer"),
        &Patch::Apply(status(json!([{"type": "Reviewed", "status": "True"}]))),
    )
    .await
    .unwrap();
    let both = api
        .patch_status(
            "lm",
            &PatchParams::apply("approver"),
            &Patch::Apply(status(json!([{"type": "Approved", "status": "False"}]))),
        )
        .await
        .unwrap();
    let types = |w: &Widget| -> Vec<(String, String)> {
        w.status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .map(|c| (c.type_.clone(), c.status.clone()))
            .collect()
    };
    assert_eq!(
        types(&both),
        [
            ("Reviewed".to_string(), "True".to_string()),
            ("Approved".into(), "False".into())
        ]
    );
    let err = api
        .patch_status(
            "lm",
            &PatchParams::apply("approver"),
            &Patch::Apply(status(json!([{"type": "Reviewed", "status": "False"}]))),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 409, "another manager's item conflicts");
    let dropped = api
        .patch_status(
            "lm",
            &PatchParams::apply("reviewer"),
            &Patch::Apply(status(json!([]))),
        )
        .await
        .unwrap();
    assert_eq!(
        types(&dropped),
        [("Approved".to_string(), "False".to_string())],
        "the reviewer's item goes, the approver's stays"
    );
    t.cleanup().await;
}
