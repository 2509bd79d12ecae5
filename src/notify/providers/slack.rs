//! Slack incoming webhook: Block Kit.
//!
//! Body: `text` (the notification fallback) and `blocks`: a `header` (plain text, ≤ 150
//! characters), a `section` with `fields` (project, change, version, instance and environment,
//! author, risk, approvers, reason, time; ≤ 10 fields of ≤ 2000 characters), sections (`mrkdwn`,
//! ≤ 3000 characters) for the findings, the diff (a code block) and the detail, an `actions`
//! block with the approve/reject buttons (`action_id` `schemagate.approve` / `schemagate.reject`,
//! `value` ≤ 2000 characters, read back by the interactivity callback) and the approval link,
//! and a `context` with the SQL digest. Slack answers `200 ok`, or 4xx with a short error
//! (`invalid_payload`, `no_service`, `channel_is_archived`).

use super::common::{self, Shape};
use crate::notify::{ChannelSecret, Notice, Outgoing, RenderError};

const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const FIELD_CHARS: usize = 2000;
const FIELDS: usize = 10;
const BUTTON_VALUE_CHARS: usize = 2000;
const BUTTON_URL_CHARS: usize = 3000;
/// Our own bound on the whole request (Slack's documented limits are per block and per
/// field, checked above): a longer message is cut to a smaller shape.
const BODY_BYTES: usize = 40_000;

/// Slack `mrkdwn` treats `&`, `<` and `>` as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mrkdwn(text: &str) -> serde_json::Value {
    serde_json::json!({"type": "mrkdwn", "text": common::clip(text, SECTION_CHARS)})
}

fn section(text: &str) -> serde_json::Value {
    serde_json::json!({"type": "section", "text": mrkdwn(text)})
}

fn blocks(notice: &Notice, shape: &Shape) -> Vec<serde_json::Value> {
    let mut blocks = vec![serde_json::json!({
        "type": "header",
        "text": {"type": "plain_text", "text": common::clip(&common::headline(notice), HEADER_CHARS), "emoji": true},
    })];
    let fields: Vec<serde_json::Value> = common::facts(notice)
        .iter()
        .take(FIELDS)
        .map(|f| {
            let text = format!("*{}*\n{}", f.label, escape(&f.value));
            serde_json::json!({"type": "mrkdwn", "text": common::clip(&text, FIELD_CHARS)})
        })
        .collect();
    blocks.push(serde_json::json!({"type": "section", "fields": fields}));
    if let Some(description) = common::description(notice, shape) {
        blocks.push(section(&format!(">{}", escape(&description))));
    }
    if let Some(counts) = common::findings_counts(notice) {
        let mut text = format!("*Findings:* {counts}");
        for line in common::finding_lines(notice, shape) {
            text.push_str("\n• ");
            text.push_str(&escape(&line));
        }
        blocks.push(section(&text));
    }
    let diff = common::diff_lines(notice, shape);
    if !diff.is_empty() {
        let body: Vec<String> = diff.iter().map(|l| common::unfence(&escape(l))).collect();
        // Cut the lines, not the fence: the block stays a closed code block.
        let inner = common::clip(&body.join("\n"), SECTION_CHARS - 30);
        blocks.push(section(&format!("*Schema diff*\n```{inner}```")));
    }
    if let Some(detail) = common::detail(notice, shape) {
        blocks.push(section(&format!("*Detail*\n{}", escape(&detail))));
    }
    if let Some(actions) = &notice.actions {
        let mut elements = vec![
            serde_json::json!({
                "type": "button", "action_id": "schemagate.approve", "style": "primary",
                "text": {"type": "plain_text", "text": "Approve"}, "value": actions.approve_value,
            }),
            serde_json::json!({
                "type": "button", "action_id": "schemagate.reject", "style": "danger",
                "text": {"type": "plain_text", "text": "Reject"}, "value": actions.reject_value,
            }),
        ];
        if let Some(url) = &actions.approve_url {
            elements.push(serde_json::json!({
                "type": "button", "action_id": "schemagate.open-approval",
                "text": {"type": "plain_text", "text": "Approval link"}, "url": url,
            }));
        }
        blocks.push(serde_json::json!({"type": "actions", "elements": elements}));
    }
    let mut context = vec![format!("delivery `{}`", notice.key)];
    if let Some(digest) = common::digest(notice) {
        context.insert(0, format!("SQL digest `{digest}`"));
    }
    blocks.push(serde_json::json!({
        "type": "context",
        "elements": [mrkdwn(&context.join(" · "))],
    }));
    blocks
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret) -> Result<Outgoing, RenderError> {
    if let Some(actions) = &notice.actions {
        let too_long = actions.approve_value.chars().count() > BUTTON_VALUE_CHARS
            || actions.reject_value.chars().count() > BUTTON_VALUE_CHARS
            || actions
                .approve_url
                .as_ref()
                .is_some_and(|u| u.chars().count() > BUTTON_URL_CHARS);
        if too_long {
            return Err(RenderError::ActionTooLong("slack"));
        }
    }
    let body = common::fit(BODY_BYTES, Vec::len, |shape| {
        common::to_bytes(&serde_json::json!({
            "text": fallback(notice),
            "blocks": blocks(notice, shape),
        }))
    });
    Ok(common::json_request(&secret.url, body))
}

/// The notification text (phones, screen readers): the headline and the risk.
fn fallback(notice: &Notice) -> String {
    let mut text = common::headline(notice);
    if let Some(risk) = notice.risk {
        text.push_str(&format!(" (risk {})", common::risk_name(risk)));
    }
    common::clip(&text, SECTION_CHARS)
}
