//! Tests of the schema rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn backward_compatibility() {
    let r = "schema.backward-compatibility";
    for e in [PG, MY] {
        assert_eq!(hits(e, r, "DROP TABLE t"), 1);
        assert_eq!(hits(e, r, "ALTER TABLE t DROP COLUMN a"), 1);
        assert_eq!(hits(e, r, "ALTER TABLE t RENAME COLUMN a TO b"), 1);
        assert_eq!(hits(e, r, "ALTER TABLE t RENAME TO u"), 1);
        assert_eq!(hits(e, r, "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)"), 1);
        assert_eq!(hits(e, r, "CREATE UNIQUE INDEX u ON t (a)"), 1);
        assert_eq!(hits(e, r, "ALTER TABLE t ADD COLUMN a int"), 0);
        assert_eq!(
            hits(
                e,
                r,
                "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)"
            ),
            0
        );
        assert_eq!(hits(e, r, "CREATE INDEX i ON t (a)"), 0);
    }
    assert_eq!(hits(PG, r, "ALTER TABLE t ALTER COLUMN a TYPE bigint"), 1);
    assert_eq!(
        hits(
            PG,
            r,
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"
        ),
        0
    );
    assert_eq!(hits(MY, r, "ALTER TABLE t MODIFY COLUMN a bigint"), 1);
}

#[test]
fn drop_empty_database() {
    let r = "database.drop-empty-database";
    assert_eq!(
        hits_on(MY, r, "CREATE TABLE t (a int);", "DROP DATABASE app"),
        1
    );
    assert_eq!(hits_on(MY, r, "", "DROP DATABASE app"), 0);
    assert_eq!(hits(MY, r, "DROP DATABASE app"), 0);
}
