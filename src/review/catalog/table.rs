//! The catalog's data: tables with their columns and indexes, and what a walk-through finds
//! wrong. Plain data; no parsing, no rules.

use sqlparser::ast::{Expr, IndexColumn};

/// A column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Name as written (case kept).
    pub name: String,
    /// Data type as sqlparser prints it, e.g. `VARCHAR(20)`.
    pub data_type: String,
    /// Declared NOT NULL (or part of the primary key).
    pub not_null: bool,
    /// Has a DEFAULT (or is auto-increment / identity / serial).
    pub has_default: bool,
    /// Column comment.
    pub comment: Option<String>,
}

/// An index, unique key or primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// Index name (empty when unnamed).
    pub name: String,
    /// Column names (expressions as printed).
    pub columns: Vec<String>,
    /// Unique index or constraint.
    pub unique: bool,
    /// The primary key.
    pub primary: bool,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// Name as written, without schema.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Indexes, including the primary key and unique constraints.
    pub indexes: Vec<Index>,
    /// Table comment.
    pub comment: Option<String>,
    /// Estimated row count, when known from a live snapshot.
    pub rows: Option<u64>,
}

impl Table {
    /// The column named `name` (case-insensitive).
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// The primary key, if any.
    #[must_use]
    pub fn primary_key(&self) -> Option<&Index> {
        self.indexes.iter().find(|i| i.primary)
    }
}

/// Something a walk-through finds wrong with a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalkIssue {
    /// CREATE of a table, column or index that already exists.
    Duplicate(String),
    /// Reference to a table, column or index that does not exist.
    Unknown(String),
}

/// The name a column or expression of an index is known by.
pub(crate) fn index_column_name(col: &IndexColumn) -> String {
    match &col.column.expr {
        Expr::Identifier(i) => i.value.clone(),
        Expr::CompoundIdentifier(parts) => {
            parts.last().map(|i| i.value.clone()).unwrap_or_default()
        }
        other => other.to_string(),
    }
}
