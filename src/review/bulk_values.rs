//! A fast path for bulk `INSERT … VALUES` of plain literals, the largest statements of data
//! migrations.
//!
//! sqlparser reads every value of a `VALUES` list as a general expression: it first tries to read
//! a type name (for typed literals such as `DATE '…'`), fails, formats an error message for the
//! failure and then reads the literal. On a seed-data script that is most of the parse. When the
//! rows are nothing but literals, the syntax tree is known without all that: this module lets
//! sqlparser parse the statement's head with its first row, builds the other rows straight from
//! the tokens, and hands back the same `Statement` a full parse gives (spans included; tested
//! against full parses in every dialect). Anything else — an expression, `DEFAULT`, a trailing
//! clause, a malformed row — returns the tokens untouched for the full parser, so errors and
//! unusual shapes are sqlparser's as before.

use sqlparser::ast::{Expr, Parens, SetExpr, Statement, UnaryOperator, Value, ValueWithSpan};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserOptions};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer};

use sqlparser::ast::helpers::attached_token::AttachedToken;
use sqlparser::dialect::Dialect;

/// Rows below this are not worth a second code path: the full parse is cheap enough.
const MIN_ROWS: usize = 4;

/// The most rows reserved before they are read (a tiny first row followed by megabytes of
/// something else must not reserve memory for millions of rows).
const MAX_RESERVED_ROWS: usize = 4096;

/// Tries the fast path on the text, before any tokenizing: sqlparser tokenizes and parses only
/// the head (up to the first row's `)`), the other rows are read here. `None` when the text is
/// not a bulk insert of the simplest literals (no comments, no backslashes, plain decimal
/// numbers); the caller then tokenizes the whole text and tries [`parse`].
pub(crate) fn parse_text(
    dialect: &dyn Dialect,
    recursion_limit: usize,
    text: &str,
) -> Option<Statement> {
    let start = text.len() - text.trim_start().len();
    if !text
        .get(start..start + 6)
        .is_some_and(|w| w.eq_ignore_ascii_case("insert"))
    {
        return None;
    }
    let values = find_ignore_case(text.as_bytes(), start + 6, b"values")?;
    let close = values + memchr::memchr(b')', &text.as_bytes()[values..])?;
    // Tokens never span a `)`, so tokenizing up to it gives the whole text's first tokens; a
    // `)` inside a string or comment leaves an error or a last token other than `)`.
    let head = Tokenizer::new(dialect, &text[..=close])
        .with_unescape(ParserOptions::default().unescape)
        .tokenize_with_location()
        .ok()?;
    let (first_row_end, mut rows) = scan_rows(&head, 1)?;
    if first_row_end + 1 != head.len() {
        return None;
    }
    let after = head[first_row_end].span.end;
    let mut lexer = RowLexer {
        text: &text[close + 1..],
        at: 0,
        line: after.line,
        column: after.column,
    };
    // Rows are about as long as the first one: reserve for all of them at once (a syntax tree
    // expression is large, and growing the vectors copies them), up to a bound, since nothing
    // after the first row has been read yet.
    let first_len = close + 1 - values;
    rows.reserve(((text.len() - close) / first_len.max(1) + 1).min(MAX_RESERVED_ROWS));
    lexer.rows(&mut rows)?;
    if rows.len() < MIN_ROWS {
        return None;
    }
    with_rows(dialect, recursion_limit, head, rows)
}

/// Tries the fast path on tokens: the statement when it applies, otherwise the tokens back,
/// untouched, for the full parser (which then reports errors exactly as before).
pub(crate) fn parse(
    dialect: &dyn Dialect,
    recursion_limit: usize,
    tokens: Vec<TokenWithSpan>,
) -> Result<Statement, Vec<TokenWithSpan>> {
    let Some((first_row_end, rows)) = scan(&tokens) else {
        return Err(tokens);
    };
    let head = tokens[..=first_row_end].to_vec();
    match with_rows(dialect, recursion_limit, head, rows) {
        Some(statement) => Ok(statement),
        None => Err(tokens),
    }
}

