//! Each provider's message, sent over real HTTP to a local receiver that plays that provider:
//! it checks the URL token, verifies the signature with its own implementation of the provider's
//! documented algorithm (Lark, DingTalk, schemagate's webhook), validates the payload against the
//! provider's documented schema (required fields, types, size limits) and answers the way the
//! provider does, errors included, so `check_response` is tested on real answers too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use schemagate::api::{NotificationEvent, NotificationKind};
use schemagate::notify::{
    ChannelSecret, EXAMPLE_UNIX, FindingLine, Notice, Outgoing, check_response, example_notice,
    render,
};
use serde_json::Value;

const TOKEN: &str = "TOKENCANARY7f3a9";
const KEY: &str = "KEYCANARY-51c2e8";

/// What a provider checks a message against, and how it answers.
#[derive(Clone, Copy)]
struct Provider {
    kind: NotificationKind,
    /// The webhook URL's path and query, with `{t}` for the token.
    path: &'static str,
    /// Validates one request (URL, headers, body); `Err` is the provider's refusal.
    validate: fn(&Uri, &HeaderMap, &[u8]) -> Result<(), String>,
    /// The answer for a verdict: status and body.
    answer: fn(&Result<(), String>) -> (u16, String),
}

/// One request as the receiver saw it.
struct Seen {
    body: Vec<u8>,
    verdict: Result<(), String>,
}

#[derive(Clone)]
struct Receiver {
    provider: Provider,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn receive(
    State(r): State<Receiver>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let verdict = if uri.to_string().contains(TOKEN) {
        (r.provider.validate)(&uri, &headers, &body)
    } else {
        Err("token".to_owned())
    };
    let (status, text) = (r.provider.answer)(&verdict);
    r.seen.lock().unwrap().push(Seen {
        body: body.to_vec(),
        verdict,
    });
    (StatusCode::from_u16(status).unwrap(), text)
}

/// Starts a receiver for `provider`; returns its base URL and what it saw.
async fn start(provider: Provider) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().fallback(receive).with_state(Receiver {
        provider,
        seen: seen.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

/// POSTs `out` with a plain hyper client: (status, body).
async fn post(out: &Outgoing) -> (u16, Vec<u8>) {
    let uri: hyper::Uri = out.url.parse().unwrap();
    let authority = uri.authority().unwrap().clone();
    let stream = tokio::net::TcpStream::connect(authority.as_str())
        .await
        .unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut request = hyper::Request::post(uri.path_and_query().unwrap().as_str())
        .header("Host", authority.as_str());
    for (name, value) in &out.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(Bytes::from(out.body.clone())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

// ---- schema helpers -------------------------------------------------------------------------

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("missing `{name}`"))
}

fn text<'a>(v: &'a Value, name: &str, max_chars: usize) -> Result<&'a str, String> {
    let s = field(v, name)?
        .as_str()
        .ok_or_else(|| format!("`{name}` is not a string"))?;
    if s.is_empty() {
        return Err(format!("`{name}` is empty"));
    }
    let n = s.chars().count();
    if n > max_chars {
        return Err(format!(
            "`{name}` has {n} characters, more than {max_chars}"
        ));
    }
    Ok(s)
}

fn array<'a>(v: &'a Value, name: &str, max: usize) -> Result<&'a Vec<Value>, String> {
    let a = field(v, name)?
        .as_array()
        .ok_or_else(|| format!("`{name}` is not an array"))?;
    if a.len() > max {
        return Err(format!("`{name}` has {} items, more than {max}", a.len()));
    }
    Ok(a)
}

fn json(body: &[u8], max_bytes: usize) -> Result<Value, String> {
    if body.len() > max_bytes {
        return Err(format!("{} bytes, more than {max_bytes}", body.len()));
    }
    serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))
}

fn query(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("missing header {name}"))
}

