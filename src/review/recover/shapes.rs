//! More shapes the servers accept and sqlparser 0.64 does not, found by reviewing real migration
//! sets (`examples/parse_coverage.rs`): each is rewritten, line by line, into text sqlparser
//! reads, and what the rewrite takes away that a rule or the impact model needs is kept as a
//! [`Fact`]. Parsing only: must not apply rules.

use super::{Edits, Fact, T, closing};
use crate::sqltext::Engine;
use crate::sqltext::lex::Tok;

/// PostgreSQL administrative statements sqlparser reads only in part (role options such as
/// `NOINHERIT`, `CREATEROLE`, `REPLICATION`, `SET x TO a, b`; publications; event triggers). No
/// review rule reads more than their kind and name, so they are understood by their header:
/// `CREATE|ALTER|DROP` + `ROLE|USER|GROUP|PUBLICATION|EVENT TRIGGER` + `[IF EXISTS] name`.
pub(super) fn administrative_header(engine: Engine, t: &[T<'_>]) -> bool {
    if engine != Engine::Postgres {
        return false;
    }
    let [verb, kind, rest @ ..] = t else {
        return false;
    };
    if !(verb.is("CREATE") || verb.is("ALTER") || verb.is("DROP")) {
        return false;
    }
    let rest = if kind.is("EVENT") {
        match rest {
            [trigger, rest @ ..] if trigger.is("TRIGGER") => rest,
            _ => return false,
        }
    } else if ["ROLE", "USER", "GROUP", "PUBLICATION"]
        .iter()
        .any(|k| kind.is(k))
    {
        rest
    } else {
        return false;
    };
    let rest = match rest {
        [i, e, rest @ ..] if i.is("IF") && e.is("EXISTS") => rest,
        _ => rest,
    };
    // A name, and parentheses that balance.
    let named = rest
        .first()
        .is_some_and(|n| matches!(n.tok, Tok::Word(_) | Tok::Ident(_)));
    named && closing_all(rest)
}

/// Whether every parenthesis in `t` is closed.
fn closing_all(t: &[T<'_>]) -> bool {
    let mut depth = 0i64;
    for x in t {
        if x.punct(b'(') {
            depth += 1;
        } else if x.punct(b')') {
            depth -= 1;
            if depth < 0 {
                return false;
            }
        }
    }
    depth == 0
}

/// String types a MySQL `BINARY` column attribute may follow.
const MYSQL_STRING_TYPES: &[&str] = &[
    "CHAR",
    "VARCHAR",
    "CHARACTER",
    "NCHAR",
    "NVARCHAR",
    "TEXT",
    "TINYTEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "ENUM",
    "SET",
];

/// Rewrites the shapes of this module found in `t`.
pub(super) fn rewrite(engine: Engine, t: &[T<'_>], edits: &mut Edits, facts: &mut Vec<Fact>) {
    match engine {
        Engine::Postgres => drop_index_concurrently(t, edits, facts),
        Engine::Mysql => {
            binary_attribute(t, edits);
            drop_key(t, edits);
        }
        Engine::Sqlite => {
            sqlite_auto_increment_type_word(t, edits);
            virtual_table_arguments(t, edits);
        }
    }
}

/// PostgreSQL `DROP INDEX CONCURRENTLY …`: the word goes (sqlparser has no place for it); the
/// fact sends the impact analysis to the text, where the weaker lock is known. The rules that
/// care (`index.create-concurrently`, `statement.non-transactional`) read the original text.
fn drop_index_concurrently(t: &[T<'_>], edits: &mut Edits, facts: &mut Vec<Fact>) {
    let [d, i, c, rest @ ..] = t else {
        return;
    };
    let rest = match rest {
        [x, e, rest @ ..] if x.is("IF") && e.is("EXISTS") => rest,
        _ => rest,
    };
    let named = rest
        .first()
        .is_some_and(|n| matches!(n.tok, Tok::Word(_) | Tok::Ident(_)));
    if d.is("DROP") && i.is("INDEX") && c.is("CONCURRENTLY") && named {
        edits.replace(c.start, c.end, "");
        facts.push(Fact::Concurrently);
    }
}

/// MySQL's `BINARY` column attribute (`VARCHAR(255) BINARY`: the binary collation of the
/// column's character set) is dropped; no rule reads it.
fn binary_attribute(t: &[T<'_>], edits: &mut Edits) {
    for (i, x) in t.iter().enumerate().skip(1) {
        if !x.is("BINARY") || t.get(i + 1).is_some_and(|n| n.punct(b'(')) {
            continue;
        }
        let prev = &t[i - 1];
        let type_word = if prev.punct(b')') {
            opening(t, i - 1)
                .and_then(|open| open.checked_sub(1))
                .map(|w| &t[w])
        } else {
            Some(prev)
        };
        // `CHARACTER SET binary` names a character set, not the attribute.
        let after_set = i >= 2 && prev.is("SET") && t[i - 2].is("CHARACTER");
        if !after_set && type_word.is_some_and(|w| MYSQL_STRING_TYPES.iter().any(|k| w.is(k))) {
            edits.replace(x.start, x.end, "");
        }
    }
}

/// Index of the token opening the parenthesis closed at `close`.
fn opening(t: &[T<'_>], close: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in (0..=close).rev() {
        if t[i].punct(b')') {
            depth += 1;
        } else if t[i].punct(b'(') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// MySQL `ALTER TABLE … DROP KEY name` is `DROP INDEX name`.
fn drop_key(t: &[T<'_>], edits: &mut Edits) {
    if !(t.first().is_some_and(|x| x.is("ALTER")) && t.get(1).is_some_and(|x| x.is("TABLE"))) {
        return;
    }
    for w in t.windows(2) {
        if w[0].is("DROP") && w[1].is("KEY") {
            edits.replace(w[1].start, w[1].end, "INDEX");
        }
    }
}

/// SQLite reads every word after a column's name up to a constraint as its declared type, so
/// `id BIGINT AUTO_INCREMENT UNIQUE` declares type `BIGINT AUTO_INCREMENT` (integer affinity,
/// and no auto-increment: only `INTEGER PRIMARY KEY [AUTOINCREMENT]` is). sqlparser stops at
/// the second word; the word goes, the affinity stays.
fn sqlite_auto_increment_type_word(t: &[T<'_>], edits: &mut Edits) {
    if !(t.first().is_some_and(|x| x.is("CREATE")) && t.iter().take(8).any(|x| x.is("TABLE"))) {
        return;
    }
    for w in t.windows(2) {
        if w[1].is("AUTO_INCREMENT") && matches!(w[0].tok, Tok::Word(_)) {
            edits.replace(w[1].start, w[1].end, "");
        }
    }
}

/// SQLite `CREATE VIRTUAL TABLE v USING module (arguments)`: the arguments belong to the module
/// (`content='x'`, `tokenize="…"` for FTS5) and are not SQL; sqlparser reads only bare names.
/// They go; the table and its module stay.
fn virtual_table_arguments(t: &[T<'_>], edits: &mut Edits) {
    if !(t.first().is_some_and(|x| x.is("CREATE")) && t.get(1).is_some_and(|x| x.is("VIRTUAL"))) {
        return;
    }
    let Some(using) = t.iter().position(|x| x.is("USING")) else {
        return;
    };
    let open = using + 2;
    if let Some(close) = t
        .get(open)
        .filter(|x| x.punct(b'('))
        .and_then(|_| closing(t, open))
    {
        edits.replace(t[open].start, t[close].end, "");
    }
}
