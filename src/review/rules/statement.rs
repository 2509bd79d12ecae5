//! Statement rules: `statement.*` (WHERE requirements, SELECT *, INSERT shape, cascades,
//! PostgreSQL online-DDL advice, MySQL ALTER options, transactions). Must not change the catalog.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, BinaryOperator, ColumnOption, Expr, ObjectType,
    ReferentialAction, SelectItem, SetExpr, Spanned, Statement, TableConstraint, Value, Visit,
    Visitor,
};

use super::{Ctx, Emitter, IndexKind, ScriptState, leading_words, show};
use crate::review::registry::RuleId;
use crate::review::{ChangeType, Engine};

/// Facts gathered in one walk over a statement's expressions and SELECTs.
#[derive(Default)]
struct Scan {
    /// Where each `SELECT *` starts.
    select_star: Vec<sqlparser::tokenizer::Span>,
    /// Where the first `SELECT … FROM` without a `WHERE` starts.
    select_without_where: Option<sqlparser::tokenizer::Span>,
    /// Each leading-wildcard pattern and where it is.
    leading_wildcard: Vec<(String, sqlparser::tokenizer::Span)>,
    equal_null: bool,
    max_in_list: usize,
    max_or_chain: usize,
    order_by_rand: bool,
}

fn or_leaves(e: &Expr) -> usize {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => or_leaves(left) + or_leaves(right),
        Expr::Nested(inner) => or_leaves(inner),
        _ => 1,
    }
}

fn is_rand(e: &Expr) -> bool {
    matches!(e, Expr::Function(f) if matches!(show(&f.name).to_ascii_uppercase().as_str(), "RAND" | "RANDOM"))
}

impl Visitor for Scan {
    type Break = ();

