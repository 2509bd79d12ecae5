//! Reading `schemagate review` inputs that are Kubernetes manifests: finds `SchemaChange`
//! documents, resolves `spec.sqlFrom.configMapKeyRef` from ConfigMaps and the engine from
//! DatabaseInstances among the inputs. Generic YAML only: must not depend on the CRD types.

use serde_yaml_ng::Value;

use crate::review::Engine;

/// What is wrong with a manifest input.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// A document is not valid YAML.
    #[error("{path}: invalid YAML: {source}")]
    Yaml {
        /// The input path.
        path: String,
        /// The YAML error.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A SchemaChange names no SQL or SQL that cannot be found.
    #[error("{path}: SchemaChange {name}: {message}")]
    Sql {
        /// The input path.
        path: String,
        /// The SchemaChange's name.
        name: String,
        /// What is missing.
        message: String,
    },
    /// A DatabaseInstance has an engine schemagate does not know.
    #[error("{path}: DatabaseInstance {name}: {source}")]
    Engine {
        /// The input path.
        path: String,
        /// The instance's name.
        name: String,
        /// The parse error.
        #[source]
        source: crate::review::UnknownEngine,
    },
}

/// One YAML document of an input file, with the line it starts on.
#[derive(Debug)]
pub struct Document {
    /// Input path.
    pub path: String,
    /// 1-based line of the document's first line in the file.
    pub first_line: usize,
    /// The document's text.
    pub text: String,
    /// Parsed value.
    pub value: Value,
}

/// A SchemaChange to review.
#[derive(Debug)]
pub struct ChangeInput {
    /// Path of the file that holds the SQL text.
    pub path: String,
    /// `SchemaChange/<name>`.
    pub object: String,
    /// The SQL.
    pub sql: String,
    /// Engine from a matching DatabaseInstance, if any.
    pub engine: Option<Engine>,
    /// Offset to add to statement lines, and indentation to add to columns, when the SQL is a
    /// literal block scalar whose position in the file is known.
    pub line_offset: usize,
    /// See `line_offset`.
    pub column_offset: usize,
}

const API_GROUP: &str = "schemagate.io/";

/// Splits `text` into YAML documents if it looks like Kubernetes manifests (every document a
/// mapping, at least one with `apiVersion` and `kind`); `None` means "treat as SQL".
pub fn documents(path: &str, text: &str) -> Result<Option<Vec<Document>>, ManifestError> {
    let mut docs = Vec::new();
    let mut start_line = 1;
    let mut current = String::new();
    let flush = |current: &mut String, first_line: usize, docs: &mut Vec<(usize, String)>| {
        if !current.trim().is_empty() {
            docs.push((first_line, std::mem::take(current)));
        }
        current.clear();
    };
    let mut raw: Vec<(usize, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            flush(&mut current, start_line, &mut raw);
            start_line = i + 2;
            continue;
        }
        if current.is_empty() {
            start_line = i + 1;
        }
        current.push_str(line);
        current.push('\n');
    }
    flush(&mut current, start_line, &mut raw);
    let mut any_object = false;
    let yaml_name = path.ends_with(".yaml") || path.ends_with(".yml");
    for (first_line, doc) in raw {
        let value = match serde_yaml_ng::from_str::<Value>(&doc) {
            Ok(v) => v,
            Err(source) if yaml_name => {
                return Err(ManifestError::Yaml {
                    path: path.to_owned(),
                    source,
                });
            }
            Err(_) => return Ok(None),
        };
        match &value {
            Value::Mapping(m) => {
                if m.contains_key("apiVersion") && m.contains_key("kind") {
                    any_object = true;
                }
            }
            Value::Null => continue,
            _ => return Ok(None),
        }
        docs.push(Document {
            path: path.to_owned(),
            first_line,
            text: doc,
            value,
        });
    }
    Ok(any_object.then_some(docs))
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn get_str<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

fn kind_is(doc: &Document, kind: &str, ours: bool) -> bool {
    let api = get_str(&doc.value, &["apiVersion"]).unwrap_or("");
    get_str(&doc.value, &["kind"]) == Some(kind) && (!ours || api.starts_with(API_GROUP))
}

fn namespace(doc: &Document) -> Option<&str> {
    get_str(&doc.value, &["metadata", "namespace"])
}

fn same_namespace(a: &Document, b: &Document) -> bool {
    match (namespace(a), namespace(b)) {
        (Some(x), Some(y)) => x == y,
        _ => true,
    }
}

/// Where a literal block scalar `key: |` starts in a document: (line offset, indentation).
fn block_position(doc: &Document, key: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = doc.text.lines().collect();
    let at = lines.iter().position(|l| {
        let t = l.trim_start();
        t.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim)
            .is_some_and(|r| r.starts_with('|') && r.len() <= 3)
    })?;
    let first = lines[at + 1..].iter().find(|l| !l.trim().is_empty())?;
    let indent = first.len() - first.trim_start().len();
    // Statement line 1 sits on the line after `key: |` (blank lines inside are kept by YAML).
    Some((doc.first_line + at, indent))
}

