//! Status writes through the status subresource with replace semantics: a JSON merge patch that
//! also nulls every field the new status no longer has. Touches nothing but `status`.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::Error;

/// A merge patch turning `old` into `new`: keys missing from `new` become `null`, nested
/// objects are patched the same way, anything else (arrays, scalars) is replaced.
pub fn replace_patch(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(old), Value::Object(new)) => {
            let mut out = Map::new();
            for (key, value) in new {
                let patched = match old.get(key) {
                    Some(before) => replace_patch(before, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), patched);
            }
            for key in old.keys() {
                if !new.contains_key(key) {
                    out.insert(key.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        _ => new.clone(),
    }
}

/// Writes `new` as the status of `name`, replacing `old`, and counts the write.
pub async fn write<K, S>(
    api: &Api<K>,
    metrics: &super::Metrics,
    name: &str,
    old: Option<&S>,
    new: &S,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    metrics.status_written(&K::kind(&()));
    let old = match old {
        Some(s) => serde_json::to_value(s).map_err(Error::Serialize)?,
        None => Value::Object(Map::new()),
    };
    let new = serde_json::to_value(new).map_err(Error::Serialize)?;
    let patch = serde_json::json!({ "status": replace_patch(&old, &new) });
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removed_fields_become_null_nested_too() {
        let old = json!({"phase": "A", "review": {"findings": [1], "risk": "LOW"}, "gone": 1});
        let new = json!({"phase": "B", "review": {"risk": "HIGH"}});
        assert_eq!(
            replace_patch(&old, &new),
            json!({"phase": "B", "review": {"risk": "HIGH", "findings": null}, "gone": null})
        );
    }
}
