//! Byte-level SQL lexing shared by the splitter and the guards: where string literals, quoted
//! identifiers, comments, PostgreSQL dollar quotes and MySQL executable comments begin and end,
//! and a flat token stream for keyword checks. Knows nothing of statements or rules.

use super::Engine;

/// How the server reads backslashes in string literals. A session setting can change it
/// (PostgreSQL `standard_conforming_strings`, MySQL `NO_BACKSLASH_ESCAPES` and `ANSI_QUOTES`),
/// so the guards look at a statement under every reading the engine allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Escapes {
    /// Backslash escapes in `'…'` literals (PostgreSQL `E'…'` always has them).
    pub(crate) single: bool,
    /// Backslash escapes in `"…"` (MySQL strings; never in quoted identifiers).
    pub(crate) double: bool,
}

impl Escapes {
    /// The server defaults: PostgreSQL and SQLite read backslashes literally, MySQL escapes.
    pub(crate) fn default_for(engine: Engine) -> Escapes {
        let mysql = engine == Engine::Mysql;
        Escapes {
            single: mysql,
            double: mysql,
        }
    }

    /// Every reading a session of `engine` can be switched to, the default first.
    pub(crate) fn variants(engine: Engine) -> &'static [Escapes] {
        const fn e(single: bool, double: bool) -> Escapes {
            Escapes { single, double }
        }
        const PG: &[Escapes] = &[e(false, false), e(true, false)];
        const MYSQL: &[Escapes] = &[
            e(true, true),
            e(false, false),
            e(true, false),
            e(false, true),
        ];
        const SQLITE: &[Escapes] = &[e(false, false)];
        match engine {
            Engine::Postgres => PG,
            Engine::Mysql => MYSQL,
            Engine::Sqlite => SQLITE,
        }
    }
}

pub(crate) fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

fn at(bytes: &[u8], i: usize) -> u8 {
    bytes.get(i).copied().unwrap_or(0)
}

/// Position just after the line that contains `i` (or the end).
pub(crate) fn line_end(bytes: &[u8], i: usize) -> usize {
    bytes[i.min(bytes.len())..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| i + p + 1)
}

/// Length of a MySQL/MariaDB executable-comment opener at `i` (`/*!`, `/*!50100`, `/*M!`,
/// `/*M!100100`): the server runs what follows as SQL up to the matching `*/`.
pub(crate) fn exec_marker_len(bytes: &[u8], i: usize, engine: Engine) -> Option<usize> {
    if engine != Engine::Mysql || at(bytes, i) != b'/' || at(bytes, i + 1) != b'*' {
        return None;
    }
    let mut j = i + 2;
    if at(bytes, j) == b'M' && at(bytes, j + 1) == b'!' {
        j += 2;
    } else if at(bytes, j) == b'!' {
        j += 1;
    } else {
        return None;
    }
    while at(bytes, j).is_ascii_digit() {
        j += 1;
    }
    Some(j - i)
}

