//! Approving from chat, on the real control plane (tests/kube) with the operator's admission
//! webhooks: a Slack-signed click by alice's chat account creates an Approval recorded as
//! alice (the operator impersonates her, the webhook stamps her, RBAC lets her); a bad
//! signature, a stale timestamp, a replay (before and after an operator restart), an unmapped
//! chat user and a mapped user without `approve` are refused and nothing is applied; a signed
//! link approves on POST only; the signing secret and link key never show up in the log,
//! Events, status or answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;
mod real_kube;

use std::time::Duration;

use e2e_support::Reviewed;
use e2e_support::receiver::{Mode, Receiver};
use hmac::{KeyInit, Mac};
use real_kube::team::{Team, free_port};
use schemagate::api::Decision;
use schemagate::chat::approve::{Approver, Outcome, Request};
use schemagate::notify::NotificationKind;
use schemagate::notify::actions::{
    ChangeRef, ChatDecision, LinkGrant, approval_link, button_value,
};
use schemagate::notify::inbound::lark;
use serde_json::{Value, json};

const SLACK_SECRET: &str = "CANARY-slack-signing-secret-7f3a90";
const LINK_KEY: &str = "CANARY-link-key-91bd22";
const LARK_KEY: &str = "CANARY-lark-encrypt-key-5c01";
const LARK_TOKEN: &str = "CANARY-lark-token-e4d7";

/// A minimal HTTP/1.1 exchange (Connection: close): status and body.
async fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = None;
    for _ in 0..100 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            stream = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut stream = stream.expect("the chat server never listened");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A Lark card callback as Lark sends it (encrypted, signed); the status and the answer.
async fn lark_click(port: u16, document: &Value, encrypt_key: &str) -> (u16, Value) {
    let body = lark::seal(
        encrypt_key.as_bytes(),
        [9; 16],
        document.to_string().as_bytes(),
    );
    let ts = now().to_string();
    let headers = [
        ("Content-Type", "application/json".to_owned()),
        ("X-Lark-Request-Timestamp", ts.clone()),
        ("X-Lark-Request-Nonce", "nonce-1".to_owned()),
        (
            "X-Lark-Signature",
            lark::signature(&ts, "nonce-1", encrypt_key.as_bytes(), &body),
        ),
    ];
    let (status, answer) = http(port, "POST", "/chat/lark", &headers, &body).await;
    (
        status,
        serde_json::from_str(&answer).unwrap_or(Value::String(answer)),
    )
}

/// The Lark endpoint: the URL check, a signed click by carol (refused by RBAC, shown as an
/// error toast), an unmapped account, a body sealed with another key.
async fn lark_clicks(port: u16, approve: &str, answers: &mut Vec<String>) {
    let check = json!({"type": "url_verification", "challenge": "ch-42", "token": LARK_TOKEN});
    let (status, answer) = lark_click(port, &check, LARK_KEY).await;
    assert_eq!((status, &answer), (200, &json!({"challenge": "ch-42"})));
    let click = |open_id: &str, event: &str| {
        json!({
            "schema": "2.0",
            "header": {"event_id": event, "event_type": "card.action.trigger", "token": LARK_TOKEN},
            "event": {"operator": {"open_id": open_id}, "action": {"tag": "button", "value": {"schemagate": approve}}}
        })
    };
    let (status, carol) = lark_click(port, &click("ou_carol", "ev-1"), LARK_KEY).await;
    assert_eq!(status, 200, "{carol}");
    assert_eq!(carol["toast"]["type"], "error", "{carol}");
    assert!(
        carol["toast"]["content"]
            .as_str()
            .unwrap()
            .contains("NotAllowedByRBAC"),
        "{carol}"
    );
    let (_, nobody) = lark_click(port, &click("ou_nobody", "ev-2"), LARK_KEY).await;
    assert!(
        nobody["toast"]["content"]
            .as_str()
            .unwrap()
            .contains("lark account is not mapped"),
        "{nobody}"
    );
    let (status, forged) = lark_click(port, &click("ou_carol", "ev-3"), "guessed-key").await;
    assert!(status == 400 || status == 401, "{status} {forged}");
    answers.extend([carol.to_string(), nobody.to_string(), forged.to_string()]);
}

