//! What the review does with a statement sqlparser 0.64 rejects but the server accepts: a
//! line-preserving rewrite of the shapes sqlparser lacks into equivalent text it reads (MySQL
//! `CHARSET`, `ADD COLUMN (a …, b …)`, `CREATE FULLTEXT|SPATIAL INDEX`), with the clauses it
//! cannot represent (table options and partition clauses of `ALTER TABLE`, `PARTITION BY`,
//! `CREATE DATABASE … WITH` options) taken out and kept as [`Fact`]s for the rules; and
//! routines (MySQL `CREATE EVENT/FUNCTION/PROCEDURE/TRIGGER`, PostgreSQL `DO`), understood by
//! their header; more shapes seen in real migration sets are in [`shapes`]. Anything else is
//! not recovered, so it stays a `statement.syntax` finding.
//! Parsing only: must not apply rules.

use sqlparser::ast::{AlterTableLock, AlterTableOperation, Statement};

mod shapes;

use super::{Engine, parse};
use crate::sqltext::lex::{Escapes, Tok, Tokens};

/// A clause taken out of a statement before parsing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fact {
    /// A table or database option (`ENGINE`, `CHARSET`, `COLLATE`, `COMMENT`, `ENCODING`, …),
    /// upper-case key, value without quotes.
    Option(String, String),
    /// `CREATE FULLTEXT|SPATIAL INDEX`: the index type, upper case.
    IndexType(String),
    /// A `PARTITION BY` clause.
    Partitioned,
    /// `TRUNCATE PARTITION` of this many partitions.
    TruncatePartitions(usize),
    /// Another partition operation (`DROP PARTITION`, `ADD PARTITION`, …).
    PartitionOp,
    /// `RENAME INDEX|KEY old TO new`.
    RenameIndex(String, String),
    /// A routine, trigger, event or `DO` block: only its header is understood.
    Routine,
    /// A PostgreSQL role, publication or event trigger statement: only its header is understood.
    Administrative,
    /// `CONCURRENTLY` taken out of `DROP INDEX CONCURRENTLY` (its impact is read from the text).
    Concurrently,
}

/// A statement understood through the fallback.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The statements sqlparser read from the rewritten text (none for routines).
    pub(crate) statements: Vec<Statement>,
    /// The clauses taken out.
    pub(crate) facts: Vec<Fact>,
}

#[derive(Debug, Clone, Copy)]
struct T<'a> {
    tok: Tok<'a>,
    start: usize,
    end: usize,
}

impl T<'_> {
    fn is(&self, kw: &str) -> bool {
        self.tok.is(kw)
    }
    fn punct(&self, c: u8) -> bool {
        self.tok == Tok::Punct(c)
    }
    fn text(&self) -> String {
        match self.tok {
            Tok::Word(w) | Tok::Str(w) | Tok::Ident(w) | Tok::Dollar(w) => w.to_owned(),
            Tok::Punct(c) => char::from(c).to_string(),
            Tok::ExecMark(..) => String::new(),
        }
    }
}

fn tokens(text: &str, engine: Engine) -> Vec<T<'_>> {
    let mut it = Tokens::new(text, engine, Escapes::default_for(engine));
    let mut out = Vec::new();
    let mut prev = 0;
    while let Some(tok) = it.next() {
        let end = it.position();
        // The token starts after the whitespace and comments that precede it.
        let offset = |w: &str| {
            (w.as_ptr() as usize)
                .checked_sub(text.as_ptr() as usize)
                .filter(|o| *o <= end)
        };
        let start = match tok {
            Tok::Word(w) => offset(w).unwrap_or(prev),
            Tok::Str(w) | Tok::Ident(w) | Tok::Dollar(w) => {
                prev.max(offset(w).map_or(prev, |o| o.saturating_sub(1)))
            }
            Tok::Punct(_) => end.saturating_sub(1),
            Tok::ExecMark(a, _) => a,
        };
        if !matches!(tok, Tok::ExecMark(..)) {
            out.push(T { tok, start, end });
        }
        prev = end;
    }
    out
}

/// Text edits that keep every newline where it was, so positions stay right.
struct Edits {
    out: Vec<(usize, usize, String)>,
}

impl Edits {
    fn replace(&mut self, a: usize, b: usize, with: &str) {
        self.out.push((a, b, with.to_owned()));
    }
    /// The edited text; `None` when an edit would split a character (never for the ASCII
    /// tokens the edits are made at, but the text is untrusted).
    fn apply(mut self, text: &str) -> Option<String> {
        if self
            .out
            .iter()
            .any(|(a, b, _)| a > b || !text.is_char_boundary(*a) || !text.is_char_boundary(*b))
        {
            return None;
        }
        self.out.sort_by_key(|e| e.0);
        let mut s = String::with_capacity(text.len() + 64);
        let mut at = 0;
        for (a, b, with) in self.out {
            if a < at {
                continue;
            }
            s.push_str(&text[at..a]);
            s.push_str(&with);
            let newlines = text[a..b].matches('\n').count();
            s.push_str(&"\n".repeat(newlines));
            at = b;
        }
        s.push_str(&text[at..]);
        Some(s)
    }
}

