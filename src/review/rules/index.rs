//! Index rules: `index.*` (duplicate columns, key counts, primary key types, BLOB indexes,
//! index methods, CONCURRENTLY, indexes per table). Must not change the catalog.

use sqlparser::ast::{ObjectName, ObjectType, Statement};

use super::{
    Ctx, Emitter, IndexKind, ScriptState, canonical_type, column_type, is_blob_or_text,
    leading_words, show, type_info_str,
};
use crate::review::registry::RuleId;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    for s in ctx.indexes {
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
        if s.kind == IndexKind::Foreign {
            continue;
        }
        if let Some(rule) = em.on(RuleId::IndexKeyNumberLimit) {
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
                    em.emit(RuleId::IndexPrimaryKeyTypeAllowlist, || {
                        format!(
                            "Primary key column \"{c}\" has type {ty}, not one of {}",
                            rule.list().join(", ")
                        )
                    });
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
    if let Some(t) = table.and_then(|n| state.catalog.table(n))
        && limit > 0
        && t.indexes.len() > limit
    {
        em.emit(RuleId::IndexTotalNumberLimit, || {
            format!(
                "Table \"{}\" has {} indexes, more than {limit}",
                t.name,
                t.indexes.len()
            )
        });
    }
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
