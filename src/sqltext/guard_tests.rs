//! Table tests of the guards: every spelling of transaction control per engine, and the
//! statements that must not be mistaken for it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const PG: Engine = Engine::Postgres;
const MY: Engine = Engine::Mysql;
const LITE: Engine = Engine::Sqlite;

/// (engine, statement, what the guard must name).
const TRANSACTION_CONTROL: &[(Engine, &str, &str)] = &[
    // PostgreSQL
    (PG, "BEGIN", "BEGIN"),
    (PG, "begin work", "BEGIN WORK"),
    (
        PG,
        "BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "BEGIN TRANSACTION",
    ),
    (PG, "START TRANSACTION", "START TRANSACTION"),
    (PG, "start transaction read only", "START TRANSACTION"),
    (PG, "COMMIT", "COMMIT"),
    (PG, "COMMIT/**/", "COMMIT"),
    (PG, "commit -- x", "COMMIT"),
    (PG, "/* lead */ Commit", "COMMIT"),
    (PG, "COMMIT WORK", "COMMIT WORK"),
    (PG, "COMMIT TRANSACTION", "COMMIT TRANSACTION"),
    (PG, "COMMIT AND CHAIN", "COMMIT AND CHAIN"),
    (PG, "COMMIT AND NO CHAIN", "COMMIT AND NO CHAIN"),
    (PG, "COMMIT PREPARED 'gx'", "COMMIT PREPARED"),
    (PG, "END", "END"),
    (PG, "END TRANSACTION", "END TRANSACTION"),
    (PG, "END WORK", "END WORK"),
    (PG, "end and chain", "END AND CHAIN"),
    (PG, "ROLLBACK", "ROLLBACK"),
    (PG, "ROLLBACK WORK", "ROLLBACK WORK"),
    (PG, "ROLLBACK TO SAVEPOINT s", "ROLLBACK TO SAVEPOINT"),
    (PG, "ROLLBACK TO s", "ROLLBACK TO"),
    (PG, "ROLLBACK PREPARED 'gx'", "ROLLBACK PREPARED"),
    (PG, "ABORT", "ABORT"),
    (PG, "ABORT WORK", "ABORT WORK"),
    (PG, "ABORT TRANSACTION", "ABORT TRANSACTION"),
    (PG, "SAVEPOINT s", "SAVEPOINT"),
    (PG, "RELEASE SAVEPOINT s", "RELEASE SAVEPOINT"),
    (PG, "RELEASE s", "RELEASE"),
    (PG, "PREPARE TRANSACTION 'gx'", "PREPARE TRANSACTION"),
    (
        PG,
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET TRANSACTION",
    ),
    (PG, "SET TRANSACTION SNAPSHOT '0001'", "SET TRANSACTION"),
    (
        PG,
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "SET SESSION CHARACTERISTICS AS TRANSACTION",
    ),
    (
        PG,
        "DO $$ BEGIN INSERT INTO t VALUES (1); COMMIT; END $$",
        "COMMIT",
    ),
    (
        PG,
        "DO $x$ BEGIN ROLLBACK; END $x$ LANGUAGE plpgsql",
        "ROLLBACK",
    ),
    (PG, "DO 'BEGIN COMMIT; END'", "COMMIT"),
    (
        PG,
        "DO $$ BEGIN FOR i IN 1..3 LOOP INSERT INTO t VALUES (i); COMMIT AND CHAIN; END LOOP; END $$",
        "COMMIT AND CHAIN",
    ),
    (
        PG,
        "DO $$ BEGIN IF true THEN COMMIT; ELSE ROLLBACK; END IF; END $$",
        "COMMIT",
    ),
    (
        PG,
        "DO $$ <<outer>> BEGIN NULL; EXCEPTION WHEN others THEN ROLLBACK; END $$",
        "ROLLBACK",
    ),
    (
        PG,
        "CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN INSERT INTO t VALUES (1); COMMIT; END $$",
        "COMMIT",
    ),
    (
        PG,
        "create or replace procedure p() as 'begin commit; end' language plpgsql",
        "COMMIT",
    ),
    // MySQL / MariaDB
    (MY, "BEGIN", "BEGIN"),
    (MY, "BEGIN WORK", "BEGIN WORK"),
    (MY, "START TRANSACTION", "START TRANSACTION"),
    (
        MY,
        "START TRANSACTION WITH CONSISTENT SNAPSHOT",
        "START TRANSACTION",
    ),
    (MY, "COMMIT", "COMMIT"),
    (MY, "COMMIT/**/", "COMMIT"),
    (MY, "commit -- x", "COMMIT"),
    (MY, "commit # x", "COMMIT"),
    (
        MY,
        "COMMIT WORK AND NO CHAIN NO RELEASE",
        "COMMIT WORK AND NO CHAIN NO RELEASE",
    ),
    (MY, "ROLLBACK WORK", "ROLLBACK WORK"),
    (MY, "ROLLBACK TO SAVEPOINT s", "ROLLBACK TO SAVEPOINT"),
    (MY, "SAVEPOINT s", "SAVEPOINT"),
    (MY, "RELEASE SAVEPOINT s", "RELEASE SAVEPOINT"),
    (
        MY,
        "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        "SET TRANSACTION",
    ),
    (MY, "SET SESSION TRANSACTION READ ONLY", "SET TRANSACTION"),
    (
        MY,
        "SET GLOBAL TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET TRANSACTION",
    ),
    (MY, "SET autocommit = 0", "SET autocommit"),
    (MY, "set AUTOCOMMIT=0", "SET autocommit"),
    (MY, "SET SESSION autocommit := 0", "SET autocommit"),
    (MY, "SET @@autocommit = 0", "SET autocommit"),
    (MY, "SET @@session.autocommit = OFF", "SET autocommit"),
    (MY, "SET sql_mode = '', autocommit = 0", "SET autocommit"),
    (MY, "XA START 'x'", "XA START"),
    (MY, "XA COMMIT 'x'", "XA COMMIT"),
    (MY, "LOCK TABLES t WRITE", "LOCK TABLES"),
    (MY, "LOCK TABLE t READ", "LOCK TABLE"),
    (MY, "UNLOCK TABLES", "UNLOCK TABLES"),
    (MY, "/*!COMMIT*/", "COMMIT"),
    (MY, "/*!50000 START TRANSACTION */", "START TRANSACTION"),
    (MY, "SELECT 1 /*M!100000 ; COMMIT */", "COMMIT"),
    (MY, "PREPARE s FROM 'COMMIT'", "COMMIT"),
    (
        MY,
        "EXECUTE IMMEDIATE 'START TRANSACTION'",
        "START TRANSACTION",
    ),
    (
        MY,
        "CREATE PROCEDURE p() BEGIN INSERT INTO t VALUES (1); COMMIT; END",
        "COMMIT",
    ),
    (
        MY,
        "CREATE DEFINER=`root`@`%` PROCEDURE p(IN x INT) MODIFIES SQL DATA COMMENT 'c' BEGIN START TRANSACTION; UPDATE t SET a = x; COMMIT; END",
        "START TRANSACTION",
    ),
    (
        MY,
        "CREATE PROCEDURE p() BEGIN DECLARE EXIT HANDLER FOR SQLEXCEPTION ROLLBACK; UPDATE t SET a = 1; END",
        "ROLLBACK",
    ),
    (
        MY,
        "CREATE PROCEDURE p() BEGIN DECLARE CONTINUE HANDLER FOR SQLSTATE '23000', NOT FOUND BEGIN ROLLBACK; END; SELECT 1; END",
        "ROLLBACK",
    ),
    (MY, "CREATE PROCEDURE p() COMMIT", "COMMIT"),
    (
        MY,
        "CREATE PROCEDURE p() BEGIN IF 1 THEN SET autocommit = 0; END IF; END",
        "SET autocommit",
    ),
    (
        MY,
        "CREATE PROCEDURE p() lbl: BEGIN LOCK TABLES t WRITE; END",
        "LOCK TABLES",
    ),
    (
        MY,
        "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); COMMIT; END",
        "COMMIT",
    ),
    // SQLite
    (LITE, "BEGIN", "BEGIN"),
    (LITE, "BEGIN DEFERRED", "BEGIN DEFERRED"),
    (
        LITE,
        "BEGIN IMMEDIATE TRANSACTION",
        "BEGIN IMMEDIATE TRANSACTION",
    ),
    (LITE, "BEGIN EXCLUSIVE", "BEGIN EXCLUSIVE"),
    (LITE, "COMMIT", "COMMIT"),
    (LITE, "COMMIT TRANSACTION", "COMMIT TRANSACTION"),
    (LITE, "END", "END"),
    (LITE, "END TRANSACTION", "END TRANSACTION"),
    (LITE, "ROLLBACK", "ROLLBACK"),
    (
        LITE,
        "ROLLBACK TRANSACTION TO SAVEPOINT s",
        "ROLLBACK TRANSACTION TO SAVEPOINT",
    ),
    (LITE, "SAVEPOINT s", "SAVEPOINT"),
    (LITE, "RELEASE s", "RELEASE"),
    (LITE, "RELEASE SAVEPOINT s", "RELEASE SAVEPOINT"),
];

