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
        // As Bytebase: every PostgreSQL SET DATA TYPE counts, even to the same type.
        1
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
    for e in [MY, SL] {
        let r = "column.require-default";
        assert_eq!(hits(e, r, "CREATE TABLE t (id int PRIMARY KEY, a int)"), 1);
        assert_eq!(
            hits(e, r, "CREATE TABLE t (id int PRIMARY KEY, a int DEFAULT 1)"),
            0
        );
    }
    // PostgreSQL, as Bytebase: a key column needs a DEFAULT as well (serial and identity
    // columns have one), whether the key is declared on the column or on the table.
    let r = "column.require-default";
    assert_eq!(hits(PG, r, "CREATE TABLE t (id int PRIMARY KEY, a int)"), 2);
    let f = run(
        PG,
        r,
        None,
        None,
        "CREATE TABLE t (\n  id bigint,\n  a int DEFAULT 1,\n  PRIMARY KEY (id)\n)",
    );
    assert_eq!(f.iter().map(|f| f.line).collect::<Vec<_>>(), vec![2]);
    assert_eq!(
        hits(
            PG,
            r,
            "CREATE TABLE t (id bigserial PRIMARY KEY, a int DEFAULT 1)"
        ),
        0
    );
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
    // A comment that is too long is reported where it is set; a missing one at the table.
    let f = run(
        PG,
        "column.comment",
        Some(r#"{"required":true,"maxLength":5}"#),
        None,
        "CREATE TABLE t (a int, b int);\nCOMMENT ON COLUMN t.A IS 'far too long';\nCOMMENT ON COLUMN t.b IS 'ok';",
    );
    let at: Vec<_> = f.iter().map(|f| (f.statement, f.line)).collect();
    assert_eq!(at, vec![(1, 2)], "{f:?}");
    let f = run(
        PG,
        "column.comment",
        Some(r#"{"required":true,"maxLength":5}"#),
        None,
        "CREATE TABLE t (a int, b int);\nCOMMENT ON COLUMN t.b IS 'ok';",
    );
    let at: Vec<_> = f.iter().map(|f| (f.statement, f.line)).collect();
    assert_eq!(at, vec![(0, 1)], "{f:?}");
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
    // Raising the counter later with ALTER TABLE is held to the same start value.
    let r = "column.auto-increment-initial-value";
    assert_eq!(hits(MY, r, "ALTER TABLE t AUTO_INCREMENT = 500"), 1);
    assert_eq!(hits(MY, r, "ALTER TABLE t AUTO_INCREMENT 1"), 0);
    assert_eq!(
        hits_with(
            MY,
            r,
            r#"{"number":7}"#,
            "ALTER TABLE t COMMENT 'x', AUTO_INCREMENT = 7"
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
    // Counted per table over the whole script, reported once, at the column that went over.
    let script = "CREATE TABLE t (a int, u datetime ON UPDATE CURRENT_TIMESTAMP);\n\
                  ALTER TABLE t ADD COLUMN v datetime DEFAULT NOW() ON UPDATE NOW();\n\
                  ALTER TABLE other ADD COLUMN w datetime ON UPDATE LOCALTIMESTAMP";
    let found = run(MY, r, None, None, script);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].statement, found[0].line), (1, 2));
    let columns = "CREATE TABLE t (\n  a int,\n  b datetime DEFAULT NOW(),\n  c datetime DEFAULT NOW()\n);\n\
                   ALTER TABLE t ADD COLUMN d datetime DEFAULT LOCALTIME";
    let found = run(MY, r, None, None, columns);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].statement, found[0].line), (1, 6));
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
        // Bytebase counts now() among the volatile defaults.
        1
    );
    assert_eq!(hits(PG, r, "ALTER TABLE t ADD COLUMN c int DEFAULT 1"), 0);
}

#[test]
fn generated_columns_are_not_auto_increment() {
    // Temporal's visibility schema: computed columns must not be taken for auto-increment ones.
    let sql = "CREATE TABLE v (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, doc JSON, \
               ns VARCHAR(255) GENERATED ALWAYS AS (doc->>'$.ns') STORED, \
               x BIGINT GENERATED ALWAYS AS (id + 1) VIRTUAL)";
    for rule in [
        "column.auto-increment-must-integer",
        "column.auto-increment-must-unsigned",
        "naming.column.auto-increment",
    ] {
        assert_eq!(hits(MY, rule, sql), 0, "{rule}");
    }
    assert_eq!(
        hits(
            MY,
            "column.auto-increment-must-unsigned",
            "CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY)"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "column.require-default",
            "CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY)"
        ),
        0
    );
}
