//! The HTTP endpoints: Slack interactivity, Lark card actions, approval links. Each verifies
//! the request (signature and freshness with the keys read now from the Secret), refuses a
//! delivery seen before, then hands the decision to [`super::approve`] under the provider's
//! deadline and answers in the provider's format.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Json, Response};
use serde_json::json;

use super::Server;
use super::approve::{Outcome, Request};
use super::keys::{self, Keys};
use crate::notify::NotificationKind;
use crate::notify::actions::{self, ActionError, LinkClaims};
use crate::notify::inbound::{self, Interaction, lark, slack};

/// Slack and Lark drop an answer after 3 seconds; leave room for the network.
const DEADLINE: Duration = Duration::from_millis(2500);

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A refusal before any verification (the keys are missing): a status and a fixed text.
struct Unavailable(StatusCode, &'static str);

impl IntoResponse for Unavailable {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

/// The values of `names` in the chat Secret, read now.
async fn read_keys(server: &Server, names: &[&'static str]) -> Result<Vec<Vec<u8>>, Unavailable> {
    let keys = Keys::read(&server.client, &server.namespace, &server.secret)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "chat callback keys unavailable");
            Unavailable(
                StatusCode::SERVICE_UNAVAILABLE,
                "approvals from chat are not available now",
            )
        })?;
    names
        .iter()
        .map(|name| {
            keys.get(&server.secret, name)
                .map(<[u8]>::to_vec)
                .map_err(|e| {
                    tracing::warn!(error = %e, "chat callback refused");
                    Unavailable(StatusCode::NOT_FOUND, "this chat provider is not set up")
                })
        })
        .collect()
}

/// The claims of a link token, verified with the link key read now.
async fn verified_link(server: &Server, token: &str) -> Result<LinkClaims, Box<Response>> {
    let keys = read_keys(server, &[keys::LINK_KEY])
        .await
        .map_err(|r| Box::new(r.into_response()))?;
    actions::verify_link(token, &keys[0], now_unix()).map_err(|e| Box::new(link_refused(&e)))
}

fn refused(provider: &str, e: &dyn std::fmt::Display, status: StatusCode) -> Response {
    tracing::info!(provider, reason = %e, "chat callback refused");
    (status, e.to_string()).into_response()
}

/// Verified click → decision → outcome, under the deadline.
async fn decide(server: &Server, i: &Interaction, via: &'static str) -> (Request, Outcome) {
    let decision = match actions::parse_button_value(&i.value) {
        Ok(d) => d,
        Err(e) => {
            let req = placeholder(i.provider, &i.user_id);
            return (req, Outcome::Stale(e.to_string()));
        }
    };
    let req = Request {
        provider: i.provider,
        chat_id: i.user_id.clone(),
        decision,
        via,
    };
    let outcome = if server.replays.first_time(&i.replay_key, now_unix()) {
        match tokio::time::timeout(DEADLINE, server.approver.decide(&req)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failed("the Kubernetes API did not answer in time".to_owned()),
        }
    } else {
        Outcome::Replayed
    };
    let c = &req.decision.change;
    tracing::info!(
        provider = i.provider.as_str(), chat_user = %i.user_id, namespace = %c.namespace,
        change = %c.name, outcome = ?outcome, "chat decision"
    );
    (req, outcome)
}

/// A request for messages about a value that is not a schemagate decision.
fn placeholder(provider: NotificationKind, chat_id: &str) -> Request {
    Request {
        provider,
        chat_id: chat_id.to_owned(),
        decision: actions::ChatDecision {
            change: actions::ChangeRef {
                namespace: String::new(),
                name: String::new(),
                uid: String::new(),
                digest: String::new(),
            },
            decision: crate::api::Decision::Approve,
        },
        via: "",
    }
}

/// `POST /chat/slack`: Slack interactivity (block_actions).
pub async fn slack(State(server): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let secret = match read_keys(&server, &[keys::SLACK_SIGNING_SECRET]).await {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let signature = header(&headers, slack::SIGNATURE_HEADER);
    let timestamp = header(&headers, slack::TIMESTAMP_HEADER);
    if let Err(e) = slack::verify(&secret[0], timestamp, signature, &body, now_unix()) {
        return refused("slack", &e, StatusCode::UNAUTHORIZED);
    }
    let interaction = match slack::parse(&body, signature.unwrap_or_default()) {
        Ok(i) => i,
        Err(e) => return refused("slack", &e, StatusCode::BAD_REQUEST),
    };
    let (req, outcome) = decide(&server, &interaction, "a Slack button").await;
    let text = outcome.message(&req);
    server
        .followup
        .send(interaction.response_url.as_deref(), &text);
    Json(json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": text,
    }))
    .into_response()
}

