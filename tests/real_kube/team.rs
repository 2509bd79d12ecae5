//! A namespace of the real control plane wired to a schemagate operator process with its
//! admission webhooks (registered by URL for that namespace only, the operator's own CA
//! published as `caBundle`), and the static users acting in it through kubectl: what the
//! identity tests share.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use super::{RealKube, kubectl_with, unique};

/// The operator process, killed when dropped.
pub struct Operator(Child);

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free local port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_operator(
    kubeconfig: &Path,
    ns: &str,
    port: u16,
    config: &str,
    log: &Path,
    extra: &[&str],
) -> Operator {
    // Appends, so a restarted operator's log follows the first one's.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Operator(
        Command::new(env!("CARGO_BIN_EXE_schemagate"))
            .args(["run", "--no-leader-election", "--http-addr", "127.0.0.1:0"])
            .args(["--lease-namespace", ns])
            .args(["--webhook-addr", &format!("127.0.0.1:{port}")])
            .args(["--webhook-cert-names", "127.0.0.1"])
            .args(["--webhook-configurations", config])
            .args(["--gitops-identity", "argocd"])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("SCHEMAGATE_WATCH_NAMESPACES", ns)
            .env("POD_NAME", "identity-operator")
            .env("RUST_LOG", "schemagate=debug,info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

/// Validating and mutating configurations for this test's namespace only (the control plane
/// is shared by the whole run), by URL, without caBundle: the operator publishes its CA.
fn webhook_configurations(name: &str, ns: &str, port: u16) -> String {
    let hook = |kind: &str, path: &str, resource: &str| {
        json!({
            "name": format!("{resource}.{kind}.schemagate.io"),
            "clientConfig": {"url": format!("https://127.0.0.1:{port}{path}")},
            "rules": [{
                "apiGroups": ["schemagate.io"], "apiVersions": ["v1alpha1"],
                "operations": ["CREATE", "UPDATE"], "resources": [resource], "scope": "Namespaced"
            }],
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
            "failurePolicy": "Fail",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 10
        })
    };
    let mut mutating = vec![
        hook("mutate", "/mutate/approvals", "approvals"),
        hook("mutate", "/mutate/schemachanges", "schemachanges"),
    ];
    for h in &mut mutating {
        h["reinvocationPolicy"] = json!("Never");
    }
    let validating = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            hook("validate", "/validate/approvals", "approvals"),
            hook("validate", "/validate/schemachanges", "schemachanges"),
        ]
    });
    let mutating = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": mutating
    });
    json!({"apiVersion": "v1", "kind": "List", "items": [validating, mutating]}).to_string()
}

/// alice and dave (group dba) may approve; bob and carol (developers) and argocd (gitops)
/// may write changes; a ServiceAccount `bot` has the approver role.
fn rbac(ns: &str) -> String {
    format!(
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: change-author, namespace: {ns}}}
rules:
- apiGroups: [schemagate.io]
  resources: [schemachanges, approvals, projects, databaseinstances]
  verbs: [get, list, watch, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: change-approver, namespace: {ns}}}
rules:
- apiGroups: [schemagate.io]
  resources: [schemachanges]
  verbs: [get, list, watch, approve]
- apiGroups: [schemagate.io]
  resources: [approvals]
  verbs: [get, list, watch, create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: developers, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: change-author}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: developers}}
- {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: gitops}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: dbas, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: change-approver}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: dba}}
- {{kind: ServiceAccount, name: bot, namespace: {ns}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: bot, namespace: {ns}}}
"#
    )
}

/// A namespace with the webhooks registered for an operator on `port`.
pub struct Team {
    pub kube: RealKube,
    pub ns: String,
    pub admin: Client,
    /// Kubeconfig of the ServiceAccount `bot`, once made ([`Team::bot_kubeconfig`]).
    pub sa_kubeconfig: Option<PathBuf>,
    /// Name of the webhook configurations.
    pub config: String,
    /// Port of the operator's webhook server.
    pub port: u16,
    /// Where the operator writes its log.
    pub log: PathBuf,
    home: tempfile::TempDir,
}

impl Team {
    /// CRDs, a fresh namespace named after `prefix`, the RBAC of [`rbac`] and the webhook
    /// configurations; no operator yet.
    pub async fn new(prefix: &str) -> Self {
        let kube = RealKube::get();
        let admin = kube.client("admin").await;
        let crds_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
        let crds = crds_dir.to_str().unwrap();
        kube.kubectl(
            "admin",
            &["apply", "--server-side", "--force-conflicts", "-f", crds],
            None,
        )
        .unwrap();
        kube.kubectl(
            "admin",
            &[
                "wait",
                "--for=condition=Established",
                "crd",
                "--all",
                "--timeout=60s",
            ],
            None,
        )
        .unwrap();
        let ns = unique(prefix);
        kube.kubectl("admin", &["create", "namespace", &ns], None)
            .unwrap();
        kube.kubectl("admin", &["apply", "-f", "-"], Some(&rbac(&ns)))
            .unwrap();
        let port = free_port();
        let config = format!("schemagate-{ns}");
        kube.kubectl(
            "admin",
            &["apply", "-f", "-"],
            Some(&webhook_configurations(&config, &ns, port)),
        )
        .unwrap();
        let home = tempfile::tempdir().unwrap();
        let log = home.path().join("operator.log");
        Self {
            kube,
            ns,
            admin,
            sa_kubeconfig: None,
            config,
            port,
            log,
            home,
        }
    }

