//! Tests of the system rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;
use crate::review::{Policy, review};

fn all_mysql(sql: &str) -> Vec<String> {
    review(sql, MY, &Policy::preset("default").unwrap(), None)
        .findings
        .into_iter()
        .map(|f| f.rule)
        .collect()
}

#[test]
fn charset_and_collation_allow_lists() {
    let r = "system.charset-allowlist";
    assert_eq!(hits(MY, r, "CREATE TABLE t (a int) CHARSET=latin1"), 1);
    assert_eq!(
        hits(
            MY,
            r,
            "CREATE TABLE t (a varchar(5) CHARACTER SET latin1) CHARSET=utf8mb4"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "system.charset.allowlist",
            "CREATE TABLE t (a int) CHARSET=utf8mb4"
        ),
        0
    );
    assert_eq!(
        hits_with(
            MY,
            r,
            r#"{"list":["latin1"]}"#,
            "CREATE TABLE t (a int) CHARSET=latin1"
        ),
        0
    );
    let r = "system.collation-allowlist";
    assert_eq!(hits(MY, r, "CREATE TABLE t (a int) COLLATE=utf8mb4_bin"), 1);
    assert_eq!(
        hits(MY, r, "CREATE TABLE t (a int) COLLATE=utf8mb4_0900_ai_ci"),
        0
    );
    assert_eq!(hits(PG, r, "CREATE TABLE t (a text COLLATE \"C\")"), 1);
}

#[test]
fn comment_length() {
    assert_eq!(
        hits(
            PG,
            "system.comment-length",
            &format!("COMMENT ON TABLE t IS '{}'", "x".repeat(65))
        ),
        1
    );
    assert_eq!(
        hits(PG, "system.comment.length", "COMMENT ON TABLE t IS 'short'"),
        0
    );
    assert_eq!(
        hits_with(
            PG,
            "system.comment-length",
            r#"{"number":3}"#,
            "COMMENT ON COLUMN t.a IS 'four'"
        ),
        1
    );
}

#[test]
fn disallowed_objects() {
    assert_eq!(
        hits(
            MY,
            "system.view-disallow-create",
            "CREATE VIEW v AS SELECT a FROM t WHERE a = 1"
        ),
        1
    );
    assert_eq!(
        hits(MY, "system.view.disallow-create", "CREATE TABLE v (a int)"),
        0
    );
    assert_eq!(
        hits(
            PG,
            "system.view-disallow-create",
            "CREATE VIEW v AS SELECT 1"
        ),
        0
    );
    assert!(
        all_mysql("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t")
            .contains(&"system.event-disallow-create".to_owned())
    );
    assert!(
        !all_mysql("CREATE TABLE e (id int)").contains(&"system.event-disallow-create".to_owned())
    );
    let proc = "DELIMITER //\nCREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\n";
    assert!(all_mysql(proc).contains(&"system.procedure-disallow-create".to_owned()));
    let func = "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1";
    assert!(all_mysql(func).contains(&"system.function-disallow-create".to_owned()));
}

#[test]
fn function_disallowed_list() {
    let r = "system.function-disallowed-list";
    assert_eq!(hits(MY, r, "INSERT INTO t (a) VALUES (UUID())"), 1);
    assert_eq!(hits(MY, r, "SELECT SLEEP(1), RAND() FROM t WHERE a = 1"), 2);
    assert_eq!(hits(MY, r, "SELECT NOW() FROM t WHERE a = 1"), 0);
    // Rows of literals, but a call in the clause after them.
    let upsert = "INSERT INTO t (a, b) VALUES (1, 2), (3, 4), (5, 6), (7, 8) \
                  ON DUPLICATE KEY UPDATE b = UUID()";
    assert_eq!(hits(MY, r, upsert), 1);
    assert_eq!(
        hits(MY, r, "INSERT INTO t (a) VALUES (1), (2), (3), (4)"),
        0
    );
    assert_eq!(
        hits_with(
            MY,
            "system.function.disallowed-list",
            r#"{"list":["NOW"]}"#,
            "SELECT NOW() FROM t WHERE a = 1"
        ),
        1
    );
}
