//! What a statement defines, in one shape for every statement form: its column definitions,
//! its indexes, keys and foreign keys, and small text helpers the rule families share.

use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, DataType, ForeignKeyConstraint, Ident,
    ObjectName, Spanned, Statement, TableConstraint,
};
use sqlparser::tokenizer::Span;

use super::types::{TypeInfo, type_info};
use crate::review::catalog::{index_column_name, is_auto_increment};

/// Where a column definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnSource {
    CreateTable,
    AddColumn,
    Change,
    Modify,
}

/// A column definition in any statement shape.
pub(crate) struct ColumnSpec<'a> {
    pub(crate) table: &'a ObjectName,
    pub(crate) name: &'a Ident,
    pub(crate) data_type: &'a DataType,
    pub(crate) options: Vec<&'a ColumnOption>,
    pub(crate) source: ColumnSource,
    /// The parsed type, computed once.
    pub(crate) ty: TypeInfo,
    /// Part of a table-level primary key in the same CREATE TABLE.
    pub(crate) in_table_pk: bool,
}

impl ColumnSpec<'_> {
    pub(crate) fn has(&self, f: impl Fn(&ColumnOption) -> bool) -> bool {
        self.options.iter().any(|o| f(o))
    }
    pub(crate) fn is_pk(&self) -> bool {
        self.in_table_pk || self.has(|o| matches!(o, ColumnOption::PrimaryKey(_)))
    }
    pub(crate) fn not_null(&self) -> bool {
        self.is_pk()
            || self.has(|o| matches!(o, ColumnOption::NotNull))
            || self.ty.base.contains("SERIAL")
    }
    pub(crate) fn has_default(&self) -> bool {
        self.has(|o| matches!(o, ColumnOption::Default(_)))
    }
    pub(crate) fn auto_increment(&self) -> bool {
        self.has(is_auto_increment) || self.ty.base.contains("SERIAL")
    }
    pub(crate) fn comment(&self) -> Option<&str> {
        self.options.iter().find_map(|o| match o {
            ColumnOption::Comment(c) => Some(c.as_str()),
            _ => None,
        })
    }
}

fn def_spec<'a>(
    table: &'a ObjectName,
    def: &'a ColumnDef,
    source: ColumnSource,
    pk: &[String],
) -> ColumnSpec<'a> {
    ColumnSpec {
        table,
        name: &def.name,
        data_type: &def.data_type,
        options: def.options.iter().map(|o| &o.option).collect(),
        source,
        ty: type_info(&def.data_type),
        in_table_pk: pk.iter().any(|c| c.eq_ignore_ascii_case(&def.name.value)),
    }
}