/// sqlparser's statement for `head` (an insert whose `VALUES` list is its first row), with
/// `rows` (the first row again, then the others) as its rows. `None` unless sqlparser built
/// exactly that first row.
fn with_rows(
    dialect: &dyn Dialect,
    recursion_limit: usize,
    head: Vec<TokenWithSpan>,
    rows: Vec<Parens<Vec<Expr>>>,
) -> Option<Statement> {
    let mut statements = Parser::new(dialect)
        .with_recursion_limit(recursion_limit)
        .with_tokens_with_locations(head)
        .parse_statements()
        .ok()?;
    let values = match statements.as_mut_slice() {
        [Statement::Insert(insert)] => match insert.source.as_deref_mut() {
            Some(query) if query_is_plain(query) => match query.body.as_mut() {
                SetExpr::Values(v) if v.rows.len() == 1 && !v.explicit_row => Some(v),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }?;
    // The first row, built here from the same tokens, must be exactly what sqlparser built, or
    // this path does not understand these literals the way the parser does.
    if values.rows[0] != rows[0] || !same_spans(&rows[0], &values.rows[0]) {
        return None;
    }
    values.rows = rows;
    statements.pop()
}

fn find_ignore_case(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        if hay[i].to_ascii_lowercase() == first
            && hay[i..i + needle.len()].eq_ignore_ascii_case(needle)
        {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Reads `, (lit, …)` rows and an optional `;` from text, with sqlparser's locations (lines and
/// columns counted in characters from 1, as its tokenizer counts them).
struct RowLexer<'a> {
    text: &'a str,
    at: usize,
    line: u64,
    column: u64,
}

impl RowLexer<'_> {
    fn location(&self) -> Location {
        Location {
            line: self.line,
            column: self.column,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// Advances over one ASCII byte.
    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        self.at += 1;
    }

    fn skip_ws(&mut self) {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            match b {
                b' ' | b'\t' | b'\r' => self.column += 1,
                b'\n' => {
                    self.line += 1;
                    self.column = 1;
                }
                _ => return,
            }
            self.at += 1;
        }
    }

    /// A one-byte token with its span.
    fn punct(&mut self, token: Token) -> TokenWithSpan {
        let start = self.location();
        self.bump();
        TokenWithSpan {
            token,
            span: Span::new(start, self.location()),
        }
    }

    /// The rows after the first, appended to `rows`; then only `;` and whitespace may follow.
    fn rows(&mut self, rows: &mut Vec<Parens<Vec<Expr>>>) -> Option<()> {
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Some(()),
                Some(b';') => {
                    self.bump();
                    self.skip_ws();
                    return self.peek().is_none().then_some(());
                }
                Some(b',') => self.bump(),
                Some(_) => return None,
            }
            self.skip_ws();
            if self.peek() != Some(b'(') {
                return None;
            }
            let open = self.punct(Token::LParen);
            let mut content = Vec::with_capacity(rows.first().map_or(4, |r| r.content.len()));
            loop {
                self.skip_ws();
                content.push(self.literal()?);
                self.skip_ws();
                match self.peek()? {
                    b',' => self.bump(),
                    b')' => break,
                    _ => return None,
                }
            }
            let close = self.punct(Token::RParen);
            rows.push(Parens {
                opening_token: AttachedToken(open),
                content,
                closing_token: AttachedToken(close),
            });
        }
    }

    /// A literal ends where whitespace, `,` or `)` follows: anything else (`1e3`, `1abc`,
    /// `NULLIF`, a cast) is left to the tokenizer.
    fn ends_here(&self) -> bool {
        matches!(
            self.peek(),
            Some(b' ' | b'\t' | b'\n' | b'\r' | b',' | b')')
        )
    }

    fn literal(&mut self) -> Option<Expr> {
        let start = self.location();
        let value = match self.peek()? {
            b'0'..=b'9' => Value::Number(self.number()?, false),
            b'-' if matches!(self.text.as_bytes().get(self.at + 1), Some(b'0'..=b'9')) => {
                self.bump();
                return Some(Expr::UnaryOp {
                    op: UnaryOperator::Minus,
                    expr: Box::new(self.literal()?),
                });
            }
            b'\'' => Value::SingleQuotedString(self.string()?),
            b'n' | b'N' => {
                let word = self.text.get(self.at..self.at + 4)?;
                if !word.eq_ignore_ascii_case("null") {
                    return None;
                }
                for _ in 0..4 {
                    self.bump();
                }
                Value::Null
            }
            _ => return None,
        };
        if !self.ends_here() {
            return None;
        }
        Some(Expr::Value(ValueWithSpan {
            value,
            span: Span::new(start, self.location()),
        }))
    }

    /// Digits, optionally `.` and more digits.
    fn number(&mut self) -> Option<String> {
        let bytes = self.text.as_bytes();
        let digits = |from: usize| {
            bytes[from..]
                .iter()
                .position(|b| !b.is_ascii_digit())
                .map_or(bytes.len(), |n| from + n)
        };
        let from = self.at;
        let mut end = digits(from);
        if bytes.get(end) == Some(&b'.') {
            if !bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            end = digits(end + 1);
        }
        // Digits and `.` only: one column each.
        self.column += (end - from) as u64;
        self.at = end;
        Some(self.text[from..end].to_owned())
    }

    /// `'…'` with `''` for a quote; a backslash (an escape in MySQL, not elsewhere) is left to
    /// the tokenizer.
    fn string(&mut self) -> Option<String> {
        self.bump();
        let mut out = String::new();
        let mut from = self.at;
        loop {
            let rest = &self.text.as_bytes()[self.at..];
            let stop = memchr::memchr3(b'\'', b'\\', b'\n', rest)?;
            // Characters, not bytes, advance the column.
            self.column += self.text[self.at..self.at + stop].chars().count() as u64;
            self.at += stop;
            match rest[stop] {
                b'\n' => self.bump(),
                b'\\' => return None,
                _ => {
                    out.push_str(&self.text[from..self.at]);
                    self.bump();
                    if self.peek() == Some(b'\'') {
                        // `''`: one quote in the value, the string goes on.
                        from = self.at;
                        self.bump();
                    } else {
                        return Some(out);
                    }
                }
            }
        }
    }
}

