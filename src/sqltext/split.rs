//! Statement splitter: cuts a SQL script into statements without parsing it. Knows string
//! literals, quoted identifiers, `--`/`#`/`/* */` comments (nested in PostgreSQL), PostgreSQL
//! dollar quoting, MySQL `DELIMITER` blocks and compound bodies (`BEGIN … END`), and MySQL
//! executable comments (`/*! … */`, `/*M! … */`), whose content the server runs: one that
//! starts a statement is part of it, and their content is scanned like SQL. Pure text work: it
//! must not call the parser, so it stays linear and streaming.

use std::ops::Range;

use super::Engine;
use super::lex::{self, Escapes, is_ident_byte};

/// One statement cut out of a script, without its terminating delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawStatement<'a> {
    /// 0-based position of the statement in the script.
    pub index: usize,
    /// The statement text (leading whitespace and comments removed, trailing whitespace trimmed).
    pub text: &'a str,
    /// Byte range of `text` in the script.
    pub range: Range<usize>,
    /// 1-based line where the statement starts.
    pub line: usize,
    /// 0-based column (in characters) where the statement starts.
    pub column: usize,
}

/// Iterator over the statements of a script, produced lazily so a large script is never held
/// as a list of statements.
#[derive(Debug, Clone)]
pub struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    engine: Engine,
    escapes: Escapes,
    pos: usize,
    index: usize,
    delimiter: &'a str,
    /// Lines counted up to `line_pos`.
    line: usize,
    line_pos: usize,
    line_start: usize,
}

/// Splits `sql` into statements for `engine`.
#[must_use]
pub fn split(sql: &str, engine: Engine) -> Splitter<'_> {
    split_with(sql, engine, Escapes::default_for(engine))
}

/// Splits `sql` as a server that reads backslashes in literals as `escapes` says would.
pub(crate) fn split_with(sql: &str, engine: Engine, escapes: Escapes) -> Splitter<'_> {
    Splitter {
        src: sql,
        bytes: sql.as_bytes(),
        engine,
        escapes,
        pos: 0,
        index: 0,
        delimiter: ";",
        line: 1,
        line_pos: 0,
        line_start: 0,
    }
}

/// Compound-statement tracking for bodies that contain `;` (MySQL routines without
/// `DELIMITER`, SQLite triggers, PostgreSQL `BEGIN ATOMIC` routine bodies).
#[derive(Debug, Default)]
struct Compound {
    words: u8,
    first_is_create: bool,
    candidate: bool,
    depth: u32,
    seen_begin: bool,
    after_end: bool,
    /// The previous word names an object kind (`DROP TABLE IF EXISTS`), so `IF` is a clause.
    after_object_kind: bool,
    /// PostgreSQL: the statement so far is `CREATE OR REPLACE`.
    or_replace: bool,
}

impl Compound {
    fn word(&mut self, engine: Engine, word: &[u8], before_paren: bool) {
        let is = |k: &str| word.eq_ignore_ascii_case(k.as_bytes());
        if self.words < 10 {
            self.words += 1;
            if self.words == 1 {
                self.first_is_create = is("CREATE");
            } else if self.first_is_create && !self.candidate {
                self.candidate = match engine {
                    Engine::Sqlite => is("TRIGGER"),
                    Engine::Mysql => {
                        is("TRIGGER") || is("PROCEDURE") || is("FUNCTION") || is("EVENT")
                    }
                    // SQL-standard bodies: `BEGIN ATOMIC … END` (dollar-quoted bodies are
                    // skipped as strings, so their words never get here). Only in the object
                    // kind's place, so `CREATE TABLE t (function int)` is not a routine.
                    Engine::Postgres => {
                        let routine = is("PROCEDURE") || is("FUNCTION");
                        match self.words {
                            2 => {
                                self.or_replace = is("OR");
                                routine
                            }
                            3 => {
                                self.or_replace &= is("REPLACE");
                                false
                            }
                            4 => self.or_replace && routine,
                            _ => false,
                        }
                    }
                };
            }
        }
        if !self.candidate {
            return;
        }
        let object_kind = self.after_object_kind;
        self.after_object_kind = [
            "TABLE",
            "VIEW",
            "INDEX",
            "DATABASE",
            "SCHEMA",
            "PROCEDURE",
            "FUNCTION",
            "TRIGGER",
            "EVENT",
            "USER",
            "ROLE",
            "SEQUENCE",
            "COLUMN",
            "KEY",
            "PARTITION",
            "TEMPORARY",
            "SERVER",
        ]
        .iter()
        .any(|k| is(k));
        if self.after_end {
            self.after_end = false;
            if is("IF") || is("LOOP") || is("WHILE") || is("REPEAT") || is("CASE") {
                return;
            }
        }
        if is("BEGIN") {
            self.depth += 1;
            self.seen_begin = true;
        } else if self.depth > 0
            && (is("CASE")
                || (engine == Engine::Mysql
                    && (is("LOOP")
                        || is("WHILE")
                        || is("REPEAT")
                        || (is("IF") && !before_paren && !object_kind))))
        {
            self.depth += 1;
        } else if is("END") && self.depth > 0 {
            self.depth -= 1;
            self.after_end = true;
        }
    }