/// The receivers' own HMAC-SHA256 (straight from the `hmac` crate, not schemagate's helper).
fn mac(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    m.update(message);
    m.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Lark and DingTalk refuse timestamps more than an hour from their clock.
fn fresh(timestamp_secs: i64) -> Result<(), String> {
    if (timestamp_secs - EXAMPLE_UNIX).abs() > 3600 {
        return Err("timestamp is not within one hour".into());
    }
    Ok(())
}

// ---- the providers ----------------------------------------------------------------------------

fn slack(_: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let v = json(body, 40_000)?;
    text(&v, "text", 40_000)?;
    let blocks = array(&v, "blocks", 50)?;
    let mut action_ids = std::collections::HashSet::new();
    for b in blocks {
        match text(b, "type", 50)? {
            "header" => {
                let t = field(b, "text")?;
                if text(t, "type", 20)? != "plain_text" {
                    return Err("header text must be plain_text".into());
                }
                text(t, "text", 150)?;
            }
            "section" => {
                if let Some(t) = b.get("text") {
                    text(t, "text", 3000)?;
                } else {
                    for f in array(b, "fields", 10)? {
                        text(f, "text", 2000)?;
                    }
                }
            }
            "actions" => {
                for e in array(b, "elements", 25)? {
                    text(field(e, "text")?, "text", 75)?;
                    if !action_ids.insert(text(e, "action_id", 255)?.to_owned()) {
                        return Err("duplicate action_id".into());
                    }
                    if e.get("value").is_some() {
                        text(e, "value", 2000)?;
                    }
                    if e.get("url").is_some() {
                        text(e, "url", 3000)?;
                    }
                }
            }
            "context" => {
                for e in array(b, "elements", 10)? {
                    text(e, "text", 3000)?;
                }
            }
            other => return Err(format!("unknown block type {other}")),
        }
    }
    Ok(())
}

fn slack_answer(v: &Result<(), String>) -> (u16, String) {
    match v {
        Ok(()) => (200, "ok".into()),
        Err(e) if e == "token" => (404, "no_service".into()),
        Err(_) => (400, "invalid_blocks".into()),
    }
}

fn teams(_: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let v = json(body, 28 * 1024)?;
    if text(&v, "type", 20)? != "message" {
        return Err("type must be message".into());
    }
    let attachment = array(&v, "attachments", 10)?
        .first()
        .ok_or("no attachment")?;
    if text(attachment, "contentType", 100)? != "application/vnd.microsoft.card.adaptive" {
        return Err("not an adaptive card".into());
    }
    let card = field(attachment, "content")?;
    if text(card, "type", 20)? != "AdaptiveCard" {
        return Err("content.type must be AdaptiveCard".into());
    }
    let version: f64 = text(card, "version", 5)?.parse().map_err(|_| "version")?;
    if version > 1.4 {
        return Err(format!(
            "card version {version} is newer than Teams renders"
        ));
    }
    for element in array(card, "body", 200)? {
        match text(element, "type", 30)? {
            "TextBlock" => drop(text(element, "text", 20_000)?),
            "FactSet" => {
                for f in array(element, "facts", 50)? {
                    text(f, "title", 200)?;
                    text(f, "value", 2000)?;
                }
            }
            other => return Err(format!("unexpected element {other}")),
        }
    }
    if let Some(actions) = card.get("actions") {
        for a in actions.as_array().ok_or("actions")? {
            if text(a, "type", 30)? != "Action.OpenUrl"
                || !text(a, "url", 3000)?.starts_with("https://")
            {
                return Err("only Action.OpenUrl with an https url".into());
            }
        }
    }
    Ok(())
}

fn teams_answer(v: &Result<(), String>) -> (u16, String) {
    match v {
        Ok(()) => (200, "1".into()),
        // The older connector reports a failed post inside a 200.
        Err(e) => (
            200,
            format!("Webhook message delivery failed with error: {e}"),
        ),
    }
}

fn lark(_: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let v = json(body, 20_000)?;
    let timestamp = text(&v, "timestamp", 12)?;
    let sign = text(&v, "sign", 100)?;
    fresh(timestamp.parse().map_err(|_| "timestamp is not a number")?)?;
    let expected = b64(&mac(format!("{timestamp}\n{KEY}").as_bytes(), b""));
    if sign != expected {
        return Err("sign match fail".into());
    }
    if text(&v, "msg_type", 20)? != "interactive" {
        return Err("msg_type".into());
    }
    let card = field(&v, "card")?;
    let title = field(field(card, "header")?, "title")?;
    if text(title, "tag", 20)? != "plain_text" {
        return Err("header title tag".into());
    }
    text(title, "content", 500)?;
    for e in array(card, "elements", 50)? {
        match text(e, "tag", 20)? {
            "hr" => {}
            "div" => {
                if let Some(t) = e.get("text") {
                    text(t, "content", 10_000)?;
                } else {
                    for f in array(e, "fields", 20)? {
                        text(field(f, "text")?, "content", 2000)?;
                    }
                }
            }
            "action" => {
                for b in array(e, "actions", 10)? {
                    text(field(b, "text")?, "content", 100)?;
                    if b.get("value").is_some_and(|x| !x.is_object()) {
                        return Err("a button value must be an object".into());
                    }
                }
            }
            "note" => drop(array(e, "elements", 10)?),
            other => return Err(format!("unknown element {other}")),
        }
    }
    Ok(())
}

fn lark_answer(v: &Result<(), String>) -> (u16, String) {
    match v {
        Ok(()) => (200, r#"{"code":0,"data":{},"msg":"success"}"#.into()),
        Err(e) if e.starts_with("sign") || e.starts_with("timestamp") => {
            (200, format!(r#"{{"code":19021,"data":{{}},"msg":"{e}"}}"#))
        }
        Err(e) => (200, format!(r#"{{"code":9499,"data":{{}},"msg":"{e}"}}"#)),
    }
}

fn dingtalk(uri: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    if query(uri, "access_token").as_deref() != Some(TOKEN) {
        return Err("token".into());
    }
    let timestamp = query(uri, "timestamp").ok_or("timestamp missing")?;
    let ms: i64 = timestamp.parse().map_err(|_| "timestamp")?;
    fresh(ms / 1000)?;
    let expected = b64(&mac(
        KEY.as_bytes(),
        format!("{timestamp}\n{KEY}").as_bytes(),
    ));
    if query(uri, "sign").as_deref() != Some(expected.as_str()) {
        return Err("sign not match".into());
    }
    let v = json(body, 40_000)?;
    if text(&v, "msgtype", 20)? != "markdown" {
        return Err("msgtype".into());
    }
    let md = field(&v, "markdown")?;
    text(md, "title", 200)?;
    let t = text(md, "text", usize::MAX)?;
    if t.len() > 20_000 {
        return Err(format!("text is {} bytes", t.len()));
    }
    Ok(())
}

fn errcode_answer(v: &Result<(), String>, code: u32) -> (u16, String) {
    match v {
        Ok(()) => (200, r#"{"errcode":0,"errmsg":"ok"}"#.into()),
        Err(e) => (200, format!(r#"{{"errcode":{code},"errmsg":"{e}"}}"#)),
    }
}

fn dingtalk_answer(v: &Result<(), String>) -> (u16, String) {
    errcode_answer(v, 310_000)
}

fn wecom(uri: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    if query(uri, "key").as_deref() != Some(TOKEN) {
        return Err("invalid webhook url".into());
    }
    let v = json(body, 20_000)?;
    if text(&v, "msgtype", 20)? != "markdown" {
        return Err("msgtype".into());
    }
    let content = text(field(&v, "markdown")?, "content", usize::MAX)?;
    if content.len() > 4096 {
        return Err(format!("content is {} bytes", content.len()));
    }
    Ok(())
}

fn wecom_answer(v: &Result<(), String>) -> (u16, String) {
    errcode_answer(v, 93_000)
}

fn discord(_: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let v = json(body, 100_000)?;
    text(&v, "content", 2000)?;
    for embed in array(&v, "embeds", 10)? {
        let mut total = text(embed, "title", 256)?.chars().count();
        total += text(embed, "description", 4096)?.chars().count();
        total += text(field(embed, "footer")?, "text", 2048)?.chars().count();
        for f in array(embed, "fields", 25)? {
            total +=
                text(f, "name", 256)?.chars().count() + text(f, "value", 1024)?.chars().count();
        }
        if total > 6000 {
            return Err(format!("embed text is {total} characters"));
        }
        if field(embed, "color")?
            .as_u64()
            .is_none_or(|c| c > 0xFF_FF_FF)
        {
            return Err("color".into());
        }
        if embed.get("timestamp").is_some() {
            chrono::DateTime::parse_from_rfc3339(text(embed, "timestamp", 40)?)
                .map_err(|e| format!("timestamp: {e}"))?;
        }
    }
    Ok(())
}

fn discord_answer(v: &Result<(), String>) -> (u16, String) {
    match v {
        Ok(()) => (204, String::new()),
        Err(e) if e == "token" => (
            401,
            r#"{"message":"Invalid Webhook Token","code":50027}"#.into(),
        ),
        Err(e) => (
            400,
            format!(r#"{{"message":"Invalid Form Body: {e}","code":50035}}"#),
        ),
    }
}

fn googlechat(_: &Uri, _: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let v = json(body, 32_000)?;
    text(&v, "text", 4096)?;
    for c in array(&v, "cardsV2", 10)? {
        text(c, "cardId", 64)?;
        let card = field(c, "card")?;
        text(field(card, "header")?, "title", 500)?;
        let mut widgets = 0;
        for s in array(card, "sections", 100)? {
            for w in array(s, "widgets", 100)? {
                widgets += 1;
                let kinds = ["decoratedText", "textParagraph", "buttonList"];
                let present: Vec<_> = kinds.iter().filter(|k| w.get(**k).is_some()).collect();
                if present.len() != 1 {
                    return Err("a widget must be exactly one kind".into());
                }
                if let Some(list) = w.get("buttonList") {
                    for b in array(list, "buttons", 10)? {
                        let url = &b["onClick"]["openLink"]["url"];
                        if !url.as_str().is_some_and(|u| u.starts_with("https://")) {
                            return Err("button without an https openLink".into());
                        }
                    }
                }
            }
        }
        if widgets > 100 {
            return Err(format!("{widgets} widgets"));
        }
    }
    Ok(())
}

fn googlechat_answer(v: &Result<(), String>) -> (u16, String) {
    match v {
        Ok(()) => (200, r#"{"name":"spaces/AAAA/messages/BBBB"}"#.into()),
        Err(e) => (
            400,
            format!(r#"{{"error":{{"code":400,"message":"{e}","status":"INVALID_ARGUMENT"}}}}"#),
        ),
    }
}

fn webhook(_: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let timestamp = header(headers, "x-schemagate-timestamp")?;
    let mut signed = format!("{timestamp}.").into_bytes();
    signed.extend_from_slice(body);
    let expected = format!("sha256={}", hex::encode(mac(KEY.as_bytes(), &signed)));
    if header(headers, "x-schemagate-signature")? != expected {
        return Err("bad signature".into());
    }
    let v = json(body, 1_000_000)?;
    if field(&v, "deliveryKey")? != header(headers, "x-schemagate-delivery")? {
        return Err("delivery key differs from the header".into());
    }
    Ok(())
}

fn webhook_answer(v: &Result<(), String>) -> (u16, String) {
    match v {
        Ok(()) => (200, String::new()),
        Err(e) => (401, e.clone()),
    }
}

const PROVIDERS: [Provider; 8] = [
    Provider {
        kind: NotificationKind::Slack,
        path: "/services/T0/B0/{t}",
        validate: slack,
        answer: slack_answer,
    },
    Provider {
        kind: NotificationKind::Teams,
        path: "/webhookb2/{t}",
        validate: teams,
        answer: teams_answer,
    },
    Provider {
        kind: NotificationKind::Lark,
        path: "/open-apis/bot/v2/hook/{t}",
        validate: lark,
        answer: lark_answer,
    },
    Provider {
        kind: NotificationKind::DingTalk,
        path: "/robot/send?access_token={t}",
        validate: dingtalk,
        answer: dingtalk_answer,
    },
    Provider {
        kind: NotificationKind::WeCom,
        path: "/cgi-bin/webhook/send?key={t}",
        validate: wecom,
        answer: wecom_answer,
    },
    Provider {
        kind: NotificationKind::Discord,
        path: "/api/webhooks/1/{t}",
        validate: discord,
        answer: discord_answer,
    },
    Provider {
        kind: NotificationKind::GoogleChat,
        path: "/v1/spaces/AAAA/messages?key=k&token={t}",
        validate: googlechat,
        answer: googlechat_answer,
    },
    Provider {
        kind: NotificationKind::Webhook,
        path: "/hooks/{t}",
        validate: webhook,
        answer: webhook_answer,
    },
];

fn signed(kind: NotificationKind) -> bool {
    matches!(
        kind,
        NotificationKind::Lark | NotificationKind::DingTalk | NotificationKind::Webhook
    )
}

fn secret(base: &str, p: &Provider, token: &str, key: &str) -> ChannelSecret {
    ChannelSecret {
        url: format!("{base}{}", p.path.replace("{t}", token)),
        signing_key: signed(p.kind).then(|| key.to_owned()),
    }
}

/// A notice far over every provider's limits: 200 findings, 5,000 diff lines, 10 KB of
/// multibyte detail and description.
fn oversized() -> Notice {
    let mut n = example_notice(NotificationEvent::Failed);
    let f = n.findings.as_mut().unwrap();
    f.errors = 150;
    f.warnings = 50;
    f.top = (1..=200)
        .map(|i| FindingLine {
            level: "error".into(),
            rule: "column.no-drop".into(),
            line: i,
            message: format!(
                "列 legacy_{i} を削除すると {} ",
                "データが失われます".repeat(20)
            ),
        })
        .collect();
    n.diff = (0..5000)
        .map(|i| format!("- column invoices.c{i} text ```"))
        .collect();
    n.diff_truncated = 12;
    // The notifier leaves the time empty when a condition has none.
    n.occurred_at = String::new();
    n.detail = Some("ошибка: ".repeat(1300));
    if let schemagate::notify::Subject::SchemaChange { description, .. } = &mut n.subject {
        *description = Some("説明".repeat(5000));
    }
    n
}

/// Every event, and the oversized notice, reach each provider, are valid there, and
/// `check_response` accepts the provider's answer; the body never holds the URL token or key.
#[tokio::test]
async fn every_provider_accepts_every_event_and_oversized_input() {
    for p in &PROVIDERS {
        let (base, seen) = start(*p).await;
        let secret = secret(&base, p, TOKEN, KEY);
        let mut notices: Vec<Notice> = NotificationEvent::ALL
            .into_iter()
            .map(example_notice)
            .collect();
        notices.push(oversized());
        for notice in &notices {
            let out = render(p.kind, notice, &secret, EXAMPLE_UNIX).unwrap();
            let (status, answer) = post(&out).await;
            let verdict = seen.lock().unwrap().last().unwrap().verdict.clone();
            assert_eq!(verdict, Ok(()), "{:?} {:?}", p.kind, notice.event);
            check_response(p.kind, status, &answer).unwrap_or_else(|e| panic!("{:?}: {e}", p.kind));
            let body = String::from_utf8(out.body.clone()).unwrap();
            assert!(
                !body.contains(TOKEN) && !body.contains(KEY),
                "{:?}: a secret in the body",
                p.kind
            );
            assert!(!format!("{out:?}{secret:?}").contains(TOKEN));
            assert!(!format!("{out:?}{secret:?}").contains(KEY));
        }
        // The oversized notice was cut visibly, not silently.
        let last = &seen.lock().unwrap().last().unwrap().body.clone();
        let body = String::from_utf8_lossy(last);
        if p.kind != NotificationKind::Webhook {
            assert!(
                body.contains("more findings") && body.contains("more lines"),
                "{:?}: {body}",
                p.kind
            );
        }
        assert_eq!(seen.lock().unwrap().len(), notices.len());
    }
}

/// A wrong URL token or signing key is refused the way the provider refuses it, and
/// `check_response` reports that answer as a failure (for DingTalk, WeCom and Lark: an error
/// code inside an HTTP 200).
#[tokio::test]
async fn each_providers_refusal_is_a_failure() {
    for p in &PROVIDERS {
        let (base, seen) = start(*p).await;
        let bad = if signed(p.kind) {
            secret(&base, p, TOKEN, "not-the-key")
        } else {
            secret(&base, p, "wrong-token", KEY)
        };
        let out = render(
            p.kind,
            &example_notice(NotificationEvent::AwaitingApproval),
            &bad,
            EXAMPLE_UNIX,
        )
        .unwrap();
        let (status, answer) = post(&out).await;
        assert!(
            seen.lock().unwrap()[0].verdict.is_err(),
            "{:?} took a bad request",
            p.kind
        );
        let err = check_response(p.kind, status, &answer).unwrap_err();
        assert!(!err.contains(TOKEN) && !err.contains(KEY), "{err}");
    }
}

/// A signature made an hour and more before the receiver's clock is refused (Lark, DingTalk).
#[tokio::test]
async fn stale_signatures_are_refused() {
    for p in PROVIDERS
        .iter()
        .filter(|p| matches!(p.kind, NotificationKind::Lark | NotificationKind::DingTalk))
    {
        let (base, _) = start(*p).await;
        let out = render(
            p.kind,
            &example_notice(NotificationEvent::Applied),
            &secret(&base, p, TOKEN, KEY),
            EXAMPLE_UNIX - 7200,
        )
        .unwrap();
        let (status, answer) = post(&out).await;
        assert!(
            check_response(p.kind, status, &answer).is_err(),
            "{:?}",
            p.kind
        );
    }
}

/// What a DBA needs is in each provider's message for awaiting approval: where, version,
/// author, risk, the exact digest, the findings; and for failures the reason and detail.
#[tokio::test]
async fn messages_carry_what_a_dba_needs() {
    // schemagate's webhook carries the notice itself (its unit tests check the document).
    for p in PROVIDERS
        .iter()
        .filter(|p| p.kind != NotificationKind::Webhook)
    {
        let secret = secret("http://127.0.0.1:9", p, TOKEN, KEY);
        let waiting = example_notice(NotificationEvent::AwaitingApproval);
        let body = String::from_utf8(
            render(p.kind, &waiting, &secret, EXAMPLE_UNIX)
                .unwrap()
                .body,
        )
        .unwrap();
        for needed in [
            "team-payments/payments",
            "payments-0002-drop-legacy-column (0002)",
            "0002",
            "payments-prod (prod)",
            "alice@example.com",
            "HIGH",
            waiting.sql_digest.as_deref().unwrap(),
            // Every provider links the signed one-time approval page.
            waiting
                .actions
                .as_ref()
                .unwrap()
                .approve_url
                .as_deref()
                .unwrap(),
            "2 warnings",
            "column.no-drop",
        ] {
            assert!(body.contains(needed), "{:?} lacks {needed}: {body}", p.kind);
        }
        let failed = example_notice(NotificationEvent::Failed);
        let body = String::from_utf8(render(p.kind, &failed, &secret, EXAMPLE_UNIX).unwrap().body)
            .unwrap();
        assert!(body.contains("ExecutionFailed"), "{:?}", p.kind);
        assert!(body.contains("does not exist"), "{:?}", p.kind);
        let applied = example_notice(NotificationEvent::Applied);
        let body = String::from_utf8(
            render(p.kind, &applied, &secret, EXAMPLE_UNIX)
                .unwrap()
                .body,
        )
        .unwrap();
        assert!(
            body.contains("bob@example.com") && body.contains("invoices.legacy_ref"),
            "{:?}",
            p.kind
        );
    }
}

/// Slack and Lark carry the approve/reject values in their buttons for the callback.
#[test]
fn interactive_buttons_carry_the_action_values() {
    let notice = example_notice(NotificationEvent::AwaitingApproval);
    let actions = notice.actions.clone().unwrap();
    let s = ChannelSecret {
        url: "https://x.example/h".into(),
        signing_key: None,
    };
    let slack: Value = serde_json::from_slice(
        &render(NotificationKind::Slack, &notice, &s, 0)
            .unwrap()
            .body,
    )
    .unwrap();
    let buttons = slack["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    assert_eq!(buttons["elements"][0]["action_id"], "schemagate.approve");
    assert_eq!(
        buttons["elements"][0]["value"],
        actions.approve_value.as_str()
    );
    assert_eq!(buttons["elements"][1]["action_id"], "schemagate.reject");
    assert_eq!(
        buttons["elements"][1]["value"],
        actions.reject_value.as_str()
    );
    let lark =
        String::from_utf8(render(NotificationKind::Lark, &notice, &s, 0).unwrap().body).unwrap();
    assert!(lark.contains(&actions.approve_value) && lark.contains(&actions.reject_value));
    let mut long = notice.clone();
    long.actions.as_mut().unwrap().approve_value = "v".repeat(2001);
    assert!(
        render(NotificationKind::Slack, &long, &s, 0).is_err(),
        "a cut value would not decode"
    );
}
