//! Tests of the index rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn duplicate_columns_and_key_count() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "index.no-duplicate-column",
                "CREATE INDEX i ON t (a, b, a)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "table.no-duplicate-index",
                "CREATE TABLE t (a int, PRIMARY KEY (a, a))"
            ),
            1
        );
        assert_eq!(
            hits(e, "index.no-duplicate-column", "CREATE INDEX i ON t (a, b)"),
            0
        );
        assert_eq!(
            hits(
                e,
                "index.key-number-limit",
                "CREATE INDEX i ON t (a, b, c, d, e, f)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "index.key-number-limit",
                "CREATE INDEX i ON t (a, b, c, d, e)"
            ),
            0
        );
        assert_eq!(
            hits_with(
                e,
                "index.key-number-limit",
                r#"{"number":2}"#,
                "CREATE INDEX i ON t (a, b, c)"
            ),
            1
        );
    }
    // MySQL full-text and spatial indexes are not held to the key-count limit.
    let r = "index.key-number-limit";
    for sql in [
        "CREATE FULLTEXT INDEX ft ON doc (t1, t2, t3, t4, t5, t6)",
        "CREATE SPATIAL INDEX sp ON doc (g1, g2, g3, g4, g5, g6)",
        "CREATE TABLE doc (t1 text, FULLTEXT KEY ft (t1, t2, t3, t4, t5, t6))",
    ] {
        assert_eq!(hits(MY, r, sql), 0, "{sql}");
    }
    assert_eq!(
        hits(MY, r, "CREATE UNIQUE INDEX u ON doc (a, b, c, d, e, f)"),
        1
    );
}

#[test]
fn primary_key_types() {
    assert_eq!(
        hits(
            MY,
            "index.pk-type-limit",
            "CREATE TABLE t (id varchar(10) PRIMARY KEY)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "index.pk-type-limit",
            "CREATE TABLE t (id bigint PRIMARY KEY)"
        ),
        0
    );
    let r = "index.primary-key-type-allowlist";
    assert_eq!(hits(PG, r, "CREATE TABLE t (id uuid PRIMARY KEY)"), 1);
    assert_eq!(hits(PG, r, "CREATE TABLE t (id integer PRIMARY KEY)"), 0);
    assert_eq!(
        hits(PG, r, "CREATE TABLE t (id bigserial, PRIMARY KEY (id))"),
        0
    );
    assert_eq!(
        hits_with(
            PG,
            r,
            r#"{"list":["UUID"]}"#,
            "CREATE TABLE t (id uuid PRIMARY KEY)"
        ),
        0
    );
    assert_eq!(
        hits_on(
            MY,
            r,
            "CREATE TABLE t (code varchar(3));",
            "ALTER TABLE t ADD PRIMARY KEY (code)"
        ),
        1
    );
}

#[test]
fn blob_and_type_allow_list() {
    assert_eq!(
        hits(
            MY,
            "index.type-no-blob",
            "CREATE TABLE t (a text, KEY i (a))"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "index.type-no-blob",
            "CREATE TABLE t (a varchar(10), KEY i (a))"
        ),
        0
    );
    assert_eq!(
        hits_on(
            MY,
            "index.type-no-blob",
            "CREATE TABLE t (a blob);",
            "CREATE INDEX i ON t (a)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "index.type-allow-list",
            "CREATE INDEX i ON t (a) USING HASH"
        ),
        0
    );
    assert_eq!(
        hits_with(
            MY,
            "index.type-allow-list",
            r#"{"list":["BTREE"]}"#,
            "CREATE INDEX i ON t (a) USING HASH"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "index.type-allow-list",
            "CREATE TABLE t (a text, FULLTEXT KEY f (a))"
        ),
        1
    );
}

#[test]
fn create_concurrently() {
    assert_eq!(
        hits(PG, "index.create-concurrently", "CREATE INDEX i ON t (a)"),
        1
    );
    assert_eq!(
        hits(
            PG,
            "index.create-concurrently",
            "CREATE INDEX CONCURRENTLY i ON t (a)"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "index.create-concurrently",
            "CREATE TABLE t (a int); CREATE INDEX i ON t (a)"
        ),
        0
    );
    assert_eq!(hits(PG, "index.create-concurrently", "DROP INDEX i"), 1);
    assert_eq!(
        hits(MY, "index.create-concurrently", "CREATE INDEX i ON t (a)"),
        0
    );
}

#[test]
fn total_number_limit() {
    let schema = "CREATE TABLE t (a int, b int, c int, d int, e int, f int, KEY ia (a), KEY ib (b), KEY ic (c), KEY id (d), KEY ie (e));";
    assert_eq!(
        hits_on(
            MY,
            "index.total-number-limit",
            schema,
            "CREATE INDEX i_f ON t (f)"
        ),
        1
    );
    assert_eq!(
        hits_on(
            MY,
            "index.total-number-limit",
            schema,
            "ALTER TABLE t ADD COLUMN g int"
        ),
        0
    );
    assert_eq!(
        hits_with(
            PG,
            "index.total-number-limit",
            r#"{"number":1}"#,
            "CREATE TABLE t (a int PRIMARY KEY, b int); CREATE INDEX i ON t (b)"
        ),
        1
    );
}
