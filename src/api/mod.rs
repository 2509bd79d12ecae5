//! CRD types of group `schemagate.io`, version `v1alpha1`: one file per kind plus the shared
//! condition constants. Types only — no client calls, no database access.

pub mod approval;
pub mod conditions;
pub mod database_instance;
pub mod identity;
pub mod project;
mod schema;
pub mod schema_change;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use kube::CustomResourceExt;

pub use approval::{Approval, ApprovalSpec, ApprovalStatus, Decision};
pub use database_instance::{
    DatabaseInstance, DatabaseInstanceSpec, DatabaseInstanceStatus, Engine,
};
pub use identity::RequestIdentity;
pub use project::{
    ChatIdentity, NotificationEvent, NotificationKind, NotificationTarget, Project, ProjectSpec,
    ProjectStatus,
};
pub use schema_change::{Phase, RiskLevel, SchemaChange, SchemaChangeSpec, SchemaChangeStatus};

/// The API group.
pub const GROUP: &str = "schemagate.io";
/// The API version.
pub const VERSION: &str = "v1alpha1";

/// A count (of statements, findings, lines …) as status holds it: `u32`, the CRD schema's
/// integer. A larger count, which no real script reaches, saturates at `u32::MAX`.
#[must_use]
pub fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The CRDs of all four kinds, in a stable order.
#[must_use]
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        DatabaseInstance::crd(),
        Project::crd(),
        SchemaChange::crd(),
        Approval::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version
                .schema
                .as_mut()
                .and_then(|s| s.open_api_v3_schema.as_mut())
            {
                visit(schema, &mut |p| {
                    drop_unsigned_format(p);
                    unwrap_description(p);
                });
            }
        }
    }
    crds
}

/// schemars marks unsigned integers with `format: uint16|uint32|uint64`, formats the API server
/// does not know: it answers every apply of the CRD with `Warning: unrecognized format "uint32"`
/// (seen on kube-apiserver v1.37). The `minimum: 0` schemars also emits keeps the range.
fn drop_unsigned_format(props: &mut JSONSchemaProps) {
    if props
        .format
        .as_deref()
        .is_some_and(|f| f.starts_with("uint"))
    {
        props.format = None;
    }
}

/// Doc comments wrap at 100 columns; `kubectl explain` wraps descriptions itself, so a line
/// break kept from the source shows as a break in mid-sentence. Lines of a paragraph are joined;
/// blank lines (paragraphs) and lines that start a list item stay.
fn unwrap_description(props: &mut JSONSchemaProps) {
    if let Some(text) = props.description.as_mut() {
        *text = unwrap_lines(text);
    }
}

fn unwrap_lines(text: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            if !current.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            let list_item = ["- ", "* ", "| "].iter().any(|m| line.starts_with(m));
            current.push(if list_item { '\n' } else { ' ' });
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        paragraphs.push(current);
    }
    paragraphs.join("\n\n")
}

/// Calls `f` on `props` and every schema nested in it.
fn visit(props: &mut JSONSchemaProps, f: &mut dyn FnMut(&mut JSONSchemaProps)) {
    f(props);
    let maps = [
        props.properties.as_mut(),
        props.pattern_properties.as_mut(),
        props.definitions.as_mut(),
    ];
    for map in maps.into_iter().flatten() {
        map.values_mut().for_each(|p| visit(p, f));
    }
    for list in [
        props.all_of.as_mut(),
        props.any_of.as_mut(),
        props.one_of.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        list.iter_mut().for_each(|p| visit(p, f));
    }
    match props.items.as_mut() {
        Some(JSONSchemaPropsOrArray::Schema(item)) => visit(item, f),
        Some(JSONSchemaPropsOrArray::Schemas(items)) => {
            items.iter_mut().for_each(|p| visit(p, f));
        }
        None => {}
    }
    for nested in [
        props.additional_properties.as_mut(),
        props.additional_items.as_mut(),
    ]
    .into_iter()
    .flatten()
    {
        if let JSONSchemaPropsOrBool::Schema(schema) = nested {
            visit(schema, f);
        }
    }
    if let Some(not) = props.not.as_mut() {
        visit(not, f);
    }
}

/// One CRD as a YAML document (with a leading `---`).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml_ng::Error> {
    Ok(format!("---\n{}", serde_yaml_ng::to_string(crd)?))
}

/// All CRDs as multi-document YAML, as printed by `schemagate crd`.
pub fn crds_yaml() -> Result<String, serde_yaml_ng::Error> {
    crds().iter().map(crd_yaml).collect()
}

#[cfg(test)]
mod tests {
    use super::unwrap_lines;

    #[test]
    fn descriptions_are_unwrapped_within_paragraphs_only() {
        assert_eq!(
            unwrap_lines(
                "Secret key holding the PEM CA bundle used by `verify-full`. The\nsystem roots are used when\nabsent."
            ),
            "Secret key holding the PEM CA bundle used by `verify-full`. The system roots are used when absent."
        );
        assert_eq!(unwrap_lines("One.\n\nTwo\nlines."), "One.\n\nTwo lines.");
        assert_eq!(unwrap_lines("Modes:\n- a\n- b"), "Modes:\n- a\n- b");
    }
}
