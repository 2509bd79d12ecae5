//! Property tests of the SQL review engine: arbitrary input (random text and random mixes of
//! SQL fragments that stress quoting, comments and delimiters) never panics, and the splitter's
//! output always describes real, ordered, non-overlapping pieces of the input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use schemagate::review::split::split;
use schemagate::review::{Catalog, Engine, Policy, review};

const FRAGMENTS: &[&str] = &[
    "SELECT ",
    "* ",
    "FROM t ",
    "WHERE a = 1",
    ";",
    ";;",
    "'",
    "''",
    "\"",
    "`",
    "[",
    "]",
    "$$",
    "$tag$",
    "$1",
    "E'\\'",
    "\\",
    "--",
    "-- c\n",
    "#",
    "/*",
    "*/",
    "/* /* */",
    "\n",
    " ",
    "DELIMITER //\n",
    "DELIMITER ;\n",
    "//",
    "BEGIN ",
    "END ",
    "END IF",
    "CASE ",
    "IF(",
    "CREATE TABLE t (a int PRIMARY KEY)",
    "CREATE TRIGGER x ",
    "CREATE PROCEDURE p() ",
    "ALTER TABLE t DROP COLUMN a",
    "DROP TABLE t",
    "UPDATE t SET a = 1",
    "INSERT INTO t VALUES (1)",
    "DO $$ x $$",
    "CREATE INDEX i ON t (a)",
    "COMMENT ON TABLE t IS 'x'",
    "(",
    ")",
    "é",
    "\u{0}",
    "ON DELETE CASCADE",
    "KEY k (a)",
];

fn fragments() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..40).prop_map(|v| v.concat())
}

fn engines() -> impl Strategy<Value = Engine> {
    prop::sample::select(vec![Engine::Postgres, Engine::Mysql, Engine::Sqlite])
}

fn check_split(sql: &str, engine: Engine) {
    let mut last_end = 0;
    let mut last_line = 1;
    for (i, s) in split(sql, engine).enumerate() {
        assert_eq!(s.index, i);
        assert!(s.range.start >= last_end, "overlap at {i}");
        assert_eq!(&sql[s.range.clone()], s.text);
        assert!(!s.text.trim().is_empty());
        assert!(s.line >= last_line);
        last_end = s.range.end;
        last_line = s.line;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(sql in "\\PC{0,200}", engine in engines()) {
        check_split(&sql, engine);
        let report = review(&sql, engine, &Policy::preset("strict").unwrap(), None);
        prop_assert_eq!(report.statement_risks.len(), report.statements);
    }

    #[test]
    fn sql_fragments_never_panic(sql in fragments(), engine in engines()) {
        check_split(&sql, engine);
        let schema = Catalog::from_ddl(engine, "CREATE TABLE t (a int PRIMARY KEY, b int); CREATE INDEX i ON t (b);").unwrap();
        for preset in ["default", "strict"] {
            let report = review(&sql, engine, &Policy::preset(preset).unwrap(), Some(&schema));
            for f in &report.findings {
                prop_assert!(f.statement < report.statements.max(1));
                prop_assert!(f.line >= 1);
            }
        }
        // The catalog builder is fed the same kind of input in the operator.
        let _ = Catalog::from_ddl(engine, &sql);
    }
}
