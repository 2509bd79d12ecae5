//! Discovery, CRUD, metadata, errors, status subresource, finalizers, namespaces, lists and
//! validation.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::common::*;

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.into());
    c.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    c.data = Some(BTreeMap::from([("k".to_string(), "v".to_string())]));
    c
}

#[tokio::test]
async fn discovery_lists_builtins_and_crd_kinds() {
    let t = Target::new().await;
    let v = t.client.apiserver_version().await.unwrap();
    assert_eq!(v.major, "1");
    t.install_crd().await;
    let d = Discovery::new(t.client.clone()).run().await.unwrap();
    let mut seen = Vec::new();
    for g in d.groups() {
        for (ar, caps) in g.recommended_resources() {
            seen.push((
                ar.group.clone(),
                ar.plural.clone(),
                caps.scope == kube::discovery::Scope::Namespaced,
            ));
        }
    }
    for want in [
        ("", "namespaces", false),
        ("", "configmaps", true),
        ("", "secrets", true),
        ("", "events", true),
        ("events.k8s.io", "events", true),
        ("coordination.k8s.io", "leases", true),
        ("apiextensions.k8s.io", "customresourcedefinitions", false),
        ("conformance.example.com", "widgets", true),
    ] {
        assert!(
            seen.contains(&(want.0.to_string(), want.1.to_string(), want.2)),
            "missing {want:?} in {seen:?}"
        );
    }
    let (code, list) = t
        .raw(
            "GET",
            "/apis/conformance.example.com/v1",
            "application/json",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(code, 200);
    let widgets = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "widgets")
        .unwrap()
        .clone();
    assert_eq!(widgets["shortNames"], json!(["wdg"]));
    assert_eq!(widgets["categories"], json!(["conformance"]));
    assert_eq!(widgets["singularName"], "widget");
    assert!(
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "widgets/status")
    );
    t.cleanup().await;
}

#[tokio::test]
async fn crud_sets_server_metadata_and_errors_are_status_objects() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    let a = cms
        .create(&PostParams::default(), &cm("a", &[]))
        .await
        .unwrap();
    let b = cms
        .create(&PostParams::default(), &cm("b", &[]))
        .await
        .unwrap();
    assert!(a.metadata.uid.as_deref().is_some_and(|u| u.len() == 36));
    assert_ne!(a.metadata.uid, b.metadata.uid);
    assert!(a.metadata.creation_timestamp.is_some());
    assert!(
        rv_of(&b) > rv_of(&a),
        "one monotonic counter across objects"
    );
    assert!(
        a.metadata
            .managed_fields
            .as_ref()
            .is_some_and(|m| !m.is_empty())
    );

    assert_eq!(
        api_error(
            cms.create(&PostParams::default(), &cm("a", &[]))
                .await
                .unwrap_err()
        ),
        (409, "AlreadyExists".into())
    );
    assert_eq!(
        api_error(cms.get("nope").await.unwrap_err()),
        (404, "NotFound".into())
    );

    let mut stale = a.clone();
    let mut fresh = cms.get("a").await.unwrap();
    fresh.data = Some(BTreeMap::from([("k".to_string(), "v2".to_string())]));
    let updated = cms
        .replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert!(rv_of(&updated) > rv_of(&a));
    stale.data = Some(BTreeMap::from([("k".to_string(), "v3".to_string())]));
    assert_eq!(
        api_error(
            cms.replace("a", &PostParams::default(), &stale)
                .await
                .unwrap_err()
        ),
        (409, "Conflict".into())
    );

    let bad = cm("Not_A_Name", &[]);
    assert_eq!(
        api_error(cms.create(&PostParams::default(), &bad).await.unwrap_err()),
        (422, "Invalid".into())
    );

    cms.delete("a", &DeleteParams::default()).await.unwrap();
    assert_eq!(api_error(cms.get("a").await.unwrap_err()).0, 404);
    let (code, status) = t
        .raw(
            "DELETE",
            &format!("/api/v1/namespaces/{}/configmaps/a", t.ns),
            "application/json",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(code, 404);
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "NotFound");
    assert_eq!(status["details"]["name"], "a");

    let secrets: Api<Secret> = t.api();
    let mut s = Secret::default();
    s.metadata.name = Some("s".into());
    s.string_data = Some(BTreeMap::from([("x".into(), "y".into())]));
    secrets.create(&PostParams::default(), &s).await.unwrap();
    assert_eq!(
        secrets
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    t.cleanup().await;
}

