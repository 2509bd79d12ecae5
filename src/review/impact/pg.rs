//! PostgreSQL: the table lock each statement takes and whether it rewrites or scans the table,
//! from the documentation of ALTER TABLE, CREATE INDEX and "Explicit Locking" (PostgreSQL 11+;
//! older servers rewrite on ADD COLUMN with a default).
//!
//! | form | lock | cost |
//! | --- | --- | --- |
//! | ADD COLUMN (no default, or a non-volatile one) | ACCESS EXCLUSIVE | metadata |
//! | ADD COLUMN with a volatile default, serial, identity or STORED generated | ACCESS EXCLUSIVE | rewrite |
//! | ADD COLUMN … PRIMARY KEY / UNIQUE | ACCESS EXCLUSIVE | index build (scan) |
//! | ADD COLUMN … CHECK / NOT NULL without default | ACCESS EXCLUSIVE | scan |
//! | ADD COLUMN … REFERENCES | ACCESS EXCLUSIVE (+ SHARE ROW EXCLUSIVE on the referenced table) | metadata (the new column is empty) |
//! | DROP COLUMN, RENAME, SET/DROP DEFAULT, DROP NOT NULL, DROP CONSTRAINT, OWNER, RLS, REPLICA IDENTITY | ACCESS EXCLUSIVE | metadata |
//! | ALTER COLUMN TYPE, binary-coercible (varchar(n)→varchar(m≥n)/text, numeric(p,s)→numeric(q≥p,s)) | ACCESS EXCLUSIVE | metadata |
//! | ALTER COLUMN TYPE, anything else or USING | ACCESS EXCLUSIVE | rewrite |
//! | SET NOT NULL | ACCESS EXCLUSIVE | scan |
//! | ADD CHECK / PRIMARY KEY / UNIQUE / EXCLUDE | ACCESS EXCLUSIVE | scan / index build |
//! | ADD CHECK … NOT VALID, ADD … USING INDEX | ACCESS EXCLUSIVE | metadata |
//! | ADD FOREIGN KEY | SHARE ROW EXCLUSIVE on both tables | scan of both (none with NOT VALID) |
//! | VALIDATE CONSTRAINT | SHARE UPDATE EXCLUSIVE | scan |
//! | SET (storage parameters), ALTER COLUMN SET STATISTICS, CLUSTER ON | SHARE UPDATE EXCLUSIVE | metadata |
//! | ENABLE/DISABLE TRIGGER, CREATE TRIGGER | SHARE ROW EXCLUSIVE | metadata |
//! | SET LOGGED / UNLOGGED, SET TABLESPACE, CLUSTER, VACUUM FULL | ACCESS EXCLUSIVE | rewrite |
//! | ATTACH PARTITION | SHARE UPDATE EXCLUSIVE on the parent, ACCESS EXCLUSIVE on the partition | scan of the partition |
//! | DETACH PARTITION | ACCESS EXCLUSIVE on both | metadata |
//! | CREATE INDEX | SHARE | index build (scan) |
//! | CREATE INDEX CONCURRENTLY | SHARE UPDATE EXCLUSIVE | two scans |
//! | DROP INDEX | ACCESS EXCLUSIVE on its table | metadata |
//! | DROP TABLE, TRUNCATE, LOCK TABLE … ACCESS EXCLUSIVE | ACCESS EXCLUSIVE | metadata |
//! | COMMENT ON TABLE/COLUMN | SHARE UPDATE EXCLUSIVE | metadata |
//! | REFRESH MATERIALIZED VIEW | ACCESS EXCLUSIVE | rewrite (CONCURRENTLY: EXCLUSIVE, scan) |

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, CommentObject, Expr,
    FunctionArguments, GeneratedAs, GeneratedExpressionMode, LockTableMode, ObjectName, ObjectType,
    Statement, TableConstraint,
};

use super::types::{self, PgType};
use super::{Builder, Lock, Op};

