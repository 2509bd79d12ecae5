//! DingTalk custom robot: markdown.
//!
//! Body: `{"msgtype": "markdown", "markdown": {"title": …, "text": …}}` (`title` is what the
//! conversation list shows; `text` at most 20,000 bytes). With a signing key (the robot's
//! "additional signature" security setting) the URL gets `&timestamp=<unix ms>&sign=<…>`, where
//! `sign` is the URL-encoded base64 of HMAC-SHA256 keyed by the secret over
//! `"<timestamp>\n<secret>"`; DingTalk refuses timestamps more than an hour off. A robot cannot
//! carry buttons that call back: the approval link is a markdown link. DingTalk answers HTTP 200
//! with `{"errcode": 0, "errmsg": "ok"}`; any other `errcode` (310000 bad signature or keyword,
//! 410100 rate limited, 300001 bad token, …) is a failure.

use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::common;
use super::markdown::{self, Style};
use crate::notify::{ChannelSecret, Notice, Outgoing};

/// DingTalk's limit for a message.
const TEXT_BYTES: usize = 20_000;
const STYLE: Style = Style {
    code_fence: false,
    paragraph: "\n\n",
};

/// DingTalk's signature for `timestamp_ms`, URL-encoded.
fn sign(timestamp_ms: i64, secret: &str) -> String {
    let message = format!("{timestamp_ms}\n{secret}");
    let mac = super::hmac_sha256(secret.as_bytes(), message.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac);
    utf8_percent_encode(&b64, NON_ALPHANUMERIC).to_string()
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret, now_unix: i64) -> Outgoing {
    let text = common::fit(TEXT_BYTES, String::len, |shape| {
        markdown::document(notice, shape, STYLE)
    });
    let text = common::clip_bytes(&text, TEXT_BYTES);
    let body = common::to_bytes(&serde_json::json!({
        "msgtype": "markdown",
        "markdown": {"title": common::clip(&common::headline(notice), 100), "text": text},
    }));
    let mut url = secret.url.clone();
    if let Some(key) = &secret.signing_key {
        let timestamp_ms = now_unix.saturating_mul(1000);
        let glue = if url.contains('?') { '&' } else { '?' };
        url = format!(
            "{url}{glue}timestamp={timestamp_ms}&sign={}",
            sign(timestamp_ms, key)
        );
    }
    common::json_request(&url, body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::notify::{NotificationEvent, example_notice};

    fn url_for(base: &str, key: Option<&str>) -> String {
        let secret = ChannelSecret {
            url: base.to_owned(),
            signing_key: key.map(str::to_owned),
        };
        render(
            &example_notice(NotificationEvent::Applied),
            &secret,
            1_700_000_000,
        )
        .url
    }

    #[test]
    fn the_signature_joins_the_query_the_url_already_has() {
        let signed = url_for(
            "https://oapi.dingtalk.com/robot/send?access_token=t",
            Some("SECk"),
        );
        let (base, query) = signed.split_once("&timestamp=").unwrap();
        assert_eq!(base, "https://oapi.dingtalk.com/robot/send?access_token=t");
        assert!(query.starts_with("1700000000000&sign="), "{query}");
        let sign = query.split("&sign=").nth(1).unwrap();
        assert!(
            sign.chars().all(|c| c.is_ascii_alphanumeric() || c == '%'),
            "{sign}"
        );
        assert!(url_for("https://proxy.example/robot", Some("k")).contains("/robot?timestamp="));
        assert_eq!(
            url_for("https://h.example/r?access_token=t", None),
            "https://h.example/r?access_token=t"
        );
    }
}
