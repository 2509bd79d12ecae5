//! One file per provider, each building that provider's own message format; this file picks
//! one by channel type and holds what they share (signing, answers); `common` holds the content
//! and limits every message shares, `markdown` the markdown dialects.

mod common;
mod dingtalk;
mod discord;
mod googlechat;
mod lark;
mod markdown;
mod slack;
mod teams;
mod webhook;
mod wecom;

use super::{ChannelSecret, Notice, NotificationKind, Outgoing, RenderError};

/// The request announcing `notice` on a channel of type `kind`. `now_unix` is the current time
/// in seconds, for providers whose signatures carry a timestamp.
///
/// # Errors
/// The URL is not http(s), or an approval button's value is longer than the provider allows.
pub fn render(
    kind: NotificationKind,
    notice: &Notice,
    secret: &ChannelSecret,
    now_unix: i64,
) -> Result<Outgoing, RenderError> {
    if !(secret.url.starts_with("https://") || secret.url.starts_with("http://")) {
        return Err(RenderError::BadUrl);
    }
    Ok(match kind {
        NotificationKind::Webhook => webhook::render(notice, secret, now_unix),
        NotificationKind::Slack => slack::render(notice, secret)?,
        NotificationKind::Teams => teams::render(notice, secret),
        NotificationKind::Lark => lark::render(notice, secret, now_unix),
        NotificationKind::DingTalk => dingtalk::render(notice, secret, now_unix),
        NotificationKind::WeCom => wecom::render(notice, secret),
        NotificationKind::Discord => discord::render(notice, secret),
        NotificationKind::GoogleChat => googlechat::render(notice, secret),
    })
}

/// Whether the receiver accepted the message. Besides the HTTP status, some providers answer
/// 200 with an error code in the body (DingTalk, WeCom, Lark): those are failures too.
///
/// # Errors
/// A short description of the refusal, without the URL.
pub fn check_response(kind: NotificationKind, status: u16, body: &[u8]) -> Result<(), String> {
    match kind {
        NotificationKind::Teams => teams::check(status, body),
        NotificationKind::Lark => lark::check(status, body),
        NotificationKind::DingTalk | NotificationKind::WeCom => check_errcode(status, body),
        NotificationKind::Webhook
        | NotificationKind::Slack
        | NotificationKind::Discord
        | NotificationKind::GoogleChat => {
            if (200..300).contains(&status) {
                Ok(())
            } else {
                Err(refused(status, body))
            }
        }
    }
}

/// DingTalk and WeCom: HTTP 2xx and `errcode` 0 in the JSON body.
fn check_errcode(status: u16, body: &[u8]) -> Result<(), String> {
    if (200..300).contains(&status) && common::json_code(body, "errcode") == Some(0) {
        Ok(())
    } else {
        Err(refused(status, body))
    }
}

/// A refusal as the error message: status and the start of the body.
fn refused(status: u16, body: &[u8]) -> String {
    format!("HTTP {status}: {}", excerpt(body))
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
