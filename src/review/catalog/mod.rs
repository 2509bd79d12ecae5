//! In-memory catalog of tables, columns, indexes and keys, built from schema DDL and updated by
//! walking a script's statements through it (`table` holds the data, `ops` the per-table
//! edits of a statement). Pure: it must not apply review rules or levels.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use sqlparser::ast::{
    AlterTableOperation, CommentObject, Ident, ObjectName, ObjectType, Statement,
};

mod ops;
mod table;

pub(crate) use ops::is_auto_increment;
use ops::{add_column, add_constraint, alter};
pub(crate) use table::index_column_name;
pub use table::{Column, Index, Table, WalkIssue};

use super::{Engine, parse, split};

/// A schema DDL statement the catalog needs but cannot read.
#[derive(Debug, thiserror::Error)]
#[error("schema statement {index} (line {line}) cannot be parsed: {message}")]
pub struct CatalogError {
    /// 0-based statement index in the schema text.
    pub index: usize,
    /// 1-based line of the statement.
    pub line: usize,
    /// The parser's message.
    pub message: String,
    /// The parser error.
    #[source]
    pub source: sqlparser::parser::ParserError,
}

/// The size of a table, from the live database's statistics (no scan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableSize {
    /// Estimated rows.
    pub rows: u64,
    /// Bytes of the table, its indexes and TOAST data.
    pub bytes: u64,
}

/// The server the statement will run on: engine flavour and major version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Server {
    /// MariaDB rather than MySQL (MySQL engine only).
    pub mariadb: bool,
    /// Major version ×100 + minor (PostgreSQL 15 → 1500; MariaDB 10.11 → 1011; MySQL 8.0 → 800).
    pub version: u32,
}

impl Server {
    /// The version the model assumes when the caller does not know: PostgreSQL 15, MySQL 8.0.
    #[must_use]
    pub fn assumed(engine: Engine) -> Server {
        match engine {
            Engine::Postgres => Server {
                mariadb: false,
                version: 1500,
            },
            _ => Server {
                mariadb: false,
                version: 800,
            },
        }
    }

    /// Parses `SELECT version()` output (`PostgreSQL 15.4 …`, `10.11.6-MariaDB-…`, `8.0.36`).
    #[must_use]
    pub fn from_version_string(engine: Engine, version: &str) -> Server {
        let mariadb = version.to_ascii_lowercase().contains("mariadb");
        let digits = version
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .find(|s| s.contains('.') || (!s.is_empty() && engine == Engine::Postgres))
            .unwrap_or("");
        let mut parts = digits.split('.').filter_map(|p| p.parse::<u32>().ok());
        let major = parts.next().unwrap_or(0);
        let minor = parts.next().unwrap_or(0);
        if major == 0 {
            return Server {
                mariadb,
                ..Server::assumed(engine)
            };
        }
        // PostgreSQL 10+ numbers majors only: 15.4 is major 15.
        let version = if engine == Engine::Postgres && major >= 10 {
            major * 100
        } else {
            major * 100 + minor.min(99)
        };
        Server { mariadb, version }
    }
}

/// The schema of one database.
#[derive(Debug, Clone)]
pub struct Catalog {
    engine: Engine,
    /// The server, when the catalog was read from a live database.
    server: Option<Server>,
    /// Table sizes by catalog key, when read from a live database.
    sizes: HashMap<String, TableSize>,
    tables: HashMap<String, Table>,
    /// Lower-cased index name → key of the table that had it when last seen (verified on use).
    index_owner: HashMap<String, String>,
    schemas: Vec<String>,
    skipped: usize,
}

/// Normalises one identifier the way the engine compares it.
pub(crate) fn ident_key(engine: Engine, ident: &Ident) -> String {
    if engine == Engine::Postgres && ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

/// The unqualified object name (last part).
pub(crate) fn last_name(name: &ObjectName) -> String {
    name.0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.clone())
        .unwrap_or_default()
}

impl Catalog {
    /// An empty catalog.
    #[must_use]
    pub fn new(engine: Engine) -> Catalog {
        Catalog {
            engine,
            server: None,
            sizes: HashMap::new(),
            tables: HashMap::new(),
            index_owner: HashMap::new(),
            schemas: Vec::new(),
            skipped: 0,
        }
    }

