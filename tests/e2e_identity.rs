//! Who approved, on the real control plane (tests/kube) as its static users: the operator's
//! admission webhook (served by `schemagate run --webhook-addr`, registered by URL with the
//! operator's own CA published as `caBundle`) records authors and approvers from the API
//! request, and refuses self-approval, non-approvers, ServiceAccounts, forged approvers and
//! authors; two approvals must come from two people; with the webhook down nothing is approved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;
mod real_kube;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use e2e_support::{PgTarget, Reviewed};
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use real_kube::{RealKube, kubectl_with, unique};
use serde_json::{Value, json};

struct Operator(Child);

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_operator(kubeconfig: &Path, ns: &str, port: u16, config: &str, log: &Path) -> Operator {
    let log = std::fs::File::create(log).unwrap();
    Operator(
        Command::new(env!("CARGO_BIN_EXE_schemagate"))
            .args(["run", "--no-leader-election", "--http-addr", "127.0.0.1:0"])
            .args(["--lease-namespace", ns])
            .args(["--webhook-addr", &format!("127.0.0.1:{port}")])
            .args(["--webhook-cert-names", "127.0.0.1"])
            .args(["--webhook-configurations", config])
            .args(["--gitops-identity", "argocd"])
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

fn project(name: &str, required: u32) -> String {
    format!(
        r#"apiVersion: schemagate.io/v1alpha1
kind: Project
metadata: {{name: {name}}}
spec:
  instances: [pg]
  approval:
    approvers: {{groups: [dba]}}
    requiredApprovals: {required}
"#
    )
}

fn change(name: &str, project: &str, version: &str, table: &str, author: Option<&str>) -> String {
    let annotations = author.map_or(String::new(), |a| {
        format!("\n  annotations: {{schemagate.io/author: {a}}}")
    });
    format!(
        r#"apiVersion: schemagate.io/v1alpha1
kind: SchemaChange
metadata:
  name: {name}{annotations}
spec:
  projectRef: {project}
  instanceRef: pg
  version: "{version}"
  sql: "CREATE TABLE {table} (id bigint PRIMARY KEY);"
"#
    )
}

fn approval(name: &str, change: &str, reviewed: &Reviewed, extra: &str) -> String {
    format!(
        r#"apiVersion: schemagate.io/v1alpha1
kind: Approval
metadata: {{name: {name}}}
spec:
  schemaChangeRef: {change}
  schemaChangeUid: "{uid}"
  sqlDigest: "{digest}"
  decision: approve{extra}
"#,
        uid = reviewed.uid,
        digest = reviewed.digest
    )
}

struct Team {
    kube: RealKube,
    ns: String,
    admin: Client,
    sa_kubeconfig: std::path::PathBuf,
}

impl Team {
    fn as_user(&self, user: &str, args: &[&str], stdin: Option<&str>) -> anyhow::Result<String> {
        let path = if user == "bot" {
            self.sa_kubeconfig.clone()
        } else {
            self.kube.kubeconfig(user)
        };
        let mut full = vec!["-n", self.ns.as_str()];
        full.extend(args);
        kubectl_with(&path, &full, stdin)
    }

    fn create(&self, user: &str, manifest: &str) -> anyhow::Result<String> {
        self.as_user(user, &["create", "-f", "-"], Some(manifest))
    }

    fn denied(&self, user: &str, manifest: &str, expected: &[&str]) {
        let err = self
            .create(user, manifest)
            .expect_err("the webhook let it through")
            .to_string();
        assert!(err.contains("denied the request"), "{user}: {err}");
        for part in expected {
            assert!(err.contains(part), "{user}: expected {part:?} in {err}");
        }
    }

    fn api(&self, kind: &str) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("schemagate.io", "v1alpha1", kind);
        Api::namespaced_with(self.admin.clone(), &self.ns, &ApiResource::from_gvk(&gvk))
    }

    async fn get(&self, kind: &str, name: &str) -> Value {
        serde_json::to_value(self.api(kind).get(name).await.unwrap()).unwrap()
    }

    async fn wait_phase(&self, name: &str, phase: &str) -> Value {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvers_are_who_the_api_server_says_they_are() {
    let kube = RealKube::get();
    let admin = kube.client("admin").await;
    let crds_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    kube.kubectl(
        "admin",
        &[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            crds_dir.to_str().unwrap(),
        ],
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
    let ns = unique("ident");
    kube.kubectl("admin", &["create", "namespace", &ns], None)
        .unwrap();
    kube.kubectl("admin", &["apply", "-f", "-"], Some(&rbac(&ns)))
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let token = kube
        .kubectl(
            "admin",
            &["create", "token", "bot", "-n", &ns, "--duration=1h"],
            None,
        )
        .unwrap();
    let sa_kubeconfig = home.path().join("bot.kubeconfig");
    kube.write_token_kubeconfig(&sa_kubeconfig, "bot", token.trim());

    let port = free_port();
    let config = format!("schemagate-{ns}");
    kube.kubectl(
        "admin",
        &["apply", "-f", "-"],
        Some(&webhook_configurations(&config, &ns, port)),
    )
    .unwrap();
    let log = home.path().join("operator.log");
    let operator = start_operator(&kube.kubeconfig("admin"), &ns, port, &config, &log);
    // The operator made its CA and published it.
    let vwcs: Api<ValidatingWebhookConfiguration> = Api::all(admin.clone());
    let mut published = false;
    for _ in 0..300 {
        let vwc = vwcs.get(&config).await.unwrap();
        if vwc
            .webhooks
            .unwrap_or_default()
            .iter()
            .all(|w| w.client_config.ca_bundle.is_some())
        {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        published,
        "caBundle never published:\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let team = Team {
        kube,
        ns: ns.clone(),
        admin,
        sa_kubeconfig,
    };

    let pg = PgTarget::fresh().unwrap();
    let base = pg.base_manifests("pw");
    let base: Vec<&str> = base.split("---\n").collect();
    team.as_user(
        "admin",
        &["apply", "-f", "-"],
        Some(&format!("{}---\n{}", base[0], base[1])),
    )
    .unwrap();
    team.as_user("admin", &["apply", "-f", "-"], Some(&project("shop", 1)))
        .unwrap();
    team.as_user("admin", &["apply", "-f", "-"], Some(&project("pair", 2)))
        .unwrap();

    // bob writes a change: the author is recorded from his request; he cannot name another.
    team.denied(
        "bob",
        &change("forged-author", "shop", "1", "t0", Some("alice")),
        &["only a configured GitOps identity"],
    );
    let mut supplied = change("supplied", "shop", "1", "t0", None);
    supplied.push_str("  author: {username: alice}\n");
    team.denied("bob", &supplied, &["recorded by schemagate"]);
    team.create("bob", &change("accounts", "shop", "1", "accounts", None))
        .unwrap();
    let created = team.get("SchemaChange", "accounts").await;
    assert_eq!(created["spec"]["author"]["username"], "bob");
    assert!(
        created["spec"]["author"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!("developers"))
    );
    let reviewed = Reviewed::of(&team.wait_phase("accounts", "AwaitingApproval").await);

    // Refusals at admission, each naming its reason.
    team.denied(
        "bob",
        &approval("by-bob", "accounts", &reviewed, ""),
        &["SelfApproval", "bob wrote SchemaChange accounts"],
    );
    team.denied(
        "carol",
        &approval("by-carol", "accounts", &reviewed, ""),
        &["NotAnApprover", "carol"],
    );
    team.denied(
        "bot",
        &approval("by-bot", "accounts", &reviewed, ""),
        &[
            "ServiceAccountApprover",
            &format!("system:serviceaccount:{ns}:bot"),
        ],
    );
    team.denied(
        "alice",
        &approval(
            "forged",
            "accounts",
            &reviewed,
            "\n  approver: {username: dave, groups: [dba]}",
        ),
        &["recorded by schemagate"],
    );
    let wrong = Reviewed {
        digest: "0".repeat(64),
        uid: reviewed.uid.clone(),
    };
    team.denied(
        "alice",
        &approval("wrong-digest", "accounts", &wrong, ""),
        &["differs from the reviewed SQL"],
    );
    team.denied(
        "alice",
        &approval("nothing", "no-such-change", &reviewed, ""),
        &["no SchemaChange named no-such-change"],
    );
    assert_eq!(
        team.get("SchemaChange", "accounts").await["status"]["phase"],
        "AwaitingApproval"
    );
    assert!(
        pg.psql("SELECT to_regclass('accounts') IS NULL")
            .unwrap()
            .contains('t')
    );

    // alice approves: recorded, counted, applied, named in status.
    team.create("alice", &approval("by-alice", "accounts", &reviewed, ""))
        .unwrap();
    let approval_obj = team.get("Approval", "by-alice").await;
    assert_eq!(approval_obj["spec"]["approver"]["username"], "alice");
    // The approver is immutable, like the rest of the Approval.
    let err = team
        .as_user(
            "admin",
            &[
                "patch",
                "approval",
                "by-alice",
                "--type=merge",
                "-p",
                r#"{"spec":{"approver":{"username":"dave"}}}"#,
            ],
            None,
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("immutable"), "{err}");
    let applied = team.wait_phase("accounts", "Applied").await;
    let approvals = &applied["status"]["approval"]["approvals"];
    assert_eq!(approvals[0]["user"], "alice", "{approvals:#}");
    assert_eq!(approvals[0]["approval"], "by-alice");
    // The target database carries the audit trail too: the history row names bob and alice.
    assert_eq!(
        pg.psql(
            "SELECT author || ' / ' || approved_by FROM schemagate.history WHERE name = 'accounts'"
        )
        .unwrap()
        .trim(),
        "bob / alice"
    );
    let columns = team.as_user("admin", &["get", "approvals"], None).unwrap();
    assert!(
        columns.contains("APPROVER") && columns.contains("alice"),
        "{columns}"
    );

    // requiredApprovals 2: alice twice is one person; dave makes two.
    team.create("bob", &change("orders", "pair", "2", "orders", None))
        .unwrap();
    let reviewed = Reviewed::of(&team.wait_phase("orders", "AwaitingApproval").await);
    team.create("alice", &approval("alice-1", "orders", &reviewed, ""))
        .unwrap();
    team.create("alice", &approval("alice-2", "orders", &reviewed, ""))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let waiting = team.get("SchemaChange", "orders").await;
    assert_eq!(
        waiting["status"]["phase"], "AwaitingApproval",
        "{:#}",
        waiting["status"]
    );
    team.create("dave", &approval("dave-1", "orders", &reviewed, ""))
        .unwrap();
    let applied = team.wait_phase("orders", "Applied").await;
    let users: Vec<&str> = applied["status"]["approval"]["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["alice", "dave"]);

    // Argo CD syncs a change written by alice (the commit author in the annotation): alice
    // is recorded as its author, argocd as the syncer, and her own approval is refused.
    team.create(
        "argocd",
        &change("payments", "shop", "3", "payments", Some("alice")),
    )
    .unwrap();
    let synced = team.get("SchemaChange", "payments").await;
    assert_eq!(synced["spec"]["author"]["username"], "alice");
    assert_eq!(synced["spec"]["syncedBy"]["username"], "argocd");
    let reviewed = Reviewed::of(&team.wait_phase("payments", "AwaitingApproval").await);
    team.denied(
        "alice",
        &approval("self", "payments", &reviewed, ""),
        &["SelfApproval", "alice wrote"],
    );

    // With the webhook down, no Approval can be created and nothing is applied.
    drop(operator);
    let err = team
        .create("dave", &approval("while-down", "payments", &reviewed, ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("failed calling webhook"), "{err}");
    assert!(
        pg.psql("SELECT to_regclass('payments') IS NULL")
            .unwrap()
            .contains('t')
    );

    team.kube
        .kubectl(
            "admin",
            &[
                "delete",
                "validatingwebhookconfiguration,mutatingwebhookconfiguration",
                &config,
            ],
            None,
        )
        .unwrap();
}
