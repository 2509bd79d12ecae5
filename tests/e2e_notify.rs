//! Notifications end to end: a change's life announced on a real HTTP receiver, once per
//! transition, signed, without secrets anywhere; a receiver that is down or hangs; `kill -9`
//! of the operator between "approved" and "applied".
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use std::time::{Duration, Instant};

use e2e_support::receiver::{Mode, Receiver};
use e2e_support::{Env, PgTarget, approval, change, condition};

/// Recognisable strings in the channel's URL token and signing key: they must never show up
/// outside the request to the receiver.
const URL_CANARY: &str = "urltokencanary7f3a9";
const KEY_CANARY: &str = "signingkeycanary51c2";

/// Secret + Project with one `webhook` channel to `receiver` (and `extra` lines under the
/// channel), replacing the base manifests' Project.
fn channel_manifests(receiver: &Receiver, extra: &str, approval_policy: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: hook
stringData:
  url: "{url}/hooks/{URL_CANARY}"
  key: "{KEY_CANARY}"
---
apiVersion: schemagate.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  instances: [pg]
  review:
    preset: default
{approval_policy}
  notifications:
    - name: dba
      type: webhook
      urlSecretRef: {{name: hook, key: url}}
      signingKeySecretRef: {{name: hook, key: key}}
{extra}
"#,
        url = receiver.url
    )
}

async fn setup(receiver: &Receiver, extra: &str, approval_policy: &str) -> (Env, PgTarget) {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.apply(&channel_manifests(receiver, extra, approval_policy))
        .await
        .unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    (env, pg)
}

/// The signature check a receiver does: HMAC-SHA256 of "<timestamp>.<body>".
fn signature_ok(d: &e2e_support::receiver::Delivery) -> bool {
    use hmac::{Hmac, KeyInit, Mac as _};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(KEY_CANARY.as_bytes()).unwrap();
    mac.update(d.header("x-schemagate-timestamp").as_bytes());
    mac.update(b".");
    mac.update(&d.raw);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    d.header("x-schemagate-signature") == expected
}

