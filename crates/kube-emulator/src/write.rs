//! The write pipeline (create, update, patch, server-side apply): body decoding, subresource
//! and finalizer rules, validation, admission, managedFields and persistence; must not parse
//! HTTP paths or serve reads.

use std::collections::BTreeSet;

use hyper::Response;
use serde_json::{Value, json};

use crate::context::{AdmissionRequest, AdmissionResponse};
use crate::error::{ApiError, ApiResult, Cause};
use crate::fields;
use crate::handlers::{ApiRequest, present};
use crate::patch;
use crate::registry::ResourceType;
use crate::server::{Body, Query, Shared, json_response};
use crate::store::Store;
use crate::validation;

/// Sets `apiVersion`/`kind` of a request body and converts it to the stored form.
fn to_stored(rt: &ResourceType, mut obj: Value) -> Value {
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    crate::convert::to_stored(rt, obj)
}

/// Moves a Secret's `stringData` into base64 `data` and defaults `type` to `Opaque`, as the
/// API server does on write.
fn fold_string_data(rt: &ResourceType, obj: &mut Value) {
    use base64::Engine as _;
    if !(rt.group.is_empty() && rt.kind == "Secret") {
        return;
    }
    if obj
        .get("type")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        obj["type"] = json!("Opaque");
    }
    let Some(Value::Object(string_data)) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    if !obj.get("data").is_some_and(Value::is_object) {
        obj["data"] = json!({});
    }
    for (k, v) in string_data {
        let text = v.as_str().unwrap_or_default().to_string();
        obj["data"][k] = json!(base64::engine::general_purpose::STANDARD.encode(text));
    }
}

fn parse_body(req: &ApiRequest) -> ApiResult<Value> {
    if req.content_type.contains("protobuf") {
        crate::protobuf::decode(&req.body)
    } else if req.content_type.contains("yaml") {
        serde_yaml_ng::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding JSON: {e}")))
    }
}

fn check_identity(rt: &ResourceType, obj: &Value) -> ApiResult<()> {
    for (field, want) in [("apiVersion", rt.api_version()), ("kind", rt.kind.clone())] {
        if let Some(got) = obj.get(field).and_then(Value::as_str)
            && got != want
        {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({got}) does not match the expected API version ({want})"
            )));
        }
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Validates and prunes a custom object against its schema; strict field validation turns
/// pruned fields into a 400 error.
fn validate_object(
    rt: &ResourceType,
    obj: &mut Value,
    old_obj: Option<&Value>,
    query: &Query,
) -> ApiResult<()> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut causes = Vec::new();
    if !valid_name(&name) {
        causes.push(Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {name:?}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"),
            field: "metadata.name".into(),
        });
    }
    if let Some(schema) = &rt.schema {
        let mut pruned = Vec::new();
        validation::prune(schema, obj, "", &mut pruned);
        validation::apply_defaults(schema, obj);
        if !pruned.is_empty() && query.get("fieldValidation").is_some_and(|v| v == "Strict") {
            let list: Vec<String> = pruned
                .iter()
                .map(|p| format!("unknown field \"{p}\""))
                .collect();
            return Err(ApiError::bad_request(format!(
                "strict decoding error: {}",
                list.join(", ")
            )));
        }
        validation::validate(schema, obj, "", &mut causes);
        if causes.is_empty() {
            crate::cel_rules::check(schema, obj, old_obj, "", &mut causes);
        }
    }
    if rt.kind == "CustomResourceDefinition" {
        let group = obj
            .pointer("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        let plural = obj
            .pointer("/spec/names/plural")
            .and_then(Value::as_str)
            .unwrap_or("");
        if name != format!("{plural}.{group}") {
            causes.push(Cause {
                reason: "FieldValueInvalid".into(),
                message: format!(
                    "Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
                ),
                field: "metadata.name".into(),
            });
        }
        if obj
            .pointer("/spec/names/kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            causes.push(Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value".into(),
                field: "spec.names.kind".into(),
            });
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(&rt.kind, &rt.group, &name, causes))
    }
}

pub(crate) async fn admit(
    shared: &Shared,
    req: &ApiRequest,
    operation: &str,
    object: Option<Value>,
    old: Option<&Value>,
) -> ApiResult<Option<Value>> {
    let mut current = object;
    for hook in &shared.admission {
        let ar = AdmissionRequest {
            user: req.ctx.user.clone(),
            operation: operation.into(),
            group: req.rt.group.clone(),
            version: req.rt.version.clone(),
            resource: req.rt.plural.clone(),
            subresource: req.path.sub.clone(),
            namespace: req.ns().into(),
            name: current
                .as_ref()
                .and_then(|o| o.pointer("/metadata/name"))
                .and_then(Value::as_str)
                .unwrap_or(req.name())
                .into(),
            object: current.clone(),
            old_object: old.cloned(),
        };
        match hook.admit(&ar).await {
            AdmissionResponse::Allow => {}
            AdmissionResponse::Mutate(v) => current = Some(v),
            AdmissionResponse::Deny(msg) => {
                return Err(ApiError::forbidden(format!(
                    "admission webhook denied the request: {msg}"
                )));
            }
        }
    }
    Ok(current)
}

