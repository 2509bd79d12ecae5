//! Approving from a chat app, the pure half: what an approve/reject button carries, signed
//! one-time approval links, and the name of the Approval a chat decision creates. No client,
//! no clock (callers pass the time), no randomness (callers pass the nonce).
//!
//! A button value names the change exactly (namespace, name, uid, SQL digest) and the decision;
//! it is not secret (anyone in the channel sees it) and grants nothing by itself: the callback
//! server verifies the provider's signature on the request that carries it, maps the chat user
//! through the Project's `chatIdentities` and creates the Approval as that user. A link carries
//! the same plus the chat identity it was issued for, an expiry and a nonce, signed with the
//! operator's link key; whoever holds it acts as that identity, so it expires and works once.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::ApprovalActions;
use crate::api::{Decision, NotificationKind};

/// The change a decision is about, as the notice names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRef {
    /// Namespace of the SchemaChange.
    #[serde(rename = "ns")]
    pub namespace: String,
    /// Its name.
    #[serde(rename = "change")]
    pub name: String,
    /// Its `metadata.uid`.
    pub uid: String,
    /// Its reviewed `status.sqlDigest`.
    pub digest: String,
}

/// A decision on a change, read back from a button value or a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatDecision {
    /// The change.
    pub change: ChangeRef,
    /// Approve or reject.
    pub decision: Decision,
}

/// Why a button value or a link was refused. Never carries the key or the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// Not a value this operator wrote.
    #[error("the action value is not a schemagate decision")]
    Malformed,
    /// The link's signature does not match the link key.
    #[error("the approval link's signature is not valid")]
    BadSignature,
    /// The link is past its expiry.
    #[error("the approval link has expired")]
    Expired,
}

const VALUE_PREFIX: &str = "sg1";

/// The value an approve (or reject) button carries: `sg1|a|<ns>|<name>|<uid>|<digest>`.
#[must_use]
pub fn button_value(change: &ChangeRef, decision: Decision) -> String {
    let d = match decision {
        Decision::Approve => "a",
        Decision::Reject => "r",
    };
    format!(
        "{VALUE_PREFIX}|{d}|{}|{}|{}|{}",
        change.namespace, change.name, change.uid, change.digest
    )
}

/// Reads a button value back.
///
/// # Errors
/// [`ActionError::Malformed`] when it is not a well-formed value.
pub fn parse_button_value(value: &str) -> Result<ChatDecision, ActionError> {
    let parts: Vec<&str> = value.split('|').collect();
    let [VALUE_PREFIX, d, ns, name, uid, digest] = parts[..] else {
        return Err(ActionError::Malformed);
    };
    let decision = match d {
        "a" => Decision::Approve,
        "r" => Decision::Reject,
        _ => return Err(ActionError::Malformed),
    };
    let change = ChangeRef {
        namespace: ns.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        digest: digest.to_owned(),
    };
    check_change(&change)?;
    Ok(ChatDecision { change, decision })
}

/// Names are DNS subdomains, the uid a UUID, the digest 64 hex characters: anything else was
/// not written by this operator (and must not reach an API path or a message unchecked).
fn check_change(c: &ChangeRef) -> Result<(), ActionError> {
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 253
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    };
    let uid_ok = !c.uid.is_empty()
        && c.uid.len() <= 64
        && c.uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    let digest_ok = c.digest.len() == 64
        && c.digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if name_ok(&c.namespace) && name_ok(&c.name) && uid_ok && digest_ok {
        Ok(())
    } else {
        Err(ActionError::Malformed)
    }
}

/// A signed approval link: who it was issued for, until when, and its nonce.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaims {
    /// The change it approves.
    #[serde(flatten)]
    pub change: ChangeRef,
    /// The chat app of the identity it was issued for (`chatIdentities[].provider`).
    pub provider: NotificationKind,
    /// That identity's chat id (`chatIdentities[].id`).
    pub id: String,
    /// Unix seconds after which the link is refused.
    pub exp: i64,
    /// Makes every issued link distinct.
    pub nonce: String,
}

/// Domain separation: a link signature can never be mistaken for another MAC under the key.
const LINK_CONTEXT: &[u8] = b"schemagate-approval-link-v1.";

