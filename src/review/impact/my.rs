//! MySQL 8 and MariaDB (InnoDB online DDL): the cheapest `ALGORITHM` the server can use and
//! whether concurrent writes continue (`LOCK=NONE`), from the "Online DDL Operations" tables
//! of the MySQL manual and MariaDB's "InnoDB Online DDL Operations" pages.
//!
//! The lock is put on PostgreSQL's scale by what it blocks: concurrent DML allowed →
//! SHARE UPDATE EXCLUSIVE; reads only (`LOCK=SHARED`, and every `COPY`) → SHARE; neither →
//! ACCESS EXCLUSIVE. Every form also takes a short exclusive metadata lock at its start and end.
//!
//! | form | MariaDB 10.4+ / MySQL 8.0.29+ | rewrite |
//! | --- | --- | --- |
//! | ADD COLUMN (any position, with or without default) | INSTANT | no |
//! | ADD COLUMN … AUTO_INCREMENT | INPLACE, LOCK=SHARED | yes |
//! | ADD COLUMN … STORED generated | COPY (writes wait) | yes |
//! | ADD COLUMN … PRIMARY KEY / UNIQUE | INPLACE, LOCK=NONE | yes |
//! | DROP COLUMN | INSTANT (NOCOPY when it is indexed) | no |
//! | RENAME COLUMN / CHANGE with the same type, SET/DROP DEFAULT | INSTANT | no |
//! | RENAME TO, RENAME TABLE | INSTANT under a short exclusive lock | no |
//! | MODIFY a VARCHAR longer (MySQL: within the same length-prefix size) | INSTANT (MariaDB) / INPLACE (MySQL) | no |
//! | MODIFY to another type | COPY (writes wait) | yes |
//! | MODIFY NULL ↔ NOT NULL | INPLACE, LOCK=NONE | yes |
//! | ADD INDEX / UNIQUE / CREATE INDEX | NOCOPY, LOCK=NONE | no (index build scans) |
//! | ADD FULLTEXT INDEX | INPLACE, LOCK=SHARED | yes (adds FTS_DOC_ID) |
//! | ADD SPATIAL INDEX | NOCOPY, LOCK=SHARED | no (index build scans) |
//! | ADD PRIMARY KEY | INPLACE, LOCK=NONE | yes |
//! | DROP PRIMARY KEY | COPY (writes wait) | yes |
//! | DROP INDEX | NOCOPY, LOCK=NONE | no |
//! | DROP CONSTRAINT / FOREIGN KEY / CHECK, AUTO_INCREMENT=, RENAME INDEX, COMMENT= | INSTANT | no |
//! | ADD FOREIGN KEY (foreign_key_checks on) | COPY (writes wait) | yes |
//! | ADD CHECK | COPY (writes wait) | yes |
//! | ENGINE=, FORCE, ROW_FORMAT=, OPTIMIZE TABLE | INPLACE, LOCK=NONE | yes |
//! | CONVERT TO CHARACTER SET | COPY (writes wait) | yes |
//! | DROP TABLE, TRUNCATE | exclusive metadata lock | no |

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, DataType,
    GeneratedExpressionMode, Ident, ObjectName, ObjectType, Statement, TableConstraint,
};

use super::types::{PgType, my_varchar_bytes, pg_base};
use super::{Algorithm, Builder, Lock, Op};

/// Concurrent DML allowed.
const ONLINE: Lock = Lock::ShareUpdateExclusive;
/// Reads allowed, writes wait.
const SHARED: Lock = Lock::Share;

fn op(alg: Algorithm, lock: Lock, reason: &str) -> Op {
    let o = Op::new(lock, reason.to_owned()).algorithm(alg);
    match alg {
        Algorithm::Inplace | Algorithm::Copy => o.rewrite(),
        _ => o,
    }
}

fn copy(reason: &str) -> Op {
    op(Algorithm::Copy, SHARED, reason)
        .safer("an online schema change tool (gh-ost, pt-online-schema-change) or a new column backfilled in batches")
}

