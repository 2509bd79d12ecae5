//! Table-level edits of the in-memory catalog: columns, constraints and ALTER TABLE
//! operations applied to one [`Table`]. Pure: no rules, no levels.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, ColumnOption, Ident, ObjectName,
    TableConstraint,
};

use super::table::{Column, Index, Table, WalkIssue, index_column_name};

/// Whether a column option makes the column auto-increment / identity.
pub(crate) fn is_auto_increment(opt: &ColumnOption) -> bool {
    match opt {
        ColumnOption::DialectSpecific(tokens) => tokens.iter().any(|t| {
            let s = t.to_string().to_ascii_uppercase();
            s == "AUTO_INCREMENT" || s == "AUTOINCREMENT"
        }),
        ColumnOption::Identity(_) => true,
        ColumnOption::Generated { generated_as, .. } => {
            !matches!(generated_as, sqlparser::ast::GeneratedAs::ExpStored)
        }
        _ => false,
    }
}

pub(crate) fn column_from_def(def: &ColumnDef) -> Column {
    let data_type = def.data_type.to_string();
    let serial = data_type.to_ascii_uppercase().contains("SERIAL");
    let mut col = Column {
        name: def.name.value.clone(),
        data_type,
        not_null: serial,
        has_default: serial,
        comment: None,
    };
    for o in &def.options {
        match &o.option {
            ColumnOption::NotNull | ColumnOption::PrimaryKey(_) => col.not_null = true,
            ColumnOption::Default(_) => col.has_default = true,
            ColumnOption::Comment(c) => col.comment = Some(c.clone()),
            other if is_auto_increment(other) => col.has_default = true,
            _ => {}
        }
    }
    col
}

pub(crate) fn add_column(table: &mut Table, def: &ColumnDef) {
    table.columns.push(column_from_def(def));
    for o in &def.options {
        match &o.option {
            ColumnOption::PrimaryKey(pk) => table.indexes.push(Index {
                name: pk
                    .name
                    .as_ref()
                    .or(o.name.as_ref())
                    .map(|n| n.value.clone())
                    .unwrap_or_default(),
                columns: vec![def.name.value.clone()],
                unique: true,
                primary: true,
            }),
            ColumnOption::Unique(u) => table.indexes.push(Index {
                name: u
                    .name
                    .as_ref()
                    .or(o.name.as_ref())
                    .map(|n| n.value.clone())
                    .unwrap_or_default(),
                columns: vec![def.name.value.clone()],
                unique: true,
                primary: false,
            }),
            _ => {}
        }
    }
}

pub(crate) fn add_constraint(table: &mut Table, c: &TableConstraint) {
    let (name, columns, unique, primary) = match c {
        TableConstraint::PrimaryKey(pk) => (
            pk.name.as_ref().or(pk.index_name.as_ref()),
            &pk.columns,
            true,
            true,
        ),
        TableConstraint::Unique(u) => (
            u.name.as_ref().or(u.index_name.as_ref()),
            &u.columns,
            true,
            false,
        ),
        TableConstraint::Index(i) => (i.name.as_ref(), &i.columns, false, false),
        TableConstraint::FulltextOrSpatial(f) => {
            (f.opt_index_name.as_ref(), &f.columns, false, false)
        }
        _ => return,
    };
    let columns: Vec<String> = columns.iter().map(index_column_name).collect();
    if primary {
        for name in &columns {
            if let Some(col) = table.column_mut(name) {
                col.not_null = true;
            }
        }
    }
    table.indexes.push(Index {
        name: name.map(|n| n.value.clone()).unwrap_or_default(),
        columns,
        unique,
        primary,
    });
}

