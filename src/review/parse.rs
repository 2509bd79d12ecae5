//! Parses one split statement with sqlparser in the engine's dialect and turns parser errors
//! into script-absolute positions. Must not split or apply rules.

use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::{Parser, ParserError, ParserOptions};
use sqlparser::tokenizer::Tokenizer;

use super::Engine;

/// Nesting limit for the parser: deep enough for real SQL, shallow enough that hostile input
/// cannot exhaust the stack.
const RECURSION_LIMIT: usize = 50;

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static MYSQL: MySqlDialect = MySqlDialect {};
static SQLITE: SQLiteDialect = SQLiteDialect {};

/// The sqlparser dialect for `engine`.
pub(crate) fn dialect(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &POSTGRES,
        Engine::Mysql => &MYSQL,
        Engine::Sqlite => &SQLITE,
    }
}

/// Parses the text of one statement (it may, rarely, yield more than one). Bulk inserts of
/// literals take a shortcut to the same syntax tree ([`super::bulk_values`]).
pub(crate) fn parse(engine: Engine, text: &str) -> Result<Vec<Statement>, ParserError> {
    let dialect = dialect(engine);
    if let Some(statement) = super::bulk_values::parse_text(dialect, RECURSION_LIMIT, text) {
        return Ok(vec![statement]);
    }
    // Tokenized as `Parser::try_with_sql` does, with the parser's default options.
    let tokens = Tokenizer::new(dialect, text)
        .with_unescape(ParserOptions::default().unescape)
        .tokenize_with_location()?;
    let tokens = match super::bulk_values::parse(dialect, RECURSION_LIMIT, tokens) {
        Ok(statement) => return Ok(vec![statement]),
        Err(tokens) => tokens,
    };
    Parser::new(dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
}

/// The parser's message with its statement-relative `Line: l, Column: c` made absolute.
pub(crate) fn describe_error(err: &ParserError, line: usize, column: usize) -> String {
    let msg = match err {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m.clone(),
        ParserError::RecursionLimitExceeded => "nesting too deep".to_owned(),
    };
    if let Some((head, l, c)) = position(&msg) {
        let abs_line = line + l.saturating_sub(1);
        let abs_col = if l <= 1 { column + c } else { c };
        format!("cannot parse: {head} (line {abs_line}, column {abs_col})")
    } else {
        format!("cannot parse: {msg} (statement at line {line})")
    }
}

/// Splits `… at Line: 3, Column: 7` into (message, line, 1-based column → 0-based column).
fn position(msg: &str) -> Option<(&str, usize, usize)> {
    let at = msg.rfind(" at Line: ")?;
    let rest = &msg[at + " at Line: ".len()..];
    let (l, c) = rest.split_once(", Column: ")?;
    let l: usize = l.trim().parse().ok()?;
    let c: usize = c
        .trim()
        .trim_end_matches(|ch: char| !ch.is_ascii_digit())
        .parse()
        .ok()?;
    Some((&msg[..at], l, c.saturating_sub(1)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn error_positions_become_absolute() {
        let err = parse(Engine::Postgres, "SELECT 1 FROM t WHERE ) AND 1").unwrap_err();
        let msg = describe_error(&err, 10, 4);
        assert!(msg.starts_with("cannot parse: "), "{msg}");
        assert!(msg.contains("(line 10, column "), "{msg}");
        let err = parse(Engine::Postgres, "SELECT 1\n  FROM t WHERE ) AND 1").unwrap_err();
        let msg = describe_error(&err, 10, 4);
        assert!(msg.contains("(line 11, column "), "{msg}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(parse(Engine::Mysql, &sql).is_err());
    }
}
