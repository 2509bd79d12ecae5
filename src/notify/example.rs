//! An example notice for each event, for `schemagate notify-preview` (what a channel will show,
//! before any change exists) and for the docs' samples, which that command prints.

use super::{
    ApprovalActions, ApprovalSummary, FindingLine, FindingsSummary, Notice, NotificationEvent,
    RiskLevel, Subject,
};

/// When the example happened, and the clock its signatures use (unix seconds of that moment).
pub const EXAMPLE_UNIX: i64 = 1_764_547_200;

/// A change `payments-0002-drop-legacy-column` in `team-payments` reaching `event`.
#[must_use]
pub fn example_notice(event: NotificationEvent) -> Notice {
    let change = "payments-0002-drop-legacy-column";
    // Titles as the notifier writes them (`notify::due`).
    let who = format!("team-payments/{change} (0002)");
    let title = match event {
        NotificationEvent::Reviewed => format!("{who} passed review: HIGH risk"),
        NotificationEvent::AwaitingApproval => format!("{who} is awaiting approval"),
        NotificationEvent::Approved => format!("{who} was approved"),
        NotificationEvent::Applied => format!("{who} was applied"),
        NotificationEvent::Failed => format!("{who} failed"),
        NotificationEvent::Drifted => {
            "team-payments/payments-prod: the schema drifted from what schemagate recorded"
                .to_owned()
        }
    };
    let subject = if event == NotificationEvent::Drifted {
        Subject::DatabaseInstance {
            name: "payments-prod".into(),
            uid: "5f1c0d2e-8a4b-4f0e-9c61-2b7d3e9a1c44".into(),
            environment: Some("prod".into()),
        }
    } else {
        Subject::SchemaChange {
            name: change.into(),
            uid: "0b6f3a8e-2c1d-4e5f-8a9b-7c6d5e4f3a2b".into(),
            version: "0002".into(),
            instance: "payments-prod".into(),
            environment: Some("prod".into()),
            author: Some("alice@example.com".into()),
            description: Some("Drop invoices.legacy_ref, unused since 0001.".into()),
        }
    };
    let reviewed = event != NotificationEvent::Drifted;
    Notice {
        event,
        key: "9d4c2f0a6b1e8d3c5a7f9e1b3d5c7a9f2e4b6d8c0a1f3e5d7b9c2a4e6f8d0b1c".into(),
        namespace: "team-payments".into(),
        project: "payments".into(),
        subject,
        title,
        risk: reviewed.then_some(RiskLevel::High),
        sql_digest: reviewed
            .then(|| "3b7e1f0c9a2d4e6f8b1c3d5e7f9a0b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f2a".into()),
        findings: reviewed.then(|| FindingsSummary {
            errors: 0,
            warnings: 2,
            statements: 1,
            top: vec![
                FindingLine {
                    level: "warning".into(),
                    rule: "column.no-drop".into(),
                    line: 1,
                    message: "dropping column invoices.legacy_ref destroys its data".into(),
                },
                FindingLine {
                    level: "warning".into(),
                    rule: "statement.requires-lock".into(),
                    line: 1,
                    message: "ALTER TABLE invoices takes an ACCESS EXCLUSIVE lock".into(),
                },
            ],
        }),
        approval: matches!(
            event,
            NotificationEvent::Approved | NotificationEvent::Applied
        )
        .then(|| ApprovalSummary {
            auto: false,
            approvers: vec!["bob@example.com".into()],
        }),
        diff: match event {
            NotificationEvent::Applied => vec!["- column invoices.legacy_ref text".into()],
            NotificationEvent::Drifted => vec!["+ index invoices_amount_idx on invoices".into()],
            _ => Vec::new(),
        },
        diff_truncated: 0,
        reason: match event {
            NotificationEvent::Failed => Some("ExecutionFailed".into()),
            NotificationEvent::Drifted => Some("SchemaDrifted".into()),
            _ => None,
        },
        detail: match event {
            NotificationEvent::Failed => Some(
                "statement 1: column \"legacy_ref\" of relation \"invoices\" does not exist".into(),
            ),
            NotificationEvent::Drifted => {
                Some("1 object differs from the schema recorded after version 0002".into())
            }
            _ => None,
        },
        occurred_at: "2025-12-01T00:00:00Z".into(),
        actions: (event == NotificationEvent::AwaitingApproval).then(|| ApprovalActions {
            approve_value: "approve:team-payments/payments-0002-drop-legacy-column@3b7e1f0c".into(),
            reject_value: "reject:team-payments/payments-0002-drop-legacy-column@3b7e1f0c".into(),
            approve_url: Some(
                "https://schemagate.example.com/approve?c=payments-0002&exp=1764550800&sig=…"
                    .into(),
            ),
        }),
    }
}
