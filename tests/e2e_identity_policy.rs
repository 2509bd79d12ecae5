//! The webhook-free identity variant (config/policy-identity) on the real control plane: with
//! the admission webhooks removed, the API server's MutatingAdmissionPolicy records the author
//! and the approver from the request, and its ValidatingAdmissionPolicy refuses forged
//! identities, ServiceAccounts and users without the `approve` verb — the same identity tests
//! the webhook passes, except those that need to read the change (self-approval, digest), which
//! the operator's own verdict still refuses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;
mod real_kube;

use std::time::Duration;

use e2e_support::Reviewed;
use real_kube::team::Team;

const PROJECT: &str = "apiVersion: schemagate.io/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  instances: [pg]
  approval:
    approvers: {groups: [dba]}
    requiredApprovals: 2
";

fn change(name: &str, table: &str) -> String {
    format!(
        "apiVersion: schemagate.io/v1alpha1\nkind: SchemaChange\nmetadata: {{name: {name}}}\nspec:\n  projectRef: shop\n  instanceRef: pg\n  version: \"1\"\n  sql: \"CREATE TABLE {table} (id bigint PRIMARY KEY);\"\n"
    )
}

fn approval(name: &str, change: &str, reviewed: &Reviewed, extra: &str) -> String {
    format!(
        "apiVersion: schemagate.io/v1alpha1\nkind: Approval\nmetadata: {{name: {name}}}\nspec:\n  schemaChangeRef: {change}\n  schemaChangeUid: \"{}\"\n  sqlDigest: \"{}\"\n  decision: approve\n{extra}",
        reviewed.uid, reviewed.digest
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_webhooks_the_policies_record_and_check_who_approves() {
    let mut team = Team::new("vapid").await;
    team.bot_kubeconfig();
    // The operator (it waits for its webhook configurations' caBundle), then no webhooks: the
    // policies alone.
    let _operator = team.start_operator(&[]).await;
    team.remove_webhooks();
    team.install_policies("config/policy-identity/identity_policies.yaml");
    team.install_policies("config/policy-identity/bindings.yaml");
    let pg = team.database();
    team.as_user("admin", &["apply", "-f", "-"], Some(PROJECT))
        .unwrap();

    // bob's change: the author is stamped from his request (retried while the new policies
    // propagate to the API server's admission chain; they become active one by one, so the
    // check that refuses an author not stamped from the request may come before the stamping).
    let mut author = serde_json::Value::Null;
    for attempt in 0..100 {
        let name = format!("orders{attempt}");
        if let Err(e) = team.create("bob", &change(&name, &name)) {
            let e = e.to_string();
            assert!(e.contains("is recorded from your request"), "{e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let created = team.get("SchemaChange", &name).await;
        if created["spec"]["author"]["username"] == "bob" {
            author = created;
            break;
        }
        team.as_user(
            "admin",
            &["delete", "schemachange", &name, "--wait=false"],
            None,
        )
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let name = author["metadata"]["name"]
        .as_str()
        .expect("bob recorded as author")
        .to_owned();
    assert!(
        author["spec"]["author"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "developers"),
        "{author:#}"
    );
    let reviewed = Reviewed::of(&team.wait_phase(&name, "AwaitingApproval").await);

    // A forged author or approver is refused, whoever sends it.
    let forged_author = format!(
        "{}  author: {{username: alice}}\n",
        change("forged", "forged")
    );
    let e = team.create("bob", &forged_author).unwrap_err().to_string();
    assert!(
        e.contains("spec.author is recorded from your request (bob)"),
        "{e}"
    );
    let forged = approval(
        "forged",
        &name,
        &reviewed,
        "  approver: {username: alice}\n",
    );
    let e = team.create("dave", &forged).unwrap_err().to_string();
    assert!(
        e.contains("spec.approver is recorded from your request (dave)"),
        "{e}"
    );
    // carol (a developer) may not approve; neither may bob; nor a ServiceAccount, even one with
    // the approver role.
    for user in ["carol", "bob"] {
        let e = team
            .create(user, &approval(&format!("by-{user}"), &name, &reviewed, ""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("{user} may not approve SchemaChange {name}")),
            "{e}"
        );
    }
    let e = team
        .create("bot", &approval("by-bot", &name, &reviewed, ""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a ServiceAccount cannot approve"), "{e}");

    // alice twice is one approval; alice and dave make two: Applied, both recorded.
    team.create("alice", &approval("alice-1", &name, &reviewed, ""))
        .unwrap();
    team.create("alice", &approval("alice-2", &name, &reviewed, ""))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let waiting = team.get("SchemaChange", &name).await;
    assert_eq!(
        waiting["status"]["phase"], "AwaitingApproval",
        "{waiting:#}"
    );
    let recorded = team.get("Approval", "alice-1").await;
    assert_eq!(recorded["spec"]["approver"]["username"], "alice");
    team.create("dave", &approval("dave-1", &name, &reviewed, ""))
        .unwrap();
    let mut approvers = team.applied_approvers(&name).await;
    approvers.sort();
    approvers.dedup();
    assert_eq!(approvers, ["alice", "dave"]);
    assert!(
        pg.psql(&format!("SELECT to_regclass('{name}') IS NOT NULL"))
            .unwrap()
            .contains('t')
    );
}