const CIC: &str = "CREATE INDEX CONCURRENTLY (outside a transaction; reads and writes continue)";
const NOT_VALID: &str = "add it NOT VALID, then VALIDATE CONSTRAINT in a later change (SHARE UPDATE \
                         EXCLUSIVE: reads and writes continue)";

pub(super) fn statement(b: &mut Builder<'_, '_>, stmt: &Statement) {
    match stmt {
        Statement::AlterTable(at) => {
            for op in &at.operations {
                alter(b, &at.name, op);
            }
        }
        Statement::CreateIndex(ci) => {
            let op = if ci.concurrently {
                Op::new(Lock::ShareUpdateExclusive, "CREATE INDEX CONCURRENTLY").scan()
            } else {
                Op::new(
                    Lock::Share,
                    "CREATE INDEX builds the index under a SHARE lock",
                )
                .scan()
                .safer(CIC)
            };
            b.add(&ci.table_name, op);
        }
        Statement::CreateTable(ct) => {
            // A new table costs nothing; its foreign keys lock the tables they reference.
            for c in &ct.columns {
                for o in &c.options {
                    if let ColumnOption::ForeignKey(fk) = &o.option {
                        b.add(&fk.foreign_table, references(false));
                    }
                }
            }
            for c in &ct.constraints {
                if let TableConstraint::ForeignKey(fk) = c {
                    b.add(&fk.foreign_table, references(false));
                }
            }
        }
        Statement::Drop {
            object_type, names, ..
        } => drop(b, *object_type, names),
        Statement::Truncate(t) => {
            for target in &t.table_names {
                b.add(
                    &target.name,
                    Op::new(Lock::AccessExclusive, "TRUNCATE empties the table"),
                );
            }
        }
        Statement::CreateTrigger(ct) => b.add(
            &ct.table_name,
            Op::new(Lock::ShareRowExclusive, "CREATE TRIGGER"),
        ),
        Statement::CreatePolicy(p) => b.add(
            &p.table_name,
            Op::new(Lock::AccessExclusive, "CREATE POLICY"),
        ),
        Statement::AlterPolicy(p) => b.add(
            &p.table_name,
            Op::new(Lock::AccessExclusive, "ALTER POLICY"),
        ),
        Statement::Comment {
            object_type: CommentObject::Table | CommentObject::Column,
            object_name,
            ..
        } => {
            let table = match stmt {
                Statement::Comment {
                    object_type: CommentObject::Column,
                    ..
                } => parent(object_name),
                _ => object_name.clone(),
            };
            b.add(&table, Op::new(Lock::ShareUpdateExclusive, "COMMENT ON"));
        }
        Statement::Lock(l) => {
            let lock = match l.lock_mode {
                Some(LockTableMode::AccessShare) => Lock::AccessShare,
                Some(LockTableMode::RowShare) => Lock::RowShare,
                Some(LockTableMode::RowExclusive) => Lock::RowExclusive,
                Some(LockTableMode::ShareUpdateExclusive) => Lock::ShareUpdateExclusive,
                Some(LockTableMode::Share) => Lock::Share,
                Some(LockTableMode::ShareRowExclusive) => Lock::ShareRowExclusive,
                Some(LockTableMode::Exclusive) => Lock::Exclusive,
                Some(LockTableMode::AccessExclusive) | None => Lock::AccessExclusive,
            };
            for t in &l.tables {
                b.add(&t.name, Op::new(lock, "LOCK TABLE"));
            }
        }
        Statement::Vacuum(v) if v.full => {
            if let Some(t) = &v.table_name {
                b.add(
                    t,
                    Op::new(Lock::AccessExclusive, "VACUUM FULL rewrites the table").rewrite(),
                );
            }
        }
        Statement::RefreshMaterializedView(r) => {
            let op = if r.concurrently {
                Op::new(Lock::Exclusive, "REFRESH MATERIALIZED VIEW CONCURRENTLY").scan()
            } else {
                Op::new(
                    Lock::AccessExclusive,
                    "REFRESH MATERIALIZED VIEW replaces its data",
                )
                .rewrite()
                .safer("REFRESH MATERIALIZED VIEW CONCURRENTLY (needs a unique index)")
            };
            b.add(&r.name, op);
        }
        _ => {}
    }
}

