//! Rules judged on the state at the end of the script, as Bytebase does: `table.require-pk`
//! and `column.required`. A table created without a key (or a required column) and given it
//! later in the script is fine; a table a statement takes it from is reported at that
//! statement unless a later one gives it back; a table dropped again is not reported. Reads
//! the catalog the walk-through keeps.

use sqlparser::ast::{AlterTableOperation, Statement, TableConstraint};

use super::{Emitter, Position, ScriptState, emit_at, show};
use crate::review::Finding;
use crate::review::catalog::Table;
use crate::review::policy::Resolved;
use crate::review::registry::RuleId;

/// What the table `stmt` alters had before the statement ran.
pub(crate) struct Before {
    has_pk: Option<bool>,
    missing_required: Option<usize>,
}

fn missing_required(table: &Table, em: &Emitter<'_>) -> Vec<String> {
    em.on(RuleId::ColumnRequired)
        .map(|rule| {
            rule.list()
                .iter()
                .filter(|req| table.column(req).is_none())
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The state of the table `stmt` alters, before the statement runs.
pub(crate) fn before(state: &ScriptState, stmt: &Statement, em: &Emitter<'_>) -> Before {
    let table = match stmt {
        Statement::AlterTable(at) => state.catalog.table(&at.name),
        _ => None,
    };
    Before {
        has_pk: table.map(|t| t.primary_key().is_some()),
        missing_required: table.map(|t| missing_required(t, em).len()),
    }
}

/// Records the table's primary-key state after `stmt` was walked through the catalog.
pub(crate) fn after(
    state: &mut ScriptState,
    stmt: &Statement,
    before: &Before,
    em: &mut Emitter<'_>,
) {
    required_after(state, stmt, before, em);
    if em.on(RuleId::TableRequirePk).is_none() {
        return;
    }
    let had_pk = before.has_pk;
    let (name, created) = match stmt {
        Statement::CreateTable(ct) if ct.query.is_none() && ct.like.is_none() => (&ct.name, true),
        Statement::AlterTable(at) => (&at.name, false),
        _ => return,
    };
    let key = state.catalog.key(name);
    let Some(table) = state.catalog.table(name) else {
        // A table the catalog does not know: only an explicit drop of its key says anything.
        if let Statement::AlterTable(at) = stmt
            && drops_key(&at.operations)
            && !adds_key(&at.operations)
        {
            em.emit(RuleId::TableRequirePk, || {
                format!("Table \"{}\" requires PRIMARY KEY", show(name))
            });
        }
        return;
    };
    if table.primary_key().is_some() {
        state.pk_missing.remove(&key);
    } else if created || had_pk == Some(true) {
        state.pk_missing.insert(key, (em.pos, table.name.clone()));
    }
}

fn required_after(
    state: &mut ScriptState,
    stmt: &Statement,
    before: &Before,
    em: &mut Emitter<'_>,
) {
    if em.on(RuleId::ColumnRequired).is_none() {
        return;
    }
    let (name, created) = match stmt {
        Statement::CreateTable(ct) => (&ct.name, true),
        Statement::AlterTable(at) => (&at.name, false),
        _ => return,
    };
    let key = state.catalog.key(name);
    let Some(table) = state.catalog.table(name) else {
        // A table the catalog does not know: only dropping or renaming a required column of
        // it says anything.
        if let Statement::AlterTable(at) = stmt {
            for col in at.operations.iter().filter_map(removed_column) {
                if em
                    .on(RuleId::ColumnRequired)
                    .is_some_and(|r| r.in_list(col))
                {
                    em.emit(RuleId::ColumnRequired, || {
                        format!("Column \"{}.{col}\" is required", show(name))
                    });
                }
            }
        }
        return;
    };
    let missing = missing_required(table, em).len();
    if missing == 0 {
        state.required_missing.remove(&key);
    } else if created || before.missing_required.is_some_and(|b| missing > b) {
        state
            .required_missing
            .insert(key, (em.pos, table.name.clone()));
    }
}

/// The column an ALTER TABLE operation drops or renames away.
fn removed_column(op: &AlterTableOperation) -> Option<&str> {
    match op {
        AlterTableOperation::DropColumn { column_names, .. } => {
            column_names.first().map(|c| c.value.as_str())
        }
        AlterTableOperation::RenameColumn {
            old_column_name, ..
        } => Some(&old_column_name.value),
        AlterTableOperation::ChangeColumn {
            old_name, new_name, ..
        } if !old_name.value.eq_ignore_ascii_case(&new_name.value) => Some(&old_name.value),
        _ => None,
    }
}

fn drops_key(ops: &[AlterTableOperation]) -> bool {
    ops.iter().any(|op| match op {
        AlterTableOperation::DropPrimaryKey { .. } => true,
        AlterTableOperation::DropIndex { name } => name.value.eq_ignore_ascii_case("PRIMARY"),
        _ => false,
    })
}

fn adds_key(ops: &[AlterTableOperation]) -> bool {
    ops.iter().any(|op| {
        matches!(
            op,
            AlterTableOperation::AddConstraint {
                constraint: TableConstraint::PrimaryKey(_),
                ..
            }
        )
    })
}

/// Reports the tables still without a primary key or required columns at the end of the
/// script.
pub(crate) fn finish(state: &ScriptState, rules: &Resolved, out: &mut Vec<Finding>) {
    if let Some(rule) = rules.get(RuleId::ColumnRequired) {
        let mut missing: Vec<_> = state.required_missing.iter().collect();
        missing.sort_by_key(|(_, (p, _))| p.index);
        for (key, (pos, name)) in missing {
            let Some(table) = state.catalog.table_by_key(key) else {
                continue;
            };
            let cols: Vec<&str> = rule
                .list()
                .iter()
                .filter(|req| table.column(req).is_none())
                .map(String::as_str)
                .collect();
            if !cols.is_empty() {
                emit_at(
                    rules,
                    out,
                    *pos,
                    RuleId::ColumnRequired,
                    format!("Table \"{name}\" requires columns: {}", cols.join(", ")),
                );
            }
        }
    }
    let mut missing: Vec<(&String, &(Position, String))> = state.pk_missing.iter().collect();
    missing.sort_by_key(|(_, (p, _))| p.index);
    for (key, (pos, name)) in missing {
        if state
            .catalog
            .table_by_key(key)
            .is_some_and(|t| t.primary_key().is_none())
        {
            emit_at(
                rules,
                out,
                *pos,
                RuleId::TableRequirePk,
                format!("Table \"{name}\" requires PRIMARY KEY"),
            );
        }
    }
}
