//! The schema model filled by the engine's introspection; ordering is normalised by
//! [`Schema::normalize`] so equal schemas compare and digest equal. Pure data: the canonical
//! order, DDL and digest are `super::render`'s (which uses this model, never the reverse).

use serde::{Deserialize, Serialize};

use super::SnapshotError;

/// SQL dialect of a snapshot: the one engine type ([`crate::sqltext::Engine`]) under the name
/// the snapshot model and the introspection code use for it. Serialised the same way
/// (`postgres`, `mysql`, `sqlite`).
pub use crate::sqltext::Engine as Dialect;

/// The snapshot format this code writes for a dialect. 1: until issue 17 (stored JSON without
/// a `format` field); 2: every object kind of docs/engines.md, dependency order, catalog
/// settings pinned; 3 (SQLite only): column types as declared (`text` where format 2 had the
/// pragmas' upper-cased `TEXT`). Snapshots of different formats render different DDL for the
/// same schema, so a drift check compares them by name only (see [`super::drift_lines`]).
#[must_use]
pub const fn format_of(dialect: Dialect) -> u32 {
    match dialect {
        Dialect::Sqlite => 3,
        Dialect::Postgres | Dialect::Mysql => 2,
    }
}

fn format_1() -> u32 {
    1
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a snapshot holds beyond the schema itself. Both are left out by default: they name
/// roles, which differ between servers, so two copies of one schema would not compare equal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Grants that differ from the defaults (and PostgreSQL default privileges).
    pub privileges: bool,
    /// Owners of objects (`ALTER … OWNER TO`; MySQL/MariaDB `DEFINER`s).
    pub owners: bool,
}

/// A whole database schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Dialect of every definition inside.
    pub dialect: Dialect,
    /// Snapshot format ([`format_of`] for new snapshots; 1 when the stored JSON has none).
    #[serde(default = "format_1")]
    pub format: u32,
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
    /// Table options after the column list (PostgreSQL: partition bound, `INHERITS`,
    /// `PARTITION BY`, `USING`, `WITH (…)`; MySQL: `ENGINE=… DEFAULT CHARSET=… COLLATE=…`;
    /// SQLite: `STRICT`, `WITHOUT ROWID`).
    pub options: Option<String>,
    /// Table comment.
    pub comment: Option<String>,
    /// What comes between the table name and the column list (PostgreSQL `PARTITION OF
    /// "s"."parent"`, `OF "s"."type"`); the column list is left out when it would be empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// PostgreSQL `UNLOGGED`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
    /// Statements that complete the table, after its comments (row level security, column
    /// settings, options of inherited columns, comments on constraints), in canonical order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<String>,
    /// MySQL partitioning: first the `PARTITION BY …` clause (empty name), then one item per
    /// partition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<TableItem>,
    /// Keys (`kind name`, as in the DDL's `-- schemagate:` lines) of the objects this table
    /// needs first, beyond the fixed order of kinds (a partition's parent, a function a default
    /// calls, a type).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
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
    /// PostgreSQL identity sequence options that differ from the defaults (`START WITH 10`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_options: Option<String>,
    /// Generation expression with storage (`(a + b) STORED`).
    pub generated: Option<String>,
    /// Collation when it differs from the type's / table's default.
    pub collation: Option<String>,
    /// Other column attributes (MySQL `ON UPDATE current_timestamp()`, `INVISIBLE`; SQLite
    /// `PRIMARY KEY AUTOINCREMENT`).
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

/// Kinds of non-table objects (the order sorts objects within a snapshot; the load order is
/// `super::render`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    /// PostgreSQL collation.
    Collation,
    /// PostgreSQL composite type (`CREATE TYPE … AS (…)`).
    CompositeType,
    /// PostgreSQL range type.
    RangeType,
    /// PostgreSQL aggregate.
    Aggregate,
    /// `ALTER SEQUENCE … OWNED BY` (after the owning table).
    SequenceOwnedBy,
    /// An index on something other than a table (PostgreSQL materialized views).
    Index,
    /// PostgreSQL rewrite rule (`CREATE RULE`).
    Rule,
    /// PostgreSQL row level security policy.
    Policy,
    /// PostgreSQL extended statistics object.
    Statistics,
    /// PostgreSQL event trigger.
    EventTrigger,
    /// Grants that differ from the defaults (optional).
    Privileges,
    /// PostgreSQL default privileges (`ALTER DEFAULT PRIVILEGES`; optional).
    DefaultPrivileges,
    /// Owners (optional).
    Owner,
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
            Self::Collation => "collation",
            Self::CompositeType => "composite-type",
            Self::RangeType => "range-type",
            Self::Aggregate => "aggregate",
            Self::SequenceOwnedBy => "sequence-owned-by",
            Self::Index => "index",
            Self::Rule => "rule",
            Self::Policy => "policy",
            Self::Statistics => "statistics",
            Self::EventTrigger => "event-trigger",
            Self::Privileges => "privileges",
            Self::DefaultPrivileges => "default-privileges",
            Self::Owner => "owner",
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
    /// Complete `CREATE …` statement, followed by the statements that complete the object
    /// (its comment, `ALTER … DISABLE TRIGGER`, …), separated by `;` and a new line.
    pub definition: String,
    /// Keys (`kind name`) of the objects this one needs first, beyond the fixed order of kinds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl Table {
    /// A table without columns, constraints or options.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            schema: schema.into(),
            name: name.into(),
            columns: Vec::new(),
            constraints: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            options: None,
            comment: None,
            of: None,
            unlogged: false,
            statements: Vec::new(),
            partitions: Vec::new(),
            depends_on: Vec::new(),
        }
    }
}

impl Column {
    /// A nullable column without default or other attributes.
    pub fn new(name: impl Into<String>, data_type: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            data_type: data_type.into(),
            nullable: true,
            default: None,
            identity: None,
            identity_options: None,
            generated: None,
            collation: None,
            extra: None,
            comment: None,
        }
    }
}

impl Object {
    /// An object without dependencies.
    pub fn new(
        kind: ObjectKind,
        schema: impl Into<String>,
        name: impl Into<String>,
        definition: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            schema: schema.into(),
            name: name.into(),
            definition: definition.into(),
            depends_on: Vec::new(),
        }
    }
}

impl Schema {
    /// An empty schema.
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            format: format_of(dialect),
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
