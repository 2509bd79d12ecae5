use sha2::Digest as _;

use super::*;

const KEY: &[u8] = b"test-encrypt-key";
const TOKEN: &[u8] = b"verification-token";

fn keys() -> LarkKeys<'static> {
    LarkKeys {
        encrypt_key: KEY,
        verification_token: TOKEN,
    }
}

/// Encrypts the way the Lark platform does (fixed IV for the test).
fn encrypt(doc: &serde_json::Value) -> Vec<u8> {
    seal(KEY, [7u8; 16], doc.to_string().as_bytes())
}

fn click(token: &str, value: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "schema": "2.0",
        "header": {"event_id": "ev-1", "event_type": "card.action.trigger", "token": token,
                   "create_time": "1700000000000000", "tenant_key": "t", "app_id": "cli_x"},
        "event": {"operator": {"open_id": "ou_alice", "user_id": "u1"},
                  "token": "c-1", "action": {"tag": "button", "value": value},
                  "host": "im_message", "context": {"open_message_id": "om_1"}}
    })
}

fn sign(ts: &str, nonce: &str, body: &[u8]) -> String {
    let mut text = format!("{ts}{nonce}").into_bytes();
    text.extend_from_slice(KEY);
    text.extend_from_slice(body);
    hex::encode(sha2::Sha256::digest(text))
}

fn headers<'a>(ts: &'a str, sig: &'a str) -> LarkHeaders<'a> {
    LarkHeaders {
        timestamp: Some(ts),
        nonce: Some("n1"),
        signature: Some(sig),
    }
}

#[test]
fn decryption_and_signature_match_openssl() {
    // printf '{"ok":1}' | openssl enc -aes-256-cbc -K $(sha256 of the key) -iv 0001…0f, IV
    // prefixed, base64.
    let plain = decrypt(KEY, "AAECAwQFBgcICQoLDA0OD4mEQE6A2CB+rl8qpQZ5sV0=").unwrap();
    assert_eq!(plain, br#"{"ok":1}"#);
    // printf '1700000000nonce1test-encrypt-key{"encrypt":"x"}' | openssl dgst -sha256
    assert_eq!(
        signature("1700000000", "nonce1", KEY, br#"{"encrypt":"x"}"#),
        "62a70b8a8c6dbbf2ed83d21170e5a71f67a430a0e208632f3a0e208ed73af433"
    );
}

#[test]
fn a_signed_card_action_is_read() {
    let body = encrypt(&click(
        "verification-token",
        serde_json::json!({"schemagate": "sg1|a|x"}),
    ));
    let sig = sign("1700000000", "n1", &body);
    let got = verify_and_parse(&keys(), headers("1700000000", &sig), &body, 1_700_000_100).unwrap();
    let LarkRequest::Action(i) = got else {
        panic!("{got:?}")
    };
    assert_eq!(
        (i.user_id.as_str(), i.value.as_str()),
        ("ou_alice", "sg1|a|x")
    );
    assert_eq!(i.replay_key, "lark:ev-1");
    // A plain string value works too.
    let body = encrypt(&click("verification-token", serde_json::json!("sg1|r|y")));
    let sig = sign("1700000000", "n1", &body);
    let got = verify_and_parse(&keys(), headers("1700000000", &sig), &body, 1_700_000_000).unwrap();
    assert!(matches!(got, LarkRequest::Action(i) if i.value == "sg1|r|y"));
}

#[test]
fn forged_stale_unencrypted_and_wrong_token_requests_are_refused() {
    let body = encrypt(&click("verification-token", serde_json::json!("v")));
    let sig = sign("1700000000", "n1", &body);
    let mut tampered = body.clone();
    tampered[15] ^= 1;
    let now = 1_700_000_000;
    let refused =
        |h: LarkHeaders<'_>, b: &[u8], now: i64| verify_and_parse(&keys(), h, b, now).unwrap_err();
    assert!(matches!(
        refused(headers("1700000000", &sig), &tampered, now),
        InboundError::BadSignature | InboundError::Malformed(_)
    ));
    assert_eq!(
        refused(headers("1700000000", &"0".repeat(64)), &body, now),
        InboundError::BadSignature
    );
    assert_eq!(
        refused(headers("1700000000", &sig), &body, now + 301),
        InboundError::Stale
    );
    assert_eq!(
        refused(headers("1700000001", &sig), &body, now),
        InboundError::BadSignature
    );
    assert_eq!(
        refused(LarkHeaders::default(), &body, now),
        InboundError::MissingHeader(TIMESTAMP_HEADER)
    );
    let plain = click("verification-token", serde_json::json!("v")).to_string();
    let sig_plain = sign("1700000000", "n1", plain.as_bytes());
    assert!(
        matches!(refused(headers("1700000000", &sig_plain), plain.as_bytes(), now), InboundError::Malformed(m) if m.contains("unencrypted"))
    );
    let wrong = encrypt(&click("other-token", serde_json::json!("v")));
    let sig = sign("1700000000", "n1", &wrong);
    assert_eq!(
        refused(headers("1700000000", &sig), &wrong, now),
        InboundError::BadToken
    );
    let other_key = LarkKeys {
        encrypt_key: b"another-key",
        verification_token: TOKEN,
    };
    assert!(matches!(
        verify_and_parse(&other_key, headers("1700000000", &sig), &body, now),
        Err(InboundError::Malformed(_))
    ));
}

#[test]
fn the_url_check_is_answered_only_with_the_right_token() {
    let ok = encrypt(
        &serde_json::json!({"type": "url_verification", "challenge": "ch-1", "token": "verification-token"}),
    );
    assert_eq!(
        verify_and_parse(&keys(), LarkHeaders::default(), &ok, 0),
        Ok(LarkRequest::Challenge("ch-1".into()))
    );
    let bad = encrypt(
        &serde_json::json!({"type": "url_verification", "challenge": "ch-1", "token": "guess"}),
    );
    assert_eq!(
        verify_and_parse(&keys(), LarkHeaders::default(), &bad, 0),
        Err(InboundError::BadToken)
    );
}
