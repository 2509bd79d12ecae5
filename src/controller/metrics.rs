//! Prometheus metrics of the operator (prometheus-client): reconciles, failures by category,
//! reconcile duration, changes executed by engine and outcome, review findings by rule.
//! Pure bookkeeping: no client, no database.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ControllerLabel {
    controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    controller: String,
    error: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExecutionLabels {
    engine: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    provider: String,
    event: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabel {
    rule: String,
}

/// The operator's metrics and their registry.
pub struct Metrics {
    registry: Mutex<Registry>,
    reconciles: Family<ControllerLabel, Counter>,
    failures: Family<FailureLabels, Counter>,
    duration: Family<ControllerLabel, Histogram>,
    executions: Family<ExecutionLabels, Counter>,
    findings: Family<RuleLabel, Counter>,
    history_reads: Counter,
    status_writes: Family<KindLabel, Counter>,
    notifications: Family<NotificationLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `schemagate` prefix.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("schemagate");
        let reconciles = Family::<ControllerLabel, Counter>::default();
        let failures = Family::<FailureLabels, Counter>::default();
        let duration = Family::<ControllerLabel, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let executions = Family::<ExecutionLabels, Counter>::default();
        let findings = Family::<RuleLabel, Counter>::default();
        let history_reads = Counter::default();
        let status_writes = Family::<KindLabel, Counter>::default();
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by error category",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Reconcile duration",
            duration.clone(),
        );
        registry.register(
            "changes_executed",
            "SchemaChanges executed, by engine and outcome",
            executions.clone(),
        );
        registry.register(
            "review_findings",
            "Review findings reported, by rule",
            findings.clone(),
        );
        registry.register(
            "history_reads",
            "Reads of a target database's history table (one serves every change of that database)",
            history_reads.clone(),
        );
        registry.register(
            "status_writes",
            "Status writes, by kind (none when nothing changed)",
            status_writes.clone(),
        );
        registry.register(
            "notifications",
            "Notification deliveries attempted, by provider, event and outcome (delivered, failed)",
            notifications.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            reconciles,
            failures,
            duration,
            executions,
            findings,
            history_reads,
            status_writes,
            notifications,
        }
    }

    /// Counts one notification delivery attempt.
    pub fn notification(&self, provider: &str, event: &str, outcome: &str) {
        self.notifications
            .get_or_create(&NotificationLabels {
                provider: provider.to_owned(),
                event: event.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts one status write.
    pub fn status_written(&self, kind: &str) {
        self.status_writes
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// The counter of history table reads (shared with the history cache).
    #[must_use]
    pub fn history_reads(&self) -> Counter {
        self.history_reads.clone()
    }

    /// Counts one reconcile and its duration.
    pub fn reconciled(&self, controller: &str, took: Duration) {
        let label = ControllerLabel {
            controller: controller.to_owned(),
        };
        self.reconciles.get_or_create(&label).inc();
        self.duration
            .get_or_create(&label)
            .observe(took.as_secs_f64());
    }

    /// Counts one failed reconcile.
    pub fn failure(&self, controller: &str, error: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                controller: controller.to_owned(),
                error: error.to_owned(),
            })
            .inc();
    }

    /// Counts one execution.
    pub fn executed(&self, engine: &str, outcome: &str) {
        self.executions
            .get_or_create(&ExecutionLabels {
                engine: engine.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Counts one review finding.
    pub fn finding(&self, rule: &str) {
        self.findings
            .get_or_create(&RuleLabel {
                rule: rule.to_owned(),
            })
            .inc();
    }

    /// The metrics in the Prometheus text format.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(registry) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn encoded_text_has_the_counted_series() {
        let m = Metrics::new();
        m.reconciled("schemachange", Duration::from_millis(3));
        m.failure("schemachange", "kube");
        m.executed("postgres", "applied");
        m.status_written("SchemaChange");
        m.history_reads().inc();
        let text = m.encode();
        assert!(text.contains("schemagate_status_writes_total{kind=\"SchemaChange\"} 1"));
        assert!(text.contains("schemagate_history_reads_total 1"));
        assert!(text.contains("schemagate_reconciles_total{controller=\"schemachange\"} 1"));
        assert!(text.contains(
            "schemagate_reconcile_failures_total{controller=\"schemachange\",error=\"kube\"} 1"
        ));
        assert!(text.contains(
            "schemagate_changes_executed_total{engine=\"postgres\",outcome=\"applied\"} 1"
        ));
    }
}
