//! Table rules: `table.*` and `engine.mysql.use-innodb`. Reads the statement and the catalog
//! state before it; must not change the catalog.

use sqlparser::ast::{
    AlterTableOperation, CreateTable, CreateTableOptions, ObjectType, SqlOption, Statement,
};

use super::{Ctx, Emitter, IndexKind, Position, ScriptState, ddl_tables, leading_words, show};
use crate::review::catalog::Table;
use crate::review::policy::Resolved;
use crate::review::registry::RuleId;
use crate::review::{Engine, Finding};

/// `KEY = value` table options of a CREATE TABLE, keys upper-cased without `DEFAULT `.
/// The options written after a `CREATE TABLE`'s columns, in any of the parser's shapes.
fn written_options(ct: &CreateTable) -> &[SqlOption] {
    match &ct.table_options {
        CreateTableOptions::Plain(o)
        | CreateTableOptions::With(o)
        | CreateTableOptions::Options(o) => o,
        _ => &[],
    }
}

pub(crate) fn table_options(ct: &CreateTable) -> Vec<(String, String)> {
    written_options(ct)
        .iter()
        .filter_map(|o| match o {
            SqlOption::KeyValue { key, value } => Some((key.to_string(), value.to_string())),
            SqlOption::NamedParenthesizedList(l) => Some((
                l.key.value.clone(),
                l.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
            )),
            SqlOption::Comment(c) => Some(("COMMENT".to_owned(), c.to_string())),
            _ => None,
        })
        .map(|(k, v)| {
            let k = k.to_ascii_uppercase();
            let k = k.strip_prefix("DEFAULT ").unwrap_or(&k).to_owned();
            let k = if k == "CHARACTER SET" {
                "CHARSET".to_owned()
            } else {
                k
            };
            (
                k,
                v.trim_matches(|c| c == '\'' || c == '"' || c == '`')
                    .to_owned(),
            )
        })
        .collect()
}

/// Where the table option `key` (as `table_options` names it) is written, if the parser kept it.
fn option_span(ct: &CreateTable, key: &str) -> sqlparser::tokenizer::Span {
    written_options(ct)
        .iter()
        .find_map(|o| match o {
            SqlOption::KeyValue { key: k, .. } if k.to_string().eq_ignore_ascii_case(key) => {
                Some(sqlparser::ast::Spanned::span(k))
            }
            // The parser gives `ENGINE` itself no position; its value has one.
            SqlOption::NamedParenthesizedList(l) if l.key.value.eq_ignore_ascii_case(key) => {
                Some(l.name.as_ref().map_or(l.key.span, |n| n.span))
            }
            _ => None,
        })
        .unwrap_or_else(sqlparser::tokenizer::Span::empty)
}

fn option<'a>(opts: &'a [(String, String)], key: &str) -> Option<&'a str> {
    opts.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    match ctx.stmt {
        Statement::CreateTable(ct) => create_table(ctx, ct, em),
        Statement::Set(set) if ctx.mysql() => default_engine(set, em),
        Statement::AlterTable(at)
            if em.on(RuleId::TableDisallowPartition).is_some()
                && at.operations.iter().any(|op| {
                    matches!(
                        op,
                        AlterTableOperation::AttachPartition { .. }
                            | AlterTableOperation::AttachPartitionOf { .. }
                            | AlterTableOperation::AddPartitions { .. }
                    )
                }) =>
        {
            em.emit(RuleId::TableDisallowPartition, || {
                format!(
                    "Table partition is forbidden, but \"{}\" creates a partition",
                    show(&at.name)
                )
            });
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => {
            if let Some(rule) = em.on(RuleId::TableDropNamingConvention) {
                for n in names {
                    let name = show(n);
                    if !rule.format.as_ref().is_some_and(|f| f.matches(&name, &[])) {
                        let fmt = rule.format.as_ref().map_or("", |f| f.template());
                        em.emit(RuleId::TableDropNamingConvention, || format!("\"{name}\" must match the format \"{fmt}\" before it is dropped (rename it first)"),
                        );
                    }
                }
            }
        }
        Statement::CreateTrigger(_) => em.emit(RuleId::TableDisallowTrigger, || {
            "Creating triggers is not allowed".to_owned()
        }),
        _ => {}
    }
    if let Some(rule) = em.on(RuleId::TableNoForeignKey) {
        let _ = rule;
        for spec in ctx.indexes.iter().filter(|s| s.kind == IndexKind::Foreign) {
            em.emit(RuleId::TableNoForeignKey, || {
                format!(
                    "Foreign key is not allowed on table \"{}\"",
                    show(spec.table)
                )
            });
        }
    }
    if let Some(rule) = em.on(RuleId::TableDisallowDdl) {
        for t in ddl_tables(ctx.stmt) {
            if rule.in_list(&show(t)) {
                em.emit(RuleId::TableDisallowDdl, || {
                    format!("DDL is not allowed on table \"{}\"", show(t))
                });
            }
        }
    }
    if let Some(rule) = em.on(RuleId::TableDisallowDml) {
        for t in dml_tables(ctx.stmt) {
            if rule.in_list(&t) {
                em.emit(RuleId::TableDisallowDml, || {
                    format!("DML is not allowed on table \"{t}\"")
                });
            }
        }
    }
    if em.on(RuleId::TableNoDuplicateIndex).is_some() {
        redundant_index(ctx, em);
    }
    table_size(ctx, em);
}

