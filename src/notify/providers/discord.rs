//! Discord execute-webhook: `content` plus one embed.
//!
//! Body: `content` (≤ 2000 characters: the headline and the approval link), `allowed_mentions`
//! with nothing to parse (an `@everyone` in a SQL comment pings nobody), and one embed: `title`
//! (≤ 256), `url` (the approval link), `description` (≤ 4096: findings, diff in a `diff` code
//! block, detail, digest), `color` by event and risk, `fields` (≤ 25; name ≤ 256, value ≤ 1024),
//! `footer` (≤ 2048) and `timestamp`; the embed's text together stays ≤ 6000 characters.
//! Discord answers 204 (200 with `?wait=true`); 429 means rate limited (`retry_after` in the
//! body), 4xx JSON errors name the bad field, 5xx are transient.

use super::common::{self, Shape};
use super::markdown::{self, Style};
use crate::notify::{ChannelSecret, Notice, Outgoing};

const CONTENT_CHARS: usize = 2000;
const TITLE_CHARS: usize = 256;
const DESCRIPTION_CHARS: usize = 4096;
const FIELDS: usize = 25;
const FIELD_NAME_CHARS: usize = 256;
const FIELD_VALUE_CHARS: usize = 1024;
const FOOTER_CHARS: usize = 2048;
/// Title, description, field names and values and footer together.
const EMBED_CHARS: usize = 6000;
const STYLE: Style = Style {
    code_fence: true,
    paragraph: "\n\n",
};

fn embed(notice: &Notice, shape: &Shape) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = common::facts(notice)
        .iter()
        .take(FIELDS)
        .map(|f| {
            serde_json::json!({
                "name": common::clip(f.label, FIELD_NAME_CHARS),
                "value": common::clip(&f.value, FIELD_VALUE_CHARS),
                "inline": true,
            })
        })
        .collect();
    let description = markdown::sections(notice, shape, STYLE).join(STYLE.paragraph);
    let mut embed = serde_json::json!({
        "title": common::clip(&common::headline(notice), TITLE_CHARS),
        "description": common::clip(&description, DESCRIPTION_CHARS),
        "color": common::tone(notice).rgb(),
        "fields": fields,
        "footer": {"text": common::clip(&format!("schemagate · delivery {}", notice.key), FOOTER_CHARS)},
    });
    // Discord refuses the whole message over a timestamp that is not ISO 8601.
    if chrono::DateTime::parse_from_rfc3339(&notice.occurred_at).is_ok() {
        embed["timestamp"] = serde_json::Value::String(notice.occurred_at.clone());
    }
    if let Some(url) = notice.actions.as_ref().and_then(|a| a.approve_url.as_ref()) {
        embed["url"] = serde_json::Value::String(url.clone());
    }
    embed
}

/// The characters Discord counts against an embed's 6000.
fn embed_chars(embed: &serde_json::Value) -> usize {
    let chars = |v: &serde_json::Value| v.as_str().map_or(0, |s| s.chars().count());
    let fields: usize = embed["fields"].as_array().map_or(0, |a| {
        a.iter()
            .map(|f| chars(&f["name"]) + chars(&f["value"]))
            .sum()
    });
    chars(&embed["title"]) + chars(&embed["description"]) + chars(&embed["footer"]["text"]) + fields
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret) -> Outgoing {
    let embed = common::fit(EMBED_CHARS, embed_chars, |shape| embed(notice, shape));
    let mut content = common::headline(notice);
    if let Some(link) = markdown::approval_link(notice) {
        content = format!("{content}\n{link}");
    }
    let body = common::to_bytes(&serde_json::json!({
        "content": common::clip(&content, CONTENT_CHARS),
        "allowed_mentions": {"parse": []},
        "embeds": [embed],
    }));
    common::json_request(&secret.url, body)
}
