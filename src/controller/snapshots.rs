//! Before/after snapshots of an executed change, from its history row, into
//! `status.snapshots`: canonical DDL inline when ≤ 32 KiB, otherwise gzip-compressed chunks
//! (< 1 MiB each) in ConfigMaps owned by the SchemaChange; plus the diff lines.
//! Never writes to the database.

use std::collections::BTreeMap;
use std::io::Write as _;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client, Resource};

use crate::api::schema_change::{SchemaChange, SnapshotRef, SnapshotsRecord};
use crate::engine::HistoryRecord;
use crate::engine::history::decompress;
use crate::snapshot::{Schema, diff, render_objects};

use super::Error;

/// Largest canonical DDL kept inline in status.
pub const MAX_INLINE_DDL: usize = 32 * 1024;
/// Size of one compressed chunk (ConfigMaps hold at most 1 MiB).
pub const CHUNK_BYTES: usize = 900 * 1024;
/// Most diff lines kept in status.
pub const MAX_DIFF_LINES: usize = 200;

/// Reads a snapshot column of the history table.
fn schema_of(column: Option<&Vec<u8>>) -> Option<Schema> {
    let bytes = decompress(column?).ok()?;
    Schema::from_json(std::str::from_utf8(&bytes).ok()?).ok()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// The ConfigMap names for one snapshot of a change.
fn chunk_names(change: &str, which: &str, chunks: usize) -> Vec<String> {
    (0..chunks)
        .map(|i| format!("{change}-{which}-snapshot-{i}"))
        .collect()
}

async fn snapshot_ref(
    client: &Client,
    change: &SchemaChange,
    which: &str,
    schema: &Schema,
) -> Result<SnapshotRef, Error> {
    let ddl = schema.canonical_ddl();
    let mut out = SnapshotRef {
        digest: schema.digest(),
        size: ddl.len() as u64,
        ddl: None,
        config_maps: Vec::new(),
    };
    if ddl.len() <= MAX_INLINE_DDL {
        out.ddl = Some(ddl);
        return Ok(out);
    }
    let (ns, name) = super::ns_name(change)?;
    let compressed = gzip(ddl.as_bytes());
    let chunks: Vec<&[u8]> = compressed.chunks(CHUNK_BYTES).collect();
    let names = chunk_names(&name, which, chunks.len());
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let owner = change.controller_owner_ref(&());
    for (cm_name, chunk) in names.iter().zip(chunks) {
        let cm = ConfigMap {
            metadata: ObjectMeta {
                name: Some(cm_name.clone()),
                namespace: Some(ns.clone()),
                owner_references: owner.clone().map(|o| vec![o]),
                labels: Some(BTreeMap::from([(
                    "schemagate.io/schemachange".to_owned(),
                    name.clone(),
                )])),
                ..ObjectMeta::default()
            },
            binary_data: Some(BTreeMap::from([(
                "ddl.gz".to_owned(),
                ByteString(chunk.to_vec()),
            )])),
            ..ConfigMap::default()
        };
        match api.create(&PostParams::default(), &cm).await {
            Ok(_) => {}
            // Written by an earlier attempt: a change's snapshots never change.
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    out.config_maps = names;
    Ok(out)
}

/// Why a snapshot is missing from status: the reason the executor recorded, or an unreadable
/// column. `None` when it is there, or was never taken (snapshots off, nothing applied).
fn missing(
    column: Option<&Vec<u8>>,
    schema: Option<&Schema>,
    recorded: Option<&str>,
) -> Option<String> {
    match (schema, recorded, column) {
        (Some(_), _, _) => None,
        (None, Some(why), _) => Some(format!("the snapshot could not be taken: {why}")),
        (None, None, Some(_)) => Some("the recorded snapshot could not be read".to_owned()),
        (None, None, None) => None,
    }
}

/// Builds `status.snapshots` from a history row, creating ConfigMaps for large snapshots.
/// `None` when the row holds no snapshots and no reason for their absence (snapshots switched
/// off, or a change that applied nothing).
pub async fn record(
    client: &Client,
    change: &SchemaChange,
    row: &HistoryRecord,
) -> Result<Option<SnapshotsRecord>, Error> {
    let before = schema_of(row.before_snapshot.as_ref());
    let after = schema_of(row.after_snapshot.as_ref());
    let mut out = SnapshotsRecord {
        before_error: missing(
            row.before_snapshot.as_ref(),
            before.as_ref(),
            row.before_error.as_deref(),
        ),
        after_error: missing(
            row.after_snapshot.as_ref(),
            after.as_ref(),
            row.after_error.as_deref(),
        ),
        ..SnapshotsRecord::default()
    };
    if before.is_none()
        && after.is_none()
        && out.before_error.is_none()
        && out.after_error.is_none()
    {
        return Ok(None);
    }
    if let Some(schema) = &before {
        out.before = Some(snapshot_ref(client, change, "before", schema).await?);
    }
    if let Some(schema) = &after {
        out.after = Some(snapshot_ref(client, change, "after", schema).await?);
    }
    if let (Some(b), Some(a)) = (&before, &after) {
        let mut lines = diff(&render_objects(b), &render_objects(a)).human_lines();
        out.diff_truncated = crate::api::count(lines.len().saturating_sub(MAX_DIFF_LINES));
        lines.truncate(MAX_DIFF_LINES);
        out.diff = lines;
    }
    Ok(Some(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Read as _;

    #[test]
    fn a_missing_snapshot_says_why() {
        let schema = Schema::new(crate::snapshot::Dialect::Sqlite);
        assert_eq!(missing(Some(&vec![1]), Some(&schema), None), None);
        assert_eq!(
            missing(None, None, None),
            None,
            "never taken: nothing to say"
        );
        assert_eq!(
            missing(None, None, Some("lock timeout")).as_deref(),
            Some("the snapshot could not be taken: lock timeout")
        );
        assert_eq!(
            missing(Some(&vec![1, 2]), None, None).as_deref(),
            Some("the recorded snapshot could not be read")
        );
    }

    #[test]
    fn gzip_round_trips_and_names_are_ordered() {
        let data = "CREATE TABLE t (id int);\n".repeat(5000);
        let mut back = String::new();
        flate2::read::GzDecoder::new(gzip(data.as_bytes()).as_slice())
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(
            chunk_names("c", "after", 2),
            ["c-after-snapshot-0", "c-after-snapshot-1"]
        );
    }
}