/// End of a `/* … */` comment starting at `start` (nested in PostgreSQL).
pub(crate) fn block_comment_end(bytes: &[u8], start: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < bytes.len() {
        let b = at(bytes, i);
        let n = at(bytes, i + 1);
        if b == b'/' && n == b'*' && (nested || depth == 0) {
            depth += 1;
            i += 2;
        } else if b == b'*' && n == b'/' {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// If a comment starts at `i`, the position just after it. Executable comments are comments
/// here too; callers that must see their content check [`exec_marker_len`] first.
pub(crate) fn comment_end(bytes: &[u8], i: usize, engine: Engine) -> Option<usize> {
    let b = at(bytes, i);
    let n = at(bytes, i + 1);
    if b == b'-' && n == b'-' {
        if engine == Engine::Mysql {
            let c = at(bytes, i + 2);
            if !(c == 0 || c.is_ascii_whitespace() || c.is_ascii_control()) {
                return None;
            }
        }
        Some(line_end(bytes, i))
    } else if b == b'#' && engine == Engine::Mysql {
        Some(line_end(bytes, i))
    } else if b == b'/' && n == b'*' {
        Some(block_comment_end(bytes, i, engine == Engine::Postgres))
    } else {
        None
    }
}

/// End of a quoted string/identifier starting at `i` (the opening quote).
pub(crate) fn quoted_end(bytes: &[u8], i: usize, quote: u8, backslash: bool) -> usize {
    let mut j = i + 1;
    while j < bytes.len() {
        let b = at(bytes, j);
        if backslash && b == b'\\' {
            j += 2;
        } else if b == quote {
            if at(bytes, j + 1) == quote {
                j += 2;
            } else {
                return j + 1;
            }
        } else {
            j += 1;
        }
    }
    bytes.len()
}

/// Whether the `'` at `i` opens a literal with backslash escapes.
pub(crate) fn single_quote_backslash(
    bytes: &[u8],
    i: usize,
    engine: Engine,
    escapes: Escapes,
) -> bool {
    escapes.single
        || (engine == Engine::Postgres
            && i > 0
            && matches!(at(bytes, i - 1), b'E' | b'e')
            && (i < 2 || !is_ident_byte(at(bytes, i - 2))))
}

/// If a PostgreSQL dollar-quoted string starts at `i`, (start of body, end of body, position
/// after the closing tag). An unterminated one runs to the end.
pub(crate) fn dollar_quote(bytes: &[u8], i: usize) -> Option<(usize, usize, usize)> {
    if at(bytes, i) != b'$' || (i > 0 && is_ident_byte(at(bytes, i - 1))) {
        return None;
    }
    let mut j = i + 1;
    let first = at(bytes, j);
    if first != b'$' {
        if !(first.is_ascii_alphabetic() || first == b'_' || first >= 0x80) {
            return None;
        }
        while is_ident_byte(at(bytes, j)) && at(bytes, j) != b'$' {
            j += 1;
        }
        if at(bytes, j) != b'$' {
            return None;
        }
    }
    let tag = &bytes[i..=j];
    let body = j + 1;
    let rest = bytes.get(body..).unwrap_or(&[]);
    Some(
        rest.windows(tag.len())
            .position(|w| w == tag)
            .map_or((body, bytes.len(), bytes.len()), |p| {
                (body, body + p, body + p + tag.len())
            }),
    )
}

/// One token of a statement, for keyword checks. Comments are dropped; the markers of MySQL
/// executable comments are reported so callers can tell they were there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// A keyword, unquoted identifier or number.
    Word(&'a str),
    /// A string literal's content (between the quotes, not unescaped).
    Str(&'a str),
    /// A quoted identifier's content.
    Ident(&'a str),
    /// A PostgreSQL dollar-quoted string's body.
    Dollar(&'a str),
    /// Any other character (ASCII).
    Punct(u8),
    /// The opener (`/*!50100`) or closer (`*/`) of a MySQL executable comment, by byte range.
    ExecMark(usize, usize),
}

impl Tok<'_> {
    /// The word, upper-cased, if this is a word.
    pub(crate) fn word(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    /// Whether this is the word `kw` (upper case), ignoring case.
    pub(crate) fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }
}

/// The tokens of `text` as `engine` reads it with `escapes`, lazily (most checks need only the
/// first few). Executable comments (MySQL) are transparent: their content is tokenised as SQL,
/// as the server runs it.
#[derive(Debug, Clone)]
pub(crate) struct Tokens<'a> {
    text: &'a str,
    engine: Engine,
    escapes: Escapes,
    pos: usize,
    in_exec: bool,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(text: &'a str, engine: Engine, escapes: Escapes) -> Self {
        Tokens {
            text,
            engine,
            escapes,
            pos: 0,
            in_exec: false,
        }
    }

    fn slice(&self, a: usize, b: usize) -> &'a str {
        self.text.get(a..b.max(a)).unwrap_or("")
    }

    /// Content of a quoted token from its opening quote at `i` to `end` (after the closing one).
    fn inner(&self, i: usize, end: usize) -> &'a str {
        self.slice(i + 1, end.saturating_sub(1).max(i + 1))
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Tok<'a>;

    fn next(&mut self) -> Option<Tok<'a>> {
        let bytes = self.text.as_bytes();
        let engine = self.engine;
        while self.pos < bytes.len() {
            let i = self.pos;
            let b = bytes[i];
            if let Some(len) = exec_marker_len(bytes, i, engine) {
                self.in_exec = true;
                self.pos += len;
                return Some(Tok::ExecMark(i, i + len));
            }
            if self.in_exec && b == b'*' && at(bytes, i + 1) == b'/' {
                self.in_exec = false;
                self.pos += 2;
                return Some(Tok::ExecMark(i, i + 2));
            }
            if let Some(end) = comment_end(bytes, i, engine) {
                self.pos = end;
                continue;
            }
            let (tok, end) = match b {
                _ if b.is_ascii_whitespace() => {
                    self.pos += 1;
                    continue;
                }
                b'\'' => {
                    let backslash = single_quote_backslash(bytes, i, engine, self.escapes);
                    let end = quoted_end(bytes, i, b'\'', backslash);
                    (Tok::Str(self.inner(i, end)), end)
                }
                b'"' => {
                    let mysql = engine == Engine::Mysql;
                    let end = quoted_end(bytes, i, b'"', mysql && self.escapes.double);
                    let inner = self.inner(i, end);
                    (
                        if mysql {
                            Tok::Str(inner)
                        } else {
                            Tok::Ident(inner)
                        },
                        end,
                    )
                }
                b'`' if engine != Engine::Postgres => {
                    let end = quoted_end(bytes, i, b'`', false);
                    (Tok::Ident(self.inner(i, end)), end)
                }
                b'[' if engine == Engine::Sqlite => {
                    let end = quoted_end(bytes, i, b']', false);
                    (Tok::Ident(self.inner(i, end)), end)
                }
                _ if is_ident_byte(b) => {
                    if engine == Engine::Postgres
                        && let Some((body, body_end, end)) = dollar_quote(bytes, i)
                    {
                        (Tok::Dollar(self.slice(body, body_end)), end)
                    } else {
                        let mut end = i;
                        while end < bytes.len() && is_ident_byte(bytes[end]) {
                            end += 1;
                        }
                        let word = self.slice(i, end);
                        // `E'…'`: the prefix belongs to the literal that follows.
                        if engine == Engine::Postgres
                            && word.eq_ignore_ascii_case("e")
                            && at(bytes, end) == b'\''
                        {
                            self.pos = end;
                            continue;
                        }
                        (Tok::Word(word), end)
                    }
                }
                _ => (Tok::Punct(b), i + 1),
            };
            self.pos = end;
            return Some(tok);
        }
        None
    }
}

/// All tokens of `text` (see [`Tokens`]).
/// Tokens of `text` without executable-comment markers; at most `limit` of them.
pub(crate) fn significant(
    text: &str,
    engine: Engine,
    escapes: Escapes,
    limit: usize,
) -> Vec<Tok<'_>> {
    Tokens::new(text, engine, escapes)
        .filter(|t| !matches!(t, Tok::ExecMark(..)))
        .take(limit)
        .collect()
}

#[cfg(test)]
pub(crate) fn tokens(text: &str, engine: Engine, escapes: Escapes) -> Vec<Tok<'_>> {
    Tokens::new(text, engine, escapes).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn words(text: &str, engine: Engine) -> Vec<String> {
        tokens(text, engine, Escapes::default_for(engine))
            .iter()
            .filter_map(Tok::word)
            .collect()
    }

    #[test]
    fn comments_strings_and_quotes_are_not_words() {
        assert_eq!(
            words(
                "COMMIT/**/ -- x\n; 'commit' \"commit\" work",
                Engine::Postgres
            ),
            vec!["COMMIT", "WORK"]
        );
        assert_eq!(
            words("a /* outer /* inner */ still */ b", Engine::Postgres),
            vec!["A", "B"]
        );
        assert_eq!(words("a # c\n`commit` b", Engine::Mysql), vec!["A", "B"]);
        assert_eq!(words("a [commit] b", Engine::Sqlite), vec!["A", "B"]);
    }

    #[test]
    fn dollar_quotes_and_escape_strings() {
        let t = tokens(
            "DO $x$ BEGIN COMMIT; END $x$; E'a\\'b' c",
            Engine::Postgres,
            Escapes::default_for(Engine::Postgres),
        );
        assert_eq!(t[1], Tok::Dollar(" BEGIN COMMIT; END "));
        assert_eq!(t[3], Tok::Str("a\\'b"));
        assert_eq!(t[4], Tok::Word("c"));
    }

    #[test]
    fn backslash_readings_differ() {
        let sql = r"SELECT 'a\'; COMMIT; --'";
        let std = tokens(
            sql,
            Engine::Postgres,
            Escapes::default_for(Engine::Postgres),
        );
        assert!(std.iter().any(|t| t.is("COMMIT")));
        let off = tokens(
            sql,
            Engine::Postgres,
            Escapes::variants(Engine::Postgres)[1],
        );
        assert!(!off.iter().any(|t| t.is("COMMIT")));
    }

    #[test]
    fn executable_comments_are_transparent_on_mysql_only() {
        let sql = "CREATE /*M!100100 OR REPLACE */ TABLE t /*!50100 ENGINE=InnoDB*/";
        assert_eq!(
            words(sql, Engine::Mysql),
            vec!["CREATE", "OR", "REPLACE", "TABLE", "T", "ENGINE", "INNODB"]
        );
        let marks = tokens(sql, Engine::Mysql, Escapes::default_for(Engine::Mysql))
            .into_iter()
            .filter(|t| matches!(t, Tok::ExecMark(..)))
            .count();
        assert_eq!(marks, 4);
        assert_eq!(words(sql, Engine::Postgres), vec!["CREATE", "TABLE", "T"]);
        // MySQL lexes the content, so a `*/` inside a string does not close the comment.
        assert_eq!(
            words("/*! SELECT '*/' */ x", Engine::Mysql),
            vec!["SELECT", "X"]
        );
    }

    #[test]
    fn marker_lengths() {
        let m = |s: &str| exec_marker_len(s.as_bytes(), 0, Engine::Mysql);
        assert_eq!(m("/*!x"), Some(3));
        assert_eq!(m("/*!50100 x"), Some(8));
        assert_eq!(m("/*M!100100 x"), Some(10));
        assert_eq!(m("/* ! x"), None);
        assert_eq!(m("/*+ hint */"), None);
        assert_eq!(
            exec_marker_len(b"/*!x", 0, Engine::Postgres),
            None,
            "only MySQL runs them"
        );
    }
}