    /// A kubeconfig with a token of the ServiceAccount `bot`; `as_user("bot", …)` uses it.
    pub fn bot_kubeconfig(&mut self) {
        let token = self
            .kube
            .kubectl(
                "admin",
                &["create", "token", "bot", "-n", &self.ns, "--duration=1h"],
                None,
            )
            .unwrap();
        let path = self.home.path().join("bot.kubeconfig");
        self.kube.write_token_kubeconfig(&path, "bot", token.trim());
        self.sa_kubeconfig = Some(path);
    }

    /// Starts the operator as admin with `extra` arguments, and waits until it published its CA.
    pub async fn start_operator(&self, extra: &[&str]) -> Operator {
        let operator = start_operator(
            &self.kube.kubeconfig("admin"),
            &self.ns,
            self.port,
            &self.config,
            &self.log,
            extra,
        );
        let vwcs: Api<ValidatingWebhookConfiguration> = Api::all(self.admin.clone());
        for _ in 0..300 {
            let vwc = vwcs.get(&self.config).await.unwrap();
            if vwc
                .webhooks
                .unwrap_or_default()
                .iter()
                .all(|w| w.client_config.ca_bundle.is_some())
            {
                return operator;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("caBundle never published:\n{}", self.logs());
    }

    /// A fresh PostgreSQL database as the DatabaseInstance `pg` (and its credentials Secret).
    pub fn database(&self) -> crate::e2e_support::PgTarget {
        let pg = crate::e2e_support::PgTarget::fresh().unwrap();
        let base = pg.base_manifests("pw");
        let base: Vec<&str> = base.split("---\n").collect();
        self.as_user(
            "admin",
            &["apply", "-f", "-"],
            Some(&format!("{}---\n{}", base[0], base[1])),
        )
        .unwrap();
        pg
    }

    /// Waits until the change `name` is Applied; the users of the Approvals that counted.
    pub async fn applied_approvers(&self, name: &str) -> Vec<String> {
        let applied = self.wait_phase(name, "Applied").await;
        applied["status"]["approval"]["approvals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["user"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The operator's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Installs the admission policies in `file` (a path in the repository) as shipped, with
    /// every binding renamed and limited to this namespace: the control plane is shared by the
    /// other tests.
    pub fn install_policies(&self, file: &str) {
        use serde::Deserialize as _;
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        let mut items = Vec::new();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let mut object = Value::deserialize(doc).unwrap();
            if object["kind"].as_str().unwrap().ends_with("PolicyBinding") {
                let name = format!(
                    "{}-{}",
                    self.ns,
                    object["metadata"]["name"].as_str().unwrap()
                );
                object["metadata"]["name"] = json!(name);
                object["spec"]["matchResources"] = json!({"namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": self.ns}}});
            }
            items.push(object);
        }
        let list = json!({"apiVersion": "v1", "kind": "List", "items": items}).to_string();
        self.kube
            .kubectl("admin", &["apply", "-f", "-"], Some(&list))
            .unwrap();
    }

    /// Removes the webhook configurations (the control plane is shared by the run).
    pub fn remove_webhooks(&self) {
        self.kube
            .kubectl(
                "admin",
                &[
                    "delete",
                    "validatingwebhookconfiguration,mutatingwebhookconfiguration",
                    &self.config,
                ],
                None,
            )
            .unwrap();
    }

    pub fn as_user(
        &self,
        user: &str,
        args: &[&str],
        stdin: Option<&str>,
    ) -> anyhow::Result<String> {
        let path = if user == "bot" {
            self.sa_kubeconfig.clone().expect("bot_kubeconfig() first")
        } else {
            self.kube.kubeconfig(user)
        };
        let mut full = vec!["-n", self.ns.as_str()];
        full.extend(args);
        kubectl_with(&path, &full, stdin)
    }

    pub fn create(&self, user: &str, manifest: &str) -> anyhow::Result<String> {
        self.as_user(user, &["create", "-f", "-"], Some(manifest))
    }

    pub fn denied(&self, user: &str, manifest: &str, expected: &[&str]) {
        let err = self
            .create(user, manifest)
            .expect_err("the webhook let it through")
            .to_string();
        assert!(err.contains("denied the request"), "{user}: {err}");
        for part in expected {
            assert!(err.contains(part), "{user}: expected {part:?} in {err}");
        }
    }

    pub fn api(&self, kind: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("schemagate.io", "v1alpha1", kind);
        Api::namespaced_with(self.admin.clone(), &self.ns, &ApiResource::from_gvk(&gvk))
    }

    pub async fn get(&self, kind: &str, name: &str) -> Value {
        serde_json::to_value(self.api(kind).get(name).await.unwrap()).unwrap()
    }

    pub async fn wait_phase(&self, name: &str, phase: &str) -> Value {
        for _ in 0..600 {
            let change = self.get("SchemaChange", name).await;
            if change["status"]["phase"] == phase {
                return change;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{name} never reached {phase}: {:#}",
            self.get("SchemaChange", name).await["status"]
        );
    }
}