fn crd_status(obj: &mut Value) {
    let now = crate::store::now_timestamp();
    let names = obj.pointer("/spec/names").cloned().unwrap_or(json!({}));
    let stored: Vec<Value> = obj
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
                .filter_map(|v| v.get("name").cloned())
                .collect()
        })
        .unwrap_or_default();
    obj["status"] = json!({
        "acceptedNames": names,
        "storedVersions": stored,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
    });
}

/// Creates an object from a full body (POST, or server-side apply of a missing object).
async fn create_object(
    shared: &Shared,
    req: &ApiRequest,
    store: &mut Store,
    mut obj: Value,
    applied: Option<BTreeSet<crate::fieldpath::FieldPath>>,
) -> ApiResult<Value> {
    let rt = &req.rt;
    check_identity(rt, &obj)?;
    obj = to_stored(rt, obj);
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    let path_ns = req.ns().to_string();
    if rt.namespaced {
        let body_ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !body_ns.is_empty() && body_ns != path_ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        obj["metadata"]["namespace"] = json!(path_ns);
        match store.namespace_state(&path_ns) {
            None => return Err(ApiError::not_found("", "namespaces", &path_ns)),
            Some(true) => {
                return Err(ApiError::forbidden(format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {path_ns} because it is being terminated",
                    rt.plural,
                    obj.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                )));
            }
            Some(false) => {}
        }
    } else if let Some(m) = obj["metadata"].as_object_mut() {
        m.remove("namespace");
    }
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        let prefix = obj
            .pointer("/metadata/generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if prefix.is_empty() {
            return Err(ApiError::invalid(
                &rt.kind,
                &rt.group,
                "",
                vec![Cause {
                    reason: "FieldValueRequired".into(),
                    message: "Required value: name or generateName is required".into(),
                    field: "metadata.name".into(),
                }],
            ));
        }
        let suffix: String = format!(
            "{:x}",
            std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), store.current_rv())
        )
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(5)
        .collect();
        obj["metadata"]["name"] = json!(format!("{prefix}{suffix}"));
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        for f in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
            "managedFields",
        ] {
            m.remove(f);
        }
    }
    if rt.status_subresource
        && rt.custom
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    if rt.kind == "CustomResourceDefinition" {
        crd_status(&mut obj);
    }
    if rt.group.is_empty() && rt.kind == "Namespace" {
        obj["status"] = json!({"phase": "Active"});
        obj["spec"] = json!({"finalizers": ["kubernetes"]});
    }
    fold_string_data(rt, &mut obj);
    validate_object(rt, &mut obj, None, &req.query)?;
    let mut obj = admit(shared, req, "CREATE", Some(obj), None)
        .await?
        .unwrap_or(Value::Null);
    match applied {
        Some(paths) => fields::record_apply(
            &mut obj,
            None,
            &req.ctx.field_manager,
            &rt.api_version(),
            None,
            paths,
        ),
        None => fields::record_update(
            &mut obj,
            None,
            &req.ctx.field_manager,
            &rt.api_version(),
            None,
            rt.schema.as_ref(),
        ),
    }
    if req.ctx.dry_run {
        return Ok(obj);
    }
    let stored = store.insert_new(rt, obj)?;
    if rt.kind == "CustomResourceDefinition" {
        store.register_crd(&stored);
    }
    Ok(present(rt, stored))
}

pub(crate) async fn create(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let obj = parse_body(req)?;
    let mut store = shared.store.lock().await;
    let created = create_object(shared, req, &mut store, obj, None).await?;
    Ok(json_response(201, &created))
}