#[tokio::test]
async fn generation_changes_on_spec_only_and_status_subresource_is_separate() {
    let t = Target::new().await;
    t.install_crd().await;
    let w = t.make_widget("w", 1).await;
    assert_eq!(generation(&w), 1);
    assert!(w.status.is_none());
    let api = t.widgets();
    let w2 = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        generation(&w2),
        1,
        "metadata changes do not bump generation"
    );
    let w3 = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}, "status": {"observedGeneration": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(generation(&w3), 2);
    assert!(w3.status.is_none(), "main endpoint ignores status");
    let w4 = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 50}, "status": {"observedGeneration": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(generation(&w4), 2, "status writes never bump generation");
    assert_eq!(w4.spec.size, 2, "status endpoint ignores spec");
    assert_eq!(w4.status.as_ref().unwrap().observed_generation, Some(2));
    let managers: Vec<String> = w4
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(!managers.is_empty());
    t.cleanup().await;
}

#[tokio::test]
async fn finalizers_delay_deletion_and_block_new_finalizers() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    let mut c = cm("f", &[]);
    c.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    cms.create(&PostParams::default(), &c).await.unwrap();
    let deleted = cms.delete("f", &DeleteParams::default()).await.unwrap();
    let pending = deleted
        .left()
        .expect("object is returned while finalizers remain");
    assert!(pending.metadata.deletion_timestamp.is_some());
    let still = cms.get("f").await.unwrap();
    assert!(still.metadata.deletion_timestamp.is_some());
    let err = cms
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}}),
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 422);
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(api_error(cms.get("f").await.unwrap_err()).0, 404);
    t.cleanup().await;
}

#[tokio::test]
async fn namespace_deletion_removes_its_objects() {
    let t = Target::new().await;
    let nss: Api<Namespace> = Api::all(t.client.clone());
    let ns_obj: Namespace =
        serde_json::from_value(json!({"metadata": {"name": format!("{}-x", t.ns)}})).unwrap();
    let ns = nss
        .create(&PostParams::default(), &ns_obj)
        .await
        .unwrap()
        .name_any();
    let cms: Api<ConfigMap> = Api::namespaced(t.client.clone(), &ns);
    cms.create(&PostParams::default(), &cm("one", &[]))
        .await
        .unwrap();
    nss.delete(&ns, &DeleteParams::default()).await.unwrap();
    let uid = nss
        .get(&ns)
        .await
        .map(|n| n.uid().unwrap_or_default())
        .unwrap_or_default();
    let cond = kube::runtime::wait::conditions::is_deleted(&uid);
    if nss.get_opt(&ns).await.unwrap().is_some() {
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            kube::runtime::wait::await_condition(nss.clone(), &ns, cond),
        )
        .await
        .unwrap()
        .unwrap();
    }
    assert!(
        cms.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let err = cms
        .create(&PostParams::default(), &cm("two", &[]))
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 404);
    t.cleanup().await;
}