    fn pre_visit_select(&mut self, select: &sqlparser::ast::Select) -> ControlFlow<()> {
        if select.projection.iter().any(|p| {
            matches!(
                p,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        }) {
            self.select_star.push(select.select_token.0.span);
        }
        if !select.from.is_empty() && select.selection.is_none() {
            self.select_without_where
                .get_or_insert(select.select_token.0.span);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        match e {
            Expr::Like {
                negated: _,
                pattern,
                ..
            }
            | Expr::ILike { pattern, .. } => {
                if let Expr::Value(v) = pattern.as_ref()
                    && let Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) = &v.value
                    && s.starts_with('%')
                {
                    self.leading_wildcard.push((s.clone(), v.span));
                }
            }
            Expr::BinaryOp { left, op, right } => {
                let null = |x: &Expr| matches!(x, Expr::Value(v) if v.value == Value::Null);
                if matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq)
                    && (null(left) || null(right))
                {
                    self.equal_null = true;
                }
                if *op == BinaryOperator::Or {
                    self.max_or_chain = self.max_or_chain.max(or_leaves(e));
                }
            }
            Expr::In {
                target: sqlparser::ast::InTarget::List(list),
                ..
            } => self.max_in_list = self.max_in_list.max(list.len()),
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_order_by_expr(&mut self, o: &sqlparser::ast::OrderByExpr) -> ControlFlow<()> {
        if is_rand(&o.expr) {
            self.order_by_rand = true;
        }
        ControlFlow::Continue(())
    }
}

const SCAN_RULES: &[RuleId] = &[
    RuleId::StatementSelectNoSelectAll,
    RuleId::StatementWhereRequireSelect,
    RuleId::StatementWhereNoLeadingWildcardLike,
    RuleId::StatementWhereNoEqualNull,
    RuleId::StatementWhereMaximumLogicalOperatorCount,
    RuleId::StatementInsertDisallowOrderByRand,
];

/// Statements that change data (for `statement.disallow-mix-in-*`).
fn is_dml(stmt: &Statement) -> bool {
    matches!(
        stmt,
        Statement::Insert(_) | Statement::Update(_) | Statement::Delete(_) | Statement::Merge(_)
    )
}

/// Statements that define or change objects.
fn is_ddl(stmt: &Statement) -> bool {
    let text = leading_words(&stmt.to_string(), 1);
    matches!(
        text.first().map(String::as_str),
        Some("CREATE" | "ALTER" | "DROP" | "TRUNCATE" | "RENAME" | "COMMENT")
    )
}

/// A declared DDL change holding DML, or a declared DML change holding DDL.
fn mixed(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    match em.rules.change_type {
        Some(ChangeType::Ddl) if is_dml(ctx.stmt) => {
            em.emit(RuleId::StatementDisallowMixInDdl, || {
                "A schema change (DDL) may not change data; move this statement to a data change"
                    .to_owned()
            });
        }
        Some(ChangeType::Dml) if is_ddl(ctx.stmt) => {
            em.emit(RuleId::StatementDisallowMixInDml, || {
                "A data change (DML) may not change the schema; move this statement to a schema change"
                    .to_owned()
            });
            // The part of the prior-backup check that needs no database: only DML is backed up.
            em.emit(RuleId::BuiltinPriorBackupCheck, || {
                "A data change backed up before it runs may hold only DML; this statement is not DML"
                    .to_owned()
            });
        }
        _ => {}
    }
}

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    mixed(ctx, em);
    if SCAN_RULES.iter().any(|r| em.on(*r).is_some())
        && !matches!(ctx.stmt, Statement::CreateTable(_))
        && !ctx.literal_insert
    {
        scan_rules(ctx, em);
    }
    match ctx.stmt {
        Statement::Update(u) => {
            if u.selection.is_none() {
                em.emit(RuleId::StatementWhereRequireUpdateDelete, || {
                    "UPDATE requires a WHERE clause".to_owned()
                });
            }
            if u.limit.is_some() {
                em.emit(RuleId::StatementDisallowLimit, || {
                    "LIMIT is not allowed in UPDATE".to_owned()
                });
            }
            if !u.order_by.is_empty() {
                em.emit(RuleId::StatementDisallowOrderBy, || {
                    "ORDER BY is not allowed in UPDATE".to_owned()
                });
            }
        }
        Statement::Insert(ins) if ins.source.as_deref().is_some_and(query_has_limit) => {
            em.emit(RuleId::StatementDisallowLimit, || {
                "LIMIT is not allowed in INSERT … SELECT".to_owned()
            });
        }
        Statement::Delete(d) => {
            if d.selection.is_none() {
                em.emit(RuleId::StatementWhereRequireUpdateDelete, || {
                    "DELETE requires a WHERE clause".to_owned()
                });
            }
            if d.limit.is_some() {
                em.emit(RuleId::StatementDisallowLimit, || {
                    "LIMIT is not allowed in DELETE".to_owned()
                });
            }
            if !d.order_by.is_empty() {
                em.emit(RuleId::StatementDisallowOrderBy, || {
                    "ORDER BY is not allowed in DELETE".to_owned()
                });
            }
        }
        Statement::Insert(i) => insert(i, em),
        Statement::Truncate(t) => {
            // One finding per table, at the table's line.
            for target in &t.table_names {
                em.emit_span(
                    RuleId::StatementDisallowTruncate,
                    target.name.span(),
                    || format!("TRUNCATE of \"{}\" is not allowed", show(&target.name)),
                );
            }
            if t.cascade == Some(sqlparser::ast::CascadeOption::Cascade) {
                em.emit(RuleId::StatementDisallowRmTblCascade, || {
                    "TRUNCATE … CASCADE is not allowed".to_owned()
                });
            }
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            cascade: true,
            ..
        } => em.emit(RuleId::StatementDisallowRmTblCascade, || {
            "DROP TABLE … CASCADE is not allowed".to_owned()
        }),
        Statement::Commit { .. } => em.emit(RuleId::StatementDisallowCommit, || {
            "COMMIT is not allowed in a change script".to_owned()
        }),
        Statement::AlterTable(at) => alter_table(ctx, at, em),
        Statement::CreateTable(ct) if ct.name.0.len() < 2 => em
            .emit(RuleId::StatementCreateSpecifySchema, || {
                format!("CREATE TABLE \"{}\" must name its schema", show(&ct.name))
            }),
        Statement::CreateView(v) if v.name.0.len() < 2 => em
            .emit(RuleId::StatementCreateSpecifySchema, || {
                format!("CREATE VIEW \"{}\" must name its schema", show(&v.name))
            }),
        Statement::CreateSequence { name, .. } if name.0.len() < 2 => em
            .emit(RuleId::StatementCreateSpecifySchema, || {
                format!("CREATE SEQUENCE \"{}\" must name its schema", show(name))
            }),
        _ => {}
    }
    if em.on(RuleId::StatementDisallowOnDelCascade).is_some() {
        for spec in ctx.indexes {
            if spec
                .fk
                .is_some_and(|fk| fk.on_delete == Some(ReferentialAction::Cascade))
            {
                em.emit(RuleId::StatementDisallowOnDelCascade, || {
                    format!(
                        "ON DELETE CASCADE is not allowed (table \"{}\")",
                        show(spec.table)
                    )
                });
            }
        }
    }
    if em.on(RuleId::StatementNonTransactional).is_some() {
        non_transactional(ctx.engine, ctx.text, em);
    }
    if em
        .on(RuleId::StatementWhereDisallowFunctionsAndCalculations)
        .is_some()
    {
        super::where_calc::check(ctx, em);
    }
}

/// Whether the query (or the parenthesised query it is) has a LIMIT.
fn query_has_limit(q: &sqlparser::ast::Query) -> bool {
    q.limit_clause.is_some()
        || matches!(q.body.as_ref(), SetExpr::Query(inner) if query_has_limit(inner))
}

/// Where a scan finding goes: Bytebase reports PostgreSQL ones at the statement, MySQL ones at
/// the element (the `SELECT *`, the pattern, the query without `WHERE`).
fn element_span(ctx: &Ctx<'_>, span: sqlparser::tokenizer::Span) -> sqlparser::tokenizer::Span {
    if ctx.pg() {
        sqlparser::tokenizer::Span::empty()
    } else {
        span
    }
}

fn scan_rules(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let mut scan = Scan::default();
    let _ = ctx.stmt.visit(&mut scan);
    // Bytebase reports each MySQL `SELECT *` at its line, PostgreSQL statements once.
    let stars = if ctx.pg() {
        &scan.select_star[..scan.select_star.len().min(1)]
    } else {
        &scan.select_star[..]
    };
    for span in stars {
        let span = element_span(ctx, *span);
        em.emit_span(RuleId::StatementSelectNoSelectAll, span, || {
            "SELECT * is not allowed; list the columns".to_owned()
        });
    }
    if let Some(span) = scan.select_without_where {
        // MySQL: at the (sub)query that lacks it, as Bytebase reports it.
        let span = element_span(ctx, span);
        em.emit_span(RuleId::StatementWhereRequireSelect, span, || {
            "SELECT requires a WHERE clause".to_owned()
        });
    }
    // Bytebase reports PostgreSQL statements once, MySQL patterns one by one.
    let patterns = if ctx.pg() {
        &scan.leading_wildcard[..scan.leading_wildcard.len().min(1)]
    } else {
        &scan.leading_wildcard[..]
    };
    for (p, span) in patterns {
        let span = element_span(ctx, *span);
        em.emit_span(RuleId::StatementWhereNoLeadingWildcardLike, span, || {
            format!("LIKE '{p}' has a leading wildcard, which cannot use an index")
        });
    }
    if scan.equal_null {
        em.emit(RuleId::StatementWhereNoEqualNull, || {
            "= NULL is never true; use IS NULL".to_owned()
        });
    }
    if let Some(rule) = em.on(RuleId::StatementWhereMaximumLogicalOperatorCount) {
        let limit = usize::try_from(rule.number().unwrap_or(10)).unwrap_or(0);
        if scan.max_in_list > limit {
            em.emit(RuleId::StatementWhereMaximumLogicalOperatorCount, || {
                format!("IN list has {} items, more than {limit}", scan.max_in_list)
            });
        }
        if scan.max_or_chain > limit {
            em.emit(RuleId::StatementWhereMaximumLogicalOperatorCount, || {
                format!(
                    "OR chain has {} operands, more than {limit}",
                    scan.max_or_chain
                )
            });
        }
    }
    if scan.order_by_rand && matches!(ctx.stmt, Statement::Insert(_)) {
        em.emit(RuleId::StatementInsertDisallowOrderByRand, || {
            "ORDER BY RAND() is not allowed in INSERT … SELECT".to_owned()
        });
    }
}

fn insert(i: &sqlparser::ast::Insert, em: &mut Emitter<'_>) {
    if i.columns.is_empty() && i.assignments.is_empty() {
        em.emit(RuleId::StatementInsertMustSpecifyColumn, || {
            "INSERT must list its columns".to_owned()
        });
    }
    if let Some(rule) = em.on(RuleId::StatementInsertRowLimit)
        && let Some(SetExpr::Values(v)) = i.source.as_ref().map(|q| q.body.as_ref())
    {
        let limit = usize::try_from(rule.number().unwrap_or(1000)).unwrap_or(0);
        if limit > 0 && v.rows.len() > limit {
            em.emit(RuleId::StatementInsertRowLimit, || {
                format!("INSERT adds {} rows, more than {limit}", v.rows.len())
            });
        }
    }
}

fn alter_table(ctx: &Ctx<'_>, at: &sqlparser::ast::AlterTable, em: &mut Emitter<'_>) {
    let table = show(&at.name);
    let new_table = ctx.state.is_new(&at.name);
    let mut algorithm = false;
    let mut lock = false;
    for op in &at.operations {
        match op {
            AlterTableOperation::AddColumn { column_def, .. }
                if column_def
                    .options
                    .iter()
                    .any(|o| matches!(o.option, ColumnOption::Default(_))) =>
            {
                em.emit(RuleId::StatementDisallowAddColumnWithDefault, || {
                    format!(
                        "Adding column \"{}\" with a DEFAULT to \"{table}\" may rewrite the table",
                        column_def.name.value
                    )
                });
            }
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::Check(_),
                not_valid: false,
            } if !new_table => em.emit(RuleId::StatementAddCheckNotValid, || {
                format!("Add the CHECK constraint on \"{table}\" as NOT VALID, then VALIDATE it")
            }),
            AlterTableOperation::AlterColumn {
                column_name,
                op: AlterColumnOperation::SetNotNull,
            } => em.emit(RuleId::StatementDisallowAddNotNull, || {
                format!(
                    "SET NOT NULL on \"{table}.{}\" scans the table under an exclusive lock",
                    column_name.value
                )
            }),
            AlterTableOperation::Algorithm { .. } => algorithm = true,
            AlterTableOperation::Lock { .. } => lock = true,
            _ => {}
        }
    }
    // Also on a table this script created, as Bytebase does: the referenced table is locked
    // while the rows are checked, and it may be an existing, busy one.
    for spec in ctx.indexes {
        if spec.kind == IndexKind::Foreign && spec.on_existing && !spec.not_valid {
            em.emit(RuleId::StatementAddForeignKeyNotValid, || {
                format!("Add the foreign key on \"{table}\" as NOT VALID, then VALIDATE it")
            });
        }
    }
    if !algorithm {
        em.emit(RuleId::StatementRequireAlgorithmOption, || {
            format!("ALTER TABLE \"{table}\" must state ALGORITHM=")
        });
    }
    if !lock {
        em.emit(RuleId::StatementRequireLockOption, || {
            format!("ALTER TABLE \"{table}\" must state LOCK=")
        });
    }
}

