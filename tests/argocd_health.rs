//! Argo CD health checks: runs the shipped `health.lua` scripts against statuses built by the
//! operator's status builders, twice: under Lua 5.4 (mlua) and under gopher-lua, the Lua 5.1 VM
//! Argo CD embeds, set up as Argo CD runs a `resource.customizations.health` script (only the
//! base, package and table libraries; `tests/kube/argocd-lua`). Both must agree. Also checks that
//! docs/argocd.md carries the same scripts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod go_tools;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemagate::api::approval::ApprovalStatus;
use schemagate::api::conditions::{reasons, set_condition, types};
use schemagate::api::database_instance::DatabaseInstanceStatus;
use schemagate::api::project::{ApprovalPolicy, ProjectStatus};
use schemagate::api::schema_change::RiskLevel;
use schemagate::workflow::{
    HistoryEntry, HistoryStatus, Observed, ObservedChange, approval_verdict, decide,
    next_approval_status, next_status, sql_digest,
};
use schemagate_testkit::fixtures::{self, at};
use serde_json::{Value, json};

const KINDS: [&str; 4] = ["SchemaChange", "DatabaseInstance", "Project", "Approval"];

fn script_path(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("helm/schemagate/argocd/schemagate.io")
        .join(kind)
        .join("health.lua")
}

fn script(kind: &str) -> String {
    std::fs::read_to_string(script_path(kind)).unwrap()
}

/// JSON → Lua as Argo CD hands objects to health scripts: objects and arrays become tables,
/// numbers become Lua numbers, null becomes nil.
fn to_lua(lua: &mlua::Lua, value: &Value) -> mlua::Value {
    match value {
        Value::Null => mlua::Value::Nil,
        Value::Bool(b) => mlua::Value::Boolean(*b),
        Value::Number(n) => mlua::Value::Number(n.as_f64().unwrap()),
        Value::String(s) => mlua::Value::String(lua.create_string(s).unwrap()),
        Value::Array(items) => {
            let table = lua.create_table().unwrap();
            for (i, item) in items.iter().enumerate() {
                table.set(i + 1, to_lua(lua, item)).unwrap();
            }
            mlua::Value::Table(table)
        }
        Value::Object(map) => {
            let table = lua.create_table().unwrap();
            for (k, v) in map {
                table.set(k.as_str(), to_lua(lua, v)).unwrap();
            }
            mlua::Value::Table(table)
        }
    }
}

/// Runs the kind's script on `object` and returns (hs.status, hs.message).
fn health(kind: &str, object: &Value) -> (String, String) {
    let lua = mlua::Lua::new();
    lua.globals().set("obj", to_lua(&lua, object)).unwrap();
    let hs: mlua::Table = lua
        .load(script(kind))
        .set_name(format!("{kind}/health.lua"))
        .eval()
        .unwrap_or_else(|e| panic!("{kind}/health.lua failed: {e}"));
    let status: String = hs.get("status").unwrap();
    let message: Option<String> = hs.get("message").unwrap();
    assert!(
        ["Healthy", "Progressing", "Degraded", "Suspended", "Missing"].contains(&status.as_str()),
        "{kind}: {status} is not an Argo CD health status"
    );
    let message = message.unwrap_or_default();
    let argo = argocd_health(kind, object);
    assert_eq!(
        (status.as_str(), message.as_str()),
        (argo.0.as_str(), argo.1.as_str()),
        "{kind}/health.lua: mlua and gopher-lua (as Argo CD runs it) disagree on {object}"
    );
    (status, message)
}

/// Runs the kind's script under gopher-lua the way Argo CD does; returns (status, message).
fn argocd_health(kind: &str, object: &Value) -> (String, String) {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    let tool = TOOL.get_or_init(|| go_tools::path("argocd-lua"));
    let mut child = Command::new(tool)
        .arg(script_path(kind))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(object.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{kind}/health.lua failed under gopher-lua: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hs: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        hs["status"].as_str().unwrap().to_owned(),
        hs["message"].as_str().unwrap_or_default().to_owned(),
    )
}

