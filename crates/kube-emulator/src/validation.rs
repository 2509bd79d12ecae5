//! Structural-schema validation and pruning of custom objects against a CRD's
//! `openAPIV3Schema`; pure functions, must not touch the store.

use serde_json::Value;

use crate::error::Cause;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn cause(reason: &str, field: &str, message: String) -> Cause {
    Cause {
        reason: reason.into(),
        message,
        field: field.into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Validates a value against a schema node, appending causes (field paths like `spec.size`).
pub fn validate(schema: &Value, value: &Value, path: &str, out: &mut Vec<Cause>) {
    if value.is_null() {
        if schema.get("nullable").and_then(Value::as_bool) != Some(true) && !path.is_empty() {
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                "Invalid value: \"null\": must not be null".into(),
            ));
        }
        return;
    }
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let got = type_name(value);
        let ok = got == want || (want == "number" && got == "integer");
        if !ok && !int_or_string {
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"{got}\": {path} in body must be of type {want}: \"{got}\""
                ),
            ));
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.push(cause(
            "FieldValueNotSupported",
            path,
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        ));
    }
    match value {
        Value::String(s) => {
            let len = s.chars().count() as u64;
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                out.push(cause(
                    "FieldValueTooLong",
                    path,
                    format!("Too long: may not be more than {max} bytes"),
                ));
            }
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                match regex::Regex::new(pattern) {
                    Ok(re) if !re.is_match(s) => out.push(cause(
                        "FieldValueInvalid",
                        path,
                        format!("Invalid value: {value}: {path} in body should match '{pattern}'"),
                    )),
                    Ok(_) => {}
                    Err(_) => out.push(cause(
                        "FieldValueInvalid",
                        path,
                        format!("schema pattern {pattern:?} is not supported"),
                    )),
                }
            }
            if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                out.push(cause(
                    "FieldValueInvalid",
                    path,
                    format!(
                        "Invalid value: {value}: {path} in body should be at least {min} chars long"
                    ),
                ));
            }
        }
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                out.push(cause("FieldValueInvalid", path, format!("Invalid value: {value}: {path} in body should be less than or equal to {max}")));
            }
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                out.push(cause("FieldValueInvalid", path, format!("Invalid value: {value}: {path} in body should be greater than or equal to {min}")));
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                out.push(cause(
                    "FieldValueTooMany",
                    path,
                    format!("Too many: {}: must have at most {max} items", items.len()),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = req.as_str()
                    && !map.contains_key(name)
                {
                    out.push(cause(
                        "FieldValueRequired",
                        &join(path, name),
                        "Required value".into(),
                    ));
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(s) = props.and_then(|p| p.get(k)) {
                    validate(s, v, &join(path, k), out);
                } else if let Some(s) = additional {
                    validate(s, v, &join(path, k), out);
                }
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// Fills in `default` values for absent properties (recursively, including inside defaulted
/// objects and array items), as the API server does for structural schemas.
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, s) in props {
                    if !map.contains_key(k)
                        && let Some(d) = s.get("default")
                    {
                        map.insert(k.clone(), d.clone());
                    }
                    if let Some(child) = map.get_mut(k) {
                        apply_defaults(s, child);
                    }
                }
            }
            if let Some(s) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in map.values_mut() {
                    apply_defaults(s, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for item in items {
                    apply_defaults(s, item);
                }
            }
        }
        _ => {}
    }
}

/// Removes fields the schema does not declare (unless `x-kubernetes-preserve-unknown-fields`),
/// returning the pruned field paths.
pub fn prune(schema: &Value, value: &mut Value, path: &str, pruned: &mut Vec<String>) {
    if schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
        && schema.get("properties").is_none()
    {
        return;
    }
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema
                .get("additionalProperties")
                .filter(|a| a.is_object() || a.as_bool() == Some(true));
            let preserve = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_path = join(path, &k);
                if let Some(s) = props.and_then(|p| p.get(&k)) {
                    if let Some(v) = map.get_mut(&k) {
                        prune(s, v, &child_path, pruned);
                    }
                } else if let Some(s) = additional {
                    if let Some(v) = map.get_mut(&k) {
                        prune(s, v, &child_path, pruned);
                    }
                } else if !preserve {
                    map.remove(&k);
                    pruned.push(child_path);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    prune(s, item, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_required_type_enum_and_length() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["a"],
            "properties": {"a": {"type": "string", "maxLength": 3}, "b": {"type": "integer"}, "c": {"type": "string", "enum": ["x"]}}}}});
        let mut causes = Vec::new();
        validate(
            &schema,
            &json!({"spec": {"b": "no", "c": "y"}}),
            "",
            &mut causes,
        );
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, vec!["spec.a", "spec.b", "spec.c"]);
        let mut causes = Vec::new();
        validate(&schema, &json!({"spec": {"a": "long"}}), "", &mut causes);
        assert_eq!(causes[0].reason, "FieldValueTooLong");
    }

    #[test]
    fn defaults_and_patterns() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "default": {},
            "properties": {"mode": {"type": "string", "default": "auto", "pattern": "^[a-z]+$"}}}}});
        let mut v = json!({});
        apply_defaults(&schema, &mut v);
        assert_eq!(v, json!({"spec": {"mode": "auto"}}));
        let mut causes = Vec::new();
        validate(&schema, &json!({"spec": {"mode": "A1"}}), "", &mut causes);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.mode");
    }

    #[test]
    fn prunes_unknown_fields() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}}});
        let mut v = json!({"kind": "X", "spec": {"a": "1", "zz": 2}, "other": 1});
        let mut pruned = Vec::new();
        prune(&schema, &mut v, "", &mut pruned);
        assert_eq!(v, json!({"kind": "X", "spec": {"a": "1"}}));
        assert_eq!(pruned.len(), 2);
    }
}
