//! Delivery records: which notice reached which channel, and when to try again.
//!
//! One ledger per subject (a SchemaChange, or a DatabaseInstance for drift), kept by the
//! controller in a ConfigMap owned by the subject, so it survives operator restarts and leader
//! changes and goes away with the subject. A slot per channel and event holds the latest
//! notice's key: a message is sent when the slot holds another key (or none), and recorded
//! once the receiver accepted it. Delivery is at least once: a crash between the receiver's
//! answer and the record sends the same notice again, under the same `X-Schemagate-Delivery`
//! key, which a receiver that honours it drops.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{Notice, NotificationEvent};
use crate::api::NotificationTarget;

/// Notices older than this are not sent (a channel added today does not announce last
/// month's changes; a receiver down for longer loses what happened meanwhile).
pub const HORIZON_HOURS: i64 = 24;
/// Retries wait 1 s, 2 s, 4 s … at most this long.
pub const MAX_BACKOFF_SECONDS: i64 = 30;
/// At most this many characters of a delivery error are kept.
const ERROR_CHARS: usize = 300;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum State {
    /// The receiver accepted it.
    Delivered,
    /// Failed so far; tried again at `nextAttempt`.
    Retrying,
    /// Given up: still failing when the notice became older than the horizon.
    Expired,
}

/// One slot of the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The notice's dedupe key.
    pub key: String,
    /// Where its delivery stands.
    pub state: State,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was last tried (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// When to try again (RFC 3339), while retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
    /// The last failure, free of URLs and keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The delivery records of one subject, by slot (`<channel>.<event>`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ledger {
    /// Records by slot.
    pub records: BTreeMap<String, Record>,
}

/// What to do about one notice on one channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send it now.
    Send,
    /// Retrying: not before this time.
    WaitUntil(DateTime<Utc>),
    /// Nothing: delivered, expired, or too old to announce.
    Done,
}

/// The ledger slot of `event` on `channel`.
#[must_use]
pub fn slot(channel: &str, event: NotificationEvent) -> String {
    format!("{channel}.{}", event.as_str())
}

/// Whether `channel` wants `notice`: its event filter and minimum risk (drift is announced
/// whatever the risk; a notice without a review passes).
#[must_use]
pub fn wants(channel: &NotificationTarget, notice: &Notice) -> bool {
    let event_ok = channel.events.is_empty() || channel.events.contains(&notice.event);
    let risk_ok = notice.event == NotificationEvent::Drifted
        || match (channel.min_risk, notice.risk) {
            (Some(min), Some(risk)) => risk >= min,
            _ => true,
        };
    event_ok && risk_ok
}

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl Ledger {
    /// Reads a ledger from ConfigMap data; slots that do not parse are dropped (and rewritten
    /// on the next record).
    #[must_use]
    pub fn from_data(data: &BTreeMap<String, String>) -> Self {
        let records = data
            .iter()
            .filter_map(|(slot, json)| Some((slot.clone(), serde_json::from_str(json).ok()?)))
            .collect();
        Self { records }
    }

    /// The ledger as ConfigMap data.
    #[must_use]
    pub fn to_data(&self) -> BTreeMap<String, String> {
        self.records
            .iter()
            .filter_map(|(slot, r)| Some((slot.clone(), serde_json::to_string(r).ok()?)))
            .collect()
    }

    /// What to do about `notice` on `channel` at `now`.
    #[must_use]
    pub fn step(&self, channel: &str, notice: &Notice, now: DateTime<Utc>) -> Step {
        let too_old =
            parse(&notice.occurred_at).is_some_and(|at| now - at > Duration::hours(HORIZON_HOURS));
        match self.records.get(&slot(channel, notice.event)) {
            Some(r) if r.key == notice.key => match r.state {
                State::Delivered | State::Expired => Step::Done,
                State::Retrying if too_old => Step::Done,
                State::Retrying => match r.next_attempt.as_deref().and_then(parse) {
                    Some(next) if next > now => Step::WaitUntil(next),
                    _ => Step::Send,
                },
            },
            _ if too_old => Step::Done,
            _ => Step::Send,
        }
    }

    /// Records that `channel` accepted `notice`.
    pub fn delivered(&mut self, channel: &str, notice: &Notice, now: DateTime<Utc>) {
        let attempts = self.attempts(channel, notice) + 1;
        self.records.insert(
            slot(channel, notice.event),
            Record {
                key: notice.key.clone(),
                state: State::Delivered,
                attempts,
                last_attempt: Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                next_attempt: None,
                error: None,
            },
        );
    }

    /// Records a failed attempt; returns when to try again (`None`: given up, the notice is
    /// older than the horizon).
    pub fn failed(
        &mut self,
        channel: &str,
        notice: &Notice,
        now: DateTime<Utc>,
        error: &str,
    ) -> Option<DateTime<Utc>> {
        let attempts = self.attempts(channel, notice) + 1;
        let wait = Duration::seconds(
            (1i64 << attempts.min(16).saturating_sub(1)).min(MAX_BACKOFF_SECONDS),
        );
        let next = now + wait;
        let expired =
            parse(&notice.occurred_at).is_some_and(|at| next - at > Duration::hours(HORIZON_HOURS));
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.records.insert(
            slot(channel, notice.event),
            Record {
                key: notice.key.clone(),
                state: if expired {
                    State::Expired
                } else {
                    State::Retrying
                },
                attempts,
                last_attempt: Some(stamp(now)),
                next_attempt: (!expired).then(|| stamp(next)),
                error: Some(error.chars().take(ERROR_CHARS).collect()),
            },
        );
        (!expired).then_some(next)
    }

    fn attempts(&self, channel: &str, notice: &Notice) -> u32 {
        self.records
            .get(&slot(channel, notice.event))
            .filter(|r| r.key == notice.key)
            .map_or(0, |r| r.attempts)
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