/// Every SchemaChange in `docs`, with its SQL resolved.
pub fn changes(docs: &[Document]) -> Result<Vec<ChangeInput>, ManifestError> {
    let mut out = Vec::new();
    for doc in docs.iter().filter(|d| kind_is(d, "SchemaChange", true)) {
        let name = get_str(&doc.value, &["metadata", "name"])
            .unwrap_or("<unnamed>")
            .to_owned();
        let err = |message: String| ManifestError::Sql {
            path: doc.path.clone(),
            name: name.clone(),
            message,
        };
        let (path, sql, pos) = if let Some(sql) = get_str(&doc.value, &["spec", "sql"]) {
            (doc.path.clone(), sql.to_owned(), block_position(doc, "sql"))
        } else if let Some(r) = get(&doc.value, &["spec", "sqlFrom", "configMapKeyRef"]) {
            let cm_name = get_str(r, &["name"])
                .ok_or_else(|| err("sqlFrom.configMapKeyRef has no name".into()))?;
            let key = get_str(r, &["key"])
                .ok_or_else(|| err("sqlFrom.configMapKeyRef has no key".into()))?;
            let cm = docs
                .iter()
                .find(|d| {
                    kind_is(d, "ConfigMap", false)
                        && get_str(&d.value, &["metadata", "name"]) == Some(cm_name)
                        && same_namespace(d, doc)
                })
                .ok_or_else(|| {
                    err(format!(
                        "sqlFrom refers to ConfigMap {cm_name}, which is not among the input files; pass its manifest too"
                    ))
                })?;
            let sql = get_str(&cm.value, &["data", key])
                .ok_or_else(|| err(format!("ConfigMap {cm_name} has no data key {key}")))?;
            (cm.path.clone(), sql.to_owned(), block_position(cm, key))
        } else {
            return Err(err(
                "spec has neither sql nor sqlFrom.configMapKeyRef".into()
            ));
        };
        let instance_ref = get(&doc.value, &["spec", "instanceRef"])
            .and_then(|v| v.as_str().or_else(|| get_str(v, &["name"])));
        let mut engine = None;
        if let Some(instance) = instance_ref
            && let Some(inst) = docs.iter().find(|d| {
                kind_is(d, "DatabaseInstance", true)
                    && get_str(&d.value, &["metadata", "name"]) == Some(instance)
                    && same_namespace(d, doc)
            })
            && let Some(e) = get_str(&inst.value, &["spec", "engine"])
        {
            engine = Some(e.parse().map_err(|source| ManifestError::Engine {
                path: inst.path.clone(),
                name: instance.to_owned(),
                source,
            })?);
        }
        let (line_offset, column_offset) = pos.unwrap_or((0, 0));
        out.push(ChangeInput {
            path,
            object: format!("SchemaChange/{name}"),
            sql,
            engine,
            line_offset,
            column_offset,
        });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sql_is_not_mistaken_for_manifests() {
        assert!(
            documents("a.sql", "SELECT 1;\nDROP TABLE x;")
                .unwrap()
                .is_none()
        );
        assert!(documents("a.sql", "key: value\n").unwrap().is_none());
    }

    #[test]
    fn resolves_inline_sql_configmaps_and_engines() {
        let text = "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: a}\nspec:\n  instanceRef: db\n  sql: |\n    SELECT 1;\n    DROP TABLE t;\n---\napiVersion: schemagate.io/v1alpha1\nkind: DatabaseInstance\nmetadata: {name: db}\nspec: {engine: mysql}\n---\napiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: b}\nspec:\n  instanceRef: other\n  sqlFrom: {configMapKeyRef: {name: cm, key: up.sql}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  up.sql: |\n    SELECT 2;\n";
        let docs = documents("m.yaml", text).unwrap().unwrap();
        let changes = changes(&docs).unwrap();
        assert_eq!(changes.len(), 2);
        assert_eq!(changes[0].engine, Some(Engine::Mysql));
        assert_eq!((changes[0].line_offset, changes[0].column_offset), (6, 4));
        assert_eq!(changes[1].sql, "SELECT 2;\n");
        assert_eq!(changes[1].engine, None);
        assert_eq!(changes[1].line_offset, 26);
    }

    #[test]
    fn missing_configmap_is_an_error() {
        let text = "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: a}\nspec:\n  sqlFrom: {configMapKeyRef: {name: cm, key: k}}\n";
        let docs = documents("m.yaml", text).unwrap().unwrap();
        let err = changes(&docs).unwrap_err().to_string();
        assert!(err.contains("ConfigMap cm"), "{err}");
    }
}
