//! Naming rules: `naming.*` (tables, columns, index/unique/primary/foreign key names with
//! `{{table}}`-style templates, auto-increment columns, keywords, qualified names). Must not
//! change the catalog.

use std::ops::ControlFlow;

use sqlparser::ast::{
    AlterTableOperation, ObjectName, RenameTableNameKind, Statement, Visit, Visitor,
};

use super::{Ctx, Emitter, IndexKind, show};
use crate::review::policy::Active;
use crate::review::registry::RuleId;

fn check_name(rule: &Active, name: &str, vars: &[(&str, &str)]) -> Option<String> {
    if let Some(f) = &rule.format
        && !f.matches(name, vars)
    {
        let hint = f
            .expected(vars)
            .map(|e| format!(" (expected \"{e}\")"))
            .unwrap_or_default();
        return Some(format!(
            "\"{name}\" does not match \"{}\"{hint}",
            f.template()
        ));
    }
    if let Some(max) = rule.max_length()
        && name.chars().count() > max
    {
        return Some(format!("\"{name}\" is longer than {max} characters"));
    }
    None
}

fn named(em: &mut Emitter<'_>, rule: RuleId, what: &str, name: &str, vars: &[(&str, &str)]) {
    if let Some(active) = em.on(rule)
        && let Some(problem) = check_name(active, name, vars)
    {
        em.emit(rule, || format!("{what} name {problem}"));
    }
}

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    match ctx.stmt {
        Statement::CreateTable(ct) => {
            named(em, RuleId::NamingTable, "Table", &show(&ct.name), &[]);
            keyword(ctx, em, &show(&ct.name));
        }
        Statement::AlterTable(at) => {
            for op in &at.operations {
                match op {
                    AlterTableOperation::RenameTable { table_name } => {
                        let (RenameTableNameKind::As(n) | RenameTableNameKind::To(n)) = table_name;
                        named(em, RuleId::NamingTable, "Table", &show(n), &[]);
                    }
                    AlterTableOperation::RenameColumn {
                        new_column_name, ..
                    } => {
                        named(
                            em,
                            RuleId::NamingColumn,
                            "Column",
                            &new_column_name.value,
                            &[],
                        );
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
    for c in ctx.columns {
        named(em, RuleId::NamingColumn, "Column", &c.name.value, &[]);
        keyword(ctx, em, &c.name.value);
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
    for s in ctx.indexes {
        let table = show(s.table);
        let name = s.name.clone().unwrap_or_default();
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
    if ctx.pg() && em.on(RuleId::NamingFullyQualified).is_some() {
        fully_qualified(ctx, em);
    }
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

fn keyword(ctx: &Ctx<'_>, em: &mut Emitter<'_>, name: &str) {
    if ctx.mysql() && MYSQL_RESERVED.contains(&name.to_ascii_uppercase().as_str()) {
        em.emit(RuleId::NamingIdentifierNoKeyword, || {
            format!("Identifier \"{name}\" is a reserved keyword")
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
        Statement::Insert(i) if super::literal_insert(ctx.stmt) => match &i.table {
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
    if let Statement::CreateIndex(ci) = ctx.stmt
        && ci.table_name.0.len() < 2
        && !r.unqualified.contains(&show(&ci.table_name))
    {
        r.unqualified.push(show(&ci.table_name));
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
