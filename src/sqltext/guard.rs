//! The guards that protect schemagate's guarantees, applied by the reviewer (as findings that no
//! policy can turn off) and again by the executor before it connects (as a backstop): a NUL
//! byte, transaction control, and MySQL/MariaDB executable comments. Token-level checks over the
//! statement text: comments are skipped, case is ignored, string literals are never keywords.
//! No parsing, no rules, no database access.

use std::borrow::Cow;
use std::fmt;

use super::Engine;
use super::lex::{self, Escapes, Tok, significant};
use super::reading::{assignments, changes_reading, reading_change};
use super::split;

/// Where a NUL byte (U+0000) is in a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NulByte {
    /// Byte offset in the script.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 0-based column, in characters.
    pub column: usize,
}

impl fmt::Display for NulByte {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the script contains a NUL byte (U+0000) at line {}, column {}; no database \
             accepts it in SQL text",
            self.line, self.column
        )
    }
}

/// The first NUL byte in `script`, if any. Databases cannot take it: PostgreSQL's protocol
/// rejects it and SQLite stops reading the statement there.
#[must_use]
pub fn find_nul(script: &str) -> Option<NulByte> {
    let offset = script.as_bytes().iter().position(|&b| b == 0)?;
    let (line, column) = super::position(script, offset);
    Some(NulByte {
        offset,
        line,
        column,
    })
}

/// A transaction-control statement found in a statement's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionControl {
    /// What it is, e.g. `COMMIT`, `END TRANSACTION`, `SET autocommit`.
    pub what: String,
    /// Where it is when not at the top level, e.g. `inside a DO block`.
    pub context: Option<&'static str>,
    /// Found only when the server reads backslashes in string literals differently from its
    /// default (a session setting the script may change).
    pub other_escapes: bool,
}

impl fmt::Display for TransactionControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(context) = self.context {
            write!(f, " {context}")?;
        }
        if self.other_escapes {
            f.write_str(" (when backslashes in string literals are read differently)")?;
        }
        Ok(())
    }
}

/// How deep `PREPARE … FROM '…'` / `EXECUTE IMMEDIATE '…'` literals are followed.
const MAX_NESTING: usize = 2;

/// Words that may follow a transaction-control keyword; used to name what was found.
const TXN_WORDS: &[&str] = &[
    "WORK",
    "TRANSACTION",
    "TRAN",
    "AND",
    "NO",
    "CHAIN",
    "RELEASE",
    "PREPARED",
    "TO",
    "SAVEPOINT",
    "DEFERRED",
    "IMMEDIATE",
    "EXCLUSIVE",
    "TABLE",
    "TABLES",
    "START",
    "BEGIN",
    "END",
    "COMMIT",
    "ROLLBACK",
    "PREPARE",
    "RECOVER",
];

/// Transaction control in a statement or script of `engine`'s dialect (the first one; see
/// [`find_transaction_control`]).
#[must_use]
pub fn transaction_control(engine: Engine, sql: &str) -> Option<TransactionControl> {
    find_transaction_control(engine, sql)
        .into_iter()
        .next()
        .map(|(_, t)| t)
}

/// Every transaction-control statement in `script`, with its byte offset, in script order:
/// `BEGIN`/`START TRANSACTION`/`COMMIT`/`END`/`ROLLBACK`/`ABORT` in every spelling, savepoints,
/// `SET TRANSACTION`, `SET SESSION CHARACTERISTICS AS TRANSACTION`, two-phase commit
/// (`PREPARE TRANSACTION`, `COMMIT/ROLLBACK PREPARED`, MySQL `XA`), MySQL `SET autocommit` and
/// `LOCK/UNLOCK TABLES`, and procedural `COMMIT`/`ROLLBACK` in PostgreSQL `DO` blocks,
/// procedure bodies and MariaDB `BEGIN NOT ATOMIC` blocks.
///
/// Statements are cut as the server cuts them: MySQL executable comments' content is SQL, and
/// compound bodies of triggers and routines are kept whole, so their `BEGIN … END` is not
/// mistaken for transaction control. The executor pins how the session reads string literals
/// (see `engine::Session::pin_literal_syntax`); once the script itself may change that
/// (`SET standard_conforming_strings`, `SET sql_mode`), every later statement is also read with
/// backslashes in literals taken the other way, so a `COMMIT` the default reading sees inside a
/// literal is still found.
#[must_use]
pub fn find_transaction_control(engine: Engine, script: &str) -> Vec<(usize, TransactionControl)> {
    let change = reading_change(engine, script);
    split::split(script, engine)
        .filter_map(|part| part_control(engine, &part, change))
        .collect()
}

