//! Lark / Feishu custom bot: an interactive card.
//!
//! Body: `{"msg_type": "interactive", "card": {...}}`, and with a signing key also
//! `"timestamp"` (unix seconds, as a string) and `"sign"`: base64 of HMAC-SHA256 whose key is
//! `"<timestamp>\n<secret>"` over an empty message (Lark's "signature verification" setting;
//! Lark refuses timestamps more than an hour off). The card has a coloured header, the facts as
//! short fields, the findings, the diff, the detail, `schemagate.approve` / `schemagate.reject`
//! buttons whose `value` objects come back in card callbacks, the approval link, and a note with
//! the SQL digest. Lark answers HTTP 200 with `{"code": 0, ...}` on success; any other `code`
//! (19021 bad signature, 9499 bad payload, 11232 rate limited, …) is a failure.

use base64::Engine as _;

use super::common::{self, Shape, Tone};
use crate::notify::{ChannelSecret, Notice, Outgoing};

/// The custom bot's request size limit.
const BODY_BYTES: usize = 20_000;

fn template(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "green",
        Tone::Accent => "blue",
        Tone::Warning => "orange",
        Tone::Danger => "red",
    }
}

fn markdown(text: &str) -> serde_json::Value {
    serde_json::json!({"tag": "div", "text": {"tag": "lark_md", "content": text}})
}

fn plain(text: &str) -> serde_json::Value {
    serde_json::json!({"tag": "plain_text", "content": text})
}

fn card(notice: &Notice, shape: &Shape) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = common::facts(notice)
        .into_iter()
        .map(|f| {
            serde_json::json!({
                "is_short": true,
                "text": {"tag": "lark_md", "content": format!("**{}**\n{}", f.label, f.value)},
            })
        })
        .collect();
    let mut elements = vec![serde_json::json!({"tag": "div", "fields": fields})];
    if let Some(description) = common::description(notice, shape) {
        elements.push(markdown(&description));
    }
    if let Some(counts) = common::findings_counts(notice) {
        let mut text = format!("**Findings:** {counts}");
        for line in common::finding_lines(notice, shape) {
            text.push_str("\n- ");
            text.push_str(&line);
        }
        elements.push(markdown(&text));
    }
    let diff = common::diff_lines(notice, shape);
    if !diff.is_empty() {
        elements.push(markdown(&format!("**Schema diff**\n{}", diff.join("\n"))));
    }
    if let Some(detail) = common::detail(notice, shape) {
        elements.push(markdown(&format!("**Detail:** {detail}")));
    }
    if let Some(actions) = &notice.actions {
        let mut buttons = vec![
            serde_json::json!({
                "tag": "button", "type": "primary", "text": plain("Approve"),
                "value": {"action": "schemagate.approve", "value": actions.approve_value},
            }),
            serde_json::json!({
                "tag": "button", "type": "danger", "text": plain("Reject"),
                "value": {"action": "schemagate.reject", "value": actions.reject_value},
            }),
        ];
        if let Some(url) = &actions.approve_url {
            buttons.push(serde_json::json!({
                "tag": "button", "type": "default", "text": plain("Approval link"), "url": url,
            }));
        }
        elements.push(serde_json::json!({"tag": "hr"}));
        elements.push(serde_json::json!({"tag": "action", "actions": buttons}));
    }
    let mut note = format!("delivery {}", notice.key);
    if let Some(digest) = common::digest(notice) {
        note = format!("SQL digest {digest} · {note}");
    }
    elements.push(serde_json::json!({"tag": "note", "elements": [plain(&note)]}));
    serde_json::json!({
        "config": {"wide_screen_mode": true},
        "header": {
            "title": plain(&common::headline(notice)),
            "template": template(common::tone(notice)),
        },
        "elements": elements,
    })
}

/// Lark's signature: base64(HMAC-SHA256(key = "<timestamp>\n<secret>", message = "")).
fn sign(timestamp: i64, secret: &str) -> String {
    let key = format!("{timestamp}\n{secret}");
    base64::engine::general_purpose::STANDARD.encode(super::hmac_sha256(key.as_bytes(), b""))
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret, now_unix: i64) -> Outgoing {
    let body = common::fit(BODY_BYTES, Vec::len, |shape| {
        let mut message = serde_json::json!({
            "msg_type": "interactive",
            "card": card(notice, shape),
        });
        if let Some(key) = &secret.signing_key {
            message["timestamp"] = serde_json::Value::String(now_unix.to_string());
            message["sign"] = serde_json::Value::String(sign(now_unix, key));
        }
        common::to_bytes(&message)
    });
    common::json_request(&secret.url, body)
}

/// HTTP 2xx and `code` 0 (older deployments answer `StatusCode` 0).
pub(super) fn check(status: u16, body: &[u8]) -> Result<(), String> {
    let code = common::json_code(body, "code").or_else(|| common::json_code(body, "StatusCode"));
    if (200..300).contains(&status) && code == Some(0) {
        Ok(())
    } else {
        Err(super::refused(status, body))
    }
}

#[cfg(test)]
mod tests {
    /// The signature is computed over nothing, keyed by the timestamp and secret, so it does
    /// not depend on the card (Lark signs the bot, not the message).
    #[test]
    fn signature_depends_on_timestamp_and_secret_only() {
        let a = super::sign(1_700_000_000, "k");
        assert_eq!(a, super::sign(1_700_000_000, "k"));
        assert_ne!(a, super::sign(1_700_000_001, "k"));
        assert_ne!(a, super::sign(1_700_000_000, "k2"));
        assert_eq!(a.len(), 44, "base64 of 32 bytes");
    }
}
