//! Column rules: `column.*` (nullability, defaults, types, comments, charsets, auto-increment,
//! changes to existing columns). Must not change the catalog.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, Expr, Statement, Visit, Visitor,
};

use super::{
    ColumnSource, ColumnSpec, Ctx, Emitter, Position, canonical_type, is_blob_or_text,
    is_char_type, is_integer_type, show, type_info_str,
};
use crate::review::Finding;
use crate::review::catalog::Table;
use crate::review::policy::Resolved;
use crate::review::registry::RuleId;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    for c in ctx.columns {
        each_column(ctx, c, em);
    }
    if let Statement::CreateTable(ct) = ctx.stmt {
        if let Some(rule) = em.on(RuleId::ColumnRequired) {
            let missing: Vec<&str> = rule
                .list()
                .iter()
                .filter(|req| {
                    !ct.columns
                        .iter()
                        .any(|c| c.name.value.eq_ignore_ascii_case(req))
                })
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                em.emit(RuleId::ColumnRequired, || {
                    format!(
                        "Table \"{}\" requires columns: {}",
                        show(&ct.name),
                        missing.join(", ")
                    )
                });
            }
        }
        if let Some(rule) = em.on(RuleId::ColumnAutoIncrementInitialValue) {
            let want = rule.number().unwrap_or(1);
            let opts = super::table::table_options(ct);
            if let Some((_, v)) = opts.iter().find(|(k, _)| k == "AUTO_INCREMENT")
                && v.parse::<i64>().ok() != Some(want)
            {
                em.emit(RuleId::ColumnAutoIncrementInitialValue, || {
                    format!(
                        "Table \"{}\": AUTO_INCREMENT starts at {v}, expected {want}",
                        show(&ct.name)
                    )
                });
            }
        }
        if em.on(RuleId::ColumnCurrentTimeCountLimit).is_some() {
            current_time_count(ct, em);
        }
    }
    if let Statement::AlterTable(at) = ctx.stmt {
        alter_existing(ctx, at, em);
    }
}

fn is_current_time(e: &Expr) -> bool {
    let s = e.to_string().to_ascii_uppercase();
    s.starts_with("CURRENT_TIMESTAMP") || s.starts_with("NOW(") || s.starts_with("LOCALTIMESTAMP")
}

fn current_time_count(ct: &sqlparser::ast::CreateTable, em: &mut Emitter<'_>) {
    let mut defaults = 0;
    let mut updates = 0;
    for c in &ct.columns {
        for o in &c.options {
            match &o.option {
                ColumnOption::Default(e) if is_current_time(e) => defaults += 1,
                ColumnOption::OnUpdate(e) if is_current_time(e) => updates += 1,
                _ => {}
            }
        }
    }
    if defaults > 2 {
        em.emit(RuleId::ColumnCurrentTimeCountLimit, || {
            format!(
                "Table \"{}\" has {defaults} columns defaulting to the current time; at most 2",
                show(&ct.name)
            )
        });
    }
    if updates > 1 {
        em.emit(RuleId::ColumnCurrentTimeCountLimit, || {
            format!(
                "Table \"{}\" has {updates} columns updated to the current time; at most 1",
                show(&ct.name)
            )
        });
    }
}

