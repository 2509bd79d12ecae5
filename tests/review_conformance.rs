//! Conformance with Bytebase's SQL review semantics, rule by rule: each case runs one rule (as a
//! Bytebase `ruleList` policy would) against a small schema and lists the lines Bytebase's
//! advisor reports. The cases are written here from Bytebase's documented behaviour; the
//! agreement with Bytebase's own test files is measured by `examples/bytebase_agreement.rs`
//! (see docs/review-agreement.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemagate::review::{Catalog, ChangeType, Engine, Policy, review};

use Engine::{Mysql as MY, Postgres as PG};

/// The schema every case starts from: `book` with a composite primary key and two indexes,
/// `orders` with an indexed `customer`.
fn schema(engine: Engine) -> Catalog {
    let ddl = match engine {
        Engine::Mysql => {
            "CREATE TABLE book (id int, title varchar(100), author varchar(100),
               PRIMARY KEY (id, title), UNIQUE KEY uk_book (id, title), KEY ix_book (id, title));
             CREATE TABLE orders (order_id int, customer varchar(50), total decimal(10,2),
               PRIMARY KEY (order_id), KEY ix_customer (customer));"
        }
        _ => {
            "CREATE TABLE public.book (id integer, title text, author text,
               CONSTRAINT book_pk PRIMARY KEY (id, title), CONSTRAINT uk_book UNIQUE (id, title));
             CREATE INDEX ix_book ON public.book (id, title);
             CREATE TABLE public.orders (order_id integer, customer text, total numeric,
               CONSTRAINT orders_pkey PRIMARY KEY (order_id));
             CREATE INDEX ix_customer ON public.orders (customer);"
        }
    };
    Catalog::from_ddl(engine, ddl).unwrap()
}

struct Case {
    engine: Engine,
    rule: &'static str,
    payload: &'static str,
    sql: &'static str,
    /// Lines of the findings Bytebase reports, in order.
    lines: &'static [usize],
}

const fn c(engine: Engine, rule: &'static str, sql: &'static str, lines: &'static [usize]) -> Case {
    Case {
        engine,
        rule,
        payload: "",
        sql,
        lines,
    }
}

const fn p(
    engine: Engine,
    rule: &'static str,
    payload: &'static str,
    sql: &'static str,
    lines: &'static [usize],
) -> Case {
    Case {
        engine,
        rule,
        payload,
        sql,
        lines,
    }
}

const WHERE_CALC: &str = "STATEMENT_WHERE_DISALLOW_FUNCTIONS_AND_CALCULATIONS";

