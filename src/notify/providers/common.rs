//! What every provider's message says, whatever its format: the headline, the facts (where,
//! which version, who, what risk), the findings, the diff, the failure detail; how each is cut
//! to a provider's limits (at character boundaries, with a visible "… N more" marker); and the
//! tone (colour) of an event. Providers only arrange these pieces in their own structure.

use crate::notify::{Notice, NotificationEvent, Outgoing, RiskLevel, Subject};

/// How much of a notice a message carries. Providers try [`SHAPES`] in order and keep the
/// first whose request fits their size limit.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    /// Findings listed one per line (the counts are always there).
    pub findings: usize,
    /// Diff lines shown.
    pub diff_lines: usize,
    /// Characters of one finding or diff line.
    pub line_chars: usize,
    /// Characters of the failure or drift detail, and of the change's description.
    pub detail_chars: usize,
}

/// From everything a notice carries to the least that is still useful.
pub(super) const SHAPES: [Shape; 4] = [
    Shape {
        findings: 5,
        diff_lines: 20,
        line_chars: 300,
        detail_chars: 1500,
    },
    Shape {
        findings: 3,
        diff_lines: 10,
        line_chars: 160,
        detail_chars: 600,
    },
    Shape {
        findings: 1,
        diff_lines: 3,
        line_chars: 100,
        detail_chars: 200,
    },
    Shape {
        findings: 0,
        diff_lines: 0,
        line_chars: 80,
        detail_chars: 80,
    },
];

/// The first rendering (over [`SHAPES`]) whose `size` is at most `limit`, else the smallest.
pub(super) fn fit<T>(limit: usize, size: impl Fn(&T) -> usize, render: impl Fn(&Shape) -> T) -> T {
    let mut last = render(&SHAPES[0]);
    for shape in &SHAPES[1..] {
        if size(&last) <= limit {
            break;
        }
        last = render(shape);
    }
    last
}

/// `text` cut to at most `max` characters; a cut text ends with `… N more chars`.
pub(super) fn clip(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    // The marker's length depends on N; reserve room for the longest possible one.
    let room = max.saturating_sub(format!(" … {total} more chars").chars().count());
    let kept: String = text.chars().take(room).collect();
    format!("{kept} … {} more chars", total - room)
}

/// `text` cut to at most `max` bytes of UTF-8 (never inside a character), marked like [`clip`].
pub(super) fn clip_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let marker_room = format!(" … {} more chars", text.chars().count()).len();
    let mut end = max.saturating_sub(marker_room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let left = text[end..].chars().count();
    format!("{} … {left} more chars", &text[..end])
}

/// `… 12 more findings`.
pub(super) fn more(n: usize, what: &str) -> String {
    format!("… {n} more {what}")
}

/// The event in a few words.
pub(super) fn event_label(event: NotificationEvent) -> &'static str {
    match event {
        NotificationEvent::Reviewed => "Review finished",
        NotificationEvent::AwaitingApproval => "Awaiting approval",
        NotificationEvent::Approved => "Approved",
        NotificationEvent::Applied => "Applied",
        NotificationEvent::Failed => "Failed",
        NotificationEvent::Drifted => "Drift detected",
    }
}

/// The message's first line: a mark for the event, then the notice's title.
pub(super) fn headline(notice: &Notice) -> String {
    let mark = match notice.event {
        NotificationEvent::Reviewed => "🔎",
        NotificationEvent::AwaitingApproval => "⏳",
        NotificationEvent::Approved => "👍",
        NotificationEvent::Applied => "✅",
        NotificationEvent::Failed => "❌",
        NotificationEvent::Drifted => "⚠️",
    };
    format!("{mark} {}", notice.title)
}

/// `HIGH`, `MODERATE`, `LOW`.
pub(super) fn risk_name(risk: RiskLevel) -> &'static str {
    match risk {
        RiskLevel::Low => "LOW",
        RiskLevel::Moderate => "MODERATE",
        RiskLevel::High => "HIGH",
    }
}