/// `table.limit-size` and `advice.online-migration`: need row counts from a live snapshot.
fn table_size(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let limit = em.on(RuleId::TableLimitSize).and_then(|r| r.number());
    let online = em
        .on(RuleId::AdviceOnlineMigration)
        .and_then(|r| r.number());
    if limit.is_none() && online.is_none() {
        return;
    }
    for t in ddl_tables(ctx.stmt) {
        let Some(rows) = ctx.state.catalog.table(t).and_then(|t| t.rows) else {
            continue;
        };
        let rows = i64::try_from(rows).unwrap_or(i64::MAX);
        if limit.is_some_and(|n| rows > n) {
            em.emit(RuleId::TableLimitSize, || {
                format!(
                    "Table \"{}\" has about {rows} rows; DDL on it is not allowed",
                    show(t)
                )
            });
        }
        if matches!(ctx.stmt, Statement::AlterTable(_)) && online.is_some_and(|n| rows > n) {
            em.emit(RuleId::AdviceOnlineMigration, || {
                format!(
                    "Table \"{}\" has about {rows} rows; use an online migration tool (gh-ost)",
                    show(t)
                )
            });
        }
    }
}

/// The tables a DML statement writes, as written.
pub(super) fn dml_tables(stmt: &Statement) -> Vec<String> {
    use sqlparser::ast::{FromTable, TableFactor, TableObject};
    let from_factor = |f: &TableFactor| match f {
        TableFactor::Table { name, .. } => Some(show(name)),
        _ => None,
    };
    match stmt {
        Statement::Insert(i) => match &i.table {
            TableObject::TableName(n) => vec![show(n)],
            _ => Vec::new(),
        },
        Statement::Update(u) => from_factor(&u.table.relation).into_iter().collect(),
        Statement::Delete(d) => {
            let mut v: Vec<String> = d.tables.iter().map(show).collect();
            let (FromTable::WithFromKeyword(f) | FromTable::WithoutKeyword(f)) = &d.from;
            v.extend(f.iter().filter_map(|t| from_factor(&t.relation)));
            v
        }
        _ => Vec::new(),
    }
}

/// `engine.mysql.use-innodb`: `SET [SESSION|GLOBAL] default_storage_engine = x` makes later
/// tables without an `ENGINE` option use `x`.
fn default_engine(set: &sqlparser::ast::Set, em: &mut Emitter<'_>) {
    use sqlparser::ast::Set;
    if em.on(RuleId::EngineMysqlUseInnodb).is_none() {
        return;
    }
    let pairs: Vec<(&sqlparser::ast::ObjectName, &sqlparser::ast::Expr)> = match set {
        Set::SingleAssignment {
            variable, values, ..
        } => values.first().map(|v| (variable, v)).into_iter().collect(),
        Set::MultipleAssignments { assignments } => {
            assignments.iter().map(|a| (&a.name, &a.value)).collect()
        }
        _ => Vec::new(),
    };
    for (name, value) in pairs {
        let var = crate::review::catalog::last_name(name);
        if !var
            .trim_start_matches('@')
            .eq_ignore_ascii_case("default_storage_engine")
        {
            continue;
        }
        let engine = value.to_string();
        let engine = engine.trim_matches(|c| c == '\'' || c == '"' || c == '`');
        if !engine.eq_ignore_ascii_case("innodb") && !engine.eq_ignore_ascii_case("default") {
            em.emit(RuleId::EngineMysqlUseInnodb, || {
                format!("default_storage_engine is set to {engine}; InnoDB is required")
            });
        }
    }
}

