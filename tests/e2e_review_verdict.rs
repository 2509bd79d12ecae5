//! One verdict: the same SchemaChange, Project and DatabaseInstance manifests reviewed by the
//! operator (against the emulator or, with `SCHEMAGATE_E2E_REAL_CLUSTER=1`, a real cluster, and
//! a real PostgreSQL database) and by `schemagate review` given the same files as a directory
//! and the same database (`--url`): the findings must be the same, and the Project's rule
//! overrides must have been applied by both. With the schema alone (`--schema`, from
//! `schemagate snapshot`), the rules that need the live database are listed as not evaluated
//! and every other finding is the same.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use std::path::Path;
use std::process::Command;

use e2e_support::{Env, PgTarget};
use serde_json::Value;

/// The Project's overrides change the default preset's verdict: a rule raised to error, one
/// disabled, so a CLI that ignored the Project would print different findings.
const PROJECT: &str = r#"apiVersion: schemagate.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  instances: [pg]
  review:
    preset: default
    rules:
      - {id: table.require-pk, level: error}
      - {id: statement.where.require-update-delete, level: error}
      - {id: naming.fully-qualified, level: disabled}
"#;

const CHANGE: &str = r#"apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: orders
spec:
  projectRef: shop
  instanceRef: pg
  version: "1"
  sql: |
    ALTER TABLE customers ADD COLUMN tier text;
    CREATE TABLE orders (
      id bigint,
      customer_id bigint REFERENCES customers (id)
    );
    DELETE FROM customers;
"#;

fn schemagate(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "schemagate {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// (rule, level, statement, column, message, line) of each finding, sorted.
fn findings(
    list: &Value,
    (line_offset, column_offset): (i64, i64),
) -> Vec<(String, String, i64, i64, String, i64)> {
    let mut out: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["level"].as_str().unwrap().to_owned(),
                f["statement"].as_i64().unwrap(),
                f["column"].as_i64().unwrap() - column_offset,
                f["message"].as_str().unwrap().to_owned(),
                f["line"].as_i64().unwrap() - line_offset,
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_and_the_operator_reach_the_same_findings_under_the_project_policy() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql("CREATE TABLE customers (id bigint PRIMARY KEY, email text NOT NULL);")
        .unwrap();
    // The Secret and the DatabaseInstance of the shared fixture; the Project is ours.
    let base = pg.base_manifests("not-checked");
    let instance = &base[..base
        .find("---\napiVersion: schemagate.io/v1alpha1\nkind: Project")
        .unwrap()];

    // The GitOps folder a CI job would review: nested, like `kubectl apply -R -f deploy/`.
    let dir = tempfile::tempdir().unwrap();
    let deploy = dir.path().join("deploy");
    std::fs::create_dir_all(deploy.join("changes")).unwrap();
    std::fs::write(deploy.join("instance.yaml"), instance).unwrap();
    std::fs::write(deploy.join("project.yaml"), PROJECT).unwrap();
    std::fs::write(deploy.join("changes/0001-orders.yaml"), CHANGE).unwrap();
    std::fs::write(deploy.join("README.md"), "not a manifest: skipped\n").unwrap();

    env.apply(&format!("{instance}---\n{PROJECT}---\n{CHANGE}"))
        .await
        .unwrap();
    env.wait_jsonpath("schemachange/orders", "{.status.phase}", "ReviewFailed")
        .await
        .unwrap();
    let operator = env.get_json("schemachange/orders").await.unwrap();
    let operator = &operator["status"]["review"];

    // The CI job: the database's schema, then a review of the folder with it.
    let (code, schema) = schemagate(
        dir.path(),
        &["snapshot", "--engine", "postgres", "--url", &pg.url],
    );
    assert_eq!(code, 0);
    std::fs::write(dir.path().join("schema.sql"), schema).unwrap();
    // With the live database (`--url`), as the operator has it: the rules that EXPLAIN run too.
    let (code, cli) = schemagate(
        dir.path(),
        &["review", "--url", &pg.url, "--format", "json", "deploy"],
    );
    assert_eq!(code, 1, "an error finding fails the CI job: {cli}");
    let cli: Value = serde_json::from_str(&cli).unwrap();
    let files = cli["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "one change reviewed: {cli:#}");
    let file = &files[0];
    assert_eq!(file["path"], "deploy/changes/0001-orders.yaml");
    assert_eq!(file["object"], "SchemaChange/orders");
    assert_eq!(
        file["engine"], "postgres",
        "engine from the DatabaseInstance"
    );
    assert_eq!(file["risk"], operator["risk"]);
    assert_eq!(file["statements"], operator["statements"]);

    // The CLI reports positions in the YAML file; the operator in the SQL (which starts on the
    // line after `sql: |`, indented by 4).
    let sql_line = CHANGE.lines().position(|l| l.trim() == "sql: |").unwrap() + 1;
    let ours = findings(&file["findings"], (i64::try_from(sql_line).unwrap(), 4));
    let theirs = findings(&operator["findings"], (0, 0));
    assert_eq!(ours, theirs);
    assert!(
        ours.iter()
            .any(|f| f.0 == "table.require-pk" && f.1 == "error"),
        "the Project's override raised table.require-pk to error: {ours:#?}"
    );
    assert!(
        !ours.iter().any(|f| f.0 == "naming.fully-qualified"),
        "the Project disabled naming.fully-qualified: {ours:#?}"
    );

    // With the schema only (`--schema`), the same findings but those of the rules that need the
    // live database, which are listed as not evaluated instead.
    let (_, offline) = schemagate(
        dir.path(),
        &[
            "review",
            "--schema",
            "schema.sql",
            "--format",
            "json",
            "deploy",
        ],
    );
    let offline: Value = serde_json::from_str(&offline).unwrap();
    let file = &offline["files"][0];
    let not_evaluated: Vec<&str> = file["notEvaluated"]
        .as_array()
        .unwrap_or_else(|| panic!("{offline:#}"))
        .iter()
        .map(|n| n["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        not_evaluated,
        [
            "statement.dml-dry-run",
            "statement.affected-row-limit",
            "statement.object-owner-check"
        ],
        "{offline:#}"
    );
    let live_rules =
        |f: &&(String, String, i64, i64, String, i64)| !not_evaluated.contains(&f.0.as_str());
    let offline_findings = findings(&file["findings"], (i64::try_from(sql_line).unwrap(), 4));
    assert_eq!(
        offline_findings,
        theirs
            .iter()
            .filter(live_rules)
            .cloned()
            .collect::<Vec<_>>()
    );
    assert!(
        theirs.iter().any(|f| f.0 == "statement.affected-row-limit"),
        "the operator estimated the DELETE's rows on the live database: {theirs:#?}"
    );

    // Without the Project manifest, the flags' policy applies: a different verdict.
    std::fs::remove_file(deploy.join("project.yaml")).unwrap();
    let (_, preset) = schemagate(
        dir.path(),
        &[
            "review",
            "--schema",
            "schema.sql",
            "--format",
            "json",
            "deploy",
        ],
    );
    let preset: Value = serde_json::from_str(&preset).unwrap();
    let preset = findings(&preset["files"][0]["findings"], (0, 0));
    assert!(
        preset.iter().any(|f| f.0 == "naming.fully-qualified"),
        "the default preset has naming.fully-qualified: {preset:#?}"
    );
}
