//! Google Chat incoming webhook: `text` plus a `cardsV2` card.
//!
//! Body: `text` (the headline: what notifications show) and `cardsV2: [{cardId, card}]`; the card
//! has a `header` (title and subtitle), a section of `decoratedText` facts (`topLabel` + `text`),
//! sections of `textParagraph` for the findings, the diff and the detail, and a `buttonList`
//! whose button opens the signed approval link (`onClick.openLink.url`; an incoming webhook's
//! card cannot call back). At most 100 widgets per card; messages stay under 32,000 bytes.
//! Google Chat answers 200 with the created message, or 4xx/5xx with a JSON `error`.

use super::common::{self, Shape};
use crate::notify::{ChannelSecret, Notice, Outgoing};

const BODY_BYTES: usize = 30_000;

/// `textParagraph` renders a small HTML subset: escape what would be read as markup.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn paragraph(text: String) -> serde_json::Value {
    serde_json::json!({"textParagraph": {"text": text}})
}

fn section(header: &str, widgets: Vec<serde_json::Value>) -> serde_json::Value {
    serde_json::json!({"header": header, "widgets": widgets})
}

fn card(notice: &Notice, shape: &Shape) -> serde_json::Value {
    let facts: Vec<serde_json::Value> = common::facts(notice)
        .into_iter()
        .map(|f| serde_json::json!({"decoratedText": {"topLabel": f.label, "text": html(&f.value), "wrapText": true}}))
        .collect();
    let mut sections = vec![section("Change", facts)];
    if let Some(description) = common::description(notice, shape) {
        sections.push(section("Description", vec![paragraph(html(&description))]));
    }
    if let Some(counts) = common::findings_counts(notice) {
        let mut text = html(&counts);
        for line in common::finding_lines(notice, shape) {
            text.push_str("<br>• ");
            text.push_str(&html(&line));
        }
        sections.push(section("Findings", vec![paragraph(text)]));
    }
    let diff = common::diff_lines(notice, shape);
    if !diff.is_empty() {
        let lines: Vec<String> = diff.iter().map(|l| html(l)).collect();
        sections.push(section(
            "Schema diff",
            vec![paragraph(format!(
                "<font color=\"#555555\">{}</font>",
                lines.join("<br>")
            ))],
        ));
    }
    if let Some(detail) = common::detail(notice, shape) {
        sections.push(section("Detail", vec![paragraph(html(&detail))]));
    }
    if let Some(digest) = common::digest(notice) {
        sections.push(section("SQL digest", vec![paragraph(html(digest))]));
    }
    if let Some(url) = notice.actions.as_ref().and_then(|a| a.approve_url.as_ref()) {
        sections.push(serde_json::json!({"widgets": [{"buttonList": {"buttons": [
            {"text": "Review and approve", "onClick": {"openLink": {"url": url}}},
        ]}}]}));
    }
    serde_json::json!({
        "header": {
            "title": common::clip(&common::headline(notice), 200),
            "subtitle": format!("{} · {}/{}", common::event_label(notice.event), notice.namespace, notice.project),
        },
        "sections": sections,
    })
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret) -> Outgoing {
    let body = common::fit(BODY_BYTES, Vec::len, |shape| {
        common::to_bytes(&serde_json::json!({
            "text": common::clip(&common::headline(notice), 4000),
            "cardsV2": [{
                // Unique within the message; the key makes it stable across retries.
                "cardId": format!("schemagate-{}", notice.key.chars().take(16).collect::<String>()),
                "card": card(notice, shape),
            }],
        }))
    });
    common::json_request(&secret.url, body)
}
