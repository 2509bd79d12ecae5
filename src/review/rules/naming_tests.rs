//! Tests of the naming rules: statements that must and must not trigger each rule.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use crate::review::rules::testing::*;

#[test]
fn table_and_column_names() {
    for e in [PG, MY, SL] {
        // PostgreSQL folds unquoted names to lower case, so only quoted ones keep capitals.
        let q = |n: &str| {
            if e == PG {
                format!("\"{n}\"")
            } else {
                n.to_owned()
            }
        };
        assert_eq!(
            hits(e, "naming.table", "CREATE TABLE user_accounts (id int)"),
            0
        );
        assert_eq!(
            hits(
                e,
                "naming.table",
                &format!("CREATE TABLE {} (id int)", q("UserAccounts"))
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "naming.table",
                &format!("CREATE TABLE {} (id int)", "a".repeat(64))
            ),
            1
        );
        assert_eq!(
            hits_with(
                e,
                "naming.table",
                r#"{"format":"^t_[a-z]+$"}"#,
                "CREATE TABLE t_users (id int)"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "naming.table",
                &format!("ALTER TABLE a RENAME TO {}", q("BadName"))
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "naming.column",
                &format!("CREATE TABLE t (id int, {} int)", q("createdAt"))
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "naming.column",
                "CREATE TABLE t (id int, created_at int)"
            ),
            0
        );
        assert_eq!(
            hits_with(
                e,
                "naming.column",
                r#"{"maxLength":3}"#,
                "ALTER TABLE t ADD COLUMN abcd int"
            ),
            1
        );
    }
    assert_eq!(
        hits(
            PG,
            "naming.column",
            "ALTER TABLE t RENAME COLUMN a TO \"BadName\""
        ),
        1
    );
    assert_eq!(
        hits(PG, "naming.table", "CREATE TABLE UserAccounts (id int)"),
        0
    );
    // A name both malformed and too long is two findings.
    assert_eq!(
        hits(
            MY,
            "naming.table",
            &format!("CREATE TABLE {} (id int)", "A".repeat(64))
        ),
        2
    );
}

#[test]
fn index_names_with_templates() {
    for e in [PG, MY, SL] {
        assert_eq!(
            hits(
                e,
                "naming.index.idx",
                "CREATE INDEX idx_users_a_b ON users (a, b)"
            ),
            0
        );
        assert_eq!(
            hits(e, "naming.index.idx", "CREATE INDEX users_a ON users (a)"),
            1
        );
        assert_eq!(
            hits_with(
                e,
                "naming.index.idx",
                r#"{"format":"^ix_{{table}}$"}"#,
                "CREATE INDEX ix_users ON users (a)"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "naming.index.uk",
                "CREATE UNIQUE INDEX uk_users_email ON users (email)"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "naming.index.uk",
                "CREATE UNIQUE INDEX users_email ON users (email)"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "naming.index.uk",
                "CREATE TABLE users (email text, CONSTRAINT email_u UNIQUE (email))"
            ),
            1
        );
        assert_eq!(
            hits(
                e,
                "naming.index.fk",
                "ALTER TABLE o ADD CONSTRAINT fk_o_user_id_users_id FOREIGN KEY (user_id) REFERENCES users (id)"
            ),
            0
        );
        assert_eq!(
            hits(
                e,
                "naming.index.fk",
                "ALTER TABLE o ADD CONSTRAINT o_users FOREIGN KEY (user_id) REFERENCES users (id)"
            ),
            1
        );
    }
    assert_eq!(
        hits(
            MY,
            "naming.index.idx",
            "CREATE TABLE t (a int, KEY idx_t_a (a), KEY bad (a))"
        ),
        1
    );
    assert_eq!(
        hits(
            PG,
            "naming.index.pk",
            "CREATE TABLE t (a int, CONSTRAINT pk_t_a PRIMARY KEY (a))"
        ),
        0
    );
    assert_eq!(
        hits(
            PG,
            "naming.index.pk",
            "CREATE TABLE t (a int, CONSTRAINT t_pkey PRIMARY KEY (a))"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "naming.index.pk",
            "CREATE TABLE t (a int, CONSTRAINT t_pkey PRIMARY KEY (a))"
        ),
        0
    );
    // A key adopted from an existing index takes that index's columns for its name.
    let schema =
        "CREATE TABLE acct (org int, num int); CREATE UNIQUE INDEX acct_ix ON acct (org, num);";
    let adopt = |kind: &str, name: &str| {
        format!("ALTER TABLE acct ADD CONSTRAINT {name} {kind} USING INDEX acct_ix")
    };
    let (pk, uk) = ("naming.index.pk", "naming.index.uk");
    assert_eq!(
        hits_on(PG, pk, schema, &adopt("PRIMARY KEY", "pk_acct_org_num")),
        0
    );
    assert_eq!(hits_on(PG, pk, schema, &adopt("PRIMARY KEY", "pk_acct")), 1);
    assert_eq!(
        hits_on(PG, uk, schema, &adopt("UNIQUE", "uk_acct_org_num")),
        0
    );
    assert_eq!(hits_on(PG, uk, schema, &adopt("UNIQUE", "acct_uniq")), 1);
}

