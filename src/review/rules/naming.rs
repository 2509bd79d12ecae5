//! Naming rules: `naming.*` (tables, columns, index/unique/primary/foreign key names with
//! `{{table}}`-style templates, auto-increment columns, keywords, qualified names). Must not
//! change the catalog.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterIndexOperation, AlterTableOperation, ConstraintUsingIndex, Ident, ObjectName,
    RenameTableNameKind, Statement, TableConstraint, Visit, Visitor,
};

use super::{Ctx, Emitter, IndexKind, show};
use crate::review::Engine;
use crate::review::policy::Active;
use crate::review::registry::RuleId;

fn check_name(rule: &Active, what: &str, name: &str, vars: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(f) = &rule.format
        && !f.matches(name, vars)
    {
        let hint = f
            .expected(vars)
            .map(|e| format!(" (expected \"{e}\")"))
            .unwrap_or_default();
        problems.push(format!(
            "{what} name \"{name}\" does not match \"{}\"{hint}",
            f.template()
        ));
    }
    if let Some(max) = rule.max_length()
        && name.chars().count() > max
    {
        problems.push(format!(
            "{what} name \"{name}\" is longer than {max} characters"
        ));
    }
    problems
}

/// Checks a name against a naming rule: one finding for a format mismatch and one for the
/// length, as Bytebase reports them.
pub(super) fn named(
    em: &mut Emitter<'_>,
    rule: RuleId,
    what: &str,
    name: &str,
    vars: &[(&str, &str)],
) {
    if let Some(active) = em.on(rule) {
        for problem in check_name(active, what, name, vars) {
            em.emit(rule, || problem);
        }
    }
}

/// An identifier as the engine stores it: PostgreSQL folds unquoted names to lower case.
fn folded(engine: Engine, ident: &Ident) -> String {
    if engine == Engine::Postgres && ident.quote_style.is_none() {
        ident.value.to_lowercase()
    } else {
        ident.value.clone()
    }
}

fn folded_name(engine: Engine, name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| folded(engine, i))
        .unwrap_or_else(|| show(name))
}

