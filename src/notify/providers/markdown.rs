//! A notice as chat markdown, for the providers whose message is (or contains) markdown text:
//! DingTalk, WeCom and Discord's embed description. The dialects differ in what they render
//! (code fences, line breaks), which [`Style`] names.

use super::common::{self, Shape};
use crate::notify::Notice;

/// What a provider's markdown renders.
#[derive(Clone, Copy, Debug)]
pub(super) struct Style {
    /// Fenced code blocks (Discord); otherwise diff lines are quoted.
    pub code_fence: bool,
    /// Between paragraphs (DingTalk needs a blank line; others a newline is enough).
    pub paragraph: &'static str,
}

/// `- **Project:** shop/orders` lines.
pub(super) fn facts(notice: &Notice) -> String {
    common::facts(notice)
        .iter()
        .map(|f| format!("- **{}:** {}", f.label, f.value))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The description, findings, diff, detail and digest, as paragraphs.
pub(super) fn sections(notice: &Notice, shape: &Shape, style: Style) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(description) = common::description(notice, shape) {
        out.push(format!("> {description}"));
    }
    if let Some(counts) = common::findings_counts(notice) {
        let mut text = format!("**Findings:** {counts}");
        for line in common::finding_lines(notice, shape) {
            text.push_str("\n- ");
            text.push_str(&line);
        }
        out.push(text);
    }
    let diff = common::diff_lines(notice, shape);
    if !diff.is_empty() {
        let body = if style.code_fence {
            let lines: Vec<String> = diff.iter().map(|l| common::unfence(l)).collect();
            format!("```diff\n{}\n```", lines.join("\n"))
        } else {
            diff.iter()
                .map(|l| format!("> {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        out.push(format!("**Schema diff**\n{body}"));
    }
    if let Some(detail) = common::detail(notice, shape) {
        out.push(format!("**Detail:** {detail}"));
    }
    if let Some(digest) = common::digest(notice) {
        out.push(format!("SQL digest: `{digest}`"));
    }
    out
}

/// `[Review and approve](url)` when the notice has an approval link.
pub(super) fn approval_link(notice: &Notice) -> Option<String> {
    let url = notice.actions.as_ref()?.approve_url.as_ref()?;
    Some(format!("[Review and approve]({url})"))
}

/// The whole message: headline as a heading, facts, sections, approval link.
pub(super) fn document(notice: &Notice, shape: &Shape, style: Style) -> String {
    let mut parts = vec![format!("### {}", common::headline(notice)), facts(notice)];
    parts.extend(sections(notice, shape, style));
    parts.extend(approval_link(notice));
    parts.join(style.paragraph)
}
