//! Sending one notice to one channel: the channel's Secrets, the provider's request, an HTTPS
//! POST with a deadline, the provider's verdict. Errors name what failed, never the URL, the
//! token in it or the signing key.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::api::NotificationTarget;
use crate::api::database_instance::SecretKeyRef;
use crate::notify::{self, ChannelSecret, Notice};

/// How long one delivery may take, connection included: a receiver that hangs costs this much
/// of the notifier's time, never the executor's.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Receivers' answers are read up to this size (only an error excerpt is kept).
const ANSWER_LIMIT: usize = 64 * 1024;
/// Messages per minute per channel when the channel does not say.
const DEFAULT_RATE_PER_MINUTE: u32 = 20;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// The HTTP client, per-channel rate limits and a cache-free Secret reader.
pub struct Sender {
    client: OnceLock<Result<HttpClient<Https, Full<Bytes>>, String>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Default for Sender {
    fn default() -> Self {
        Self {
            client: OnceLock::new(),
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

/// A token bucket: `capacity` messages at once, refilled at `capacity` per minute.
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Sender {
    fn client(&self) -> Result<&HttpClient<Https, Full<Bytes>>, String> {
        self.client
            .get_or_init(|| {
                let https = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .map_err(|e| format!("no CA certificates for HTTPS: {e}"))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(HttpClient::builder(TokioExecutor::new()).build(https))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Takes one message from `channel`'s budget; when it is spent, how long until one is
    /// available.
    pub fn take(&self, channel: &str, per_minute: Option<u32>) -> Result<(), Duration> {
        let capacity = f64::from(per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE).max(1));
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let now = Instant::now();
        let bucket = buckets.entry(channel.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * capacity / 60.0;
        bucket.tokens = (bucket.tokens + refill).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - bucket.tokens) * 60.0 / capacity,
            ))
        }
    }

    /// Sends `notice` to `channel`, whose Secrets are in `secrets`. `Err` is a short reason
    /// free of the channel's secrets.
    pub async fn send(
        &self,
        secrets: &Api<Secret>,
        channel: &NotificationTarget,
        notice: &Notice,
    ) -> Result<(), String> {
        let secret = ChannelSecret {
            url: read_secret(secrets, &channel.url_secret_ref).await?,
            signing_key: match &channel.signing_key_secret_ref {
                Some(r) => Some(read_secret(secrets, r).await?),
                None => None,
            },
        };
        let result = self.post(channel, notice, &secret).await;
        result.map_err(|e| redact(&e, &secret))
    }

    async fn post(
        &self,
        channel: &NotificationTarget,
        notice: &Notice,
        secret: &ChannelSecret,
    ) -> Result<(), String> {
        let outgoing = notify::render(channel.kind, notice, secret, chrono::Utc::now().timestamp())
            .map_err(|e| e.to_string())?;
        let mut request = hyper::Request::post(outgoing.url.as_str());
        for (name, value) in &outgoing.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(outgoing.body)))
            .map_err(|_| "the destination URL is not valid".to_owned())?;
        let client = self.client()?;
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| format!("sending failed: {}", crate::engine::error_chain(&e)))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), ANSWER_LIMIT)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            notify::check_response(channel.kind, status, &body)
        };
        match tokio::time::timeout(DELIVERY_TIMEOUT, exchange).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
        }
    }
}

/// The value of `key` in the Secret `name`, as text.
async fn read_secret(secrets: &Api<Secret>, r: &SecretKeyRef) -> Result<String, String> {
    let secret = secrets
        .get_opt(&r.name)
        .await
        .map_err(|e| format!("reading Secret {} failed: {e}", r.name))?
        .ok_or_else(|| format!("Secret {} not found", r.name))?;
    let value = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .ok_or_else(|| format!("Secret {} has no key {}", r.name, r.key))?;
    String::from_utf8(value.0.clone())
        .map(|v| v.trim().to_owned())
        .map_err(|_| format!("key {} of Secret {} is not text", r.key, r.name))
}

/// `text` with the channel's URL, its host and path, and its signing key blanked out: error
/// chains of HTTP and TLS libraries may quote what they were given.
fn redact(text: &str, secret: &ChannelSecret) -> String {
    let mut out = text.to_owned();
    let mut needles: Vec<&str> = vec![secret.url.as_str()];
    if let Some(rest) = secret.url.split_once("://").map(|(_, rest)| rest) {
        needles.push(rest);
        if let Some((_, path)) = rest.split_once('/') {
            needles.extend(path.split(['/', '?', '&', '=']).filter(|p| p.len() >= 8));
        }
    }
    if let Some(key) = &secret.signing_key {
        needles.push(key);
    }
    for needle in needles.into_iter().filter(|n| !n.is_empty()) {
        out = out.replace(needle, "<redacted>");
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_url_parts_and_key() {
        let secret = ChannelSecret {
            url: "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX".into(),
            signing_key: Some("signing-canary".into()),
        };
        let text = "error for https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX: \
                    token XXXXSECRETXXXX key signing-canary";
        let out = redact(text, &secret);
        assert!(!out.contains("XXXXSECRETXXXX"), "{out}");
        assert!(!out.contains("signing-canary"), "{out}");
    }

    #[test]
    fn bucket_spends_then_waits() {
        let sender = Sender::default();
        for _ in 0..3 {
            sender.take("a", Some(3)).unwrap();
        }
        let wait = sender.take("a", Some(3)).unwrap_err();
        assert!(
            wait > Duration::from_secs(15) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        sender.take("b", Some(3)).unwrap();
    }
}