/// Every column definition the statement creates or redefines.
pub(crate) fn column_specs(stmt: &Statement) -> Vec<ColumnSpec<'_>> {
    let mut out = Vec::new();
    match stmt {
        Statement::CreateTable(ct) => {
            let pk: Vec<String> = ct
                .constraints
                .iter()
                .filter_map(|c| match c {
                    TableConstraint::PrimaryKey(pk) => {
                        Some(pk.columns.iter().map(index_column_name))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            for def in &ct.columns {
                out.push(def_spec(&ct.name, def, ColumnSource::CreateTable, &pk));
            }
        }
        Statement::AlterTable(at) => {
            for op in &at.operations {
                match op {
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        out.push(def_spec(&at.name, column_def, ColumnSource::AddColumn, &[]));
                    }
                    AlterTableOperation::ChangeColumn {
                        new_name,
                        data_type,
                        options,
                        ..
                    } => out.push(ColumnSpec {
                        table: &at.name,
                        name: new_name,
                        data_type,
                        options: options.iter().collect(),
                        source: ColumnSource::Change,
                        ty: type_info(data_type),
                        in_table_pk: false,
                    }),
                    AlterTableOperation::ModifyColumn {
                        col_name,
                        data_type,
                        options,
                        ..
                    } => out.push(ColumnSpec {
                        table: &at.name,
                        name: col_name,
                        data_type,
                        options: options.iter().collect(),
                        source: ColumnSource::Modify,
                        ty: type_info(data_type),
                        in_table_pk: false,
                    }),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// What kind of index-like object an [`IndexSpec`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexKind {
    Primary,
    Unique,
    Plain,
    FullText,
    Foreign,
}

/// An index, key or foreign key defined by a statement.
pub(crate) struct IndexSpec<'a> {
    pub(crate) table: &'a ObjectName,
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) kind: IndexKind,
    pub(crate) using: Option<String>,
    pub(crate) fk: Option<&'a ForeignKeyConstraint>,
    /// Defined by ALTER TABLE or CREATE INDEX (rather than inside CREATE TABLE).
    pub(crate) on_existing: bool,
    /// `ADD CONSTRAINT … NOT VALID`.
    pub(crate) not_valid: bool,
    /// Where it is defined (statement-relative; empty for the statement's start).
    pub(crate) span: Span,
}

fn constraint_spec<'a>(
    table: &'a ObjectName,
    c: &'a TableConstraint,
    on_existing: bool,
    not_valid: bool,
) -> Option<IndexSpec<'a>> {
    let spec = |name: Option<&Ident>, cols: Vec<String>, kind, using: Option<String>| IndexSpec {
        table,
        name: name.map(|n| n.value.clone()),
        columns: cols,
        kind,
        using,
        fk: None,
        on_existing,
        not_valid,
        span: c.span(),
    };
    let cols =
        |v: &[sqlparser::ast::IndexColumn]| v.iter().map(index_column_name).collect::<Vec<_>>();
    Some(match c {
        TableConstraint::PrimaryKey(pk) => spec(
            pk.name.as_ref().or(pk.index_name.as_ref()),
            cols(&pk.columns),
            IndexKind::Primary,
            pk.index_type.as_ref().map(ToString::to_string),
        ),
        TableConstraint::Unique(u) => spec(
            u.name.as_ref().or(u.index_name.as_ref()),
            cols(&u.columns),
            IndexKind::Unique,
            u.index_type.as_ref().map(ToString::to_string),
        ),
        TableConstraint::Index(i) => spec(
            i.name.as_ref(),
            cols(&i.columns),
            IndexKind::Plain,
            i.index_type.as_ref().map(ToString::to_string).or_else(|| {
                i.index_options.iter().find_map(|o| match o {
                    sqlparser::ast::IndexOption::Using(t) => Some(t.to_string()),
                    sqlparser::ast::IndexOption::Comment(_) => None,
                })
            }),
        ),
        TableConstraint::FulltextOrSpatial(f) => spec(
            f.opt_index_name.as_ref(),
            cols(&f.columns),
            IndexKind::FullText,
            Some(if f.fulltext { "FULLTEXT" } else { "SPATIAL" }.to_owned()),
        ),
        TableConstraint::ForeignKey(fk) => IndexSpec {
            fk: Some(fk),
            ..spec(
                fk.name.as_ref().or(fk.index_name.as_ref()),
                fk.columns.iter().map(|i| i.value.clone()).collect(),
                IndexKind::Foreign,
                None,
            )
        },
        _ => return None,
    })
}

/// Every index, key and foreign key the statement defines.
pub(crate) fn index_specs(stmt: &Statement) -> Vec<IndexSpec<'_>> {
    let mut out = Vec::new();
    match stmt {
        Statement::CreateTable(ct) => {
            for def in &ct.columns {
                for o in &def.options {
                    let kind = match &o.option {
                        ColumnOption::PrimaryKey(_) => IndexKind::Primary,
                        ColumnOption::Unique(_) => IndexKind::Unique,
                        ColumnOption::ForeignKey(_) => IndexKind::Foreign,
                        _ => continue,
                    };
                    let fk = match &o.option {
                        ColumnOption::ForeignKey(fk) => Some(fk),
                        _ => None,
                    };
                    let name = match &o.option {
                        ColumnOption::PrimaryKey(pk) => pk.name.as_ref(),
                        ColumnOption::Unique(u) => u.name.as_ref(),
                        ColumnOption::ForeignKey(fk) => fk.name.as_ref(),
                        _ => None,
                    }
                    .or(o.name.as_ref());
                    out.push(IndexSpec {
                        table: &ct.name,
                        name: name.map(|n| n.value.clone()),
                        columns: vec![def.name.value.clone()],
                        kind,
                        using: None,
                        fk,
                        on_existing: false,
                        not_valid: false,
                        span: def.name.span,
                    });
                }
            }
            out.extend(
                ct.constraints
                    .iter()
                    .filter_map(|c| constraint_spec(&ct.name, c, false, false)),
            );
        }
        Statement::AlterTable(at) => {
            for op in &at.operations {
                match op {
                    AlterTableOperation::AddConstraint {
                        constraint,
                        not_valid,
                    } => out.extend(constraint_spec(&at.name, constraint, true, *not_valid)),
                    AlterTableOperation::ModifyColumn {
                        col_name: name,
                        options,
                        ..
                    }
                    | AlterTableOperation::ChangeColumn {
                        new_name: name,
                        options,
                        ..
                    } => {
                        for o in options {
                            let kind = match o {
                                ColumnOption::PrimaryKey(_) => IndexKind::Primary,
                                ColumnOption::Unique(_) => IndexKind::Unique,
                                _ => continue,
                            };
                            out.push(IndexSpec {
                                table: &at.name,
                                name: None,
                                columns: vec![name.value.clone()],
                                kind,
                                using: None,
                                fk: None,
                                on_existing: true,
                                not_valid: false,
                                span: name.span,
                            });
                        }
                    }
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        for o in &column_def.options {
                            let kind = match &o.option {
                                ColumnOption::PrimaryKey(_) => Some(IndexKind::Primary),
                                ColumnOption::Unique(_) => Some(IndexKind::Unique),
                                _ => None,
                            };
                            if let Some(kind) = kind {
                                out.push(IndexSpec {
                                    table: &at.name,
                                    name: o.name.as_ref().map(|n| n.value.clone()),
                                    columns: vec![column_def.name.value.clone()],
                                    kind,
                                    using: None,
                                    fk: None,
                                    on_existing: true,
                                    not_valid: false,
                                    span: column_def.name.span,
                                });
                            }
                            if let ColumnOption::ForeignKey(fk) = &o.option {
                                out.push(IndexSpec {
                                    table: &at.name,
                                    name: fk
                                        .name
                                        .as_ref()
                                        .or(o.name.as_ref())
                                        .map(|n| n.value.clone()),
                                    columns: vec![column_def.name.value.clone()],
                                    kind: IndexKind::Foreign,
                                    using: None,
                                    fk: Some(fk),
                                    on_existing: true,
                                    not_valid: false,
                                    span: column_def.name.span,
                                });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Statement::CreateIndex(ci) => out.push(IndexSpec {
            table: &ci.table_name,
            name: ci.name.as_ref().map(crate::review::catalog::last_name),
            columns: ci.columns.iter().map(index_column_name).collect(),
            kind: if ci.unique {
                IndexKind::Unique
            } else if ci.using.as_ref().is_some_and(|u| {
                let u = u.to_string();
                u.eq_ignore_ascii_case("FULLTEXT") || u.eq_ignore_ascii_case("SPATIAL")
            }) {
                IndexKind::FullText
            } else {
                IndexKind::Plain
            },
            using: ci.using.as_ref().map(ToString::to_string).or_else(|| {
                ci.index_options.iter().find_map(|o| match o {
                    sqlparser::ast::IndexOption::Using(t) => Some(t.to_string()),
                    sqlparser::ast::IndexOption::Comment(_) => None,
                })
            }),
            fk: None,
            on_existing: true,
            not_valid: false,
            span: Span::empty(),
        }),
        _ => {}
    }
    out
}

/// An INSERT whose rows are plain literals (bulk data): nothing in it for expression rules.
pub(crate) fn literal_insert(stmt: &Statement) -> bool {
    let Statement::Insert(i) = stmt else {
        return false;
    };
    let Some(sqlparser::ast::SetExpr::Values(v)) = i.source.as_ref().map(|q| q.body.as_ref())
    else {
        return false;
    };
    // Clauses around the rows (`ON DUPLICATE KEY UPDATE`, `ON CONFLICT`, `RETURNING`, …) can
    // hold any expression.
    i.source.as_ref().is_some_and(|q| q.with.is_none())
        && i.on.is_none()
        && i.returning.is_none()
        && i.output.is_none()
        && i.partitioned.is_none()
        && i.assignments.is_empty()
        && v.rows.iter().flat_map(|r| &r.content).all(|e| {
            matches!(
                e,
                sqlparser::ast::Expr::Value(_) | sqlparser::ast::Expr::Identifier(_)
            )
        })
}

/// First `n` upper-cased words of a statement's text.
pub(crate) fn leading_words(text: &str, n: usize) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .take(n)
        .map(str::to_ascii_uppercase)
        .collect()
}

/// The name of a table/column in messages.
pub(crate) fn show(name: &ObjectName) -> String {
    crate::review::catalog::last_name(name)
}

/// Table names a statement targets with DDL.
pub(crate) fn ddl_tables(stmt: &Statement) -> Vec<&ObjectName> {
    match stmt {
        Statement::CreateTable(ct) => vec![&ct.name],
        Statement::AlterTable(at) => vec![&at.name],
        Statement::CreateIndex(ci) => vec![&ci.table_name],
        Statement::Drop {
            object_type: sqlparser::ast::ObjectType::Table,
            names,
            ..
        } => names.iter().collect(),
        Statement::Truncate(t) => t.table_names.iter().map(|t| &t.name).collect(),
        _ => Vec::new(),
    }
}
