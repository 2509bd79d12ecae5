//! `metadata.managedFields` bookkeeping and the simplified server-side apply ownership model
//! (leaf field paths, lists atomic); must not touch the store.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult, Cause};
use crate::fieldpath::{self, FieldPath};
use crate::registry::ResourceType;

struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    paths: BTreeSet<FieldPath>,
}

fn read_entries(obj: Option<&Value>) -> Vec<Entry> {
    obj.and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|e| Entry {
                    manager: e
                        .get("manager")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    operation: e
                        .get("operation")
                        .and_then(Value::as_str)
                        .unwrap_or("Update")
                        .into(),
                    api_version: e
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .into(),
                    time: e.get("time").and_then(Value::as_str).unwrap_or("").into(),
                    subresource: e
                        .get("subresource")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    paths: e
                        .get("fieldsV1")
                        .map(fieldpath::parse_fields_v1)
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The managedFields to start from: the client's, when it explicitly changed them (as kubectl
/// does when migrating client-side apply ownership), otherwise the stored ones.
fn base_entries(new: &Value, old: Option<&Value>) -> Vec<Entry> {
    let sent = new.pointer("/metadata/managedFields");
    let stored = old.and_then(|o| o.pointer("/metadata/managedFields"));
    if sent.is_some() && sent != stored {
        read_entries(Some(new))
    } else {
        read_entries(old)
    }
}

fn write_entries(obj: &mut Value, entries: Vec<Entry>) {
    let list: Vec<Value> = entries
        .into_iter()
        .filter(|e| !e.paths.is_empty())
        .map(|e| {
            let mut v = json!({
                "manager": e.manager,
                "operation": e.operation,
                "apiVersion": e.api_version,
                "time": e.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fieldpath::fields_v1(&e.paths),
            });
            if let Some(s) = e.subresource {
                v["subresource"] = json!(s);
            }
            v
        })
        .collect();
    if list.is_empty() {
        if let Some(m) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
    } else {
        obj["metadata"]["managedFields"] = Value::Array(list);
    }
}

fn strip_managed(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
        m.remove("deletionTimestamp");
        m.remove("deletionGracePeriodSeconds");
    }
    v
}

fn exists(obj: &Value, p: &FieldPath) -> bool {
    fieldpath::get_path(obj, p).is_some()
}

/// Whether applying path `p` (with the value found in `applied`) takes field `q` from its
/// owner: the same field, or a field under `p` when `p` is set to a non-map value.
fn takes_over(applied: &Value, p: &FieldPath, q: &FieldPath) -> bool {
    p == q
        || (q.starts_with(p)
            && !fieldpath::get_path(applied, p).is_some_and(|v| v.is_object() || v.is_array()))
}

/// Records an Update-operation manager: it takes ownership of every field it changed.
pub fn record_update(
    new: &mut Value,
    old: Option<&Value>,
    manager: &str,
    api_version: &str,
    sub: Option<&str>,
    schema: Option<&Value>,
) {
    let mut entries = base_entries(new, old);
    let before = old.map(strip_managed).unwrap_or_else(|| json!({}));
    let changed = fieldpath::changed_paths(&before, &strip_managed(new), schema);
    if changed.is_empty() {
        write_entries(new, entries);
        return;
    }
    for e in entries.iter_mut() {
        e.paths
            .retain(|q| !changed.iter().any(|c| fieldpath::overlaps(c, q)) && exists(new, q));
    }
    let now = crate::store::now_timestamp();
    let pos = entries.iter().position(|e| {
        e.manager == manager && e.operation == "Update" && e.subresource.as_deref() == sub
    });
    let own: BTreeSet<FieldPath> = changed.into_iter().filter(|p| exists(new, p)).collect();
    match pos {
        Some(i) => {
            entries[i].paths.extend(own);
            entries[i].time = now;
            entries[i].api_version = api_version.into();
        }
        None => entries.push(Entry {
            manager: manager.into(),
            operation: "Update".into(),
            api_version: api_version.into(),
            time: now,
            subresource: sub.map(str::to_string),
            paths: own,
        }),
    }
    write_entries(new, entries);
}

/// Records an Apply-operation manager owning exactly `paths`; others lose overlapping fields.
pub fn record_apply(
    new: &mut Value,
    old: Option<&Value>,
    manager: &str,
    api_version: &str,
    sub: Option<&str>,
    paths: BTreeSet<FieldPath>,
) {
    let mut entries = read_entries(old);
    entries.retain(|e| {
        !(e.manager == manager && e.operation == "Apply" && e.subresource.as_deref() == sub)
    });
    for e in entries.iter_mut() {
        // Applying an equal value makes the appliers co-owners; a different value (forced)
        // takes the field away.
        e.paths.retain(|q| {
            let unchanged =
                old.and_then(|o| fieldpath::get_path(o, q)) == fieldpath::get_path(new, q);
            (unchanged || !paths.iter().any(|p| takes_over(new, p, q))) && exists(new, q)
        });
    }
    entries.push(Entry {
        manager: manager.into(),
        operation: "Apply".into(),
        api_version: api_version.into(),
        time: crate::store::now_timestamp(),
        subresource: sub.map(str::to_string),
        paths,
    });
    write_entries(new, entries);
}

/// An object without managedFields (a client cleared them, e.g. with `[{}]`) that is applied to:
/// like kube-apiserver, every field it has is first given to an Update manager named
/// `before-first-apply`, so the applier conflicts with it on a field it sets differently.
pub fn before_first_apply(mut old: Value, schema: Option<&Value>) -> Value {
    let none = old
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if !none {
        return old;
    }
    let mut own = strip_managed(&old);
    if let Some(m) = own.as_object_mut() {
        m.remove("status");
    }
    let paths = fieldpath::leaf_paths(&own, schema);
    let api_version = old
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    write_entries(
        &mut old,
        vec![Entry {
            manager: "before-first-apply".into(),
            operation: "Update".into(),
            api_version,
            time: crate::store::now_timestamp(),
            subresource: None,
            paths,
        }],
    );
    old
}

/// Computes the result of applying `applied` (owned `paths`) by `manager` over `old`:
/// conflicts with other managers owning a field set to a different value fail with 409 unless
/// `force`; fields this manager applied before but no longer applies are removed if nobody
/// else owns them.
pub fn apply_changes(
    rt: &ResourceType,
    old: &Value,
    applied: &Value,
    paths: &BTreeSet<FieldPath>,
    manager: &str,
    force: bool,
    name: &str,
) -> ApiResult<Value> {
    let entries = read_entries(Some(old));
    let mut conflicts = Vec::new();
    for e in entries.iter().filter(|e| e.manager != manager) {
        for p in paths {
            if e.paths.iter().any(|q| takes_over(applied, p, q))
                && fieldpath::get_path(old, p) != fieldpath::get_path(applied, p)
            {
                let field = format!(".{}", p.join("."));
                conflicts.push(Cause {
                    reason: "FieldManagerConflict".into(),
                    message: format!("conflict with \"{}\" using {}", e.manager, e.api_version),
                    field,
                });
            }
        }
    }
    if !conflicts.is_empty() && !force {
        let list: Vec<String> = conflicts
            .iter()
            .map(|c| format!("{}: {}", c.message, c.field))
            .collect();
        let mut err = ApiError::conflict(&rt.group, &rt.plural, name, "");
        err.message = format!(
            "Apply failed with {} conflict{}: {}",
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" },
            list.join("\n")
        );
        err.causes = conflicts;
        return Err(err);
    }
    let mut merged = old.clone();
    fieldpath::apply_merge(&mut merged, applied, rt.schema.as_ref());
    let previous: BTreeSet<FieldPath> = entries
        .iter()
        .filter(|e| e.manager == manager && e.operation == "Apply")
        .flat_map(|e| e.paths.iter().cloned())
        .collect();
    for p in previous.difference(paths) {
        let owned_by_other = entries
            .iter()
            .filter(|e| e.manager != manager)
            .any(|e| e.paths.iter().any(|q| fieldpath::overlaps(p, q)));
        if !owned_by_other {
            fieldpath::remove_path(&mut merged, p);
        }
    }
    Ok(merged)
}
