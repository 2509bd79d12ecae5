//! End-to-end tests of `schemagate review`: runs the built binary on files and stdin and checks
//! exit codes and the shapes of its outputs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_schemagate"))
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const CLEAN_PG: &str = "CREATE TABLE users (\n  id bigint PRIMARY KEY,\n  email text NOT NULL DEFAULT ''\n);\nCOMMENT ON TABLE users IS 'people';\n";
const BAD_PG: &str = "-- migration 7\nSELECT 1;\n\nCREATE TABLE t (a int);\nDROP TABLE users;\n";

#[test]
fn clean_script_exits_zero_and_json_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "ok.sql", CLEAN_PG);
    let out = run(&["review", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out);
    let file = &v["files"][0];
    assert_eq!(file["path"], f.to_str().unwrap());
    assert_eq!(file["engine"], "postgres");
    assert_eq!(file["risk"], "LOW");
    assert_eq!(file["statements"], 2);
    assert!(file["findings"].is_array());
    assert_eq!(v["summary"]["errors"], 0);
}

#[test]
fn errors_exit_one_with_positions() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "bad.sql", BAD_PG);
    let out = run(&["review", "--format", "json", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let findings = v["files"][0]["findings"].as_array().unwrap();
    let pk = findings
        .iter()
        .find(|f| f["rule"] == "table.require-pk")
        .unwrap();
    assert_eq!(pk["level"], "error");
    assert_eq!(pk["statement"], 1);
    assert_eq!(pk["line"], 4);
    assert_eq!(pk["column"], 0);
    assert_eq!(v["files"][0]["risk"], "HIGH");
    assert!(v["summary"]["errors"].as_u64().unwrap() >= 2);
    let keys: Vec<&String> = pk.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["column", "level", "line", "message", "rule", "statement"]
    );
}

