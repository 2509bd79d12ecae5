//! The schema model filled by the engine's introspection; ordering is normalised by
//! [`Schema::normalize`] so equal schemas compare and digest equal. Pure data: the canonical
//! order, DDL and digest are `super::render`'s (which uses this model, never the reverse).

use serde::{Deserialize, Serialize};

use super::SnapshotError;

/// SQL dialect of a snapshot: the one engine type ([`crate::sqltext::Engine`]) under the name
/// the snapshot model and the introspection code use for it. Serialised the same way
/// (`postgres`, `mysql`, `sqlite`).
pub use crate::sqltext::Engine as Dialect;

/// A whole database schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Dialect of every definition inside.
    pub dialect: Dialect,
    /// Tables with their columns, constraints and indexes.
    pub tables: Vec<Table>,
    /// Everything else (schemas, types, sequences, views, routines, triggers, …).
    pub objects: Vec<Object>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Schema (PostgreSQL) or empty (MySQL: the connected database).
    pub schema: String,
    /// Table name.
    pub name: String,
    /// Columns in ordinal order.
    pub columns: Vec<Column>,
    /// Primary key, unique, check and exclusion constraints (inline in `CREATE TABLE`).
    pub constraints: Vec<TableItem>,
    /// Foreign keys (rendered after all tables).
    pub foreign_keys: Vec<TableItem>,
    /// Indexes that do not back a constraint.
    pub indexes: Vec<TableItem>,
    /// Table options (MySQL: `ENGINE=… DEFAULT CHARSET=… COLLATE=…`).
    pub options: Option<String>,
    /// Table comment.
    pub comment: Option<String>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type as the database prints it (`character varying(20)`, `int(11) unsigned`).
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression.
    pub default: Option<String>,
    /// Identity / auto-increment (`ALWAYS`, `BY DEFAULT`, `AUTO_INCREMENT`).
    pub identity: Option<String>,
    /// Generation expression with storage (`(a + b) STORED`).
    pub generated: Option<String>,
    /// Collation when it differs from the type's / table's default.
    pub collation: Option<String>,
    /// Other column attributes (MySQL `ON UPDATE current_timestamp()`).
    pub extra: Option<String>,
    /// Column comment.
    pub comment: Option<String>,
}

/// A named constraint or index with its definition as the database prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableItem {
    /// Name.
    pub name: String,
    /// Definition (`PRIMARY KEY (id)`, `CREATE INDEX … USING btree (…)`, `KEY `x` (`a`)`).
    pub definition: String,
}

/// Kinds of non-table objects, in canonical rendering order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// `CREATE SCHEMA`.
    Schema,
    /// `CREATE EXTENSION`.
    Extension,
    /// Enum type.
    Enum,
    /// Domain.
    Domain,
    /// Sequence.
    Sequence,
    /// Function.
    Function,
    /// Procedure.
    Procedure,
    /// View.
    View,
    /// Materialized view.
    MaterializedView,
    /// Trigger.
    Trigger,
    /// MySQL event.
    Event,
}

impl ObjectKind {
    /// Human name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Schema => "schema",
            Self::Extension => "extension",
            Self::Enum => "enum",
            Self::Domain => "domain",
            Self::Sequence => "sequence",
            Self::Function => "function",
            Self::Procedure => "procedure",
            Self::View => "view",
            Self::MaterializedView => "materialized-view",
            Self::Trigger => "trigger",
            Self::Event => "event",
        }
    }

    /// Whether the body holds `;` and needs a MySQL `DELIMITER` block.
    pub fn is_compound(self) -> bool {
        matches!(
            self,
            Self::Function | Self::Procedure | Self::Trigger | Self::Event
        )
    }
}

/// A non-table object with its complete definition statement (without the final `;`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Object {
    /// Kind.
    pub kind: ObjectKind,
    /// Schema (PostgreSQL) or empty.
    pub schema: String,
    /// Name; functions include their argument types so overloads stay apart.
    pub name: String,
    /// Complete `CREATE …` statement.
    pub definition: String,
}

impl Schema {
    /// An empty schema.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            tables: Vec::new(),
            objects: Vec::new(),
        }
    }

    /// Canonical JSON (for files and the history table).
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a JSON snapshot.
    pub fn from_json(text: &str) -> Result<Self, SnapshotError> {
        serde_json::from_str(text).map_err(SnapshotError::Json)
    }

    /// Number of tables.
    pub fn table_count(&self) -> usize {
        self.tables.len()
    }
}