async fn assert_no_canary(env: &Env, what: &[&str]) {
    let mut texts = vec![env.logs()];
    texts.push(
        env.kubectl_async(&["get", "events", "-o", "json"])
            .await
            .unwrap(),
    );
    for w in what {
        texts.push(env.kubectl_async(&["get", w, "-o", "json"]).await.unwrap());
    }
    for text in texts {
        for canary in [URL_CANARY, KEY_CANARY] {
            assert!(!text.contains(canary), "{canary} leaked into: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_is_announced_once_per_transition_signed_and_without_secrets() {
    let receiver = Receiver::start(Mode::Accept).await.unwrap();
    let (env, _pg) = setup(&receiver, "", "").await;
    env.apply(&change(
        "add-t",
        "1",
        "CREATE TABLE t (id bigint PRIMARY KEY);",
    ))
    .await
    .unwrap();
    let reviewed = env.reviewed("add-t").await.unwrap();
    let waiting = receiver
        .wait_for("awaitingApproval", Duration::from_secs(30))
        .await
        .unwrap();
    let notice = &waiting.body["notice"];
    assert_eq!(notice["sqlDigest"], reviewed.digest.as_str(), "{notice:#}");
    assert_eq!(notice["subject"]["name"], "add-t");
    assert_eq!(notice["subject"]["environment"], "prod");
    assert_eq!(
        waiting.body["deliveryKey"],
        waiting.header("x-schemagate-delivery")
    );
    env.apply(&approval("ok", "add-t", &reviewed, "approve"))
        .await
        .unwrap();
    env.wait("schemachange/add-t", "condition=Applied")
        .await
        .unwrap();
    let applied = receiver
        .wait_for("applied", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(
        applied.body["notice"]["diff"]
            .as_array()
            .is_some_and(|d| d.iter().any(|l| l.as_str().unwrap_or("").contains("t"))),
        "the applied notice carries the schema diff: {:#}",
        applied.body
    );
    // Quiet afterwards: nothing more, nothing twice.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.distinct_events(),
        ["reviewed", "awaitingApproval", "approved", "applied"]
    );
    assert_eq!(receiver.attempts(), 4, "one request per transition");
    assert!(receiver.accepted().iter().all(signature_ok));
    env.wait(
        "project/shop",
        "jsonpath={.status.conditions[?(@.type==\"NotificationsHealthy\")].status}=True",
    )
    .await
    .unwrap();
    let ledger = format!("configmap/schemagate-notify-{}", reviewed.uid);
    let records = env.get_json(&ledger).await.unwrap();
    assert_eq!(records["data"].as_object().unwrap().len(), 4, "{records:#}");
    assert_no_canary(&env, &["project/shop", "schemachange/add-t", &ledger]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_was_down_gets_its_messages_when_it_returns() {
    let receiver = Receiver::start(Mode::Refuse).await.unwrap();
    let (env, _pg) = setup(&receiver, "      events: [reviewed]", "").await;
    env.apply(&change(
        "add-u",
        "1",
        "CREATE TABLE u (id bigint PRIMARY KEY);",
    ))
    .await
    .unwrap();
    env.wait(
        "project/shop",
        "jsonpath={.status.conditions[?(@.type==\"NotificationsHealthy\")].status}=False",
    )
    .await
    .unwrap();
    let project = env.get_json("project/shop").await.unwrap();
    let failing = condition(&project, "NotificationsHealthy");
    assert_eq!(failing["reason"], "DeliveryFailing");
    assert!(
        failing["message"]
            .as_str()
            .unwrap()
            .contains("dba (HTTP 503"),
        "{failing:#}"
    );
    // Down for 20 s: retried with backoff meanwhile (1, 2, 4, 8 s …), not in a tight loop.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let tries = receiver.attempts();
    assert!((3..=8).contains(&tries), "{tries} attempts in 20 s");
    receiver.set(Mode::Accept);
    let back = Instant::now();
    receiver
        .wait_for("reviewed", Duration::from_secs(40))
        .await
        .unwrap();
    assert!(
        back.elapsed() <= Duration::from_secs(31),
        "the backoff is capped at 30 s"
    );
    env.wait(
        "project/shop",
        "jsonpath={.status.conditions[?(@.type==\"NotificationsHealthy\")].status}=True",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.distinct_events(), ["reviewed"], "the filter holds");
    assert_eq!(receiver.accepted().len(), 1);
    assert_no_canary(&env, &["project/shop"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hanging_receiver_never_delays_an_execution() {
    let receiver = Receiver::start(Mode::Hang).await.unwrap();
    let policy =
        "  approval:\n    autoApprove:\n      - environments: [prod]\n        maxRisk: HIGH";
    let (env, _pg) = setup(&receiver, "", policy).await;
    let started = Instant::now();
    env.apply(&change(
        "add-v",
        "1",
        "CREATE TABLE v (id bigint PRIMARY KEY);",
    ))
    .await
    .unwrap();
    env.wait("schemachange/add-v", "condition=Applied")
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(
        receiver.attempts() >= 1 && receiver.accepted().is_empty(),
        "the receiver was called and is still hanging"
    );
    assert!(
        took < schemagate::controller::notifications::DELIVERY_TIMEOUT,
        "applied in {took:?}, while the first delivery hangs for up to 10 s"
    );
    receiver.set(Mode::Accept);
    for event in ["reviewed", "approved", "applied"] {
        receiver
            .wait_for(event, Duration::from_secs(60))
            .await
            .unwrap();
    }
    // The timed-out "reviewed" is retried after backoff, so it may arrive after the others.
    let mut events = receiver.distinct_events();
    events.sort();
    assert_eq!(events, ["applied", "approved", "reviewed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_between_approved_and_applied_loses_no_message_and_repeats_none() {
    let receiver = Receiver::start(Mode::Accept).await.unwrap();
    let env = Env::start_without_operator().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let first = env.operator_process("first", &logs.path().join("first.log"));
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.apply(&channel_manifests(&receiver, "", ""))
        .await
        .unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    let sql = "CREATE TABLE w (id bigint PRIMARY KEY);\nDO $$ BEGIN PERFORM pg_sleep(4); END $$;";
    env.apply(&change("slow", "1", sql)).await.unwrap();
    let reviewed = env.reviewed("slow").await.unwrap();
    env.apply(&approval("ok", "slow", &reviewed, "approve"))
        .await
        .unwrap();
    receiver
        .wait_for("approved", Duration::from_secs(30))
        .await
        .unwrap();
    pg.wait_until_running(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()",
    )
    .await;
    first.kill_9();
    let _second = env.operator_process("second", &logs.path().join("second.log"));
    env.wait("schemachange/slow", "condition=Applied")
        .await
        .unwrap();
    receiver
        .wait_for("applied", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        receiver.distinct_events(),
        ["reviewed", "awaitingApproval", "approved", "applied"],
        "every message, once per delivery key"
    );
    // At least once: only a message in flight at the kill may come twice, under the same key.
    assert!(
        receiver.accepted().len() <= 5,
        "{:?}",
        receiver.accepted().len()
    );
    for log in ["first.log", "second.log"] {
        let text = std::fs::read_to_string(logs.path().join(log)).unwrap();
        assert!(
            !text.contains(URL_CANARY) && !text.contains(KEY_CANARY),
            "{log} leaked"
        );
    }
}