/// Statements that look like transaction control to a naive check but are not.
const NOT_TRANSACTION_CONTROL: &[(Engine, &str)] = &[
    (PG, "CREATE TABLE commit_log (id int, rollback_reason text)"),
    (PG, "INSERT INTO t (note) VALUES ('COMMIT'), ('BEGIN; END')"),
    (PG, "SELECT 'commit' AS \"commit\", $$ROLLBACK$$"),
    (PG, "-- COMMIT\nSELECT 1"),
    (PG, "UPDATE t SET \"end\" = 1 WHERE \"begin\" = 2"),
    (
        PG,
        "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.x := 1; RETURN NEW; END $$",
    ),
    (
        PG,
        "CREATE FUNCTION f() RETURNS int AS $$ DECLARE c int; BEGIN SELECT commit INTO c FROM t; RETURN c; END $$ LANGUAGE plpgsql",
    ),
    (PG, "DO $$ BEGIN PERFORM 1; RAISE NOTICE 'commit'; END $$"),
    (
        PG,
        "DO $$ BEGIN UPDATE t SET note = 'x' WHERE commit_id = 1; END $$",
    ),
    (
        PG,
        "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (1); END",
    ),
    (PG, "SET search_path = app, public"),
    (PG, "SET LOCAL lock_timeout = '1s'"),
    (PG, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE"),
    (PG, "PREPARE q AS SELECT 1"),
    (PG, "CREATE TABLE t (function int, begin int)"),
    (MY, "CREATE TABLE `commit` (id int)"),
    (
        MY,
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.a = 1; SET NEW.b = 2; END",
    ),
    (
        MY,
        "CREATE TRIGGER tr BEFORE UPDATE ON t FOR EACH ROW BEGIN IF NEW.a > 1 THEN SET NEW.a = 1; END IF; END",
    ),
    (
        MY,
        "CREATE PROCEDURE p() BEGIN DECLARE done INT DEFAULT 0; DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; SELECT commit_id FROM t; END",
    ),
    (
        MY,
        "CREATE FUNCTION f() RETURNS INT DETERMINISTIC BEGIN RETURN 1; END",
    ),
    (
        MY,
        "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO BEGIN DELETE FROM t WHERE a < 1; END",
    ),
    (MY, "SET @saved = @@autocommit"),
    (MY, "SET NAMES utf8mb4"),
    (MY, "/*!40101 SET NAMES utf8 */"),
    (
        MY,
        "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */",
    ),
    (MY, "PREPARE s FROM 'SELECT 1'"),
    (MY, "START SLAVE"),
    (MY, "END"),
    (
        LITE,
        "CREATE TRIGGER tr AFTER INSERT ON a BEGIN UPDATE b SET x = 1; DELETE FROM c; END",
    ),
    (LITE, "CREATE TABLE [commit] (id int)"),
];

#[test]
fn every_spelling_of_transaction_control_is_found() {
    for (engine, sql, what) in TRANSACTION_CONTROL {
        let got = transaction_control(*engine, sql)
            .unwrap_or_else(|| panic!("{engine}: {sql:?} was not recognised"));
        assert_eq!(got.what, *what, "{engine}: {sql:?}");
    }
}

#[test]
fn look_alikes_are_not_transaction_control() {
    for (engine, sql) in NOT_TRANSACTION_CONTROL {
        assert_eq!(transaction_control(*engine, sql), None, "{engine}: {sql:?}");
    }
}

#[test]
fn context_says_where_it_was_found() {
    let t = transaction_control(PG, "DO $$ BEGIN COMMIT; END $$").unwrap();
    assert_eq!(t.to_string(), "COMMIT inside a DO block");
    let t = transaction_control(MY, "CREATE PROCEDURE p() BEGIN ROLLBACK; END").unwrap();
    assert_eq!(t.to_string(), "ROLLBACK inside a procedure body");
    let t = transaction_control(MY, "PREPARE s FROM 'COMMIT'").unwrap();
    assert_eq!(t.to_string(), "COMMIT inside dynamic SQL");
    assert_eq!(transaction_control(LITE, "END").unwrap().to_string(), "END");
}

#[test]
fn after_the_script_changes_how_literals_are_read_other_readings_are_checked() {
    // With standard_conforming_strings off, PostgreSQL reads `\'` as a quote: the literal
    // ends later and COMMIT is a statement of its own.
    let hidden = "SELECT 'a\\', 'b; COMMIT; --';";
    assert_eq!(transaction_control(PG, hidden), None);
    for change in [
        "SET standard_conforming_strings = off",
        "SET SESSION standard_conforming_strings TO 'off'",
        "SET standard_conforming_strings = DEFAULT",
        "RESET standard_conforming_strings",
        "SELECT set_config('standard_conforming_strings', 'off', false)",
    ] {
        let sql = format!("{change};\n{hidden}");
        let found = find_transaction_control(PG, &sql);
        assert_eq!(found.len(), 1, "{change}");
        let (offset, t) = &found[0];
        assert_eq!(t.what, "COMMIT");
        assert!(t.other_escapes);
        assert!(t.to_string().contains("backslashes"), "{t}");
        assert!(sql[*offset..].starts_with("COMMIT"), "{change}");
    }
    let kept = format!("SET standard_conforming_strings = on;\n{hidden}");
    assert_eq!(transaction_control(PG, &kept), None);
    // Before the change the session reads literals as pinned: nothing to see there.
    let before = format!("{hidden}\nSET standard_conforming_strings = off;");
    assert_eq!(transaction_control(PG, &before), None);

    // MySQL: NO_BACKSLASH_ESCAPES ends `'a\'` early.
    let hidden = "SELECT 'a\\'; COMMIT; --';";
    assert_eq!(transaction_control(MY, hidden), None);
    for change in [
        "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
        "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')",
        "SET @@session.sql_mode := @saved",
        "/*!40101 SET SQL_MODE = 'ANSI' */",
    ] {
        let t = transaction_control(MY, &format!("{change};\n{hidden}"))
            .unwrap_or_else(|| panic!("{change}"));
        assert!(t.other_escapes, "{change}");
    }
    // mysqldump's header keeps the reading.
    let dump = format!(
        "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n{hidden}"
    );
    assert_eq!(transaction_control(MY, &dump), None);
    // SQLite has one reading only.
    assert_eq!(transaction_control(LITE, r"SELECT 'a\'; x'"), None);
}

#[test]
fn set_assignments_are_split_at_top_level_commas() {
    let toks: Vec<Tok<'_>> = lex::Tokens::new(
        "a = f(1, 2), @@session.b := 'x', c TO on, d",
        MY,
        Escapes::default_for(MY),
    )
    .collect();
    let got: Vec<(Option<String>, usize)> = assignments(&toks)
        .into_iter()
        .map(|(t, v)| (t, v.len()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("A".into()), 6),
            (Some("B".into()), 1),
            (Some("C".into()), 1),
            (Some("D".into()), 0)
        ]
    );
}