/// The confirmation page's form, posted.
async fn post_link(port: u16, token: &str) -> (u16, String) {
    let form = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let body = format!("token={token}");
    http(port, "POST", "/chat/link", &form, body.as_bytes()).await
}

/// A Slack interactivity request as Slack sends it: form-encoded payload, v0 signature.
struct SlackClick {
    body: Vec<u8>,
    timestamp: i64,
    signature: String,
}

impl SlackClick {
    fn new(user: &str, value: &str, timestamp: i64, secret: &str) -> Self {
        Self::with_response_url(
            user,
            value,
            timestamp,
            secret,
            "https://hooks.slack.com/actions/T0001/1/abc",
        )
    }

    fn with_response_url(
        user: &str,
        value: &str,
        timestamp: i64,
        secret: &str,
        response_url: &str,
    ) -> Self {
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": user.to_lowercase()},
            "team": {"id": "T0001"},
            "actions": [{"action_id": "schemagate-approve", "type": "button", "value": value}],
            "response_url": response_url
        });
        let body = format!("payload={}", urlencode(&payload.to_string())).into_bytes();
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{timestamp}:").as_bytes());
        mac.update(&body);
        let signature = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
        Self {
            body,
            timestamp,
            signature,
        }
    }

    async fn send(&self, port: u16) -> (u16, String) {
        let headers = [
            (
                "Content-Type",
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("X-Slack-Request-Timestamp", self.timestamp.to_string()),
            ("X-Slack-Signature", self.signature.clone()),
        ];
        http(port, "POST", "/chat/slack", &headers, &self.body).await
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The text Slack shows the clicking user.
fn slack_text(answer: &(u16, String)) -> String {
    assert_eq!(answer.0, 200, "{answer:?}");
    let v: Value = serde_json::from_str(&answer.1).unwrap();
    assert_eq!(v["response_type"], "ephemeral");
    v["text"].as_str().unwrap().to_owned()
}

const PROJECT: &str = r#"apiVersion: schemagate.io/v1alpha1
kind: Project
metadata: {name: chat}
spec:
  instances: [pg]
  approval:
    requiredApprovals: 2
    chatIdentities:
    - {provider: slack, id: U_ALICE, user: alice, groups: [dba]}
    - {provider: slack, id: U_DAVE, user: dave, groups: [dba]}
    - {provider: slack, id: U_CAROL, user: carol, groups: [developers]}
    - {provider: lark, id: ou_carol, user: carol, groups: [developers]}
"#;

async fn approvals(team: &Team) -> Vec<Value> {
    let list = team
        .api("Approval")
        .list(&Default::default())
        .await
        .unwrap();
    list.items
        .into_iter()
        .map(|a| serde_json::to_value(a).unwrap())
        .collect()
}

/// The operator's own RBAC bounds whom it can act as: with only the chart's rule for alice and
/// dba, acting as dave (mapped in the Project) is refused by the API server, and nothing is
/// created.
async fn assert_impersonation_is_limited(team: &Team, change: &ChangeRef) {
    let ns = &team.ns;
    let name = format!("{ns}-chat-impersonate");
    let rbac = format!(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: chat-operator, namespace: {ns}}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: {name}}}\n\
         rules:\n- {{apiGroups: [\"\"], resources: [users], resourceNames: [alice], verbs: [impersonate]}}\n\
         - {{apiGroups: [\"\"], resources: [groups], resourceNames: [dba], verbs: [impersonate]}}\n---\n\
         apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: {name}}}\n\
         roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}\n\
         subjects: [{{kind: ServiceAccount, name: chat-operator, namespace: {ns}}}]\n"
    );
    team.kube
        .kubectl("admin", &["apply", "-f", "-"], Some(&rbac))
        .unwrap();
    let token = team
        .kube
        .kubectl(
            "admin",
            &["create", "token", "chat-operator", "-n", ns],
            None,
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat-operator.kubeconfig");
    team.kube
        .write_token_kubeconfig(&path, "chat-operator", token.trim());
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    // The listed names work (alice, dba may list Approvals)...
    let mut as_alice = config.clone();
    as_alice.auth_info.impersonate = Some("alice".into());
    as_alice.auth_info.impersonate_groups = Some(vec!["dba".into()]);
    let listed = kube::Api::<schemagate::api::Approval>::namespaced(
        kube::Client::try_from(as_alice).unwrap(),
        ns,
    )
    .list(&Default::default())
    .await;
    assert!(listed.is_ok(), "{listed:?}");
    // ... and dave, mapped in the Project but not listed, is refused by the API server.
    let approver = Approver {
        client: team.admin.clone(),
        config,
    };
    let request = Request {
        provider: NotificationKind::Slack,
        chat_id: "U_DAVE".into(),
        decision: ChatDecision {
            change: change.clone(),
            decision: Decision::Approve,
        },
        via: "a test",
    };
    let outcome = approver.decide(&request).await;
    assert!(
        matches!(&outcome, Outcome::Refused(m) if m.contains("cannot impersonate") && m.contains("chat-operator")),
        "{outcome:?}"
    );
    assert!(approvals(team).await.is_empty());
    team.kube
        .kubectl(
            "admin",
            &["delete", "clusterrole,clusterrolebinding", &name],
            None,
        )
        .unwrap();
}

/// config/chat's policy on chatIdentities, bound to this namespace (the control plane is shared
/// by the run): bob may map a chat account to himself with his own groups, not to alice nor to
/// a group he is not in.
async fn guard_chat_identities(team: &Team) {
    team.install_policies("config/chat/chat_identities_policy.yaml");
    let project = |name: &str, user: &str, groups: &str| {
        format!(
            "apiVersion: schemagate.io/v1alpha1\nkind: Project\nmetadata: {{name: {name}}}\nspec:\n  instances: [pg]\n  approval:\n    chatIdentities:\n    - {{provider: slack, id: U_BOB, user: {user}, groups: [{groups}]}}\n"
        )
    };
    let to_alice = project("bobs", "alice", "dba");
    let mut refusal = String::new();
    for _ in 0..200 {
        match team.as_user(
            "bob",
            &["create", "--dry-run=server", "-f", "-"],
            Some(&to_alice),
        ) {
            Err(e) => {
                refusal = e.to_string();
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(
        refusal.contains("may map a chat account only to yourself"),
        "{refusal}"
    );
    let not_his_group = team
        .create("bob", &project("bobs", "bob", "dba"))
        .unwrap_err()
        .to_string();
    assert!(
        not_his_group.contains("may map a chat account only to yourself"),
        "{not_his_group}"
    );
    team.create("bob", &project("bobs", "bob", "developers"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slack_click_approves_as_the_mapped_user_and_nothing_else_does() {
    let team = Team::new("chat").await;
    let ns = team.ns.clone();
    team.as_user(
        "admin",
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: schemagate-chat}}\nstringData:\n  slack-signing-secret: {SLACK_SECRET}\n  link-key: {LINK_KEY}\n  lark-encrypt-key: {LARK_KEY}\n  lark-verification-token: {LARK_TOKEN}\n"
        )),
    )
    .unwrap();
    let chat_port = free_port();
    let chat_addr = format!("127.0.0.1:{chat_port}");
    // Slack's response_url, here a local receiver: the follow-up message the user sees.
    let slack = Receiver::start(Mode::Accept).await.unwrap();
    let prefix = format!("{}/actions/", slack.url);
    let chat_args = [
        "--chat-addr",
        chat_addr.as_str(),
        "--chat-secret",
        "schemagate-chat",
        "--chat-slack-response-prefix",
        prefix.as_str(),
    ];
    let operator = team.start_operator(&chat_args).await;

    let pg = team.database();
    guard_chat_identities(&team).await;
    team.as_user("admin", &["apply", "-f", "-"], Some(PROJECT))
        .unwrap();
    team.create(
        "bob",
        "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: accounts}\nspec:\n  projectRef: chat\n  instanceRef: pg\n  version: \"1\"\n  sql: \"CREATE TABLE accounts (id bigint PRIMARY KEY);\"\n",
    )
    .unwrap();
    let reviewed = Reviewed::of(&team.wait_phase("accounts", "AwaitingApproval").await);
    let change = ChangeRef {
        namespace: ns.clone(),
        name: "accounts".into(),
        uid: reviewed.uid.clone(),
        digest: reviewed.digest.clone(),
    };
    let approve = button_value(&change, Decision::Approve);
    let mut answers = Vec::new();
    let not_applied = |why: &str| {
        assert!(
            pg.psql("SELECT to_regclass('accounts') IS NULL")
                .unwrap()
                .contains('t'),
            "applied after {why}"
        );
    };

    // Refused before anything is looked up: a wrong secret, a stale or future timestamp.
    let forged = SlackClick::new("U_ALICE", &approve, now(), "not-the-secret")
        .send(chat_port)
        .await;
    assert_eq!(forged.0, 401, "{forged:?}");
    assert!(forged.1.contains("signature is not valid"), "{forged:?}");
    let stale = SlackClick::new("U_ALICE", &approve, now() - 600, SLACK_SECRET)
        .send(chat_port)
        .await;
    assert_eq!(stale.0, 401, "{stale:?}");
    assert!(stale.1.contains("five minutes"), "{stale:?}");
    let future = SlackClick::new("U_ALICE", &approve, now() + 600, SLACK_SECRET)
        .send(chat_port)
        .await;
    assert_eq!(future.0, 401, "{future:?}");
    answers.extend([forged.1, stale.1, future.1]);

    // Verified, but refused: an unmapped chat user; carol, mapped, lacks `approve`; a value
    // whose digest is not the reviewed one.
    let unmapped = SlackClick::new("U_NOBODY", &approve, now(), SLACK_SECRET)
        .send(chat_port)
        .await;
    let text = slack_text(&unmapped);
    assert!(
        text.contains("not mapped to a Kubernetes user in Project chat"),
        "{text}"
    );
    let carol = SlackClick::new("U_CAROL", &approve, now(), SLACK_SECRET)
        .send(chat_port)
        .await;
    let text = slack_text(&carol);
    assert!(
        text.starts_with("Refused:") && text.contains("NotAllowedByRBAC"),
        "{text}"
    );
    assert!(text.contains("carol"), "{text}");
    let other_digest = ChangeRef {
        digest: "0".repeat(64),
        ..change.clone()
    };
    let stale_value = button_value(&other_digest, Decision::Approve);
    let edited = SlackClick::new("U_ALICE", &stale_value, now(), SLACK_SECRET)
        .send(chat_port)
        .await;
    let text = slack_text(&edited);
    assert!(
        text.contains("the SQL of accounts changed since the message"),
        "{text}"
    );
    answers.extend([unmapped.1, carol.1, edited.1]);
    lark_clicks(chat_port, &approve, &mut answers).await;
    assert_impersonation_is_limited(&team, &change).await;
    assert!(
        approvals(&team).await.is_empty(),
        "{:#?}",
        approvals(&team).await
    );
    not_applied("the refusals");

    // alice's click: an Approval recorded as alice by the webhook.
    let alice = SlackClick::with_response_url(
        "U_ALICE",
        &approve,
        now(),
        SLACK_SECRET,
        &format!("{prefix}T0001/1/abc"),
    );
    let answer = alice.send(chat_port).await;
    let text = slack_text(&answer);
    assert!(
        text.contains(&format!("{ns}/accounts approved as alice")),
        "{text}"
    );
    answers.push(answer.1);
    let recorded = approvals(&team).await;
    assert_eq!(recorded.len(), 1, "{recorded:#?}");
    let approval = &recorded[0];
    assert_eq!(
        approval["spec"]["approver"]["username"], "alice",
        "{approval:#}"
    );
    assert_eq!(approval["spec"]["schemaChangeUid"], reviewed.uid.as_str());
    assert_eq!(approval["metadata"]["labels"]["schemagate.io/via"], "slack");
    assert!(
        approval["spec"]["comment"]
            .as_str()
            .unwrap()
            .contains("Slack")
    );
    // The same text reached the user through response_url; other hosts got nothing.
    for _ in 0..100 {
        if !slack.accepted().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let followups = slack.accepted();
    assert_eq!(followups.len(), 1, "{followups:?}");
    assert_eq!(followups[0].body["text"], text.as_str());
    assert_eq!(followups[0].body["response_type"], "ephemeral");

    // The same delivery again: refused by the replay cache, and after a restart (cache empty)
    // by the Approval's name; still one Approval, and one approval short of applying.
    let text = slack_text(&alice.send(chat_port).await);
    assert_eq!(text, "This request was already handled.");
    drop(operator);
    let operator = team.start_operator(&chat_args).await;
    let text = slack_text(&alice.send(chat_port).await);
    assert!(text.starts_with("You already approved"), "{text}");
    assert_eq!(approvals(&team).await.len(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        team.get("SchemaChange", "accounts").await["status"]["phase"],
        "AwaitingApproval"
    );
    not_applied("one approval and its replays");

    // dave's signed link: GET shows a page and approves nothing (link previews fetch URLs);
    // an expired or forged link is refused; POST approves as dave, once.
    let grant = |exp: i64, key: &'static [u8]| LinkGrant {
        public_url: "https://chat.example.com",
        key,
        provider: NotificationKind::Slack,
        id: "U_DAVE",
        expires_unix: exp,
        nonce: "n-1",
    };
    let path_of = |url: String| {
        url.trim_start_matches("https://chat.example.com")
            .to_owned()
    };
    let link = path_of(approval_link(
        &change,
        &grant(now() + 3600, LINK_KEY.as_bytes()),
    ));
    let page = http(chat_port, "GET", &link, &[], b"").await;
    assert_eq!(page.0, 200, "{page:?}");
    assert!(page.1.contains("Approve this schema change?") && page.1.contains("method=\"post\""));
    assert_eq!(approvals(&team).await.len(), 1, "a GET approved");
    let expired = path_of(approval_link(
        &change,
        &grant(now() - 1, LINK_KEY.as_bytes()),
    ));
    let forged = path_of(approval_link(&change, &grant(now() + 3600, b"guessed")));
    for (bad, why) in [(expired, "expired"), (forged, "signature is not valid")] {
        let token = bad.split_once("?token=").unwrap().1.to_owned();
        let refused = post_link(chat_port, &token).await;
        assert_eq!(refused.0, 403, "{refused:?}");
        assert!(refused.1.contains(why), "{refused:?}");
        answers.push(refused.1);
    }
    let token = link.split_once("?token=").unwrap().1.to_owned();
    let posted = post_link(chat_port, &token).await;
    assert_eq!(posted.0, 200, "{posted:?}");
    assert!(posted.1.contains("approved as dave"), "{posted:?}");
    let again = post_link(chat_port, &token).await;
    assert_eq!(again.0, 403, "{again:?}");
    answers.extend([page.1, posted.1, again.1]);

    assert_eq!(team.applied_approvers("accounts").await, ["alice", "dave"]);
    assert!(
        pg.psql("SELECT to_regclass('accounts') IS NOT NULL")
            .unwrap()
            .contains('t')
    );

    // Canary: neither secret in the log, Events, objects or any answer.
    drop(operator);
    let events = team
        .as_user("admin", &["get", "events", "-o", "yaml"], None)
        .unwrap();
    let objects = team
        .as_user(
            "admin",
            &["get", "schemachanges,approvals,projects", "-o", "yaml"],
            None,
        )
        .unwrap();
    let log = team.logs();
    assert!(
        log.contains("chat decision"),
        "the log says nothing of the decisions:\n{log}"
    );
    for (name, text) in [
        ("log", &log),
        ("events", &events),
        ("objects", &objects),
        ("answers", &answers.join("\n")),
    ] {
        for secret in [SLACK_SECRET, LINK_KEY, LARK_KEY, LARK_TOKEN] {
            assert!(!text.contains(secret), "{secret} leaked into the {name}");
        }
    }
    team.remove_webhooks();
    team.kube
        .kubectl(
            "admin",
            &[
                "delete",
                "validatingadmissionpolicybinding",
                &format!("{ns}-schemagate-chat-identities"),
            ],
            None,
        )
        .unwrap();
}

/// The button value in a Slack message body: the `value` of the element whose `action_id` is
/// `schemagate.approve`.
fn approve_button(body: &Value) -> Option<String> {
    body["blocks"].as_array()?.iter().find_map(|block| {
        block["elements"].as_array()?.iter().find_map(|e| {
            (e["action_id"] == "schemagate.approve")
                .then(|| e["value"].as_str().map(str::to_owned))?
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_approve_button_of_the_notice_sent_to_slack_approves_as_the_clicker() {
    let team = Team::new("chatnotice").await;
    // The Slack channel's incoming webhook, played by a local receiver.
    let channel = Receiver::start(Mode::Accept).await.unwrap();
    team.as_user(
        "admin",
        &["apply", "-f", "-"],
        Some(&format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: schemagate-chat}}\nstringData:\n  slack-signing-secret: {SLACK_SECRET}\n  link-key: {LINK_KEY}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: slack-hook}}\nstringData:\n  url: {}/services/T0001/B0001/hooktoken\n",
            channel.url
        )),
    )
    .unwrap();
    let chat_port = free_port();
    let chat_addr = format!("127.0.0.1:{chat_port}");
    let followups = Receiver::start(Mode::Accept).await.unwrap();
    let prefix = format!("{}/actions/", followups.url);
    let _operator = team
        .start_operator(&[
            "--chat-addr",
            chat_addr.as_str(),
            "--chat-secret",
            "schemagate-chat",
            "--chat-slack-response-prefix",
            prefix.as_str(),
        ])
        .await;
    let pg = team.database();
    team.as_user(
        "admin",
        &["apply", "-f", "-"],
        Some(
            "apiVersion: schemagate.io/v1alpha1\nkind: Project\nmetadata: {name: chat}\nspec:\n  instances: [pg]\n  approval:\n    chatIdentities:\n    - {provider: slack, id: U_ALICE, user: alice, groups: [dba]}\n  notifications:\n  - name: dba\n    type: slack\n    urlSecretRef: {name: slack-hook, key: url}\n    events: [awaitingApproval]\n",
        ),
    )
    .unwrap();
    team.create(
        "bob",
        "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: ledger}\nspec:\n  projectRef: chat\n  instanceRef: pg\n  version: \"1\"\n  sql: \"CREATE TABLE ledger (id bigint PRIMARY KEY);\"\n",
    )
    .unwrap();
    team.wait_phase("ledger", "AwaitingApproval").await;
    let mut value = None;
    for _ in 0..600 {
        value = channel
            .accepted()
            .iter()
            .find_map(|d| approve_button(&d.body));
        if value.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let value = value.expect("the awaitingApproval message carries an Approve button");
    let click = SlackClick::with_response_url(
        "U_ALICE",
        &value,
        now(),
        SLACK_SECRET,
        &format!("{prefix}T0001/1/abc"),
    );
    let answer = click.send(chat_port).await;
    assert!(
        slack_text(&answer).contains("approved as alice"),
        "{answer:?}"
    );
    team.wait_phase("ledger", "Applied").await;
    assert!(
        pg.psql("SELECT to_regclass('ledger') IS NOT NULL")
            .unwrap()
            .contains('t')
    );
    let recorded = approvals(&team).await;
    assert_eq!(recorded[0]["spec"]["approver"]["username"], "alice");
}