/// Transaction control in one statement of the script's split, with its script offset;
/// `change` is where the script first changes how literals are read (see `reading_change`).
fn part_control(
    engine: Engine,
    part: &split::RawStatement<'_>,
    change: Option<usize>,
) -> Option<(usize, TransactionControl)> {
    if let Some(t) = statement_control(engine, part.text, Escapes::default_for(engine), 0) {
        Some((part.range.start, t))
    } else if change.is_some_and(|c| part.range.start > c)
        && let Some((offset, mut t)) = other_readings(engine, part.text)
    {
        t.other_escapes = true;
        Some((part.range.start + offset, t))
    } else {
        None
    }
}

/// [`find_transaction_control`] one statement at a time, for a caller that already walks the
/// script's statements as [`split::split`] cuts them (the review): fed every statement of that
/// split in order, it finds exactly what `find_transaction_control` finds (the same per-statement
/// check, and the same first statement that changes how literals are read), without splitting
/// the script twice more.
#[derive(Debug, Clone)]
pub(crate) struct TransactionControlScan {
    engine: Engine,
    /// Start of the first statement so far that may change how literals are read.
    change: Option<usize>,
}

impl TransactionControlScan {
    pub(crate) fn new(engine: Engine) -> Self {
        TransactionControlScan {
            engine,
            change: None,
        }
    }

    /// Transaction control in the next statement of the split, with its script offset.
    pub(crate) fn statement(
        &mut self,
        part: &split::RawStatement<'_>,
    ) -> Option<(usize, TransactionControl)> {
        // Only statements strictly after the change are read the other ways, so the change
        // seen so far (earlier statements) is the one that matters here.
        let found = part_control(self.engine, part, self.change);
        if self.change.is_none() && changes_reading(self.engine, part.text) {
            self.change = Some(part.range.start);
        }
        found
    }
}

/// Transaction control in `statement` under a reading of literals other than the default: the
/// server may then cut it into several statements.
fn other_readings(engine: Engine, statement: &str) -> Option<(usize, TransactionControl)> {
    Escapes::variants(engine)
        .iter()
        .skip(1)
        .find_map(|&escapes| {
            split::split_with(statement, engine, escapes).find_map(|part| {
                statement_control(engine, part.text, escapes, 0).map(|t| (part.range.start, t))
            })
        })
}

fn found(what: String, context: Option<&'static str>) -> Option<TransactionControl> {
    Some(TransactionControl {
        what,
        context,
        other_escapes: false,
    })
}