fn object(kind: &str, generation: i64, spec: Value, status: Option<Value>) -> Value {
    let mut o = json!({
        "apiVersion": "schemagate.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": "x", "namespace": "shop", "generation": generation},
        "spec": spec,
    });
    if let Some(status) = status {
        o["status"] = status;
    }
    o
}

// ---------------------------------------------------------------- SchemaChange

/// One reconcile: decide, build the status the operator would write, keep it.
fn reconcile(o: &mut Observed) -> Value {
    let update = next_status(o, &decide(o));
    o.change.status = update.status;
    serde_json::to_value(&o.change.status).unwrap()
}

fn change_health(o: &Observed, status: Value) -> (String, String) {
    let spec = serde_json::to_value(&o.change.spec).unwrap();
    health(
        "SchemaChange",
        &object(
            "SchemaChange",
            o.change.generation.unwrap(),
            spec,
            Some(status),
        ),
    )
}

#[test]
fn schema_change_lifecycle_health() {
    let mut o = fixtures::base();
    // Created, nothing written yet.
    let spec = serde_json::to_value(&o.change.spec).unwrap();
    let (h, _) = health("SchemaChange", &object("SchemaChange", 1, spec, None));
    assert_eq!(h, "Progressing");
    // Reviewing.
    let status = reconcile(&mut o);
    assert_eq!(status["phase"], "Reviewing");
    assert_eq!(change_health(&o, status).0, "Progressing");
    // Reviewed, waiting for a human: Suspended, and the message says what to quote.
    o.review = Some(fixtures::stamp(&o, fixtures::clean_review(RiskLevel::Low)));
    let status = reconcile(&mut o);
    assert_eq!(status["phase"], "AwaitingApproval");
    let (h, m) = change_health(&o, status);
    assert_eq!(h, "Suspended");
    assert!(m.starts_with("AwaitingApproval: 0 of 1"), "{m}");
    assert!(m.contains(&fixtures::digest()), "{m}");
    // A later spec generation not yet observed: Progressing whatever the phase.
    let mut newer = o.clone();
    newer.change.generation = Some(2);
    let (h, _) = change_health(&newer, serde_json::to_value(&o.change.status).unwrap());
    assert_eq!(h, "Progressing");
    // Approved, blocked by an earlier version: Progressing.
    o.approvals.push(fixtures::approve("ok-dba", "dba"));
    let mut blocked = o.clone();
    blocked.siblings.push(schemagate::workflow::SiblingChange {
        name: "add-customers".into(),
        version: "0".into(),
        phase: None,
    });
    let status = reconcile(&mut blocked);
    assert_eq!(status["phase"], "Blocked");
    let (h, m) = change_health(&blocked, status);
    assert_eq!(h, "Progressing");
    assert!(m.contains("add-customers"), "{m}");
    // Applying.
    let status = reconcile(&mut o);
    assert_eq!(status["phase"], "Applying");
    assert_eq!(change_health(&o, status).0, "Progressing");
    // Applied per history.
    o.history.as_mut().unwrap().this_change = Some(HistoryEntry {
        status: HistoryStatus::Applied,
        message: None,
    });
    let status = reconcile(&mut o);
    assert_eq!(status["phase"], "Applied");
    let (h, m) = change_health(&o, status);
    assert_eq!(h, "Healthy");
    assert!(m.starts_with("Applied: "), "{m}");
}

