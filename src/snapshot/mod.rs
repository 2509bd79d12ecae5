//! The schema model: introspection results → canonical DDL, digest and diff. Pure: no sqlx, no kube.

mod diff;
mod model;
mod render;

pub use diff::{Diff, ObjectChange, PartChange, diff};
pub use model::{Column, Dialect, Object, ObjectKind, Schema, Table, TableItem};
pub use render::{
    RenderedObject, ident as quote_ident, literal as quote_literal, parse_canonical_ddl,
    render as render_objects,
};

/// Errors of the snapshot module.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A JSON snapshot could not be read.
    #[error("not a schemagate JSON snapshot")]
    Json(#[source] serde_json::Error),
}
