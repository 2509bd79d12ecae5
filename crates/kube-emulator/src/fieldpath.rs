//! Field paths for server-side apply ownership: leaf paths of objects, with list-map items
//! (`x-kubernetes-list-type: map`) addressed by their keys (`k:{"type":"Ready"}`) and other
//! lists atomic; `FieldsV1` encoding and schema-aware merging. Pure; must not touch the store.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// A field path, e.g. `["spec", "replicas"]` or `["status", "conditions", "k:{\"type\":\"Ready\"}", "status"]`.
pub type FieldPath = Vec<String>;

fn child_schema<'a>(schema: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    let s = schema?;
    s.get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| s.get("additionalProperties").filter(|a| a.is_object()))
}

/// The map keys of a list-map schema, if the list is one.
fn list_map_keys(schema: Option<&Value>) -> Option<Vec<String>> {
    let s = schema?;
    if s.get("x-kubernetes-list-type").and_then(Value::as_str) != Some("map") {
        return None;
    }
    let keys: Vec<String> = s
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|k| k.as_str().map(str::to_string))
        .collect();
    (!keys.is_empty()).then_some(keys)
}

/// The `k:{...}` segment of a list-map item, or `None` if a key field is missing.
fn item_segment(item: &Value, keys: &[String]) -> Option<String> {
    let mut m = Map::new();
    for k in keys {
        m.insert(k.clone(), item.get(k)?.clone());
    }
    Some(format!("k:{}", Value::Object(m)))
}

fn item_matches(item: &Value, seg: &str) -> bool {
    let Some(keys) = seg
        .strip_prefix("k:")
        .and_then(|j| serde_json::from_str::<Map<String, Value>>(j).ok())
    else {
        return false;
    };
    keys.iter().all(|(k, v)| item.get(k) == Some(v))
}

fn is_identity(prefix: &FieldPath, key: &str) -> bool {
    (prefix.is_empty() && matches!(key, "apiVersion" | "kind"))
        || (prefix.len() == 1
            && prefix[0] == "metadata"
            && matches!(
                key,
                "name"
                    | "namespace"
                    | "resourceVersion"
                    | "uid"
                    | "managedFields"
                    | "creationTimestamp"
                    | "generation"
            ))
}