#[test]
fn schema_change_failures_are_degraded_and_waits_progressing() {
    type Bend = fn(&mut Observed);
    let cases: [(&str, Bend, &str, &str); 6] = [
        (
            "review failed",
            |o| o.review = Some(fixtures::stamp(&o.clone(), fixtures::failed_review())),
            "Degraded",
            "table.require-pk",
        ),
        (
            "rejected",
            |o| {
                o.review = Some(fixtures::stamp(
                    &o.clone(),
                    fixtures::clean_review(RiskLevel::Low),
                ));
                o.approvals.push(fixtures::reject("no-dba", "dba"));
            },
            "Degraded",
            "rejected by dba",
        ),
        (
            "execution failed",
            |o| {
                o.history.as_mut().unwrap().this_change = Some(HistoryEntry {
                    status: HistoryStatus::Failed,
                    message: Some("line 1: relation \"orders\" already exists".into()),
                });
            },
            "Degraded",
            "already exists",
        ),
        (
            "needs intervention",
            |o| {
                o.history.as_mut().unwrap().this_change = Some(HistoryEntry {
                    status: HistoryStatus::NeedsIntervention,
                    message: Some("statement 1 of 2 ran".into()),
                });
            },
            "Degraded",
            "statement 1 of 2 ran",
        ),
        (
            "missing project",
            |o| o.project = None,
            "Progressing",
            "Project shop not found",
        ),
        (
            "instance not ready",
            |o| {
                o.instance.as_mut().unwrap().ready = false;
                o.instance.as_mut().unwrap().message = "connection refused".into();
                o.history = None;
            },
            "Progressing",
            "connection refused",
        ),
    ];
    for (name, bend, want, needle) in cases {
        let mut o = fixtures::base();
        bend(&mut o);
        let status = reconcile(&mut o);
        let (h, m) = change_health(&o, status);
        assert_eq!(h, want, "{name}: {m}");
        assert!(m.contains(needle), "{name}: {m:?} lacks {needle:?}");
    }
}

// ------------------------------------------------------------ DatabaseInstance

fn condition(
    conditions: &mut Vec<Condition>,
    ctype: &str,
    value: bool,
    reason: &str,
    message: &str,
) {
    set_condition(conditions, ctype, value, reason, message, Some(1), at(10));
}

#[test]
fn database_instance_health() {
    let spec = json!({"engine": "postgres", "host": "db", "database": "shop"});
    let status = |f: &dyn Fn(&mut DatabaseInstanceStatus)| {
        let mut s = DatabaseInstanceStatus {
            observed_generation: Some(1),
            ..Default::default()
        };
        f(&mut s);
        Some(serde_json::to_value(s).unwrap())
    };
    let run = |s: Option<Value>| {
        health(
            "DatabaseInstance",
            &object("DatabaseInstance", 1, spec.clone(), s),
        )
    };

    assert_eq!(run(None).0, "Progressing");
    let (h, m) = run(status(&|s| {
        condition(
            &mut s.conditions,
            types::READY,
            true,
            reasons::CONNECTED,
            "PostgreSQL 17.2",
        );
        condition(
            &mut s.conditions,
            types::DRIFTED,
            false,
            reasons::IN_SYNC,
            "in sync",
        );
    }));
    assert_eq!((h.as_str(), m.as_str()), ("Healthy", "PostgreSQL 17.2"));
    let (h, m) = run(status(&|s| {
        condition(
            &mut s.conditions,
            types::READY,
            false,
            reasons::UNREACHABLE,
            "db:5432: connection refused",
        );
    }));
    assert_eq!(h, "Degraded");
    assert_eq!(m, "Unreachable: db:5432: connection refused");
    let (h, m) = run(status(&|s| {
        condition(
            &mut s.conditions,
            types::READY,
            true,
            reasons::CONNECTED,
            "PostgreSQL 17.2",
        );
        condition(
            &mut s.conditions,
            types::DRIFTED,
            true,
            reasons::SCHEMA_DRIFT,
            "table audit added outside schemagate",
        );
    }));
    assert_eq!(h, "Healthy", "drift does not fail syncs (docs/argocd.md)");
    assert_eq!(m, "Drifted: table audit added outside schemagate");
    let stale = status(&|s| {
        condition(
            &mut s.conditions,
            types::READY,
            true,
            reasons::CONNECTED,
            "ok",
        );
    });
    let (h, _) = health(
        "DatabaseInstance",
        &object("DatabaseInstance", 2, spec.clone(), stale),
    );
    assert_eq!(h, "Progressing", "generation 2 not observed yet");
}

// --------------------------------------------------------------------- Project

