use sqlparser::parser::Parser;
use sqlparser::tokenizer::Tokenizer;

use super::super::Engine;
use super::super::parse::dialect;
use super::*;

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::Mysql, Engine::Sqlite];

fn tokens(engine: Engine, sql: &str) -> Vec<TokenWithSpan> {
    Tokenizer::new(dialect(engine), sql)
        .tokenize_with_location()
        .unwrap()
}

/// sqlparser's own tree for `sql`, spans and all (Debug prints them; `==` ignores them).
fn full(engine: Engine, sql: &str) -> String {
    let stmts = Parser::new(dialect(engine))
        .try_with_sql(sql)
        .unwrap()
        .parse_statements()
        .unwrap();
    assert_eq!(stmts.len(), 1, "{sql}");
    format!("{:#?}", stmts[0])
}

fn rows(n: usize, row: &str) -> String {
    vec![row; n].join(",\n  ")
}

/// `INSERT INTO t VALUES (1), (1), (1), (1)` followed by `tail`.
fn four_then(tail: &str) -> String {
    format!("INSERT INTO t VALUES {}{tail}", rows(4, "(1)"))
}

#[test]
fn literal_rows_give_the_parsers_own_tree() {
    let cases = [
        format!("INSERT INTO t (a, b) VALUES {}", rows(5, "(1, 'x')")),
        "INSERT INTO s.t (a, b, c, d) VALUES (1, 'it''s', NULL, -2),\n  (2.5, '', null, -0.5),\n  (1e3, 'a\nb', NULL, -7), (0, 'z', NULL, 3);".to_owned(),
        format!("insert into t values {} ;  ", rows(4, "( 42 ,'a' )")),
        "INSERT INTO t (a) VALUES (1), -- a comment\n (2), /* another */ (3), (4)\n;\n".to_owned(),
        format!("INSERT INTO t VALUES {}", rows(40, "(123456789012345678901234567890, 'long')")),
        // what the text path reads itself: strings over lines, non-ASCII, doubled quotes, case
        "  INSERT INTO t (a, b) VALUES (1, 'é'),(2,'multi\nline ''q'' ü'),\r\n\t(-3.25, NuLL)  ,  (0.5,''), (10, 'ab''')\n;\n\n".to_owned(),
        format!("INSERT INTO t (a) VALUES (1),\n{}", rows(6, "('日本語 text', -10)")),
        // a `)` before VALUES does not confuse the text path's cut
        format!("INSERT INTO t (\"a)\") VALUES {}", rows(4, "(1)")),
    ];
    for engine in ENGINES {
        for sql in &cases {
            let want = full(engine, sql);
            let fast = parse(dialect(engine), 50, tokens(engine, sql))
                .unwrap_or_else(|_| panic!("{engine:?}: fast path refused {sql}"));
            assert_eq!(format!("{fast:#?}"), want, "{engine:?}: {sql}");
            if !sql.contains("--") && !sql.contains("1e3") {
                let fast = parse_text(dialect(engine), 50, sql)
                    .unwrap_or_else(|| panic!("{engine:?}: text path refused {sql}"));
                assert_eq!(format!("{fast:#?}"), want, "{engine:?}: {sql}");
            }
        }
    }
    // MySQL reads backslash escapes and double-quoted strings its own way: still the same tree.
    let sql = format!("INSERT INTO `t` (`a`) VALUES {}", rows(4, r"('a\'b\\c\n')"));
    let fast = parse(dialect(Engine::Mysql), 50, tokens(Engine::Mysql, &sql)).unwrap();
    assert_eq!(format!("{fast:#?}"), full(Engine::Mysql, &sql));
}

#[test]
fn anything_else_goes_to_the_full_parser_unchanged() {
    let cases = [
        // too few rows to bother
        "INSERT INTO t VALUES (1), (2)".to_owned(),
        // expressions, keywords, typed literals, casts, functions, DEFAULT
        four_then(", (1 + 1)"),
        four_then(", (DEFAULT)"),
        four_then(", (DATE '2020-01-01')"),
        four_then(", (now())"),
        four_then(", (TRUE)"),
        four_then(", (- 1)"),
        four_then(", ('a' 'b')"),
        // trailing clauses
        four_then(" ON CONFLICT DO NOTHING"),
        four_then(" RETURNING a"),
        // other shapes
        format!("INSERT INTO t SELECT * FROM (VALUES {}) v", rows(4, "(1)")),
        four_then(", ()"),
        four_then(","),
        format!("UPDATE t SET a = 1 WHERE b IN {}", rows(4, "(1)")),
        "INSERT INTO t DEFAULT VALUES".to_owned(),
        // two statements
        four_then("; SELECT 1"),
        // errors stay the parser's
        format!("INSERT INTO VALUES {}", rows(4, "(1)")),
        four_then(", (1"),
    ];
    for engine in ENGINES {
        for sql in &cases {
            let toks = tokens(engine, sql);
            let back = parse(dialect(engine), 50, toks.clone());
            let back = back
                .err()
                .unwrap_or_else(|| panic!("{engine:?}: took {sql}"));
            assert_eq!(back, toks, "{engine:?}: tokens changed for {sql}");
        }
    }
    // A head sqlparser rejects: the full parse gives its error, not a statement.
    let sql = format!("INSERT INTO VALUES {}", rows(4, "(1)"));
    assert!(super::super::parse::parse(Engine::Postgres, &sql).is_err());
}