/// Index of the token closing the parenthesis opened at `open`.
fn closing(t: &[T<'_>], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, x) in t.iter().enumerate().skip(open) {
        if x.punct(b'(') {
            depth += 1;
        } else if x.punct(b')') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The statement's end: before a trailing `;`.
fn body_end(t: &[T<'_>], text: &str) -> usize {
    match t.last() {
        Some(x) if x.punct(b';') => x.start,
        _ => text.len(),
    }
}

const ROUTINES: &[&str] = &["EVENT", "PROCEDURE", "FUNCTION", "TRIGGER"];

/// Tries to understand a statement the parser rejected.
pub(crate) fn recover(engine: Engine, text: &str) -> Option<Recovered> {
    let t = tokens(text, engine);
    let first = t.first()?;
    if shapes::administrative_header(engine, &t) {
        return Some(Recovered {
            statements: Vec::new(),
            facts: vec![Fact::Administrative],
        });
    }
    if engine == Engine::Postgres && first.is("DO") {
        return Some(Recovered {
            statements: Vec::new(),
            facts: vec![Fact::Routine],
        });
    }
    if engine == Engine::Mysql && first.is("CREATE") {
        // CREATE [OR REPLACE] [DEFINER = user] [AGGREGATE] {EVENT|PROCEDURE|FUNCTION|TRIGGER}
        let kind = t
            .iter()
            .skip(1)
            .take(12)
            .find(|x| ROUTINES.iter().any(|k| x.is(k)) || x.is("TABLE") || x.is("INDEX"));
        if kind.is_some_and(|k| ROUTINES.iter().any(|r| k.is(r))) {
            return Some(Recovered {
                statements: Vec::new(),
                facts: vec![Fact::Routine],
            });
        }
    }
    let mut edits = Edits { out: Vec::new() };
    let mut facts = Vec::new();
    let mut placeholders = 0usize;
    if engine == Engine::Mysql {
        mysql_words(&t, &mut edits, &mut facts);
    }
    shapes::rewrite(engine, &t, &mut edits, &mut facts);
    let end = body_end(&t, text);
    if first.is("CREATE") && t.iter().take(8).any(|x| x.is("TABLE")) {
        partition_tail(&t, 0, end, &mut edits, &mut facts);
    } else if first.is("ALTER")
        && t.get(1).is_some_and(|x| x.is("TABLE"))
        && engine == Engine::Mysql
    {
        placeholders = alter_table(&t, end, &mut edits, &mut facts)?;
    } else if first.is("CREATE") && t.get(1).is_some_and(|x| x.is("DATABASE") || x.is("SCHEMA")) {
        create_database(&t, end, &mut edits, &mut facts);
    }
    if edits.out.is_empty() {
        return None;
    }
    let rewritten = edits.apply(text)?;
    let mut statements = parse::parse(engine, &rewritten).ok()?;
    if placeholders > 0 {
        for s in &mut statements {
            if let Statement::AlterTable(at) = s {
                at.operations.retain(|op| {
                    !matches!(
                        op,
                        AlterTableOperation::Lock {
                            lock: AlterTableLock::Default,
                            ..
                        }
                    )
                });
            }
        }
    }
    index_type_into_statement(&mut statements, &mut facts);
    Some(Recovered { statements, facts })
}

/// `CREATE FULLTEXT|SPATIAL INDEX` without a `USING` clause: the index type goes back into the
/// parsed statement (as its `USING` type), so the rules and the impact analysis see the index
/// for what it is.
fn index_type_into_statement(statements: &mut [Statement], facts: &mut Vec<Fact>) {
    let Some(at) = facts.iter().position(|f| matches!(f, Fact::IndexType(_))) else {
        return;
    };
    let [Statement::CreateIndex(ci)] = statements else {
        return;
    };
    let has_using = ci.using.is_some()
        || ci
            .index_options
            .iter()
            .any(|o| matches!(o, sqlparser::ast::IndexOption::Using(_)));
    if has_using {
        return;
    }
    if let Fact::IndexType(kind) = facts.remove(at) {
        ci.using = Some(sqlparser::ast::IndexType::Custom(
            sqlparser::ast::Ident::new(kind),
        ));
    }
}

/// `CHARSET` → `CHARACTER SET`; `CREATE FULLTEXT|SPATIAL INDEX` → `CREATE INDEX`;
/// `ADD [COLUMN] (a …, b …)` → `ADD COLUMN a …, ADD COLUMN b …`.
fn mysql_words(t: &[T<'_>], edits: &mut Edits, facts: &mut Vec<Fact>) {
    for (i, x) in t.iter().enumerate() {
        if x.is("CHARSET") {
            edits.replace(x.start, x.end, "CHARACTER SET");
        }
        // MySQL's compatibility types: LONG [VARCHAR] is MEDIUMTEXT, LONG VARBINARY MEDIUMBLOB.
        if x.is("LONG") && i > 0 && matches!(t[i - 1].tok, Tok::Word(_) | Tok::Ident(_)) {
            match t.get(i + 1) {
                Some(n) if n.is("VARBINARY") => edits.replace(x.start, n.end, "MEDIUMBLOB"),
                Some(n) if n.is("VARCHAR") => edits.replace(x.start, n.end, "MEDIUMTEXT"),
                _ => edits.replace(x.start, x.end, "MEDIUMTEXT"),
            }
        }
        if (x.is("FULLTEXT") || x.is("SPATIAL"))
            && i > 0
            && t[i - 1].is("CREATE")
            && t.get(i + 1).is_some_and(|n| n.is("INDEX") || n.is("KEY"))
        {
            edits.replace(x.start, x.end, "");
            facts.push(Fact::IndexType(x.text().to_ascii_uppercase()));
        }
        if x.is("ADD") {
            let mut j = i + 1;
            if t.get(j).is_some_and(|n| n.is("COLUMN")) {
                j += 1;
            }
            let is_group = t.get(j).is_some_and(|n| n.punct(b'('))
                && t.get(j + 1).is_some_and(|n| {
                    ![
                        "INDEX",
                        "KEY",
                        "CONSTRAINT",
                        "PRIMARY",
                        "UNIQUE",
                        "FOREIGN",
                        "CHECK",
                    ]
                    .iter()
                    .any(|k| n.is(k))
                });
            if !is_group {
                continue;
            }
            let Some(close) = closing(t, j) else { continue };
            edits.replace(x.start, t[j].end, "ADD COLUMN ");
            let mut depth = 0usize;
            for y in &t[j + 1..close] {
                if y.punct(b'(') {
                    depth += 1;
                } else if y.punct(b')') {
                    depth = depth.saturating_sub(1);
                } else if y.punct(b',') && depth == 0 {
                    edits.replace(y.start, y.end, ", ADD COLUMN ");
                }
            }
            edits.replace(t[close].start, t[close].end, "");
        }
    }
}

/// Takes a top-level `PARTITION BY …` (from token `from` on) out of the statement.
fn partition_tail(t: &[T<'_>], from: usize, end: usize, edits: &mut Edits, facts: &mut Vec<Fact>) {
    let mut depth = 0usize;
    for (i, x) in t.iter().enumerate().skip(from) {
        if x.punct(b'(') {
            depth += 1;
        } else if x.punct(b')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && x.is("PARTITION") && t.get(i + 1).is_some_and(|n| n.is("BY")) {
            edits.replace(x.start, end, "");
            facts.push(Fact::Partitioned);
            return;
        }
    }
}

const OPTION_WORDS: &[&str] = &[
    "ENGINE",
    "COMMENT",
    "CHARACTER",
    "CHARSET",
    "COLLATE",
    "ROW_FORMAT",
    "KEY_BLOCK_SIZE",
    "STATS_PERSISTENT",
    "AVG_ROW_LENGTH",
    "CHECKSUM",
    "COMPRESSION",
    "ENCRYPTION",
    "MAX_ROWS",
    "MIN_ROWS",
    "PACK_KEYS",
];

const PARTITION_OPS: &[&str] = &[
    "DROP",
    "ADD",
    "TRUNCATE",
    "COALESCE",
    "REORGANIZE",
    "EXCHANGE",
    "ANALYZE",
    "CHECK",
    "OPTIMIZE",
    "REBUILD",
    "REPAIR",
    "DISCARD",
    "IMPORT",
];

/// MySQL `ALTER TABLE`: table options, `CONVERT TO CHARACTER SET`, `RENAME INDEX` and
/// partition clauses become facts, each replaced by a placeholder operation that is removed
/// after parsing. Returns the number of placeholders, `None` when the statement has a `LOCK`
/// of its own (the placeholder could not be told apart).
fn alter_table(t: &[T<'_>], end: usize, edits: &mut Edits, facts: &mut Vec<Fact>) -> Option<usize> {
    if t.iter().any(|x| x.is("LOCK")) {
        return None;
    }
    // ALTER TABLE name: the name is one or two (dotted) identifiers.
    let mut i = 2;
    i += 1;
    if t.get(i).is_some_and(|x| x.punct(b'.')) {
        i += 2;
    }
    let mut placeholders = 0;
    let mut start = i;
    let mut depth = 0usize;
    let mut k = i;
    while k <= t.len() {
        let at_end = k == t.len() || t[k].punct(b';');
        let sep = !at_end && depth == 0 && t[k].punct(b',');
        if !at_end && !sep {
            if t[k].punct(b'(') {
                depth += 1;
            } else if t[k].punct(b')') {
                depth = depth.saturating_sub(1);
            }
            // A partition clause runs to the end of the statement.
            let part_op = PARTITION_OPS.iter().any(|w| t[k].is(w))
                && t.get(k + 1).is_some_and(|n| n.is("PARTITION"));
            if depth == 0
                && k == start
                && (part_op || (t[k].is("PARTITION") && t.get(k + 1).is_some_and(|n| n.is("BY"))))
            {
                if t[k].is("TRUNCATE") {
                    let names = t[k + 2..]
                        .iter()
                        .take_while(|x| !x.punct(b';'))
                        .filter(|x| x.punct(b','))
                        .count()
                        + 1;
                    facts.push(Fact::TruncatePartitions(names));
                } else if t[k].is("PARTITION") {
                    facts.push(Fact::Partitioned);
                } else {
                    facts.push(Fact::PartitionOp);
                }
                let from = if k > i { t[k - 1].start } else { t[k].start };
                let sep = if k > i { "" } else { " LOCK = DEFAULT" };
                if k == i {
                    placeholders += 1;
                }
                edits.replace(from, end, sep);
                return Some(placeholders);
            }
            k += 1;
            continue;
        }
        if k > start
            && let Some(fact) = option_item(&t[start..k])
        {
            facts.extend(fact);
            let a = t[start].start;
            let b = t[k - 1].end;
            edits.replace(a, b, "LOCK = DEFAULT");
            placeholders += 1;
        }
        start = k + 1;
        k += 1;
        if at_end {
            break;
        }
    }
    Some(placeholders)
}

/// A table option item of `ALTER TABLE` as facts, or `None` for other operations.
fn option_item(item: &[T<'_>]) -> Option<Vec<Fact>> {
    let first = item.first()?;
    let words: Vec<String> = item
        .iter()
        .filter(|x| !x.punct(b'='))
        .map(T::text)
        .collect();
    let up = |i: usize| {
        words
            .get(i)
            .map(|w| w.to_ascii_uppercase())
            .unwrap_or_default()
    };
    if first.is("RENAME") && (item.get(1)?.is("INDEX") || item.get(1)?.is("KEY")) {
        return Some(vec![Fact::RenameIndex(
            words.get(2)?.clone(),
            words.get(4)?.clone(),
        )]);
    }
    if first.is("CONVERT") {
        // CONVERT TO CHARACTER SET x [COLLATE y]
        let mut out = vec![Fact::Option("CHARSET".into(), words.get(4)?.clone())];
        if up(5) == "COLLATE" {
            out.push(Fact::Option("COLLATE".into(), words.get(6)?.clone()));
        }
        return Some(out);
    }
    let head = up(0);
    let (key, value_at) = match head.as_str() {
        "DEFAULT" => match up(1).as_str() {
            "CHARACTER" => ("CHARSET", 3),
            "CHARSET" => ("CHARSET", 2),
            "COLLATE" => ("COLLATE", 2),
            _ => return None,
        },
        "CHARACTER" => ("CHARSET", 2),
        k if OPTION_WORDS.contains(&k) => (k, 1),
        _ => return None,
    };
    let key = if key == "CHARACTER" { "CHARSET" } else { key };
    Some(vec![Fact::Option(
        key.to_owned(),
        words.get(value_at)?.clone(),
    )])
}

/// PostgreSQL `CREATE DATABASE name [WITH] option [=] value …`: options become facts.
fn create_database(t: &[T<'_>], end: usize, edits: &mut Edits, facts: &mut Vec<Fact>) {
    let Some(name) = t.get(2) else { return };
    let rest: Vec<&T<'_>> = t[3..]
        .iter()
        .filter(|x| !x.punct(b'=') && !x.punct(b';'))
        .collect();
    let mut k = usize::from(rest.first().is_some_and(|x| x.is("WITH")));
    while k + 1 < rest.len() {
        facts.push(Fact::Option(
            rest[k].text().to_ascii_uppercase(),
            rest[k + 1].text(),
        ));
        k += 2;
    }
    edits.replace(name.end, end, "");
}

#[cfg(test)]
mod tests;