/// The lock a foreign key takes on the table it references; `validated` when existing rows
/// are checked against it (which reads the referenced table too).
fn references(validated: bool) -> Op {
    let op = Op::new(
        Lock::ShareRowExclusive,
        "a foreign key locks the table it references (writes wait)",
    );
    if validated { op.scan() } else { op }
}

/// `schema.table` of `schema.table.column`.
fn parent(name: &ObjectName) -> ObjectName {
    let mut parts = name.0.clone();
    parts.pop();
    ObjectName(parts)
}

fn drop(b: &mut Builder<'_, '_>, object_type: ObjectType, names: &[ObjectName]) {
    match object_type {
        ObjectType::Table | ObjectType::MaterializedView => {
            for n in names {
                b.add(n, Op::new(Lock::AccessExclusive, "DROP"));
            }
        }
        ObjectType::Index => {
            for n in names {
                let index =
                    n.0.last()
                        .and_then(|p| p.as_ident())
                        .map(|i| i.value.clone());
                let owner = index
                    .as_deref()
                    .and_then(|i| b.ctx.catalog.table_of_index(i))
                    .map(|t| t.name.clone());
                if let Some(table) = owner {
                    let mut name = parent(n);
                    name.0.push(sqlparser::ast::ObjectNamePart::Identifier(
                        sqlparser::ast::Ident::new(table),
                    ));
                    b.add(
                        &name,
                        Op::new(Lock::AccessExclusive, "DROP INDEX locks its table")
                            .safer("DROP INDEX CONCURRENTLY (outside a transaction)"),
                    );
                }
            }
        }
        _ => {}
    }
}