const CASES: &[Case] = &[
    // Findings about a column or a key point at its line inside the statement.
    c(
        MY,
        "column.type-disallow-list",
        "CREATE TABLE t (\n  id int,\n  doc json,\n  INDEX (id, id)\n)",
        &[3],
    ),
    c(
        MY,
        "index.no-duplicate-column",
        "CREATE TABLE t (\n  id int,\n  doc json,\n  INDEX (id, id)\n)",
        &[4],
    ),
    // A function or arithmetic on an indexed column (any column of any index) in a filter.
    c(
        PG,
        WHERE_CALC,
        "SELECT id FROM book WHERE lower(author) = 'x'",
        &[],
    ),
    c(
        PG,
        WHERE_CALC,
        "SELECT id FROM book WHERE lower(title) = 'x'",
        &[1],
    ),
    c(
        MY,
        WHERE_CALC,
        "SELECT id FROM book WHERE id * 2 > 4 AND upper(title) = 'X'",
        &[1, 1],
    ),
    c(PG, WHERE_CALC, "SELECT id FROM book WHERE -id < 0", &[1]),
    c(
        PG,
        WHERE_CALC,
        "SELECT id\nFROM book b\nJOIN orders o ON b.id + 1 = o.order_id",
        &[3],
    ),
    c(
        PG,
        WHERE_CALC,
        "DELETE FROM orders WHERE abs(order_id) = 3",
        &[1],
    ),
    c(
        PG,
        WHERE_CALC,
        "UPDATE orders SET total = 0\nWHERE customer = 'a'\n  AND upper(customer) = 'A'",
        &[3],
    ),
    c(
        PG,
        WHERE_CALC,
        "CREATE VIEW v AS SELECT id FROM book WHERE upper(title) = 'T'",
        &[1],
    ),
    c(
        PG,
        WHERE_CALC,
        "SELECT 1 FROM orders WHERE order_id IN (SELECT id FROM book WHERE id + 0 = 1)",
        &[1],
    ),
    // Names a CTE, a derived table or an unknown qualifier hides are not guessed at.
    c(
        PG,
        WHERE_CALC,
        "WITH orders AS (SELECT 1 AS customer) SELECT * FROM orders WHERE upper(customer) = 'X'",
        &[],
    ),
    c(
        PG,
        WHERE_CALC,
        "SELECT * FROM (SELECT order_id AS id FROM orders) d WHERE abs(id) > 0",
        &[],
    ),
    c(
        MY,
        WHERE_CALC,
        "SELECT * FROM book WHERE abs(other.id) > 0",
        &[],
    ),
    c(
        MY,
        WHERE_CALC,
        "SELECT * FROM otherdb.book WHERE abs(id) > 0",
        &[],
    ),
    // Primary keys are judged at the end of the script.
    c(
        PG,
        "table.require-pk",
        "CREATE TABLE t (id int);\nALTER TABLE t ADD PRIMARY KEY (id);",
        &[],
    ),
    c(
        PG,
        "table.require-pk",
        "CREATE TABLE t (id int);\nCREATE TABLE u (id int PRIMARY KEY);",
        &[1],
    ),
    c(
        MY,
        "table.require-pk",
        "CREATE TABLE t (id int);\nDROP TABLE t;",
        &[],
    ),
    c(
        MY,
        "table.require-pk",
        "CREATE TABLE t (id int PRIMARY KEY);\nALTER TABLE t DROP PRIMARY KEY;",
        &[2],
    ),
    c(
        MY,
        "table.require-pk",
        "ALTER TABLE book DROP COLUMN id;",
        &[],
    ),
    c(
        PG,
        "table.require-pk",
        "ALTER TABLE book DROP COLUMN id;",
        &[1],
    ),
    c(
        MY,
        "table.require-pk",
        "CREATE TABLE t (id int);\nALTER TABLE t MODIFY COLUMN id int PRIMARY KEY;",
        &[],
    ),
    // Required columns likewise.
    p(
        MY,
        "column.required",
        r#"{"list": ["id", "created_ts"]}"#,
        "CREATE TABLE t (id int);\nALTER TABLE t ADD COLUMN created_ts int;",
        &[],
    ),
    p(
        MY,
        "column.required",
        r#"{"list": ["id", "created_ts"]}"#,
        "CREATE TABLE t (id int, created_ts int);\nALTER TABLE t CHANGE COLUMN created_ts made int;",
        &[2],
    ),
    // Naming: PostgreSQL folds unquoted names; renames are checked with the rule of their kind.
    c(PG, "naming.table", "CREATE TABLE BookShelf (id int)", &[]),
    c(
        PG,
        "naming.table",
        "CREATE TABLE \"BookShelf\" (id int)",
        &[1],
    ),
    c(MY, "naming.table", "RENAME TABLE book TO BookShelf", &[1]),
    c(
        PG,
        "naming.index.idx",
        "ALTER INDEX ix_book RENAME TO idx_book",
        &[1],
    ),
    c(
        PG,
        "naming.index.idx",
        "ALTER INDEX ix_book RENAME TO idx_book_id_title",
        &[],
    ),
    c(
        MY,
        "naming.index.uk",
        "ALTER TABLE book RENAME INDEX uk_book TO unique_book",
        &[1],
    ),
    c(
        PG,
        "naming.index.pk",
        "ALTER TABLE book RENAME CONSTRAINT book_pk TO pk_book",
        &[1],
    ),
    // Keywords as identifiers: every MySQL keyword, reserved or not, at the column's line;
    // `reservedOnly` (what schemagate's presets set) keeps the reserved ones.
    c(
        MY,
        "naming.identifier-no-keyword",
        "CREATE TABLE shelf (\n  id int,\n  `status` int,\n  name varchar(10)\n)",
        &[3, 4],
    ),
    p(
        MY,
        "naming.identifier-no-keyword",
        r#"{"reservedOnly": true}"#,
        "CREATE TABLE shelf (\n  id int,\n  `status` int,\n  `interval` int\n)",
        &[4],
    ),
    c(
        MY,
        "naming.identifier-no-keyword",
        "ALTER TABLE book RENAME COLUMN author TO `comment`",
        &[1],
    ),
    // A foreign key added with validation, even to a table the script created.
    c(
        PG,
        "statement.add-foreign-key-not-valid",
        "CREATE TABLE shelf (id int PRIMARY KEY, book_id int);\n\
         ALTER TABLE shelf ADD CONSTRAINT shelf_book FOREIGN KEY (book_id) REFERENCES book (id);",
        &[2],
    ),
    // Format and length are two findings.
    c(
        MY,
        "naming.index.idx",
        "CREATE INDEX abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcde ON book (id)",
        &[1, 1],
    ),
    // Index rules on keys added by column definitions and on prefix key parts.
    c(
        MY,
        "index.pk-type-limit",
        "CREATE TABLE t (a int);\nALTER TABLE t ADD COLUMN id varchar(5) PRIMARY KEY;",
        &[2],
    ),
    c(
        MY,
        "index.type-no-blob",
        "CREATE TABLE t (b blob, id int, INDEX (b(10), id))",
        &[1],
    ),
    c(
        MY,
        "index.key-number-limit",
        "CREATE TABLE t (a int, b int, FOREIGN KEY (a, b, a, b, a, b) REFERENCES u (a, b, a, b, a, b))",
        &[1],
    ),
    c(
        PG,
        "index.total-number-limit",
        "CREATE INDEX i1 ON book (id);\nCREATE INDEX i2 ON book (id);\nCREATE INDEX i3 ON book (id);",
        &[3],
    ),
    c(
        MY,
        "table.no-redundant-index",
        "CREATE TABLE t (a int, INDEX (a), UNIQUE (a))",
        &[],
    ),
    c(
        MY,
        "table.no-redundant-index",
        "ALTER TABLE orders ADD INDEX ix_again (customer)",
        &[1],
    ),
    // Statements sqlparser cannot read are still understood and checked.
    c(
        MY,
        "table.disallow-partition",
        "CREATE TABLE t (a int) PARTITION BY HASH (a) PARTITIONS 4",
        &[1],
    ),
    c(
        MY,
        "statement.disallow-truncate",
        "ALTER TABLE orders TRUNCATE PARTITION p1, p2",
        &[1, 1],
    ),
    c(
        MY,
        "engine.mysql.use-innodb",
        "ALTER TABLE orders ENGINE = MyISAM, COMMENT 'x'",
        &[1],
    ),
    c(
        MY,
        "system.charset-allowlist",
        "ALTER TABLE orders CONVERT TO CHARACTER SET latin1",
        &[1],
    ),
    c(
        MY,
        "column.disallow-set-charset",
        "ALTER TABLE orders ADD COLUMN (a varchar(5) CHARSET ascii, b int)",
        &[1],
    ),
    c(
        MY,
        "index.type-allow-list",
        "CREATE FULLTEXT INDEX ft ON book (title)",
        &[1],
    ),
    c(
        MY,
        "system.procedure-disallow-create",
        "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND",
        &[1],
    ),
    c(PG, "statement.syntax", "DO $$ BEGIN PERFORM 1; END $$", &[]),
    c(
        MY,
        "statement.syntax",
        "CREATE TABLE t (a int,, b int)",
        &[1],
    ),
    // One finding per truncated table, at its line.
    c(
        PG,
        "statement.disallow-truncate",
        "TRUNCATE TABLE a,\n  b",
        &[1, 2],
    ),
    c(
        MY,
        "statement.disallow-limit",
        "INSERT INTO orders SELECT * FROM orders LIMIT 1",
        &[1],
    ),
    c(
        MY,
        "statement.select.no-select-all",
        "SELECT * FROM a\nUNION\nSELECT * FROM b",
        &[1, 3],
    ),
    c(
        PG,
        "statement.where.no-leading-wildcard-like",
        "SELECT a FROM t WHERE a LIKE '%x' OR a LIKE '%y'",
        &[1],
    ),
    // Generated columns are computed, not auto-increment; ZEROFILL is unsigned.
    c(
        MY,
        "column.auto-increment-must-unsigned",
        "CREATE TABLE t (id int UNSIGNED AUTO_INCREMENT, x int GENERATED ALWAYS AS (id + 1) VIRTUAL)",
        &[],
    ),
    c(
        MY,
        "column.auto-increment-must-unsigned",
        "CREATE TABLE t (id int ZEROFILL AUTO_INCREMENT)",
        &[],
    ),
    c(
        MY,
        "column.current-time-count-limit",
        "CREATE TABLE t (a timestamp DEFAULT now(), b timestamp DEFAULT localtime, c timestamp DEFAULT current_timestamp)",
        &[1],
    ),
    c(PG, "schema.backward-compatibility", "DROP VIEW v", &[]),
    c(
        PG,
        "schema.backward-compatibility",
        "DROP MATERIALIZED VIEW v",
        &[1],
    ),
    c(
        PG,
        "column.disallow-change-type",
        "ALTER TABLE book ALTER COLUMN id SET DATA TYPE integer",
        &[1],
    ),
];