pub(super) fn statement(b: &mut Builder<'_, '_>, stmt: &Statement) {
    match stmt {
        Statement::AlterTable(at) => {
            let drops_pk = at
                .operations
                .iter()
                .any(|o| matches!(o, AlterTableOperation::DropPrimaryKey { .. }));
            let adds_pk = at.operations.iter().any(|o| {
                matches!(
                    o,
                    AlterTableOperation::AddConstraint {
                        constraint: TableConstraint::PrimaryKey(_),
                        ..
                    }
                )
            });
            for o in &at.operations {
                let o = alter(b, &at.name, o, drops_pk && adds_pk);
                if let Some(o) = o {
                    b.add(&at.name, o);
                }
            }
        }
        Statement::CreateIndex(ci) => {
            let kind = ci
                .using
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let o = if kind.eq_ignore_ascii_case("fulltext") || kind.eq_ignore_ascii_case("spatial")
            {
                op(
                    Algorithm::Nocopy,
                    SHARED,
                    "a FULLTEXT/SPATIAL index build lets reads through only",
                )
                .scan()
            } else {
                op(
                    Algorithm::Nocopy,
                    ONLINE,
                    "CREATE INDEX builds online (LOCK=NONE)",
                )
                .scan()
            };
            b.add(&ci.table_name, o);
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            for n in names {
                b.add(n, Op::new(Lock::AccessExclusive, "DROP TABLE"));
            }
        }
        Statement::Drop {
            object_type: ObjectType::Index,
            table: Some(table),
            ..
        } => b.add(
            table,
            op(Algorithm::Nocopy, ONLINE, "DROP INDEX (metadata only)"),
        ),
        Statement::Truncate(t) => {
            for target in &t.table_names {
                b.add(
                    &target.name,
                    Op::new(Lock::AccessExclusive, "TRUNCATE recreates the table"),
                );
            }
        }
        Statement::RenameTable(r) => {
            for r in r {
                b.add(
                    &r.old_name,
                    op(
                        Algorithm::Instant,
                        Lock::AccessExclusive,
                        "RENAME TABLE (metadata only, under a short exclusive lock)",
                    ),
                );
            }
        }
        _ => {}
    }
}

/// MariaDB 10.4+ and MySQL 8.0.29+ add and drop columns at any position instantly.
fn instant_columns(b: &Builder<'_, '_>) -> bool {
    let s = b.ctx.server;
    if s.mariadb {
        s.version >= 1004
    } else {
        s.version >= 800
    }
}

fn alter(
    b: &mut Builder<'_, '_>,
    table: &ObjectName,
    o: &AlterTableOperation,
    replaces_pk: bool,
) -> Option<Op> {
    Some(match o {
        AlterTableOperation::AddColumn { column_def, .. } => add_column(b, column_def),
        AlterTableOperation::DropColumn { column_names, .. } => {
            let indexed = b.ctx.catalog.table(table).is_some_and(|t| {
                t.indexes.iter().any(|i| {
                    i.columns
                        .iter()
                        .any(|c| column_names.iter().any(|n| n.value.eq_ignore_ascii_case(c)))
                })
            });
            if indexed {
                op(
                    Algorithm::Nocopy,
                    ONLINE,
                    "DROP COLUMN of an indexed column also drops it from the index",
                )
            } else if instant_columns(b) {
                op(Algorithm::Instant, ONLINE, "DROP COLUMN (instant)")
            } else {
                op(Algorithm::Inplace, ONLINE, "DROP COLUMN rebuilds the table")
            }
        }
        AlterTableOperation::RenameColumn { .. } => {
            op(Algorithm::Instant, ONLINE, "RENAME COLUMN (metadata only)")
        }
        AlterTableOperation::RenameTable { .. } => op(
            Algorithm::Instant,
            Lock::AccessExclusive,
            "RENAME TO (metadata only, under a short exclusive lock)",
        ),
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name: _,
            data_type,
            options,
            ..
        } => modify(b, table, old_name, data_type, options),
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        } => modify(b, table, col_name, data_type, options),
        AlterTableOperation::AlterColumn { op: a, .. } => match a {
            AlterColumnOperation::SetDefault { .. } | AlterColumnOperation::DropDefault => op(
                Algorithm::Instant,
                ONLINE,
                "SET/DROP DEFAULT (metadata only)",
            ),
            _ => copy("ALTER COLUMN"),
        },
        AlterTableOperation::AddConstraint { constraint, .. } => match constraint {
            TableConstraint::PrimaryKey(_) => op(
                Algorithm::Inplace,
                ONLINE,
                "ADD PRIMARY KEY rebuilds the table online",
            )
            .scan(),
            TableConstraint::Unique(_) | TableConstraint::Index(_) => op(
                Algorithm::Nocopy,
                ONLINE,
                "ADD INDEX builds online (LOCK=NONE)",
            )
            .scan(),
            TableConstraint::FulltextOrSpatial(f) => {
                if f.fulltext {
                    op(
                        Algorithm::Inplace,
                        SHARED,
                        "a FULLTEXT index build rebuilds the table (the first one adds FTS_DOC_ID) and lets reads through only",
                    )
                    .scan()
                } else {
                    op(
                        Algorithm::Nocopy,
                        SHARED,
                        "a SPATIAL index build lets reads through only",
                    )
                    .scan()
                }
            }
            TableConstraint::ForeignKey(_) => {
                copy("ADD FOREIGN KEY copies the table while foreign_key_checks is on")
            }
            TableConstraint::Check(_) => copy("ADD CHECK copies the table to check every row"),
            _ => copy("ADD CONSTRAINT"),
        },
        AlterTableOperation::DropPrimaryKey { .. } if replaces_pk => op(
            Algorithm::Inplace,
            ONLINE,
            "replacing the primary key rebuilds the table online",
        ),
        AlterTableOperation::DropPrimaryKey { .. } => {
            copy("DROP PRIMARY KEY without a new one copies the table")
        }
        AlterTableOperation::DropIndex { .. } => {
            op(Algorithm::Nocopy, ONLINE, "DROP INDEX (metadata only)")
        }
        AlterTableOperation::DropConstraint { .. } | AlterTableOperation::DropForeignKey { .. } => {
            op(
                Algorithm::Instant,
                ONLINE,
                "DROP CONSTRAINT / FOREIGN KEY (metadata only)",
            )
        }
        AlterTableOperation::AutoIncrement { .. } => op(
            Algorithm::Instant,
            ONLINE,
            "AUTO_INCREMENT= (metadata only)",
        ),
        AlterTableOperation::Algorithm { .. } | AlterTableOperation::Lock { .. } => return None,
        _ => copy("ALTER TABLE"),
    })
}

