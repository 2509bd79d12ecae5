//! Patch algorithms: JSON merge patch, JSON patch and a strategic-merge subset; pure
//! functions, must not touch the store.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

/// Strategic merge patch subset: a merge patch that understands the `$patch: delete|replace`,
/// `$retainKeys`, `$setElementOrder/...` and `$deleteFromPrimitiveList/...` directives by
/// dropping or applying them; lists are replaced (no merge keys).
pub fn strategic_merge_patch(target: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            match p.get("$patch").and_then(Value::as_str) {
                Some("delete") => {
                    *target = Value::Null;
                    return;
                }
                Some("replace") => {
                    let mut clean = p.clone();
                    clean.remove("$patch");
                    *target = Value::Object(clean);
                    return;
                }
                _ => {}
            }
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Value::Object(t) = target {
                for (k, v) in p {
                    if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
                        continue;
                    }
                    if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
                        if let (Some(Value::Array(items)), Some(del)) =
                            (t.get_mut(field), v.as_array())
                        {
                            items.retain(|i| !del.contains(i));
                        }
                        continue;
                    }
                    if v.is_null() {
                        t.remove(k);
                    } else {
                        let slot = t.entry(k.clone()).or_insert(Value::Null);
                        strategic_merge_patch(slot, v);
                        if slot.is_null() {
                            t.remove(k);
                        }
                    }
                }
            }
        }
        other => *target = other.clone(),
    }
}

fn unescape(seg: &str) -> String {
    seg.replace("~1", "/").replace("~0", "~")
}

fn split_pointer(path: &str) -> ApiResult<Vec<String>> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let rest = path
        .strip_prefix('/')
        .ok_or_else(|| ApiError::unprocessable_patch(format!("invalid JSON pointer {path:?}")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_and_key<'a>(doc: &'a mut Value, path: &str) -> ApiResult<(&'a mut Value, String)> {
    let mut segs = split_pointer(path)?;
    let last = segs
        .pop()
        .ok_or_else(|| ApiError::unprocessable_patch("cannot operate on the document root"))?;
    let mut cur = doc;
    for s in &segs {
        cur = match cur {
            Value::Object(m) => m.get_mut(s),
            Value::Array(a) => s.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| ApiError::unprocessable_patch(format!("missing path {path:?}")))?;
    }
    Ok((cur, last))
}

fn pointer_remove(doc: &mut Value, path: &str) -> ApiResult<Value> {
    let (parent, key) = parent_and_key(doc, path)?;
    match parent {
        Value::Object(m) => m.remove(&key).ok_or_else(|| {
            ApiError::unprocessable_patch(format!("unable to remove nonexistent key {key:?}"))
        }),
        Value::Array(a) => match key.parse::<usize>() {
            Ok(i) if i < a.len() => Ok(a.remove(i)),
            _ => Err(ApiError::unprocessable_patch(format!(
                "index {key:?} out of bounds"
            ))),
        },
        _ => Err(ApiError::unprocessable_patch(format!(
            "cannot remove {path:?}"
        ))),
    }
}

fn pointer_add(doc: &mut Value, path: &str, value: Value, replace: bool) -> ApiResult<()> {
    if path.is_empty() {
        *doc = value;
        return Ok(());
    }
    let (parent, key) = parent_and_key(doc, path)?;
    match parent {
        Value::Object(m) => {
            if replace && !m.contains_key(&key) {
                return Err(ApiError::unprocessable_patch(format!(
                    "replace operation does not apply: doc is missing key: {path}"
                )));
            }
            m.insert(key, value);
            Ok(())
        }
        Value::Array(a) => {
            if key == "-" && !replace {
                a.push(value);
                return Ok(());
            }
            let i = key.parse::<usize>().map_err(|_| {
                ApiError::unprocessable_patch(format!("invalid array index {key:?}"))
            })?;
            if replace {
                let slot = a.get_mut(i).ok_or_else(|| {
                    ApiError::unprocessable_patch(format!("index {i} out of bounds"))
                })?;
                *slot = value;
            } else if i <= a.len() {
                a.insert(i, value);
            } else {
                return Err(ApiError::unprocessable_patch(format!(
                    "index {i} out of bounds"
                )));
            }
            Ok(())
        }
        _ => Err(ApiError::unprocessable_patch(format!(
            "cannot add at {path:?}"
        ))),
    }
}

/// RFC 6902 JSON patch. As in the API server, `test` against a missing path compares the
/// expected value with `null` (so `test /metadata/finalizers null` passes when absent).
pub fn json_patch(doc: &mut Value, ops: &Value) -> ApiResult<()> {
    let ops = ops
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array of operations"))?;
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        match kind {
            "add" => pointer_add(doc, &path, value, false)?,
            "replace" => pointer_add(doc, &path, value, true)?,
            "remove" => {
                pointer_remove(doc, &path)?;
            }
            "test" => {
                let actual = doc.pointer(&path).cloned().unwrap_or(Value::Null);
                if actual != value {
                    return Err(ApiError::unprocessable_patch(format!(
                        "the server rejected our request due to an error in our request: testing value {path} failed"
                    )));
                }
            }
            "move" | "copy" => {
                let from = op
                    .get("from")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let v = if kind == "move" {
                    pointer_remove(doc, &from)?
                } else {
                    doc.pointer(&from).cloned().ok_or_else(|| {
                        ApiError::unprocessable_patch(format!("missing from path {from:?}"))
                    })?
                };
                pointer_add(doc, &path, v, false)?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown json patch operation {other:?}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn json_patch_test_on_missing_path_compares_with_null() {
        let mut doc = json!({"metadata": {"name": "a"}});
        json_patch(
            &mut doc,
            &json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": ["x"]}
            ]),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["x"]));
        let err = json_patch(
            &mut doc,
            &json!([{"op": "test", "path": "/metadata/finalizers", "value": null}]),
        );
        assert!(err.is_err());
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let mut doc = json!({"a": {"b": 1, "c": 2}});
        merge_patch(&mut doc, &json!({"a": {"b": null, "d": 3}}));
        assert_eq!(doc, json!({"a": {"c": 2, "d": 3}}));
    }
}