    /// Builds a catalog from schema DDL (e.g. `pg_dump --schema-only`, `mysqldump --no-data`, or
    /// schemagate's canonical snapshot DDL). Statements that do not describe tables or indexes
    /// and cannot be parsed (functions in foreign languages, `DO` blocks, …) are skipped and
    /// counted in [`Catalog::skipped`].
    ///
    /// # Errors
    /// A `CREATE TABLE`, `ALTER TABLE` or `CREATE [UNIQUE] INDEX` statement that cannot be parsed.
    pub fn from_ddl(engine: Engine, ddl: &str) -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::new(engine);
        for raw in split::split(ddl, engine) {
            // `mysqldump` wraps options in executable comments; read them as the server does.
            let text = crate::sqltext::guard::expand_executable_comments(engine, raw.text);
            match parse::parse(engine, &text) {
                Ok(stmts) => {
                    for s in &stmts {
                        catalog.apply(s);
                    }
                }
                Err(source) if describes_tables(&text) => {
                    return Err(CatalogError {
                        index: raw.index,
                        line: raw.line,
                        message: source.to_string(),
                        source,
                    });
                }
                Err(_) => catalog.skipped += 1,
            }
        }
        Ok(catalog)
    }

    /// The engine this catalog is for.
    #[must_use]
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The server the catalog was read from, when known.
    #[must_use]
    pub fn server(&self) -> Option<Server> {
        self.server
    }

    /// Records the server the catalog was read from.
    pub fn set_server(&mut self, server: Server) {
        self.server = Some(server);
    }

    /// Records a table's size (`schema` None or the default schema for unqualified names).
    pub fn set_size(&mut self, schema: Option<&str>, table: &str, size: TableSize) {
        let key = match schema {
            Some(s) if !self.is_default_schema(s) => format!("{s}.{table}"),
            _ => table.to_owned(),
        };
        let key = if self.engine == Engine::Postgres {
            key
        } else {
            key.to_lowercase()
        };
        if let Some(t) = self.tables.get_mut(&key) {
            t.rows = Some(size.rows);
        }
        self.sizes.insert(key, size);
    }

    /// Records what a live database says about itself: its version string (`SELECT
    /// version()`) and each table's size as (schema, table, size).
    pub fn add_live_stats<'t>(
        &mut self,
        version: &str,
        tables: impl IntoIterator<Item = (&'t str, &'t str, TableSize)>,
    ) {
        self.set_server(Server::from_version_string(self.engine, version));
        for (schema, table, size) in tables {
            self.set_size(Some(schema), table, size);
        }
    }

    /// The size of the table called `name`, when known.
    #[must_use]
    pub fn size(&self, name: &ObjectName) -> Option<TableSize> {
        self.sizes.get(&self.key(name)).copied()
    }

    /// Number of schema statements skipped by [`Catalog::from_ddl`].
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Number of tables.
    #[must_use]
    pub fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// Adds or replaces a table (for callers that build the catalog from a live snapshot).
    pub fn insert_table(&mut self, schema: Option<&str>, table: Table) {
        let key = match schema {
            Some(s) if !self.is_default_schema(s) => format!("{}.{}", s, table.name),
            _ => table.name.clone(),
        };
        let key = if self.engine == Engine::Postgres {
            key
        } else {
            key.to_lowercase()
        };
        self.tables.insert(key.clone(), table);
        self.register_indexes(&key);
    }

    fn is_default_schema(&self, schema: &str) -> bool {
        self.engine != Engine::Postgres || schema == "public"
    }

    /// The catalog key of a table name: PostgreSQL keeps non-`public` schemas, MySQL and SQLite
    /// compare the bare, lowercased table name.
    pub(crate) fn key(&self, name: &ObjectName) -> String {
        let parts: Vec<&Ident> = name.0.iter().filter_map(|p| p.as_ident()).collect();
        let Some(table) = parts.last() else {
            return String::new();
        };
        let table = ident_key(self.engine, table);
        if self.engine == Engine::Postgres && parts.len() >= 2 {
            let schema = ident_key(self.engine, parts[parts.len() - 2]);
            if schema != "public" {
                return format!("{schema}.{table}");
            }
        }
        table
    }

    /// The table called `name`, if it exists.
    #[must_use]
    pub fn table(&self, name: &ObjectName) -> Option<&Table> {
        self.tables.get(&self.key(name))
    }

    pub(crate) fn table_by_key(&self, key: &str) -> Option<&Table> {
        self.tables.get(key)
    }

    fn table_mut(&mut self, name: &ObjectName) -> Option<&mut Table> {
        let key = self.key(name);
        self.tables.get_mut(&key)
    }

    /// The table that owns the index called `index` (schema-wide index names, as in PostgreSQL).
    #[must_use]
    pub fn table_of_index(&self, index: &str) -> Option<&Table> {
        let key = self.index_owner.get(&index.to_lowercase())?;
        self.tables
            .get(key)
            .filter(|t| t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(index)))
    }

    /// Records the index names of the table at `key` (stale entries are filtered on lookup).
    fn register_indexes(&mut self, key: &str) {
        if let Some(t) = self.tables.get(key) {
            for i in t.indexes.iter().filter(|i| !i.name.is_empty()) {
                self.index_owner
                    .insert(i.name.to_lowercase(), key.to_owned());
            }
        }
    }

    /// Applies one statement to the catalog and reports what the statement got wrong about it.
    pub fn apply(&mut self, stmt: &Statement) -> Vec<WalkIssue> {
        let issues = self.apply_inner(stmt);
        let table = match stmt {
            Statement::CreateTable(ct) => Some(&ct.name),
            Statement::CreateIndex(ci) => Some(&ci.table_name),
            Statement::AlterTable(at) => Some(&at.name),
            _ => None,
        };
        if let Some(name) = table {
            let key = self.key(name);
            self.register_indexes(&key);
        }
        if let Statement::AlterTable(at) = stmt {
            // A rename moves the table to a new key.
            for op in &at.operations {
                if let AlterTableOperation::RenameTable { table_name } = op {
                    let (sqlparser::ast::RenameTableNameKind::As(n)
                    | sqlparser::ast::RenameTableNameKind::To(n)) = table_name;
                    let key = self.key(n);
                    self.register_indexes(&key);
                }
            }
        }
        issues
    }

    fn apply_inner(&mut self, stmt: &Statement) -> Vec<WalkIssue> {
        let mut issues = Vec::new();
        match stmt {
            Statement::CreateTable(ct) => {
                let key = self.key(&ct.name);
                if self.tables.contains_key(&key) {
                    if !ct.if_not_exists && !ct.or_replace {
                        issues.push(WalkIssue::Duplicate(format!(
                            "table {} already exists",
                            last_name(&ct.name)
                        )));
                    }
                    if !ct.or_replace {
                        return issues;
                    }
                }
                let mut table = Table {
                    name: last_name(&ct.name),
                    comment: ct.comment.as_ref().map(ToString::to_string),
                    ..Table::default()
                };
                if let Some(like) = &ct.like {
                    let source = match like {
                        sqlparser::ast::CreateTableLikeKind::Parenthesized(l)
                        | sqlparser::ast::CreateTableLikeKind::Plain(l) => &l.name,
                    };
                    if let Some(src) = self.table(source) {
                        table.columns.clone_from(&src.columns);
                        table.indexes.clone_from(&src.indexes);
                    }
                }
                for col in &ct.columns {
                    add_column(&mut table, col);
                }
                for c in &ct.constraints {
                    add_constraint(&mut table, c);
                }
                if let sqlparser::ast::CreateTableOptions::Plain(opts) = &ct.table_options {
                    for o in opts {
                        if let sqlparser::ast::SqlOption::Comment(c) = o {
                            table.comment = Some(c.to_string());
                        }
                    }
                }
                self.tables.insert(key, table);
            }
            Statement::AlterTable(at) => {
                let Some(table) = self.table_mut(&at.name) else {
                    if !at.if_exists {
                        issues.push(WalkIssue::Unknown(format!(
                            "table {} does not exist",
                            last_name(&at.name)
                        )));
                    }
                    return issues;
                };
                let mut rename = None;
                for op in &at.operations {
                    alter(table, op, &mut issues, &mut rename);
                }
                if let Some(new_name) = rename {
                    let old = self.key(&at.name);
                    if let Some(mut t) = self.tables.remove(&old) {
                        t.name = last_name(&new_name);
                        let key = self.key(&new_name);
                        self.tables.insert(key, t);
                    }
                }
            }
            Statement::CreateIndex(ci) => {
                let name = ci.name.as_ref().map(last_name).unwrap_or_default();
                let exists = !name.is_empty()
                    && match self.engine {
                        Engine::Postgres | Engine::Sqlite => self.table_of_index(&name).is_some(),
                        Engine::Mysql => self.table(&ci.table_name).is_some_and(|t| {
                            t.indexes.iter().any(|i| i.name.eq_ignore_ascii_case(&name))
                        }),
                    };
                if exists {
                    if !ci.if_not_exists {
                        issues.push(WalkIssue::Duplicate(format!("index {name} already exists")));
                    }
                    return issues;
                }
                let Some(table) = self.table_mut(&ci.table_name) else {
                    issues.push(WalkIssue::Unknown(format!(
                        "table {} does not exist",
                        last_name(&ci.table_name)
                    )));
                    return issues;
                };
                table.indexes.push(Index {
                    name,
                    columns: ci.columns.iter().map(index_column_name).collect(),
                    unique: ci.unique,
                    primary: false,
                });
            }
            Statement::Drop {
                object_type,
                if_exists,
                names,
                table,
                ..
            } => match object_type {
                ObjectType::Table => {
                    for n in names {
                        let key = self.key(n);
                        if self.tables.remove(&key).is_none() && !*if_exists {
                            issues.push(WalkIssue::Unknown(format!(
                                "table {} does not exist",
                                last_name(n)
                            )));
                        }
                    }
                }
                ObjectType::Index => {
                    for n in names {
                        let idx = last_name(n);
                        let owner_key = match table {
                            Some(t) => Some(self.key(t)),
                            None => self.index_owner.get(&idx.to_lowercase()).cloned(),
                        };
                        let owner = owner_key.and_then(|k| self.tables.get_mut(&k));
                        let removed = owner.is_some_and(|t| {
                            let before = t.indexes.len();
                            t.indexes.retain(|i| !i.name.eq_ignore_ascii_case(&idx));
                            before != t.indexes.len()
                        });
                        if !removed && !*if_exists {
                            issues.push(WalkIssue::Unknown(format!("index {idx} does not exist")));
                        }
                    }
                }
                ObjectType::Schema | ObjectType::Database if self.engine == Engine::Postgres => {
                    for n in names {
                        let prefix =
                            format!("{}.", ident_key(self.engine, &Ident::new(last_name(n))));
                        self.tables.retain(|k, _| !k.starts_with(&prefix));
                    }
                }
                _ => {}
            },
            Statement::Comment {
                object_type,
                object_name,
                comment,
                ..
            } => self.comment(*object_type, object_name, comment.as_deref(), &mut issues),
            Statement::CreateSchema { schema_name, .. } => {
                self.schemas.push(schema_name.to_string());
            }
            _ => {}
        }
        issues
    }

    fn comment(
        &mut self,
        kind: CommentObject,
        name: &ObjectName,
        text: Option<&str>,
        issues: &mut Vec<WalkIssue>,
    ) {
        match kind {
            CommentObject::Table => match self.table_mut(name) {
                Some(t) => t.comment = text.map(str::to_owned),
                None => issues.push(WalkIssue::Unknown(format!(
                    "table {} does not exist",
                    last_name(name)
                ))),
            },
            CommentObject::Column => {
                let mut parts = name.0.clone();
                let column = parts
                    .pop()
                    .and_then(|p| p.as_ident().map(|i| i.value.clone()));
                let table_name = ObjectName(parts);
                let Some(column) = column else { return };
                match self.table_mut(&table_name) {
                    Some(t) => match t.column_mut(&column) {
                        Some(c) => c.comment = text.map(str::to_owned),
                        None => issues.push(WalkIssue::Unknown(format!(
                            "column {}.{column} does not exist",
                            t.name
                        ))),
                    },
                    None => issues.push(WalkIssue::Unknown(format!(
                        "table {} does not exist",
                        last_name(&table_name)
                    ))),
                }
            }
            _ => {}
        }
    }
}

/// Whether an unparseable schema statement would have changed tables or indexes.
fn describes_tables(text: &str) -> bool {
    let words: Vec<String> = text
        .split_whitespace()
        .take(3)
        .map(str::to_ascii_uppercase)
        .collect();
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    matches!(
        (w(0), w(1), w(2)),
        ("CREATE", "TABLE" | "INDEX", _) | ("CREATE", "UNIQUE", "INDEX") | ("ALTER", "TABLE", _)
    )
}

#[cfg(test)]
mod tests;
