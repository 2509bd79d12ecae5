//! Edits that amount to approving, on the real control plane: the chart's
//! ValidatingAdmissionPolicy `approver-only-edits` admits a change of a Project's approval policy
//! or of a DatabaseInstance's environment or target only from approvers; a developer who may
//! edit both (RBAC) gets a refusal naming why, and his waiting change keeps waiting.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;
mod real_kube;

use std::time::Duration;

use real_kube::team::Team;

/// RBAC that lets developers and DBAs edit Projects and DatabaseInstances: what is left to
/// refuse is the policy's.
const EDITORS: &str = "apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: config-editor}
rules:
- apiGroups: [schemagate.io]
  resources: [projects, databaseinstances]
  verbs: [get, list, watch, create, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: config-editors}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: config-editor}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: developers}
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: dba}
";

const PROJECT: &str = "apiVersion: schemagate.io/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  instances: [pg]
  approval:
    approvers: {groups: [dba]}
";

fn patch(team: &Team, user: &str, what: &str, patch: &str) -> Result<String, String> {
    team.as_user(user, &["patch", what, "--type=merge", "-p", patch], None)
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_approvers_may_make_edits_that_amount_to_approving() {
    let team = Team::new("edits").await;
    team.as_user("admin", &["apply", "-f", "-"], Some(EDITORS))
        .unwrap();
    let _operator = team.start_operator(&[]).await;
    let _pg = team.database();
    team.as_user("admin", &["apply", "-f", "-"], Some(PROJECT))
        .unwrap();
    team.install_policies("config/rbac/approver_only_edits.yaml");

    // bob adds a prod autoApprove rule: refused. Probed with server-side dry runs until the new
    // policy is in force, so no edit ever lands.
    let auto =
        r#"{"spec":{"approval":{"autoApprove":[{"environments":["prod"],"maxRisk":"HIGH"}]}}}"#;
    let mut refusal = String::new();
    for _ in 0..200 {
        let probe = team.as_user(
            "bob",
            &[
                "patch",
                "project/shop",
                "--type=merge",
                "--dry-run=server",
                "-p",
                auto,
            ],
            None,
        );
        match probe {
            Err(e) => {
                refusal = e.to_string();
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(refusal.contains("only approvers"), "{refusal}");
    // Now a change waits for its Approval.
    team.create(
        "bob",
        "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {name: orders}\nspec:\n  projectRef: shop\n  instanceRef: pg\n  version: \"1\"\n  sql: \"CREATE TABLE orders (id bigint PRIMARY KEY);\"\n",
    )
    .unwrap();
    team.wait_phase("orders", "AwaitingApproval").await;
    let real = patch(&team, "bob", "project/shop", auto).unwrap_err();
    assert!(real.contains("only approvers"), "{real}");
    assert!(refusal.contains("only approvers"), "{refusal}");
    assert!(refusal.contains("approval policy"), "{refusal}");
    // Nor may he lower the number of approvals, change approvers, or allow self-approval.
    for edit in [
        r#"{"spec":{"approval":{"approvers":{"groups":["developers"]}}}}"#,
        r#"{"spec":{"approval":{"allowSelfApproval":true}}}"#,
    ] {
        let e = patch(&team, "bob", "project/shop", edit).unwrap_err();
        assert!(e.contains("only approvers"), "{edit}: {e}");
    }
    // Or create a second Project with auto-approval for the same instance.
    let e = team
        .create(
            "bob",
            "apiVersion: schemagate.io/v1alpha1\nkind: Project\nmetadata: {name: shortcut}\nspec:\n  instances: [pg]\n  approval:\n    autoApprove: [{environments: [prod], maxRisk: HIGH}]\n",
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("only approvers"), "{e}");
    // The instance: environment and target are the approvers' to change.
    for edit in [
        r#"{"spec":{"environment":"dev"}}"#,
        r#"{"spec":{"host":"other-db.example"}}"#,
        r#"{"spec":{"database":"elsewhere"}}"#,
        r#"{"spec":{"port":15432}}"#,
    ] {
        let e = patch(&team, "bob", "databaseinstance/pg", edit).unwrap_err();
        assert!(
            e.contains("only approvers") && e.contains("environment or target"),
            "{edit}: {e}"
        );
    }
    // What does not decide approval stays the developers': the project's instances, the
    // instance's drift interval. (Their review policy too, but a stricter one reviews the
    // waiting change again.)
    patch(
        &team,
        "bob",
        "project/shop",
        r#"{"spec":{"instances":["pg","pg-replica"]}}"#,
    )
    .unwrap();
    patch(
        &team,
        "bob",
        "databaseinstance/pg",
        r#"{"spec":{"driftCheckIntervalSeconds":900}}"#,
    )
    .unwrap();
    // alice (dba) may; her edit of the environment goes through.
    patch(
        &team,
        "alice",
        "databaseinstance/pg",
        r#"{"spec":{"environment":"staging"}}"#,
    )
    .unwrap();
    // bob's change is still waiting for an Approval.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let change = team.get("SchemaChange", "orders").await;
    assert_eq!(change["status"]["phase"], "AwaitingApproval", "{change:#}");
}
