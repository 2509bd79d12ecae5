//! Review rules, one file per rule family, plus the per-script state they share. Rules only read
//! the statement and the catalog state before it; the walk-through here updates the catalog.

use std::collections::HashMap;

use sqlparser::ast::{
    AlterTableOperation, ColumnDef, ColumnOption, DataType, ForeignKeyConstraint, Ident,
    ObjectName, Statement, TableConstraint,
};

use super::catalog::{Catalog, WalkIssue, index_column_name, is_auto_increment};
use super::policy::{Active, Resolved};
use super::registry::RuleId;
use super::split::RawStatement;
use super::{Engine, Finding};

mod column;
mod index;
mod naming;
mod schema;
mod statement;
mod system;
mod table;
#[cfg(test)]
pub(crate) mod testing;

/// Where a finding for the current statement is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position {
    index: usize,
    line: usize,
    column: usize,
}

impl Position {
    /// Statement `index`, at `line` (1-based) and `column` (0-based, characters).
    pub(crate) fn new(index: usize, line: usize, column: usize) -> Self {
        Position {
            index,
            line,
            column,
        }
    }
}

/// Collects findings for one statement.
pub(crate) struct Emitter<'a> {
    rules: &'a Resolved,
    out: &'a mut Vec<Finding>,
    pos: Position,
}

impl<'a> Emitter<'a> {
    pub(crate) fn new(
        rules: &'a Resolved,
        out: &'a mut Vec<Finding>,
        raw: &RawStatement<'_>,
    ) -> Self {
        Emitter {
            rules,
            out,
            pos: Position {
                index: raw.index,
                line: raw.line,
                column: raw.column,
            },
        }
    }

    /// The rule's settings if it runs.
    pub(crate) fn on(&self, rule: RuleId) -> Option<&'a Active> {
        self.rules.get(rule)
    }

    /// Reports `rule` on the current statement (if the rule runs; the message is only built
    /// then).
    pub(crate) fn emit(&mut self, rule: RuleId, message: impl FnOnce() -> String) {
        if self.rules.get(rule).is_some() {
            emit_at(self.rules, self.out, self.pos, rule, message());
        }
    }

    /// Reports `rule` on the current statement at a position inside it (the guards point at
    /// the offending text itself).
    pub(crate) fn emit_located(
        &mut self,
        rule: RuleId,
        line: usize,
        column: usize,
        message: String,
    ) {
        let pos = Position::new(self.pos.index, line, column);
        emit_at(self.rules, self.out, pos, rule, message);
    }
}

pub(crate) fn emit_at(
    rules: &Resolved,
    out: &mut Vec<Finding>,
    pos: Position,
    rule: RuleId,
    message: String,
) {
    if let Some(active) = rules.get(rule) {
        out.push(Finding {
            rule: rule.name().to_owned(),
            level: active.level,
            statement: pos.index,
            line: pos.line,
            column: pos.column,
            message,
        });
    }
}

/// What the script has done so far.
pub(crate) struct ScriptState {
    pub(crate) engine: Engine,
    pub(crate) catalog: Catalog,
    /// The caller supplied the database's current schema.
    pub(crate) has_schema: bool,
    /// Tables created by this script, with where.
    pub(crate) created: HashMap<String, Position>,
    /// Tables changed (CREATE/ALTER) so far, for `statement.merge-alter-table`.
    table_changes: HashMap<String, usize>,
    /// Statements in the open transaction, `None` outside one.
    txn_statements: Option<usize>,
    txn_reported: bool,
    /// `SET ROLE` seen / the role check done.
    role_checked: bool,
    /// `SET max_execution_time` seen.
    max_execution_time_set: bool,
    first_position: Option<Position>,
}

impl ScriptState {
    pub(crate) fn new(engine: Engine, schema: Option<&Catalog>) -> Self {
        ScriptState {
            engine,
            catalog: schema.cloned().unwrap_or_else(|| Catalog::new(engine)),
            has_schema: schema.is_some(),
            created: HashMap::new(),
            table_changes: HashMap::new(),
            txn_statements: None,
            txn_reported: false,
            role_checked: false,
            max_execution_time_set: false,
            first_position: None,
        }
    }

    /// Whether `name` was created by this script (so it holds no data yet).
    pub(crate) fn is_new(&self, name: &ObjectName) -> bool {
        self.created.contains_key(&self.catalog.key(name))
    }
}