/// No ORDER BY, LIMIT, WITH, … around the `VALUES` list.
fn query_is_plain(q: &sqlparser::ast::Query) -> bool {
    q.with.is_none()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && q.fetch.is_none()
        && q.locks.is_empty()
        && q.for_clause.is_none()
        && q.settings.is_none()
        && q.format_clause.is_none()
        && q.pipe_operators.is_empty()
}

/// Compares what `PartialEq` leaves out: the spans of the parentheses and values.
fn same_spans(a: &Parens<Vec<Expr>>, b: &Parens<Vec<Expr>>) -> bool {
    fn span(e: &Expr) -> Option<sqlparser::tokenizer::Span> {
        match e {
            Expr::Value(v) => Some(v.span),
            Expr::UnaryOp { expr, .. } => span(expr),
            _ => None,
        }
    }
    a.opening_token.0.span == b.opening_token.0.span
        && a.closing_token.0.span == b.closing_token.0.span
        && a.content.len() == b.content.len()
        && a.content
            .iter()
            .zip(&b.content)
            .all(|(x, y)| span(x).is_some() && span(x) == span(y))
}

/// The next non-whitespace token from `*i` (leaving `*i` on it), or `None` at the end.
fn skip_ws<'a>(tokens: &'a [TokenWithSpan], i: &mut usize) -> Option<&'a Token> {
    while let Some(t) = tokens.get(*i) {
        if !matches!(t.token, Token::Whitespace(_)) {
            return Some(&t.token);
        }
        *i += 1;
    }
    None
}

