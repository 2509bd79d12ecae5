//! schemagate's own JSON document, for any HTTP receiver.
//!
//! Body: `{"schemaVersion": 1, "deliveryKey": …, "notice": {…}}` (the [`Notice`] as JSON).
//! Headers: `X-Schemagate-Delivery` (the dedupe key: the same for every retry and after operator
//! restarts), `X-Schemagate-Event`, and with a signing key `X-Schemagate-Timestamp` (unix
//! seconds) and `X-Schemagate-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
//! A receiver verifies the signature, refuses timestamps older than a few minutes, and drops a
//! delivery key it has already seen.

use super::hmac_sha256;
use crate::notify::{ChannelSecret, Notice, Outgoing};

/// The document version in `schemaVersion`.
pub const SCHEMA_VERSION: u32 = 1;

pub(super) fn render(notice: &Notice, secret: &ChannelSecret, now_unix: i64) -> Outgoing {
    let document = serde_json::json!({
        "schemaVersion": SCHEMA_VERSION,
        "deliveryKey": notice.key,
        "notice": notice,
    });
    let body = document.to_string().into_bytes();
    let mut headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-Schemagate-Delivery".to_owned(), notice.key.clone()),
        (
            "X-Schemagate-Event".to_owned(),
            notice.event.as_str().to_owned(),
        ),
    ];
    if let Some(key) = &secret.signing_key {
        let mut signed = format!("{now_unix}.").into_bytes();
        signed.extend_from_slice(&body);
        let signature = hex::encode(hmac_sha256(key.as_bytes(), &signed));
        headers.push(("X-Schemagate-Timestamp".to_owned(), now_unix.to_string()));
        headers.push((
            "X-Schemagate-Signature".to_owned(),
            format!("sha256={signature}"),
        ));
    }
    Outgoing {
        url: secret.url.clone(),
        headers,
        body,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::notify::{NotificationEvent, Subject};

    fn notice() -> Notice {
        let mut notice = crate::notify::example_notice(NotificationEvent::Applied);
        notice.key = "k1".into();
        notice.subject = Subject::DatabaseInstance {
            name: "orders-db".into(),
            uid: "u".into(),
            environment: None,
        };
        notice
    }

    #[test]
    fn signature_is_hmac_of_timestamp_dot_body() {
        let secret = ChannelSecret {
            url: "http://127.0.0.1:1/hook".into(),
            signing_key: Some("s3cret".into()),
        };
        let out = render(&notice(), &secret, 1_700_000_000);
        let header = |name: &str| {
            out.headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        let mut signed = b"1700000000.".to_vec();
        signed.extend_from_slice(&out.body);
        assert_eq!(
            header("X-Schemagate-Signature"),
            format!("sha256={}", hex::encode(hmac_sha256(b"s3cret", &signed)))
        );
        assert_eq!(header("X-Schemagate-Delivery"), "k1");
        let body: serde_json::Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(body["notice"]["subject"]["name"], "orders-db");
        assert!(!String::from_utf8_lossy(&out.body).contains("s3cret"));
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
