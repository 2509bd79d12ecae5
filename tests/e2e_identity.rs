//! Who approved, on the real control plane (tests/kube) as its static users: the operator's
//! admission webhook (served by `schemagate run --webhook-addr`, registered by URL with the
//! operator's own CA published as `caBundle`) records authors and approvers from the API
//! request, and refuses self-approval, non-approvers, ServiceAccounts, forged approvers and
//! authors; two approvals must come from two people; with the webhook down nothing is approved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod e2e_support;
mod real_kube;

use std::time::Duration;

use e2e_support::Reviewed;
use real_kube::team::Team;
use serde_json::json;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvers_are_who_the_api_server_says_they_are() {
    let mut team = Team::new("ident").await;
    team.bot_kubeconfig();
    let ns = team.ns.clone();
    let operator = team.start_operator(&[]).await;

    let pg = team.database();
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
    assert_eq!(team.applied_approvers("orders").await, ["alice", "dave"]);

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

    team.remove_webhooks();
}