/// Checks the new name of a renamed index or key with the rule for its kind.
pub(super) fn renamed_index(
    em: &mut Emitter<'_>,
    table: &crate::review::catalog::Table,
    old: &str,
    new: &str,
    pg: bool,
) {
    let Some(index) = table
        .indexes
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(old))
    else {
        return;
    };
    let columns = index.columns.join("_");
    let vars = [
        ("table", table.name.as_str()),
        ("column_list", columns.as_str()),
    ];
    if index.primary {
        if pg {
            named(em, RuleId::NamingIndexPk, "Primary key", new, &vars);
        }
    } else if index.unique {
        named(em, RuleId::NamingIndexUk, "Unique key", new, &vars);
    } else {
        named(em, RuleId::NamingIndexIdx, "Index", new, &vars);
    }
}

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    match ctx.stmt {
        Statement::CreateTable(ct) => {
            named(
                em,
                RuleId::NamingTable,
                "Table",
                &folded_name(ctx.engine, &ct.name),
                &[],
            );
            keyword(ctx, em, &crate::review::catalog::last_name(&ct.name));
        }
        Statement::RenameTable(renames) => {
            for r in renames {
                let name = folded_name(ctx.engine, &r.new_name);
                named(em, RuleId::NamingTable, "Table", &name, &[]);
                keyword(ctx, em, &crate::review::catalog::last_name(&r.new_name));
            }
        }
        Statement::AlterIndex {
            name,
            operation: AlterIndexOperation::RenameIndex { index_name },
        } => {
            if let Some(t) = ctx.state.catalog.table_of_index(&show(name)) {
                let new = folded_name(ctx.engine, index_name);
                renamed_index(em, t, &show(name), &new, ctx.pg());
            }
        }
        Statement::AlterTable(at) => {
            for op in &at.operations {
                match op {
                    AlterTableOperation::RenameTable { table_name } => {
                        let (RenameTableNameKind::As(n) | RenameTableNameKind::To(n)) = table_name;
                        named(
                            em,
                            RuleId::NamingTable,
                            "Table",
                            &folded_name(ctx.engine, n),
                            &[],
                        );
                        keyword(ctx, em, &crate::review::catalog::last_name(n));
                    }
                    AlterTableOperation::RenameColumn {
                        new_column_name, ..
                    } => {
                        named(
                            em,
                            RuleId::NamingColumn,
                            "Column",
                            &folded(ctx.engine, new_column_name),
                            &[],
                        );
                        keyword(ctx, em, &new_column_name.value);
                    }
                    AlterTableOperation::RenameConstraint { old_name, new_name } => {
                        if let Some(t) = ctx.state.catalog.table(&at.name) {
                            let new = folded(ctx.engine, new_name);
                            renamed_index(em, t, &old_name.value, &new, ctx.pg());
                        }
                    }
                    AlterTableOperation::AddConstraint {
                        constraint:
                            c @ (TableConstraint::PrimaryKeyUsingIndex(u)
                            | TableConstraint::UniqueUsingIndex(u)),
                        ..
                    } if ctx.pg() => {
                        let pk = matches!(c, TableConstraint::PrimaryKeyUsingIndex(_));
                        adopted_index(ctx, em, &at.name, u, pk);
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    for c in ctx.columns {
        // At the column's line.
        em.located(c.name.span, |em| {
            named(
                em,
                RuleId::NamingColumn,
                "Column",
                &folded(ctx.engine, c.name),
                &[],
            );
            keyword(ctx, em, &c.name.value);
        });
        if c.has(crate::review::catalog::is_auto_increment) {
            named(
                em,
                RuleId::NamingColumnAutoIncrement,
                "Auto-increment column",
                &c.name.value,
                &[],
            );
        }
    }
    let base = em.pos;
    for s in ctx.indexes {
        // Findings about a key point at its definition.
        em.pos = base;
        em.pos = em.at(s.span);
        let table = show(s.table);
        let name = s.name.clone().unwrap_or_default();
        if !name.is_empty() && !matches!(s.kind, IndexKind::Primary) {
            keyword(ctx, em, &name);
        }
        let columns = s.columns.join("_");
        let vars = [("table", table.as_str()), ("column_list", columns.as_str())];
        match s.kind {
            IndexKind::Unique => named(em, RuleId::NamingIndexUk, "Unique key", &name, &vars),
            IndexKind::Plain | IndexKind::FullText => {
                named(em, RuleId::NamingIndexIdx, "Index", &name, &vars)
            }
            IndexKind::Primary if ctx.pg() => {
                named(em, RuleId::NamingIndexPk, "Primary key", &name, &vars)
            }
            IndexKind::Primary => {}
            IndexKind::Foreign => {
                let Some(fk) = s.fk else { continue };
                let referenced_table = show(&fk.foreign_table);
                let referenced = fk
                    .referred_columns
                    .iter()
                    .map(|c| c.value.as_str())
                    .collect::<Vec<_>>()
                    .join("_");
                let vars = [
                    ("referencing_table", table.as_str()),
                    ("referencing_column", columns.as_str()),
                    ("referenced_table", referenced_table.as_str()),
                    ("referenced_column", referenced.as_str()),
                ];
                named(em, RuleId::NamingIndexFk, "Foreign key", &name, &vars);
            }
        }
    }
    em.pos = base;
    if ctx.pg() && em.on(RuleId::NamingFullyQualified).is_some() {
        fully_qualified(ctx, em);
    }
}

/// PostgreSQL `ADD CONSTRAINT name PRIMARY KEY|UNIQUE USING INDEX ix`: the key takes the
/// columns of the existing index `ix` (from the catalog), and its name is checked with them.
fn adopted_index(
    ctx: &Ctx<'_>,
    em: &mut Emitter<'_>,
    table: &ObjectName,
    u: &ConstraintUsingIndex,
    pk: bool,
) {
    let Some(name) = &u.name else { return };
    let Some(index) = ctx.state.catalog.table(table).and_then(|t| {
        let ix = folded(ctx.engine, &u.index_name);
        t.indexes.iter().find(|x| x.name == ix)
    }) else {
        return;
    };
    let table = show(table);
    let columns = index.columns.join("_");
    let vars = [("table", table.as_str()), ("column_list", columns.as_str())];
    let (rule, what) = if pk {
        (RuleId::NamingIndexPk, "Primary key")
    } else {
        (RuleId::NamingIndexUk, "Unique key")
    };
    named(em, rule, what, &folded(ctx.engine, name), &vars);
}

/// MySQL reserved words that make poor identifiers (they need quoting everywhere).
const MYSQL_RESERVED: &[&str] = &[
    "ADD",
    "ALL",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CHECK",
    "COLUMN",
    "CONDITION",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "DATABASE",
    "DEFAULT",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EXISTS",
    "EXPLAIN",
    "FALSE",
    "FETCH",
    "FOR",
    "FOREIGN",
    "FROM",
    "FULLTEXT",
    "FUNCTION",
    "GENERATED",
    "GRANT",
    "GROUP",
    "GROUPS",
    "HAVING",
    "IF",
    "IGNORE",
    "IN",
    "INDEX",
    "INNER",
    "INSERT",
    "INTERVAL",
    "INTO",
    "IS",
    "JOIN",
    "KEY",
    "KEYS",
    "KILL",
    "LEADING",
    "LEFT",
    "LIKE",
    "LIMIT",
    "LOCK",
    "MATCH",
    "NOT",
    "NULL",
    "ON",
    "OPTION",
    "OR",
    "ORDER",
    "OUTER",
    "PARTITION",
    "PRIMARY",
    "RANGE",
    "RANK",
    "READ",
    "REFERENCES",
    "RENAME",
    "REPLACE",
    "RESTRICT",
    "RIGHT",
    "ROW",
    "ROWS",
    "SCHEMA",
    "SELECT",
    "SET",
    "SHOW",
    "TABLE",
    "THEN",
    "TO",
    "TRIGGER",
    "TRUE",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USAGE",
    "USE",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WITH",
    "WRITE",
];

/// `naming.identifier-no-keyword` (MySQL): `name` is an identifier the statement creates or
/// renames to (its last part). Reserved words are always reported; other keywords unless the
/// payload says `reservedOnly`.
fn keyword(ctx: &Ctx<'_>, em: &mut Emitter<'_>, name: &str) {
    if !ctx.mysql() {
        return;
    }
    let Some(active) = em.on(RuleId::NamingIdentifierNoKeyword) else {
        return;
    };
    let reserved_only = active.payload.reserved_only.unwrap_or(false);
    let upper = name.to_ascii_uppercase();
    let reserved = MYSQL_RESERVED.contains(&upper.as_str());
    if reserved {
        em.emit(RuleId::NamingIdentifierNoKeyword, || {
            format!("Identifier \"{name}\" is a reserved keyword")
        });
    } else if !reserved_only && super::mysql_keywords::is_keyword(&upper) {
        em.emit(RuleId::NamingIdentifierNoKeyword, || {
            format!("Identifier \"{name}\" is a keyword and should be avoided")
        });
    }
}

struct Relations<'a> {
    unqualified: Vec<String>,
    ctes: &'a [String],
}

impl Visitor for Relations<'_> {
    type Break = ();
    fn pre_visit_relation(&mut self, r: &ObjectName) -> ControlFlow<()> {
        let name = show(r);
        if r.0.len() < 2
            && !self.ctes.iter().any(|c| c.eq_ignore_ascii_case(&name))
            && !self.unqualified.contains(&name)
        {
            self.unqualified.push(name);
        }
        ControlFlow::Continue(())
    }
}

fn fully_qualified(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let ctes: Vec<String> = match ctx.stmt {
        Statement::Query(q) => q
            .with
            .as_ref()
            .map(|w| {
                w.cte_tables
                    .iter()
                    .map(|c| c.alias.name.value.clone())
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut r = Relations {
        unqualified: Vec::new(),
        ctes: &ctes,
    };
    // Statements whose references are all known without walking every expression.
    let direct: Option<Vec<&ObjectName>> = match ctx.stmt {
        Statement::Insert(i) if ctx.literal_insert => match &i.table {
            sqlparser::ast::TableObject::TableName(n) => Some(vec![n]),
            _ => None,
        },
        Statement::CreateTable(ct) if ct.query.is_none() && ct.like.is_none() => Some(
            std::iter::once(&ct.name)
                .chain(
                    ctx.indexes
                        .iter()
                        .filter_map(|s| s.fk.map(|fk| &fk.foreign_table)),
                )
                .collect(),
        ),
        _ => None,
    };
    match direct {
        Some(names) => {
            for n in names {
                let _ = r.pre_visit_relation(n);
            }
        }
        None => {
            let _ = ctx.stmt.visit(&mut r);
        }
    }
    // Names the expression walk does not see as relations: the table of an index or trigger,
    // a new sequence.
    let named = match ctx.stmt {
        Statement::CreateIndex(ci) => Some(&ci.table_name),
        Statement::CreateTrigger(tr) => Some(&tr.table_name),
        Statement::CreateSequence { name, .. } => Some(name),
        _ => None,
    };
    if let Some(n) = named
        && n.0.len() < 2
        && !r.unqualified.contains(&show(n))
    {
        r.unqualified.push(show(n));
    }
    for name in r.unqualified {
        em.emit(RuleId::NamingFullyQualified, || {
            format!("\"{name}\" must be schema-qualified")
        });
    }
}

#[cfg(test)]
#[path = "naming_tests.rs"]
mod tests;
