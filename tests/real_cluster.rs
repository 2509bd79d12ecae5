//! The install, against the upstream kube-apiserver (tests/kube): the CRDs with every CEL rule
//! accepted and enforced by the server, the Helm chart (`helm install`) and `kustomize
//! config/default` (`kubectl apply -k`) installed for real, and `schemagate run` outside the
//! cluster with a token of the chart's own ServiceAccount (TokenRequest) and the installed
//! Deployment's arguments: its RBAC is enough for a whole lifecycle, its admission webhooks
//! (registered by the chart with `webhook.url`, since the operator is not in a pod here, `caBundle`
//! published by the operator) stamp the approver and refuse forged ones, and no more. The CEL cases also run against the emulator, which must agree.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;
mod go_tools;
mod real_kube;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e_support::{PgTarget, Reviewed, approval, change};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use real_kube::{RealKube, kubectl_with, unique};
use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dynamic(client: &Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk("schemagate.io", "v1alpha1", kind);
    Api::namespaced_with(client.clone(), ns, &ApiResource::from_gvk(&gvk))
}

fn obj(value: Value) -> DynamicObject {
    serde_json::from_value(value).unwrap()
}

async fn create_namespace(client: &Client, name: &str) {
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
    )
    .await
    .unwrap();
}

/// Creates the CRDs unless they exist, and waits until they are Established.
async fn ensure_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in schemagate::api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        match crds.create(&PostParams::default(), &crd).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => panic!("{e}"),
        }
        let established = kube::runtime::wait::conditions::is_crd_established();
        tokio::time::timeout(
            Duration::from_secs(30),
            kube::runtime::wait::await_condition(crds.clone(), &name, established),
        )
        .await
        .unwrap()
        .unwrap();
    }
}

/// Counts the CEL rules anywhere in a schema.
fn cel_rules(schema: &Value) -> usize {
    match schema {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                if k == "x-kubernetes-validations" {
                    v.as_array().map_or(0, Vec::len)
                } else {
                    cel_rules(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter().map(cel_rules).sum(),
        _ => 0,
    }
}

/// The CRDs are applied without a warning, become Established, and keep every CEL rule (the
/// server refuses a CRD whose rules do not compile or exceed the cost budget).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crds_are_accepted_with_every_cel_rule() {
    let kube = RealKube::get();
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kube.kubeconfig("admin"))
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=schemagate-tests",
            "-f",
            "crds/",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl apply -f crds/: {stderr}");
    assert!(
        !stderr.contains("Warning"),
        "the API server warns about the CRDs: {stderr}"
    );
    let client = kube.client("admin").await;
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for crd in schemagate::api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        let established = kube::runtime::wait::conditions::is_crd_established();
        tokio::time::timeout(
            Duration::from_secs(30),
            kube::runtime::wait::await_condition(crds.clone(), &name, established),
        )
        .await
        .unwrap()
        .unwrap();
        let stored = serde_json::to_value(crds.get(&name).await.unwrap()).unwrap();
        let generated = serde_json::to_value(&crd).unwrap();
        let want = cel_rules(&generated["spec"]["versions"]);
        assert_eq!(
            cel_rules(&stored["spec"]["versions"]),
            want,
            "{name}: the server kept a different number of CEL rules"
        );
        if name.starts_with("schemachanges.") || name.starts_with("approvals.") {
            assert!(want > 0, "{name} has no CEL rules");
        }
    }
}

/// One request against the CEL rules and the outcome the API server gives.
struct Case {
    what: &'static str,
    kind: &'static str,
    /// Created first (in a fresh namespace), if any.
    existing: Option<Value>,
    /// Created (when `existing` is None) or merge-patched onto `existing`.
    request: Value,
    /// None: accepted; Some(text): refused with 422 and a message containing text.
    refused: Option<&'static str>,
}

fn sc(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "schemagate.io/v1alpha1", "kind": "SchemaChange",
           "metadata": {"name": name}, "spec": spec})
}

fn sc_spec(extra: Value) -> Value {
    let mut spec = json!({"projectRef": "p", "instanceRef": "i", "version": "1"});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    spec
}

