//! WeCom (WeChat Work) group robot: markdown.
//!
//! Body: `{"msgtype": "markdown", "markdown": {"content": …}}`, `content` at most 4096 bytes of
//! UTF-8. The robot's key is in its URL; there is no signature. The markdown subset renders
//! headings, bold, links, quotes and `<font color="info|comment|warning">`; the approval link is
//! a markdown link. WeCom answers HTTP 200 with `{"errcode": 0, "errmsg": "ok"}`; any other
//! `errcode` (93000 invalid webhook URL, 45009 rate limited, 40058 bad content, …) is a failure.

use super::common::{self, Tone};
use super::markdown::{self, Style};
use crate::notify::{ChannelSecret, Notice, Outgoing};

/// WeCom's limit for `content`.
const CONTENT_BYTES: usize = 4096;
const STYLE: Style = Style {
    code_fence: false,
    paragraph: "\n",
};

/// WeCom's three font colours: green, grey, orange.
fn font(tone: Tone) -> &'static str {
    match tone {
        Tone::Good => "info",
        Tone::Accent => "comment",
        Tone::Warning | Tone::Danger => "warning",
    }
}

fn content(notice: &Notice, shape: &common::Shape) -> String {
    let event = format!(
        "<font color=\"{}\">{}</font>",
        font(common::tone(notice)),
        common::event_label(notice.event)
    );
    format!("{event}\n{}", markdown::document(notice, shape, STYLE))
}

pub(super) fn render(notice: &Notice, secret: &ChannelSecret) -> Outgoing {
    let text = common::fit(CONTENT_BYTES, String::len, |shape| content(notice, shape));
    let text = common::clip_bytes(&text, CONTENT_BYTES);
    let body = common::to_bytes(&serde_json::json!({
        "msgtype": "markdown",
        "markdown": {"content": text},
    }));
    common::json_request(&secret.url, body)
}
