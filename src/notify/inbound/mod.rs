//! Requests from chat apps to the operator's callback endpoint, the pure half: each provider's
//! request verification (signature and freshness, the secret compared in constant time) and
//! the parsing of its interaction payload into an [`Interaction`]. No clock (callers pass the
//! time), no I/O; errors never carry the secrets or the signature.

pub mod lark;
pub mod slack;

use crate::api::NotificationKind;

/// A request older (or further in the future) than this is refused as stale: a captured
/// request cannot be replayed later, and the replay cache only needs to cover this window.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

/// Requests larger than this are refused before they are read (an interaction payload is a few
/// kilobytes).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A verified button click.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// The chat app.
    pub provider: NotificationKind,
    /// The clicking user's id in that app (Slack user id, Lark open_id).
    pub user_id: String,
    /// The button's value (see [`super::actions::parse_button_value`]).
    pub value: String,
    /// Where the provider accepts a follow-up message (Slack `response_url`).
    pub response_url: Option<String>,
    /// Identifies this delivery for the replay cache (the signature; Lark's event id).
    pub replay_key: String,
}

/// Why a callback request was refused. The messages name what is wrong, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// A header the provider always sends is missing.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The timestamp header is not a number of seconds.
    #[error("the request timestamp is not a number")]
    BadTimestamp,
    /// The timestamp is outside the freshness window.
    #[error("the request timestamp is more than five minutes away from now")]
    Stale,
    /// The signature does not match the app's secret.
    #[error("the request signature is not valid")]
    BadSignature,
    /// The verification token in the payload does not match.
    #[error("the request's verification token is not valid")]
    BadToken,
    /// The body is not what the provider sends for a button click.
    #[error("the request body is not an interaction: {0}")]
    Malformed(&'static str),
}

/// The request timestamp (Unix seconds) if it is within [`MAX_SKEW_SECONDS`] of `now_unix`.
///
/// # Errors
/// Not a number, or stale.
pub fn check_fresh(timestamp: &str, now_unix: i64) -> Result<i64, InboundError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| InboundError::BadTimestamp)?;
    if (now_unix - ts).abs() > MAX_SKEW_SECONDS {
        return Err(InboundError::Stale);
    }
    Ok(ts)
}

/// Equality that takes the same time wherever the inputs differ (for signatures and tokens).
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `mac` is the HMAC-SHA256 of `message` under `key` (constant-time comparison).
#[must_use]
pub fn hmac_matches(key: &[u8], message: &[u8], mac: &[u8]) -> bool {
    constant_time_eq(&super::providers::hmac_sha256(key, message), mac)
}
