//! Tests of the statement rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn select_rules() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "statement.select.no-select-all",
                "SELECT * FROM t WHERE a = 1"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.select.no-select-all",
                "SELECT t.* FROM t WHERE a = 1"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.select.no-select-all",
                "SELECT a FROM t WHERE a = 1"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "statement.select.no-select-all",
                "INSERT INTO u (a) SELECT * FROM t WHERE a = 1"
            ),
            1
        );
        assert_eq!(
            hits(e, "statement.where.require-select", "SELECT a FROM t"),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.where.require.select",
                "SELECT a FROM t WHERE a = 1"
            ),
            0
        );
        assert_eq!(hits(e, "statement.where.require-select", "SELECT 1"), 0);
        assert_eq!(
            hits(
                e,
                "statement.where.no-leading-wildcard-like",
                "SELECT a FROM t WHERE a LIKE '%x'"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.where.no-leading-wildcard-like",
                "SELECT a FROM t WHERE a LIKE 'x%'"
            ),
            0
        );
    }
}

#[test]
fn update_delete_rules() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "statement.where.require-update-delete",
                "UPDATE t SET a = 1"
            ),
            1
        );
        assert_eq!(
            hits(e, "statement.where.require-update-delete", "DELETE FROM t"),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.where.require.update-delete",
                "DELETE FROM t WHERE id = 1"
            ),
            0
        );
    }
    assert_eq!(
        hits(
            MY,
            "statement.disallow-limit",
            "DELETE FROM t WHERE a = 1 LIMIT 10"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "statement.disallow-limit",
            "UPDATE t SET a = 1 WHERE a = 2 LIMIT 10"
        ),
        1
    );
    assert_eq!(
        hits(MY, "statement.disallow-limit", "DELETE FROM t WHERE a = 1"),
        0
    );
    assert_eq!(
        hits(
            MY,
            "statement.disallow-order-by",
            "DELETE FROM t WHERE a = 1 ORDER BY id LIMIT 1"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "statement.disallow-order-by",
            "DELETE FROM t WHERE a = 1"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "statement.where-no-equal-null",
            "SELECT a FROM t WHERE a = NULL"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "statement.where.no-equal-null",
            "SELECT a FROM t WHERE a IS NULL"
        ),
        0
    );
}

#[test]
fn logical_operator_count() {
    let r = "statement.where-maximum-logical-operator-count";
    assert_eq!(
        hits(
            MY,
            r,
            "SELECT a FROM t WHERE a IN (1,2,3,4,5,6,7,8,9,10,11)"
        ),
        1
    );
    assert_eq!(hits(MY, r, "SELECT a FROM t WHERE a IN (1,2,3)"), 0);
    assert_eq!(
        hits_with(
            MY,
            r,
            r#"{"number":2}"#,
            "SELECT a FROM t WHERE a IN (1,2,3)"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            r,
            r#"{"number":2}"#,
            "DELETE FROM t WHERE a = 1 OR a = 2 OR a = 3"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            r,
            r#"{"number":3}"#,
            "DELETE FROM t WHERE a = 1 OR a = 2 OR a = 3"
        ),
        0
    );
}

#[test]
fn truncate_commit_cascade() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(e, "statement.disallow-truncate", "TRUNCATE TABLE t"),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.disallow-truncate",
                "DELETE FROM t WHERE a = 1"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "statement.disallow-commit",
                "BEGIN; UPDATE t SET a = 1 WHERE b = 2; COMMIT"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.disallow-commit",
                "UPDATE t SET a = 1 WHERE b = 2"
            ),
            0
        );
    }
    assert_eq!(
        hits(
            PG,
            "statement.disallow-rm-tbl-cascade",
            "DROP TABLE t CASCADE"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.disallow-rm-tbl-cascade",
            "TRUNCATE t CASCADE"
        ),
        1
    );
    assert_eq!(
        hits(PG, "statement.disallow-rm-tbl-cascade", "DROP TABLE t"),
        0
    );
    assert_eq!(
        hits(
            MY,
            "statement.disallow-rm-tbl-cascade",
            "DROP TABLE t CASCADE"
        ),
        0
    );
    let fk = "CREATE TABLE t (id int PRIMARY KEY, u int REFERENCES u(id) ON DELETE CASCADE)";
    assert_eq!(hits(PG, "statement.disallow-on-del-cascade", fk), 1);
    assert_eq!(
        hits(
            PG,
            "statement.disallow-on-del-cascade",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u(id) ON DELETE CASCADE"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.disallow-on-del-cascade",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u(id) ON DELETE RESTRICT"
        ),
        0
    );
}

