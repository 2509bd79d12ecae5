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
            em.emit(
                RuleId::DatabaseDropEmptyDatabase,
                format!("Database \"{}\" is not empty", show(n)),
            );
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
                em.emit(
                    RULE,
                    format!(
                        "Dropping {kind} \"{}\" breaks applications that use it",
                        show(n)
                    ),
                );
            }
        }
        Statement::CreateIndex(ci) if ci.unique && !ctx.state.is_new(&ci.table_name) => em.emit(
            RULE,
            format!(
                "A new unique index on existing table \"{}\" may reject writes",
                show(&ci.table_name)
            ),
        ),
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
                    em.emit(RULE, format!("{m} is not backward compatible"));
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::review::rules::testing::*;

    #[test]
    fn backward_compatibility() {
        let r = "schema.backward-compatibility";
        for e in [PG, MY] {
            assert_eq!(hits(e, r, "DROP TABLE t"), 1);
            assert_eq!(hits(e, r, "ALTER TABLE t DROP COLUMN a"), 1);
            assert_eq!(hits(e, r, "ALTER TABLE t RENAME COLUMN a TO b"), 1);
            assert_eq!(hits(e, r, "ALTER TABLE t RENAME TO u"), 1);
            assert_eq!(hits(e, r, "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)"), 1);
            assert_eq!(hits(e, r, "CREATE UNIQUE INDEX u ON t (a)"), 1);
            assert_eq!(hits(e, r, "ALTER TABLE t ADD COLUMN a int"), 0);
            assert_eq!(
                hits(
                    e,
                    r,
                    "CREATE TABLE t (a int); ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)"
                ),
                0
            );
            assert_eq!(hits(e, r, "CREATE INDEX i ON t (a)"), 0);
        }
        assert_eq!(hits(PG, r, "ALTER TABLE t ALTER COLUMN a TYPE bigint"), 1);
        assert_eq!(
            hits(
                PG,
                r,
                "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"
            ),
            0
        );
        assert_eq!(hits(MY, r, "ALTER TABLE t MODIFY COLUMN a bigint"), 1);
    }

    #[test]
    fn drop_empty_database() {
        let r = "database.drop-empty-database";
        assert_eq!(
            hits_on(MY, r, "CREATE TABLE t (a int);", "DROP DATABASE app"),
            1
        );
        assert_eq!(hits_on(MY, r, "", "DROP DATABASE app"), 0);
        assert_eq!(hits(MY, r, "DROP DATABASE app"), 0);
    }
}