fn each_column(ctx: &Ctx<'_>, c: &ColumnSpec<'_>, em: &mut Emitter<'_>) {
    let t = &c.ty;
    let col = format!("{}.{}", show(c.table), c.name.value);
    if !c.not_null() {
        em.emit(RuleId::ColumnNoNull, || {
            format!("Column \"{col}\" must be NOT NULL")
        });
    }
    let auto = c.auto_increment();
    if ctx.mysql()
        && c.has(|o| matches!(o, ColumnOption::NotNull))
        && !c.has_default()
        && !c.is_pk()
        && !auto
        && !no_default_type(ctx, &t.base)
    {
        em.emit(RuleId::ColumnSetDefaultForNotNull, || {
            format!("NOT NULL column \"{col}\" needs a DEFAULT")
        });
    }
    if !c.has_default()
        && !c.is_pk()
        && !auto
        && !no_default_type(ctx, &t.base)
        && !c.has(|o| matches!(o, ColumnOption::Generated { .. }))
    {
        em.emit(RuleId::ColumnRequireDefault, || {
            format!("Column \"{col}\" needs a DEFAULT")
        });
    }
    if ctx.mysql()
        && let Some(rule) = em.on(RuleId::ColumnComment)
    {
        super::table::comment_check(rule, &col, c.comment(), |m| {
            em.emit(RuleId::ColumnComment, || m)
        });
    }
    if let Some(rule) = em.on(RuleId::ColumnTypeDisallowList) {
        let full = c.data_type.to_string();
        if rule.in_list(&t.base) || rule.in_list(&full) {
            em.emit(RuleId::ColumnTypeDisallowList, || {
                format!("Column \"{col}\" uses disallowed type {full}")
            });
        }
    }
    if let Some(rule) = em.on(RuleId::ColumnMaximumCharacterLength) {
        let limit = u64::try_from(rule.number().unwrap_or(20)).unwrap_or(0);
        if matches!(t.base.as_str(), "CHAR" | "CHARACTER")
            && t.args.first().is_some_and(|n| *n > limit)
        {
            em.emit(RuleId::ColumnMaximumCharacterLength, || {
                format!("Column \"{col}\": CHAR length over {limit}; use VARCHAR")
            });
        }
    }
    if let Some(rule) = em.on(RuleId::ColumnMaximumVarcharLength) {
        let limit = u64::try_from(rule.number().unwrap_or(2560)).unwrap_or(0);
        if matches!(t.base.as_str(), "VARCHAR" | "CHARACTER VARYING")
            && t.args.first().is_some_and(|n| *n > limit)
        {
            em.emit(RuleId::ColumnMaximumVarcharLength, || {
                format!("Column \"{col}\": VARCHAR length over {limit}")
            });
        }
    }
    if c.has(|o| matches!(o, ColumnOption::CharacterSet(_))) {
        em.emit(RuleId::ColumnDisallowSetCharset, || {
            format!("Setting a charset on column \"{col}\" is not allowed")
        });
    } else if ctx.mysql() && is_char_type(&t.base) {
        em.emit(RuleId::ColumnRequireCharset, || {
            format!("Column \"{col}\" must state a charset")
        });
    }
    if ctx.mysql() && is_char_type(&t.base) && !c.has(|o| matches!(o, ColumnOption::Collation(_))) {
        em.emit(RuleId::ColumnRequireCollation, || {
            format!("Column \"{col}\" must state a collation")
        });
    }
    if auto && c.has(crate::review::catalog::is_auto_increment) {
        if !is_integer_type(&t.base) {
            em.emit(RuleId::ColumnAutoIncrementMustInteger, || {
                format!("Auto-increment column \"{col}\" must be an integer")
            });
        }
        if !t.unsigned {
            em.emit(RuleId::ColumnAutoIncrementMustUnsigned, || {
                format!("Auto-increment column \"{col}\" must be UNSIGNED")
            });
        }
    }
    if ctx.pg()
        && c.source == ColumnSource::AddColumn
        && em.on(RuleId::ColumnDefaultDisallowVolatile).is_some()
    {
        for o in &c.options {
            if let ColumnOption::Default(e) = o
                && let Some(f) = volatile_call(e)
            {
                em.emit(RuleId::ColumnDefaultDisallowVolatile, || {
                    format!("Column \"{col}\" defaults to volatile {f}(), which rewrites the table")
                });
            }
        }
    }
    if matches!(c.source, ColumnSource::Change | ColumnSource::Modify)
        && let Some(old) = ctx.state.catalog.table(c.table).and_then(|t| {
            // CHANGE renames: look up the old name.
            old_name(ctx.stmt, &c.name.value)
                .and_then(|n| t.column(&n))
                .cloned()
        })
        && !same_type(&old.data_type, &c.data_type.to_string())
    {
        em.emit(RuleId::ColumnDisallowChangeType, || {
            format!(
                "Changing the type of \"{col}\" from {} to {} is not allowed",
                old.data_type, c.data_type
            )
        });
    }
}

/// Types that cannot (or need not) have a DEFAULT in MySQL.
fn no_default_type(ctx: &Ctx<'_>, base: &str) -> bool {
    base.contains("SERIAL") || (ctx.mysql() && mysql_no_default(base))
}

fn mysql_no_default(base: &str) -> bool {
    is_blob_or_text(base)
        || matches!(
            base,
            "JSON" | "GEOMETRY" | "POINT" | "LINESTRING" | "POLYGON"
        )
}

fn old_name(stmt: &Statement, new: &str) -> Option<String> {
    let Statement::AlterTable(at) = stmt else {
        return None;
    };
    at.operations.iter().find_map(|op| match op {
        AlterTableOperation::ChangeColumn {
            old_name, new_name, ..
        } if new_name.value == new => Some(old_name.value.clone()),
        AlterTableOperation::ModifyColumn { col_name, .. } if col_name.value == new => {
            Some(col_name.value.clone())
        }
        _ => None,
    })
}

fn same_type(a: &str, b: &str) -> bool {
    let (x, y) = (type_info_str(a), type_info_str(b));
    canonical_type(&x.base) == canonical_type(&y.base)
        && x.args == y.args
        && x.unsigned == y.unsigned
}

