//! Review rules, one file per rule family, plus what they share: where findings go
//! ([`emit`]), the per-script state and the statement's context ([`context`]), data type
//! helpers ([`types`]) and what a statement defines ([`extract`]). Rules only read the
//! statement and the catalog state before it; the walk-through here updates the catalog.

use sqlparser::ast::{ObjectName, Statement};

use super::catalog::WalkIssue;
use super::policy::Resolved;
use super::registry::RuleId;
use super::{Engine, Finding};

mod column;
mod context;
mod emit;
mod extract;
mod facts;
mod index;
mod mysql_keywords;
mod naming;
mod schema;
mod script_end;
mod statement;
mod system;
mod table;
#[cfg(test)]
pub(crate) mod testing;
mod types;
mod where_calc;

pub(crate) use context::{Ctx, ScriptState, column_type};
pub(crate) use emit::{Emitter, Position, emit_at};
pub(crate) use extract::{
    ColumnSource, ColumnSpec, IndexKind, IndexSpec, column_specs, ddl_tables, index_specs,
    leading_words, literal_insert, show,
};
pub(crate) use facts::check_facts;
pub(crate) use types::{
    TypeInfo, canonical_type, is_blob_or_text, is_char_type, is_integer_type, type_info_str,
};

/// Runs every rule family on one parsed statement, then walks it through the catalog.
pub(crate) fn check_statement(
    state: &mut ScriptState,
    stmt: &Statement,
    text: &str,
    em: &mut Emitter<'_>,
) {
    let columns = column_specs(stmt);
    let indexes = index_specs(stmt);
    {
        let ctx = Ctx {
            engine: state.engine,
            stmt,
            columns: &columns,
            indexes: &indexes,
            literal_insert: literal_insert(stmt),
            text,
            state,
        };
        table::check(&ctx, em);
        column::check(&ctx, em);
        index::check(&ctx, em);
        naming::check(&ctx, em);
        statement::check(&ctx, em);
        schema::check(&ctx, em);
        system::check(&ctx, em);
    }
    track(state, stmt, &columns, &indexes, em);
    let before = script_end::before(state, stmt, em);
    let issues = state.catalog.apply(stmt);
    script_end::after(state, stmt, &before, em);
    for issue in issues {
        match issue {
            WalkIssue::Duplicate(m) => em.emit(RuleId::BuiltinWalkThroughCheck, || m),
            WalkIssue::Unknown(m) if state.has_schema => {
                em.emit(RuleId::BuiltinWalkThroughCheck, || m);
            }
            WalkIssue::Unknown(_) => {}
        }
    }
    if let Statement::CreateTable(ct) = stmt {
        let key = state.catalog.key(&ct.name);
        state.created.entry(key).or_insert(em.pos);
    }
    index::after_apply(state, stmt, em);
}

/// Text-level checks for a statement the parser could not read.
pub(crate) fn check_unparsed(state: &mut ScriptState, text: &str, em: &mut Emitter<'_>) {
    table::check_text(state.engine, text, em);
    system::check_text(state.engine, text, em);
    statement::check_text(state.engine, text, em);
}

/// Script-level state updates and the rules that need them.
fn track(
    state: &mut ScriptState,
    stmt: &Statement,
    columns: &[ColumnSpec<'_>],
    indexes: &[IndexSpec<'_>],
    em: &mut Emitter<'_>,
) {
    statement::track_script(state, stmt, em);
    column::track_current_time(state, columns, em);
    track_comment(state, stmt, em);
    table::track_indexes(state, indexes, em);
    if let Some(table) = changed_table(stmt) {
        let key = state.catalog.key(table);
        let n = state.table_changes.entry(key).or_insert(0);
        *n += 1;
        if *n == 2 {
            em.emit(RuleId::StatementMergeAlterTable, || format!(
                    "There are several statements changing table {}; merge them into one ALTER TABLE",
                    super::catalog::last_name(table)
                ),
            );
        }
    }
}

/// Records where `COMMENT ON TABLE|COLUMN` set a comment (a comment that breaks the rule is
/// reported there, as Bytebase does).
fn track_comment(state: &mut ScriptState, stmt: &Statement, em: &Emitter<'_>) {
    let Statement::Comment {
        object_type,
        object_name,
        ..
    } = stmt
    else {
        return;
    };
    let key = match object_type {
        sqlparser::ast::CommentObject::Table => state.catalog.key(object_name),
        sqlparser::ast::CommentObject::Column if object_name.0.len() >= 2 => {
            let parts = &object_name.0[..object_name.0.len() - 1];
            let table = state.catalog.key(&ObjectName(parts.to_vec()));
            comment_key(&table, &super::catalog::last_name(object_name))
        }
        _ => return,
    };
    state.comment_at.insert(key, em.pos);
}

/// The key of a column's entry in [`ScriptState::comment_at`].
fn comment_key(table_key: &str, column: &str) -> String {
    format!("{table_key}\u{0}{}", column.to_lowercase())
}

fn changed_table(stmt: &Statement) -> Option<&ObjectName> {
    match stmt {
        Statement::CreateTable(ct) => Some(&ct.name),
        Statement::AlterTable(at) => Some(&at.name),
        _ => None,
    }
}

/// End-of-script rules (comments set by later `COMMENT ON`, script-wide requirements).
pub(crate) fn finish(state: &mut ScriptState, rules: &Resolved, out: &mut Vec<Finding>) {
    let mut created: Vec<(&String, &Position)> = state.created.iter().collect();
    created.sort_by_key(|(_, p)| p.index);
    let comments_later = state.engine == Engine::Postgres;
    for (key, pos) in created {
        let Some(table) = state.catalog.table_by_key(key) else {
            continue;
        };
        if comments_later {
            let at = |k: &str| state.comment_at.get(k).copied();
            table::finish_comment(table, rules, out, *pos, at(key));
            column::finish_comment(table, rules, out, *pos, |c| at(&comment_key(key, c)));
        }
    }
    script_end::finish(state, rules, out);
    column::finish_current_time(state, rules, out);
    index::finish(state, rules, out);
}
