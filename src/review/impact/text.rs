//! The impact of statements the parser cannot read, from their leading words: the maintenance
//! and storage forms that rewrite or lock a table (CLUSTER, REINDEX, SET TABLESPACE,
//! DROP INDEX CONCURRENTLY; MySQL ENGINE=, FORCE, ROW_FORMAT=, CONVERT TO CHARACTER SET,
//! OPTIMIZE TABLE, CREATE FULLTEXT/SPATIAL INDEX, RENAME INDEX, DROP CHECK).

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};

use super::{Algorithm, Builder, Lock, Op};
use crate::sqltext::Engine;
use crate::sqltext::lex::{Escapes, Tok, significant};

/// Reads a possibly qualified name starting at `i`; returns it and the index after it.
fn name_at(toks: &[Tok<'_>], mut i: usize) -> Option<(ObjectName, usize)> {
    let mut parts = Vec::new();
    loop {
        let part = match toks.get(i)? {
            Tok::Word(w) => Ident::new(*w),
            Tok::Ident(w) => Ident::with_quote('"', *w),
            _ => return None,
        };
        parts.push(ObjectNamePart::Identifier(part));
        i += 1;
        if matches!(toks.get(i), Some(Tok::Punct(b'.'))) {
            i += 1;
        } else {
            return Some((ObjectName(parts), i));
        }
    }
}

/// Skips the words in `skip` (upper case) starting at `i`.
fn skip_words(toks: &[Tok<'_>], mut i: usize, skip: &[&str]) -> usize {
    while toks.get(i).is_some_and(|t| skip.iter().any(|s| t.is(s))) {
        i += 1;
    }
    i
}

fn has(toks: &[Tok<'_>], from: usize, words: &[&str]) -> bool {
    toks[from.min(toks.len())..]
        .windows(words.len())
        .any(|w| w.iter().zip(words).all(|(t, k)| t.is(k)))
}

pub(super) fn statement(b: &mut Builder<'_, '_>, engine: Engine, text: &str) {
    let toks = significant(text, engine, Escapes::default_for(engine), 256);
    let is = |i: usize, kw: &str| toks.get(i).is_some_and(|t| t.is(kw));
    let rewrite_ax = |reason: &str| Op::new(Lock::AccessExclusive, reason.to_owned()).rewrite();
    match engine {
        Engine::Postgres => {
            if is(0, "CLUSTER") {
                let i = skip_words(&toks, 1, &["VERBOSE"]);
                if let Some((t, _)) = name_at(&toks, i) {
                    b.add(
                        &t,
                        rewrite_ax("CLUSTER rewrites the table in index order")
                            .safer("pg_repack, outside schemagate"),
                    );
                }
            } else if is(0, "REINDEX") {
                let concurrently = has(&toks, 1, &["CONCURRENTLY"]);
                let i = skip_words(&toks, 1, &["TABLE", "INDEX", "CONCURRENTLY", "VERBOSE"]);
                let Some((n, _)) = name_at(&toks, i) else {
                    return;
                };
                let table = if is(1, "INDEX") {
                    owner_of(b, &n)
                } else if is(1, "TABLE") {
                    Some(n)
                } else {
                    None
                };
                if let Some(t) = table {
                    let op = if concurrently {
                        Op::new(Lock::ShareUpdateExclusive, "REINDEX CONCURRENTLY").scan()
                    } else {
                        Op::new(Lock::Share, "REINDEX rebuilds the indexes (writes wait)")
                            .scan()
                            .safer("REINDEX … CONCURRENTLY (outside a transaction)")
                    };
                    b.add(&t, op);
                }
            } else if is(0, "DROP") && is(1, "INDEX") && is(2, "CONCURRENTLY") {
                let i = skip_words(&toks, 3, &["IF", "EXISTS"]);
                if let Some(t) = name_at(&toks, i).and_then(|(n, _)| owner_of(b, &n)) {
                    b.add(
                        &t,
                        Op::new(Lock::ShareUpdateExclusive, "DROP INDEX CONCURRENTLY"),
                    );
                }
            } else if is(0, "ALTER") && is(1, "TABLE") {
                let i = skip_words(&toks, 2, &["IF", "EXISTS", "ONLY"]);
                let Some((t, next)) = name_at(&toks, i) else {
                    return;
                };
                if has(&toks, next, &["SET", "TABLESPACE"]) {
                    b.add(&t, rewrite_ax("SET TABLESPACE copies the table"));
                } else if has(&toks, next, &["SET", "STATISTICS"])
                    || has(&toks, next, &["CLUSTER", "ON"])
                {
                    b.add(
                        &t,
                        Op::new(Lock::ShareUpdateExclusive, "SET STATISTICS / CLUSTER ON"),
                    );
                } else if has(&toks, next, &["SET", "STORAGE"])
                    || has(&toks, next, &["SET", "COMPRESSION"])
                {
                    b.add(
                        &t,
                        Op::new(Lock::AccessExclusive, "SET STORAGE / COMPRESSION"),
                    );
                }
            }
        }
        Engine::Mysql => {
            let online = |alg: Algorithm, reason: &str| {
                let o = Op::new(Lock::ShareUpdateExclusive, reason.to_owned()).algorithm(alg);
                if alg >= Algorithm::Inplace {
                    o.rewrite()
                } else {
                    o
                }
            };
            if is(0, "OPTIMIZE") {
                let i = skip_words(&toks, 1, &["NO_WRITE_TO_BINLOG", "LOCAL", "TABLE"]);
                if let Some((t, _)) = name_at(&toks, i) {
                    b.add(
                        &t,
                        online(Algorithm::Inplace, "OPTIMIZE TABLE rebuilds the table"),
                    );
                }
            } else if is(0, "CREATE") && (is(1, "FULLTEXT") || is(1, "SPATIAL")) {
                let on = toks.iter().position(|t| t.is("ON"));
                if let Some((t, _)) = on.and_then(|on| name_at(&toks, on + 1)) {
                    b.add(
                        &t,
                        Op::new(
                            Lock::Share,
                            "a FULLTEXT/SPATIAL index build lets reads through only",
                        )
                        .algorithm(Algorithm::Nocopy)
                        .scan(),
                    );
                }
            } else if is(0, "ALTER") && is(1, "TABLE") {
                let i = skip_words(&toks, 2, &["IF", "EXISTS"]);
                let Some((t, next)) = name_at(&toks, i) else {
                    return;
                };
                if has(&toks, next, &["CONVERT", "TO"]) {
                    b.add(
                        &t,
                        Op::new(Lock::Share, "CONVERT TO CHARACTER SET copies the table")
                            .algorithm(Algorithm::Copy)
                            .rewrite(),
                    );
                } else if has(&toks, next, &["ENGINE"])
                    || has(&toks, next, &["FORCE"])
                    || has(&toks, next, &["ROW_FORMAT"])
                {
                    b.add(
                        &t,
                        online(
                            Algorithm::Inplace,
                            "ENGINE= / FORCE / ROW_FORMAT= rebuilds the table",
                        ),
                    );
                } else if has(&toks, next, &["RENAME", "INDEX"])
                    || has(&toks, next, &["RENAME", "KEY"])
                {
                    b.add(
                        &t,
                        online(Algorithm::Instant, "RENAME INDEX (metadata only)"),
                    );
                } else if has(&toks, next, &["DROP", "CHECK"]) || has(&toks, next, &["COMMENT"]) {
                    b.add(
                        &t,
                        online(Algorithm::Instant, "DROP CHECK / COMMENT (metadata only)"),
                    );
                }
            }
        }
        Engine::Sqlite => {}
    }
}

/// The table of an index, from the catalog.
fn owner_of(b: &Builder<'_, '_>, index: &ObjectName) -> Option<ObjectName> {
    let name = index.0.last()?.as_ident()?.value.clone();
    let table = b.ctx.catalog.table_of_index(&name)?.name.clone();
    let mut parts = index.0.clone();
    parts.pop();
    parts.push(ObjectNamePart::Identifier(Ident::new(table)));
    Some(ObjectName(parts))
}