#[test]
fn insert_rules() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "statement.insert.must-specify-column",
                "INSERT INTO t VALUES (1)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.insert.must-specify-column",
                "INSERT INTO t (a) VALUES (1)"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "statement.insert.disallow-order-by-rand",
                "INSERT INTO t (a) SELECT a FROM u WHERE a > 1 ORDER BY RAND()"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.insert.disallow-order-by-rand",
                "INSERT INTO t (a) SELECT a FROM u WHERE a > 1 ORDER BY a"
            ),
            0
        );
        assert_eq!(
            hits_with(
                e,
                "statement.insert.row-limit",
                r#"{"number":2}"#,
                "INSERT INTO t (a) VALUES (1), (2), (3)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "statement.insert.row-limit",
                "INSERT INTO t (a) VALUES (1), (2), (3)"
            ),
            0
        );
    }
}

#[test]
fn postgres_online_ddl() {
    assert_eq!(
        hits(
            PG,
            "statement.disallow-add-column-with-default",
            "ALTER TABLE t ADD COLUMN c int DEFAULT 0"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.disallow-add-column-with-default",
            "ALTER TABLE t ADD COLUMN c int"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "statement.disallow-add-column-with-default",
            "ALTER TABLE t ADD COLUMN c int DEFAULT 0"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "statement.add-check-not-valid",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.add-check-not-valid",
            "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "statement.add-check-not-valid",
            "CREATE TABLE t (id int PRIMARY KEY, a int); ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)"
        ),
        0,
        "a table created by the script holds no rows"
    );
    assert_eq!(
        hits(
            PG,
            "statement.add-foreign-key-not-valid",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u(id)"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.add-foreign-key-not-valid",
            "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u(id) NOT VALID"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "statement.add-foreign-key-not-valid",
            "CREATE TABLE t (id int PRIMARY KEY, u int); \
             ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u(id)"
        ),
        1,
        "the referenced table is locked while rows are checked, as Bytebase reports it"
    );
    assert_eq!(
        hits(
            PG,
            "statement.disallow-add-not-null",
            "ALTER TABLE t ALTER COLUMN a SET NOT NULL"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.disallow-add-not-null",
            "ALTER TABLE t ALTER COLUMN a DROP NOT NULL"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "statement.create-specify-schema",
            "CREATE TABLE t (a int)"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.create-specify-schema",
            "CREATE TABLE public.t (a int)"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "statement.non-transactional",
            "CREATE INDEX CONCURRENTLY i ON t (a)"
        ),
        1
    );
    assert_eq!(
        hits(PG, "statement.non-transactional", "CREATE INDEX i ON t (a)"),
        0
    );
    assert_eq!(hits(PG, "statement.non-transactional", "VACUUM t"), 1);
}