/// Leaf field paths set in an object (excluding identity fields). `schema` is the CRD's
/// `openAPIV3Schema` (or `None`: every list is atomic).
pub fn leaf_paths(v: &Value, schema: Option<&Value>) -> BTreeSet<FieldPath> {
    fn walk(
        v: &Value,
        schema: Option<&Value>,
        prefix: &mut FieldPath,
        out: &mut BTreeSet<FieldPath>,
    ) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    if is_identity(prefix, k) {
                        continue;
                    }
                    prefix.push(k.clone());
                    walk(child, child_schema(schema, k), prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let keys = list_map_keys(schema);
                let segs: Option<Vec<String>> = keys
                    .as_ref()
                    .and_then(|ks| items.iter().map(|i| item_segment(i, ks)).collect());
                match segs {
                    Some(segs) => {
                        let item_schema = schema.and_then(|s| s.get("items"));
                        for (item, seg) in items.iter().zip(segs) {
                            prefix.push(seg);
                            walk(item, item_schema, prefix, out);
                            prefix.pop();
                        }
                    }
                    None => {
                        out.insert(prefix.clone());
                    }
                }
            }
            _ => {
                if !prefix.is_empty() {
                    out.insert(prefix.clone());
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, schema, &mut Vec::new(), &mut out);
    out
}

/// The value at a field path (`k:` segments select list-map items).
pub fn get_path<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path {
        cur = match cur {
            Value::Array(items) => items.iter().find(|i| item_matches(i, seg))?,
            Value::Object(m) => m.get(seg)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Leaf paths whose values differ between two objects (added, changed or removed).
pub fn changed_paths(old: &Value, new: &Value, schema: Option<&Value>) -> BTreeSet<FieldPath> {
    let a = leaf_paths(old, schema);
    let b = leaf_paths(new, schema);
    a.union(&b)
        .filter(|p| get_path(old, p) != get_path(new, p))
        .cloned()
        .collect()
}

/// Renders paths as a `FieldsV1` object (`{"f:spec":{"f:x":{}}}`, list-map items as `k:{...}`).
pub fn fields_v1(paths: &BTreeSet<FieldPath>) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut cur = &mut root;
        for seg in p {
            let key = if seg.starts_with("k:") {
                seg.clone()
            } else {
                format!("f:{seg}")
            };
            let entry = cur.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(next) = entry else { break };
            cur = next;
        }
    }
    Value::Object(root)
}

/// Parses a `FieldsV1` object back into leaf paths.
pub fn parse_fields_v1(v: &Value) -> BTreeSet<FieldPath> {
    fn walk(v: &Value, prefix: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        let Some(m) = v.as_object() else { return };
        let mut any = false;
        for (k, child) in m {
            let seg = match k.strip_prefix("f:") {
                Some(name) => name.to_string(),
                None if k.starts_with("k:") => k.clone(),
                None => continue,
            };
            any = true;
            prefix.push(seg);
            walk(child, prefix, out);
            prefix.pop();
        }
        if !any && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
    }
    let mut out = BTreeSet::new();
    walk(v, &mut Vec::new(), &mut out);
    out
}

/// Whether `a` is `b` or a prefix of it, or the reverse (overlapping ownership).
pub fn overlaps(a: &FieldPath, b: &FieldPath) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Removes the value at a field path, pruning emptied parent maps and list-map items left with
/// only their key fields.
pub fn remove_path(obj: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    match obj {
        Value::Object(map) => {
            if rest.is_empty() {
                map.remove(first);
                return;
            }
            if let Some(child) = map.get_mut(first) {
                remove_path(child, rest);
                let empty = child.as_object().is_some_and(Map::is_empty)
                    || child.as_array().is_some_and(Vec::is_empty);
                if empty {
                    map.remove(first);
                }
            }
        }
        Value::Array(items) => {
            let Some(pos) = items.iter().position(|i| item_matches(i, first)) else {
                return;
            };
            if rest.is_empty() {
                items.remove(pos);
                return;
            }
            remove_path(&mut items[pos], rest);
            let keys: Vec<String> = first
                .strip_prefix("k:")
                .and_then(|j| serde_json::from_str::<Map<String, Value>>(j).ok())
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let only_keys = items[pos]
                .as_object()
                .is_some_and(|m| m.keys().all(|k| keys.contains(k)));
            if only_keys {
                items.remove(pos);
            }
        }
        _ => {}
    }
}

/// Deep-merges an applied configuration into an object: maps merge, list-map items merge by
/// key, scalars and other lists replace.
pub fn apply_merge(target: &mut Value, applied: &Value, schema: Option<&Value>) {
    match (target, applied) {
        (Value::Object(t), Value::Object(a)) => {
            for (k, v) in a {
                let s = child_schema(schema, k);
                match t.get_mut(k) {
                    Some(slot)
                        if (slot.is_object() && v.is_object())
                            || (slot.is_array() && v.is_array() && list_map_keys(s).is_some()) =>
                    {
                        apply_merge(slot, v, s)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(a)) => {
            let Some(keys) = list_map_keys(schema) else {
                *t = a.clone();
                return;
            };
            let item_schema = schema.and_then(|s| s.get("items"));
            for item in a {
                let existing = item_segment(item, &keys)
                    .and_then(|seg| t.iter_mut().find(|i| item_matches(i, &seg)));
                match existing {
                    Some(slot) => apply_merge(slot, item, item_schema),
                    None => t.push(item.clone()),
                }
            }
        }
        (target, applied) => *target = applied.clone(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"status": {"type": "object", "properties": {"conditions": {
            "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"],
            "items": {"type": "object", "properties": {"type": {"type": "string"}, "status": {"type": "string"}}}}}}}})
    }

    #[test]
    fn fields_v1_round_trips_with_list_map_items() {
        let s = schema();
        let obj = json!({"spec": {"a": 1, "b": {"c": [1]}}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        let paths = leaf_paths(&obj, Some(&s));
        assert!(paths.contains(&vec![
            "status".into(),
            "conditions".into(),
            "k:{\"type\":\"Ready\"}".into(),
            "status".into()
        ]));
        assert!(
            paths.contains(&vec!["spec".into(), "b".into(), "c".into()]),
            "plain lists are atomic"
        );
        assert_eq!(parse_fields_v1(&fields_v1(&paths)), paths);
        let p = vec![
            "status".to_string(),
            "conditions".into(),
            "k:{\"type\":\"Ready\"}".into(),
            "status".into(),
        ];
        assert_eq!(get_path(&obj, &p), Some(&json!("True")));
    }

    #[test]
    fn list_map_items_merge_by_key_and_remove_cleanly() {
        let s = schema();
        let mut obj = json!({"status": {"conditions": [{"type": "A", "status": "True"}]}});
        apply_merge(
            &mut obj,
            &json!({"status": {"conditions": [{"type": "B", "status": "False"}, {"type": "A", "status": "False"}]}}),
            Some(&s),
        );
        assert_eq!(
            obj["status"]["conditions"],
            json!([{"type": "A", "status": "False"}, {"type": "B", "status": "False"}])
        );
        remove_path(
            &mut obj,
            &[
                "status".into(),
                "conditions".into(),
                "k:{\"type\":\"A\"}".into(),
                "status".into(),
            ],
        );
        assert_eq!(
            obj["status"]["conditions"],
            json!([{"type": "B", "status": "False"}])
        );
    }
}
