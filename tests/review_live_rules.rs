//! The review rules that need a live database, through `schemagate review --url` against real
//! PostgreSQL and MariaDB servers: `statement.dml-dry-run` (EXPLAIN, nothing executed),
//! `statement.affected-row-limit` (EXPLAIN's estimate), `statement.object-owner-check` (the
//! owner against the role the script runs as after its own `SET ROLE`) and the backup location
//! of `builtin.prior-backup-check`; without `--url` each says it was not evaluated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use schemagate_testkit::{fresh_mysql_database, fresh_pg_database, mariadb, psql};
use serde_json::Value;

/// Runs `schemagate review --format json` and returns (exit code, the document).
/// A fresh MariaDB database with `sql` run in it; its URL.
fn fresh_mariadb_with(sql: &str) -> String {
    let url = fresh_mysql_database().unwrap();
    let db = url.rsplit('/').next().unwrap().to_owned();
    mariadb(&url, Some(&db), sql).unwrap();
    url
}

fn review_json(args: &[&str]) -> (Option<i32>, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .arg("review")
        .args(["--format", "json"])
        .args(args)
        .env_remove("SCHEMAGATE_DATABASE_URL")
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

/// (rule, line, level) of the findings of the live rules.
fn live_findings(doc: &Value) -> Vec<(String, u64, String)> {
    const LIVE: &[&str] = &[
        "statement.dml-dry-run",
        "statement.affected-row-limit",
        "statement.object-owner-check",
        "builtin.prior-backup-check",
    ];
    doc["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| LIVE.contains(&f["rule"].as_str().unwrap()))
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn not_evaluated(doc: &Value) -> Vec<String> {
    doc["files"][0]["notEvaluated"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| n["rule"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn finding(rule: &str, line: u64, level: &str) -> (String, u64, String) {
    (rule.to_owned(), line, level.to_owned())
}

const PG_SCRIPT: &str = "UPDATE accounts SET region = 'eu' WHERE id > 100;\n\
DELETE FROM accounts WHERE id = 3;\n\
UPDATE ledger SET amount = 0 WHERE id = 1;\n\
SET ROLE app_writer;\n\
ALTER TABLE app_owned ADD COLUMN note text;\n\
ALTER TABLE accounts ADD COLUMN note text;\n";

#[test]
fn postgres_live_rules_explain_and_compare_owners_without_changing_anything() {
    let url = fresh_pg_database().unwrap();
    let role = format!(
        "w{}",
        url.rsplit('/')
            .next()
            .unwrap()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let script = PG_SCRIPT.replace("app_writer", &role);
    psql(
        &url,
        &format!(
            "CREATE TABLE accounts (id int PRIMARY KEY, region text);
             INSERT INTO accounts SELECT g, 'us' FROM generate_series(1, 5000) g;
             ANALYZE accounts;
             CREATE ROLE {role};
             CREATE TABLE app_owned (id int PRIMARY KEY);
             ALTER TABLE app_owned OWNER TO {role};"
        ),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("change.sql");
    std::fs::write(&file, &script).unwrap();
    let file = file.to_str().unwrap();

    // Offline: the rules say they were not evaluated, and are not findings.
    let (_, doc) = review_json(&["--preset", "strict", file]);
    assert_eq!(
        not_evaluated(&doc),
        [
            "statement.dml-dry-run",
            "statement.affected-row-limit",
            "statement.object-owner-check"
        ],
        "{doc:#}"
    );
    assert!(live_findings(&doc).is_empty(), "{doc:#}");

    let (code, doc) = review_json(&["--preset", "strict", "--url", &url, file]);
    assert_eq!(code, Some(1));
    assert!(not_evaluated(&doc).is_empty(), "{doc:#}");
    assert_eq!(
        live_findings(&doc),
        [
            // about 4,900 rows estimated, over the default 1,000
            finding("statement.affected-row-limit", 1, "warning"),
            // relation "ledger" does not exist
            finding("statement.dml-dry-run", 3, "error"),
            // accounts is owned by the connecting role; the script runs as the SET ROLE one
            finding("statement.object-owner-check", 6, "error"),
        ],
        "{doc:#}"
    );
    let messages: Vec<&str> = doc["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("ledger") && m.contains("does not exist")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&format!("runs as \"{role}\""))),
        "{messages:?}"
    );
    // Nothing ran: no row changed, no column added, and the role is unchanged for others.
    let state = psql(
        &url,
        "SELECT count(*) FROM accounts WHERE region = 'eu';
         SELECT count(*) FROM accounts;
         SELECT count(*) FROM pg_attribute WHERE attname = 'note' AND attrelid IN ('accounts'::regclass, 'app_owned'::regclass);",
    )
    .unwrap();
    assert_eq!(
        state.split_whitespace().collect::<Vec<_>>(),
        ["0", "5000", "0"]
    );
}

#[test]
fn mariadb_live_rules_cap_by_limit_and_need_the_backup_database() {
    let url = fresh_mariadb_with(
        "CREATE TABLE events (id INT PRIMARY KEY, kind VARCHAR(10)) ENGINE=InnoDB;
         INSERT INTO events SELECT seq, 'a' FROM seq_1_to_3000;
         ANALYZE TABLE events;",
    );
    let db = url.rsplit('/').next().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("change.sql");
    std::fs::write(
        &file,
        "DELETE FROM events WHERE id > 10;\n\
         DELETE FROM events WHERE id > 10 LIMIT 5;\n\
         UPDATE missing SET kind = 'b' WHERE id = 1;\n",
    )
    .unwrap();
    // A data change asking for a prior backup (Bytebase's changeType: DML).
    let policy = dir.path().join("policy.yaml");
    std::fs::write(
        &policy,
        "preset: default\nchangeType: DML\nrules:\n  builtin.prior-backup-check: error\n",
    )
    .unwrap();
    let (file, policy) = (file.to_str().unwrap(), policy.to_str().unwrap());

    let (_, doc) = review_json(&["--policy", policy, file]);
    assert_eq!(
        not_evaluated(&doc),
        [
            "statement.dml-dry-run",
            "statement.affected-row-limit",
            "builtin.prior-backup-check"
        ],
        "{doc:#}"
    );

    let (code, doc) = review_json(&["--policy", policy, "--url", &url, file]);
    assert_eq!(code, Some(1), "{doc:#}");
    assert!(not_evaluated(&doc).is_empty(), "{doc:#}");
    assert_eq!(
        live_findings(&doc),
        [
            finding("statement.affected-row-limit", 1, "warning"),
            // about the whole script, at its start
            finding("builtin.prior-backup-check", 1, "error"),
            finding("statement.dml-dry-run", 3, "error"),
        ],
        "{doc:#}"
    );
    // With the backup database there, only the row estimate and the failed dry run remain.
    mariadb(&url, None, "CREATE DATABASE IF NOT EXISTS bbdataarchive").unwrap();
    let (_, doc) = review_json(&["--policy", policy, "--url", &url, file]);
    mariadb(&url, None, "DROP DATABASE bbdataarchive").unwrap();
    assert_eq!(
        live_findings(&doc),
        [
            finding("statement.affected-row-limit", 1, "warning"),
            finding("statement.dml-dry-run", 3, "error"),
        ],
        "{doc:#}"
    );
    assert_eq!(
        mariadb(&url, Some(&db), "SELECT count(*) FROM events")
            .unwrap()
            .trim(),
        "3000"
    );
}

/// A migration that adds a column and fills it, or creates a table and seeds it: the live
/// database does not have the column or the table until the change runs. A statement on a
/// table the script creates is not explained; one on a table it alters is, and a failed plan
/// there is not the statement's fault. Both are listed as not evaluated instead of failing a
/// valid change; a statement the altered table can plan is still judged, and a DML statement
/// on a table the script does not touch is still dry-run, on both engines.
#[test]
fn dml_on_tables_the_script_changes_is_not_dry_run_against_the_old_schema() {
    let script = "ALTER TABLE accounts ADD COLUMN tier int;\n\
                  UPDATE accounts SET tier = 1 WHERE id > 0;\n\
                  CREATE TABLE seeded (id int PRIMARY KEY);\n\
                  INSERT INTO seeded SELECT id FROM accounts WHERE id < 3;\n\
                  UPDATE missing SET tier = 2 WHERE id = 1;\n\
                  DELETE FROM accounts WHERE region = 'x';\n";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("change.sql");
    std::fs::write(&file, script).unwrap();
    let file = file.to_str().unwrap();
    let pg = fresh_pg_database().unwrap();
    psql(
        &pg,
        "CREATE TABLE accounts (id int PRIMARY KEY, region text);
         INSERT INTO accounts SELECT g, 'x' FROM generate_series(1, 3000) g;
         ANALYZE accounts;",
    )
    .unwrap();
    let my = fresh_mariadb_with(
        "CREATE TABLE accounts (id INT PRIMARY KEY, region VARCHAR(10)) ENGINE=InnoDB;
         INSERT INTO accounts SELECT seq, 'x' FROM seq_1_to_3000;
         ANALYZE TABLE accounts;",
    );
    for (engine, url) in [("postgres", &pg), ("mysql", &my)] {
        let (_, doc) = review_json(&["--engine", engine, "--preset", "strict", "--url", url, file]);
        assert_eq!(
            live_findings(&doc),
            [
                finding("statement.dml-dry-run", 5, "error"),
                // planned on the altered table as it is: about 3,000 rows, over 1,000
                finding("statement.affected-row-limit", 6, "warning"),
            ],
            "{engine}: {doc:#}"
        );
        assert_eq!(
            not_evaluated(&doc),
            [
                "statement.dml-dry-run",
                "statement.dml-dry-run",
                "statement.affected-row-limit"
            ],
            "{engine}: {doc:#}"
        );
        let text = doc.to_string();
        assert!(
            text.contains("create, rename or drop were not explained"),
            "{engine}: {doc:#}"
        );
        assert!(
            text.contains("alter could not be planned"),
            "{engine}: {doc:#}"
        );
    }
}

/// SQLite has a live database too (the file): the dry run asks it (`EXPLAIN QUERY PLAN`, in a
/// rolled-back transaction); the rules SQLite cannot answer say why they were not evaluated.
#[tokio::test]
async fn sqlite_dry_runs_dml_and_says_what_it_cannot_evaluate() {
    let file = schemagate_testkit::sqlite_file().unwrap();
    let url = file.url();
    schemagate_testkit::apply_through_executor(
        &url,
        "setup",
        "1",
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, region TEXT)",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("change.sql");
    std::fs::write(
        &script,
        "UPDATE accounts SET region = 'eu' WHERE id > 0;\n\
         DELETE FROM missing WHERE id = 1;\n",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let before = std::fs::read(file.path()).unwrap();

    let (_, doc) = review_json(&["--engine", "sqlite", "--preset", "strict", script]);
    assert_eq!(
        not_evaluated(&doc),
        ["statement.dml-dry-run", "statement.affected-row-limit"],
        "{doc:#}"
    );

    let (code, doc) = review_json(&[
        "--engine", "sqlite", "--preset", "strict", "--url", &url, script,
    ]);
    assert_eq!(code, Some(1), "{doc:#}");
    assert_eq!(
        live_findings(&doc),
        [finding("statement.dml-dry-run", 2, "error")],
        "{doc:#}"
    );
    assert!(
        doc.to_string().contains("no such table: missing"),
        "{doc:#}"
    );
    assert_eq!(
        not_evaluated(&doc),
        ["statement.affected-row-limit"],
        "{doc:#}"
    );
    assert!(
        doc["files"][0]["notEvaluated"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("no row estimates"),
        "{doc:#}"
    );
    assert_eq!(
        std::fs::read(file.path()).unwrap(),
        before,
        "nothing was written"
    );
}