    fn holds_delimiter(&self) -> bool {
        self.candidate && self.depth > 0
    }
}

impl<'a> Splitter<'a> {
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }

    /// Skips whitespace and comments between statements. An executable comment is not
    /// trivia: the server runs it, so it starts the next statement.
    fn skip_trivia(&mut self) {
        loop {
            let b = self.at(self.pos);
            if b.is_ascii_whitespace() {
                self.pos += 1;
            } else if lex::exec_marker_len(self.bytes, self.pos, self.engine).is_some() {
                return;
            } else if let Some(end) = lex::comment_end(self.bytes, self.pos, self.engine) {
                self.pos = end;
            } else {
                return;
            }
        }
    }

    /// Handles a MySQL `DELIMITER x` client command at `self.pos`; returns true if consumed.
    fn delimiter_command(&mut self) -> bool {
        const KW: &[u8] = b"DELIMITER";
        let end = self.pos + KW.len();
        let Some(word) = self.bytes.get(self.pos..end) else {
            return false;
        };
        if !word.eq_ignore_ascii_case(KW) || !matches!(self.at(end), b' ' | b'\t') {
            return false;
        }
        let line_end = lex::line_end(self.bytes, self.pos);
        let rest = self.src.get(end..line_end).unwrap_or("");
        if let Some(delim) = rest.split_whitespace().next() {
            self.delimiter = delim;
        }
        self.pos = line_end;
        true
    }

    fn locate(&mut self, at: usize) -> (usize, usize) {
        for (off, &b) in self.bytes[self.line_pos..at].iter().enumerate() {
            if b == b'\n' {
                self.line += 1;
                self.line_start = self.line_pos + off + 1;
            }
        }
        self.line_pos = at;
        let column = self
            .src
            .get(self.line_start..at)
            .map_or(0, |s| s.chars().count());
        (self.line, column)
    }

    /// Scans one statement from `start`; returns (end of text, position after delimiter).
    fn scan_statement(&self, start: usize) -> (usize, usize) {
        let delim = self.delimiter.as_bytes();
        let custom = delim != b";";
        let mysql = self.engine == Engine::Mysql;
        let pg = self.engine == Engine::Postgres;
        let mut compound = Compound::default();
        let mut in_exec = false;
        let mut i = start;
        while i < self.bytes.len() {
            let b = self.bytes[i];
            if self.bytes[i..].starts_with(delim) && !compound.holds_delimiter() {
                return (i, i + delim.len());
            }
            if let Some(len) = lex::exec_marker_len(self.bytes, i, self.engine) {
                // The server runs the content: scan it like the rest of the statement.
                in_exec = true;
                i += len;
                continue;
            }
            match b {
                b'*' if in_exec && self.at(i + 1) == b'/' => {
                    in_exec = false;
                    i += 2;
                }
                b'\'' => {
                    let backslash =
                        lex::single_quote_backslash(self.bytes, i, self.engine, self.escapes);
                    i = lex::quoted_end(self.bytes, i, b'\'', backslash);
                }
                b'"' => i = lex::quoted_end(self.bytes, i, b'"', mysql && self.escapes.double),
                b'`' if !pg => i = lex::quoted_end(self.bytes, i, b'`', false),
                b'[' if self.engine == Engine::Sqlite => {
                    i = lex::quoted_end(self.bytes, i, b']', false);
                }
                b'$' if pg => i = lex::dollar_quote(self.bytes, i).map_or(i + 1, |(_, _, e)| e),
                b'-' | b'#' | b'/' => {
                    i = lex::comment_end(self.bytes, i, self.engine).unwrap_or(i + 1);
                }
                _ if b.is_ascii_alphabetic() || b == b'_' => {
                    let w = i;
                    while i < self.bytes.len() && is_ident_byte(self.bytes[i]) {
                        i += 1;
                    }
                    if !custom {
                        let mut k = i;
                        while self.at(k).is_ascii_whitespace() {
                            k += 1;
                        }
                        compound.word(self.engine, &self.bytes[w..i], self.at(k) == b'(');
                    }
                }
                _ => i += 1,
            }
        }
        (self.bytes.len(), self.bytes.len())
    }
}