/// How alarming a notice is; each provider maps it to its colours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tone {
    /// Done, nothing to do.
    Good,
    /// For information.
    Accent,
    /// Someone should look.
    Warning,
    /// Something broke or destroys data.
    Danger,
}

impl Tone {
    /// 0xRRGGBB.
    pub fn rgb(self) -> u32 {
        match self {
            Self::Good => 0x2E_A0_43,
            Self::Accent => 0x1F_6F_EB,
            Self::Warning => 0xD2_99_22,
            Self::Danger => 0xCF_22_2E,
        }
    }
}

/// The tone of a notice: failures are red, drift amber, outcomes green, and a change that
/// still needs someone takes the colour of its risk.
pub(super) fn tone(notice: &Notice) -> Tone {
    match notice.event {
        NotificationEvent::Failed => Tone::Danger,
        NotificationEvent::Drifted => Tone::Warning,
        NotificationEvent::Approved | NotificationEvent::Applied => Tone::Good,
        NotificationEvent::Reviewed | NotificationEvent::AwaitingApproval => match notice.risk {
            Some(RiskLevel::High) => Tone::Danger,
            Some(RiskLevel::Moderate) => Tone::Warning,
            _ if notice.findings.as_ref().is_some_and(|f| f.errors > 0) => Tone::Danger,
            _ => Tone::Accent,
        },
    }
}

/// One labelled value of a message (`Project`: `shop/orders`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// Where, what, who: the facts a DBA needs to place the notice, in reading order. Values are
/// bounded (names are Kubernetes names; free text is clipped).
pub(super) fn facts(notice: &Notice) -> Vec<Fact> {
    let mut out = Vec::new();
    let mut push = |label: &'static str, value: String| {
        out.push(Fact {
            label,
            value: clip(&value, 300),
        });
    };
    push(
        "Project",
        format!("{}/{}", notice.namespace, notice.project),
    );
    match &notice.subject {
        Subject::SchemaChange {
            name,
            version,
            instance,
            environment,
            author,
            ..
        } => {
            push("Change", name.clone());
            push("Version", version.clone());
            push(
                "Instance",
                with_environment(instance, environment.as_deref()),
            );
            if let Some(author) = author {
                push("Author", author.clone());
            }
        }
        Subject::DatabaseInstance {
            name, environment, ..
        } => push("Instance", with_environment(name, environment.as_deref())),
    }
    if let Some(risk) = notice.risk {
        push("Risk", risk_name(risk).to_owned());
    }
    if let Some(approval) = &notice.approval {
        let who = if approval.approvers.is_empty() {
            String::new()
        } else {
            approval.approvers.join(", ")
        };
        let value = match (approval.auto, who.is_empty()) {
            (true, true) => "the project's auto-approval policy".to_owned(),
            (true, false) => format!("{who} (and the auto-approval policy)"),
            (false, true) => "nobody yet".to_owned(),
            (false, false) => who,
        };
        push("Approved by", value);
    }
    if let Some(reason) = &notice.reason {
        push("Reason", reason.clone());
    }
    if !notice.occurred_at.is_empty() {
        push("When", notice.occurred_at.clone());
    }
    out
}

fn with_environment(instance: &str, environment: Option<&str>) -> String {
    match environment {
        Some(env) => format!("{instance} ({env})"),
        None => instance.to_owned(),
    }
}

/// The SQL digest line approvers copy: `sha256:…` as the notice carries it.
pub(super) fn digest(notice: &Notice) -> Option<&str> {
    notice.sql_digest.as_deref()
}

/// `2 errors, 1 warning in 3 statements`.
pub(super) fn findings_counts(notice: &Notice) -> Option<String> {
    let f = notice.findings.as_ref()?;
    let plural = |n: u32, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    Some(format!(
        "{}, {} in {}",
        plural(f.errors, "error"),
        plural(f.warnings, "warning"),
        plural(f.statements, "statement")
    ))
}