fn run(case: &Case, change: Option<ChangeType>) -> Vec<usize> {
    let payload = if case.payload.is_empty() {
        String::new()
    } else {
        format!("    payload: '{}'\n", case.payload)
    };
    let yaml = format!(
        "ruleList:\n  - type: {}\n    level: WARNING\n{payload}",
        case.rule
    );
    let mut policy = Policy::from_yaml(&yaml).unwrap();
    policy.set_change_type(change);
    let report = review(case.sql, case.engine, &policy, Some(&schema(case.engine)));
    let rule = schemagate::review::RuleId::lookup(case.rule)
        .unwrap()
        .name();
    report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.line)
        .collect()
}

#[test]
fn every_case_reports_what_bytebase_reports() {
    let mut failures = Vec::new();
    for case in CASES {
        let got = run(case, None);
        if got != case.lines {
            failures.push(format!(
                "{:?} {}: {:?}\n  want lines {:?}, got {:?}",
                case.engine, case.rule, case.sql, case.lines, got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mix_in_rules_follow_the_declared_change_type() {
    let sql = "ALTER TABLE orders ADD COLUMN note text;\nUPDATE orders SET note = 'x' WHERE order_id = 1;";
    let ddl = c(PG, "statement.disallow-mix-in-ddl", sql, &[]);
    let dml = c(MY, "statement.disallow-mix-in-dml", sql, &[]);
    assert_eq!(run(&ddl, Some(ChangeType::Ddl)), vec![2]);
    assert_eq!(run(&ddl, Some(ChangeType::Dml)), Vec::<usize>::new());
    assert_eq!(run(&dml, Some(ChangeType::Dml)), vec![1]);
    assert_eq!(run(&dml, None), Vec::<usize>::new());
}
