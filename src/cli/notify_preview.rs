//! `schemagate notify-preview`: the request a notification channel receives for an example
//! change, in that provider's format, without sending anything. The docs' samples are its
//! output.

use std::process::ExitCode;

use crate::api::{NotificationEvent, NotificationKind};
use crate::notify::{ChannelSecret, EXAMPLE_UNIX, example_notice, render};

/// Arguments of `schemagate notify-preview`.
#[derive(Debug, clap::Args)]
pub struct NotifyPreviewArgs {
    /// Channel type: webhook, slack, teams, lark, dingtalk, wecom, discord, googlechat.
    #[arg(long = "type")]
    pub kind: String,
    /// Event: reviewed, awaitingApproval, approved, applied, failed, drifted.
    #[arg(long, default_value = "awaitingApproval")]
    pub event: String,
    /// Sign as a channel with a signing key would (the example key `example-signing-key`).
    #[arg(long)]
    pub signed: bool,
    /// Print only the message's text as the chat app receives it (markdown unescaped), not
    /// the request.
    #[arg(long)]
    pub text: bool,
}

/// Where each format keeps text a person reads (markdown or plain), in reading order.
const TEXT_FIELDS: [&str; 5] = [
    "/text",
    "/content",
    "/markdown/text",
    "/markdown/content",
    "/embeds/0/description",
];

/// What a webhook URL is shown as.
const URL_PLACEHOLDER: &str = "<webhook URL>";

fn parse<T: serde::de::DeserializeOwned>(what: &str, value: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| format!("unknown {what} `{value}`"))
}

fn preview(args: &NotifyPreviewArgs) -> Result<String, String> {
    let kind: NotificationKind = parse("channel type", &args.kind)?;
    let event: NotificationEvent = parse("event", &args.event)?;
    let secret = ChannelSecret {
        url: "https://chat.example/hook".to_owned(),
        signing_key: args.signed.then(|| "example-signing-key".to_owned()),
    };
    let out =
        render(kind, &example_notice(event), &secret, EXAMPLE_UNIX).map_err(|e| e.to_string())?;
    let query = out.url.strip_prefix(&secret.url).unwrap_or_default();
    let mut text = format!("POST {URL_PLACEHOLDER}{query}\n");
    for (name, value) in &out.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    let body: serde_json::Value =
        serde_json::from_slice(&out.body).map_err(|e| format!("the body is not JSON: {e}"))?;
    if args.text {
        let texts: Vec<&str> = TEXT_FIELDS
            .iter()
            .filter_map(|p| body.pointer(p).and_then(serde_json::Value::as_str))
            .collect();
        if texts.is_empty() {
            return Err(format!(
                "a {} message has no text outside its card",
                args.kind
            ));
        }
        return Ok(texts.join("\n\n"));
    }
    text.push('\n');
    text.push_str(&serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?);
    Ok(text)
}

/// Runs the verb. Exit code 0, or 2 on a bad argument.
pub fn run(args: &NotifyPreviewArgs) -> ExitCode {
    match preview(args) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
