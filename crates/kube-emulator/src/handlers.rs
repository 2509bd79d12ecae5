//! Request routing to verbs, plus the read and delete verbs (get, list, delete,
//! deletecollection); writes live in `write`. Must not parse HTTP paths.

use bytes::Bytes;
use hyper::Response;
use serde_json::{Value, json};

use crate::context::RequestContext;
use crate::error::{ApiError, ApiResult};
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector, labels_of};
use crate::server::{Body, Query, ResourcePath, Shared, json_response};
use crate::table;
use crate::write;

/// A routed API request.
pub struct ApiRequest {
    /// Caller and verb.
    pub ctx: RequestContext,
    /// Resolved type.
    pub rt: ResourceType,
    /// Parsed path.
    pub path: ResourcePath,
    /// Query parameters.
    pub query: Query,
    /// Table output requested.
    pub table: bool,
    /// Request Content-Type.
    pub content_type: String,
    /// Request body.
    pub body: Bytes,
}

impl ApiRequest {
    /// Namespace from the path (`""` for cluster scope).
    pub(crate) fn ns(&self) -> &str {
        self.path.namespace.as_deref().unwrap_or("")
    }

    /// Object name from the path (`""` for collections).
    pub(crate) fn name(&self) -> &str {
        self.path.name.as_deref().unwrap_or("")
    }

    /// Whether the request targets the status subresource.
    pub(crate) fn on_status(&self) -> bool {
        self.path.sub.as_deref() == Some("status")
    }
}

/// Sets `apiVersion` and `kind` to the served version.
pub fn present(rt: &ResourceType, obj: Value) -> Value {
    let mut obj = crate::convert::to_served(rt, obj);
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    obj
}

/// Runs the non-watch verbs.
pub async fn dispatch(shared: &Shared, req: ApiRequest) -> ApiResult<Response<Body>> {
    match req.ctx.verb.as_str() {
        "get" => get(shared, &req).await,
        "list" => list(shared, &req).await,
        "create" => write::create(shared, &req).await,
        "update" => write::update(shared, &req).await,
        "patch" => write::patch_object(shared, &req).await,
        "delete" => delete(shared, &req).await,
        "deletecollection" => delete_collection(shared, &req).await,
        other => Err(ApiError::method_not_allowed(format!(
            "verb {other} is not supported"
        ))),
    }
}

async fn get(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let store = shared.store.lock().await;
    let obj = present(&req.rt, store.get(&req.rt, req.ns(), req.name())?);
    if req.table {
        let rv = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Ok(json_response(
            200,
            &table::table(&req.rt, &[obj], &rv, None, include_object(req), true),
        ));
    }
    Ok(json_response(200, &obj))
}

fn include_object(req: &ApiRequest) -> &str {
    req.query
        .get("includeObject")
        .map(String::as_str)
        .unwrap_or("Metadata")
}

/// Parsed selectors of a list or watch request.
pub struct Filter {
    /// Namespace restriction.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
}

impl Filter {
    /// Builds the filter from the request.
    pub fn from_request(req: &ApiRequest) -> ApiResult<Self> {
        Ok(Self {
            namespace: req.path.namespace.clone(),
            labels: LabelSelector::parse(
                req.query
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
            )?,
            fields: FieldSelector::parse(
                req.query
                    .get("fieldSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
            )?,
        })
    }

    /// Whether an object passes.
    pub fn matches(&self, obj: &Value) -> bool {
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        self.namespace.as_deref().is_none_or(|want| want == ns)
            && self.labels.matches(&labels_of(obj))
            && self.fields.matches(obj)
    }
}

async fn list(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let filter = Filter::from_request(req)?;
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let after: Option<(String, String)> = match req.query.get("continue").filter(|c| !c.is_empty())
    {
        Some(token) => {
            let (ns, name) = token
                .split_once('/')
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            Some((ns.to_string(), name.to_string()))
        }
        None => None,
    };
    let store = shared.store.lock().await;
    let rv = store.current_rv().to_string();
    let mut items = Vec::new();
    let mut cont = None;
    let mut remaining = 0usize;
    for obj in store.list(&req.rt, filter.namespace.as_deref()) {
        let id = (
            obj.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            obj.pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        );
        if after.as_ref().is_some_and(|a| id <= *a) || !filter.matches(obj) {
            continue;
        }
        if limit.is_some_and(|l| items.len() >= l) {
            remaining += 1;
            continue;
        }
        if limit.is_some_and(|l| items.len() + 1 == l) {
            cont = Some(format!("{}/{}", id.0, id.1));
        }
        items.push(present(&req.rt, obj.clone()));
    }
    drop(store);
    if remaining == 0 {
        cont = None;
    }
    if req.table {
        return Ok(json_response(
            200,
            &table::table(
                &req.rt,
                &items,
                &rv,
                cont.as_deref(),
                include_object(req),
                true,
            ),
        ));
    }
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
        meta["remainingItemCount"] = json!(remaining);
    }
    Ok(json_response(
        200,
        &json!({"kind": format!("{}List", req.rt.kind), "apiVersion": req.rt.api_version(), "metadata": meta, "items": items}),
    ))
}

async fn delete(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let mut store = shared.store.lock().await;
    let old = store.get(&req.rt, req.ns(), req.name())?;
    if !req.body.is_empty()
        && let Ok(opts) = serde_json::from_slice::<Value>(&req.body)
    {
        let want_rv = opts
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str);
        let want_uid = opts.pointer("/preconditions/uid").and_then(Value::as_str);
        let rv = old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str);
        let uid = old.pointer("/metadata/uid").and_then(Value::as_str);
        if want_rv.is_some_and(|w| Some(w) != rv) || want_uid.is_some_and(|w| Some(w) != uid) {
            return Err(ApiError::conflict(
                &req.rt.group,
                &req.rt.plural,
                req.name(),
                "Precondition failed: the object has changed",
            ));
        }
    }
    write::admit(shared, req, "DELETE", None, Some(&old)).await?;
    if req.ctx.dry_run {
        return Ok(json_response(200, &present(&req.rt, old)));
    }
    let (obj, gone) = store.delete(&req.rt, req.ns(), req.name())?;
    if gone {
        let uid = obj.pointer("/metadata/uid").cloned().unwrap_or(Value::Null);
        let mut details = json!({"name": req.name(), "kind": req.rt.plural, "uid": uid});
        if !req.rt.group.is_empty() {
            details["group"] = json!(req.rt.group);
        }
        return Ok(json_response(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
        ));
    }
    Ok(json_response(200, &present(&req.rt, obj)))
}

async fn delete_collection(shared: &Shared, req: &ApiRequest) -> ApiResult<Response<Body>> {
    let filter = Filter::from_request(req)?;
    let mut store = shared.store.lock().await;
    let targets: Vec<(String, String)> = store
        .list(&req.rt, filter.namespace.as_deref())
        .into_iter()
        .filter(|o| filter.matches(o))
        .map(|o| {
            (
                o.pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                o.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    let mut items = Vec::new();
    for (ns, name) in targets {
        let (obj, _) = store.delete(&req.rt, &ns, &name)?;
        items.push(present(&req.rt, obj));
    }
    let rv = store.current_rv().to_string();
    Ok(json_response(
        200,
        &json!({"kind": format!("{}List", req.rt.kind), "apiVersion": req.rt.api_version(), "metadata": {"resourceVersion": rv}, "items": items}),
    ))
}