#[test]
fn fail_on_warning_turns_warnings_into_failure() {
    let sql = "CREATE TABLE t (id int PRIMARY KEY, payload json NOT NULL DEFAULT '{}');";
    let out = run_stdin(&["review", "--format", "json", "-"], sql);
    let v = json(&out);
    assert_eq!(v["summary"]["errors"], 0, "{v}");
    assert!(v["summary"]["warnings"].as_u64().unwrap() > 0);
    assert_eq!(out.status.code(), Some(0));
    let out = run_stdin(&["review", "--fail-on", "warning", "-"], sql);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_and_io_errors_exit_two() {
    assert_eq!(
        run(&["review", "/nonexistent/x.sql"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["review", "--engine", "oracle", "-"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&["review"]).status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.sql", "SELECT 1");
    let p = write(dir.path(), "p.yaml", "rules:\n  no.such-rule: error\n");
    let out = run(&[
        "review",
        "--policy",
        p.to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule no.such-rule"));
}

#[test]
fn text_sarif_and_github_formats() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "bad.sql", BAD_PG);
    let path = f.to_str().unwrap();
    let out = run(&["review", path]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("{path}:4: error table.require-pk — ")),
        "{text}"
    );
    assert!(text.lines().last().unwrap().contains("error(s)"));

    let out = run(&["review", "--format", "sarif", path]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["version"], "2.1.0");
    let run0 = &v["runs"][0];
    assert_eq!(run0["tool"]["driver"]["name"], "schemagate");
    let result = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "table.require-pk")
        .unwrap();
    assert_eq!(result["level"], "error");
    let region = &result["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 4);
    assert_eq!(region["startColumn"], 1);
    // Every result points at its own rule; rules are listed once each, sorted by id (then the
    // `impact` pseudo-rule of the statements' lock/rewrite notes).
    let rules = run0["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let sorted = ids.strip_suffix(&["impact"]).unwrap_or(&ids);
    assert!(sorted.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let results = run0["results"].as_array().unwrap();
    assert!(results.len() > 2, "{results:?}");
    for r in results {
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"], "{r}");
    }

    let out = run(&["review", "--format", "github", path]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "::error file={path},line=4,col=1,title=table.require-pk::"
        )),
        "{text}"
    );
}

#[test]
fn strict_preset_and_bytebase_policy() {
    let sql = "CREATE TABLE t (a int,, b int);";
    let out = run_stdin(&["review", "--format", "json", "-"], sql);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        json(&out)["files"][0]["findings"][0]["rule"],
        "statement.syntax"
    );
    let out = run_stdin(&["review", "--preset", "strict", "-"], sql);
    assert_eq!(out.status.code(), Some(1));

    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "bb.yaml",
        "ruleList:\n  - type: STATEMENT_WHERE_REQUIRE_UPDATE_DELETE\n    level: ERROR\n",
    );
    let out = run_stdin(
        &[
            "review",
            "--format",
            "json",
            "--policy",
            p.to_str().unwrap(),
            "-",
        ],
        "UPDATE t SET a = 1; CREATE TABLE x (a int);",
    );
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let rules: Vec<&str> = v["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["statement.where.require-update-delete"]);
}

#[test]
fn schema_file_enables_catalog_rules() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "schema.sql",
        "CREATE TABLE t (id int, CONSTRAINT t_pk PRIMARY KEY (id));",
    );
    let f = write(
        dir.path(),
        "m.sql",
        "ALTER TABLE t DROP CONSTRAINT t_pk;\nALTER TABLE missing ADD COLUMN x int;",
    );
    let out = run(&[
        "review",
        "--format",
        "json",
        "--schema",
        s.to_str().unwrap(),
        f.to_str().unwrap(),
    ]);
    let v = json(&out);
    let rules: Vec<&str> = v["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"table.require-pk"), "{rules:?}");
    assert!(rules.contains(&"builtin.walk-through-check"), "{rules:?}");
    let out = run(&["review", "--format", "json", f.to_str().unwrap()]);
    let v = json(&out);
    let rules: Vec<&str> = v["files"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(!rules.contains(&"table.require-pk"), "{rules:?}");
}

const CHANGE: &str = "apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: add-orders
  namespace: shop
spec:
  projectRef: shop
  instanceRef: shop-db
  version: \"7\"
  sql: |
    CREATE TABLE orders (id int);
    UPDATE orders SET id = 1;
---
apiVersion: schemagate.io/v1alpha1
kind: DatabaseInstance
metadata:
  name: shop-db
  namespace: shop
spec:
  engine: mysql
";

#[test]
fn schemachange_manifest_takes_engine_from_instance() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(dir.path(), "change.yaml", CHANGE);
    let out = run(&["review", "--format", "json", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let file = &v["files"][0];
    assert_eq!(file["engine"], "mysql");
    assert_eq!(file["statements"], 2);
    assert_eq!(file["object"], "SchemaChange/add-orders");
    let pk = file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "table.require-pk")
        .unwrap();
    // Line of the statement inside the YAML file, column after the block indentation.
    assert_eq!(
        (pk["line"].as_u64(), pk["column"].as_u64()),
        (Some(11), Some(4))
    );
    let out = run(&[
        "review",
        "--format",
        "json",
        "--engine",
        "postgres",
        m.to_str().unwrap(),
    ]);
    assert_eq!(json(&out)["files"][0]["engine"], "postgres");
}

#[test]
fn schemachange_sql_from_configmap() {
    let dir = tempfile::tempdir().unwrap();
    let change = "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: c1}\nspec:\n  instanceRef: db\n  sqlFrom:\n    configMapKeyRef: {name: sql-7, key: up.sql}\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sql-7}\ndata:\n  up.sql: |\n    TRUNCATE audit;\n";
    let m = write(dir.path(), "change.yaml", change);
    let c = write(dir.path(), "cm.yaml", cm);
    let out = run(&[
        "review",
        "--format",
        "json",
        m.to_str().unwrap(),
        c.to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(v["files"][0]["risk"], "HIGH", "{v}");
    assert_eq!(v["files"][0]["path"], c.to_str().unwrap());
    // Without the ConfigMap the SQL cannot be found: a usage error naming it.
    let out = run(&["review", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ConfigMap sql-7"));
}

#[test]
fn directories_are_read_recursively_and_an_empty_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deploy");
    std::fs::create_dir_all(root.join("db/.hidden")).unwrap();
    write(&root, "a.sql", BAD_PG);
    write(&root.join("db"), "b.sql", CLEAN_PG);
    write(&root.join("db/.hidden"), "c.sql", BAD_PG);
    write(&root, "notes.txt", "DROP TABLE users;");
    let out = run(&["review", "--format", "json", root.to_str().unwrap()]);
    let paths: Vec<String> = json(&out)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    let expected = [root.join("a.sql"), root.join("db/b.sql")];
    let expected: Vec<String> = expected.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(
        paths, expected,
        "name order; hidden and non-SQL/YAML files skipped"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(&["review", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no .sql, .yaml or .yml file"), "{err}");
}

#[test]
fn a_project_manifest_sets_the_policy_of_its_changes_and_an_invalid_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let change = "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: c}\nspec:\n  projectRef: shop\n  instanceRef: db\n  version: \"1\"\n  sql: |\n    CREATE TABLE t (a int);\n";
    let project = |rules: &str| {
        format!(
            "apiVersion: schemagate.io/v1alpha1\nkind: Project\nmetadata: {{name: shop}}\nspec:\n  instances: [db]\n  review:\n    rules: {rules}\n"
        )
    };
    let c = write(dir.path(), "change.yaml", change);
    let p = write(
        dir.path(),
        "project.yaml",
        &project("[{id: table.require-pk, level: disabled}]"),
    );
    let rules_of = |out: &Output| -> Vec<String> {
        json(out)["files"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    // Alone (and under --preset strict), the change fails on table.require-pk ...
    let alone = run(&[
        "review",
        "--preset",
        "strict",
        "--format",
        "json",
        c.to_str().unwrap(),
    ]);
    assert_eq!(alone.status.code(), Some(1));
    assert!(rules_of(&alone).contains(&"table.require-pk".to_owned()));
    // ... with its Project, the Project's policy applies (default preset, the rule disabled),
    // whatever the flags say, as in the operator.
    let args = ["review", "--preset", "strict", "--format", "json"];
    let with = run(&[&args[..], &[c.to_str().unwrap(), p.to_str().unwrap()]].concat());
    assert_eq!(
        with.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with.stdout)
    );
    assert!(!rules_of(&with).contains(&"table.require-pk".to_owned()));
    // Projects among the inputs, but not the one the change names: the flags' policy, said so.
    let other = write(
        dir.path(),
        "other.yaml",
        &project("[]").replace("name: shop", "name: other"),
    );
    let note = run(&["review", c.to_str().unwrap(), other.to_str().unwrap()]);
    assert_eq!(
        note.status.code(),
        Some(1),
        "--preset default: table.require-pk is an error"
    );
    let err = String::from_utf8_lossy(&note.stderr);
    assert!(
        err.contains(
            "its Project shop is not among the inputs; reviewed with the --preset/--policy policy"
        ),
        "{err}"
    );
    // A Project the operator would refuse (Ready=False) is refused here too.
    write(
        dir.path(),
        "project.yaml",
        &project("[{id: no.such-rule, level: error}]"),
    );
    let bad = run(&["review", c.to_str().unwrap(), p.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("project.yaml:1: Project shop: invalid review policy"),
        "{err}"
    );
    assert!(err.contains("no.such-rule"), "{err}");
}
