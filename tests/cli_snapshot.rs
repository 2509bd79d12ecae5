//! `schemagate snapshot` and `schemagate diff` as a DBA or script uses them: real binary, real
//! PostgreSQL, files in both formats, exit codes, no password in output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use schemagate_testkit::{fresh_mysql_database, fresh_pg_database, psql};

fn schemagate(args: &[&str], env_url: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_schemagate"));
    c.args(args).env_remove("SCHEMAGATE_DATABASE_URL");
    if let Some(u) = env_url {
        c.env("SCHEMAGATE_DATABASE_URL", u);
    }
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn snapshot_then_diff_against_the_live_database() {
    let url = fresh_pg_database().unwrap();
    psql(
        &url,
        "CREATE TABLE users (id int PRIMARY KEY, email varchar(20))",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();

    let ddl = schemagate(&["snapshot", "--engine", "postgres"], Some(&url));
    assert!(
        ddl.status.success(),
        "{}",
        String::from_utf8_lossy(&ddl.stderr)
    );
    assert!(
        stdout(&ddl).contains("CREATE TABLE \"public\".\"users\" (\n  \"id\" integer NOT NULL,")
    );
    let ddl_file = dir.path().join("before.sql");
    std::fs::write(&ddl_file, ddl.stdout).unwrap();

    let json = schemagate(&["snapshot", "--url", &url, "--format", "json"], None);
    assert!(json.status.success());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["tables"][0]["name"], "users");
    let json_file = dir.path().join("before.json");
    std::fs::write(&json_file, json.stdout).unwrap();

    let same = schemagate(
        &[
            "diff",
            ddl_file.to_str().unwrap(),
            json_file.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(same.status.code(), Some(0), "{}", stdout(&same));
    assert_eq!(stdout(&same), "");

    psql(&url, "ALTER TABLE users ALTER COLUMN email TYPE text").unwrap();
    let changed = schemagate(&["diff", ddl_file.to_str().unwrap(), &url], None);
    assert_eq!(changed.status.code(), Some(1));
    assert_eq!(
        stdout(&changed),
        "~ table public.users: column \"email\" character varying(20) → text\n"
    );
}

#[test]
fn mariadb_snapshot_prints_canonical_ddl() {
    let url = fresh_mysql_database().unwrap();
    let db = url.rsplit('/').next().unwrap().to_owned();
    schemagate_testkit::mariadb(
        &url,
        Some(&db),
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY)",
    )
    .unwrap();
    let out = schemagate(&["snapshot", "--engine", "mariadb", "--url", &url], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("`id` int(11) NOT NULL AUTO_INCREMENT"),
        "{}",
        stdout(&out)
    );
    assert!(!stdout(&out).contains("schemagate_history"));
}

#[test]
fn errors_name_the_target_but_never_the_password() {
    let out = schemagate(
        &[
            "snapshot",
            "--url",
            "postgres://app:S3cret-Canary@127.0.0.1:1/db",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to postgres://app@127.0.0.1:1/db"),
        "{err}"
    );
    assert!(!err.contains("S3cret-Canary"), "{err}");

    let out = schemagate(
        &[
            "snapshot",
            "--engine",
            "mysql",
            "--url",
            "postgres://a:S3cret-Canary@h/db",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("S3cret-Canary"));
}

#[test]
fn sqlite_files_are_taken_by_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.db");
    let make = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)'); c.commit()",
        ])
        .arg(&db)
        .status()
        .unwrap();
    assert!(make.success());
    let db = db.to_str().unwrap();
    let bare = schemagate(&["snapshot", "--url", db], None);
    assert!(
        bare.status.success(),
        "{}",
        String::from_utf8_lossy(&bare.stderr)
    );
    assert!(stdout(&bare).contains("users"), "{}", stdout(&bare));
    let url = schemagate(
        &[
            "snapshot",
            "--engine",
            "sqlite",
            "--url",
            &format!("sqlite://{db}"),
        ],
        None,
    );
    assert_eq!(
        stdout(&bare),
        stdout(&url),
        "a path and a sqlite:// URL are the same database"
    );
    // diff: a snapshot file against the database file itself.
    let before = dir.path().join("before.sql");
    std::fs::write(&before, &bare.stdout).unwrap();
    let same = schemagate(&["diff", before.to_str().unwrap(), db], None);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        stdout(&same),
        String::from_utf8_lossy(&same.stderr)
    );
    let empty = dir.path().join("empty.sql");
    std::fs::write(&empty, "").unwrap();
    let differs = schemagate(&["diff", empty.to_str().unwrap(), db], None);
    assert_eq!(differs.status.code(), Some(1));
    assert!(stdout(&differs).contains("+ table"), "{}", stdout(&differs));
    // A path that is neither: a clear error, no file created.
    let missing = dir.path().join("missing.db");
    let out = schemagate(&["snapshot", "--url", missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no such file") && err.contains("sqlite://PATH"),
        "{err}"
    );
    assert!(!missing.exists());
    let out = schemagate(&["snapshot", "--url", before.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a SQLite database file"));
}