const VOLATILE: &[&str] = &[
    "CLOCK_TIMESTAMP",
    "RANDOM",
    "TIMEOFDAY",
    "GEN_RANDOM_UUID",
    "UUID_GENERATE_V1",
    "UUID_GENERATE_V4",
    "TXID_CURRENT",
    "SETSEED",
];

fn volatile_call(e: &Expr) -> Option<String> {
    struct Find(Option<String>);
    impl Visitor for Find {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Function(f) = e {
                let name = show(&f.name).to_ascii_uppercase();
                if VOLATILE.contains(&name.as_str()) {
                    self.0 = Some(name.to_lowercase());
                    return std::ops::ControlFlow::Break(());
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut f = Find(None);
    let _ = e.visit(&mut f);
    f.0
}

fn alter_existing(ctx: &Ctx<'_>, at: &sqlparser::ast::AlterTable, em: &mut Emitter<'_>) {
    let table = show(&at.name);
    let existing = ctx.state.catalog.table(&at.name);
    for op in &at.operations {
        match op {
            AlterTableOperation::AlterColumn { column_name, op } => {
                match op {
                    AlterColumnOperation::SetDataType { data_type, .. } => {
                        let old = existing.and_then(|t| t.column(&column_name.value));
                        if old.is_none_or(|o| !same_type(&o.data_type, &data_type.to_string())) {
                            em.emit(RuleId::ColumnDisallowChangeType, || format!("Changing the type of \"{table}.{}\" to {data_type} is not allowed", column_name.value),
                        );
                        }
                    }
                    AlterColumnOperation::DropNotNull => {
                        em.emit(RuleId::ColumnNoNull, || {
                            format!(
                                "Column \"{table}.{}\" must stay NOT NULL",
                                column_name.value
                            )
                        });
                    }
                    _ => {}
                }
            }
            AlterTableOperation::ChangeColumn {
                old_name,
                column_position,
                ..
            } => {
                em.emit(RuleId::ColumnDisallowChange, || {
                    format!(
                        "CHANGE COLUMN \"{table}.{}\" is not allowed",
                        old_name.value
                    )
                });
                if column_position.is_some() {
                    em.emit(RuleId::ColumnDisallowChangingOrder, || {
                        format!(
                            "Reordering column \"{table}.{}\" is not allowed",
                            old_name.value
                        )
                    });
                }
            }
            AlterTableOperation::ModifyColumn {
                col_name,
                column_position,
                ..
            } if column_position.is_some() => {
                em.emit(RuleId::ColumnDisallowChangingOrder, || {
                    format!(
                        "Reordering column \"{table}.{}\" is not allowed",
                        col_name.value
                    )
                });
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                for c in column_names {
                    if let Some(t) = existing
                        && t.indexes
                            .iter()
                            .any(|i| i.columns.iter().any(|x| x.eq_ignore_ascii_case(&c.value)))
                    {
                        em.emit(RuleId::ColumnDisallowDropInIndex, || {
                            format!(
                                "Column \"{table}.{}\" is part of an index and cannot be dropped",
                                c.value
                            )
                        });
                    }
                    if em
                        .on(RuleId::ColumnRequired)
                        .is_some_and(|r| r.in_list(&c.value))
                    {
                        em.emit(RuleId::ColumnRequired, || {
                            format!(
                                "Column \"{table}.{}\" is required and cannot be dropped",
                                c.value
                            )
                        });
                    }
                }
            }
            AlterTableOperation::RenameColumn {
                old_column_name, ..
            } if em
                .on(RuleId::ColumnRequired)
                .is_some_and(|r| r.in_list(&old_column_name.value)) =>
            {
                em.emit(RuleId::ColumnRequired, || {
                    format!(
                        "Column \"{table}.{}\" is required and cannot be renamed",
                        old_column_name.value
                    )
                });
            }
            _ => {}
        }
    }
}

/// PostgreSQL: column comments come from `COMMENT ON COLUMN`, checked at the end of the script.
pub(super) fn finish_comment(
    table: &Table,
    rules: &Resolved,
    out: &mut Vec<Finding>,
    pos: Position,
) {
    if let Some(rule) = rules.get(RuleId::ColumnComment) {
        for c in &table.columns {
            let name = format!("{}.{}", table.name, c.name);
            super::table::comment_check(rule, &name, c.comment.as_deref(), |m| {
                super::emit_at(rules, out, pos, RuleId::ColumnComment, m);
            });
        }
    }
}

#[cfg(test)]
#[path = "column_tests.rs"]
mod tests;