fn add_column(b: &Builder<'_, '_>, c: &ColumnDef) -> Op {
    let mut keyed = false;
    for o in &c.options {
        match &o.option {
            ColumnOption::DialectSpecific(tokens)
                if tokens
                    .iter()
                    .any(|t| t.to_string().eq_ignore_ascii_case("AUTO_INCREMENT")) =>
            {
                return op(
                    Algorithm::Inplace,
                    SHARED,
                    "ADD COLUMN … AUTO_INCREMENT rebuilds the table to fill every row (writes wait)",
                );
            }
            ColumnOption::Generated {
                generation_expr: Some(_),
                generation_expr_mode,
                ..
            } if *generation_expr_mode == Some(GeneratedExpressionMode::Stored) => {
                return copy("a STORED generated column is computed for every row");
            }
            ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_) => keyed = true,
            _ => {}
        }
    }
    if keyed {
        op(
            Algorithm::Inplace,
            ONLINE,
            "ADD COLUMN with a key rebuilds the table online",
        )
        .scan()
    } else if instant_columns(b) {
        op(Algorithm::Instant, ONLINE, "ADD COLUMN (instant)")
    } else {
        op(
            Algorithm::Inplace,
            ONLINE,
            "ADD COLUMN rebuilds the table online",
        )
    }
}

fn is_not_null(options: &[ColumnOption]) -> bool {
    options.iter().any(|o| matches!(o, ColumnOption::NotNull))
}

fn modify(
    b: &Builder<'_, '_>,
    table: &ObjectName,
    column: &Ident,
    to: &DataType,
    options: &[ColumnOption],
) -> Op {
    let Some(current) = b
        .ctx
        .catalog
        .table(table)
        .and_then(|t| t.column(&column.value))
    else {
        return copy(
            "MODIFY/CHANGE COLUMN copies the table unless only metadata changes (the current type is unknown)",
        );
    };
    let from = without_display_width(PgType::parse(&current.data_type));
    let to_t = without_display_width(PgType::parse(&to.to_string()));
    let same_base = pg_base(&current.data_type) == pg_base(&to.to_string());
    let null_change = current.not_null != is_not_null(options);
    if from == to_t || (same_base && from.mods == to_t.mods) {
        return if null_change && is_not_null(options) {
            op(
                Algorithm::Inplace,
                ONLINE,
                "MODIFY … NOT NULL rebuilds the table online (checks every row)",
            )
        } else if null_change {
            op(
                Algorithm::Inplace,
                ONLINE,
                "MODIFY … NULL rebuilds the table online",
            )
        } else {
            op(
                Algorithm::Instant,
                ONLINE,
                "MODIFY with the same type (metadata only)",
            )
        };
    }
    if from.base == "varchar"
        && to_t.base == "varchar"
        && !null_change
        && let (Some(f), Some(t)) = (from.mods.first(), to_t.mods.first())
    {
        let same_prefix = (my_varchar_bytes(*f) <= 255) == (my_varchar_bytes(*t) <= 255);
        // MariaDB extends a VARCHAR in place even across the 255-byte prefix boundary.
        if t >= f && (same_prefix || b.ctx.server.mariadb) {
            let alg = if b.ctx.server.mariadb {
                Algorithm::Instant
            } else {
                Algorithm::Nocopy
            };
            return op(alg, ONLINE, "a longer VARCHAR (metadata only)");
        }
    }
    copy(&format!(
        "MODIFY {} → {} copies the table",
        from.name(),
        to_t.name()
    ))
}

/// `int(11)` is `int`: the display width of MySQL's integer types is not part of the type.
fn without_display_width(mut t: PgType) -> PgType {
    if matches!(
        t.base.as_str(),
        "int4" | "int8" | "int2" | "tinyint" | "mediumint"
    ) {
        t.mods.clear();
    }
    t
}
