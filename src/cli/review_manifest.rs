//! Reading `schemagate review` inputs that are Kubernetes manifests: finds `SchemaChange`
//! documents, resolves `spec.sqlFrom.configMapKeyRef` from ConfigMaps, the engine from
//! DatabaseInstances and the Project (`spec.projectRef`) among the inputs. Generic YAML only:
//! must not depend on the CRD types (the caller reads the Project's policy with them).

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
    /// The input is too large or too deeply nested to be a set of manifests worth parsing.
    #[error("{path}: {message}")]
    Limit {
        /// The input path.
        path: String,
        /// Which limit, and by how much.
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
    /// `spec.projectRef`, if any.
    pub project_ref: Option<String>,
    /// The Project manifest `spec.projectRef` names (same namespace), if among the inputs.
    pub project: Option<ProjectInput>,
    /// Offset to add to statement lines, and indentation to add to columns, when the SQL is a
    /// literal block scalar whose position in the file is known.
    pub line_offset: usize,
    /// See `line_offset`.
    pub column_offset: usize,
}

/// A Project manifest among the inputs, for the policy of the changes that name it.
#[derive(Debug, Clone)]
pub struct ProjectInput {
    /// Input path.
    pub path: String,
    /// 1-based line of the document's first line in the file.
    pub first_line: usize,
    /// The whole document.
    pub value: Value,
}

const API_GROUP: &str = "schemagate.io/";

/// Most YAML documents read from one input (a generous bound for a folder of manifests).
pub const MAX_DOCUMENTS: usize = 2_000;

/// Deepest `[`/`{` nesting accepted in a document: real manifests stay under 20, and a YAML
/// parser spends time quadratic in the depth before it gives up.
pub const MAX_NESTING: usize = 64;

/// The deepest flow-collection nesting (`[`, `{`) in `text`, ignoring quoted scalars and
/// comments; stops counting past `limit`. A quote or `#` counts only where YAML would read it as
/// one (after a separator), so an apostrophe inside plain text cannot hide what follows.
fn flow_nesting(text: &str, limit: usize) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut after_separator = true;
    for c in text.chars() {
        if comment {
            comment = c != '\n';
            after_separator = true;
            continue;
        }
        let separator_before = after_separator;
        after_separator = matches!(c, ' ' | '\t' | '\n' | ':' | ',' | '[' | '{' | '-');
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') if separator_before => quote = Some(c),
            (None, '#') if separator_before => comment = true,
            (None, '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    return deepest;
                }
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Splits `text` into YAML documents if it looks like Kubernetes manifests (every document a
/// mapping, at least one with `apiVersion` and `kind`); `None` means "treat as SQL". Inputs with
/// more than [`MAX_DOCUMENTS`] documents or nesting deeper than [`MAX_NESTING`] are refused
/// before any YAML parsing.
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
    let yaml_name = path.ends_with(".yaml") || path.ends_with(".yml");
    let limit = |message: String| ManifestError::Limit {
        path: path.to_owned(),
        message,
    };
    if raw.len() > MAX_DOCUMENTS {
        if !yaml_name && raw.len() == 1 {
            return Ok(None);
        }
        return Err(limit(format!(
            "{} YAML documents, more than the {MAX_DOCUMENTS} one input may hold; split it",
            raw.len()
        )));
    }
    for (first_line, doc) in &raw {
        if flow_nesting(doc, MAX_NESTING) > MAX_NESTING {
            if !yaml_name {
                return Ok(None);
            }
            return Err(limit(format!(
                "the document at line {first_line} nests [ or {{ deeper than {MAX_NESTING} levels"
            )));
        }
    }
    let mut any_object = false;
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

/// Documents of one kind by `metadata.name`, so each SchemaChange finds its ConfigMap and
/// DatabaseInstance without scanning every document (thousands of inputs stay linear).
fn by_name<'a>(
    docs: &'a [Document],
    kind: &str,
    ours: bool,
) -> std::collections::HashMap<&'a str, Vec<&'a Document>> {
    let mut index: std::collections::HashMap<&str, Vec<&Document>> =
        std::collections::HashMap::new();
    for doc in docs.iter().filter(|d| kind_is(d, kind, ours)) {
        if let Some(name) = get_str(&doc.value, &["metadata", "name"]) {
            index.entry(name).or_default().push(doc);
        }
    }
    index
}

fn find_named<'a>(
    index: &std::collections::HashMap<&str, Vec<&'a Document>>,
    name: &str,
    near: &Document,
) -> Option<&'a Document> {
    index
        .get(name)?
        .iter()
        .copied()
        .find(|d| same_namespace(d, near))
}