#[test]
fn nul_bytes_are_located() {
    assert_eq!(find_nul("SELECT 1;"), None);
    let n = find_nul("SELECT 1;\nSELECT 'é\0';").unwrap();
    assert_eq!((n.offset, n.line, n.column), (20, 2, 9));
    assert!(n.to_string().contains("line 2, column 9"));
    let n = find_nul("\0").unwrap();
    assert_eq!((n.line, n.column), (1, 0));
}

#[test]
fn executable_comments_are_found_and_expanded_on_mysql() {
    let sql = "CREATE /*M! OR REPLACE */ TABLE victim (id int)";
    assert!(has_executable_comment(MY, sql));
    let expanded = expand_executable_comments(MY, sql);
    assert_eq!(expanded, "CREATE      OR REPLACE    TABLE victim (id int)");
    assert_eq!(expanded.len(), sql.len());
    assert!(!has_executable_comment(PG, sql));
    assert_eq!(expand_executable_comments(PG, sql), sql);
    assert!(has_executable_comment(MY, "/*!50100 SET NAMES utf8 */"));
    assert_eq!(
        expand_executable_comments(MY, "/*!50100 SET NAMES utf8 */").trim(),
        "SET NAMES utf8"
    );
    assert!(!has_executable_comment(
        MY,
        "SELECT '/*! not a comment */' /* plain */"
    ));
    assert!(!has_executable_comment(
        MY,
        "SELECT /*+ MAX_EXECUTION_TIME(1) */ 1"
    ));
}