fn create_table(ctx: &Ctx<'_>, ct: &CreateTable, em: &mut Emitter<'_>) {
    let opts = table_options(ct);
    let name = show(&ct.name);
    if ctx.mysql()
        && em.on(RuleId::EngineMysqlUseInnodb).is_some()
        && let Some(engine) = option(&opts, "ENGINE")
        && !engine.eq_ignore_ascii_case("innodb")
    {
        // At the ENGINE option, as Bytebase reports it.
        em.emit_span(
            RuleId::EngineMysqlUseInnodb,
            option_span(ct, "ENGINE"),
            || format!("\"{name}\" uses engine {engine}; InnoDB is required"),
        );
    }
    if ctx.mysql()
        && let Some(rule) = em.on(RuleId::TableComment)
    {
        let comment = option(&opts, "COMMENT")
            .map(str::to_owned)
            .or_else(|| ct.comment.as_ref().map(ToString::to_string));
        comment_check(rule, &name, comment.as_deref(), |m| {
            em.emit(RuleId::TableComment, || m)
        });
    }
    if (ct.partition_by.is_some() || ct.partition_of.is_some())
        && em.on(RuleId::TableDisallowPartition).is_some()
    {
        em.emit(RuleId::TableDisallowPartition, || {
            format!("Table partition is forbidden, but \"{name}\" is partitioned")
        });
    }
    if let Some(rule) = em.on(RuleId::TableTextFieldsTotalLength) {
        let total: u64 = ctx
            .columns
            .iter()
            .map(|c| text_length(&c.ty))
            .fold(0u64, u64::saturating_add);
        let limit = u64::try_from(rule.number().unwrap_or(1000)).unwrap_or(0);
        if total > limit {
            em.emit(RuleId::TableTextFieldsTotalLength, || {
                format!(
                    "Table \"{name}\": total length of text columns is {total}, more than {limit}"
                )
            });
        }
    }
    if option(&opts, "CHARSET").is_some() {
        em.emit(RuleId::TableDisallowSetCharset, || {
            format!("Setting a charset on table \"{name}\" is not allowed")
        });
    } else {
        em.emit(RuleId::TableRequireCharset, || {
            format!("Table \"{name}\" must state a charset")
        });
    }
    if option(&opts, "COLLATE").is_none() {
        em.emit(RuleId::TableRequireCollation, || {
            format!("Table \"{name}\" must state a collation")
        });
    }
}

/// Declared length of a text column (MySQL semantics for TEXT types).
fn text_length(t: &super::TypeInfo) -> u64 {
    match t.base.as_str() {
        "CHAR" | "VARCHAR" | "CHARACTER" | "CHARACTER VARYING" | "NCHAR" | "NVARCHAR"
        | "BINARY" | "VARBINARY" => t.args.first().copied().unwrap_or(1),
        "TINYTEXT" | "TINYBLOB" => 255,
        "TEXT" | "BLOB" => 65_535,
        "MEDIUMTEXT" | "MEDIUMBLOB" => 16_777_215,
        "LONGTEXT" | "LONGBLOB" => 4_294_967_295,
        _ => 0,
    }
}

/// The shared comment rule: `required` and `maxLength`.
pub(super) fn comment_check(
    rule: &crate::review::policy::Active,
    what: &str,
    comment: Option<&str>,
    mut emit: impl FnMut(String),
) {
    match comment {
        None | Some("") if rule.payload.required.unwrap_or(false) => {
            emit(format!("\"{what}\" requires a comment"))
        }
        Some(c) => {
            if let Some(max) = rule.max_length()
                && c.chars().count() > max
            {
                emit(format!(
                    "The comment of \"{what}\" must be at most {max} characters"
                ));
            }
        }
        None => {}
    }
}

/// PostgreSQL: table comments come from `COMMENT ON TABLE`, checked at the end of the script: a
/// missing comment is reported where the table was created (`pos`), a comment that breaks the
/// rule where it was set (`comment_pos`).
pub(super) fn finish_comment(
    table: &Table,
    rules: &Resolved,
    out: &mut Vec<Finding>,
    pos: Position,
    comment_pos: Option<Position>,
) {
    if let Some(rule) = rules.get(RuleId::TableComment) {
        let comment = table.comment.as_deref();
        let at = comment_position(comment, pos, comment_pos);
        comment_check(rule, &table.name, comment, |m| {
            super::emit_at(rules, out, at, RuleId::TableComment, m);
        });
    }
}