/// PostgreSQL statements that cannot run inside a transaction block.
fn non_transactional(engine: Engine, text: &str, em: &mut Emitter<'_>) {
    if engine != Engine::Postgres {
        return;
    }
    let w = leading_words(text, 5);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    let hit = match w.as_slice() {
        ["CREATE", "INDEX", "CONCURRENTLY", ..]
        | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..]
        | ["DROP", "INDEX", "CONCURRENTLY", ..]
        | ["VACUUM", ..]
        | ["CREATE", "DATABASE", ..]
        | ["DROP", "DATABASE", ..]
        | ["ALTER", "SYSTEM", ..]
        | ["CREATE", "TABLESPACE", ..]
        | ["DROP", "TABLESPACE", ..] => true,
        ["REINDEX", ..] | ["DETACH", ..] => w.contains(&"CONCURRENTLY"),
        ["ALTER", "TABLE", ..] => {
            text.to_ascii_uppercase().contains("DETACH PARTITION")
                && text.to_ascii_uppercase().contains("CONCURRENTLY")
        }
        _ => false,
    };
    if hit {
        em.emit(RuleId::StatementNonTransactional, || {
            "This statement cannot run inside a transaction".to_owned()
        });
    }
}

/// Checks on statements the parser cannot read.
pub(super) fn check_text(engine: Engine, text: &str, em: &mut Emitter<'_>) {
    if em.on(RuleId::StatementNonTransactional).is_some() {
        non_transactional(engine, text, em);
    }
}