#[test]
fn project_health() {
    let spec = json!({"instances": ["shop-db"]});
    let run = |s: Option<ProjectStatus>| {
        health(
            "Project",
            &object(
                "Project",
                1,
                spec.clone(),
                s.map(|s| serde_json::to_value(s).unwrap()),
            ),
        )
    };
    assert_eq!(run(None).0, "Progressing");
    let mut ok = ProjectStatus::default();
    condition(
        &mut ok.conditions,
        types::READY,
        true,
        reasons::POLICY_VALID,
        "policy valid",
    );
    assert_eq!(run(Some(ok)).0, "Healthy");
    let mut bad = ProjectStatus::default();
    condition(
        &mut bad.conditions,
        types::READY,
        false,
        reasons::INVALID_POLICY,
        "unknown rule table.nope",
    );
    assert_eq!(
        run(Some(bad)),
        (
            "Degraded".into(),
            "InvalidPolicy: unknown rule table.nope".into()
        )
    );
}

// -------------------------------------------------------------------- Approval

#[test]
fn approval_health() {
    let approval = fixtures::approve("ok-dba", "dba");
    let spec = json!({
        "schemaChangeRef": fixtures::NAME,
        "sqlDigest": approval.sql_digest,
        "decision": "approve",
    });
    let policy = ApprovalPolicy::default();
    let run = |change: Option<&ObservedChange>| {
        let verdict = approval_verdict(&approval, change, Some(&policy));
        let (status, _) = next_approval_status(
            &ApprovalStatus::default(),
            &approval,
            Some(1),
            &verdict,
            at(5),
        );
        health(
            "Approval",
            &object(
                "Approval",
                1,
                spec.clone(),
                Some(serde_json::to_value(status).unwrap()),
            ),
        )
    };
    assert_eq!(
        health("Approval", &object("Approval", 1, spec.clone(), None)).0,
        "Progressing"
    );

    let mut change = fixtures::base().change;
    let (h, m) = run(Some(&change));
    assert_eq!(h, "Progressing", "not reviewed yet: {m}");
    change.status.sql_digest = Some(fixtures::digest());
    assert_eq!(run(Some(&change)).0, "Healthy");
    change.status.sql_digest = Some(sql_digest("DROP TABLE orders;"));
    let (h, m) = run(Some(&change));
    assert_eq!(h, "Degraded");
    assert!(m.starts_with("DigestMismatch: "), "{m}");
    assert_eq!(run(None).0, "Degraded");
}

// -------------------------------------------------------------------- the docs

/// The `argocd-cm` snippet in docs/argocd.md must carry exactly the shipped scripts.
#[test]
fn docs_snippet_matches_the_scripts() {
    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/argocd.md"))
            .unwrap();
    let block = doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains("name: argocd-cm"))
        .expect("docs/argocd.md has an argocd-cm YAML block");
    let cm: Value = serde_yaml_ng::from_str(block).unwrap();
    let data = cm["data"].as_object().unwrap();
    assert_eq!(
        data.len(),
        KINDS.len(),
        "one key per kind: {:?}",
        data.keys()
    );
    for kind in KINDS {
        let key = format!("resource.customizations.health.schemagate.io_{kind}");
        let in_doc = data
            .get(&key)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("docs/argocd.md lacks {key}"));
        assert_eq!(
            in_doc.trim_end(),
            script(kind).trim_end(),
            "docs/argocd.md's {key} differs from {}",
            script_path(kind).display()
        );
    }
}

/// The gopher-lua harness runs scripts the way Argo CD runs a `resource.customizations.health`
/// script: without the string library (a script using it fails there, though it works under
/// mlua), and a status Argo CD does not know becomes Unknown.
#[test]
fn gopher_lua_runs_with_argo_cds_libraries_only() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("health.lua");
    std::fs::write(&script, "return {status = string.upper('healthy')}").unwrap();
    let run = |args: &[&str]| {
        let mut child = Command::new(go_tools::path("argocd-lua"))
            .args(args)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"{}").unwrap();
        child.wait_with_output().unwrap()
    };
    let restricted = run(&[]);
    assert!(!restricted.status.success());
    assert!(
        String::from_utf8_lossy(&restricted.stderr).contains("string"),
        "{}",
        String::from_utf8_lossy(&restricted.stderr)
    );
    let open = run(&["-open-libs"]);
    assert!(open.status.success());
    let hs: Value = serde_json::from_slice(&open.stdout).unwrap();
    assert_eq!(hs["status"], "Unknown");
    assert_eq!(hs["message"], "Lua returned an invalid health status");
}