/// Where a comment finding goes: the comment's own statement when there is a comment.
pub(super) fn comment_position(
    comment: Option<&str>,
    pos: Position,
    comment_pos: Option<Position>,
) -> Position {
    match comment {
        Some(c) if !c.is_empty() => comment_pos.unwrap_or(pos),
        _ => pos,
    }
}

fn redundant_index(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let specs = ctx.indexes;
    let specs: Vec<_> = specs
        .iter()
        .filter(|s| s.kind != IndexKind::Foreign)
        .collect();
    for (i, s) in specs.iter().enumerate() {
        let lower: Vec<String> = s.columns.iter().map(|c| c.to_lowercase()).collect();
        let same = |cols: &[String]| {
            cols.len() == lower.len()
                && cols
                    .iter()
                    .zip(&lower)
                    .all(|(a, b)| a.eq_ignore_ascii_case(b))
        };
        // A unique key and a plain index on the same columns do different jobs.
        let unique = |k: IndexKind| matches!(k, IndexKind::Unique | IndexKind::Primary);
        let dup_in_stmt = specs[..i].iter().any(|o| {
            o.table == s.table
                && same(&o.columns)
                && unique(o.kind) == unique(s.kind)
                && o.using == s.using
        });
        // Indexes earlier statements of the script defined are compared with their type
        // (BTREE and HASH on the same columns are different indexes); the catalog's own ones
        // (no type recorded) by columns and uniqueness.
        let key = ctx.state.catalog.key(s.table);
        let mut earlier = ctx
            .state
            .script_indexes
            .get(&key)
            .into_iter()
            .flatten()
            .filter(|x| same(&x.columns) && x.unique == unique(s.kind))
            .peekable();
        let from_script = earlier.peek().is_some();
        let dup_in_script = earlier.any(|x| x.using == index_type(s.using.as_deref()));
        let dup_in_catalog = s.on_existing
            && !from_script
            && ctx.state.catalog.table(s.table).is_some_and(|t| {
                t.indexes
                    .iter()
                    .any(|x| same(&x.columns) && x.unique == unique(s.kind))
            });
        if dup_in_stmt || dup_in_script || dup_in_catalog {
            // At the index that repeats another.
            em.emit_span(RuleId::TableNoDuplicateIndex, s.span, || {
                format!(
                    "Table \"{}\" already has an index on ({})",
                    show(s.table),
                    s.columns.join(", ")
                )
            });
        }
    }
}

/// Remembers the indexes and keys the statement defines.
pub(super) fn track_indexes(
    state: &mut ScriptState,
    indexes: &[super::IndexSpec<'_>],
    em: &Emitter<'_>,
) {
    if em.on(RuleId::TableNoDuplicateIndex).is_none() {
        return;
    }
    for s in indexes {
        if s.kind == IndexKind::Foreign {
            continue;
        }
        let key = state.catalog.key(s.table);
        state
            .script_indexes
            .entry(key)
            .or_default()
            .push(super::context::ScriptIndex {
                columns: s.columns.iter().map(|c| c.to_lowercase()).collect(),
                unique: matches!(s.kind, IndexKind::Unique | IndexKind::Primary),
                using: index_type(s.using.as_deref()),
            });
    }
}

/// An index's type for comparison: upper case, BTREE when not stated (MySQL's default).
fn index_type(using: Option<&str>) -> String {
    using
        .map(|u| {
            u.trim()
                .trim_start_matches("USING ")
                .trim()
                .to_ascii_uppercase()
        })
        .unwrap_or_else(|| "BTREE".to_owned())
}

/// Checks on statements the parser cannot read (MySQL partitions, triggers).
pub(super) fn check_text(engine: Engine, text: &str, em: &mut Emitter<'_>) {
    let words = leading_words(text, 6);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    if w.first() == Some(&"CREATE")
        && w.contains(&"TABLE")
        && text.to_ascii_uppercase().contains("PARTITION BY")
    {
        em.emit(RuleId::TableDisallowPartition, || {
            "Table partition is forbidden".to_owned()
        });
    }
    if engine == Engine::Mysql && w.first() == Some(&"CREATE") && w.contains(&"TRIGGER") {
        em.emit(RuleId::TableDisallowTrigger, || {
            "Creating triggers is not allowed".to_owned()
        });
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