/// A ConfigMap key's text, from `data` or (base64) `binaryData`.
fn config_map_text(cm: &Value, key: &str) -> Result<Option<String>, String> {
    if let Some(text) = get_str(cm, &["data", key]) {
        return Ok(Some(text.to_owned()));
    }
    let Some(encoded) = get(cm, &["binaryData", key]) else {
        return Ok(None);
    };
    let bytes: k8s_openapi::ByteString = serde_yaml_ng::from_value(encoded.clone())
        .map_err(|e| format!("binaryData key {key} is not base64: {e}"))?;
    String::from_utf8(bytes.0)
        .map(Some)
        .map_err(|_| format!("binaryData key {key} is not UTF-8 text"))
}

/// Every SchemaChange in `docs`, with its SQL resolved.
pub fn changes(docs: &[Document]) -> Result<Vec<ChangeInput>, ManifestError> {
    let mut out = Vec::new();
    let config_maps = by_name(docs, "ConfigMap", false);
    let instances = by_name(docs, "DatabaseInstance", true);
    let projects = by_name(docs, "Project", true);
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
            let cm = find_named(&config_maps, cm_name, doc).ok_or_else(|| {
                    err(format!(
                        "sqlFrom refers to ConfigMap {cm_name}, which is not among the input files; pass its manifest too"
                    ))
                })?;
            let sql = config_map_text(&cm.value, key)
                .map_err(|m| err(format!("ConfigMap {cm_name}: {m}")))?
                .ok_or_else(|| {
                    err(format!(
                        "ConfigMap {cm_name} has no key {key} in data or binaryData"
                    ))
                })?;
            let pos = block_position(cm, key);
            (cm.path.clone(), sql, pos)
        } else {
            return Err(err(
                "spec has neither sql nor sqlFrom.configMapKeyRef".into()
            ));
        };
        let instance_ref = get(&doc.value, &["spec", "instanceRef"])
            .and_then(|v| v.as_str().or_else(|| get_str(v, &["name"])));
        let mut engine = None;
        if let Some(instance) = instance_ref
            && let Some(inst) = find_named(&instances, instance, doc)
            && let Some(e) = get_str(&inst.value, &["spec", "engine"])
        {
            engine = Some(e.parse().map_err(|source| ManifestError::Engine {
                path: inst.path.clone(),
                name: instance.to_owned(),
                source,
            })?);
        }
        let project_ref = get_str(&doc.value, &["spec", "projectRef"]).map(str::to_owned);
        let project = project_ref
            .as_deref()
            .and_then(|p| find_named(&projects, p, doc))
            .map(|p| ProjectInput {
                path: p.path.clone(),
                first_line: p.first_line,
                value: p.value.clone(),
            });
        let (line_offset, column_offset) = pos.unwrap_or((0, 0));
        out.push(ChangeInput {
            path,
            object: format!("SchemaChange/{name}"),
            sql,
            engine,
            project_ref,
            project,
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
    fn binary_data_keys_are_read() {
        let text = "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: a}\nspec:\n  sqlFrom: {configMapKeyRef: {name: cm, key: k}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\nbinaryData:\n  k: U0VMRUNUIDE7Cg==\n";
        let docs = documents("m.yaml", text).unwrap().unwrap();
        assert_eq!(changes(&docs).unwrap()[0].sql, "SELECT 1;\n");
    }

    #[test]
    fn deep_nesting_and_too_many_documents_are_refused_quickly() {
        let started = std::time::Instant::now();
        let deep = format!("a: {}\n", "[".repeat(20_000));
        let err = documents("m.yaml", &deep).unwrap_err().to_string();
        assert!(err.contains("deeper than 64"), "{err}");
        assert!(
            documents("m.sql", &deep).unwrap().is_none(),
            "not YAML: SQL"
        );
        let many = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n".repeat(4_000);
        let err = documents("m.yaml", &many).unwrap_err().to_string();
        assert!(err.contains("4000 YAML documents"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // A thousand SchemaChanges with their ConfigMaps resolve in linear time.
        let mut text = String::new();
        for i in 0..1_000 {
            text.push_str(&format!(
                "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {{name: c{i}}}\nspec:\n  sqlFrom: {{configMapKeyRef: {{name: cm{i}, key: k}}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}}}\ndata: {{k: 'SELECT {i};'}}\n---\n"
            ));
        }
        let docs = documents("m.yaml", &text).unwrap().unwrap();
        let resolved = changes(&docs).unwrap();
        assert_eq!(resolved[999].sql, "SELECT 999;");
    }

    #[test]
    fn missing_configmap_is_an_error() {
        let text = "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: a}\nspec:\n  sqlFrom: {configMapKeyRef: {name: cm, key: k}}\n";
        let docs = documents("m.yaml", text).unwrap().unwrap();
        let err = changes(&docs).unwrap_err().to_string();
        assert!(err.contains("ConfigMap cm"), "{err}");
    }
}
