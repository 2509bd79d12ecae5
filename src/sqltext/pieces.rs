//! The top-level pieces of a SQLite definition (words, quoted names, parenthesised groups), with
//! their byte ranges, and the element list of a `CREATE TABLE`. SQLite keeps each table's
//! `CREATE TABLE` text as written; this is what reads its checks, generated columns, collations
//! and options back out. Pure text; SQLite's quoting rules only.

use std::ops::Range;

use super::Engine;
use super::lex::{comment_end, is_ident_byte, quoted_end};

/// What a [`Piece`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceKind {
    /// A keyword, unquoted name or number.
    Word,
    /// A quoted name or string (`"x"`, `` `x` ``, `[x]`, `'x'`).
    Quoted,
    /// A parenthesised group, parentheses included.
    Group,
    /// Any other character.
    Punct,
}

/// One top-level piece of a text and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// What it is.
    pub kind: PieceKind,
    /// Byte range in the text it was read from.
    pub range: Range<usize>,
}

impl Piece {
    /// Whether this is the word `kw`, ignoring case.
    #[must_use]
    pub fn is(&self, text: &str, kw: &str) -> bool {
        self.kind == PieceKind::Word && text[self.range.clone()].eq_ignore_ascii_case(kw)
    }

    /// Whether this is the punctuation character `c`.
    #[must_use]
    pub fn is_punct(&self, text: &str, c: char) -> bool {
        self.kind == PieceKind::Punct && text[self.range.clone()].starts_with(c)
    }

    /// A name as SQLite reads it: quotes removed (doubled quotes undone).
    #[must_use]
    pub fn name(&self, text: &str) -> String {
        let t = &text[self.range.clone()];
        match (self.kind, t.as_bytes().first()) {
            (PieceKind::Quoted, Some(b'[')) => t[1..t.len().saturating_sub(1)].to_owned(),
            (PieceKind::Quoted, Some(&q)) if t.len() >= 2 => {
                let q = q as char;
                t[1..t.len() - 1].replace(&format!("{q}{q}"), &q.to_string())
            }
            _ => t.to_owned(),
        }
    }
}

/// The top-level pieces of `text` (comments and white space dropped; a group is one piece).
#[must_use]
pub fn sqlite_pieces(text: &str) -> Vec<Piece> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = comment_end(bytes, i, Engine::Sqlite) {
            i = end;
            continue;
        }
        let b = bytes[i];
        let (kind, end) = match b {
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'\'' | b'"' | b'`' => (PieceKind::Quoted, quoted_end(bytes, i, b, false)),
            b'[' => (PieceKind::Quoted, quoted_end(bytes, i, b']', false)),
            b'(' => (PieceKind::Group, group_end(bytes, i)),
            _ if is_ident_byte(b) || !b.is_ascii() => {
                let mut end = i;
                while end < bytes.len() && (is_ident_byte(bytes[end]) || !bytes[end].is_ascii()) {
                    end += 1;
                }
                (PieceKind::Word, end)
            }
            _ => (PieceKind::Punct, i + 1),
        };
        out.push(Piece {
            kind,
            range: i..end,
        });
        i = end;
    }
    out
}

/// The position just after the `)` that closes the `(` at `i`.
fn group_end(bytes: &[u8], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < bytes.len() {
        if let Some(end) = comment_end(bytes, j, Engine::Sqlite) {
            j = end;
            continue;
        }
        match bytes[j] {
            q @ (b'\'' | b'"' | b'`') => {
                j = quoted_end(bytes, j, q, false);
                continue;
            }
            b'[' => {
                j = quoted_end(bytes, j, b']', false);
                continue;
            }
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    bytes.len()
}

/// The elements of a SQLite `CREATE TABLE name (elements) options` statement (each trimmed, as
/// written) and its options text. `None` when it has no element list (`CREATE TABLE … AS`).
#[must_use]
pub fn sqlite_table_elements(sql: &str) -> Option<(Vec<&str>, &str)> {
    // The first group, unless `AS SELECT …` comes first.
    let group = sqlite_pieces(sql)
        .into_iter()
        .find(|p| p.kind == PieceKind::Group || p.is(sql, "AS"))
        .filter(|p| p.kind == PieceKind::Group)?;
    let inner_start = group.range.start + 1;
    let inner = &sql[inner_start..group.range.end.saturating_sub(1).max(inner_start)];
    let mut elements = Vec::new();
    let mut start = 0;
    for p in sqlite_pieces(inner) {
        if p.is_punct(inner, ',') {
            elements.push(inner[start..p.range.start].trim());
            start = p.range.end;
        }
    }
    elements.push(inner[start..].trim());
    elements.retain(|e| !e.is_empty());
    Some((elements, sql[group.range.end..].trim()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn elements_split_at_top_level_commas_only() {
        let sql = "CREATE TABLE \"a,b\" (\n  x int CHECK (x IN (1, 2)), -- one, two\n  \
                   [y,z] text DEFAULT 'p,q' COLLATE nocase,\n  CHECK (x > 0)\n) STRICT, WITHOUT ROWID";
        let (elements, options) = sqlite_table_elements(sql).unwrap();
        assert_eq!(
            elements,
            [
                "x int CHECK (x IN (1, 2))",
                "-- one, two\n  [y,z] text DEFAULT 'p,q' COLLATE nocase",
                "CHECK (x > 0)"
            ]
        );
        assert_eq!(options, "STRICT, WITHOUT ROWID");
        let pieces = sqlite_pieces(elements[1]);
        assert_eq!(pieces[0].name(elements[1]), "y,z");
        assert!(pieces.last().unwrap().is(elements[1], "NOCASE"));
        assert_eq!(
            sqlite_table_elements("CREATE TABLE t AS SELECT max(1)"),
            None
        );
    }

    #[test]
    fn quoted_names_lose_their_quotes() {
        let text = "\"a \"\"b\"\"\" `c` 'd' e";
        let names: Vec<String> = sqlite_pieces(text).iter().map(|p| p.name(text)).collect();
        assert_eq!(names, ["a \"b\"", "c", "d", "e"]);
    }
}