impl<'a> Iterator for Splitter<'a> {
    type Item = RawStatement<'a>;

    fn next(&mut self) -> Option<RawStatement<'a>> {
        loop {
            self.skip_trivia();
            if self.pos >= self.bytes.len() {
                return None;
            }
            if self.engine == Engine::Mysql && self.delimiter_command() {
                continue;
            }
            let start = self.pos;
            if self.bytes[start..].starts_with(self.delimiter.as_bytes()) {
                // An empty statement (`;;`).
                self.pos = start + self.delimiter.len();
                continue;
            }
            let (end, next) = self.scan_statement(start);
            self.pos = next.max(start + 1);
            let text = self.src.get(start..end).unwrap_or("").trim_end();
            if text.is_empty() {
                continue;
            }
            let (line, column) = self.locate(start);
            let index = self.index;
            self.index += 1;
            return Some(RawStatement {
                index,
                text,
                range: start..start + text.len(),
                line,
                column,
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn texts(sql: &str, engine: Engine) -> Vec<String> {
        split(sql, engine).map(|s| s.text.to_owned()).collect()
    }

    #[test]
    fn splits_simple_statements_with_positions() {
        let sql = "-- header\nCREATE TABLE a (id int);\n\n  UPDATE a SET id = 1;SELECT 1";
        let got: Vec<_> = split(sql, Engine::Postgres).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].text, "CREATE TABLE a (id int)");
        assert_eq!((got[0].line, got[0].column, got[0].index), (2, 0, 0));
        assert_eq!((got[1].line, got[1].column), (4, 2));
        assert_eq!((got[2].line, got[2].column, got[2].index), (4, 22, 2));
        assert_eq!(&sql[got[1].range.clone()], "UPDATE a SET id = 1");
    }

    #[test]
    fn semicolons_inside_strings_identifiers_and_comments_do_not_split() {
        let sql = "INSERT INTO t VALUES ('a;b', 'it''s;'); SELECT \"we;ird\" FROM t -- c;\n; /* x; */ SELECT 2";
        assert_eq!(
            texts(sql, Engine::Postgres),
            vec![
                "INSERT INTO t VALUES ('a;b', 'it''s;')",
                "SELECT \"we;ird\" FROM t -- c;",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn postgres_nested_block_comments() {
        let sql = "SELECT 1 /* outer /* inner; */ still; */; SELECT 2";
        assert_eq!(
            texts(sql, Engine::Postgres),
            vec!["SELECT 1 /* outer /* inner; */ still; */", "SELECT 2"]
        );
        // MySQL block comments do not nest: the first `*/` closes it.
        let sql = "SELECT 1 /* a /* b */; SELECT 2";
        assert_eq!(
            texts(sql, Engine::Mysql),
            vec!["SELECT 1 /* a /* b */", "SELECT 2"]
        );
    }

    #[test]
    fn postgres_dollar_quoting() {
        let sql = "DO $$ BEGIN PERFORM 1; END $$;\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $x$ $body$ LANGUAGE sql; SELECT $1";
        let got = texts(sql, Engine::Postgres);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], "DO $$ BEGIN PERFORM 1; END $$");
        assert!(got[1].ends_with("LANGUAGE sql"));
        assert_eq!(got[2], "SELECT $1");
    }

    #[test]
    fn postgres_escape_strings() {
        let sql = r"SELECT E'a\';b'; SELECT 'c\'; SELECT 3";
        assert_eq!(
            texts(sql, Engine::Postgres),
            vec![r"SELECT E'a\';b'", r"SELECT 'c\'", "SELECT 3"]
        );
    }

    #[test]
    fn mysql_backslash_backtick_and_hash_comments() {
        let sql = "SELECT 'a\\';b' FROM `t;x`; # note; here\nSELECT 2 --x;\n";
        assert_eq!(
            texts(sql, Engine::Mysql),
            vec!["SELECT 'a\\';b' FROM `t;x`", "SELECT 2 --x"]
        );
    }

    #[test]
    fn mysql_delimiter_blocks() {
        let sql = "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END //\nDELIMITER ;\nSELECT 3;";
        let got: Vec<_> = split(sql, Engine::Mysql).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].text,
            "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END"
        );
        assert_eq!(got[0].line, 2);
        assert_eq!(got[1].text, "SELECT 3");
        assert_eq!(got[1].line, 4);
    }

