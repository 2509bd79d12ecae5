//! Tests of the table rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn require_pk() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(e, "table.require-pk", "CREATE TABLE t (a int)"),
            1,
            "{e}"
        );
        assert_eq!(
            hits(e, "table.require-pk", "CREATE TABLE t (a int PRIMARY KEY)"),
            0
        );
        assert_eq!(
            hits(
                e,
                "table.require-pk",
                "CREATE TABLE t (a int, b int, PRIMARY KEY (a, b))"
            ),
            0
        );
    }
    let schema = "CREATE TABLE t (id int, a int, CONSTRAINT t_pk PRIMARY KEY (id));";
    assert_eq!(
        hits_on(
            PG,
            "TABLE_REQUIRE_PK",
            schema,
            "ALTER TABLE t DROP CONSTRAINT t_pk"
        ),
        1
    );
    assert_eq!(
        hits_on(
            PG,
            "table.require-pk",
            schema,
            "ALTER TABLE t DROP COLUMN id"
        ),
        1
    );
    assert_eq!(
        hits_on(
            PG,
            "table.require-pk",
            schema,
            "ALTER TABLE t DROP COLUMN a"
        ),
        0
    );
    assert_eq!(
        hits_on(
            PG,
            "table.require-pk",
            schema,
            "ALTER TABLE t DROP CONSTRAINT t_pk, ADD CONSTRAINT t_pk2 PRIMARY KEY (a)"
        ),
        0
    );
    assert_eq!(
        hits(MY, "table.require-pk", "ALTER TABLE t DROP PRIMARY KEY"),
        1
    );
    // The walk-through sees the script's own tables.
    assert_eq!(
        hits(
            PG,
            "table.require-pk",
            "CREATE TABLE t (id int CONSTRAINT t_pk PRIMARY KEY); ALTER TABLE t DROP CONSTRAINT t_pk"
        ),
        1
    );
}

#[test]
fn no_foreign_key() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "table.no-foreign-key",
                "CREATE TABLE t (a int REFERENCES u(id))"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "table.no-fk",
                "CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES u(id))"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "table.no-foreign-key",
                "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u(id)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "table.no-foreign-key",
                "CREATE TABLE t (a int, UNIQUE (a))"
            ),
            0
        );
    }
}

#[test]
fn drop_naming_convention() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(e, "table.drop-naming-convention", "DROP TABLE users"),
            1
        );
        assert_eq!(
            hits(e, "table.drop-naming-convention", "DROP TABLE users_del"),
            0
        );
        assert_eq!(
            hits_with(
                e,
                "table.drop-naming-convention",
                r#"{"format":"^old_"}"#,
                "DROP TABLE old_users"
            ),
            0
        );
        assert_eq!(
            hits_with(
                e,
                "table.drop-naming-convention",
                r#"{"format":"^old_"}"#,
                "DROP TABLE users_del"
            ),
            1
        );
    }
}

