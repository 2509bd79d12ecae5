//! CRD `x-kubernetes-validations` (CEL) evaluation with the `cel` crate: `self` (and `oldSelf`
//! for transition rules on updates) bound at each schema node; pure, must not touch the store.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::Cause;

/// Converts JSON to a CEL value (integers stay `int`, as in Kubernetes).
fn to_cel(v: &Value) -> cel::Value {
    match v {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => cel::Value::Int(i),
            None => cel::Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => cel::Value::from(s.as_str()),
        Value::Array(items) => cel::Value::from(items.iter().map(to_cel).collect::<Vec<_>>()),
        Value::Object(m) => {
            let map: HashMap<String, cel::Value> =
                m.iter().map(|(k, v)| (k.clone(), to_cel(v))).collect();
            cel::Value::from(map)
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn eval_rules(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    out: &mut Vec<Cause>,
) {
    let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    else {
        return;
    };
    for rule in rules {
        let Some(expr) = rule.get("rule").and_then(Value::as_str) else {
            continue;
        };
        let transition = expr.contains("oldSelf");
        if transition && old.is_none() {
            continue;
        }
        let field = match rule.get("fieldPath").and_then(Value::as_str) {
            Some(fp) => format!("{path}{fp}"),
            None => path.to_string(),
        };
        let program = match cel::Program::compile(expr) {
            Ok(p) => p,
            Err(e) => {
                out.push(Cause {
                    reason: "FieldValueInvalid".into(),
                    message: format!("Invalid value: compilation failed: {e}"),
                    field,
                });
                continue;
            }
        };
        let mut ctx = cel::Context::default();
        ctx.add_variable_from_value("self", to_cel(value));
        if let Some(o) = old {
            ctx.add_variable_from_value("oldSelf", to_cel(o));
        }
        let passed = match program.execute(&ctx) {
            Ok(cel::Value::Bool(b)) => b,
            Ok(other) => {
                out.push(Cause {
                    reason: "FieldValueInvalid".into(),
                    message: format!("Invalid value: rule {expr:?} returned {other:?}, not a bool"),
                    field,
                });
                continue;
            }
            Err(e) => {
                out.push(Cause {
                    reason: "FieldValueInvalid".into(),
                    message: format!("Invalid value: rule {expr:?} failed to evaluate: {e}"),
                    field,
                });
                continue;
            }
        };
        if !passed {
            let message = rule
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("failed rule: {expr}"));
            let reason = match rule.get("reason").and_then(Value::as_str) {
                Some("FieldValueRequired") => "FieldValueRequired",
                Some("FieldValueDuplicate") => "FieldValueDuplicate",
                Some("FieldValueForbidden") => "FieldValueForbidden",
                _ => "FieldValueInvalid",
            };
            out.push(Cause {
                reason: reason.into(),
                message: format!("Invalid value: \"object\": {message}"),
                field,
            });
        }
    }
}

/// Evaluates every `x-kubernetes-validations` rule of the schema against the object.
/// Transition rules (using `oldSelf`) run only on updates where the old value exists.
pub fn check(schema: &Value, value: &Value, old: Option<&Value>, path: &str, out: &mut Vec<Cause>) {
    if value.is_null() {
        return;
    }
    eval_rules(schema, value, old, path, out);
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, v) in map {
                if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child = props.and_then(|p| p.get(k)).or(additional);
                if let Some(s) = child {
                    check(s, v, old.and_then(|o| o.get(k)), &join(path, k), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    // Without list-map keys, old items are matched by index only when the
                    // list kept its length.
                    let old_item = old
                        .and_then(Value::as_array)
                        .filter(|o| o.len() == items.len())
                        .and_then(|o| o.get(i));
                    check(s, item, old_item, &format!("{path}[{i}]"), out);
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
    fn rules_and_transition_rules() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.min <= self.max", "message": "min must not exceed max"},
                {"rule": "self.max >= oldSelf.max", "message": "max may not shrink"}
            ],
            "properties": {"min": {"type": "integer"}, "max": {"type": "integer"},
                "name": {"type": "string", "x-kubernetes-validations": [{"rule": "self.startsWith('db-')"}]}}}}});
        let mut out = Vec::new();
        check(
            &schema,
            &json!({"spec": {"min": 1, "max": 2, "name": "db-a"}}),
            None,
            "",
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        check(
            &schema,
            &json!({"spec": {"min": 3, "max": 2, "name": "x"}}),
            None,
            "",
            &mut out,
        );
        let fields: Vec<(&str, &str)> = out
            .iter()
            .map(|c| (c.field.as_str(), c.message.as_str()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("spec", "Invalid value: \"object\": min must not exceed max"),
                (
                    "spec.name",
                    "Invalid value: \"object\": failed rule: self.startsWith('db-')"
                ),
            ]
        );
        let mut out = Vec::new();
        let old = json!({"spec": {"min": 1, "max": 5}});
        check(
            &schema,
            &json!({"spec": {"min": 1, "max": 4}}),
            Some(&old),
            "",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("max may not shrink"));
    }
}
