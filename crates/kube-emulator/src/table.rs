//! `meta.k8s.io/v1` Table rendering for `kubectl get` (built-in columns, CRD printer columns and
//! a small JSONPath subset); pure functions, must not touch the store.

use serde_json::{Value, json};

use crate::registry::{PrinterColumn, ResourceType};

/// Evaluates a printer-column JSONPath subset: `.a.b`, `.a[0]`, `.a[*].b`,
/// `.a[?(@.k=="v")].b`. Returns all matches.
pub fn eval_json_path(obj: &Value, path: &str) -> Vec<Value> {
    let path = path
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .trim_start_matches('$');
    let mut current = vec![obj.clone()];
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            current = current.iter().filter_map(|v| v.get(key).cloned()).collect();
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let Some(end) = r.find(']') else {
                return Vec::new();
            };
            let inner = &r[..end];
            rest = &r[end + 1..];
            let items: Vec<Value> = current
                .iter()
                .filter_map(|v| v.as_array().cloned())
                .flatten()
                .collect();
            current = if inner == "*" {
                items
            } else if let Ok(i) = inner.parse::<usize>() {
                current.iter().filter_map(|v| v.get(i).cloned()).collect()
            } else if let Some(filter) =
                inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')'))
            {
                let Some((field, want)) = filter.split_once("==") else {
                    return Vec::new();
                };
                let want = want.trim().trim_matches('"').trim_matches('\'');
                items
                    .into_iter()
                    .filter(|it| {
                        let mut cur = Some(it);
                        for seg in field.trim().split('.') {
                            cur = cur.and_then(|c| c.get(seg));
                        }
                        match cur {
                            Some(Value::String(s)) => s == want,
                            Some(other) => *other == want,
                            None => false,
                        }
                    })
                    .collect()
            } else {
                return Vec::new();
            };
        } else {
            return Vec::new();
        }
    }
    current
}

/// Formats an age like kubectl (`45s`, `3m12s`, `5h`, `2d`).
pub fn human_age(created: Option<&str>) -> Value {
    let Some(ts) = created.and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()) else {
        return json!("<unknown>");
    };
    let secs = (chrono::Utc::now() - ts.with_timezone(&chrono::Utc))
        .num_seconds()
        .max(0);
    let s = match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    };
    json!(s)
}

fn column(name: &str, type_: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": type_, "format": format, "description": description, "priority": priority})
}

/// Computes one cell from an object.
type CellFn = Box<dyn Fn(&Value) -> Value>;

fn builtin_columns(rt: &ResourceType) -> Vec<(Value, CellFn)> {
    let name_col = column(
        "Name",
        "string",
        "name",
        "Name must be unique within a namespace.",
        0,
    );
    let name: CellFn = Box::new(|o| o.pointer("/metadata/name").cloned().unwrap_or(Value::Null));
    let age_col = column(
        "Age",
        "string",
        "",
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
        0,
    );
    let age: CellFn = Box::new(|o| {
        human_age(
            o.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
        )
    });
    let count = |field: &'static str| -> CellFn {
        Box::new(move |o: &Value| {
            let n = o
                .get(field)
                .and_then(Value::as_object)
                .map(|m| m.len())
                .unwrap_or(0)
                + if field == "data" {
                    o.get("binaryData")
                        .and_then(Value::as_object)
                        .map(|m| m.len())
                        .unwrap_or(0)
                } else {
                    0
                };
            json!(n)
        })
    };
    match (rt.group.as_str(), rt.kind.as_str()) {
        ("", "ConfigMap") => vec![
            (name_col, name),
            (column("Data", "string", "", "Data", 0), count("data")),
            (age_col, age),
        ],
        ("", "Secret") => vec![
            (name_col, name),
            (
                column("Type", "string", "", "The type of the secret", 0),
                Box::new(|o| o.get("type").cloned().unwrap_or(json!("Opaque"))),
            ),
            (column("Data", "string", "", "Data", 0), count("data")),
            (age_col, age),
        ],
        ("", "Namespace") => vec![
            (name_col, name),
            (
                column("Status", "string", "", "The status of the namespace", 0),
                Box::new(|o| {
                    o.pointer("/status/phase")
                        .cloned()
                        .unwrap_or(json!("Active"))
                }),
            ),
            (age_col, age),
        ],
        ("", "Event") => vec![
            (
                column(
                    "Last Seen",
                    "string",
                    "",
                    "Time since the event was last seen",
                    0,
                ),
                Box::new(|o| {
                    let ts = o
                        .get("lastTimestamp")
                        .or_else(|| o.get("eventTime"))
                        .or_else(|| o.pointer("/metadata/creationTimestamp"))
                        .and_then(Value::as_str);
                    human_age(ts)
                }),
            ),
            (
                column("Type", "string", "", "Event type", 0),
                Box::new(|o| o.get("type").cloned().unwrap_or(json!(""))),
            ),
            (
                column("Reason", "string", "", "Event reason", 0),
                Box::new(|o| o.get("reason").cloned().unwrap_or(json!(""))),
            ),
            (
                column("Object", "string", "", "The object the event is about", 0),
                Box::new(|o| {
                    let kind = o
                        .pointer("/involvedObject/kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_lowercase();
                    let name = o
                        .pointer("/involvedObject/name")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    json!(format!("{kind}/{name}"))
                }),
            ),
            (
                column("Message", "string", "", "Event message", 0),
                Box::new(|o| o.get("message").cloned().unwrap_or(json!(""))),
            ),
        ],
        ("coordination.k8s.io", "Lease") => vec![
            (name_col, name),
            (
                column("Holder", "string", "", "Holder identity", 0),
                Box::new(|o| {
                    o.pointer("/spec/holderIdentity")
                        .cloned()
                        .unwrap_or(json!(""))
                }),
            ),
            (age_col, age),
        ],
        ("apiextensions.k8s.io", _) => vec![
            (name_col, name),
            (
                column("Created At", "date", "", "Creation time", 0),
                Box::new(|o| {
                    o.pointer("/metadata/creationTimestamp")
                        .cloned()
                        .unwrap_or(Value::Null)
                }),
            ),
        ],
        _ => vec![(name_col, name), (age_col, age)],
    }
}