/// The keyword at `toks[i]` and the transaction words after it, e.g. `END WORK`.
fn describe(toks: &[Tok<'_>], i: usize) -> String {
    let mut words: Vec<String> = toks.get(i).and_then(Tok::word).into_iter().collect();
    for t in toks.iter().skip(i + 1).take(6) {
        match t.word() {
            Some(w) if TXN_WORDS.contains(&w.as_str()) => words.push(w),
            _ => break,
        }
    }
    words.join(" ")
}

fn word_at(toks: &[Tok<'_>], i: usize) -> Option<String> {
    toks.get(i).and_then(Tok::word)
}

/// Transaction control in one statement as the splitter cut it. Looks at the first tokens,
/// and at the whole statement only for blocks and routine bodies.
fn statement_control(
    engine: Engine,
    text: &str,
    escapes: Escapes,
    depth: usize,
) -> Option<TransactionControl> {
    if !may_control(engine, &significant(text, engine, escapes, 5)) {
        return None;
    }
    let head = significant(text, engine, escapes, 24);
    let all = || significant(text, engine, escapes, usize::MAX);
    let i = first_word(engine, &head);
    let first = word_at(&head, i)?;
    let is_at = |k: usize, kw: &str| head.get(i + k).is_some_and(|t| t.is(kw));
    let mysql = engine == Engine::Mysql;
    match first.as_str() {
        "BEGIN" if mysql && is_at(1, "NOT") && is_at(2, "ATOMIC") => {
            procedural(engine, all().get(i + 3..).unwrap_or(&[]))
                .and_then(|what| found(what, Some("inside a BEGIN NOT ATOMIC block")))
        }
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" => {
            found(describe(&head, i), None)
        }
        "START" if is_at(1, "TRANSACTION") => found(describe(&head, i), None),
        // MySQL has no END or ABORT statement; `END` there closes a compound body.
        "END" | "ABORT" if !mysql => found(describe(&head, i), None),
        "XA" if mysql => found(describe(&head, i), None),
        "LOCK" | "UNLOCK" if mysql && (is_at(1, "TABLES") || is_at(1, "TABLE")) => {
            found(describe(&head, i), None)
        }
        "PREPARE" if is_at(1, "TRANSACTION") => found(describe(&head, i), None),
        // Dynamic SQL from a literal: check what it will run.
        "PREPARE" if mysql && is_at(2, "FROM") => nested(engine, head.get(i + 3), depth),
        "EXECUTE" if mysql && is_at(1, "IMMEDIATE") => nested(engine, head.get(i + 2), depth),
        "SET" => set_control(all().get(i + 1..).unwrap_or(&[])).and_then(|w| found(w, None)),
        "DO" if engine == Engine::Postgres => all()
            .iter()
            .find_map(pg_body_control)
            .and_then(|what| found(what, Some("inside a DO block"))),
        "CREATE" if is_procedure(head.get(i + 1..).unwrap_or(&[])) => {
            procedure_body_control(engine, all().get(i + 1..).unwrap_or(&[]))
                .and_then(|what| found(what, Some("inside a procedure body")))
        }
        _ => None,
    }
}

/// Where the statement's first word is among its first tokens: after a MariaDB label
/// (`outer: BEGIN NOT ATOMIC … END`), else at the start.
fn first_word(engine: Engine, toks: &[Tok<'_>]) -> usize {
    let labelled = engine == Engine::Mysql
        && matches!(toks, [Tok::Word(_), Tok::Punct(b':'), ..])
        && toks.get(2) != Some(&Tok::Punct(b'='));
    if labelled { 2 } else { 0 }
}

/// Whether a statement starting with `first` (its first five tokens) can be one that
/// [`statement_control`] looks into: most statements (`CREATE TABLE`, `INSERT`, `ALTER`) are
/// told apart by their first words, without lexing further.
fn may_control(engine: Engine, first: &[Tok<'_>]) -> bool {
    let i = first_word(engine, first);
    let Some(word) = first.get(i) else {
        return false;
    };
    const FIRST: [&str; 16] = [
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "RELEASE",
        "START",
        "END",
        "ABORT",
        "XA",
        "LOCK",
        "UNLOCK",
        "PREPARE",
        "EXECUTE",
        "SET",
        "DO",
        "CREATE",
    ];
    if !FIRST.iter().any(|k| word.is(k)) {
        return false;
    }
    // `CREATE TABLE|INDEX|UNIQUE …` is never a routine with a body.
    !(word.is("CREATE")
        && first
            .get(i + 1)
            .is_some_and(|t| t.is("TABLE") || t.is("INDEX") || t.is("UNIQUE")))
}

/// `PREPARE s FROM '…'` / `EXECUTE IMMEDIATE '…'`: the literal's statements.
fn nested(engine: Engine, tok: Option<&Tok<'_>>, depth: usize) -> Option<TransactionControl> {
    let Some(Tok::Str(s)) = tok else { return None };
    if depth >= MAX_NESTING {
        return None;
    }
    let text = s
        .replace("\\\\", "\u{1}")
        .replace("\\'", "'")
        .replace("''", "'")
        .replace("\\\"", "\"")
        .replace('\u{1}', "\\");
    Escapes::variants(engine).iter().find_map(|&escapes| {
        split::split_with(&text, engine, escapes)
            .find_map(|part| statement_control(engine, part.text, escapes, depth + 1))
            .map(|mut t| {
                t.context = Some("inside dynamic SQL");
                t
            })
    })
}

/// `SET TRANSACTION …`, `SET SESSION CHARACTERISTICS AS TRANSACTION …`, and assignments to
/// `autocommit` (`SET autocommit = 0`, `SET @@session.autocommit := 0`, `SET a = 1, autocommit
/// = 0`).
fn set_control(toks: &[Tok<'_>]) -> Option<String> {
    let mut i = 0;
    if toks.first().and_then(Tok::word).is_some_and(|w| {
        matches!(
            w.as_str(),
            "SESSION" | "GLOBAL" | "LOCAL" | "PERSIST" | "PERSIST_ONLY"
        )
    }) {
        i = 1;
    }
    if word_at(toks, i).as_deref() == Some("TRANSACTION") {
        return Some("SET TRANSACTION".to_owned());
    }
    if (i..i + 3)
        .map(|k| word_at(toks, k))
        .eq(["CHARACTERISTICS", "AS", "TRANSACTION"]
            .iter()
            .map(|w| Some((*w).to_owned())))
    {
        return Some("SET SESSION CHARACTERISTICS AS TRANSACTION".to_owned());
    }
    assignments(toks)
        .iter()
        .any(|(target, _)| target.as_deref() == Some("AUTOCOMMIT"))
        .then(|| "SET autocommit".to_owned())
}

/// Whether the words after `CREATE` (`OR REPLACE`, `DEFINER = …`, …) name a procedure.
fn is_procedure(toks: &[Tok<'_>]) -> bool {
    toks.iter()
        .find(|t| {
            [
                "PROCEDURE",
                "FUNCTION",
                "TABLE",
                "VIEW",
                "TRIGGER",
                "EVENT",
                "INDEX",
            ]
            .iter()
            .any(|k| t.is(k))
        })
        .is_some_and(|t| t.is("PROCEDURE"))
}

/// Transaction control in the body of `CREATE … PROCEDURE` (`toks` start after `CREATE`).
fn procedure_body_control(engine: Engine, toks: &[Tok<'_>]) -> Option<String> {
    let kind = toks.iter().position(|t| t.is("PROCEDURE"))?;
    match engine {
        Engine::Postgres => {
            // Bodies follow `AS` (one literal, or two for C); SQL-standard bodies are
            // `BEGIN ATOMIC … END`.
            let mut k = kind;
            while k < toks.len() {
                if toks[k].is("AS") {
                    let mut j = k + 1;
                    while let Some(t) = toks.get(j) {
                        if let Some(what) = pg_body_control(t) {
                            return Some(what);
                        }
                        if toks.get(j + 1) != Some(&Tok::Punct(b',')) {
                            break;
                        }
                        j += 2;
                    }
                } else if toks[k].is("BEGIN") && toks.get(k + 1).is_some_and(|t| t.is("ATOMIC")) {
                    return procedural(engine, &toks[k + 2..]);
                }
                k += 1;
            }
            None
        }
        Engine::Mysql => {
            // The body is one statement (often `BEGIN … END`) after the parameter list and the
            // characteristics.
            let open = kind + toks[kind..].iter().position(|t| *t == Tok::Punct(b'('))?;
            let mut depth = 0usize;
            let mut k = open;
            while k < toks.len() {
                match toks[k] {
                    Tok::Punct(b'(') => depth += 1,
                    Tok::Punct(b')') => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            k += 1;
            while let Some(t) = toks.get(k) {
                let characteristic = [
                    "COMMENT",
                    "LANGUAGE",
                    "SQL",
                    "NOT",
                    "DETERMINISTIC",
                    "CONTAINS",
                    "NO",
                    "READS",
                    "MODIFIES",
                    "DATA",
                    "SECURITY",
                    "DEFINER",
                    "INVOKER",
                ]
                .iter()
                .any(|c| t.is(c))
                    || matches!(t, Tok::Str(_));
                if !characteristic {
                    break;
                }
                k += 1;
            }
            procedural(engine, toks.get(k..).unwrap_or(&[]))
        }
        Engine::Sqlite => None,
    }
}

/// A PostgreSQL routine body (dollar-quoted or a string literal): its transaction control.
fn pg_body_control(tok: &Tok<'_>) -> Option<String> {
    let body: Cow<'_, str> = match tok {
        Tok::Dollar(b) => Cow::Borrowed(b),
        Tok::Str(s) => Cow::Owned(s.replace("''", "'")),
        _ => return None,
    };
    let toks: Vec<Tok<'_>> = lex::Tokens::new(
        &body,
        Engine::Postgres,
        Escapes::default_for(Engine::Postgres),
    )
    .collect();
    procedural(Engine::Postgres, &toks)
}

/// Words after which a procedural statement starts.
const STATEMENT_OPENERS: &[&str] = &["BEGIN", "THEN", "ELSE", "LOOP", "DO", "REPEAT"];

/// Transaction control at a statement position of a procedural body (PL/pgSQL, MySQL compound
/// statements). Statement positions: the start, after `;`, after `BEGIN`/`THEN`/`ELSE`/
/// `LOOP`/`DO`/`REPEAT`, after a label, and after a MySQL handler's condition list. A word in
/// any other position (a column named `commit`) is not a statement.
fn procedural(engine: Engine, toks: &[Tok<'_>]) -> Option<String> {
    let mut at_start = true;
    let mut k = 0;
    while k < toks.len() {
        let t = &toks[k];
        k += 1;
        match t {
            Tok::Punct(b';') => at_start = true,
            // `lbl: BEGIN` (MySQL), `<<lbl>>` (PL/pgSQL).
            Tok::Punct(b':')
                if engine == Engine::Mysql && toks.get(k) != Some(&Tok::Punct(b'=')) =>
            {
                at_start = true;
            }
            Tok::Punct(b'>') if k >= 2 && toks[k - 2] == Tok::Punct(b'>') => at_start = true,
            Tok::Word(_) if t.is("HANDLER") && toks.get(k).is_some_and(|n| n.is("FOR")) => {
                k = skip_handler_conditions(toks, k + 1);
                at_start = true;
            }
            Tok::Word(_) if at_start => {
                let w = t.word().unwrap_or_default();
                let stmt = &toks[k - 1..];
                let hit = match w.as_str() {
                    "COMMIT" | "ROLLBACK" | "SAVEPOINT" => true,
                    "RELEASE" => word_at(stmt, 1).as_deref() == Some("SAVEPOINT"),
                    "START" => word_at(stmt, 1).as_deref() == Some("TRANSACTION"),
                    "XA" => engine == Engine::Mysql,
                    "LOCK" | "UNLOCK" => {
                        engine == Engine::Mysql
                            && matches!(word_at(stmt, 1).as_deref(), Some("TABLES" | "TABLE"))
                    }
                    "SET" => {
                        let end = stmt
                            .iter()
                            .position(|t| *t == Tok::Punct(b';'))
                            .unwrap_or(stmt.len());
                        if let Some(what) = set_control(&stmt[1..end]) {
                            return Some(what);
                        }
                        false
                    }
                    _ => false,
                };
                if hit {
                    return Some(describe(stmt, 0));
                }
                at_start = STATEMENT_OPENERS.contains(&w.as_str());
            }
            Tok::Word(_) => {
                at_start = t
                    .word()
                    .is_some_and(|w| STATEMENT_OPENERS.contains(&w.as_str()));
            }
            _ => at_start = false,
        }
    }
    None
}

/// Skips a MySQL handler's condition list (`SQLSTATE [VALUE] '…'`, `SQLEXCEPTION`,
/// `NOT FOUND`, error numbers, condition names, comma-separated); returns the index after it.
fn skip_handler_conditions(toks: &[Tok<'_>], mut k: usize) -> usize {
    loop {
        match toks.get(k) {
            Some(t) if t.is("SQLSTATE") => {
                k += 1;
                if toks.get(k).is_some_and(|t| t.is("VALUE")) {
                    k += 1;
                }
                k += 1;
            }
            Some(t) if t.is("NOT") => k += 2,
            Some(Tok::Word(_) | Tok::Str(_) | Tok::Ident(_)) => k += 1,
            _ => return k,
        }
        if toks.get(k) == Some(&Tok::Punct(b',')) {
            k += 1;
        } else {
            return k;
        }
    }
}

/// Whether `text` contains a MySQL/MariaDB executable comment (`/*! … */`, `/*!50100 … */`,
/// `/*M! … */`, `/*M!100100 … */`), whose content the server runs. Always false elsewhere.
#[must_use]
pub fn has_executable_comment(engine: Engine, text: &str) -> bool {
    engine == Engine::Mysql
        && text.contains("/*")
        && lex::Tokens::new(text, engine, Escapes::default_for(engine))
            .any(|t| matches!(t, Tok::ExecMark(..)))
}

/// `text` as the server runs it: on MySQL, executable comments' markers (`/*!50100`, `/*M!`,
/// the closing `*/`) are blanked out with spaces, so their content is plain SQL at the same
/// byte positions. Other engines' text is returned as is.
#[must_use]
pub fn expand_executable_comments(engine: Engine, text: &str) -> Cow<'_, str> {
    if !has_executable_comment(engine, text) {
        return Cow::Borrowed(text);
    }
    let mut out = text.as_bytes().to_vec();
    for t in lex::Tokens::new(text, engine, Escapes::default_for(engine)) {
        if let Tok::ExecMark(start, end) = t {
            out[start..end].fill(b' ');
        }
    }
    // Only ASCII marker bytes were replaced by ASCII spaces.
    Cow::Owned(String::from_utf8(out).unwrap_or_else(|_| text.to_owned()))
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