/// Script-order rules: SET ROLE first, statements per transaction, MAX_EXECUTION_TIME.
pub(super) fn track_script(state: &mut ScriptState, stmt: &Statement, em: &mut Emitter<'_>) {
    backup_mixed(state, stmt, em);
    let is_set = matches!(stmt, Statement::Set(_));
    if let Statement::Set(sqlparser::ast::Set::SetRole { .. }) = stmt {
        state.role_checked = true;
    }
    if !state.role_checked && !is_set {
        state.role_checked = true;
        em.emit(RuleId::StatementCheckSetRoleVariable, || {
            "The script must begin with SET ROLE".to_owned()
        });
    }
    if is_set
        && stmt
            .to_string()
            .to_ascii_uppercase()
            .contains("MAX_EXECUTION_TIME")
    {
        state.max_execution_time_set = true;
    }
    // The limit must be set before the first statement it should bound: reported once, on the
    // first statement that runs without it.
    if !state.max_execution_time_set && !is_set {
        state.max_execution_time_set = true;
        em.emit(RuleId::StatementMaxExecutionTime, || {
            "The script must set max_execution_time (SET SESSION max_execution_time = …) before its first statement"
                .to_owned()
        });
    }
    match stmt {
        Statement::StartTransaction { .. } => {
            state.txn_statements = Some(0);
            state.txn_reported = false;
        }
        Statement::Commit { .. } | Statement::Rollback { .. } => state.txn_statements = None,
        _ => {
            if let Some(n) = state.txn_statements.as_mut() {
                *n += 1;
                if let Some(rule) = em.on(RuleId::StatementMaximumStatementsInTransaction) {
                    let limit = usize::try_from(rule.number().unwrap_or(10)).unwrap_or(0);
                    if *n > limit && !state.txn_reported {
                        state.txn_reported = true;
                        em.emit(RuleId::StatementMaximumStatementsInTransaction, || {
                            format!("A transaction may hold at most {limit} statements")
                        });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "statement_tests.rs"]
mod tests;

/// `builtin.prior-backup-check`: a data change backed up before it runs may not both UPDATE and
/// DELETE one table (Bytebase backs each table up for one kind of statement). Reported once per
/// table, on the first statement of the other kind.
fn backup_mixed(state: &mut ScriptState, stmt: &Statement, em: &mut Emitter<'_>) {
    if em.rules.change_type != Some(ChangeType::Dml)
        || em.on(RuleId::BuiltinPriorBackupCheck).is_none()
    {
        return;
    }
    let kind = match stmt {
        Statement::Update(_) => "UPDATE",
        Statement::Delete(_) => "DELETE",
        _ => return,
    };
    for table in super::table::dml_tables(stmt) {
        let first = *state
            .backup_kinds
            .entry(table.to_ascii_lowercase())
            .or_insert(kind);
        if !first.is_empty() && first != kind {
            em.emit(RuleId::BuiltinPriorBackupCheck, || {
                format!("A prior backup cannot handle both {first} and {kind} on table \"{table}\"")
            });
            state.backup_kinds.insert(table.to_ascii_lowercase(), "");
        }
    }
}