fn cell_for(col: &PrinterColumn, obj: &Value) -> Value {
    let found = eval_json_path(obj, &col.json_path);
    match found.as_slice() {
        [] => Value::Null,
        [one] => {
            if col.type_ == "date" {
                human_age(one.as_str())
            } else {
                one.clone()
            }
        }
        many => json!(
            many.iter()
                .map(|v| v
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join(",")
        ),
    }
}

/// Column definitions and a row builder for a type.
pub fn columns(rt: &ResourceType) -> Vec<Value> {
    if rt.custom && !rt.printer_columns.is_empty() {
        let mut cols = vec![column(
            "Name",
            "string",
            "name",
            "Name must be unique within a namespace.",
            0,
        )];
        cols.extend(rt.printer_columns.iter().map(|c| {
            let t = if c.type_ == "date" {
                "date"
            } else {
                c.type_.as_str()
            };
            column(&c.name, t, "", &c.description, c.priority)
        }));
        return cols;
    }
    builtin_columns(rt).into_iter().map(|(c, _)| c).collect()
}

/// One Table row for an object. `include_object` is `None`, `Metadata` or `Object`.
pub fn row(rt: &ResourceType, obj: &Value, include_object: &str) -> Value {
    let cells: Vec<Value> = if rt.custom && !rt.printer_columns.is_empty() {
        let mut cells = vec![
            obj.pointer("/metadata/name")
                .cloned()
                .unwrap_or(Value::Null),
        ];
        cells.extend(rt.printer_columns.iter().map(|c| cell_for(c, obj)));
        cells
    } else {
        builtin_columns(rt).iter().map(|(_, f)| f(obj)).collect()
    };
    let object = match include_object {
        "None" => Value::Null,
        "Object" => obj.clone(),
        _ => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
        }),
    };
    json!({"cells": cells, "object": object})
}

/// A whole Table for a list of objects.
pub fn table(
    rt: &ResourceType,
    objs: &[Value],
    rv: &str,
    cont: Option<&str>,
    include_object: &str,
    with_columns: bool,
) -> Value {
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": if with_columns { columns(rt) } else { Vec::new() },
        "rows": objs.iter().map(|o| row(rt, o, include_object)).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_filters_conditions() {
        let obj = json!({"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(
            eval_json_path(&obj, ".status.conditions[?(@.type==\"Ready\")].status"),
            vec![json!("True")]
        );
        assert_eq!(
            eval_json_path(&obj, ".status.conditions[0].type"),
            vec![json!("A")]
        );
        assert!(eval_json_path(&obj, ".spec.missing").is_empty());
    }
}