/// The review's statement-by-statement scan finds exactly what the executor's whole-script
/// search finds, offsets and readings included, on scripts mixing every spelling, the
/// look-alikes and changes of how literals are read (before, between and after them).
#[test]
fn the_statement_by_statement_scan_finds_what_the_whole_script_search_finds() {
    let changes: &[(Engine, &str)] = &[
        (PG, "SET standard_conforming_strings = off"),
        (PG, "RESET standard_conforming_strings"),
        (PG, "SET standard_conforming_strings = on"),
        (MY, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'"),
        (MY, "/*!40101 SET SQL_MODE = 'ANSI' */"),
        (
            MY,
            "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */",
        ),
    ];
    let hidden: &[(Engine, &str)] = &[
        (PG, "SELECT 'a\\', 'b; COMMIT; --'"),
        (MY, "SELECT 'a\\'; COMMIT; --'"),
        (LITE, "SELECT 'a\\'; x'"),
    ];
    let (mut checked, mut other_readings) = (0, 0);
    for engine in [PG, MY, LITE] {
        let of = |list: &[(Engine, &str)]| -> Vec<String> {
            list.iter()
                .filter(|(e, _)| *e == engine)
                .map(|(_, s)| (*s).to_owned())
                .collect()
        };
        let mut statements: Vec<String> = TRANSACTION_CONTROL
            .iter()
            .filter(|(e, _, _)| *e == engine)
            .map(|(_, s, _)| (*s).to_owned())
            .collect();
        statements.extend(of(NOT_TRANSACTION_CONTROL));
        let hidden = of(hidden);
        let mut scripts = vec![statements.join(";\n")];
        for change in of(changes) {
            for at in [0, statements.len() / 2, statements.len()] {
                let mut s = statements.clone();
                s.insert(at, change.clone());
                s.extend(hidden.iter().cloned());
                s.insert(0, hidden.join(";\n"));
                scripts.push(s.join(";\n"));
            }
        }
        for script in scripts {
            let mut scan = TransactionControlScan::new(engine);
            let streamed: Vec<_> = split::split(&script, engine)
                .filter_map(|part| scan.statement(&part))
                .collect();
            let whole = find_transaction_control(engine, &script);
            assert!(!whole.is_empty());
            assert_eq!(streamed, whole, "{engine}: {script}");
            checked += 1;
            other_readings += whole.iter().filter(|(_, t)| t.other_escapes).count();
        }
    }
    assert!(checked >= 10, "{checked}");
    // Found only under another reading, after a change: the scan's own state matters.
    assert!(other_readings >= 4, "{other_readings}");
}