/// The first findings, one line each (`error L3 rule-id: message`), then `… N more findings`
/// when the review found more than are shown.
pub(super) fn finding_lines(notice: &Notice, shape: &Shape) -> Vec<String> {
    let Some(f) = notice.findings.as_ref() else {
        return Vec::new();
    };
    let mut out: Vec<String> = f
        .top
        .iter()
        .take(shape.findings)
        .map(|x| {
            clip(
                &format!("{} L{} {}: {}", x.level, x.line, x.rule, x.message),
                shape.line_chars,
            )
        })
        .collect();
    let found = usize::try_from(f.errors.saturating_add(f.warnings))
        .unwrap_or(usize::MAX)
        .max(f.top.len());
    if found > out.len() {
        out.push(more(found - out.len(), "findings"));
    }
    out
}

/// The diff lines shown, then `… N more lines` counting those the notice already left out.
pub(super) fn diff_lines(notice: &Notice, shape: &Shape) -> Vec<String> {
    let mut out: Vec<String> = notice
        .diff
        .iter()
        .take(shape.diff_lines)
        .map(|l| clip(l, shape.line_chars))
        .collect();
    let hidden = (notice.diff.len() - out.len())
        .saturating_add(usize::try_from(notice.diff_truncated).unwrap_or(usize::MAX));
    if hidden > 0 {
        out.push(more(hidden, "lines"));
    }
    out
}

/// The failure or drift detail, clipped.
pub(super) fn detail(notice: &Notice, shape: &Shape) -> Option<String> {
    notice
        .detail
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(|d| clip(d, shape.detail_chars))
}

/// The change's description, clipped.
pub(super) fn description(notice: &Notice, shape: &Shape) -> Option<String> {
    match &notice.subject {
        Subject::SchemaChange {
            description: Some(d),
            ..
        } if !d.is_empty() => Some(clip(d, shape.detail_chars)),
        _ => None,
    }
}

/// Text inside a fenced code block must not close the fence.
pub(super) fn unfence(line: &str) -> String {
    line.replace("```", "`\u{200b}``")
}

/// A JSON request to `url`.
pub(super) fn json_request(url: &str, body: Vec<u8>) -> Outgoing {
    Outgoing {
        url: url.to_owned(),
        headers: vec![(
            "Content-Type".to_owned(),
            "application/json; charset=utf-8".to_owned(),
        )],
        body,
    }
}

/// A JSON value as request bytes.
pub(super) fn to_bytes(value: &serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

/// A numeric field of a JSON response (`errcode`, `code`), when the body is JSON and has it.
pub(super) fn json_code(body: &[u8], field: &str) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get(field)?.as_i64()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("abc", 3), "abc");
        let cut = clip(&"é".repeat(500), 100);
        assert!(cut.chars().count() <= 100, "{cut}");
        assert!(cut.ends_with("more chars"));
        let kept = cut.chars().take_while(|c| *c == 'é').count();
        assert_eq!(
            cut,
            format!("{} … {} more chars", "é".repeat(kept), 500 - kept)
        );
    }

    #[test]
    fn clip_bytes_never_splits_a_character() {
        let text = "数据库".repeat(2000);
        let cut = clip_bytes(&text, 4096);
        assert!(cut.len() <= 4096);
        assert!(cut.ends_with("more chars"));
        assert_eq!(clip_bytes("ok", 2), "ok");
    }

    #[test]
    fn fit_takes_the_first_shape_under_the_limit() {
        let body = fit(12, Vec::len, |s| vec![b'x'; s.diff_lines + 2]);
        assert_eq!(body.len(), 12, "the shape with 10 diff lines");
        let body = fit(1, Vec::len, |s| vec![b'x'; s.diff_lines + 2]);
        assert_eq!(body.len(), 2, "nothing fits: the smallest");
    }
}
