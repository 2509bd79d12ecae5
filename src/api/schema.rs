//! Schema helpers for fields whose shape the CRD cannot spell out statically.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object with arbitrary fields, kept as written (`x-kubernetes-preserve-unknown-fields`).
pub fn preserve_unknown_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}