pub(crate) fn alter(
    table: &mut Table,
    op: &AlterTableOperation,
    issues: &mut Vec<WalkIssue>,
    rename: &mut Option<ObjectName>,
) {
    let unknown_col =
        |t: &Table, c: &str| WalkIssue::Unknown(format!("column {}.{c} does not exist", t.name));
    match op {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            ..
        } => {
            if table.column(&column_def.name.value).is_some() {
                if !if_not_exists {
                    issues.push(WalkIssue::Duplicate(format!(
                        "column {}.{} already exists",
                        table.name, column_def.name.value
                    )));
                }
            } else {
                add_column(table, column_def);
            }
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for c in column_names {
                if table.column(&c.value).is_none() {
                    if !if_exists {
                        issues.push(unknown_col(table, &c.value));
                    }
                    continue;
                }
                table
                    .columns
                    .retain(|x| !x.name.eq_ignore_ascii_case(&c.value));
                for idx in &mut table.indexes {
                    idx.columns.retain(|x| !x.eq_ignore_ascii_case(&c.value));
                }
                table.indexes.retain(|i| !i.columns.is_empty());
            }
        }
        AlterTableOperation::AddConstraint { constraint, .. } => add_constraint(table, constraint),
        AlterTableOperation::DropConstraint {
            name, if_exists, ..
        } => {
            let before = table.indexes.len();
            table
                .indexes
                .retain(|i| !i.name.eq_ignore_ascii_case(&name.value));
            // PostgreSQL names an unnamed primary key `<table>_pkey`.
            let pkey = format!("{}_pkey", table.name);
            if name.value.eq_ignore_ascii_case(&pkey) {
                table.indexes.retain(|i| !i.primary);
            }
            let _ = (before, if_exists);
        }
        AlterTableOperation::DropPrimaryKey { .. } => table.indexes.retain(|i| !i.primary),
        AlterTableOperation::DropIndex { name } => {
            let before = table.indexes.len();
            table
                .indexes
                .retain(|i| !i.name.eq_ignore_ascii_case(&name.value));
            if before == table.indexes.len() {
                issues.push(WalkIssue::Unknown(format!(
                    "index {} does not exist",
                    name.value
                )));
            }
        }
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => rename_column(
            table,
            &old_column_name.value,
            &new_column_name.value,
            issues,
        ),
        AlterTableOperation::RenameTable { table_name } => {
            let (sqlparser::ast::RenameTableNameKind::As(n)
            | sqlparser::ast::RenameTableNameKind::To(n)) = table_name;
            *rename = Some(n.clone());
        }
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            ..
        } => {
            if table.column(&old_name.value).is_none() {
                issues.push(unknown_col(table, &old_name.value));
                return;
            }
            rename_column(table, &old_name.value, &new_name.value, issues);
            replace_column(table, new_name, data_type, options);
        }
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            ..
        } => {
            if table.column(&col_name.value).is_none() {
                issues.push(unknown_col(table, &col_name.value));
                return;
            }
            replace_column(table, col_name, data_type, options);
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            let Some(col) = table.column_mut(&column_name.value) else {
                issues.push(unknown_col(table, &column_name.value));
                return;
            };
            match op {
                AlterColumnOperation::SetNotNull => col.not_null = true,
                AlterColumnOperation::DropNotNull => col.not_null = false,
                AlterColumnOperation::SetDefault { .. } => col.has_default = true,
                AlterColumnOperation::DropDefault => col.has_default = false,
                AlterColumnOperation::SetDataType { data_type, .. } => {
                    col.data_type = data_type.to_string();
                }
                _ => {}
            }
        }
        _ => {}
    }
}

fn rename_column(table: &mut Table, old: &str, new: &str, issues: &mut Vec<WalkIssue>) {
    let Some(col) = table.column_mut(old) else {
        issues.push(WalkIssue::Unknown(format!(
            "column {}.{old} does not exist",
            table.name
        )));
        return;
    };
    col.name = new.to_owned();
    for idx in &mut table.indexes {
        for c in &mut idx.columns {
            if c.eq_ignore_ascii_case(old) {
                *c = new.to_owned();
            }
        }
    }
}

fn replace_column(
    table: &mut Table,
    name: &Ident,
    data_type: &sqlparser::ast::DataType,
    options: &[ColumnOption],
) {
    let def = ColumnDef {
        name: name.clone(),
        data_type: data_type.clone(),
        options: options
            .iter()
            .map(|o| sqlparser::ast::ColumnOptionDef {
                name: None,
                option: o.clone(),
            })
            .collect(),
    };
    let in_pk = table.primary_key().is_some_and(|pk| {
        pk.columns
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&name.value))
    });
    if let Some(col) = table.column_mut(&name.value) {
        let mut new = column_from_def(&def);
        new.not_null |= in_pk;
        *col = new;
    }
}
