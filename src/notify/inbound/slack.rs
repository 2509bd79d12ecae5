//! Slack interactivity requests: `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256, under
//! the app's signing secret, of `v0:<X-Slack-Request-Timestamp>:<raw body>`; the body is
//! form-encoded with one field, `payload`, a JSON `block_actions` document.

use serde::Deserialize;

use super::{InboundError, Interaction, check_fresh, hmac_matches};
use crate::api::NotificationKind;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// Header carrying the request time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";

/// Checks the request's freshness and signature.
///
/// # Errors
/// Missing headers, a stale timestamp, or a signature that does not match.
pub fn verify(
    signing_secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now_unix: i64,
) -> Result<(), InboundError> {
    let timestamp = timestamp.ok_or(InboundError::MissingHeader(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(InboundError::MissingHeader(SIGNATURE_HEADER))?;
    check_fresh(timestamp, now_unix)?;
    let mac = signature
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(InboundError::BadSignature)?;
    let mut basestring = format!("v0:{}:", timestamp.trim()).into_bytes();
    basestring.extend_from_slice(body);
    if hmac_matches(signing_secret, &basestring, &mac) {
        Ok(())
    } else {
        Err(InboundError::BadSignature)
    }
}

#[derive(Deserialize)]
struct Payload {
    #[serde(rename = "type")]
    kind: String,
    user: User,
    #[serde(default)]
    actions: Vec<Action>,
    #[serde(default)]
    response_url: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: String,
}

#[derive(Deserialize)]
struct Action {
    #[serde(default)]
    value: Option<String>,
}

/// Reads the button click out of a (verified) request body. `replay_key` identifies the
/// delivery (the signature header).
///
/// # Errors
/// The body is not a `block_actions` payload with a button value.
pub fn parse(body: &[u8], replay_key: &str) -> Result<Interaction, InboundError> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or(InboundError::Malformed("no payload field"))?;
    let payload: Payload = serde_json::from_str(&payload)
        .map_err(|_| InboundError::Malformed("payload is not a Slack interaction"))?;
    if payload.kind != "block_actions" {
        return Err(InboundError::Malformed("not a block_actions interaction"));
    }
    let value = payload
        .actions
        .into_iter()
        .next()
        .and_then(|a| a.value)
        .ok_or(InboundError::Malformed("no button value"))?;
    Ok(Interaction {
        provider: NotificationKind::Slack,
        user_id: payload.user.id,
        value,
        response_url: payload.response_url,
        replay_key: format!("slack:{replay_key}"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";

    /// HMAC-SHA256 from its definition (RFC 2104) over sha2 alone: an independent check of
    /// the implementation the verifier uses.
    fn reference_hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
        let mut block = [0u8; 64];
        if key.len() > 64 {
            block[..32].copy_from_slice(&sha2::Sha256::digest(key));
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let pad = |b: u8| block.iter().map(|k| k ^ b).collect::<Vec<u8>>();
        let inner = sha2::Sha256::digest([pad(0x36), message.to_vec()].concat());
        sha2::Sha256::digest([pad(0x5c), inner.to_vec()].concat()).to_vec()
    }

    fn sign(ts: &str, body: &[u8]) -> String {
        let base = [format!("v0:{ts}:").into_bytes(), body.to_vec()].concat();
        format!("v0={}", hex::encode(reference_hmac(SECRET, &base)))
    }

    fn body(user: &str, value: &str) -> Vec<u8> {
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": {"id": user, "username": "alice"},
            "actions": [{"action_id": "approve", "type": "button", "value": value}],
            "response_url": "https://hooks.slack.com/actions/T1/1/x"
        });
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &payload.to_string())
            .finish()
            .into_bytes()
    }

    #[test]
    fn a_signed_fresh_request_is_accepted_and_parsed() {
        let body = body("U024BE7LH", "sg1|a|ns|c|u|d");
        let sig = sign("1531420618", &body);
        assert_eq!(
            verify(SECRET, Some("1531420618"), Some(&sig), &body, 1_531_420_700),
            Ok(())
        );
        let i = parse(&body, &sig).unwrap();
        assert_eq!(i.user_id, "U024BE7LH");
        assert_eq!(i.value, "sg1|a|ns|c|u|d");
        assert_eq!(
            i.response_url.as_deref(),
            Some("https://hooks.slack.com/actions/T1/1/x")
        );
        assert_eq!(i.provider, NotificationKind::Slack);
    }

    #[test]
    fn a_fixed_vector_computed_with_openssl_matches() {
        // printf 'v0:1700000000:payload=%%7B%%7D' | openssl dgst -sha256 -hmac "$SECRET"
        let computed = sign("1700000000", b"payload=%7B%7D");
        assert_eq!(
            computed, OPENSSL_VECTOR,
            "reference HMAC disagrees with openssl"
        );
        assert_eq!(
            verify(
                SECRET,
                Some("1700000000"),
                Some(OPENSSL_VECTOR),
                b"payload=%7B%7D",
                1_700_000_000
            ),
            Ok(())
        );
    }

    const OPENSSL_VECTOR: &str =
        "v0=cddb1b90c3764799fa0796bdab37ea930b70cc398e12370c415cfc535b0c4432";

    #[test]
    fn tampering_staleness_and_missing_headers_are_refused() {
        let body = body("U1", "v");
        let sig = sign("1000000", &body);
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(
            verify(SECRET, Some("1000000"), Some(&sig), &tampered, 1_000_000),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify(b"other", Some("1000000"), Some(&sig), &body, 1_000_000),
            Err(InboundError::BadSignature)
        );
        // The timestamp is signed: moving it forward breaks the signature.
        assert_eq!(
            verify(SECRET, Some("1000100"), Some(&sig), &body, 1_000_100),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, Some("1000000"), Some(&sig), &body, 1_000_301),
            Err(InboundError::Stale)
        );
        assert_eq!(
            verify(SECRET, Some("1000000"), Some(&sig), &body, 999_699),
            Err(InboundError::Stale)
        );
        assert_eq!(
            verify(SECRET, Some("1000000"), Some(&sig), &body, 1_000_300),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(&sig), &body, 1_000_000),
            Err(InboundError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, None, Some(&sig), &body, 1_000_000),
            Err(InboundError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(SECRET, Some("1000000"), None, &body, 1_000_000),
            Err(InboundError::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify(SECRET, Some("1000000"), Some("v1=00"), &body, 1_000_000),
            Err(InboundError::BadSignature)
        );
        assert_eq!(
            verify(SECRET, Some("1000000"), Some("v0=zz"), &body, 1_000_000),
            Err(InboundError::BadSignature)
        );
    }

    #[test]
    fn bodies_that_are_not_button_clicks_are_refused() {
        assert!(parse(b"token=x", "s").is_err());
        assert!(parse(b"payload=not-json", "s").is_err());
        let view = form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "payload",
                r#"{"type":"view_submission","user":{"id":"U1"}}"#,
            )
            .finish();
        assert_eq!(
            parse(view.as_bytes(), "s"),
            Err(InboundError::Malformed("not a block_actions interaction"))
        );
        let no_value = form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "payload",
                r#"{"type":"block_actions","user":{"id":"U1"},"actions":[{}]}"#,
            )
            .finish();
        assert_eq!(
            parse(no_value.as_bytes(), "s"),
            Err(InboundError::Malformed("no button value"))
        );
    }
}
