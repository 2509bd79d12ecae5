//! Lark/Feishu card-action callbacks (`card.action.trigger`, schema 2.0) sent to a developer
//! server with an Encrypt Key: the body is `{"encrypt": base64(iv ‖ AES-256-CBC(json))}` under
//! the key sha256(Encrypt Key); `X-Lark-Signature` is the hex sha256 of
//! `<X-Lark-Request-Timestamp><X-Lark-Request-Nonce><Encrypt Key><raw body>`; the decrypted
//! document carries the app's Verification Token. Unencrypted callbacks carry no signature and
//! are refused. The URL check (`url_verification`) is answered with its challenge once its
//! token matches.

use aes::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine as _;
use serde::Deserialize;
use sha2::Digest as _;

use super::{InboundError, Interaction, check_fresh, constant_time_eq};
use crate::api::NotificationKind;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-lark-signature";
/// Header carrying the request time (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "x-lark-request-timestamp";
/// Header carrying the request nonce.
pub const NONCE_HEADER: &str = "x-lark-request-nonce";

/// The app's two secrets (never `Debug`-printed).
pub struct LarkKeys<'a> {
    /// The Encrypt Key (decrypts the body, keys the signature).
    pub encrypt_key: &'a [u8],
    /// The Verification Token (inside the decrypted document).
    pub verification_token: &'a [u8],
}

/// The headers of a Lark callback.
#[derive(Clone, Copy, Debug, Default)]
pub struct LarkHeaders<'a> {
    /// `X-Lark-Request-Timestamp`.
    pub timestamp: Option<&'a str>,
    /// `X-Lark-Request-Nonce`.
    pub nonce: Option<&'a str>,
    /// `X-Lark-Signature`.
    pub signature: Option<&'a str>,
}

/// What a verified Lark request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LarkRequest {
    /// The URL check: answer `{"challenge": …}`.
    Challenge(String),
    /// A button click.
    Action(Interaction),
}

#[derive(Deserialize)]
struct Envelope {
    encrypt: Option<String>,
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    challenge: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    header: Option<Header>,
    #[serde(default)]
    event: Option<Event>,
}

#[derive(Deserialize)]
struct Header {
    event_id: String,
    event_type: String,
    token: String,
}

#[derive(Deserialize)]
struct Event {
    operator: Operator,
    action: Action,
}

#[derive(Deserialize)]
struct Operator {
    open_id: String,
}

#[derive(Deserialize)]
struct Action {
    #[serde(default)]
    value: serde_json::Value,
}

/// Decrypts `{"encrypt": …}` with the Encrypt Key.
fn decrypt(encrypt_key: &[u8], encrypted: &str) -> Result<Vec<u8>, InboundError> {
    let bad = InboundError::Malformed("the encrypted body does not decrypt with the Encrypt Key");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encrypted.trim())
        .map_err(|_| bad.clone())?;
    if raw.len() < 32 || raw.len() % 16 != 0 {
        return Err(bad);
    }
    let key = sha2::Sha256::digest(encrypt_key);
    let (iv, ciphertext) = raw.split_at(16);
    let mut buf = ciphertext.to_vec();
    let decryptor =
        cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, iv).map_err(|_| bad.clone())?;
    let plain = decryptor
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| bad)?;
    Ok(plain.to_vec())
}

/// What the Lark platform sends for `document`: `{"encrypt": base64(iv ‖ ciphertext)}`. The
/// callback server never encrypts; this is for tests and tools that play Lark's part.
#[must_use]
pub fn seal(encrypt_key: &[u8], iv: [u8; 16], document: &[u8]) -> Vec<u8> {
    use aes::cipher::BlockEncryptMut;
    let key = sha2::Sha256::digest(encrypt_key);
    let mut buf = document.to_vec();
    buf.resize(document.len() + 16, 0);
    let sealed = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv)
        .ok()
        .and_then(|e| e.encrypt_padded_mut::<Pkcs7>(&mut buf, document.len()).ok())
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD.encode([iv.to_vec(), sealed].concat());
    serde_json::json!({ "encrypt": b64 })
        .to_string()
        .into_bytes()
}

/// The signature Lark sends for `body` (`X-Lark-Signature`).
#[must_use]
pub fn signature(timestamp: &str, nonce: &str, encrypt_key: &[u8], body: &[u8]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(encrypt_key);
    h.update(body);
    hex::encode(h.finalize())
}

/// Verifies and reads a Lark callback.
///
/// # Errors
/// Unencrypted, undecryptable, unsigned, stale, a bad signature or token, or not a card action.
pub fn verify_and_parse(
    keys: &LarkKeys<'_>,
    headers: LarkHeaders<'_>,
    body: &[u8],
    now_unix: i64,
) -> Result<LarkRequest, InboundError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|_| InboundError::Malformed("not JSON"))?;
    let encrypted = envelope.encrypt.ok_or(InboundError::Malformed(
        "unencrypted callback (set an Encrypt Key in the Lark app)",
    ))?;
    let doc: Document = serde_json::from_slice(&decrypt(keys.encrypt_key, &encrypted)?)
        .map_err(|_| InboundError::Malformed("the decrypted body is not JSON"))?;
    let token_ok = |t: &str| constant_time_eq(t.as_bytes(), keys.verification_token);
    if doc.kind.as_deref() == Some("url_verification") {
        // Creates nothing: decrypting with the Encrypt Key and the token authenticate it.
        if !doc.token.as_deref().is_some_and(token_ok) {
            return Err(InboundError::BadToken);
        }
        let challenge = doc.challenge.ok_or(InboundError::Malformed(
            "url_verification without challenge",
        ))?;
        return Ok(LarkRequest::Challenge(challenge));
    }
    let timestamp = headers
        .timestamp
        .ok_or(InboundError::MissingHeader(TIMESTAMP_HEADER))?;
    let nonce = headers
        .nonce
        .ok_or(InboundError::MissingHeader(NONCE_HEADER))?;
    let sig = headers
        .signature
        .ok_or(InboundError::MissingHeader(SIGNATURE_HEADER))?;
    check_fresh(timestamp, now_unix)?;
    let expected = signature(timestamp, nonce, keys.encrypt_key, body);
    if !constant_time_eq(
        expected.as_bytes(),
        sig.trim().to_ascii_lowercase().as_bytes(),
    ) {
        return Err(InboundError::BadSignature);
    }
    let (Some(header), Some(event)) = (doc.header, doc.event) else {
        return Err(InboundError::Malformed("not a schema 2.0 callback"));
    };
    if !token_ok(&header.token) {
        return Err(InboundError::BadToken);
    }
    if header.event_type != "card.action.trigger" {
        return Err(InboundError::Malformed(
            "not a card.action.trigger callback",
        ));
    }
    // The card puts the button value in `value` as a string, or as {"schemagate": "…"}.
    let value = match &event.action.value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o
            .get("schemagate")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        _ => None,
    }
    .ok_or(InboundError::Malformed("no button value"))?;
    Ok(LarkRequest::Action(Interaction {
        provider: NotificationKind::Lark,
        user_id: event.operator.open_id,
        value,
        response_url: None,
        replay_key: format!("lark:{}", header.event_id),
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
#[path = "lark_tests.rs"]
mod tests;