/// The statement being checked and the state before it.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: Engine,
    pub(crate) stmt: &'a Statement,
    /// Column definitions of the statement, computed once.
    pub(crate) columns: &'a [ColumnSpec<'a>],
    /// Indexes, keys and foreign keys of the statement, computed once.
    pub(crate) indexes: &'a [IndexSpec<'a>],
    pub(crate) text: &'a str,
    pub(crate) state: &'a ScriptState,
}

impl Ctx<'_> {
    pub(crate) fn pg(&self) -> bool {
        self.engine == Engine::Postgres
    }
    pub(crate) fn mysql(&self) -> bool {
        self.engine == Engine::Mysql
    }
}

/// Runs every rule family on one parsed statement, then walks it through the catalog.
pub(crate) fn check_statement(
    state: &mut ScriptState,
    stmt: &Statement,
    text: &str,
    em: &mut Emitter<'_>,
) {
    if state.first_position.is_none() {
        state.first_position = Some(em.pos);
    }
    {
        let columns = column_specs(stmt);
        let indexes = index_specs(stmt);
        let ctx = Ctx {
            engine: state.engine,
            stmt,
            columns: &columns,
            indexes: &indexes,
            text,
            state,
        };
        table::check(&ctx, em);
        column::check(&ctx, em);
        index::check(&ctx, em);
        naming::check(&ctx, em);
        statement::check(&ctx, em);
        schema::check(&ctx, em);
        system::check(&ctx, em);
    }
    track(state, stmt, em);
    let issues = state.catalog.apply(stmt);
    for issue in issues {
        match issue {
            WalkIssue::Duplicate(m) => em.emit(RuleId::BuiltinWalkThroughCheck, || m),
            WalkIssue::Unknown(m) if state.has_schema => {
                em.emit(RuleId::BuiltinWalkThroughCheck, || m);
            }
            WalkIssue::Unknown(_) => {}
        }
    }
    if let Statement::CreateTable(ct) = stmt {
        let key = state.catalog.key(&ct.name);
        state.created.entry(key).or_insert(em.pos);
    }
    index::after_apply(state, stmt, em);
}

/// Text-level checks for a statement the parser could not read.
pub(crate) fn check_unparsed(state: &mut ScriptState, text: &str, em: &mut Emitter<'_>) {
    if state.first_position.is_none() {
        state.first_position = Some(em.pos);
    }
    table::check_text(state.engine, text, em);
    system::check_text(state.engine, text, em);
    statement::check_text(state.engine, text, em);
}

/// Script-level state updates and the rules that need them.
fn track(state: &mut ScriptState, stmt: &Statement, em: &mut Emitter<'_>) {
    statement::track_script(state, stmt, em);
    if let Some(table) = changed_table(stmt) {
        let key = state.catalog.key(table);
        let n = state.table_changes.entry(key).or_insert(0);
        *n += 1;
        if *n == 2 {
            em.emit(RuleId::StatementMergeAlterTable, || format!(
                    "There are several statements changing table {}; merge them into one ALTER TABLE",
                    super::catalog::last_name(table)
                ),
            );
        }
    }
}

fn changed_table(stmt: &Statement) -> Option<&ObjectName> {
    match stmt {
        Statement::CreateTable(ct) => Some(&ct.name),
        Statement::AlterTable(at) => Some(&at.name),
        _ => None,
    }
}

/// End-of-script rules (comments set by later `COMMENT ON`, script-wide requirements).
pub(crate) fn finish(state: &mut ScriptState, rules: &Resolved, out: &mut Vec<Finding>) {
    let mut created: Vec<(&String, &Position)> = state.created.iter().collect();
    created.sort_by_key(|(_, p)| p.index);
    let comments_later = state.engine == Engine::Postgres;
    for (key, pos) in created {
        let Some(table) = state.catalog.table_by_key(key) else {
            continue;
        };
        if comments_later {
            table::finish_comment(table, rules, out, *pos);
            column::finish_comment(table, rules, out, *pos);
        }
    }
    if let Some(first) = state.first_position {
        statement::finish(state, rules, out, first);
    }
}

// ---- shared helpers -------------------------------------------------------------------------