#[test]
fn the_text_path_leaves_what_it_does_not_read_to_the_tokenizer() {
    let cases = [
        four_then(", (1) -- note"),
        four_then(", /* c */ (1)"),
        four_then(r", ('a\b')"),
        four_then(", (1e3)"),
        four_then(", (1.)"),
        four_then(", (.5)"),
        four_then(", (0x1F)"),
        four_then(", (NULLIF(1, 2))"),
        four_then(", (E'x')"),
        four_then(", ('unterminated)"),
        four_then(", (1)\n(2)"),
        four_then("; INSERT INTO t VALUES (1)"),
        format!("INSERT INTO t (values_seen) VALUES {}", rows(4, "(1)")),
        format!("INSERT INTO t VALUES ('a)', 1), {}", rows(4, "('b', 1)")),
        format!("INSERT INTO t VALUES (1 + 1), {}", rows(4, "(1)")),
        "INSERT INTO t VALUES (1), (2)".to_owned(),
    ];
    for engine in ENGINES {
        for sql in &cases {
            assert!(
                parse_text(dialect(engine), 50, sql).is_none(),
                "{engine:?}: text path took {sql}"
            );
            // Whatever the slower paths make of it is what sqlparser makes of it.
            let want = Parser::new(dialect(engine))
                .try_with_sql(sql)
                .and_then(|mut p| p.parse_statements());
            let got = super::super::parse::parse(engine, sql);
            match (got, want) {
                (Ok(got), Ok(want)) => {
                    assert_eq!(
                        format!("{got:#?}"),
                        format!("{want:#?}"),
                        "{engine:?}: {sql}"
                    );
                }
                (Err(got), Err(want)) => {
                    assert_eq!(got.to_string(), want.to_string(), "{engine:?}: {sql}");
                }
                (got, want) => panic!("{engine:?}: {sql}: {got:?} vs {want:?}"),
            }
        }
    }
}

#[test]
fn a_bulk_insert_reviews_like_before() {
    // Through the public parse: the same tree as sqlparser for a seed-data statement.
    let sql = format!(
        "INSERT INTO app_user (id, name, score) VALUES\n  {}",
        rows(100, "(7, 'Ann O''Neil', -3.25)")
    );
    for engine in ENGINES {
        let got = super::super::parse::parse(engine, &sql).unwrap();
        assert_eq!(format!("{:#?}", got[0]), full(engine, &sql));
    }
}

/// Generated bulk inserts (a fixed pseudo-random sequence): every one the text path takes
/// gives sqlparser's tree, and it takes most of them.
#[test]
fn generated_bulk_inserts_match_the_parser() {
    const PIECES: [&str; 12] = [
        "0",
        "42",
        "-7",
        "3.14",
        "-0.001",
        "NULL",
        "null",
        "''",
        "'it''s'",
        "'é ü 日本'",
        "'two\nlines'",
        "'a, (b)'",
    ];
    const GAPS: [&str; 5] = ["", " ", "\n  ", "\t", " \r\n "];
    let mut seed: u64 = 7;
    let mut next = |n: usize| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        ((seed >> 33) as usize) % n
    };
    let mut taken = 0;
    for round in 0..300 {
        let engine = ENGINES[round % 3];
        let width = 1 + next(4);
        let mut sql = format!("INSERT INTO t{round} VALUES");
        for r in 0..4 + next(8) {
            sql.push_str(if r == 0 { " " } else { "," });
            sql.push_str(GAPS[next(GAPS.len())]);
            sql.push('(');
            for c in 0..width {
                if c > 0 {
                    sql.push(',');
                    sql.push_str(GAPS[next(GAPS.len())]);
                }
                sql.push_str(PIECES[next(PIECES.len())]);
            }
            sql.push(')');
        }
        if next(2) == 0 {
            sql.push(';');
        }
        sql.push_str(GAPS[next(GAPS.len())]);
        let want = full(engine, &sql);
        if let Some(fast) = parse_text(dialect(engine), 50, &sql) {
            taken += 1;
            assert_eq!(format!("{fast:#?}"), want, "{engine:?}: {sql}");
        }
        let got = super::super::parse::parse(engine, &sql).unwrap();
        assert_eq!(format!("{:#?}", got[0]), want, "{engine:?}: {sql}");
    }
    // It refuses when the first row holds a `)` in a string (`'a, (b)'`): about one in six.
    assert!(taken > 200, "the text path took only {taken} of 300");
}
