//! The set of served resource types (built-ins plus CRD-registered kinds); must not touch objects.

use serde_json::{Value, json};

/// A printer column (`additionalPrinterColumns`) shown by `kubectl get`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// Column type (`string`, `integer`, `date`, ...).
    pub type_: String,
    /// Simple JSONPath evaluated against the object.
    pub json_path: String,
    /// Column priority (0 = shown by default).
    pub priority: i64,
    /// Column description.
    pub description: String,
}

/// One served resource (for one group/version).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    /// Served version.
    pub version: String,
    /// Kind, e.g. `ConfigMap`.
    pub kind: String,
    /// Plural resource name, e.g. `configmaps`.
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// Short names (`cm`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Whether a `/status` subresource exists.
    pub status_subresource: bool,
    /// Whether this is a custom resource (no strategic merge patch, generation tracking).
    pub custom: bool,
    /// Whether the storage version of the group/plural is this version.
    pub storage: bool,
    /// Extra printer columns (CRDs); built-ins use fixed columns.
    pub printer_columns: Vec<PrinterColumn>,
    /// `openAPIV3Schema` of this version (CRDs only).
    pub schema: Option<Value>,
}

impl ResourceType {
    /// `group/version` or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Storage key shared by all versions of one resource.
    pub fn storage_key(&self) -> (String, String) {
        if self.group == "events.k8s.io" && self.plural == "events" {
            // Shares storage with core v1 Events, as in the API server.
            return (String::new(), "events".into());
        }
        (self.group.clone(), self.plural.clone())
    }

    /// Whether spec changes bump `metadata.generation` (CRs, CRDs and objects with a spec).
    pub fn tracks_generation(&self) -> bool {
        self.custom || self.kind == "CustomResourceDefinition"
    }

    /// The `APIResource` entry for discovery.
    pub fn api_resource(&self) -> Value {
        let mut verbs = vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        verbs.sort_unstable();
        let mut r = json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
        });
        if !self.short_names.is_empty() {
            r["shortNames"] = json!(self.short_names);
        }
        if !self.categories.is_empty() {
            r["categories"] = json!(self.categories);
        }
        if self.storage {
            r["storageVersionHash"] = json!(format!(
                "{:x}",
                fnv(&format!("{}/{}", self.group, self.plural))
            ));
        }
        r
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short: &[&str],
    namespaced: bool,
    status: bool,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        short_names: short.iter().map(|s| s.to_string()).collect(),
        categories: Vec::new(),
        namespaced,
        status_subresource: status,
        custom: false,
        storage: true,
        printer_columns: Vec::new(),
        schema: None,
    }
}

/// The resource registry: built-ins first, then CRD kinds.
#[derive(Debug, Clone)]
pub struct Registry {
    types: Vec<ResourceType>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry with the built-in kinds the operator uses.
    pub fn new() -> Self {
        Self {
            types: vec![
                builtin("", "v1", "Namespace", "namespaces", &["ns"], false, true),
                builtin("", "v1", "ConfigMap", "configmaps", &["cm"], true, false),
                builtin("", "v1", "Secret", "secrets", &[], true, false),
                builtin("", "v1", "Event", "events", &["ev"], true, false),
                builtin(
                    "events.k8s.io",
                    "v1",
                    "Event",
                    "events",
                    &["ev"],
                    true,
                    false,
                ),
                builtin(
                    "coordination.k8s.io",
                    "v1",
                    "Lease",
                    "leases",
                    &[],
                    true,
                    false,
                ),
                builtin(
                    "apiextensions.k8s.io",
                    "v1",
                    "CustomResourceDefinition",
                    "customresourcedefinitions",
                    &["crd", "crds"],
                    false,
                    true,
                ),
            ],
        }
    }

    /// All served types.
    pub fn all(&self) -> &[ResourceType] {
        &self.types
    }

    /// Looks up a resource by group, version and plural.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
    }

    /// Looks up a type by group, version and kind.
    pub fn find_kind(&self, group: &str, version: &str, kind: &str) -> Option<&ResourceType> {
        self.types
            .iter()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
    }

    /// Served groups in order of first appearance (excluding core), with their versions.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in &self.types {
            if t.group.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    /// Types served for one group/version.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<&ResourceType> {
        self.types
            .iter()
            .filter(|t| t.group == group && t.version == version)
            .collect()
    }

    /// Registers (or re-registers) the kinds of a CRD object. Returns the storage key.
    pub fn register_crd(&mut self, crd: &Value) -> Option<(String, String)> {
        let spec = crd.get("spec")?;
        let group = spec.get("group")?.as_str()?.to_string();
        let names = spec.get("names")?;
        let plural = names.get("plural")?.as_str()?.to_string();
        self.unregister(&group, &plural);
        let kind = names.get("kind")?.as_str()?.to_string();
        let singular = names
            .get("singular")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase());
        let strs = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let short_names = strs(names.get("shortNames"));
        let categories = strs(names.get("categories"));
        let namespaced = spec.get("scope").and_then(Value::as_str) != Some("Cluster");
        for v in spec
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let Some(version) = v.get("name").and_then(Value::as_str) else {
                continue;
            };
            let printer_columns = v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .map(|cols| {
                    cols.iter()
                        .filter_map(|c| {
                            Some(PrinterColumn {
                                name: c.get("name")?.as_str()?.to_string(),
                                type_: c
                                    .get("type")
                                    .and_then(Value::as_str)
                                    .unwrap_or("string")
                                    .to_string(),
                                json_path: c.get("jsonPath")?.as_str()?.to_string(),
                                priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
                                description: c
                                    .get("description")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            self.types.push(ResourceType {
                group: group.clone(),
                version: version.to_string(),
                kind: kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                short_names: short_names.clone(),
                categories: categories.clone(),
                namespaced,
                status_subresource: v.pointer("/subresources/status").is_some(),
                custom: true,
                storage: v.get("storage").and_then(Value::as_bool).unwrap_or(true),
                printer_columns,
                schema: v.pointer("/schema/openAPIV3Schema").cloned(),
            });
        }
        Some((group, plural))
    }

    /// Removes all versions of a custom resource.
    pub fn unregister(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|t| !(t.custom && t.group == group && t.plural == plural));
    }
}
