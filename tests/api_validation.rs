//! The CRDs' CEL rules, evaluated with a real CEL interpreter the way the API server runs them:
//! what a user is refused on `kubectl apply`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use kube::core::cel::{validate_cel, validate_cel_update};
use schemagate::api::approval::{Approval, ApprovalSpec, Decision};
use schemagate::api::database_instance::{DatabaseInstance, DatabaseInstanceSpec, Engine};
use schemagate::api::schema_change::{ConfigMapKeyRef, SchemaChange, SchemaChangeSpec, SqlSource};

fn change(sql: Option<&str>, from: Option<(&str, &str)>) -> SchemaChange {
    let spec: SchemaChangeSpec = serde_json::from_value(serde_json::json!({
        "projectRef": "payments", "instanceRef": "payments-dev", "version": "0001",
    }))
    .unwrap();
    SchemaChange::new(
        "c1",
        SchemaChangeSpec {
            sql: sql.map(str::to_owned),
            sql_from: from.map(|(name, key)| SqlSource {
                config_map_key_ref: ConfigMapKeyRef {
                    name: name.into(),
                    key: key.into(),
                },
            }),
            ..spec
        },
    )
}

fn error_text(result: Result<(), kube::core::cel::ValidationErrors>) -> String {
    format!(
        "{:?}",
        result.expect_err("the API server would refuse this")
    )
}

#[test]
fn schema_change_needs_exactly_one_sql_source() {
    validate_cel(&change(Some("SELECT 1;"), None)).unwrap();
    validate_cel(&change(None, Some(("big-migration", "up.sql")))).unwrap();
    assert!(
        error_text(validate_cel(&change(None, None))).contains("exactly one of sql and sqlFrom")
    );
    assert!(
        error_text(validate_cel(&change(Some("SELECT 1;"), Some(("m", "k")))))
            .contains("exactly one of sql and sqlFrom")
    );
}

#[test]
fn schema_change_sql_and_target_are_immutable() {
    let old = change(Some("CREATE TABLE t (id int PRIMARY KEY);"), None);

    let mut edited = old.clone();
    edited.spec.description = Some("clarified".into());
    validate_cel_update(&edited, &old).unwrap();

    let mut new_sql = old.clone();
    new_sql.spec.sql = Some("DROP TABLE t;".into());
    assert!(error_text(validate_cel_update(&new_sql, &old)).contains("sql is immutable"));

    let mut new_version = old.clone();
    new_version.spec.version = "0002".into();
    assert!(error_text(validate_cel_update(&new_version, &old)).contains("version is immutable"));

    let mut new_target = old.clone();
    new_target.spec.instance_ref = "payments-prod".into();
    assert!(
        error_text(validate_cel_update(&new_target, &old)).contains("instanceRef is immutable")
    );

    let mut new_project = old.clone();
    new_project.spec.project_ref = "other".into();
    assert!(
        error_text(validate_cel_update(&new_project, &old)).contains("projectRef is immutable")
    );

    // Swapping inline SQL for a ConfigMap is an edit of the SQL too.
    let swapped = change(None, Some(("m", "k")));
    assert!(
        error_text(validate_cel_update(&swapped, &old)).contains("sql and sqlFrom are immutable")
    );

    // The transaction mode is part of what was approved: `none` keeps half a change on failure.
    let mut no_transaction = old.clone();
    no_transaction.spec.transaction_mode = schemagate::api::schema_change::TransactionMode::None;
    assert!(
        error_text(validate_cel_update(&no_transaction, &old))
            .contains("transactionMode is immutable")
    );
}

#[test]
fn approval_is_immutable() {
    let old = Approval::new(
        "a1",
        ApprovalSpec {
            schema_change_ref: "c1".into(),
            sql_digest: "a".repeat(64),
            schema_change_uid: None,
            decision: Decision::Approve,
            comment: None,
            approver: None,
        },
    );
    validate_cel_update(&old.clone(), &old).unwrap();
    let mut flipped = old.clone();
    flipped.spec.decision = Decision::Reject;
    assert!(error_text(validate_cel_update(&flipped, &old)).contains("an Approval is immutable"));
}

#[test]
fn server_engines_need_a_host_and_credentials() {
    let spec = |engine: &str, extra: serde_json::Value| -> DatabaseInstance {
        let mut v = serde_json::json!({"engine": engine, "database": "app"});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        DatabaseInstance::new(
            "db",
            serde_json::from_value::<DatabaseInstanceSpec>(v).unwrap(),
        )
    };
    validate_cel(&spec("sqlite", serde_json::json!({}))).unwrap();
    assert!(
        error_text(validate_cel(&spec("postgres", serde_json::json!({}))))
            .contains("host is required")
    );
    let no_creds = spec("mysql", serde_json::json!({"host": "db.internal"}));
    assert!(error_text(validate_cel(&no_creds)).contains("credentialsSecretRef is required"));
    let full = spec(
        "postgres",
        serde_json::json!({"host": "db", "credentialsSecretRef": {"name": "s"}}),
    );
    validate_cel(&full).unwrap();
    assert_eq!(full.spec.engine, Engine::Postgres);
    // Defaults a user relies on.
    assert_eq!(full.spec.timeouts.lock_seconds, 5);
    assert_eq!(full.spec.drift_check_interval_seconds, 600);
    let creds = full.spec.credentials_secret_ref.unwrap();
    assert_eq!(
        (creds.username_key.as_str(), creds.password_key.as_str()),
        ("username", "password")
    );
}