#[tokio::test]
async fn list_kind_selectors_and_pagination() {
    let t = Target::new().await;
    let cms: Api<ConfigMap> = t.api();
    // Every object of the test carries set=list: a real cluster's controllers add objects of
    // their own to each namespace (the kube-root-ca.crt ConfigMap), which the selectors exclude.
    for (name, labels) in [
        ("a", vec![("set", "list"), ("app", "web"), ("tier", "fe")]),
        ("b", vec![("set", "list"), ("app", "web"), ("tier", "be")]),
        ("c", vec![("set", "list"), ("app", "db")]),
        ("d", vec![("set", "list")]),
    ] {
        cms.create(&PostParams::default(), &cm(name, &labels))
            .await
            .unwrap();
    }
    let (code, raw) = t
        .raw(
            "GET",
            &format!("/api/v1/namespaces/{}/configmaps", t.ns),
            "application/json",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(raw["kind"], "ConfigMapList");
    assert!(
        raw["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|r| !r.is_empty())
    );
    let names = |sel: &str| {
        let cms = cms.clone();
        let sel = format!("set=list,{sel}");
        async move {
            let mut n: Vec<String> = cms
                .list(&ListParams::default().labels(&sel))
                .await
                .unwrap()
                .items
                .iter()
                .map(|c| c.name_any())
                .collect();
            n.sort();
            n
        }
    };
    assert_eq!(names("app=web").await, ["a", "b"]);
    assert_eq!(names("app==web").await, ["a", "b"]);
    assert_eq!(names("app!=web").await, ["c", "d"]);
    assert_eq!(names("tier in (fe,xx)").await, ["a"]);
    assert_eq!(names("app notin (web)").await, ["c", "d"]);
    assert_eq!(names("tier").await, ["a", "b"]);
    assert_eq!(names("!tier").await, ["c", "d"]);
    let by_name = cms
        .list(&ListParams::default().fields("metadata.name=c"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let all: Api<ConfigMap> = Api::all(t.client.clone());
    let by_ns = all
        .list(
            &ListParams::default()
                .labels("set=list")
                .fields(&format!("metadata.namespace={}", t.ns)),
        )
        .await
        .unwrap();
    assert_eq!(by_ns.items.len(), 4);
    let not_a = cms
        .list(
            &ListParams::default()
                .labels("set=list")
                .fields("metadata.name!=a"),
        )
        .await
        .unwrap();
    assert_eq!(not_a.items.len(), 3);

    let page1 = cms
        .list(&ListParams::default().labels("set=list").limit(3))
        .await
        .unwrap();
    assert_eq!(page1.items.len(), 3);
    let token = page1.metadata.continue_.clone().expect("continue token");
    let page2 = cms
        .list(
            &ListParams::default()
                .labels("set=list")
                .limit(3)
                .continue_token(&token),
        )
        .await
        .unwrap();
    assert_eq!(page2.items.len(), 1);
    assert!(
        page2
            .metadata
            .continue_
            .as_deref()
            .is_none_or(str::is_empty)
    );
    let mut got: Vec<String> = page1
        .items
        .iter()
        .chain(page2.items.iter())
        .map(|c| c.name_any())
        .collect();
    got.sort();
    assert_eq!(got, ["a", "b", "c", "d"]);
    t.cleanup().await;
}

#[tokio::test]
async fn crd_schema_validation_rejects_bad_objects() {
    let t = Target::new().await;
    t.install_crd().await;
    let path = t.widgets_path();
    let body = |spec: serde_json::Value| json!({"apiVersion": "conformance.example.com/v1", "kind": "Widget", "metadata": {"name": "v"}, "spec": spec});
    for (spec, field) in [
        (json!({}), "spec.size"),
        (json!({"size": "big"}), "spec.size"),
        (json!({"size": 1, "color": "green"}), "spec.color"),
        (json!({"size": 1, "label": "much-too-long"}), "spec.label"),
        (json!({"size": 1000}), "spec.size"),
        (json!({"size": 1, "mode": "Not-Lower"}), "spec.mode"),
    ] {
        let (code, status) = t
            .raw("POST", &path, "application/json", body(spec.clone()))
            .await;
        assert_eq!(code, 422, "{spec} should be rejected: {status}");
        assert_eq!(status["reason"], "Invalid");
        let causes = status["details"]["causes"].as_array().unwrap();
        assert!(
            causes.iter().any(|c| c["field"] == field),
            "{spec}: {status}"
        );
    }
    let (code, created) = t
        .raw(
            "POST",
            &path,
            "application/json",
            body(json!({"size": 1, "unknown": true})),
        )
        .await;
    assert_eq!(code, 201);
    assert_eq!(
        created["spec"],
        json!({"size": 1, "mode": "auto"}),
        "unknown fields are pruned, defaults applied"
    );
    let (code, _) = t
        .raw("POST", &format!("{path}?fieldValidation=Strict"), "application/json", json!({"apiVersion": "conformance.example.com/v1", "kind": "Widget", "metadata": {"name": "v2"}, "spec": {"size": 1, "unknown": true}}))
        .await;
    assert_eq!(code, 400, "strict field validation rejects unknown fields");
    let api = t.widgets();
    let err = api
        .patch(
            "v",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"color": "pink"}})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        api_error(err),
        (422, "Invalid".into()),
        "updates are validated too"
    );
    assert_eq!(Widget::kind(&()), "Widget");
    t.cleanup().await;
}

#[tokio::test]
async fn crd_cel_validation_rules_and_transition_rules() {
    let t = Target::new().await;
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.conformance.example.com"},
        "spec": {"group": "conformance.example.com", "scope": "Namespaced",
            "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {
                    "type": "object",
                    "x-kubernetes-validations": [{"rule": "self.min <= self.max", "message": "min must not exceed max"}],
                    "properties": {
                        "min": {"type": "integer"}, "max": {"type": "integer"},
                        "owner": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "owner is immutable"}]}
                    }}}}}}]}
    });
    let (code, body) = t
        .raw(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            "application/json",
            crd,
        )
        .await;
    assert!(code == 201 || code == 409, "{body}");
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> = Api::all(t.client.clone());
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        kube::runtime::wait::await_condition(
            crds,
            "gadgets.conformance.example.com",
            kube::runtime::wait::conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    let path = format!(
        "/apis/conformance.example.com/v1/namespaces/{}/gadgets",
        t.ns
    );
    let gadget = |name: &str, spec: serde_json::Value| json!({"apiVersion": "conformance.example.com/v1", "kind": "Gadget", "metadata": {"name": name}, "spec": spec});
    let (code, status) = t
        .raw(
            "POST",
            &path,
            "application/json",
            gadget("bad", json!({"min": 3, "max": 1})),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("min must not exceed max"),
        "{status}"
    );
    let (code, _) = t
        .raw(
            "POST",
            &path,
            "application/json",
            gadget("good", json!({"min": 1, "max": 3, "owner": "a"})),
        )
        .await;
    assert_eq!(code, 201);
    let (code, status) = t
        .raw(
            "PATCH",
            &format!("{path}/good"),
            "application/merge-patch+json",
            json!({"spec": {"owner": "b"}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("owner is immutable"),
        "{status}"
    );
    let (code, _) = t
        .raw(
            "PATCH",
            &format!("{path}/good"),
            "application/merge-patch+json",
            json!({"spec": {"max": 9}}),
        )
        .await;
    assert_eq!(code, 200);
    t.cleanup().await;
}

#[tokio::test]
async fn garbage_collection_deletes_dependents_of_deleted_owners() {
    let t = Target::new().await;
    t.install_crd().await;
    let owner = t.make_widget("owner", 1).await;
    let other = t.make_widget("other", 1).await;
    let oref = |w: &Widget| json!({"apiVersion": "conformance.example.com/v1", "kind": "Widget", "name": w.name_any(), "uid": w.uid().unwrap()});
    let cms: Api<ConfigMap> = t.api();
    for (name, owners) in [
        ("only", vec![oref(&owner)]),
        ("shared", vec![oref(&owner), oref(&other)]),
        ("free", vec![]),
    ] {
        let c: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "ownerReferences": owners}}))
                .unwrap();
        cms.create(&PostParams::default(), &c).await.unwrap();
    }
    t.widgets()
        .delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    let gone = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while cms.get_opt("only").await.unwrap().is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    assert!(
        gone.is_ok(),
        "the dependent of the deleted owner is collected"
    );
    assert!(
        cms.get_opt("shared").await.unwrap().is_some(),
        "a dependent with a live owner stays"
    );
    assert!(cms.get_opt("free").await.unwrap().is_some());
    t.cleanup().await;
}