#[test]
fn set_role_transactions_and_execution_time() {
    assert_eq!(
        hits(
            PG,
            "statement.check-set-role-variable",
            "CREATE TABLE t (a int); SELECT 1"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "statement.check-set-role-variable",
            "SET ROLE owner; CREATE TABLE t (a int)"
        ),
        0
    );
    let r = "statement.maximum-statements-in-transaction";
    let txn = "BEGIN; INSERT INTO t (a) VALUES (1); INSERT INTO t (a) VALUES (2); INSERT INTO t (a) VALUES (3); COMMIT;";
    assert_eq!(hits_with(MY, r, r#"{"number":2}"#, txn), 1);
    assert_eq!(hits_with(MY, r, r#"{"number":3}"#, txn), 0);
    assert_eq!(
        hits(
            MY,
            "statement.max-execution-time",
            "SELECT a FROM t WHERE a = 1"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "statement.max-execution-time",
            "SET SESSION max_execution_time = 3000; SELECT a FROM t WHERE a = 1"
        ),
        0
    );
    // Setting it after a statement has run does not bound that statement: reported there.
    let late = run(
        MY,
        "statement.max-execution-time",
        None,
        None,
        "UPDATE t SET a = 2 WHERE a = 1;\nSET SESSION max_execution_time = 3000;\nSELECT a FROM t",
    );
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!((late[0].statement, late[0].line), (0, 1));
    // A script of settings only runs nothing the limit would bound.
    assert_eq!(
        hits(MY, "statement.max-execution-time", "SET NAMES utf8mb4"),
        0
    );
}

#[test]
fn where_functions_on_indexed_columns() {
    let r = "statement.where-disallow-functions-and-calculations";
    let schema = "CREATE TABLE t (id int PRIMARY KEY, created date, note text); CREATE INDEX idx_created ON t (created);";
    for e in [PG, MY, SL] {
        assert_eq!(
            hits_on(e, r, schema, "SELECT id FROM t WHERE YEAR(created) = 2024"),
            1
        );
        assert_eq!(hits_on(e, r, schema, "DELETE FROM t WHERE id + 1 = 3"), 1);
        assert_eq!(
            hits_on(
                e,
                r,
                schema,
                "SELECT id FROM t WHERE created = '2024-01-01'"
            ),
            0
        );
        assert_eq!(
            hits_on(e, r, schema, "SELECT id FROM t WHERE LOWER(note) = 'x'"),
            0
        );
        assert_eq!(
            hits(
                e,
                "statement.where.disallow-functions-and-calculations",
                "SELECT id FROM t WHERE YEAR(created) = 2024"
            ),
            0
        );
    }
}

#[test]
fn mysql_alter_options() {
    assert_eq!(
        hits(
            MY,
            "statement.require-algorithm-option",
            "ALTER TABLE t ADD COLUMN c int"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "statement.require-algorithm-option",
            "ALTER TABLE t ADD COLUMN c int, ALGORITHM=INPLACE"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "statement.require-lock-option",
            "ALTER TABLE t ADD COLUMN c int"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "statement.require-lock-option",
            "ALTER TABLE t ADD COLUMN c int, LOCK=NONE"
        ),
        0
    );
}

#[test]
fn merge_alter_table() {
    for e in [PG, MY, SL] {
        let r = "statement.merge-alter-table";
        assert_eq!(
            hits(
                e,
                r,
                "ALTER TABLE t ADD COLUMN a int; ALTER TABLE t ADD COLUMN b int; ALTER TABLE t ADD COLUMN c int"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                r,
                "CREATE TABLE t (id int); ALTER TABLE t ADD COLUMN b int"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                r,
                "ALTER TABLE t ADD COLUMN a int; ALTER TABLE u ADD COLUMN b int"
            ),
            0
        );
    }
}

#[test]
fn mix_in_ddl_and_dml_follow_the_declared_change_type() {
    use crate::review::{ChangeType, Policy, review};
    let sql = "ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = 1;\nSELECT 1;";
    let count = |change: Option<ChangeType>, rule: &str| {
        let mut policy =
            Policy::from_yaml(&format!("ruleList:\n  - type: {rule}\n    level: ERROR\n")).unwrap();
        policy.set_change_type(change);
        let r = review(sql, PG, &policy, None);
        r.findings
            .iter()
            .filter(|f| f.rule != "statement.syntax")
            .map(|f| (f.rule.clone(), f.line))
            .collect::<Vec<_>>()
    };
    let ddl = "statement.disallow-mix-in-ddl";
    let dml = "statement.disallow-mix-in-dml";
    assert_eq!(count(Some(ChangeType::Ddl), ddl), vec![(ddl.to_owned(), 2)]);
    assert_eq!(count(Some(ChangeType::Dml), dml), vec![(dml.to_owned(), 1)]);
    // Undeclared, neither rule has anything to judge by; SELECT is neither DDL nor DML.
    assert!(count(None, ddl).is_empty() && count(None, dml).is_empty());
    // The prior-backup check refuses DDL in a data change (the backup covers DML only).
    let backup = "builtin.prior-backup-check";
    assert_eq!(
        count(Some(ChangeType::Dml), backup),
        vec![(backup.to_owned(), 1)]
    );
    assert!(count(Some(ChangeType::Ddl), backup).is_empty());
    let p = Policy::from_yaml("changeType: DML\nrules: {}\n").unwrap();
    assert_eq!(p.change_type(), Some(ChangeType::Dml));
    assert!(Policy::from_yaml("changeType: both\nrules: {}\n").is_err());
}

#[test]
fn prior_backup_refuses_update_and_delete_of_one_table() {
    use crate::review::{ChangeType, Policy, review};
    let mut policy =
        Policy::from_yaml("ruleList:\n  - type: BUILTIN_PRIOR_BACKUP_CHECK\n    level: ERROR\n")
            .unwrap();
    policy.set_change_type(Some(ChangeType::Dml));
    let lines = |sql: &str, policy: &Policy| {
        review(sql, crate::review::Engine::Mysql, policy, None)
            .findings
            .iter()
            .filter(|f| f.rule == "builtin.prior-backup-check")
            .map(|f| f.line)
            .collect::<Vec<_>>()
    };
    // The second kind on the same table, once; other tables and one kind are fine.
    assert_eq!(
        lines(
            "UPDATE orders SET a = 1 WHERE id = 1;\nUPDATE items SET a = 1 WHERE id = 1;\nDELETE FROM orders WHERE id = 2;\nDELETE FROM orders WHERE id = 3;",
            &policy
        ),
        [3]
    );
    assert!(
        lines(
            "UPDATE t SET a = 1 WHERE id = 1;\nUPDATE t SET a = 2 WHERE id = 2;",
            &policy
        )
        .is_empty()
    );
    // Not a backed-up data change: not judged.
    policy.set_change_type(None);
    assert!(
        lines(
            "UPDATE t SET a = 1 WHERE id = 1;\nDELETE FROM t WHERE id = 2;",
            &policy
        )
        .is_empty()
    );
}