/// `POST /chat/lark`: Lark/Feishu card actions (and the URL check).
pub async fn lark(State(server): State<Arc<Server>>, headers: HeaderMap, body: Bytes) -> Response {
    let keys = match read_keys(
        &server,
        &[keys::LARK_ENCRYPT_KEY, keys::LARK_VERIFICATION_TOKEN],
    )
    .await
    {
        Ok(k) => k,
        Err(r) => return r.into_response(),
    };
    let lark_keys = lark::LarkKeys {
        encrypt_key: &keys[0],
        verification_token: &keys[1],
    };
    let lark_headers = lark::LarkHeaders {
        timestamp: header(&headers, lark::TIMESTAMP_HEADER),
        nonce: header(&headers, lark::NONCE_HEADER),
        signature: header(&headers, lark::SIGNATURE_HEADER),
    };
    let interaction = match lark::verify_and_parse(&lark_keys, lark_headers, &body, now_unix()) {
        Ok(lark::LarkRequest::Challenge(challenge)) => {
            return Json(json!({ "challenge": challenge })).into_response();
        }
        Ok(lark::LarkRequest::Action(i)) => i,
        Err(e @ inbound::InboundError::Malformed(_)) => {
            return refused("lark", &e, StatusCode::BAD_REQUEST);
        }
        Err(e) => return refused("lark", &e, StatusCode::UNAUTHORIZED),
    };
    let (req, outcome) = decide(&server, &interaction, "a Lark card").await;
    let kind = if outcome.recorded() {
        "success"
    } else {
        "error"
    };
    Json(json!({"toast": {"type": kind, "content": outcome.message(&req)}})).into_response()
}

/// The `token` field of a query string or form body.
fn token_of(text: &[u8]) -> String {
    form_urlencoded::parse(text)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\"><title>{t}</title></head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    (status, [("cache-control", "no-store")], Html(html)).into_response()
}

fn link_refused(e: &ActionError) -> Response {
    tracing::info!(reason = %e, "approval link refused");
    page(
        StatusCode::FORBIDDEN,
        "Approval link refused",
        &format!("<p>{e}.</p>"),
    )
}

/// `GET /chat/link?token=…`: a confirmation page only. Link previews and mail scanners fetch
/// URLs; a GET must never approve.
pub async fn link_page(State(server): State<Arc<Server>>, RawQuery(query): RawQuery) -> Response {
    let token = token_of(query.unwrap_or_default().as_bytes());
    let claims = match verified_link(&server, &token).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let c = &claims.change;
    // Names and digests were checked to be [a-z0-9.-] and hex; the token is base64url.
    page(
        StatusCode::OK,
        "Approve this schema change?",
        &format!(
            "<p>SchemaChange <b>{}/{}</b>, SQL digest <code>{}</code>.</p>\
             <form method=\"post\"><input type=\"hidden\" name=\"token\" value=\"{}\">\
             <button type=\"submit\">Approve</button></form>",
            c.namespace,
            c.name,
            c.digest,
            token.replace('"', "")
        ),
    )
}

/// `POST /chat/link` (form `token=…`): approves as the chat identity the link was issued for.
pub async fn link_approve(State(server): State<Arc<Server>>, body: Bytes) -> Response {
    let claims = match verified_link(&server, &token_of(&body)).await {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let interaction = Interaction {
        provider: claims.provider,
        user_id: claims.id.clone(),
        value: actions::button_value(&claims.change, crate::api::Decision::Approve),
        response_url: None,
        replay_key: format!("link:{}", claims.nonce),
    };
    let (req, outcome) = decide(&server, &interaction, "an approval link").await;
    let status = if outcome.recorded() {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    page(
        status,
        "Approval",
        &format!("<p>{}</p>", outcome.message(&req).replace('<', "&lt;")),
    )
}