fn link_mac(key: &[u8], payload_b64: &str) -> Vec<u8> {
    let mut message = LINK_CONTEXT.to_vec();
    message.extend_from_slice(payload_b64.as_bytes());
    super::providers::hmac_sha256(key, &message)
}

/// The link token (`<payload>.<signature>`, both base64url).
#[must_use]
pub fn sign_link(claims: &LinkClaims, key: &[u8]) -> String {
    let payload = serde_json::to_vec(claims).unwrap_or_default();
    let payload_b64 = URL_SAFE_NO_PAD.encode(payload);
    let mac = URL_SAFE_NO_PAD.encode(link_mac(key, &payload_b64));
    format!("{payload_b64}.{mac}")
}

/// Verifies a link token (signature in constant time, then expiry) and returns its claims.
///
/// # Errors
/// Malformed, bad signature, or expired at `now_unix`.
pub fn verify_link(token: &str, key: &[u8], now_unix: i64) -> Result<LinkClaims, ActionError> {
    let (payload_b64, mac_b64) = token.split_once('.').ok_or(ActionError::Malformed)?;
    let mac = URL_SAFE_NO_PAD
        .decode(mac_b64)
        .map_err(|_| ActionError::Malformed)?;
    let mut message = LINK_CONTEXT.to_vec();
    message.extend_from_slice(payload_b64.as_bytes());
    if !super::inbound::hmac_matches(key, &message, &mac) {
        return Err(ActionError::BadSignature);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| ActionError::Malformed)?;
    let claims: LinkClaims =
        serde_json::from_slice(&payload).map_err(|_| ActionError::Malformed)?;
    check_change(&claims.change)?;
    if now_unix > claims.exp {
        return Err(ActionError::Expired);
    }
    Ok(claims)
}

/// What is needed to add a signed approval link to a notice.
#[derive(Clone)]
pub struct LinkGrant<'a> {
    /// The callback server's public base URL (`--chat-public-url`), without a trailing `/`.
    pub public_url: &'a str,
    /// The operator's link key (Secret key `link-key`).
    pub key: &'a [u8],
    /// The chat identity the link acts as (its `provider` and `id` in `chatIdentities`).
    pub provider: NotificationKind,
    /// Its chat id.
    pub id: &'a str,
    /// Unix seconds after which the link is refused.
    pub expires_unix: i64,
    /// A value unique to this link (e.g. the notice's dedupe key).
    pub nonce: &'a str,
}

impl std::fmt::Debug for LinkGrant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkGrant")
            .field("public_url", &self.public_url)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Path of the approval-link endpoint on the callback server.
pub const LINK_PATH: &str = "/chat/link";

/// The approval link for `change` under `grant`.
#[must_use]
pub fn approval_link(change: &ChangeRef, grant: &LinkGrant<'_>) -> String {
    let claims = LinkClaims {
        change: change.clone(),
        provider: grant.provider,
        id: grant.id.to_owned(),
        exp: grant.expires_unix,
        nonce: grant.nonce.to_owned(),
    };
    format!(
        "{}{LINK_PATH}?token={}",
        grant.public_url.trim_end_matches('/'),
        sign_link(&claims, grant.key)
    )
}

/// The actions an `awaitingApproval` notice carries: both button values, and a signed link
/// when `link` is given. What the delivery controller calls.
#[must_use]
pub fn approval_actions(change: &ChangeRef, link: Option<&LinkGrant<'_>>) -> ApprovalActions {
    ApprovalActions {
        approve_value: button_value(change, Decision::Approve),
        reject_value: button_value(change, Decision::Reject),
        approve_url: link.map(|grant| approval_link(change, grant)),
    }
}

/// The name of the Approval a chat decision creates: the same for the same change, chat
/// identity and decision, so a replayed request (even after a restart) cannot make a second.
#[must_use]
pub fn approval_name(uid: &str, provider: NotificationKind, chat_id: &str, d: Decision) -> String {
    let decision = match d {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    };
    let digest = sha2::Sha256::digest(format!(
        "{uid}\n{}\n{chat_id}\n{decision}",
        provider.as_str()
    ));
    format!("chat-{decision}-{}", &hex::encode(digest)[..20])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
#[path = "actions_tests.rs"]
mod tests;