fn alter(b: &mut Builder<'_, '_>, table: &ObjectName, op: &AlterTableOperation) {
    let ax = |reason: &str| Op::new(Lock::AccessExclusive, reason.to_owned());
    let op = match op {
        AlterTableOperation::AddColumn { column_def, .. } => add_column(b, column_def),
        AlterTableOperation::DropColumn { .. } => ax("DROP COLUMN (metadata only)"),
        AlterTableOperation::RenameColumn { .. }
        | AlterTableOperation::RenameTable { .. }
        | AlterTableOperation::RenameConstraint { .. } => ax("RENAME"),
        AlterTableOperation::AlterColumn { column_name, op } => match op {
            AlterColumnOperation::SetNotNull => ax("SET NOT NULL checks every row").scan().safer(
                "ADD CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a later change, then \
                     SET NOT NULL (PostgreSQL 12+ skips the scan)",
            ),
            AlterColumnOperation::DropNotNull => ax("DROP NOT NULL (metadata only)"),
            AlterColumnOperation::SetDefault { .. } | AlterColumnOperation::DropDefault => {
                ax("SET/DROP DEFAULT (metadata only)")
            }
            AlterColumnOperation::SetDataType {
                data_type, using, ..
            } => {
                let from = b
                    .ctx
                    .catalog
                    .table(table)
                    .and_then(|t| t.column(&column_name.value))
                    .map(|c| PgType::parse(&c.data_type));
                let to = PgType::parse(&data_type.to_string());
                match (from, using) {
                    (_, Some(_)) => ax("ALTER COLUMN TYPE … USING rewrites the table").rewrite(),
                    (Some(from), None) if types::pg_binary_coercible(&from, &to) => ax(&format!(
                        "ALTER COLUMN TYPE {} → {} is binary-coercible (no rewrite)",
                        from.name(),
                        to.name()
                    )),
                    (Some(from), None) => ax(&format!(
                        "ALTER COLUMN TYPE {} → {} rewrites the table and its indexes",
                        from.name(),
                        to.name()
                    ))
                    .rewrite()
                    .safer("add a new column, backfill it in batches, then swap"),
                    (None, None) => ax(
                        "ALTER COLUMN TYPE rewrites the table unless the cast is binary-coercible \
                         (the current type is unknown)",
                    )
                    .rewrite(),
                }
            }
            AlterColumnOperation::AddGenerated { .. } => ax("ADD GENERATED AS IDENTITY"),
            _ => ax("ALTER COLUMN"),
        },
        AlterTableOperation::AddConstraint {
            constraint,
            not_valid,
        } => add_constraint(b, constraint, *not_valid),
        AlterTableOperation::ValidateConstraint { .. } => Op::new(
            Lock::ShareUpdateExclusive,
            "VALIDATE CONSTRAINT checks every row (reads and writes continue)",
        )
        .scan(),
        AlterTableOperation::DropConstraint { .. } => ax("DROP CONSTRAINT"),
        AlterTableOperation::SetLogged | AlterTableOperation::SetUnlogged => {
            ax("SET LOGGED/UNLOGGED rewrites the table").rewrite()
        }
        AlterTableOperation::SetOptionsParens { .. } | AlterTableOperation::ResetOptions { .. } => {
            Op::new(Lock::ShareUpdateExclusive, "SET/RESET storage parameters")
        }
        AlterTableOperation::EnableTrigger { .. }
        | AlterTableOperation::DisableTrigger { .. }
        | AlterTableOperation::EnableAlwaysTrigger { .. }
        | AlterTableOperation::EnableReplicaTrigger { .. } => {
            Op::new(Lock::ShareRowExclusive, "ENABLE/DISABLE TRIGGER")
        }
        AlterTableOperation::AttachPartitionOf { partition, .. } => {
            b.add(
                partition,
                ax("ATTACH PARTITION checks the partition's rows against its bounds")
                    .scan()
                    .safer(
                        "add a CHECK constraint matching the bounds to the partition first \
                         (validated NOT VALID + VALIDATE), so the attach needs no scan",
                    ),
            );
            Op::new(Lock::ShareUpdateExclusive, "ATTACH PARTITION")
        }
        AlterTableOperation::DetachPartitionOf { partition, mode } => {
            if mode.is_some() {
                b.add(
                    partition,
                    Op::new(Lock::ShareUpdateExclusive, "DETACH PARTITION CONCURRENTLY"),
                );
                Op::new(Lock::ShareUpdateExclusive, "DETACH PARTITION CONCURRENTLY")
            } else {
                b.add(partition, ax("DETACH PARTITION"));
                ax("DETACH PARTITION")
                    .safer("DETACH PARTITION … CONCURRENTLY (outside a transaction)")
            }
        }
        _ => ax("ALTER TABLE"),
    };
    b.add(table, op);
}