/// Type name and numeric arguments, e.g. `VARCHAR(20)` → ("VARCHAR", [20]).
pub(crate) struct TypeInfo {
    pub(crate) base: String,
    pub(crate) args: Vec<u64>,
    pub(crate) unsigned: bool,
}

pub(crate) fn type_info(dt: &DataType) -> TypeInfo {
    type_info_str(&dt.to_string())
}

pub(crate) fn type_info_str(text: &str) -> TypeInfo {
    let upper = text.to_ascii_uppercase();
    if !upper.contains('(') && !upper.contains(' ') {
        return TypeInfo {
            base: upper,
            args: Vec::new(),
            unsigned: false,
        };
    }
    let (head, args) = match upper.split_once('(') {
        Some((h, rest)) => (
            h.trim().to_owned(),
            rest.split(')')
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect(),
        ),
        None => (upper.trim().to_owned(), Vec::new()),
    };
    let unsigned = upper.contains("UNSIGNED");
    let base = if unsigned || head.contains(" ZEROFILL") {
        head.replace(" UNSIGNED", "")
            .replace(" ZEROFILL", "")
            .trim()
            .to_owned()
    } else {
        head
    };
    TypeInfo {
        base,
        args,
        unsigned,
    }
}

/// Canonical integer/serial spelling for comparisons (`INTEGER` → `INT`, `INT8` → `BIGINT`).
pub(crate) fn canonical_type(base: &str) -> &str {
    match base {
        "INTEGER" | "INT4" => "INT",
        "INT8" => "BIGINT",
        "INT2" => "SMALLINT",
        "SERIAL4" => "SERIAL",
        "SERIAL8" => "BIGSERIAL",
        other => other,
    }
}

pub(crate) fn is_integer_type(base: &str) -> bool {
    matches!(
        canonical_type(base),
        "TINYINT"
            | "SMALLINT"
            | "MEDIUMINT"
            | "INT"
            | "BIGINT"
            | "SERIAL"
            | "BIGSERIAL"
            | "SMALLSERIAL"
    )
}

/// Text and blob types (MySQL), which cannot have defaults or plain indexes.
pub(crate) fn is_blob_or_text(base: &str) -> bool {
    matches!(
        base,
        "TEXT"
            | "TINYTEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "BLOB"
            | "TINYBLOB"
            | "MEDIUMBLOB"
            | "LONGBLOB"
    )
}

/// Character types that take a charset/collation.
pub(crate) fn is_char_type(base: &str) -> bool {
    matches!(
        base,
        "CHAR"
            | "VARCHAR"
            | "CHARACTER"
            | "CHARACTER VARYING"
            | "TEXT"
            | "TINYTEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "ENUM"
            | "SET"
            | "NCHAR"
            | "NVARCHAR"
    )
}

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
                fk.name.as_ref(),
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
                    AlterTableOperation::AddColumn { column_def, .. } => {
                        for o in &column_def.options {
                            if let ColumnOption::ForeignKey(fk) = &o.option {
                                out.push(IndexSpec {
                                    table: &at.name,
                                    name: fk.name.as_ref().map(|n| n.value.clone()),
                                    columns: vec![column_def.name.value.clone()],
                                    kind: IndexKind::Foreign,
                                    using: None,
                                    fk: Some(fk),
                                    on_existing: true,
                                    not_valid: false,
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
            name: ci.name.as_ref().map(super::catalog::last_name),
            columns: ci.columns.iter().map(index_column_name).collect(),
            kind: if ci.unique {
                IndexKind::Unique
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
    i.source.as_ref().is_some_and(|q| q.with.is_none())
        && v.rows.iter().flat_map(|r| &r.content).all(|e| {
            matches!(
                e,
                sqlparser::ast::Expr::Value(_) | sqlparser::ast::Expr::Identifier(_)
            )
        })
}

/// The type of `column` of `table`: from the statement's own definitions, else the catalog.
pub(crate) fn column_type(ctx: &Ctx<'_>, table: &ObjectName, column: &str) -> Option<String> {
    ctx.columns
        .iter()
        .find(|c| c.name.value.eq_ignore_ascii_case(column))
        .map(|c| c.data_type.to_string())
        .or_else(|| {
            ctx.state
                .catalog
                .table(table)
                .and_then(|t| t.column(column))
                .map(|c| c.data_type.clone())
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
    super::catalog::last_name(name)
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
