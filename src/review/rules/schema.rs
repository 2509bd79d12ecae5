//! Schema rules: `schema.backward-compatibility` (breaking changes for running applications)
//! and `database.drop-empty-database`. Must not change the catalog.

use sqlparser::ast::{AlterColumnOperation, AlterTableOperation, ObjectType, Statement};

use super::{Ctx, Emitter, show};
use crate::review::registry::RuleId;

const RULE: RuleId = RuleId::SchemaBackwardCompatibility;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    if let Statement::Drop {
        object_type: ObjectType::Database | ObjectType::Schema,
        names,
        ..
    } = ctx.stmt
        && ctx.state.has_schema
        && ctx.state.catalog.table_count() > 0
    {
        for n in names {
            em.emit(RuleId::DatabaseDropEmptyDatabase, || {
                format!("Database \"{}\" is not empty", show(n))
            });
        }
    }
    if em.on(RULE).is_none() {
        return;
    }
    match ctx.stmt {
        Statement::Drop {
            object_type, names, ..
        } => {
            let kind = match object_type {
                ObjectType::Table => "table",
                ObjectType::View | ObjectType::MaterializedView => "view",
                ObjectType::Schema => "schema",
                ObjectType::Database => "database",
                _ => return,
            };
            for n in names {
                em.emit(RULE, || {
                    format!(
                        "Dropping {kind} \"{}\" breaks applications that use it",
                        show(n)
                    )
                });
            }
        }
        Statement::CreateIndex(ci) if ci.unique && !ctx.state.is_new(&ci.table_name) => {
            em.emit(RULE, || {
                format!(
                    "A new unique index on existing table \"{}\" may reject writes",
                    show(&ci.table_name)
                )
            })
        }
        Statement::AlterTable(at) => {
            let table = show(&at.name);
            let existing = !ctx.state.is_new(&at.name);
            for op in &at.operations {
                let msg = match op {
                    AlterTableOperation::RenameTable { .. } => {
                        Some(format!("Renaming table \"{table}\""))
                    }
                    AlterTableOperation::RenameColumn {
                        old_column_name, ..
                    } => Some(format!(
                        "Renaming column \"{table}.{}\"",
                        old_column_name.value
                    )),
                    AlterTableOperation::DropColumn { column_names, .. } => Some(format!(
                        "Dropping column(s) {} of \"{table}\"",
                        column_names
                            .iter()
                            .map(|c| c.value.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    AlterTableOperation::ChangeColumn { old_name, .. } => {
                        Some(format!("Changing column \"{table}.{}\"", old_name.value))
                    }
                    AlterTableOperation::ModifyColumn { col_name, .. } => {
                        Some(format!("Modifying column \"{table}.{}\"", col_name.value))
                    }
                    AlterTableOperation::AlterColumn {
                        column_name,
                        op: AlterColumnOperation::SetDataType { .. },
                    } => Some(format!(
                        "Changing the type of \"{table}.{}\"",
                        column_name.value
                    )),
                    AlterTableOperation::AlterColumn {
                        column_name,
                        op: AlterColumnOperation::SetNotNull,
                    } if existing => {
                        Some(format!("Making \"{table}.{}\" NOT NULL", column_name.value))
                    }
                    AlterTableOperation::AddConstraint {
                        constraint,
                        not_valid,
                    } if existing && !not_valid => {
                        use sqlparser::ast::TableConstraint as C;
                        match constraint {
                            C::PrimaryKey(_) => {
                                Some(format!("Adding a primary key to \"{table}\""))
                            }
                            C::Unique(_) => Some(format!("Adding a unique key to \"{table}\"")),
                            C::ForeignKey(_) => {
                                Some(format!("Adding a foreign key to \"{table}\""))
                            }
                            C::Check(_) => {
                                Some(format!("Adding a CHECK constraint to \"{table}\""))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if let Some(m) = msg {
                    em.emit(RULE, || format!("{m} is not backward compatible"));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