/// Whether a default expression is volatile (so every existing row needs its own value).
fn volatile_default(e: &Expr) -> bool {
    let mut volatile = false;
    let _ = sqlparser::ast::visit_expressions(e, |e| {
        if let Expr::Function(f) = e {
            let name = f
                .name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .map(|i| i.value.to_ascii_lowercase())
                .unwrap_or_default();
            let no_args = matches!(f.args, FunctionArguments::None);
            if matches!(
                name.as_str(),
                "random"
                    | "clock_timestamp"
                    | "timeofday"
                    | "gen_random_uuid"
                    | "uuid_generate_v1"
                    | "uuid_generate_v1mc"
                    | "uuid_generate_v4"
                    | "uuidv4"
                    | "uuidv7"
                    | "nextval"
                    | "setseed"
                    | "txid_current"
                    | "pg_current_xact_id"
            ) || (no_args && name == "random")
            {
                volatile = true;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
    volatile
}

fn add_column(b: &mut Builder<'_, '_>, c: &ColumnDef) -> Op {
    let ax = |reason: &str| Op::new(Lock::AccessExclusive, reason.to_owned());
    let serial = matches!(
        types::pg_base(&c.data_type.to_string()).as_str(),
        "serial" | "bigserial" | "smallserial" | "serial4" | "serial8" | "serial2"
    );
    let mut rewrite: Option<&str> =
        serial.then_some("a serial column fills every row from a sequence");
    let mut scan: Option<&str> = None;
    let mut has_default = false;
    let mut not_null = false;
    for o in &c.options {
        match &o.option {
            ColumnOption::Default(e) => {
                has_default = true;
                if volatile_default(e) {
                    rewrite = Some("a volatile default is computed for every row");
                } else if b.ctx.server.version < 1100 {
                    rewrite = Some("before PostgreSQL 11, a default is written to every row");
                }
            }
            ColumnOption::Identity(_)
            | ColumnOption::Generated {
                generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                generation_expr: None,
                ..
            } => rewrite = Some("an identity column fills every row from a sequence"),
            ColumnOption::Generated {
                generation_expr: Some(_),
                generation_expr_mode,
                ..
            } if *generation_expr_mode != Some(GeneratedExpressionMode::Virtual) => {
                rewrite = Some("a stored generated column is computed for every row");
            }
            ColumnOption::PrimaryKey(_) | ColumnOption::Unique(_) => {
                scan = scan.or(Some("the new key's index is built from every row"));
            }
            ColumnOption::ForeignKey(fk) => {
                b.add(&fk.foreign_table, references(false));
            }
            ColumnOption::Check(_) => {
                scan = scan.or(Some("the new CHECK is evaluated for every row"));
            }
            ColumnOption::NotNull => not_null = true,
            _ => {}
        }
    }
    if not_null && !has_default && rewrite.is_none() {
        scan = scan.or(Some("NOT NULL without a default is checked on every row"));
    }
    if let Some(r) = rewrite {
        ax(&format!("ADD COLUMN rewrites the table: {r}"))
            .rewrite()
            .safer(
                "add the column without the default (or as nullable), backfill in batches, then \
                 set the default",
            )
    } else if let Some(s) = scan {
        ax(&format!("ADD COLUMN: {s}")).scan()
    } else {
        ax("ADD COLUMN (metadata only)")
    }
}

fn add_constraint(b: &mut Builder<'_, '_>, c: &TableConstraint, not_valid: bool) -> Op {
    let ax = |reason: &str| Op::new(Lock::AccessExclusive, reason.to_owned());
    match c {
        TableConstraint::ForeignKey(fk) => {
            b.add(&fk.foreign_table, references(!not_valid));
            let op = Op::new(Lock::ShareRowExclusive, "ADD FOREIGN KEY");
            if not_valid {
                op
            } else {
                Op::new(
                    Lock::ShareRowExclusive,
                    "ADD FOREIGN KEY checks every row (writes wait)",
                )
                .scan()
                .safer(NOT_VALID)
            }
        }
        TableConstraint::Check(_) if not_valid => ax("ADD CHECK … NOT VALID (metadata only)"),
        TableConstraint::Check(_) => ax("ADD CHECK checks every row under ACCESS EXCLUSIVE")
            .scan()
            .safer(NOT_VALID),
        TableConstraint::PrimaryKeyUsingIndex(_) | TableConstraint::UniqueUsingIndex(_) => {
            ax("ADD … USING INDEX (the index exists)")
        }
        TableConstraint::PrimaryKey(_) | TableConstraint::Unique(_) => {
            ax("ADD PRIMARY KEY/UNIQUE builds its index under ACCESS EXCLUSIVE")
                .scan()
                .safer("CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT … USING INDEX")
        }
        _ => ax("ADD CONSTRAINT builds its index").scan(),
    }
}
