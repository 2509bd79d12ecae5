//! kubectl scenarios: apply (client- and server-side), get with printer columns, -o yaml,
//! describe, patch --subresource=status, wait, get -w, api-resources, explain, delete.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::common::*;

async fn kubectl(t: &Target, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", &t.kubeconfig)
        .kill_on_drop(true)
        .output()
        .await
        .expect("kubectl is installed");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn ok(t: &Target, args: &[&str]) -> String {
    let (success, out, err) = kubectl(t, args).await;
    assert!(success, "kubectl {args:?} failed: {out}{err}");
    out
}

fn widget_yaml(name: &str, size: i64) -> String {
    format!(
        "apiVersion: conformance.example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  size: {size}\n  color: red\n"
    )
}

#[tokio::test]
async fn kubectl_client_side_apply_get_describe_status_wait_delete() {
    let t = Target::new().await;
    t.install_crd().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    let f = file.to_str().unwrap();
    let ns = t.ns.as_str();
    std::fs::write(&file, widget_yaml("w1", 3)).unwrap();
    assert!(
        ok(&t, &["apply", "-n", ns, "-f", f])
            .await
            .contains("created")
    );
    assert!(
        ok(&t, &["apply", "-n", ns, "-f", f])
            .await
            .contains("unchanged")
    );
    std::fs::write(&file, widget_yaml("w1", 4)).unwrap();
    assert!(
        ok(&t, &["apply", "-n", ns, "-f", f])
            .await
            .contains("configured")
    );

    let table = ok(&t, &["get", "widgets", "-n", ns]).await;
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "SIZE", "READY"]);
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(row, ["w1", "4"]);

    let yaml = ok(&t, &["get", "wdg", "w1", "-n", ns, "-o", "yaml"]).await;
    let obj: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(obj["spec"]["size"], 4);
    assert_eq!(obj["metadata"]["generation"], 2);

    let described = ok(&t, &["describe", "widget", "w1", "-n", ns]).await;
    assert!(
        described.contains("Size:") && described.contains("Name:         w1"),
        "{described}"
    );

    ok(
        &t,
        &[
            "patch",
            "widget",
            "w1",
            "-n",
            ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
        ],
    )
    .await;
    assert!(
        ok(
            &t,
            &[
                "wait",
                "--for=condition=Ready",
                "widget/w1",
                "-n",
                ns,
                "--timeout=30s"
            ]
        )
        .await
        .contains("condition met")
    );
    let table = ok(&t, &["get", "widget", "w1", "-n", ns, "--no-headers"]).await;
    assert_eq!(
        table.split_whitespace().collect::<Vec<_>>(),
        ["w1", "4", "True"]
    );

    assert!(
        ok(&t, &["delete", "widget", "w1", "-n", ns])
            .await
            .contains("deleted")
    );
    let (success, _, err) = kubectl(&t, &["get", "widget", "w1", "-n", ns]).await;
    assert!(!success && err.contains("NotFound"), "{err}");
    t.cleanup().await;
}

