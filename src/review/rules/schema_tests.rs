//! Tests of the schema rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn backward_compatibility() {
    let r = "schema.backward-compatibility";
    for e in [PG, MY, SL] {
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

#[test]
fn walk_through_check() {
    let r = "builtin.walk-through-check";
    for e in [PG, MY, SL] {
        // Duplicates inside the script are always found.
        assert_eq!(
            hits(e, r, "CREATE TABLE t (a int); CREATE TABLE t (a int)"),
            1
        );
        assert_eq!(
            hits(
                e,
                r,
                "CREATE TABLE t (a int); CREATE TABLE IF NOT EXISTS t (a int)"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                r,
                "CREATE TABLE t (a int); ALTER TABLE t ADD COLUMN a int"
            ),
            1
        );
        // Unknown objects only with the database's schema.
        assert_eq!(hits(e, r, "ALTER TABLE missing ADD COLUMN a int"), 0);
        let schema = "CREATE TABLE t (a int);";
        assert_eq!(
            hits_on(e, r, schema, "ALTER TABLE missing ADD COLUMN a int"),
            1
        );
        assert_eq!(hits_on(e, r, schema, "ALTER TABLE t DROP COLUMN nope"), 1);
        assert_eq!(
            hits_on(
                e,
                r,
                schema,
                "ALTER TABLE t ADD COLUMN b int; ALTER TABLE t DROP COLUMN b"
            ),
            0
        );
        assert_eq!(hits_on(e, r, schema, "DROP TABLE IF EXISTS missing"), 0);
    }
    assert_eq!(
        hits_on(
            PG,
            r,
            "CREATE TABLE t (a int); CREATE INDEX i ON t (a);",
            "CREATE INDEX i ON t (a)"
        ),
        1
    );
    assert_eq!(hits_on(PG, r, "CREATE TABLE t (a int);", "DROP INDEX i"), 1);
}

#[test]
fn live_connection_rules_are_listed_not_evaluated() {
    let p = crate::review::Policy::preset("strict").unwrap();
    let skipped = p.offline_skipped_rules(PG);
    assert!(skipped.contains(&"statement.dml-dry-run"), "{skipped:?}");
    assert!(skipped.contains(&"statement.affected-row-limit"));
    assert!(!skipped.contains(&"table.require-pk"));
}