    #[test]
    fn compound_bodies_without_delimiter() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = CASE WHEN 1 THEN 2 END; DELETE FROM c; END; SELECT 1";
        assert_eq!(texts(sql, Engine::Sqlite).len(), 2);
        let sql = "CREATE PROCEDURE p() BEGIN IF 1 THEN DROP TABLE IF EXISTS t; END IF; END; BEGIN; SELECT 2;";
        assert_eq!(
            texts(sql, Engine::Mysql),
            vec![
                "CREATE PROCEDURE p() BEGIN IF 1 THEN DROP TABLE IF EXISTS t; END IF; END",
                "BEGIN",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn postgres_begin_atomic_bodies_stay_whole() {
        let sql = "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO t VALUES (CASE WHEN true THEN 1 END); INSERT INTO t VALUES (2); END; SELECT 1; CREATE FUNCTION f() RETURNS int AS $$ BEGIN RETURN 1; END $$ LANGUAGE plpgsql; SELECT 2";
        let got = texts(sql, Engine::Postgres);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].ends_with("END"));
        assert_eq!(got[1], "SELECT 1");
        assert_eq!(got[3], "SELECT 2");
        // A column that happens to be called `function` is not a routine.
        let sql = "CREATE TABLE t (function int, begin int); SELECT 1";
        assert_eq!(texts(sql, Engine::Postgres).len(), 2);
    }

    #[test]
    fn empty_statements_and_trailing_comments_are_dropped() {
        assert!(texts(" ;; -- only a comment\n/* and this */", Engine::Postgres).is_empty());
        assert_eq!(texts(";;SELECT 1;;", Engine::Sqlite), vec!["SELECT 1"]);
    }

    #[test]
    fn unterminated_constructs_run_to_the_end() {
        assert_eq!(texts("SELECT 'abc; SELECT 2", Engine::Postgres).len(), 1);
        assert_eq!(texts("SELECT $$abc; SELECT 2", Engine::Postgres).len(), 1);
        assert_eq!(texts("SELECT 1 /* abc; SELECT 2", Engine::Mysql).len(), 1);
    }

    #[test]
    fn mysql_executable_comments_start_statements_and_are_scanned() {
        // A leading executable comment is a statement the server runs, not trivia.
        let sql =
            "/*!40101 SET NAMES utf8 */;\n/* plain */ CREATE /*M! OR REPLACE */ TABLE t (a int);";
        let got: Vec<_> = split(sql, Engine::Mysql).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].text, "/*!40101 SET NAMES utf8 */");
        assert_eq!((got[0].line, got[0].column), (1, 0));
        assert_eq!(got[1].text, "CREATE /*M! OR REPLACE */ TABLE t (a int)");
        // Elsewhere they are plain comments.
        assert_eq!(
            texts(sql, Engine::Postgres),
            vec!["CREATE /*M! OR REPLACE */ TABLE t (a int)"]
        );
        // The content is lexed as SQL: a `*/` inside a string does not end the comment.
        assert_eq!(
            texts("/*! SELECT ';*/' */; SELECT 2", Engine::Mysql),
            vec!["/*! SELECT ';*/' */", "SELECT 2"]
        );
        // Compound bodies inside an executable comment stay whole.
        let sql = "/*!50003 CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN SET NEW.x = 1; SET NEW.y = 2; END */; SELECT 3";
        assert_eq!(texts(sql, Engine::Mysql).len(), 2);
    }

    #[test]
    fn backslash_readings_change_where_statements_end() {
        let sql = r"SELECT 'a\'; COMMIT; SELECT '1'";
        assert_eq!(texts(sql, Engine::Postgres).len(), 3);
        let off = Escapes::variants(Engine::Postgres)[1];
        assert_eq!(split_with(sql, Engine::Postgres, off).count(), 1);
        let no_backslash = Escapes::variants(Engine::Mysql)[1];
        assert_eq!(texts(sql, Engine::Mysql).len(), 1);
        assert_eq!(split_with(sql, Engine::Mysql, no_backslash).count(), 3);
    }

    #[test]
    fn columns_count_characters() {
        let got: Vec<_> = split("SELECT 'é'; SELECT 2", Engine::Postgres).collect();
        assert_eq!(got[1].column, 12);
    }
}