#[tokio::test]
async fn kubectl_server_side_apply_conflicts_and_force() {
    let t = Target::new().await;
    t.install_crd().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.yaml");
    let f = file.to_str().unwrap();
    let ns = t.ns.as_str();
    std::fs::write(&file, widget_yaml("s1", 3)).unwrap();
    assert!(
        ok(&t, &["apply", "--server-side", "-n", ns, "-f", f])
            .await
            .contains("serverside-applied")
    );
    let yaml = ok(
        &t,
        &[
            "get",
            "widget",
            "s1",
            "-n",
            ns,
            "-o",
            "yaml",
            "--show-managed-fields",
        ],
    )
    .await;
    assert!(
        yaml.contains("manager: kubectl") && yaml.contains("operation: Apply"),
        "{yaml}"
    );
    std::fs::write(&file, widget_yaml("s1", 5)).unwrap();
    let (success, out, err) = kubectl(
        &t,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-n",
            ns,
            "-f",
            f,
        ],
    )
    .await;
    assert!(
        !success && format!("{out}{err}").contains("conflict"),
        "{out}{err}"
    );
    ok(
        &t,
        &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-n",
            ns,
            "-f",
            f,
        ],
    )
    .await;
    let table = ok(&t, &["get", "widget", "s1", "-n", ns, "--no-headers"]).await;
    assert_eq!(table.split_whitespace().next_back(), Some("5"));

    let cm = dir.path().join("cm.yaml");
    std::fs::write(
        &cm,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  a: \"1\"\n",
    )
    .unwrap();
    ok(&t, &["apply", "-n", ns, "-f", cm.to_str().unwrap()]).await;
    std::fs::write(
        &cm,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c1\ndata:\n  b: \"2\"\n",
    )
    .unwrap();
    assert!(
        ok(&t, &["apply", "-n", ns, "-f", cm.to_str().unwrap()])
            .await
            .contains("configured")
    );
    let yaml = ok(&t, &["get", "cm", "c1", "-n", ns, "-o", "yaml"]).await;
    let obj: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(
        obj["data"],
        serde_json::json!({"b": "2"}),
        "client-side apply removes fields dropped from the manifest"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn kubectl_get_watch_prints_changes() {
    let t = Target::new().await;
    t.install_crd().await;
    t.make_widget("first", 1).await;
    let mut child = Command::new("kubectl")
        .args(["get", "widgets", "-n", &t.ns, "-w", "--no-headers"])
        .env("KUBECONFIG", &t.kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.starts_with("first"), "{first}");
    t.make_widget("second", 2).await;
    let next = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(next.split_whitespace().collect::<Vec<_>>(), ["second", "2"]);
    child.kill().await.unwrap();
    t.cleanup().await;
}

#[tokio::test]
async fn kubectl_api_resources_and_explain() {
    let t = Target::new().await;
    t.install_crd().await;
    let out = ok(&t, &["api-resources"]).await;
    let row = out
        .lines()
        .find(|l| l.starts_with("widgets "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        [
            "widgets",
            "wdg",
            "conformance.example.com/v1",
            "true",
            "Widget"
        ]
    );
    assert!(out.lines().any(|l| l.starts_with("leases ")));
    let cats = ok(&t, &["get", "conformance", "-n", &t.ns]).await;
    assert!(
        cats.is_empty(),
        "category lookup works and the namespace is empty: {cats}"
    );
    let explained = ok(&t, &["explain", "widget.spec"]).await;
    assert!(
        explained.contains("size") && explained.contains("-required-"),
        "{explained}"
    );
    t.cleanup().await;
}

#[tokio::test]
async fn kubectl_typed_create_commands() {
    let t = Target::new().await;
    let ns = format!("{}-typed", t.ns);
    ok(&t, &["create", "namespace", &ns]).await;
    ok(
        &t,
        &[
            "create",
            "configmap",
            "cfg",
            "-n",
            &ns,
            "--from-literal=a=1",
            "--from-literal=b=2",
        ],
    )
    .await;
    ok(
        &t,
        &[
            "create",
            "secret",
            "generic",
            "sec",
            "-n",
            &ns,
            "--from-literal=password=hunter2",
        ],
    )
    .await;
    let cms = ok(&t, &["get", "configmaps", "-n", &ns, "--no-headers"]).await;
    assert_eq!(
        cms.split_whitespace().take(2).collect::<Vec<_>>(),
        ["cfg", "2"]
    );
    let secret = ok(
        &t,
        &[
            "get",
            "secret",
            "sec",
            "-n",
            &ns,
            "-o",
            "jsonpath={.data.password}",
        ],
    )
    .await;
    assert_eq!(secret, "aHVudGVyMg==");
    let secrets = ok(&t, &["get", "secrets", "-n", &ns, "--no-headers"]).await;
    assert_eq!(
        secrets.split_whitespace().take(3).collect::<Vec<_>>(),
        ["sec", "Opaque", "1"]
    );
    ok(&t, &["delete", "namespace", &ns]).await;
    let (success, _, _) = kubectl(&t, &["get", "configmap", "cfg", "-n", &ns]).await;
    assert!(!success);
    t.cleanup().await;
}