fn cases() -> Vec<Case> {
    let sql = json!({"sql": "CREATE TABLE t (id int PRIMARY KEY);"});
    let from = json!({"sqlFrom": {"configMapKeyRef": {"name": "m", "key": "up.sql"}}});
    let existing = Some(sc("c", sc_spec(sql.clone())));
    let patch = |spec: Value| json!({"spec": spec});
    let appr = json!({"apiVersion": "schemagate.io/v1alpha1", "kind": "Approval",
        "metadata": {"name": "a"},
        "spec": {"schemaChangeRef": "c", "sqlDigest": "0".repeat(64), "decision": "approve"}});
    let instance = |spec: Value| {
        json!({"apiVersion": "schemagate.io/v1alpha1", "kind": "DatabaseInstance",
               "metadata": {"name": "db"}, "spec": spec})
    };
    vec![
        Case {
            what: "create with sql",
            kind: "SchemaChange",
            existing: None,
            request: sc("c", sc_spec(sql.clone())),
            refused: None,
        },
        Case {
            what: "create with neither sql nor sqlFrom",
            kind: "SchemaChange",
            existing: None,
            request: sc("c", sc_spec(json!({}))),
            refused: Some("exactly one of sql and sqlFrom must be set"),
        },
        Case {
            what: "create with both sql and sqlFrom",
            kind: "SchemaChange",
            existing: None,
            request: sc(
                "c",
                sc_spec(json!({"sql": "SELECT 1;", "sqlFrom": from["sqlFrom"]})),
            ),
            refused: Some("exactly one of sql and sqlFrom must be set"),
        },
        Case {
            what: "create with sql over 256 KiB",
            kind: "SchemaChange",
            existing: None,
            request: sc("c", sc_spec(json!({"sql": "-".repeat(262_145)}))),
            refused: Some("262144"),
        },
        Case {
            what: "edit the description",
            kind: "SchemaChange",
            existing: existing.clone(),
            request: patch(json!({"description": "clarified"})),
            refused: None,
        },
        Case {
            what: "edit spec.sql",
            kind: "SchemaChange",
            existing: existing.clone(),
            request: patch(json!({"sql": "DROP TABLE t;"})),
            refused: Some("sql is immutable"),
        },
        Case {
            what: "edit spec.version",
            kind: "SchemaChange",
            existing: existing.clone(),
            request: patch(json!({"version": "2"})),
            refused: Some("version is immutable"),
        },
        Case {
            what: "edit spec.instanceRef",
            kind: "SchemaChange",
            existing: existing.clone(),
            request: patch(json!({"instanceRef": "other"})),
            refused: Some("instanceRef is immutable"),
        },
        Case {
            what: "edit spec.projectRef",
            kind: "SchemaChange",
            existing: existing.clone(),
            request: patch(json!({"projectRef": "other"})),
            refused: Some("projectRef is immutable"),
        },
        Case {
            what: "switch from sql to sqlFrom",
            kind: "SchemaChange",
            existing: existing.clone(),
            request: patch(json!({"sql": null, "sqlFrom": from["sqlFrom"]})),
            refused: Some("sql and sqlFrom are immutable"),
        },
        Case {
            what: "edit spec.sqlFrom",
            kind: "SchemaChange",
            existing: Some(sc("c", sc_spec(from.clone()))),
            request: patch(
                json!({"sqlFrom": {"configMapKeyRef": {"name": "m", "key": "other.sql"}}}),
            ),
            refused: Some("sqlFrom is immutable"),
        },
        Case {
            what: "edit an Approval",
            kind: "Approval",
            existing: Some(appr.clone()),
            request: json!({"spec": {"decision": "reject"}}),
            refused: Some("an Approval is immutable"),
        },
        Case {
            what: "postgres instance without host",
            kind: "DatabaseInstance",
            existing: None,
            request: instance(json!({"engine": "postgres", "database": "d",
                "credentialsSecretRef": {"name": "s"}})),
            refused: Some("host is required for postgres and mysql"),
        },
        Case {
            what: "mysql instance without credentials",
            kind: "DatabaseInstance",
            existing: None,
            request: instance(json!({"engine": "mysql", "host": "h", "database": "d"})),
            refused: Some("credentialsSecretRef is required for postgres and mysql"),
        },
        Case {
            what: "sqlite instance without host or credentials",
            kind: "DatabaseInstance",
            existing: None,
            request: instance(json!({"engine": "sqlite", "database": "/tmp/x.db"})),
            refused: None,
        },
    ]
}

