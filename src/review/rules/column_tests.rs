//! Tests of the column rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn required_columns() {
    for e in [PG, MY, SL] {
        let r = "column.required";
        assert_eq!(
            hits(
                e,
                r,
                "CREATE TABLE t (id int, created_ts int, updated_ts int, creator_id int, updater_id int)"
            ),
            0
        );
        assert_eq!(hits(e, r, "CREATE TABLE t (id int)"), 1);
        assert_eq!(
            hits_with(e, r, r#"{"list":["id"]}"#, "CREATE TABLE t (id int)"),
            0
        );
        assert_eq!(
            hits_with(e, r, r#"{"list":["id"]}"#, "ALTER TABLE t DROP COLUMN id"),
            1
        );
        assert_eq!(
            hits_with(
                e,
                r,
                r#"{"list":["id"]}"#,
                "ALTER TABLE t RENAME COLUMN id TO pk"
            ),
            1
        );
    }
}

#[test]
fn no_null() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "column.no-null",
                "CREATE TABLE t (id int PRIMARY KEY, a int)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "column.no-null",
                "CREATE TABLE t (id int, a int NOT NULL, PRIMARY KEY (id))"
            ),
            0
        );
        assert_eq!(
            hits(e, "column.no-null", "ALTER TABLE t ADD COLUMN b int"),
            1
        );
    }
    assert_eq!(
        hits(
            PG,
            "column.no-null",
            "ALTER TABLE t ALTER COLUMN b DROP NOT NULL"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.no-null",
            "ALTER TABLE t MODIFY COLUMN b int NOT NULL"
        ),
        0
    );
    assert_eq!(
        hits(MY, "column.no-null", "ALTER TABLE t MODIFY COLUMN b int"),
        1
    );
}

#[test]
fn change_type_needs_schema() {
    let schema = "CREATE TABLE t (id int PRIMARY KEY, a int, b varchar(10));";
    assert_eq!(
        hits_on(
            PG,
            "column.disallow-change-type",
            schema,
            "ALTER TABLE t ALTER COLUMN a TYPE bigint"
        ),
        1
    );
    assert_eq!(
        hits_on(
            PG,
            "column.disallow-change-type",
            schema,
            "ALTER TABLE t ALTER COLUMN a TYPE integer"
        ),
        0
    );
    assert_eq!(
        hits_on(
            MY,
            "column.disallow-change-type",
            schema,
            "ALTER TABLE t MODIFY COLUMN b varchar(20)"
        ),
        1
    );
    assert_eq!(
        hits_on(
            MY,
            "column.disallow-change-type",
            schema,
            "ALTER TABLE t MODIFY COLUMN b varchar(10) NOT NULL"
        ),
        0
    );
    assert_eq!(
        hits_on(
            MY,
            "column.disallow-change-type",
            schema,
            "ALTER TABLE t CHANGE COLUMN a c bigint"
        ),
        1
    );
}

#[test]
fn mysql_defaults() {
    let r = "column.set-default-for-not-null";
    assert_eq!(
        hits(MY, r, "CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL)"),
        1
    );
    assert_eq!(
        hits(
            MY,
            r,
            "CREATE TABLE t (id int PRIMARY KEY, a int NOT NULL DEFAULT 0, b text NOT NULL)"
        ),
        0
    );
    assert_eq!(hits(PG, r, "CREATE TABLE t (a int NOT NULL)"), 0);
    for e in [PG, MY, SL] {
        let r = "column.require-default";
        assert_eq!(hits(e, r, "CREATE TABLE t (id int PRIMARY KEY, a int)"), 1);
        assert_eq!(
            hits(e, r, "CREATE TABLE t (id int PRIMARY KEY, a int DEFAULT 1)"),
            0
        );
    }
    assert_eq!(
        hits(
            PG,
            "column.require-default",
            "CREATE TABLE t (id serial, a int DEFAULT 1)"
        ),
        0
    );
}

#[test]
fn change_and_order() {
    assert_eq!(
        hits(
            MY,
            "column.disallow-change",
            "ALTER TABLE t CHANGE COLUMN a b int"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.disallow-change",
            "ALTER TABLE t MODIFY COLUMN a int"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "column.disallow-changing-order",
            "ALTER TABLE t MODIFY COLUMN a int FIRST"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.disallow-changing-order",
            "ALTER TABLE t CHANGE COLUMN a a int AFTER b"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.disallow-changing-order",
            "ALTER TABLE t MODIFY COLUMN a int"
        ),
        0
    );
    let schema = "CREATE TABLE t (id int PRIMARY KEY, a int, b int, KEY idx_a (a));";
    assert_eq!(
        hits_on(
            MY,
            "column.disallow-drop-in-index",
            schema,
            "ALTER TABLE t DROP COLUMN a"
        ),
        1
    );
    assert_eq!(
        hits_on(
            MY,
            "column.disallow-drop-in-index",
            schema,
            "ALTER TABLE t DROP COLUMN b"
        ),
        0
    );
}