#[tokio::test]
async fn crd_updates_change_discovery_and_crd_deletion_removes_the_kind() {
    let t = Target::new().await;
    if t.real {
        // Deleting the shared test CRD would disturb other tests running on the same cluster.
        return t.cleanup().await;
    }
    t.install_crd().await;
    t.make_widget("doomed", 1).await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(t.client.clone());
    let name = "widgets.conformance.example.com";
    crds.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"names": {"shortNames": ["wdg", "wg"]}}})),
    )
    .await
    .unwrap();
    let (_, list) = t
        .raw(
            "GET",
            "/apis/conformance.example.com/v1",
            "application/json",
            serde_json::Value::Null,
        )
        .await;
    let widgets = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "widgets")
        .unwrap()
        .clone();
    assert_eq!(widgets["shortNames"], json!(["wdg", "wg"]));
    assert_eq!(
        t.widgets().get("doomed").await.unwrap().spec.size,
        1,
        "objects survive a CRD update"
    );

    crds.delete(name, &DeleteParams::default()).await.unwrap();
    let (code, _) = t
        .raw(
            "GET",
            &t.widgets_path(),
            "application/json",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(code, 404, "the kind is no longer served");
    let (code, _) = t
        .raw(
            "GET",
            "/apis/conformance.example.com/v1",
            "application/json",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(code, 404, "the group is gone from discovery");
    t.install_crd().await;
    assert!(
        t.widgets()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "objects were deleted with their CRD"
    );
    t.cleanup().await;
}
