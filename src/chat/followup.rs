//! Slack's follow-up message: for a button click Slack shows nothing of the HTTP answer, so the
//! outcome is also POSTed, as an ephemeral message to the clicking user, to the interaction's
//! `response_url` — only when it starts with the allowed prefix (`https://hooks.slack.com/`),
//! so a request can never make the operator call anywhere else. The URL carries a token: it
//! is never logged.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Where Slack's `response_url`s point.
pub const SLACK_RESPONSE_PREFIX: &str = "https://hooks.slack.com/";

type Client = HttpClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Posts follow-up messages in the background.
pub struct FollowUp {
    prefix: String,
    client: OnceLock<Option<Client>>,
}

impl FollowUp {
    /// Follow-ups only to URLs starting with `prefix` (empty: [`SLACK_RESPONSE_PREFIX`]).
    #[must_use]
    pub fn new(prefix: String) -> Self {
        Self {
            prefix: if prefix.is_empty() {
                SLACK_RESPONSE_PREFIX.to_owned()
            } else {
                prefix
            },
            client: OnceLock::new(),
        }
    }

    fn client(&self) -> Option<&Client> {
        self.client
            .get_or_init(|| {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_native_roots()
                    .ok()?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Some(HttpClient::builder(TokioExecutor::new()).build(connector))
            })
            .as_ref()
    }

    /// Sends `text` to `url` as an ephemeral message, in the background, within 5 seconds.
    pub fn send(self: &Arc<Self>, url: Option<&str>, text: &str) {
        let Some(url) = url.filter(|u| u.starts_with(&self.prefix)) else {
            if url.is_some() {
                tracing::warn!("Slack response_url outside the allowed prefix: no follow-up");
            }
            return;
        };
        let body = serde_json::json!({
            "response_type": "ephemeral",
            "replace_original": false,
            "text": text,
        });
        let Ok(request) = hyper::Request::post(url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
        else {
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let Some(client) = this.client() else {
                tracing::warn!("no CA certificates for HTTPS: no Slack follow-up");
                return;
            };
            match tokio::time::timeout(Duration::from_secs(5), client.request(request)).await {
                Ok(Ok(r)) if r.status().is_success() => {}
                Ok(Ok(r)) => {
                    tracing::warn!(status = r.status().as_u16(), "Slack follow-up refused")
                }
                Ok(Err(_)) | Err(_) => tracing::warn!("Slack follow-up could not be sent"),
            }
        });
    }
}