#[test]
fn auto_increment_and_keywords() {
    assert_eq!(
        hits(
            MY,
            "naming.auto-increment-column",
            "CREATE TABLE t (pk int AUTO_INCREMENT PRIMARY KEY)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "naming.column.auto-increment",
            "CREATE TABLE t (id int AUTO_INCREMENT PRIMARY KEY)"
        ),
        0
    );
    assert_eq!(
        hits(
            MY,
            "naming.identifier-no-keyword",
            "CREATE TABLE t (`order` int)"
        ),
        1
    );
    assert_eq!(
        hits(
            MY,
            "naming.identifier.no-keyword",
            "CREATE TABLE t (position int)"
        ),
        0
    );
    // Configured without a payload, as Bytebase configures it: every keyword, on the last part
    // of a qualified name, and on renames and index names too.
    let r = "naming.identifier-no-keyword";
    assert_eq!(
        hits(MY, r, "CREATE TABLE t (`status` int, name int, id int)"),
        2
    );
    assert_eq!(hits(MY, r, "CREATE TABLE `test`.`interval` (id int)"), 1);
    assert_eq!(hits(MY, r, "ALTER TABLE t RENAME COLUMN a TO execute"), 1);
    assert_eq!(hits(MY, r, "ALTER TABLE t RENAME TO `status`"), 1);
    assert_eq!(hits(MY, r, "CREATE INDEX `type` ON t (a)"), 1);
    assert_eq!(hits(MY, r, "CREATE TABLE master_server_id (id int)"), 0);
}

#[test]
fn presets_report_only_reserved_words_as_identifiers() {
    let findings = |sql: &str| {
        crate::review::review(
            sql,
            MY,
            &crate::review::Policy::preset("default").unwrap(),
            None,
        )
        .findings
        .into_iter()
        .filter(|f| f.rule == "naming.identifier-no-keyword")
        .count()
    };
    assert_eq!(
        findings("CREATE TABLE t (id int PRIMARY KEY, `status` int, name int)"),
        0
    );
    assert_eq!(
        findings("CREATE TABLE t (id int PRIMARY KEY, `order` int)"),
        1
    );
}

#[test]
fn fully_qualified() {
    let r = "naming.fully-qualified";
    assert_eq!(hits(PG, r, "SELECT a FROM t WHERE a = 1"), 1);
    assert_eq!(hits(PG, r, "SELECT a FROM public.t WHERE a = 1"), 0);
    assert_eq!(
        hits(PG, r, "WITH x AS (SELECT a FROM s.t) SELECT a FROM x"),
        0
    );
    assert_eq!(hits(PG, r, "CREATE INDEX i ON t (a)"), 1);
    assert_eq!(hits(MY, r, "SELECT a FROM t"), 0);
    // New sequences and the tables triggers fire on are named too.
    assert_eq!(hits(PG, r, "CREATE SEQUENCE order_no START 100"), 1);
    assert_eq!(hits(PG, r, "CREATE SEQUENCE sales.order_no"), 0);
    let trigger = |table: &str| {
        format!(
            "CREATE TRIGGER audit_ins AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION audit()"
        )
    };
    assert_eq!(hits(PG, r, &trigger("ledger")), 1);
    assert_eq!(hits(PG, r, &trigger("sales.ledger")), 0);
}
