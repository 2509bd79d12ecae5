//! Column rules: `column.*` (nullability, defaults, types, comments, charsets, auto-increment,
//! changes to existing columns). Must not change the catalog.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, Expr, Statement, Visit, Visitor,
};

use super::{
    ColumnSource, ColumnSpec, Ctx, Emitter, Position, ScriptState, canonical_type, is_blob_or_text,
    is_char_type, is_integer_type, show, type_info_str,
};
use crate::review::Finding;
use crate::review::catalog::Table;
use crate::review::policy::Resolved;
use crate::review::registry::RuleId;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    for c in ctx.columns {
        em.located(c.name.span, |em| each_column(ctx, c, em));
    }
    if let Statement::CreateTable(ct) = ctx.stmt {
        let opts = super::table::table_options(ct);
        if let Some((_, v)) = opts.iter().find(|(k, _)| k == "AUTO_INCREMENT") {
            auto_increment_start(&ct.name, v, em);
        }
    }
    if let Statement::AlterTable(at) = ctx.stmt {
        for op in &at.operations {
            if let AlterTableOperation::AutoIncrement { value, .. } = op {
                auto_increment_start(&at.name, &value.value.to_string(), em);
            }
        }
        alter_existing(ctx, at, em);
    }
}

/// `column.auto-increment-initial-value`: a table's `AUTO_INCREMENT = n` option, in `CREATE TABLE`
/// or `ALTER TABLE`, must set the configured start value.
fn auto_increment_start(table: &sqlparser::ast::ObjectName, v: &str, em: &mut Emitter<'_>) {
    let Some(rule) = em.on(RuleId::ColumnAutoIncrementInitialValue) else {
        return;
    };
    let want = rule.number().unwrap_or(1);
    if v.parse::<i64>().ok() != Some(want) {
        em.emit(RuleId::ColumnAutoIncrementInitialValue, || {
            format!(
                "Table \"{}\": AUTO_INCREMENT starts at {v}, expected {want}",
                show(table)
            )
        });
    }
}

fn is_current_time(e: &Expr) -> bool {
    let s = e.to_string().to_ascii_uppercase();
    s.starts_with("CURRENT_TIMESTAMP") || s.starts_with("NOW(") || s.starts_with("LOCALTIME")
}

/// Counts the statement's columns (CREATE TABLE or added/changed by ALTER TABLE) that default
/// to or update to the current time; judged at the end of the script, as Bytebase does.
pub(super) fn track_current_time(
    state: &mut ScriptState,
    columns: &[super::ColumnSpec<'_>],
    em: &Emitter<'_>,
) {
    if em.on(RuleId::ColumnCurrentTimeCountLimit).is_none() {
        return;
    }
    for c in columns {
        let default = c.has(|o| matches!(o, ColumnOption::Default(e) if is_current_time(e)));
        let update = c.has(|o| matches!(o, ColumnOption::OnUpdate(e) if is_current_time(e)));
        if !default && !update {
            continue;
        }
        let key = state.catalog.key(c.table);
        let count = state.current_time.entry(key).or_default();
        count.name = super::super::catalog::last_name(c.table);
        count.defaults += usize::from(default);
        count.updates += usize::from(update);
        count.pos = Some(em.at(c.name.span));
    }
}

/// Reports the tables over the limits at the end of the script, at the last such column.
pub(super) fn finish_current_time(state: &ScriptState, rules: &Resolved, out: &mut Vec<Finding>) {
    let mut over: Vec<(&super::context::CurrentTimeCount, Position)> = state
        .current_time
        .values()
        .filter_map(|c| c.pos.map(|p| (c, p)))
        .collect();
    over.sort_by_key(|(_, p)| (p.index, p.line));
    for (c, pos) in over {
        let name = &c.name;
        if c.defaults > 2 {
            let m = format!(
                "Table \"{name}\" has {} columns defaulting to the current time; at most 2",
                c.defaults
            );
            super::emit_at(rules, out, pos, RuleId::ColumnCurrentTimeCountLimit, m);
        }
        if c.updates > 1 {
            let m = format!(
                "Table \"{name}\" has {} columns updated to the current time; at most 1",
                c.updates
            );
            super::emit_at(rules, out, pos, RuleId::ColumnCurrentTimeCountLimit, m);
        }
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
    // PostgreSQL (as Bytebase): key columns need a DEFAULT too; only serial types have one.
    if !c.has_default()
        && (ctx.pg() || !c.is_pk())
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
        // ZEROFILL makes a MySQL column UNSIGNED.
        let zerofill = c
            .data_type
            .to_string()
            .to_ascii_uppercase()
            .contains("ZEROFILL");
        if !t.unsigned && !zerofill {
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
                    format!("Column \"{col}\" has a volatile DEFAULT {f}()")
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
            "JSON"
                | "GEOMETRY"
                | "POINT"
                | "LINESTRING"
                | "POLYGON"
                | "MULTIPOINT"
                | "MULTILINESTRING"
                | "MULTIPOLYGON"
                | "GEOMETRYCOLLECTION"
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

// `now()` is stable in PostgreSQL, but Bytebase counts it among the volatile defaults.
const VOLATILE: &[&str] = &[
    "NOW",
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
                        if let Some(rule) = em.on(RuleId::ColumnMaximumCharacterLength) {
                            let limit = u64::try_from(rule.number().unwrap_or(20)).unwrap_or(0);
                            let t = type_info_str(&data_type.to_string());
                            if matches!(t.base.as_str(), "CHAR" | "CHARACTER")
                                && t.args.first().is_some_and(|n| *n > limit)
                            {
                                em.emit(RuleId::ColumnMaximumCharacterLength, || {
                                    format!(
                                        "Column \"{table}.{}\": CHAR length over {limit}; use VARCHAR",
                                        column_name.value
                                    )
                                });
                            }
                        }
                        let old = existing.and_then(|t| t.column(&column_name.value));
                        // PostgreSQL: any SET DATA TYPE rewrites or rechecks the column.
                        if ctx.pg()
                            || old.is_none_or(|o| !same_type(&o.data_type, &data_type.to_string()))
                        {
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
                }
            }
            _ => {}
        }
    }
}

/// PostgreSQL: column comments come from `COMMENT ON COLUMN`, checked at the end of the script
/// (a missing one reported where the table was created, one that breaks the rule where it was
/// set: `comment_pos` of the column's name).
pub(super) fn finish_comment(
    table: &Table,
    rules: &Resolved,
    out: &mut Vec<Finding>,
    pos: Position,
    comment_pos: impl Fn(&str) -> Option<Position>,
) {
    if let Some(rule) = rules.get(RuleId::ColumnComment) {
        for c in &table.columns {
            let name = format!("{}.{}", table.name, c.name);
            let comment = c.comment.as_deref();
            let at = super::table::comment_position(comment, pos, comment_pos(&c.name));
            super::table::comment_check(rule, &name, comment, |m| {
                super::emit_at(rules, out, at, RuleId::ColumnComment, m);
            });
        }
    }
}

#[cfg(test)]
#[path = "column_tests.rs"]
mod tests;