#[test]
fn table_comment() {
    assert_eq!(hits(MY, "table.comment", "CREATE TABLE t (a int)"), 1);
    assert_eq!(
        hits(
            MY,
            "table.comment",
            "CREATE TABLE t (a int) COMMENT 'people'"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "table.comment",
            &format!("CREATE TABLE t (a int) COMMENT '{}'", "x".repeat(65))
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            "table.comment",
            r#"{"required":false}"#,
            "CREATE TABLE t (a int)"
        ),
        0
    );
    assert_eq!(
        hits_with(
            MY,
            "table.comment",
            r#"{"maxLength":3}"#,
            "CREATE TABLE t (a int) COMMENT 'four'"
        ),
        1
    );
    assert_eq!(hits(PG, "table.comment", "CREATE TABLE t (a int)"), 1);
    assert_eq!(
        hits(
            PG,
            "table.comment",
            "CREATE TABLE t (a int); COMMENT ON TABLE t IS 'people'"
        ),
        0
    );
    // A comment that is too long is reported where it is set; a missing one at the table.
    let f = run(
        PG,
        "table.comment",
        Some(r#"{"required":true,"maxLength":5}"#),
        None,
        "CREATE TABLE t (a int);\nCREATE TABLE u (a int);\nCOMMENT ON TABLE public.t IS 'much too long';",
    );
    let at: Vec<_> = f.iter().map(|f| (f.statement, f.line)).collect();
    assert_eq!(at, vec![(1, 2), (2, 3)], "{f:?}");
    let f = run(
        PG,
        "table.comment",
        None,
        None,
        "SELECT 1;\nCREATE TABLE t (a int);",
    );
    assert_eq!((f[0].statement, f[0].line), (1, 2));
}

#[test]
fn disallow_partition_and_trigger() {
    assert_eq!(
        hits(
            PG,
            "table.disallow-partition",
            "CREATE TABLE t (a int) PARTITION BY RANGE (a)"
        ),
        1
    );
    assert_eq!(
        hits(PG, "table.disallow-partition", "CREATE TABLE t (a int)"),
        0
    );
    // MySQL partition clauses do not parse; the text check still catches them.
    let f = crate::review::review(
        "CREATE TABLE t (a int) PARTITION BY HASH(a) PARTITIONS 4",
        MY,
        &crate::review::Policy::preset("default").unwrap(),
        None,
    );
    assert!(
        f.findings
            .iter()
            .any(|f| f.rule == "table.disallow-partition")
    );
    let f = crate::review::review(
        "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
        MY,
        &crate::review::Policy::preset("default").unwrap(),
        None,
    );
    assert!(
        f.findings
            .iter()
            .any(|f| f.rule == "table.disallow-trigger")
    );
}

#[test]
fn mysql_table_options() {
    assert_eq!(
        hits(
            MY,
            "engine.mysql.use-innodb",
            "CREATE TABLE t (a int) ENGINE=MyISAM"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "engine.mysql.use-innodb",
            "CREATE TABLE t (a int) ENGINE=InnoDB"
        ),
        0
    );
    assert_eq!(
        hits(PG, "engine.mysql.use-innodb", "CREATE TABLE t (a int)"),
        0
    );
    // Changing the session's default engine is reported too.
    let r = "engine.mysql.use-innodb";
    assert_eq!(hits(MY, r, "SET default_storage_engine = MyISAM"), 1);
    assert_eq!(
        hits(MY, r, "SET SESSION default_storage_engine = 'MEMORY'"),
        1
    );
    assert_eq!(hits(MY, r, "SET default_storage_engine = InnoDB"), 0);
    assert_eq!(hits(MY, r, "SET sql_mode = 'ANSI'"), 0);
    assert_eq!(
        hits(
            MY,
            "table.disallow-set-charset",
            "CREATE TABLE t (a int) DEFAULT CHARSET=utf8mb4"
        ),
        1
    );
    assert_eq!(
        hits(MY, "table.disallow-set-charset", "CREATE TABLE t (a int)"),
        0
    );
    assert_eq!(
        hits(MY, "table.require-charset", "CREATE TABLE t (a int)"),
        1
    );
    assert_eq!(
        hits(
            MY,
            "table.require-charset",
            "CREATE TABLE t (a int) CHARSET=utf8mb4"
        ),
        0
    );
    assert_eq!(
        hits(MY, "table.require-collation", "CREATE TABLE t (a int)"),
        1
    );
    assert_eq!(
        hits(
            MY,
            "table.require-collation",
            "CREATE TABLE t (a int) COLLATE=utf8mb4_bin"
        ),
        0
    );
}

#[test]
fn text_fields_total_length() {
    assert_eq!(
        hits(
            MY,
            "table.text-fields-total-length",
            "CREATE TABLE t (a varchar(600), b char(500))"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "table.text-fields-total-length",
            "CREATE TABLE t (a varchar(600), b int)"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "table.text-fields-total-length",
            "CREATE TABLE t (a text)"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            "table.text-fields-total-length",
            r#"{"number":100000}"#,
            "CREATE TABLE t (a text)"
        ),
        0
    );
}

#[test]
fn disallow_ddl_and_dml_lists() {
    let p = r#"{"list":["audit"]}"#;
    assert_eq!(
        hits_with(
            MY,
            "table.disallow-ddl",
            p,
            "ALTER TABLE audit ADD COLUMN x int"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            "table.disallow-ddl",
            p,
            "ALTER TABLE other ADD COLUMN x int"
        ),
        0
    );
    assert_eq!(
        hits_with(
            MY,
            "table.disallow-dml",
            p,
            "DELETE FROM audit WHERE id = 1"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            "table.disallow-dml",
            p,
            "INSERT INTO audit (a) VALUES (1)"
        ),
        1
    );
    assert_eq!(
        hits_with(
            MY,
            "table.disallow-dml",
            p,
            "UPDATE other SET a = 1 WHERE id = 1"
        ),
        0
    );
}

#[test]
fn table_size_needs_row_counts() {
    use crate::review::catalog::{Catalog, Table};
    use crate::review::{Engine, Policy, review};
    let mut catalog = Catalog::new(Engine::Mysql);
    catalog.insert_table(
        None,
        Table {
            name: "big".into(),
            rows: Some(200_000_000),
            ..Table::default()
        },
    );
    catalog.insert_table(
        None,
        Table {
            name: "small".into(),
            rows: Some(10),
            ..Table::default()
        },
    );
    let policy = Policy::preset("strict").unwrap();
    let rules = |sql: &str| -> Vec<String> {
        review(sql, Engine::Mysql, &policy, Some(&catalog))
            .findings
            .into_iter()
            .map(|f| f.rule)
            .collect()
    };
    let big = rules("ALTER TABLE big ADD COLUMN c int");
    assert!(big.contains(&"table.limit-size".to_owned()), "{big:?}");
    assert!(big.contains(&"advice.online-migration".to_owned()));
    let small = rules("ALTER TABLE small ADD COLUMN c int");
    assert!(!small.contains(&"table.limit-size".to_owned()));
    assert!(!small.contains(&"advice.online-migration".to_owned()));
}

#[test]
fn redundant_index() {
    let schema = "CREATE TABLE t (id int PRIMARY KEY, a int, b int, KEY idx_a (a));";
    assert_eq!(
        hits_on(
            MY,
            "table.no-redundant-index",
            schema,
            "CREATE INDEX idx_a2 ON t (a)"
        ),
        1
    );
    assert_eq!(
        hits_on(
            MY,
            "TABLE_NO_DUPLICATE_INDEX",
            schema,
            "CREATE INDEX idx_b ON t (b)"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "table.no-redundant-index",
            "CREATE TABLE u (a int, KEY x (a), KEY y (a))"
        ),
        1
    );
    let r = "table.no-redundant-index";
    // Indexes an earlier statement of the script defined count, even where the catalog could
    // not take the table (here `t` already exists in the schema, with other columns).
    let f = run(
        MY,
        r,
        None,
        Some(schema),
        "CREATE TABLE t (k int, v int, KEY by_k (k));\nALTER TABLE t ADD INDEX by_k_again (k);",
    );
    assert_eq!(
        f.iter().map(|f| (f.statement, f.line)).collect::<Vec<_>>(),
        vec![(1, 2)]
    );
    // An index of another type on the same columns is not redundant.
    let sql = "CREATE TABLE w (k int);\nCREATE INDEX k_tree USING BTREE ON w (k);\nCREATE INDEX k_hash USING HASH ON w (k);";
    assert_eq!(hits(MY, r, sql), 0);
    let sql =
        "CREATE TABLE w (k int);\nCREATE INDEX k1 ON w (k);\nCREATE INDEX k2 USING BTREE ON w (k);";
    assert_eq!(hits(MY, r, sql), 1);
}
