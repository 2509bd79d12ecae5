//! Index rules: `index.*` (duplicate columns, key counts, primary key types, BLOB indexes,
//! index methods, CONCURRENTLY, indexes per table). Must not change the catalog.

use sqlparser::ast::{ObjectName, ObjectType, Statement};

use super::{
    Ctx, Emitter, IndexKind, ScriptState, canonical_type, column_type, is_blob_or_text,
    leading_words, show, type_info_str,
};
use crate::review::Finding;
use crate::review::policy::Resolved;
use crate::review::registry::RuleId;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let statement_pos = em.pos;
    for s in ctx.indexes {
        // Findings about a key point at its definition.
        em.pos = statement_pos;
        em.pos = em.at(s.span);
        let label = s
            .name
            .clone()
            .unwrap_or_else(|| format!("on {}", show(s.table)));
        let mut seen: Vec<String> = Vec::new();
        for c in &s.columns {
            let lc = c.to_lowercase();
            if seen.contains(&lc) {
                em.emit(RuleId::IndexNoDuplicateColumn, || {
                    format!("Index {label} lists column \"{c}\" twice")
                });
            }
            seen.push(lc);
        }
        // FULLTEXT and SPATIAL indexes are not held to the key-count limit (as in Bytebase).
        if let Some(rule) = em.on(RuleId::IndexKeyNumberLimit)
            && s.kind != IndexKind::FullText
        {
            let limit = usize::try_from(rule.number().unwrap_or(5)).unwrap_or(0);
            if limit > 0 && s.columns.len() > limit {
                em.emit(RuleId::IndexKeyNumberLimit, || {
                    format!(
                        "Index {label} has {} columns, more than {limit}",
                        s.columns.len()
                    )
                });
            }
        }
        if s.kind == IndexKind::Foreign {
            continue;
        }
        if s.kind == IndexKind::Primary {
            for c in &s.columns {
                let Some(ty) = column_type(ctx, s.table, c) else {
                    continue;
                };
                let t = type_info_str(&ty);
                let base = canonical_type(&t.base);
                if !matches!(base, "INT" | "BIGINT") {
                    em.emit(RuleId::IndexPkTypeLimit, || {
                        format!("Primary key column \"{c}\" must be INT or BIGINT, not {ty}")
                    });
                }
                if let Some(rule) = em.on(RuleId::IndexPrimaryKeyTypeAllowlist)
                    && !rule
                        .list()
                        .iter()
                        .any(|a| canonical_type(&a.to_ascii_uppercase()) == base)
                {
                    // At the column's definition when the statement has it (its type is the
                    // problem), as Bytebase reports it.
                    let span = ctx
                        .columns
                        .iter()
                        .find(|d| d.name.value.eq_ignore_ascii_case(c))
                        .map_or_else(sqlparser::tokenizer::Span::empty, |d| d.name.span);
                    let at = em.pos;
                    if span != sqlparser::tokenizer::Span::empty() {
                        em.pos = statement_pos;
                        em.pos = em.at(span);
                    }
                    em.emit(RuleId::IndexPrimaryKeyTypeAllowlist, || {
                        format!(
                            "Primary key column \"{c}\" has type {ty}, not one of {}",
                            rule.list().join(", ")
                        )
                    });
                    em.pos = at;
                }
            }
        }
        if em.on(RuleId::IndexTypeNoBlob).is_some() {
            for c in &s.columns {
                if let Some(ty) = column_type(ctx, s.table, c)
                    && is_blob_or_text(&type_info_str(&ty).base)
                {
                    em.emit(RuleId::IndexTypeNoBlob, || {
                        format!("Index {label} is on {ty} column \"{c}\"")
                    });
                }
            }
        }
        if let Some(rule) = em.on(RuleId::IndexTypeAllowList)
            && let Some(using) = &s.using
        {
            let using = using
                .trim_start_matches("USING ")
                .trim()
                .to_ascii_uppercase();
            if !rule.in_list(&using) {
                em.emit(RuleId::IndexTypeAllowList, || {
                    format!(
                        "Index {label} uses type {using}, not one of {}",
                        rule.list().join(", ")
                    )
                });
            }
        }
    }
    em.pos = statement_pos;
    if ctx.pg() {
        match ctx.stmt {
            Statement::CreateIndex(ci) if !ci.concurrently && !ctx.state.is_new(&ci.table_name) => {
                em.emit(RuleId::IndexCreateConcurrently, || {
                    format!(
                        "Create the index on existing table \"{}\" CONCURRENTLY",
                        show(&ci.table_name)
                    )
                })
            }
            Statement::Drop {
                object_type: ObjectType::Index,
                ..
            } if !leading_words(ctx.text, 3)
                .iter()
                .any(|w| w == "CONCURRENTLY") =>
            {
                em.emit(RuleId::IndexCreateConcurrently, || {
                    "Drop the index CONCURRENTLY".to_owned()
                });
            }
            _ => {}
        }
    }
}

/// Rules that look at a table after the statement changed it.
pub(super) fn after_apply(state: &mut ScriptState, stmt: &Statement, em: &mut Emitter<'_>) {
    let Some(rule) = em.on(RuleId::IndexTotalNumberLimit) else {
        return;
    };
    let limit = usize::try_from(rule.number().unwrap_or(5)).unwrap_or(0);
    let table: Option<&ObjectName> = match stmt {
        Statement::CreateTable(ct) => Some(&ct.name),
        Statement::CreateIndex(ci) => Some(&ci.table_name),
        Statement::AlterTable(at) => Some(&at.name),
        _ => None,
    };
    // Judged at the end of the script, at the last statement that added to the table.
    if let Some(name) = table
        && let Some(t) = state.catalog.table(name)
    {
        let key = state.catalog.key(name);
        if limit > 0 && t.indexes.len() > limit {
            let entry = (em.pos, t.name.clone());
            state.index_over.insert(key, entry);
        } else {
            state.index_over.remove(&key);
        }
    }
}

/// Reports the tables still over `index.total-number-limit` at the end of the script.
pub(super) fn finish(state: &ScriptState, rules: &Resolved, out: &mut Vec<Finding>) {
    let Some(rule) = rules.get(RuleId::IndexTotalNumberLimit) else {
        return;
    };
    let limit = usize::try_from(rule.number().unwrap_or(5)).unwrap_or(0);
    let mut over: Vec<_> = state.index_over.iter().collect();
    over.sort_by_key(|(_, (p, _))| p.index);
    for (key, (pos, name)) in over {
        if let Some(t) = state.catalog.table_by_key(key)
            && limit > 0
            && t.indexes.len() > limit
        {
            super::emit_at(
                rules,
                out,
                *pos,
                RuleId::IndexTotalNumberLimit,
                format!(
                    "Table \"{name}\" has {} indexes, more than {limit}",
                    t.indexes.len()
                ),
            );
        }
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
