#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::TimeZone as _;
use serde_json::json;

use super::*;
use crate::api::RiskLevel;

fn notice(event: NotificationEvent, key: &str, risk: Option<RiskLevel>) -> Notice {
    let mut notice = crate::notify::example_notice(event);
    notice.key = key.into();
    notice.risk = risk;
    notice.occurred_at = "2026-01-01T10:00:00Z".into();
    notice
}

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, h, m, s).unwrap()
}

fn channel(v: serde_json::Value) -> NotificationTarget {
    let mut base =
        json!({"name": "dba", "type": "slack", "urlSecretRef": {"name": "s", "key": "url"}});
    for (k, x) in v.as_object().unwrap() {
        base[k] = x.clone();
    }
    serde_json::from_value(base).unwrap()
}

#[test]
fn send_once_then_done_even_after_a_reload() {
    let n = notice(NotificationEvent::Applied, "k1", None);
    let mut ledger = Ledger::default();
    assert_eq!(ledger.step("dba", &n, at(10, 0, 1)), Step::Send);
    ledger.delivered("dba", &n, at(10, 0, 1));
    let reloaded = Ledger::from_data(&ledger.to_data());
    assert_eq!(reloaded, ledger);
    assert_eq!(reloaded.step("dba", &n, at(10, 0, 2)), Step::Done);
    assert_eq!(
        reloaded.step("other", &n, at(10, 0, 2)),
        Step::Send,
        "per channel"
    );
    let newer = notice(NotificationEvent::Applied, "k2", None);
    assert_eq!(
        reloaded.step("dba", &newer, at(10, 0, 2)),
        Step::Send,
        "new key, new message"
    );
}

#[test]
fn failures_back_off_capped_and_expire_past_the_horizon() {
    let n = notice(NotificationEvent::Reviewed, "k1", None);
    let mut ledger = Ledger::default();
    let mut now = at(10, 0, 0);
    let mut waits = Vec::new();
    for _ in 0..8 {
        let next = ledger.failed("dba", &n, now, "HTTP 500: down").unwrap();
        assert_eq!(ledger.step("dba", &n, now), Step::WaitUntil(next));
        waits.push((next - now).num_seconds());
        now = next;
        assert_eq!(ledger.step("dba", &n, now), Step::Send);
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
    let record = &ledger.records["dba.reviewed"];
    assert_eq!((record.attempts, record.state), (8, State::Retrying));
    assert_eq!(record.error.as_deref(), Some("HTTP 500: down"));
    let late = at(10, 0, 0) + Duration::hours(HORIZON_HOURS);
    assert_eq!(ledger.failed("dba", &n, late, "still down"), None);
    assert_eq!(ledger.records["dba.reviewed"].state, State::Expired);
    assert_eq!(ledger.step("dba", &n, late), Step::Done);
}

#[test]
fn old_news_is_not_sent() {
    let n = notice(NotificationEvent::Applied, "k1", None);
    assert_eq!(
        Ledger::default().step("dba", &n, at(10, 0, 0) + Duration::days(2)),
        Step::Done
    );
}

#[test]
fn channel_filters() {
    let high = notice(NotificationEvent::Applied, "k", Some(RiskLevel::High));
    let low = notice(NotificationEvent::Applied, "k", Some(RiskLevel::Low));
    let drift = notice(NotificationEvent::Drifted, "k", None);
    let only_high = channel(json!({"minRisk": "HIGH"}));
    assert!(wants(&only_high, &high));
    assert!(!wants(&only_high, &low));
    assert!(wants(&only_high, &drift), "drift is always announced");
    let only_applied = channel(json!({"events": ["applied"]}));
    assert!(wants(&only_applied, &low));
    assert!(!wants(&only_applied, &drift));
    assert!(wants(&channel(json!({})), &low));
}
