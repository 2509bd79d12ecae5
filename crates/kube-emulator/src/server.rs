//! HTTP front end: parses paths and queries, authenticates, negotiates Table output and
//! dispatches to the handlers; must not implement object semantics itself.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, watch};

use crate::context::{AdmissionHook, AuthError, Authenticator, RequestContext};
use crate::discovery;
use crate::error::{ApiError, ApiResult};
use crate::handlers;
use crate::registry::ResourceType;
use crate::store::Store;

/// Response body: a full JSON document or a stream of watch events.
pub type Body = BoxBody<Bytes, Infallible>;

/// State shared by all connections.
pub struct Shared {
    /// Objects and types.
    pub store: Mutex<Store>,
    /// Authenticates requests.
    pub authenticator: Arc<dyn Authenticator>,
    /// Admission hooks, called in order before persisting.
    pub admission: Vec<Arc<dyn AdmissionHook>>,
    /// How often watches with `allowWatchBookmarks=true` get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Flips to `true` on shutdown; open watches end.
    pub shutdown: watch::Receiver<bool>,
}

/// A parsed resource path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource.
    pub plural: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`status`).
    pub sub: Option<String>,
}

/// Query parameters (last value wins).
pub type Query = HashMap<String, String>;

/// Serializes a JSON response.
pub fn json_response(code: u16, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)).boxed());
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// Renders an error as a `Status` response.
pub fn error_response(e: &ApiError) -> Response<Body> {
    json_response(e.code, &e.to_status())
}

/// A streaming response fed by a channel of newline-terminated JSON lines.
pub fn stream_response(rx: mpsc::Receiver<Bytes>, table: bool) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    let mut resp = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    let ct = if table {
        "application/json;as=Table;g=meta.k8s.io;v=v1"
    } else {
        "application/json"
    };
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ct),
    );
    resp.headers_mut().insert(
        hyper::header::TRANSFER_ENCODING,
        hyper::header::HeaderValue::from_static("chunked"),
    );
    resp
}

fn parse_resource(group: &str, version: &str, rest: &[&str]) -> Option<ResourcePath> {
    let own = |s: Option<&&str>| s.map(|s| s.to_string());
    let namespaced = rest.first() == Some(&"namespaces")
        && rest.len() >= 3
        && !(rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, rest) = if namespaced {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    if rest.is_empty() || rest.len() > 3 {
        return None;
    }
    Some(ResourcePath {
        group: group.into(),
        version: version.into(),
        plural: rest[0].into(),
        namespace,
        name: own(rest.get(1)),
        sub: own(rest.get(2)),
    })
}

fn parse_query(q: Option<&str>) -> Query {
    form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Handles one HTTP request.
pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    Ok(match route(shared, req).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    })
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> ApiResult<Response<Body>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parse_query(parts.uri.query());
    let user = shared
        .authenticator
        .authenticate(&parts.headers)
        .map_err(|e| match e {
            AuthError::Unauthenticated => ApiError {
                code: 401,
                reason: "Unauthorized",
                message: "Unauthorized".into(),
                details: None,
                causes: Vec::new(),
            },
            AuthError::ImpersonationForbidden(message) => ApiError::forbidden(message),
        })?;
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if parts.method == Method::GET {
        let reg = shared.store.lock().await.registry.clone();
        let doc = match segs.as_slice() {
            ["version"] => Some(discovery::version()),
            ["healthz" | "readyz" | "livez"] => {
                let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")).boxed());
                resp.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("text/plain"),
                );
                return Ok(resp);
            }
            ["api"] => Some(discovery::core_versions()),
            ["api", v] => {
                Some(discovery::resource_list(&reg, "", v).ok_or_else(ApiError::no_route)?)
            }
            ["apis"] => Some(discovery::group_list(&reg)),
            ["apis", g] => Some(discovery::group(&reg, g).ok_or_else(ApiError::no_route)?),
            ["apis", g, v] => {
                Some(discovery::resource_list(&reg, g, v).ok_or_else(ApiError::no_route)?)
            }
            ["openapi", "v3"] => {
                let hash = format!(
                    "{:016X}",
                    reg.all().len() as u64 * 7919
                        + reg.all().iter().map(|t| t.plural.len() as u64).sum::<u64>()
                );
                Some(discovery::openapi_v3_index(&reg, &hash))
            }
            ["openapi", "v3", "api", v] => Some(
                discovery::openapi_v3_group_version(&reg, "", v).ok_or_else(ApiError::no_route)?,
            ),
            ["openapi", "v3", "apis", g, v] => Some(
                discovery::openapi_v3_group_version(&reg, g, v).ok_or_else(ApiError::no_route)?,
            ),
            _ => None,
        };
        if let Some(doc) = doc {
            return Ok(json_response(200, &doc));
        }
    }
    let rp = match segs.as_slice() {
        ["api", v, rest @ ..] => parse_resource("", v, rest),
        ["apis", g, v, rest @ ..] => parse_resource(g, v, rest),
        _ => None,
    }
    .ok_or_else(ApiError::no_route)?;
    let rt: ResourceType = shared
        .store
        .lock()
        .await
        .registry
        .find(&rp.group, &rp.version, &rp.plural)
        .cloned()
        .ok_or_else(ApiError::no_route)?;
    if rp.namespace.is_some() && !rt.namespaced {
        return Err(ApiError::no_route());
    }
    if let Some(sub) = &rp.sub
        && (sub != "status" || !rt.status_subresource)
    {
        return Err(ApiError::no_route());
    }
    let accept = parts
        .headers
        .get(hyper::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let table = accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table"));
    let content_type = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    if content_type.contains("cbor") {
        return Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - {content_type} is not supported by kube-emulator; send application/json"
        )));
    }
    let user_agent = parts
        .headers
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("unknown");
    let field_manager = query.get("fieldManager").cloned().unwrap_or_else(|| {
        user_agent
            .split('/')
            .next()
            .unwrap_or("unknown")
            .to_string()
    });
    let verb = match (&parts.method, rp.name.is_some()) {
        (&Method::GET, false) if query.get("watch").is_some_and(|w| w == "true" || w == "1") => {
            "watch"
        }
        (&Method::GET, false) => "list",
        (&Method::GET, true) => "get",
        (&Method::POST, false) => "create",
        (&Method::PUT, true) => "update",
        (&Method::PATCH, true) => "patch",
        (&Method::DELETE, true) => "delete",
        (&Method::DELETE, false) => "deletecollection",
        (m, _) => {
            return Err(ApiError::method_not_allowed(format!(
                "method {m} is not supported here"
            )));
        }
    };
    let ctx = RequestContext {
        user,
        verb: verb.to_string(),
        field_manager,
        dry_run: query.get("dryRun").is_some_and(|d| d == "All"),
    };
    let body_bytes = body
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("reading request body: {e}")))?
        .to_bytes();
    let req = handlers::ApiRequest {
        ctx,
        rt,
        path: rp,
        query,
        table,
        content_type,
        body: body_bytes,
    };
    match verb {
        "watch" => crate::watch::watch(shared, req).await,
        _ => handlers::dispatch(&shared, req).await,
    }
}