/// Runs one case in a fresh namespace; returns None when accepted, else (code, message).
async fn run_case(client: &Client, case: &Case) -> Option<(u16, String)> {
    let ns = unique("cel");
    create_namespace(client, &ns).await;
    let api = dynamic(client, &ns, case.kind);
    let result = match &case.existing {
        None => api
            .create(&PostParams::default(), &obj(case.request.clone()))
            .await
            .map(|_| ()),
        Some(existing) => {
            let created = api
                .create(&PostParams::default(), &obj(existing.clone()))
                .await
                .unwrap_or_else(|e| panic!("{}: creating the object: {e}", case.what));
            api.patch(
                &created.metadata.name.unwrap(),
                &PatchParams::default(),
                &Patch::Merge(&case.request),
            )
            .await
            .map(|_| ())
        }
    };
    match result {
        Ok(()) => None,
        Err(kube::Error::Api(s)) => Some((s.code, s.message)),
        Err(e) => panic!("{}: {e}", case.what),
    }
}

/// Every CEL rule is enforced by the real API server (an edit of spec.sql is refused by the
/// server, not by schemagate), and the emulator gives the same verdicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cel_rules_are_enforced_by_the_server_and_the_emulator_agrees() {
    let kube = RealKube::get();
    let real = kube.client("admin").await;
    ensure_crds(&real).await;
    let emu = kube_emulator::Emulator::start().await.unwrap();
    let emulated = emu.client().await.unwrap();
    let emu_crds: Api<CustomResourceDefinition> = Api::all(emulated.clone());
    for crd in schemagate::api::crds() {
        emu_crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let mut failures = Vec::new();
    for case in cases() {
        let got = run_case(&real, &case).await;
        match (&case.refused, &got) {
            (None, None) => {}
            (Some(text), Some((422, message))) if message.contains(text) => {}
            _ => failures.push(format!(
                "real API server, {}: expected {:?}, got {got:?}",
                case.what, case.refused
            )),
        }
        let on_emulator = run_case(&emulated, &case).await;
        match (&got, &on_emulator) {
            (None, None) => {}
            (Some((code, _)), Some((emu_code, emu_message)))
                if code == emu_code && case.refused.is_none_or(|t| emu_message.contains(t)) => {}
            _ => failures.push(format!(
                "emulator differs from the API server, {}: server {got:?}, emulator {on_emulator:?}",
                case.what
            )),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn helm(args: &[&str], kubeconfig: &Path, home: &Path) -> String {
    let out = Command::new(go_tools::path("helm"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "helm {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `schemagate run` as a child process with a kubeconfig and the arguments of the installed
/// Deployment's container (only `--http-addr` moved to a free local port), watching `ns`, its
/// namespace (Lease, webhook Secret) `pod_ns`.
struct Operator(Child);

impl Operator {
    fn start(kubeconfig: &Path, args: &[String], ns: &str, pod_ns: &str, log: &Path) -> Self {
        let log = std::fs::File::create(log).unwrap();
        let mut args = args.to_vec();
        if let Some(i) = args.iter().position(|a| a == "--http-addr") {
            args[i + 1] = "127.0.0.1:0".to_owned();
        }
        Self(
            Command::new(env!("CARGO_BIN_EXE_schemagate"))
                .args(&args)
                .env("KUBECONFIG", kubeconfig)
                .env("SCHEMAGATE_WATCH_NAMESPACES", ns)
                .env("POD_NAME", "schemagate-chart-sa")
                .env("POD_NAMESPACE", pod_ns)
                .env("RUST_LOG", "schemagate=debug,info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .unwrap(),
        )
    }
}

/// The container arguments of an installed Deployment.
fn deployment_args(kube: &RealKube, ns: &str, name: &str) -> Vec<String> {
    let deployment: Value = serde_json::from_str(
        &kube
            .kubectl(
                "admin",
                &["get", "deployment", name, "-n", ns, "-o", "json"],
                None,
            )
            .unwrap(),
    )
    .unwrap();
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Both webhook configurations named `name` carry, in every webhook, the CA of the operator's
/// Secret `secret` in `ns` (waits for the operator to publish it).
async fn assert_ca_bundle_published(kube: &RealKube, name: &str, ns: &str, secret: &str) {
    let published = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let ca = kube
                .kubectl(
                    "admin",
                    &[
                        "get",
                        "secret",
                        secret,
                        "-n",
                        ns,
                        "-o",
                        "jsonpath={.data.ca\\.crt}",
                    ],
                    None,
                )
                .unwrap_or_default();
            let mut bundles = Vec::new();
            for kind in [
                "validatingwebhookconfiguration",
                "mutatingwebhookconfiguration",
            ] {
                let out = kube
                    .kubectl(
                        "admin",
                        &[
                            "get",
                            kind,
                            name,
                            "-o",
                            "jsonpath={.webhooks[*].clientConfig.caBundle}",
                        ],
                        None,
                    )
                    .unwrap();
                bundles.extend(out.split_whitespace().map(str::to_owned));
            }
            if !ca.is_empty() && bundles.len() == 4 && bundles.iter().all(|b| *b == ca) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
    .await;
    assert!(
        published.is_ok(),
        "the operator did not publish the CA of Secret {ns}/{secret} into {name}"
    );
}
impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a token may and may not do in the watched namespace, by real requests.
async fn assert_least_privilege(token_client: &Client, ns: &str, change: &str, who: &str) {
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(token_client.clone(), ns);
    let forbidden = |r: Result<(), kube::Error>, what: &str| match r {
        Err(kube::Error::Api(s)) if s.code == 403 => {}
        other => panic!("{who}: {what} should be forbidden, got {other:?}"),
    };
    forbidden(
        secrets.list(&ListParams::default()).await.map(|_| ()),
        "listing Secrets",
    );
    let all_secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::all(token_client.clone());
    forbidden(
        all_secrets.list(&ListParams::default()).await.map(|_| ()),
        "listing Secrets in all namespaces",
    );
    forbidden(
        secrets
            .watch(&kube::api::WatchParams::default(), "0")
            .await
            .map(|_| ()),
        "watching Secrets",
    );
    let changes = dynamic(token_client, ns, "SchemaChange");
    // Metadata it may write (its `patch` is for its finalizer) ...
    changes
        .patch(
            change,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"seen-by": "operator"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("{who}: patching metadata: {e}"));
    // ... but not the spec: RBAC would allow this patch, the ValidatingAdmissionPolicy does not.
    forbidden(
        changes
            .patch(
                change,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"description": "edited by the operator"}})),
            )
            .await
            .map(|_| ()),
        "writing a SchemaChange spec",
    );
    forbidden(
        changes
            .replace(
                change,
                &PostParams::default(),
                &changes.get(change).await.unwrap(),
            )
            .await
            .map(|_| ()),
        "replacing a SchemaChange",
    );
    forbidden(
        changes
            .create(
                &PostParams::default(),
                &obj(sc("forged", sc_spec(json!({"sql": "SELECT 1;"})))),
            )
            .await
            .map(|_| ()),
        "creating a SchemaChange",
    );
    forbidden(
        changes
            .delete(change, &Default::default())
            .await
            .map(|_| ()),
        "deleting a SchemaChange",
    );
    let approvals = dynamic(token_client, ns, "Approval");
    forbidden(
        approvals
            .create(
                &PostParams::default(),
                &obj(
                    json!({"apiVersion": "schemagate.io/v1alpha1", "kind": "Approval",
                    "metadata": {"name": "self-approved"},
                    "spec": {"schemaChangeRef": change, "sqlDigest": "0".repeat(64),
                             "decision": "approve"}}),
                ),
            )
            .await
            .map(|_| ()),
        "creating an Approval",
    );
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(token_client.clone(), ns);
    forbidden(
        pods.list(&ListParams::default()).await.map(|_| ()),
        "listing Pods",
    );
}

/// Installs the chart with `values`, runs `schemagate run` with a token of the chart's
/// ServiceAccount, and takes a PostgreSQL change from review to Applied with it.
async fn chart_lifecycle(kube: &RealKube, watch_namespaces_value: bool) {
    let admin = kube.client("admin").await;
    let release_ns = unique("sg-rel");
    let team = unique("sg-team");
    create_namespace(&admin, &team).await;
    let release = unique("sgh");
    let home = tempfile::tempdir().unwrap();
    let mut args = vec![
        "install".to_owned(),
        release.clone(),
        "helm/schemagate".into(),
        "--namespace".into(),
        release_ns.clone(),
        "--create-namespace".into(),
    ];
    if watch_namespaces_value {
        args.extend(["--set".into(), format!("watchNamespaces={{{team}}}")]);
    } else {
        // The control plane is shared by the whole run: the webhooks see only this namespace.
        args.extend([
            "--set-json".into(),
            format!(
                r#"webhook.namespaceSelector={{"matchLabels":{{"kubernetes.io/metadata.name":"{team}"}}}}"#
            ),
        ]);
    }
    // The operator runs on this machine, not in a pod: the API server calls it by URL.
    let port = free_port();
    args.extend([
        "--set".into(),
        format!("webhook.url=https://127.0.0.1:{port}"),
        "--set".into(),
        format!("webhook.port={port}"),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    helm(&args, &kube.kubeconfig("admin"), home.path());
    let status = helm(
        &["status", &release, "--namespace", &release_ns, "-o", "json"],
        &kube.kubeconfig("admin"),
        home.path(),
    );
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["info"]["status"], "deployed", "{status:#}");

    // The Deployment is real: the deployment controller made a ReplicaSet for it.
    let full = format!("{release}-schemagate");
    let rs_seen = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let out = kube
                .kubectl(
                    "admin",
                    &[
                        "get",
                        "replicasets",
                        "-n",
                        &release_ns,
                        "-l",
                        &format!("app.kubernetes.io/instance={release}"),
                        "-o",
                        "name",
                    ],
                    None,
                )
                .unwrap();
            if !out.trim().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(rs_seen.is_ok(), "no ReplicaSet for the chart's Deployment");

    // A token of the chart's ServiceAccount, by TokenRequest.
    let token = kube
        .kubectl(
            "admin",
            &["create", "token", &full, "-n", &release_ns, "--duration=1h"],
            None,
        )
        .unwrap();
    let token = token.trim();
    let sa_kubeconfig = home.path().join("sa.kubeconfig");
    kube.write_token_kubeconfig(&sa_kubeconfig, "chart-sa", token);
    let whoami = kubectl_with(&sa_kubeconfig, &["auth", "whoami", "-o", "json"], None).unwrap();
    let whoami: Value = serde_json::from_str(&whoami).unwrap();
    assert_eq!(
        whoami["status"]["userInfo"]["username"],
        format!("system:serviceaccount:{release_ns}:{full}")
    );

    // The lifecycle, driven by admin (objects) and alice (the DBA's Approval).
    let pg = PgTarget::fresh().unwrap();
    let log = home.path().join("operator.log");
    let operator_args = deployment_args(kube, &release_ns, &full);
    assert!(
        operator_args.contains(&"--approver-identity=required".to_owned()),
        "{operator_args:?}"
    );
    let _operator = Operator::start(&sa_kubeconfig, &operator_args, &team, &release_ns, &log);
    let webhook = format!("{full}-webhook");
    assert_ca_bundle_published(kube, &webhook, &release_ns, &format!("{webhook}-tls")).await;
    let as_admin = |args: &[&str], stdin: Option<&str>| {
        let mut full_args = vec!["-n", team.as_str()];
        full_args.extend(args);
        kube.kubectl("admin", &full_args, stdin)
    };
    as_admin(&["apply", "-f", "-"], Some(&pg.base_manifests("pw"))).unwrap();
    as_admin(
        &["apply", "-f", "-"],
        Some(&change(
            "add-accounts",
            "1",
            "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);",
        )),
    )
    .unwrap();
    let wait = |what: &str, cond: &str| {
        as_admin(
            &["wait", what, &format!("--for={cond}"), "--timeout=90s"],
            None,
        )
    };
    if let Err(e) = wait(
        "schemachange/add-accounts",
        "jsonpath={.status.phase}=AwaitingApproval",
    ) {
        panic!(
            "{e}\noperator log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let held: Value = serde_json::from_str(
        &as_admin(&["get", "schemachange/add-accounts", "-o", "json"], None).unwrap(),
    )
    .unwrap();
    let reviewed = Reviewed::of(&held);

    // alice (group dba) may create Approvals and `approve` SchemaChanges in the team
    // namespace, nothing else.
    as_admin(
        &["apply", "-f", "-"],
        Some(
            r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approver}
rules:
- apiGroups: [schemagate.io]
  resources: [approvals]
  verbs: [create, get]
- apiGroups: [schemagate.io]
  resources: [schemachanges]
  verbs: [approve]
"#,
        ),
    )
    .unwrap();
    as_admin(
        &[
            "create",
            "rolebinding",
            "dba-approves",
            "--role=approver",
            "--group=dba",
        ],
        None,
    )
    .unwrap();
    // Through the installed webhooks: an Approval carrying a forged approver is refused even
    // to alice ...
    let forged = approval("forged", "add-accounts", &reviewed, "approve").replace(
        "  decision: approve",
        "  decision: approve\n  approver: {username: dave}",
    );
    assert!(forged.contains("approver: {username: dave}"), "{forged}");
    let refused = kube
        .kubectl("alice", &["-n", &team, "create", "-f", "-"], Some(&forged))
        .unwrap_err()
        .to_string();
    assert!(refused.contains("denied the request"), "{refused}");
    // ... carol, who may write Approvals but not `approve`, is refused by the
    // SubjectAccessReview ...
    as_admin(
        &[
            "create",
            "role",
            "approval-writer",
            "--verb=create",
            "--resource=approvals.schemagate.io",
        ],
        None,
    )
    .unwrap();
    as_admin(
        &[
            "create",
            "rolebinding",
            "carol-writes",
            "--role=approval-writer",
            "--user=carol",
        ],
        None,
    )
    .unwrap();
    let refused = kube
        .kubectl(
            "carol",
            &["-n", &team, "create", "-f", "-"],
            Some(&approval("by-carol", "add-accounts", &reviewed, "approve")),
        )
        .unwrap_err()
        .to_string();
    assert!(refused.contains("NotAllowedByRBAC"), "{refused}");
    // ... and alice's Approval is stamped with her identity and counts.
    kube.kubectl(
        "alice",
        &["-n", &team, "apply", "-f", "-"],
        Some(&approval("ok", "add-accounts", &reviewed, "approve")),
    )
    .unwrap();
    let stamped: Value =
        serde_json::from_str(&as_admin(&["get", "approval/ok", "-o", "json"], None).unwrap())
            .unwrap();
    assert_eq!(
        stamped["spec"]["approver"]["username"], "alice",
        "{stamped:#}"
    );
    if let Err(e) = wait("schemachange/add-accounts", "condition=Applied") {
        panic!(
            "{e}\noperator log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    assert_eq!(
        pg.psql("SELECT to_regclass('public.accounts') IS NOT NULL")
            .unwrap()
            .trim(),
        "t"
    );
    wait(
        "approval/ok",
        "jsonpath={.status.conditions[?(@.type==\"Accepted\")].reason}=Matched",
    )
    .unwrap();
    wait("databaseinstance/pg", "condition=Ready").unwrap();

    // A change whose SQL comes from a ConfigMap (read with `configmaps get`), approved, applied,
    // then deleted: the operator removes its finalizer (a metadata-only patch the policy allows).
    as_admin(
        &[
            "create",
            "configmap",
            "migration-2",
            "--from-literal=up.sql=CREATE INDEX idx_accounts_email ON accounts (email);",
        ],
        None,
    )
    .unwrap();
    as_admin(
        &["apply", "-f", "-"],
        Some(
            r#"apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: index-email
spec:
  projectRef: shop
  instanceRef: pg
  version: "2"
  sqlFrom:
    configMapKeyRef: {name: migration-2, key: up.sql}
"#,
        ),
    )
    .unwrap();
    if let Err(e) = wait(
        "schemachange/index-email",
        "jsonpath={.status.phase}=AwaitingApproval",
    ) {
        panic!(
            "{e}\noperator log:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let held: Value = serde_json::from_str(
        &as_admin(&["get", "schemachange/index-email", "-o", "json"], None).unwrap(),
    )
    .unwrap();
    assert!(
        held["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "the operator put its finalizer on the change: {held:#}"
    );
    let reviewed = Reviewed::of(&held);
    kube.kubectl(
        "alice",
        &["-n", &team, "apply", "-f", "-"],
        Some(&approval("ok-2", "index-email", &reviewed, "approve")),
    )
    .unwrap();
    wait("schemachange/index-email", "condition=Applied").unwrap();
    as_admin(
        &["delete", "schemachange/index-email", "--timeout=60s"],
        None,
    )
    .unwrap();

    // The operator holds its Lease in the release namespace.
    let lease: Value = serde_json::from_str(
        &kube
            .kubectl(
                "admin",
                &[
                    "get",
                    "lease",
                    "schemagate-leader",
                    "-n",
                    &release_ns,
                    "-o",
                    "json",
                ],
                None,
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "schemagate-chart-sa");
    // Events were recorded with the token.
    let events = as_admin(&["get", "events", "-o", "json"], None).unwrap();
    assert!(
        events.contains("add-accounts"),
        "no Events about the change: {events}"
    );

    // ... and no more than that.
    let token_client = real_kube::client_from(&sa_kubeconfig).await.unwrap();
    assert_least_privilege(&token_client, &team, "add-accounts", "chart ServiceAccount").await;
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let refused: Vec<&str> = log_text
        .lines()
        .filter(|l| l.to_lowercase().contains("forbidden"))
        .collect();
    assert!(
        refused.is_empty(),
        "the operator was refused something:\n{}",
        refused.join("\n")
    );
}

/// Default values: a ClusterRole bound to the chart's ServiceAccount.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn helm_chart_cluster_role_runs_the_lifecycle_and_no_more() {
    let kube = RealKube::get();
    chart_lifecycle(&kube, false).await;
}

/// `watchNamespaces`: a Role in each watched namespace instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn helm_chart_namespaced_roles_run_the_lifecycle_and_no_more() {
    let kube = RealKube::get();
    chart_lifecycle(&kube, true).await;
}

/// `to` as a path relative to the directory `from` (kustomize refuses absolute bases).
fn relative_from(from: &Path, to: &Path) -> String {
    let up = "../".repeat(from.components().count() - 1);
    format!("{up}{}", to.strip_prefix("/").unwrap().display())
}

/// `kubectl apply -k config/default` installs everything for real (server-side validation of
/// every object), and its ServiceAccount has exactly the chart's rights.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_config_default_installs_for_real() {
    let kube = RealKube::get();
    // config/default's webhooks fail closed in every namespace and no pod serves them here
    // (no kubelet), while the control plane is shared by the whole run: an overlay, as a user
    // would write one, limits them to a namespace of this test's own.
    let ns = unique("sg-kust");
    let hooked = unique("sg-kust-hooked");
    let overlay = tempfile::tempdir().unwrap();
    let selector = json!({"matchLabels": {"kubernetes.io/metadata.name": hooked}});
    let patch = |kind: &str| {
        let ops: Vec<Value> = (0..2)
            .map(|i| json!({"op": "add", "path": format!("/webhooks/{i}/namespaceSelector"), "value": selector}))
            .collect();
        json!({"target": {"kind": kind, "name": "schemagate-webhook"},
               "patch": Value::Array(ops).to_string()})
    };
    let kustomization = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [relative_from(overlay.path(), &repo().join("config/default"))],
        "patches": [patch("MutatingWebhookConfiguration"), patch("ValidatingWebhookConfiguration")],
    });
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        kustomization.to_string(),
    )
    .unwrap();
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kube.kubeconfig("admin"))
        .args([
            "apply",
            "--server-side",
            "--force-conflicts",
            "--field-manager=schemagate-kustomize-test",
            "-k",
        ])
        .arg(overlay.path())
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kubectl apply -k config/default: {stderr}"
    );
    assert!(!stderr.contains("Warning"), "{stderr}");
    for what in [
        "namespace/schemagate-system",
        "serviceaccount/schemagate",
        "deployment/schemagate",
        "service/schemagate-metrics",
        "service/schemagate-webhook",
        "validatingwebhookconfiguration/schemagate-webhook",
        "mutatingwebhookconfiguration/schemagate-webhook",
    ] {
        let (kind, name) = what.split_once('/').unwrap();
        let ns_args: &[&str] = if kind == "namespace" || kind.ends_with("webhookconfiguration") {
            &[]
        } else {
            &["-n", "schemagate-system"]
        };
        let mut args = vec!["get", kind, name, "-o", "name"];
        args.extend(ns_args);
        kube.kubectl("admin", &args, None)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
    let sa = "system:serviceaccount:schemagate-system:schemagate";
    for (verb, resource, allowed) in [
        ("list", "schemachanges.schemagate.io", true),
        ("watch", "approvals.schemagate.io", true),
        ("patch", "schemachanges.schemagate.io/status", true),
        ("get", "secrets", true),
        ("create", "configmaps", true),
        ("create", "events.events.k8s.io", true),
        ("list", "secrets", false),
        ("watch", "secrets", false),
        ("update", "schemachanges.schemagate.io", false),
        ("create", "schemachanges.schemagate.io", false),
        ("create", "approvals.schemagate.io", false),
        ("delete", "schemachanges.schemagate.io", false),
        ("create", "pods", false),
        ("create", "subjectaccessreviews.authorization.k8s.io", true),
        (
            "update",
            "validatingwebhookconfigurations/schemagate-webhook",
            true,
        ),
        (
            "patch",
            "mutatingwebhookconfigurations/schemagate-webhook",
            true,
        ),
        ("update", "validatingwebhookconfigurations/other", false),
        ("create", "validatingwebhookconfigurations", false),
    ] {
        let out = Command::new("kubectl")
            .env("KUBECONFIG", kube.kubeconfig("admin"))
            .args(["auth", "can-i", verb, resource, "-n", "default", "--as", sa])
            .output()
            .unwrap();
        let answer = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(
            answer == "yes",
            allowed,
            "kustomize ServiceAccount: can-i {verb} {resource} said {answer:?}"
        );
    }
    // Its own certificate Secret, by name, in its own namespace only.
    for (verb, resource, ns, allowed) in [
        ("create", "secrets", "schemagate-system", true),
        (
            "update",
            "secrets/schemagate-webhook-tls",
            "schemagate-system",
            true,
        ),
        ("update", "secrets/other", "schemagate-system", false),
        ("create", "secrets", "default", false),
        ("update", "secrets/schemagate-webhook-tls", "default", false),
    ] {
        let answer = kube
            .kubectl(
                "admin",
                &["auth", "can-i", verb, resource, "-n", ns, "--as", sa],
                None,
            )
            .unwrap_or_else(|e| e.to_string());
        assert_eq!(
            answer.trim() == "yes",
            allowed,
            "kustomize ServiceAccount: can-i {verb} {resource} -n {ns} said {answer:?}"
        );
    }
    // RBAC lets the ServiceAccount patch SchemaChanges (for the finalizer); the
    // ValidatingAdmissionPolicy keeps their spec out of its reach.
    ensure_crds(&kube.client("admin").await).await;
    create_namespace(&kube.client("admin").await, &ns).await;
    kube.kubectl(
        "admin",
        &["-n", &ns, "apply", "-f", "-"],
        Some(&change("c", "1", "CREATE TABLE t (id int PRIMARY KEY);")),
    )
    .unwrap();
    let patch_as_sa = |patch: &str| {
        kube.kubectl(
            "admin",
            &[
                "-n",
                &ns,
                "patch",
                "schemachange",
                "c",
                "--type=merge",
                "-p",
                patch,
                "--as",
                sa,
            ],
            None,
        )
    };
    let refused = patch_as_sa(r#"{"spec": {"description": "rewritten"}}"#).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("the schemagate operator may not change a SchemaChange's spec"),
        "{refused}"
    );
    patch_as_sa(r#"{"metadata": {"finalizers": ["schemagate.io/test"]}}"#).unwrap();
    patch_as_sa(r#"{"metadata": {"finalizers": null}}"#).unwrap();

    // The webhooks are registered and fail closed: with nothing serving them, no Approval can
    // be created where they apply.
    create_namespace(&kube.client("admin").await, &hooked).await;
    let refused = kube
        .kubectl(
            "admin",
            &["-n", &hooked, "create", "-f", "-"],
            Some(
                r#"{"apiVersion": "schemagate.io/v1alpha1", "kind": "Approval",
                    "metadata": {"name": "unserved"},
                    "spec": {"schemaChangeRef": "c", "sqlDigest": "0000000000000000000000000000000000000000000000000000000000000000",
                             "decision": "approve"}}"#,
            ),
        )
        .unwrap_err()
        .to_string();
    assert!(refused.contains("failed calling webhook"), "{refused}");

    // The Deployment is real: a ReplicaSet appears for it.
    let rs = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let out = kube
                .kubectl(
                    "admin",
                    &[
                        "get",
                        "replicasets",
                        "-n",
                        "schemagate-system",
                        "-o",
                        "name",
                    ],
                    None,
                )
                .unwrap();
            if !out.trim().is_empty() {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(rs.is_ok(), "no ReplicaSet for config/manager's Deployment");
}

/// Every static user exists with the documented groups, and RBAC applies to them: a developer
/// cannot approve without a binding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_users_authenticate_with_their_groups() {
    let kube = RealKube::get();
    ensure_crds(&kube.client("admin").await).await;
    for (user, group) in [
        ("admin", "system:masters"),
        ("alice", "dba"),
        ("bob", "developers"),
        ("carol", "developers"),
        ("argocd", "gitops"),
    ] {
        let out = kube
            .kubectl(user, &["auth", "whoami", "-o", "json"], None)
            .unwrap();
        let who: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(who["status"]["userInfo"]["username"], user);
        assert!(
            who["status"]["userInfo"]["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == group),
            "{user}: {who}"
        );
    }
    let err = kube
        .kubectl(
            "bob",
            &["get", "approvals.schemagate.io", "-n", "default"],
            None,
        )
        .unwrap_err();
    assert!(err.to_string().contains("Forbidden"), "{err}");
    let version = kube
        .kubectl("admin", &["get", "--raw", "/version"], None)
        .unwrap();
    let version: Value = serde_json::from_str(&version).unwrap();
    assert_eq!(version["gitVersion"], "v1.37.2");
}