fn is_keyword(t: &Token, kw: Keyword) -> bool {
    matches!(t, Token::Word(w) if w.keyword == kw && w.quote_style.is_none())
}

/// Recognises `INSERT … VALUES (lit, …), (lit, …) …[;]` with at least [`MIN_ROWS`] rows and
/// nothing after them but an optional `;`, and builds the rows. Returns the index of the first
/// row's closing parenthesis (the end of the head sqlparser reads) and the rows.
fn scan(tokens: &[TokenWithSpan]) -> Option<(usize, Vec<Parens<Vec<Expr>>>)> {
    scan_rows(tokens, MIN_ROWS)
}

/// [`scan`] with its own least number of rows.
fn scan_rows(tokens: &[TokenWithSpan], min_rows: usize) -> Option<(usize, Vec<Parens<Vec<Expr>>>)> {
    let mut i = 0;
    if !is_keyword(skip_ws(tokens, &mut i)?, Keyword::INSERT) {
        return None;
    }
    // The top-level VALUES keyword (parentheses before it hold the column list).
    let mut depth = 0usize;
    loop {
        match &tokens.get(i)?.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.checked_sub(1)?,
            Token::SemiColon => return None,
            t if is_keyword(t, Keyword::SELECT) => return None,
            t if depth == 0 && is_keyword(t, Keyword::VALUES) => break,
            _ => {}
        }
        i += 1;
    }
    i += 1;
    let mut rows = vec![row(tokens, &mut i)?];
    let first_row_end = i - 1;
    while skip_ws(tokens, &mut i) == Some(&Token::Comma) {
        i += 1;
        rows.push(row(tokens, &mut i)?);
    }
    if skip_ws(tokens, &mut i) == Some(&Token::SemiColon) {
        i += 1;
    }
    if skip_ws(tokens, &mut i).is_some() || rows.len() < min_rows {
        return None;
    }
    Some((first_row_end, rows))
}

/// The row `( literal, … )` at `*i` (whitespace first allowed); `*i` ends after its `)`.
fn row(tokens: &[TokenWithSpan], i: &mut usize) -> Option<Parens<Vec<Expr>>> {
    if skip_ws(tokens, i)? != &Token::LParen {
        return None;
    }
    let open = tokens[*i].clone();
    *i += 1;
    let mut content = Vec::new();
    loop {
        skip_ws(tokens, i)?;
        content.push(literal(tokens, i)?);
        match skip_ws(tokens, i)? {
            Token::Comma => *i += 1,
            Token::RParen => {
                let close = tokens[*i].clone();
                *i += 1;
                return Some(Parens {
                    opening_token: AttachedToken(open),
                    content,
                    closing_token: AttachedToken(close),
                });
            }
            _ => return None,
        }
    }
}

/// A literal this path builds — a number, a single-quoted string, `NULL`, or a number with a
/// minus sign right before it — as sqlparser's expression for it; `*i` ends after it.
fn literal(tokens: &[TokenWithSpan], i: &mut usize) -> Option<Expr> {
    let t = tokens.get(*i)?;
    *i += 1;
    let value = match &t.token {
        Token::Number(n, long) => Value::Number(n.clone(), *long),
        Token::SingleQuotedString(s) => Value::SingleQuotedString(s.clone()),
        w if is_keyword(w, Keyword::NULL) => Value::Null,
        Token::Minus if matches!(tokens.get(*i)?.token, Token::Number(..)) => {
            return Some(Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr: Box::new(literal(tokens, i)?),
            });
        }
        _ => return None,
    };
    Some(Expr::Value(ValueWithSpan {
        value,
        span: t.span,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "bulk_values_tests.rs"]
mod tests;
