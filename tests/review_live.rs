//! `schemagate review --url` and `--verify` against a real PostgreSQL: the live schema and
//! table sizes reach the review (the impact findings carry the real size), the verification
//! compares the predicted impact with what the server did and leaves the database unchanged,
//! and credentials in the URL are never printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use schemagate_testkit::{fresh_pg_database, psql};

fn review(args: &[&str], url_env: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_schemagate"));
    cmd.arg("review")
        .args(args)
        .env_remove("SCHEMAGATE_DATABASE_URL");
    if let Some(url) = url_env {
        cmd.env("SCHEMAGATE_DATABASE_URL", url);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

const SCRIPT: &str = "ALTER TABLE big ALTER COLUMN x TYPE bigint;\n\
                      ALTER TABLE big ADD COLUMN y int;\n\
                      CREATE INDEX big_x ON big (x);\n\
                      ALTER TABLE big ADD CONSTRAINT x_pos CHECK (x > 0) NOT VALID;\n\
                      ALTER TABLE big VALIDATE CONSTRAINT x_pos;\n";

#[test]
fn live_sizes_reach_the_review_and_verification_agrees_without_changing_anything() {
    let url = fresh_pg_database().unwrap();
    psql(
        &url,
        "CREATE TABLE big (id bigint PRIMARY KEY, x int NOT NULL); \
         INSERT INTO big SELECT g, g FROM generate_series(1, 150000) g; ANALYZE big;",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("change.sql");
    std::fs::write(&file, SCRIPT).unwrap();
    let file = file.to_str().unwrap();

    // Offline: no sizes, so no size-based impact finding.
    let (offline, _) = text(&review(&[file], None));
    assert!(!offline.contains("impact.blocking-lock"), "{offline}");

    // --url (from the environment here): the table's 150k rows are known.
    let live = review(&["--verify", file], Some(&url));
    let (out, err) = text(&live);
    assert!(out.contains("impact.blocking-lock"), "{out}\n{err}");
    assert!(out.contains("150k rows"), "{out}");
    assert!(
        out.contains("5 statement(s) with an impact checked, 0 not as predicted"),
        "{out}\n{err}"
    );
    // Rolled back: the column type, the new column, the index and the constraint are not there.
    let state = psql(
        &url,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'big'::regclass AND attname = 'x'; \
         SELECT count(*) FROM pg_attribute WHERE attrelid = 'big'::regclass AND attname = 'y'; \
         SELECT count(*) FROM pg_indexes WHERE indexname = 'big_x'; \
         SELECT count(*) FROM pg_constraint WHERE conname = 'x_pos';",
    )
    .unwrap();
    assert_eq!(
        state.split_whitespace().collect::<Vec<_>>(),
        ["integer", "0", "0", "0"]
    );
}

#[test]
fn a_statement_that_cannot_run_in_a_transaction_is_not_verified() {
    let url = fresh_pg_database().unwrap();
    psql(&url, "CREATE TABLE t (id bigint PRIMARY KEY, v int);").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cic.sql");
    std::fs::write(
        &file,
        "ALTER TABLE t ADD COLUMN w int;\nCREATE INDEX CONCURRENTLY t_v ON t (v);\n",
    )
    .unwrap();
    let (out, err) = text(&review(
        &["--url", &url, "--verify", file.to_str().unwrap()],
        None,
    ));
    assert!(
        out.contains("statement 1 (line 1): as predicted"),
        "{out}\n{err}"
    );
    assert!(
        out.contains("statement 2 (line 2): not verified")
            && out.contains("cannot run inside a transaction block"),
        "{out}"
    );
    assert!(out.contains("1 script(s) stopped by the server"), "{out}");
}

#[test]
fn credentials_in_the_url_are_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.sql");
    std::fs::write(&file, "SELECT 1;").unwrap();
    let url = "postgres://admin:pw-canary-93c1@127.0.0.1:1/db";
    for output in [
        review(&["--url", url, file.to_str().unwrap()], None),
        review(&[file.to_str().unwrap()], Some(url)),
        review(
            &[
                "--url",
                url,
                "--verify",
                "--format",
                "json",
                file.to_str().unwrap(),
            ],
            None,
        ),
    ] {
        let (out, err) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{out}\n{err}");
        assert!(
            err.contains("--url: reading the live schema failed"),
            "{err}"
        );
        assert!(
            !out.contains("pw-canary") && !err.contains("pw-canary"),
            "{out}\n{err}"
        );
    }
    // --verify needs --url; --schema and --url exclude each other.
    let output = review(&["--verify", file.to_str().unwrap()], None);
    assert_eq!(output.status.code(), Some(2));
    let output = review(
        &["--url", url, "--schema", "x.sql", file.to_str().unwrap()],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
}
