use super::*;

fn change() -> ChangeRef {
    ChangeRef {
        namespace: "shop".into(),
        name: "accounts".into(),
        uid: "0b6c1f7e-1d7a-4c1e-9f7e-2b1d6c0a9e11".into(),
        digest: "ab".repeat(32),
    }
}

const KEY: &[u8] = b"link-key-0123456789";

#[test]
fn button_values_round_trip_and_reject_anything_else() {
    let c = change();
    let actions = approval_actions(&c, None);
    assert_eq!(
        parse_button_value(&actions.approve_value),
        Ok(ChatDecision {
            change: c.clone(),
            decision: Decision::Approve
        })
    );
    assert_eq!(
        parse_button_value(&actions.reject_value).unwrap().decision,
        Decision::Reject
    );
    assert!(actions.approve_url.is_none());
    assert!(
        actions.approve_value.len() < 2000,
        "Slack limits a button value to 2000 characters"
    );
    for bad in [
        "",
        "sg1|a|shop|accounts",
        &actions.approve_value.replace("sg1|", "sg2|"),
        &actions.approve_value.replace("|a|", "|x|"),
        &actions.approve_value.replace("accounts", "../secrets"),
        &actions.approve_value.replace("accounts", "Accounts"),
        &actions
            .approve_value
            .replace(&"ab".repeat(32), &"ab".repeat(31)),
        &format!("{}|extra", actions.approve_value),
    ] {
        assert_eq!(
            parse_button_value(bad),
            Err(ActionError::Malformed),
            "{bad}"
        );
    }
}

fn grant(exp: i64) -> LinkGrant<'static> {
    LinkGrant {
        public_url: "https://approve.example.com/",
        key: KEY,
        provider: NotificationKind::Slack,
        id: "U024BE7LH",
        expires_unix: exp,
        nonce: "n-1",
    }
}

fn token_of(url: &str) -> &str {
    url.split_once("?token=").unwrap().1
}

#[test]
fn links_verify_until_they_expire() {
    let url = approval_actions(&change(), Some(&grant(1000)))
        .approve_url
        .unwrap();
    assert!(
        url.starts_with("https://approve.example.com/chat/link?token="),
        "{url}"
    );
    let claims = verify_link(token_of(&url), KEY, 1000).unwrap();
    assert_eq!(claims.change, change());
    assert_eq!(
        (claims.provider, claims.id.as_str(), claims.nonce.as_str()),
        (NotificationKind::Slack, "U024BE7LH", "n-1")
    );
    assert_eq!(
        verify_link(token_of(&url), KEY, 1001),
        Err(ActionError::Expired)
    );
    assert!(
        !url.contains(std::str::from_utf8(KEY).unwrap()),
        "the key leaks into the link"
    );
}

#[test]
fn forged_links_are_refused() {
    let url = approval_link(&change(), &grant(1000));
    let token = token_of(&url);
    assert_eq!(
        verify_link(token, b"another key", 0),
        Err(ActionError::BadSignature)
    );
    // Claims edited to another identity or a later expiry, keeping the signature.
    let (payload, mac) = token.split_once('.').unwrap();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["id"] = "U_MALLORY".into();
    let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    assert_eq!(verify_link(&forged, KEY, 0), Err(ActionError::BadSignature));
    assert_eq!(verify_link("no-dot", KEY, 0), Err(ActionError::Malformed));
    assert_eq!(
        verify_link(&format!("{payload}.!!"), KEY, 0),
        Err(ActionError::Malformed)
    );
    // The MAC is a plain HMAC of the payload under the key, with a context prefix, so the link
    // key cannot be used to forge anything else (and vice versa).
    let expected = super::super::providers::hmac_sha256(
        KEY,
        &[
            b"schemagate-approval-link-v1.".as_slice(),
            payload.as_bytes(),
        ]
        .concat(),
    );
    assert_eq!(URL_SAFE_NO_PAD.decode(mac).unwrap(), expected);
}

#[test]
fn approval_names_are_stable_and_distinct() {
    let uid = &change().uid;
    let a = approval_name(uid, NotificationKind::Slack, "U1", Decision::Approve);
    assert_eq!(
        a,
        approval_name(uid, NotificationKind::Slack, "U1", Decision::Approve)
    );
    assert!(a.starts_with("chat-approve-") && a.len() <= 63, "{a}");
    for other in [
        approval_name(uid, NotificationKind::Slack, "U2", Decision::Approve),
        approval_name(uid, NotificationKind::Lark, "U1", Decision::Approve),
        approval_name(uid, NotificationKind::Slack, "U1", Decision::Reject),
        approval_name(
            "other-uid",
            NotificationKind::Slack,
            "U1",
            Decision::Approve,
        ),
    ] {
        assert_ne!(a, other);
    }
}
