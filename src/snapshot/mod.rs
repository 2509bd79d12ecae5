//! The schema model: introspection results → canonical DDL, digest and diff. Pure: no sqlx, no kube.

mod diff;
mod model;
mod parts;
mod render;

pub use diff::{Diff, ObjectChange, PartChange, diff, drift_lines};
pub use model::{
    Column, Dialect, Object, ObjectKind, Schema, SnapshotOptions, Table, TableItem, format_of,
};
pub use render::{
    RenderedObject, ident as quote_ident, key as object_key, literal as quote_literal,
    parse_canonical_ddl, push_ident as push_quoted_ident, render as render_objects,
};

/// Errors of the snapshot module.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A JSON snapshot could not be read.
    #[error("not a schemagate JSON snapshot")]
    Json(#[source] serde_json::Error),
}