/// Shared tail of update, patch and apply: subresource rules, finalizer rules, validation,
/// admission, managedFields and persistence.
async fn update_object(
    shared: &Shared,
    req: &ApiRequest,
    store: &mut Store,
    old: Value,
    mut new: Value,
    applied: Option<BTreeSet<crate::fieldpath::FieldPath>>,
) -> ApiResult<Value> {
    let rt = &req.rt;
    check_identity(rt, &new)?;
    new = to_stored(rt, new);
    // `old` may be in the served form; use the stored form from here on.
    let old = store.get(rt, req.ns(), req.name()).unwrap_or(old);
    if !new.get("metadata").is_some_and(Value::is_object) {
        new["metadata"] = json!({});
    }
    let old_rv = old
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let new_rv = new
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !new_rv.is_empty() && new_rv != old_rv {
        return Err(ApiError::conflict(
            &rt.group,
            &rt.plural,
            req.name(),
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let body_name = new
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or(req.name());
    if body_name != req.name() {
        return Err(ApiError::bad_request(
            "the name of the object does not match the name on the URL",
        ));
    }
    if req.on_status() {
        let status = new.get("status").cloned();
        let managed = new.pointer("/metadata/managedFields").cloned();
        new = old.clone();
        match status {
            Some(s) => new["status"] = s,
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        if let Some(mf) = managed {
            new["metadata"]["managedFields"] = mf;
        }
    } else if rt.status_subresource {
        match old.get("status") {
            Some(s) => new["status"] = s.clone(),
            None => {
                if let Some(m) = new.as_object_mut() {
                    m.remove("status");
                }
            }
        }
    }
    if rt.kind == "CustomResourceDefinition" && !req.on_status() {
        crd_status(&mut new);
    }
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        let old_f: Vec<Value> = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let added = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|fs| fs.iter().any(|f| !old_f.contains(f)));
        if added {
            return Err(ApiError::invalid(
                &rt.kind,
                &rt.group,
                req.name(),
                vec![Cause {
                    reason: "FieldValueForbidden".into(),
                    message:
                        "Forbidden: no new finalizers can be added if the object is being deleted"
                            .into(),
                    field: "metadata.finalizers".into(),
                }],
            ));
        }
    }
    new["metadata"]["resourceVersion"] = json!(old_rv);
    fold_string_data(rt, &mut new);
    validate_object(rt, &mut new, Some(&old), &req.query)?;
    let mut new = admit(shared, req, "UPDATE", Some(new), Some(&old))
        .await?
        .unwrap_or(Value::Null);
    let sub = req.path.sub.as_deref();
    match applied {
        Some(paths) => fields::record_apply(
            &mut new,
            Some(&fields::before_first_apply(old.clone(), rt.schema.as_ref())),
            &req.ctx.field_manager,
            &rt.api_version(),
            sub,
            paths,
        ),
        None => fields::record_update(
            &mut new,
            Some(&old),
            &req.ctx.field_manager,
            &rt.api_version(),
            sub,
            rt.schema.as_ref(),
        ),
    }
    if req.ctx.dry_run {
        return Ok(new);
    }
    let (stored, removed) = store.commit_update(rt, &old, new);
    if rt.kind == "CustomResourceDefinition" && !removed {
        store.register_crd(&stored);
    }
    Ok(present(rt, stored))
}

pub(crate) async fn update(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let new = parse_body(req)?;
    let mut store = shared.store.lock().await;
    let old = store.get(&req.rt, req.ns(), req.name())?;
    let stored = update_object(shared, req, &mut store, old, new, None).await?;
    Ok(json_response(200, &stored))
}

pub(crate) async fn patch_object(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let body = parse_body(req)?;
    let mut store = shared.store.lock().await;
    if ct == "application/apply-patch+yaml" {
        let result = apply(shared, req, &mut store, body).await?;
        return Ok(json_response(result.0, &result.1));
    }
    let old = present(&req.rt, store.get(&req.rt, req.ns(), req.name())?);
    let mut doc = old.clone();
    match ct.as_str() {
        "application/json-patch+json" => patch::json_patch(&mut doc, &body)?,
        "application/merge-patch+json" => patch::merge_patch(&mut doc, &body),
        "application/strategic-merge-patch+json" => {
            if req.rt.custom {
                return Err(ApiError::unsupported_media_type(format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (strategic merge patch is not supported for custom resource {}.{})",
                    req.rt.plural, req.rt.group
                )));
            }
            patch::strategic_merge_patch(&mut doc, &body);
        }
        other => {
            return Err(ApiError::unsupported_media_type(format!(
                "the body of the request was in an unknown format - {other}"
            )));
        }
    }
    let stored = update_object(shared, req, &mut store, old, doc, None).await?;
    Ok(json_response(200, &stored))
}

async fn apply(
    shared: &Shared,
    req: &ApiRequest,
    store: &mut Store,
    applied: Value,
) -> ApiResult<(u16, Value)> {
    if !req.query.contains_key("fieldManager") {
        // As kube-apiserver: 422 on the PatchOptions, not 400.
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            }],
        ));
    }
    let force = req.query.get("force").is_some_and(|f| f == "true");
    let mut applied = applied;
    if !applied.is_object() {
        return Err(ApiError::bad_request("apply patch must be an object"));
    }
    if req.rt.status_subresource
        && !req.on_status()
        && let Some(m) = applied.as_object_mut()
    {
        m.remove("status");
    }
    if req.on_status() {
        let status = applied.get("status").cloned();
        applied = json!({"apiVersion": applied.get("apiVersion"), "kind": applied.get("kind"), "metadata": {"name": req.name()}});
        if let Some(s) = status {
            applied["status"] = s;
        }
    }
    let paths = crate::fieldpath::leaf_paths(&applied, req.rt.schema.as_ref());
    match store.get(&req.rt, req.ns(), req.name()) {
        Err(e) if e.code == 404 && !req.on_status() => {
            let mut obj = applied.clone();
            if obj.pointer("/metadata/name").is_none() {
                obj["metadata"]["name"] = json!(req.name());
            }
            let created = create_object(shared, req, store, obj, Some(paths)).await?;
            Ok((201, created))
        }
        Err(e) => Err(e),
        Ok(old) => {
            let old = fields::before_first_apply(present(&req.rt, old), req.rt.schema.as_ref());
            let merged = fields::apply_changes(
                &req.rt,
                &old,
                &applied,
                &paths,
                &req.ctx.field_manager,
                force,
                req.name(),
            )?;
            let stored = update_object(shared, req, store, old, merged, Some(paths)).await?;
            Ok((200, stored))
        }
    }
}