#[test]
fn comments() {
    assert_eq!(
        hits(MY, "column.comment", "CREATE TABLE t (a int COMMENT 'x')"),
        0
    );
    assert_eq!(hits(MY, "column.comment", "CREATE TABLE t (a int)"), 1);
    assert_eq!(
        hits_with(
            MY,
            "column.comment",
            r#"{"required":false,"maxLength":2}"#,
            "CREATE TABLE t (a int COMMENT 'xyz', b int)"
        ),
        1
    );
    assert_eq!(hits(PG, "column.comment", "CREATE TABLE t (a int)"), 1);
    assert_eq!(
        hits(
            PG,
            "column.comment",
            "CREATE TABLE t (a int); COMMENT ON COLUMN t.a IS 'x'"
        ),
        0
    );
}

#[test]
fn types_and_lengths() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(e, "column.type-disallow-list", "CREATE TABLE t (a json)"),
            1
        );
        assert_eq!(
            hits(e, "column.type-disallow-list", "CREATE TABLE t (a int)"),
            0
        );
        assert_eq!(
            hits_with(
                e,
                "column.type-disallow-list",
                r#"{"list":["TEXT"]}"#,
                "CREATE TABLE t (a text, b json)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "column.maximum-character-length",
                "CREATE TABLE t (a char(21))"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "column.maximum-character-length",
                "CREATE TABLE t (a char(20), b varchar(100))"
            ),
            0
        );
    }
    assert_eq!(
        hits(
            MY,
            "column.maximum-varchar-length",
            "CREATE TABLE t (a varchar(3000))"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            "column.maximum-varchar-length",
            r#"{"number":10}"#,
            "CREATE TABLE t (a varchar(11))"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.maximum-varchar-length",
            "CREATE TABLE t (a varchar(255))"
        ),
        0
    );
}

#[test]
fn charsets() {
    assert_eq!(
        hits(
            MY,
            "column.disallow-set-charset",
            "CREATE TABLE t (a varchar(10) CHARACTER SET utf8)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.disallow-set-charset",
            "CREATE TABLE t (a varchar(10))"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "column.require-charset",
            "CREATE TABLE t (a varchar(10))"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.require-charset",
            "CREATE TABLE t (a varchar(10) CHARACTER SET utf8mb4, b int)"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "column.require-collation",
            "CREATE TABLE t (a varchar(10))"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.require-collation",
            "CREATE TABLE t (a varchar(10) COLLATE utf8mb4_bin)"
        ),
        0
    );
}

#[test]
fn auto_increment() {
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-must-integer",
            "CREATE TABLE t (id varchar(10) AUTO_INCREMENT PRIMARY KEY)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-must-integer",
            "CREATE TABLE t (id bigint AUTO_INCREMENT PRIMARY KEY)"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-must-unsigned",
            "CREATE TABLE t (id bigint AUTO_INCREMENT PRIMARY KEY)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-must-unsigned",
            "CREATE TABLE t (id bigint unsigned AUTO_INCREMENT PRIMARY KEY)"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-initial-value",
            "CREATE TABLE t (id int) AUTO_INCREMENT=10"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-initial-value",
            "CREATE TABLE t (id int) AUTO_INCREMENT=1"
        ),
        0
    );
    assert_eq!(
        hits_with(
            MY,
            "column.auto-increment-initial-value",
            r#"{"number":10}"#,
            "CREATE TABLE t (id int) AUTO_INCREMENT=10"
        ),
        0
    );
}

#[test]
fn current_time_and_volatile_defaults() {
    let r = "column.current-time-count-limit";
    assert_eq!(
        hits(
            MY,
            r,
            "CREATE TABLE t (a timestamp DEFAULT CURRENT_TIMESTAMP, b timestamp DEFAULT CURRENT_TIMESTAMP, c timestamp DEFAULT NOW())"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            r,
            "CREATE TABLE t (a timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, b timestamp DEFAULT CURRENT_TIMESTAMP)"
        ),
        0
    );
    let r = "column.default-disallow-volatile";
    assert_eq!(
        hits(
            PG,
            r,
            "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT clock_timestamp()"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            r,
            "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now()"
        ),
        0
    );
}
