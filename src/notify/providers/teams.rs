//! Microsoft Teams incoming webhook (Workflows or the older connector): an Adaptive Card.
//!
//! Body: `{"type": "message", "attachments": [{"contentType":
//! "application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard 1.4>}]}`. The card holds a
//! coloured `TextBlock` headline, a `FactSet` (project, change, version, instance and
//! environment, author, risk, approvers, reason, time), the findings, the diff in a monospace
//! block, the detail, the SQL digest, and an `Action.OpenUrl` to the signed approval link (an
//! incoming webhook cannot carry buttons that call back). Teams refuses payloads over about
//! 28 KB. Workflows answer 202; the old connector answers 200 with `1`, or 200 with a text that
//! starts `Webhook message delivery failed` when it could not post.

use super::common::{self, Shape, Tone};
use crate::notify::{ChannelSecret, Notice, Outgoing};

const BODY_BYTES: usize = 27_000;
/// Adaptive Cards 1.4: the newest version every Teams client renders.
const CARD_VERSION: &str = "1.4";

fn colour(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "Good",
        Tone::Accent => "Accent",
        Tone::Warning => "Warning",
        Tone::Danger => "Attention",
    }
}

fn text_block(text: &str) -> serde_json::Value {
    serde_json::json!({"type": "TextBlock", "text": text, "wrap": true})
}

fn card(notice: &Notice, shape: &Shape) -> serde_json::Value {
    let facts: Vec<serde_json::Value> = common::facts(notice)
        .into_iter()
        .map(|f| serde_json::json!({"title": f.label, "value": f.value}))
        .collect();
    let mut body = vec![
        serde_json::json!({
            "type": "TextBlock", "text": common::headline(notice), "wrap": true,
            "size": "Medium", "weight": "Bolder", "color": colour(common::tone(notice)),
        }),
        serde_json::json!({"type": "FactSet", "facts": facts}),
    ];
    if let Some(description) = common::description(notice, shape) {
        body.push(text_block(&description));
    }
    if let Some(counts) = common::findings_counts(notice) {
        body.push(text_block(&format!("**Findings:** {counts}")));
        let lines: Vec<String> = common::finding_lines(notice, shape)
            .iter()
            .map(|l| format!("- {l}"))
            .collect();
        if !lines.is_empty() {
            body.push(text_block(&lines.join("\n")));
        }
    }
    let diff = common::diff_lines(notice, shape);
    if !diff.is_empty() {
        body.push(text_block("**Schema diff**"));
        body.push(serde_json::json!({
            "type": "TextBlock", "text": diff.join("\n\n"), "wrap": true, "fontType": "Monospace",
        }));
    }
    if let Some(detail) = common::detail(notice, shape) {
        body.push(text_block(&format!("**Detail:** {detail}")));
    }
    if let Some(digest) = common::digest(notice) {
        body.push(serde_json::json!({
            "type": "TextBlock", "text": format!("SQL digest: {digest}"), "wrap": true,
            "fontType": "Monospace", "isSubtle": true, "size": "Small",
        }));
    }
    let mut card = serde_json::json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    });
    if let Some(url) = notice.actions.as_ref().and_then(|a| a.approve_url.as_ref()) {
        card["actions"] = serde_json::json!([
            {"type": "Action.OpenUrl", "title": "Review and approve", "url": url},
        ]);
    }
    card
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret) -> Outgoing {
    let body = common::fit(BODY_BYTES, Vec::len, |shape| {
        common::to_bytes(&serde_json::json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card(notice, shape),
            }],
        }))
    });
    common::json_request(&secret.url, body)
}

/// 2xx, except the old connector's 200 that reports a failed delivery in its text.
pub(super) fn check(status: u16, body: &[u8]) -> Result<(), String> {
    let failed_inside = String::from_utf8_lossy(body)
        .trim_start()
        .starts_with("Webhook message delivery failed");
    if (200..300).contains(&status) && !failed_inside {
        Ok(())
    } else {
        Err(super::refused(status, body))
    }
}
