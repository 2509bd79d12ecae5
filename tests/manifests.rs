//! Generated and hand-written manifests: CRD drift, `kubectl explain` quality, kustomize, and the
//! Helm chart with the real `helm` CLI (lint, template). Installing them into a real API server is
//! tests/real_cluster.rs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod go_tools;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use schemagate::api;
use schemagate::cli::crd::{CRD_DIRS, REGENERATE, file_name};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Parses multi-document YAML into JSON values, skipping empty documents.
fn yaml_docs(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn kubectl_kustomize(dir: &str) -> Vec<Value> {
    let out = Command::new("kubectl")
        .args(["kustomize", dir])
        .current_dir(repo())
        .output()
        .expect("kubectl is installed (the test command installs it when missing)");
    assert!(
        out.status.success(),
        "kubectl kustomize {dir} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    yaml_docs(&String::from_utf8(out.stdout).unwrap())
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

#[test]
fn crd_copies_match_the_code() {
    let generated: Vec<(String, String)> = api::crds()
        .iter()
        .map(|crd| (file_name(crd), api::crd_yaml(crd).unwrap()))
        .collect();
    let mut stale = Vec::new();
    for dir in CRD_DIRS {
        let dir_path = repo().join(dir);
        for (name, yaml) in &generated {
            let on_disk = std::fs::read_to_string(dir_path.join(name)).unwrap_or_default();
            if &on_disk != yaml {
                stale.push(format!("{dir}/{name}"));
            }
        }
        let expected: BTreeSet<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
        for entry in std::fs::read_dir(&dir_path).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if !expected.contains(name.as_str()) {
                stale.push(format!("{dir}/{name} (not generated any more)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "CRDs differ from src/api: {stale:?}\nRegenerate them with:\n  {REGENERATE}"
    );
}

/// Every property of spec and status carries a description, so `kubectl explain` is useful.
#[test]
fn every_crd_field_is_documented() {
    fn walk(path: &str, schema: &Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let sub_path = format!("{path}.{name}");
                if sub
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    missing.push(sub_path.clone());
                }
                walk(&sub_path, sub, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    for crd in api::crds() {
        let json = serde_json::to_value(&crd).unwrap();
        let kind = json["spec"]["names"]["kind"].as_str().unwrap().to_owned();
        let schema = &json["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert!(
            schema["description"].as_str().is_some_and(|d| d.len() > 20),
            "{kind} has no description"
        );
        for part in ["spec", "status"] {
            walk(
                &format!("{kind}.{part}"),
                &schema["properties"][part],
                &mut missing,
            );
        }
    }
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:#?}"
    );
}

#[test]
fn crds_have_print_columns_short_names_and_category() {
    // Short names used by built-in kinds and common add-ons; ours must not clash.
    let taken = [
        "sc", "cm", "ns", "po", "svc", "deploy", "ds", "sts", "rs", "rc", "pv", "pvc", "ep", "ev",
        "ing", "netpol", "pdb", "psp", "sa", "hpa", "cj", "crd", "crds", "csr", "limits", "quota",
        "no", "cs", "pc", "ingclass", "sgs",
    ];
    let mut seen = BTreeSet::new();
    let expected_columns = [
        (
            "SchemaChange",
            vec![
                "Project", "Instance", "Version", "Phase", "Risk", "Progress", "Age",
            ],
        ),
        (
            "DatabaseInstance",
            vec!["Engine", "Environment", "Ready", "Age"],
        ),
        ("Project", vec!["Ready", "Age"]),
        ("Approval", vec!["Change", "Decision", "Approver", "Age"]),
    ];
    for crd in api::crds() {
        let names = &crd.spec.names;
        assert_eq!(crd.spec.group, "schemagate.io");
        assert_eq!(crd.spec.scope, "Namespaced");
        assert_eq!(
            names.categories.as_deref(),
            Some(&["schemagate".to_owned()][..])
        );
        for short in names.short_names.as_deref().unwrap_or_default() {
            assert!(
                !taken.contains(&short.as_str()),
                "{short} clashes with a built-in short name"
            );
            assert!(seen.insert(short.clone()), "{short} used twice");
        }
        let version = &crd.spec.versions[0];
        assert_eq!(version.name, "v1alpha1");
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        let shown: Vec<&str> = version
            .additional_printer_columns
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|c| c.priority.unwrap_or(0) == 0)
            .map(|c| c.name.as_str())
            .collect();
        let (_, want) = expected_columns
            .iter()
            .find(|(k, _)| *k == names.kind)
            .unwrap();
        assert_eq!(&shown, want, "print columns of {}", names.kind);
    }
}

#[test]
fn crds_carry_the_immutability_and_size_rules() {
    let yaml = api::crds_yaml().unwrap();
    for rule in [
        "has(self.sql) != has(self.sqlFrom)",
        "sql is immutable",
        "sqlFrom is immutable",
        "instanceRef is immutable",
        "projectRef is immutable",
        "version is immutable",
        "an Approval is immutable",
        "maxLength: 262144",
        "x-kubernetes-list-type: map",
    ] {
        assert!(yaml.contains(rule), "CRDs lack {rule:?}");
    }
}

#[test]
fn kustomize_default_installs_every_kind_securely() {
    let docs = kubectl_kustomize("config/default");
    let kinds: BTreeSet<&str> = of_kind(&docs, "CustomResourceDefinition")
        .iter()
        .map(|d| d["spec"]["names"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["Approval", "DatabaseInstance", "Project", "SchemaChange"])
    );
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    ] {
        assert!(
            !of_kind(&docs, kind).is_empty(),
            "config/default lacks a {kind}"
        );
    }
    let deployment = of_kind(&docs, "Deployment")[0];
    assert_restricted_pod(&deployment["spec"]["template"]["spec"]);
    assert_least_privilege(&of_kind(&docs, "ClusterRole")[0]["rules"]);
}

fn assert_restricted_pod(pod: &Value) {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    let sc = &container["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
}

fn assert_least_privilege(rules: &Value) {
    for rule in rules.as_array().unwrap() {
        let all = |field: &str| {
            rule[field]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert!(
            !all("verbs").contains(&"*".to_owned()) && !all("resources").contains(&"*".to_owned()),
            "wildcard in {rule}"
        );
        if all("resources").contains(&"secrets".to_owned()) {
            assert_eq!(
                all("verbs"),
                ["get"],
                "Secrets must be readable by name only"
            );
        }
        if all("apiGroups").contains(&"schemagate.io".to_owned()) {
            for verb in ["create", "delete", "deletecollection"] {
                assert!(
                    !all("verbs").contains(&verb.to_owned()),
                    "operator must not {verb} its own kinds: {rule}"
                );
            }
        }
    }
}

/// Normalised rules: sorted (apiGroups, resources, verbs) triples.
/// (apiGroup, resource, verb, resourceName or "*") of every rule.
fn rule_set(rules: &Value) -> BTreeSet<(String, String, String, String)> {
    let mut set = BTreeSet::new();
    for rule in rules.as_array().unwrap() {
        let names: Vec<String> = rule["resourceNames"].as_array().map_or_else(
            || vec!["*".to_owned()],
            |n| n.iter().map(|n| n.as_str().unwrap().to_owned()).collect(),
        );
        for g in rule["apiGroups"].as_array().unwrap() {
            for r in rule["resources"].as_array().unwrap() {
                for v in rule["verbs"].as_array().unwrap() {
                    for n in &names {
                        set.insert((
                            g.as_str().unwrap().into(),
                            r.as_str().unwrap().into(),
                            v.as_str().unwrap().into(),
                            n.clone(),
                        ));
                    }
                }
            }
        }
    }
    set
}

/// Rules of every object of `kind`, by name.
fn rules_by_name(
    docs: &[Value],
    kind: &str,
) -> BTreeMap<String, BTreeSet<(String, String, String, String)>> {
    of_kind(docs, kind)
        .into_iter()
        .map(|r| {
            (
                r["metadata"]["name"].as_str().unwrap().to_owned(),
                rule_set(&r["rules"]),
            )
        })
        .collect()
}

#[test]
fn samples_are_valid_objects_of_each_kind() {
    let docs = kubectl_kustomize("config/samples");
    for doc in &docs {
        assert_eq!(
            doc["metadata"]["namespace"]
                .as_str()
                .unwrap_or("team-payments"),
            "team-payments"
        );
    }
    let one = |kind: &str| -> Value {
        let found = of_kind(&docs, kind);
        assert_eq!(found.len(), 1, "samples should hold one {kind}");
        found[0].clone()
    };
    assert!(one("Secret")["stringData"]["password"].is_string());
    let instance: api::DatabaseInstance = serde_json::from_value(one("DatabaseInstance")).unwrap();
    let project: api::Project = serde_json::from_value(one("Project")).unwrap();
    let change: api::SchemaChange = serde_json::from_value(one("SchemaChange")).unwrap();
    let approval: api::Approval = serde_json::from_value(one("Approval")).unwrap();
    assert_eq!(
        instance.spec.credentials_secret_ref.unwrap().name,
        one("Secret")["metadata"]["name"]
    );
    assert!(project.spec.instances.contains(&change.spec.instance_ref));
    assert_eq!(change.spec.project_ref, project.metadata.name.unwrap());
    assert_eq!(
        approval.spec.schema_change_ref,
        change.metadata.name.unwrap()
    );
    let digest = hex::encode(Sha256::digest(change.spec.sql.unwrap().as_bytes()));
    assert_eq!(
        approval.spec.sql_digest, digest,
        "the sample Approval must quote the sample change's digest"
    );
}

/// The real `helm` CLI (built from helm.sh/helm/v3, pinned in tests/kube/helm/go.mod) with its
/// state in a temporary directory.
fn helm(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(go_tools::path("helm"))
        .args(args)
        .env("HELM_CONFIG_HOME", dir.join("config"))
        .env("HELM_CACHE_HOME", dir.join("cache"))
        .env("HELM_DATA_HOME", dir.join("data"))
        .current_dir(repo())
        .output()
        .unwrap()
}

fn helm_ok(dir: &Path, args: &[&str]) -> String {
    let out = helm(dir, args);
    assert!(
        out.status.success(),
        "helm {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Rendered {
    docs: Vec<Value>,
    crds: Vec<Value>,
}

/// `helm lint --strict`, `helm template` and `helm show crds` of the chart with `values`.
fn helm_render(values: Option<Value>) -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let mut extra = Vec::new();
    if let Some(v) = values {
        let file = dir.path().join("values.json");
        std::fs::write(&file, v.to_string()).unwrap();
        extra = vec!["--values".to_owned(), file.to_str().unwrap().to_owned()];
    }
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let chart = "helm/schemagate";
    // --strict fails on warnings; an INFO (no icon) is fine.
    let mut lint = vec![
        "lint",
        "--strict",
        chart,
        "--namespace",
        "schemagate-system",
    ];
    lint.extend(&extra);
    let lint_out = helm_ok(dir.path(), &lint);
    assert!(
        !lint_out.contains("[WARNING]") && !lint_out.contains("[ERROR]"),
        "helm lint: {lint_out}"
    );
    let mut template = vec![
        "template",
        "schemagate",
        chart,
        "--namespace",
        "schemagate-system",
    ];
    template.extend(&extra);
    let manifests = helm_ok(dir.path(), &template);
    let crds = helm_ok(dir.path(), &["show", "crds", chart]);
    Rendered {
        docs: yaml_docs(&manifests),
        crds: yaml_docs(&crds),
    }
}

#[test]
fn helm_chart_renders_lints_and_agrees_with_kustomize() {
    let rendered = helm_render(None);
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "Service",
    ] {
        assert!(
            !of_kind(&rendered.docs, kind).is_empty(),
            "chart lacks a {kind}"
        );
    }
    assert_restricted_pod(&of_kind(&rendered.docs, "Deployment")[0]["spec"]["template"]["spec"]);

    // The chart's CRDs are exactly the generated ones.
    let generated: Vec<Value> = api::crds()
        .iter()
        .map(|c| serde_json::to_value(c).unwrap())
        .collect();
    let mut chart_crds = rendered.crds.clone();
    chart_crds.sort_by_key(|c| c["metadata"]["name"].as_str().unwrap().to_owned());
    let mut want = generated;
    want.sort_by_key(|c| c["metadata"]["name"].as_str().unwrap().to_owned());
    assert_eq!(chart_crds, want);

    // RBAC agrees with config/rbac (release `schemagate`: the same names).
    let kustomize = kubectl_kustomize("config/default");
    for kind in ["ClusterRole", "Role"] {
        assert_eq!(
            rules_by_name(&rendered.docs, kind),
            rules_by_name(&kustomize, kind),
            "{kind}s of the chart and config/rbac differ"
        );
    }
    assert!(rules_by_name(&kustomize, "ClusterRole").contains_key("schemagate-webhook"));

    // The webhooks, their Service and the operator's flags agree with config/webhook.
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        let hooks = |docs: &[Value]| {
            let found = of_kind(docs, kind);
            assert_eq!(found.len(), 1, "one {kind}");
            (
                found[0]["metadata"]["name"].clone(),
                found[0]["webhooks"].clone(),
            )
        };
        assert_eq!(hooks(&rendered.docs), hooks(&kustomize), "{kind}");
    }
    assert_eq!(service_ports(&rendered.docs), service_ports(&kustomize));
    assert_eq!(container(&rendered.docs), container(&kustomize));

    // Both make SchemaChange specs read-only to the operator's ServiceAccount (RBAC's `patch`
    // for the finalizer cannot), with the same policy; and both admit edits that amount to
    // approving only from approvers, with the same policy.
    let named = |docs: &[Value], suffix: &str| -> Value {
        let found: Vec<&Value> = of_kind(docs, "ValidatingAdmissionPolicy")
            .into_iter()
            .filter(|p| p["metadata"]["name"].as_str().unwrap().ends_with(suffix))
            .collect();
        assert_eq!(found.len(), 1, "one {suffix} policy");
        let binding: Vec<&Value> = of_kind(docs, "ValidatingAdmissionPolicyBinding")
            .into_iter()
            .filter(|b| b["spec"]["policyName"] == found[0]["metadata"]["name"])
            .collect();
        assert_eq!(binding.len(), 1, "one binding of the {suffix} policy");
        assert_eq!(
            binding[0]["spec"]["validationActions"],
            serde_json::json!(["Deny"])
        );
        found[0]["spec"].clone()
    };
    assert_eq!(
        of_kind(&rendered.docs, "ValidatingAdmissionPolicy").len(),
        2,
        "the chart's policies (chat approvals off)"
    );
    assert_eq!(
        named(&rendered.docs, "-approver-only-edits"),
        named(&kustomize, "-approver-only-edits")
    );
    let policy = |docs: &[Value]| {
        let spec = named(docs, "-operator-spec-read-only");
        (
            spec["matchConstraints"].clone(),
            spec["validations"].clone(),
            spec["matchConditions"][0]["expression"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    let (chart_match, chart_validations, chart_user) = policy(&rendered.docs);
    let (kust_match, kust_validations, kust_user) = policy(&kustomize);
    assert_eq!(chart_match, kust_match);
    assert_eq!(chart_validations, kust_validations);
    assert!(
        chart_user.contains("system:serviceaccount:schemagate-system:schemagate\""),
        "{chart_user}"
    );
    assert!(
        kust_user.contains("system:serviceaccount:schemagate-system:schemagate\""),
        "{kust_user}"
    );
}

#[test]
fn helm_watch_namespaces_get_roles_instead_of_a_cluster_role() {
    let rendered = helm_render(Some(
        serde_json::json!({"watchNamespaces": ["team-a", "team-b"]}),
    ));
    // Only the webhooks' ClusterRole (SubjectAccessReviews, its own configurations) is
    // cluster-wide.
    let cluster_roles: Vec<&str> = of_kind(&rendered.docs, "ClusterRole")
        .iter()
        .map(|r| r["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(cluster_roles, ["schemagate-webhook"]);
    // ... and the webhooks see only the watched namespaces.
    for config in of_kind(&rendered.docs, "ValidatingWebhookConfiguration") {
        for hook in config["webhooks"].as_array().unwrap() {
            assert_eq!(
                hook["namespaceSelector"]["matchExpressions"][0]["values"],
                serde_json::json!(["team-a", "team-b"])
            );
        }
    }
    let namespaces: BTreeSet<&str> = of_kind(&rendered.docs, "RoleBinding")
        .iter()
        .map(|r| r["metadata"]["namespace"].as_str().unwrap())
        .collect();
    assert_eq!(
        namespaces,
        BTreeSet::from(["schemagate-system", "team-a", "team-b"])
    );
    let deployment = of_kind(&rendered.docs, "Deployment")[0];
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap();
    assert!(
        env.iter()
            .any(|e| e["name"] == "SCHEMAGATE_WATCH_NAMESPACES" && e["value"] == "team-a,team-b")
    );
}

/// Ports of every Service, by name.
fn service_ports(docs: &[Value]) -> BTreeMap<String, Value> {
    of_kind(docs, "Service")
        .into_iter()
        .map(|s| {
            (
                s["metadata"]["name"].as_str().unwrap().to_owned(),
                s["spec"]["ports"].clone(),
            )
        })
        .collect()
}

/// The operator container's arguments and ports.
fn container(docs: &[Value]) -> (Value, Value) {
    let c = &of_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0];
    (c["args"].clone(), c["ports"].clone())
}

fn operator_args(docs: &[Value]) -> Vec<String> {
    of_kind(docs, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// `webhook.certManager.enabled`: a Certificate from a self-signed Issuer, mounted into the pod,
/// `caBundle` injected by cert-manager; the operator neither writes the Secret nor the
/// configurations.
#[test]
fn helm_webhook_certificate_from_cert_manager() {
    let rendered = helm_render(Some(
        serde_json::json!({"webhook": {"certManager": {"enabled": true}}}),
    ));
    let cert = of_kind(&rendered.docs, "Certificate");
    assert_eq!(cert.len(), 1);
    assert_eq!(cert[0]["spec"]["secretName"], "schemagate-webhook-tls");
    assert_eq!(
        cert[0]["spec"]["dnsNames"][0],
        "schemagate-webhook.schemagate-system.svc"
    );
    assert_eq!(
        cert[0]["spec"]["issuerRef"]["name"],
        of_kind(&rendered.docs, "Issuer")[0]["metadata"]["name"]
    );
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        assert_eq!(
            of_kind(&rendered.docs, kind)[0]["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "schemagate-system/schemagate-webhook"
        );
    }
    let args = operator_args(&rendered.docs);
    assert!(args.contains(&"--webhook-cert-dir=/etc/schemagate/webhook-tls".to_owned()));
    assert!(
        !args
            .iter()
            .any(|a| a.starts_with("--webhook-configurations"))
    );
    let pod = &of_kind(&rendered.docs, "Deployment")[0]["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"][1]["secret"]["secretName"],
        "schemagate-webhook-tls"
    );
    let rules = rules_by_name(&rendered.docs, "ClusterRole");
    assert!(
        !rules["schemagate-webhook"]
            .iter()
            .any(|r| r.0 == "admissionregistration.k8s.io"),
        "{rules:?}"
    );
    assert!(
        of_kind(&rendered.docs, "Role")
            .iter()
            .all(|r| r["metadata"]["name"] != "schemagate-webhook-tls")
    );
    let issuer_ref = helm_render(Some(serde_json::json!({"webhook": {"certManager": {
        "enabled": true, "issuerRef": {"kind": "ClusterIssuer", "name": "corp-ca"}}}})));
    assert!(of_kind(&issuer_ref.docs, "Issuer").is_empty());
    assert_eq!(
        of_kind(&issuer_ref.docs, "Certificate")[0]["spec"]["issuerRef"]["name"],
        "corp-ca"
    );
}

/// `webhook.url` (the operator outside the cluster): the API server calls the URL, the
/// certificate names its host, and no webhook Service is made.
#[test]
fn helm_webhook_url_for_an_operator_outside_the_cluster() {
    let rendered = helm_render(Some(
        serde_json::json!({"webhook": {"url": "https://127.0.0.1:9555", "port": 9555}}),
    ));
    for kind in [
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
    ] {
        for hook in of_kind(&rendered.docs, kind)[0]["webhooks"]
            .as_array()
            .unwrap()
        {
            let url = hook["clientConfig"]["url"].as_str().unwrap();
            assert!(url.starts_with("https://127.0.0.1:9555/"), "{url}");
            assert!(hook["clientConfig"]["service"].is_null());
        }
    }
    let args = operator_args(&rendered.docs);
    assert!(
        args.contains(&"--webhook-cert-names=127.0.0.1".to_owned()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--webhook-addr=0.0.0.0:9555".to_owned()),
        "{args:?}"
    );
    assert!(
        of_kind(&rendered.docs, "Service")
            .iter()
            .all(|s| s["metadata"]["name"] != "schemagate-webhook")
    );
}

/// `helm template` with `--set value` must fail; its stderr.
fn helm_refusal(value: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = helm(
        dir.path(),
        &["template", "schemagate", "helm/schemagate", "--set", value],
    );
    assert!(!out.status.success(), "helm rendered with {value}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Turning the webhooks off while Approvals still need a recorded approver would install an
/// operator that never counts an Approval: the chart refuses to render.
#[test]
fn helm_refuses_webhooks_off_with_approver_identity_required() {
    let stderr = helm_refusal("webhook.enabled=false");
    assert!(
        stderr.contains("webhook.enabled=false needs webhook.approverIdentity=optional"),
        "{stderr}"
    );
    let rendered = helm_render(Some(serde_json::json!({"webhook": {
        "enabled": false, "approverIdentity": "optional"}})));
    assert!(of_kind(&rendered.docs, "ValidatingWebhookConfiguration").is_empty());
    assert_eq!(
        operator_args(&rendered.docs),
        [
            "run",
            "--http-addr",
            "0.0.0.0:8080",
            "--approver-identity=optional"
        ]
    );
}

/// `chatApprovals`: opt-in; the operator may then impersonate exactly the listed users and
/// groups (by resourceNames, never all), read only the chat Secret, and serve the callbacks
/// on a port and Service; config/chat says the same for kustomize.
#[test]
fn helm_chat_approvals_impersonate_only_the_listed_names() {
    let impersonation = |docs: &[Value]| -> BTreeSet<(String, String, String, String)> {
        ["ClusterRole", "Role"]
            .iter()
            .flat_map(|kind| rules_by_name(docs, kind).into_values().flatten())
            .filter(|(_, _, verb, _)| verb == "impersonate")
            .collect()
    };
    let off = helm_render(None);
    assert!(
        impersonation(&off.docs).is_empty(),
        "impersonation without chatApprovals"
    );
    assert!(!service_ports(&off.docs).contains_key("schemagate-chat"));

    let rendered = helm_render(Some(serde_json::json!({"chatApprovals": {
        "enabled": true,
        "impersonate": {"users": ["alice@example.com"], "groups": ["dba"]}}})));
    let rule = |resource: &str, name: &str| {
        (
            "".to_owned(),
            resource.to_owned(),
            "impersonate".to_owned(),
            name.to_owned(),
        )
    };
    assert_eq!(
        impersonation(&rendered.docs),
        BTreeSet::from([rule("users", "alice@example.com"), rule("groups", "dba")])
    );
    let kustomize = kubectl_kustomize("config/chat");
    for kind in ["ClusterRole", "Role"] {
        assert_eq!(
            rules_by_name(&rendered.docs, kind),
            rules_by_name(&kustomize, kind),
            "{kind}"
        );
    }
    assert_eq!(
        rules_by_name(&rendered.docs, "Role")["schemagate-chat-keys"],
        BTreeSet::from([(
            "".to_owned(),
            "secrets".to_owned(),
            "get".to_owned(),
            "schemagate-chat".to_owned()
        )])
    );
    assert_eq!(service_ports(&rendered.docs), service_ports(&kustomize));
    assert_eq!(container(&rendered.docs), container(&kustomize));
    // The same policy guards chatIdentities in both (no webhook: the API server's CEL).
    let chat_policy = |docs: &[Value]| {
        let found: Vec<&Value> = of_kind(docs, "ValidatingAdmissionPolicy")
            .into_iter()
            .filter(|p| p["metadata"]["name"] == "schemagate-chat-identities")
            .collect();
        assert_eq!(found.len(), 1, "one chat-identities policy");
        found[0]["spec"].clone()
    };
    assert_eq!(chat_policy(&rendered.docs), chat_policy(&kustomize));
    assert_eq!(
        chat_policy(&kustomize)["matchConstraints"]["resourceRules"][0]["resources"],
        serde_json::json!(["projects"])
    );
    let args = operator_args(&rendered.docs);
    assert!(
        args.contains(&"--chat-addr=0.0.0.0:8090".to_owned()),
        "{args:?}"
    );
    assert!(
        args.contains(&"--chat-secret=schemagate-chat".to_owned()),
        "{args:?}"
    );
    for docs in [&rendered.docs, &kustomize] {
        assert_least_privilege(&of_kind(docs, "ClusterRole")[0]["rules"]);
    }

    // Without groups, no group may be impersonated; without users, the chart refuses (a rule
    // without resourceNames would allow impersonating anyone).
    let users_only = helm_render(Some(serde_json::json!({"chatApprovals": {
        "enabled": true, "impersonate": {"users": ["alice@example.com"]}}})));
    assert_eq!(
        impersonation(&users_only.docs),
        BTreeSet::from([rule("users", "alice@example.com")])
    );
    let stderr = helm_refusal("chatApprovals.enabled=true");
    assert!(
        stderr.contains("chatApprovals.enabled needs chatApprovals.impersonate.users"),
        "{stderr}"
    );
}

/// The webhook-free identity variant: the chart (`identityPolicies.enabled`, webhooks off)
/// renders the same MutatingAdmissionPolicies, ValidatingAdmissionPolicy and bindings as
/// `config/policy-identity` (which tests/e2e_identity_policy.rs runs on the real control plane).
#[test]
fn helm_identity_policies_agree_with_kustomize() {
    let off = helm_render(None);
    assert!(of_kind(&off.docs, "MutatingAdmissionPolicy").is_empty());
    let rendered = helm_render(Some(serde_json::json!({
        "identityPolicies": {"enabled": true},
        "webhook": {"enabled": false},
    })));
    assert!(of_kind(&rendered.docs, "MutatingWebhookConfiguration").is_empty());
    let kustomize = kubectl_kustomize("config/policy-identity");
    // Name → spec of every object of the variant; the chart's names carry the release name.
    let specs = |docs: &[Value]| -> BTreeMap<String, Value> {
        [
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingAdmissionPolicy",
        ]
        .iter()
        .flat_map(|kind| of_kind(docs, kind))
        .filter(|o| {
            let name = o["metadata"]["name"].as_str().unwrap();
            ["-stamp-approver", "-stamp-author", "-identity"]
                .iter()
                .any(|s| name.ends_with(s))
        })
        .map(|o| {
            (
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                ),
                o["spec"].clone(),
            )
        })
        .collect()
    };
    let (chart, kust) = (specs(&rendered.docs), specs(&kustomize));
    assert_eq!(chart.len(), 6, "{:?}", chart.keys());
    assert_eq!(chart, kust);
}
