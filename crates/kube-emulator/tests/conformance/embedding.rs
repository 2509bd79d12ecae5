//! The emulator as a program and a library: the standalone binary, and the authentication and
//! admission extension points. Emulator-only (skipped against a real cluster).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use kube_emulator::{
    AdmissionHook, AdmissionRequest, AdmissionResponse, AdmitFuture, AuthError, Authenticator,
    UserInfo,
};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn binary_writes_kubeconfig_when_ready_and_serves_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), async {
        while !kubeconfig.exists() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let out = tokio::process::Command::new("kubectl")
        .args(["get", "namespaces", "-o", "name"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l == "namespace/default")
    );
    child.kill().await.unwrap();
}

struct DenyLabel;

impl AdmissionHook for DenyLabel {
    fn admit<'a>(&'a self, request: &'a AdmissionRequest) -> AdmitFuture<'a> {
        Box::pin(async move {
            let Some(obj) = &request.object else {
                return AdmissionResponse::Allow;
            };
            if obj.pointer("/metadata/labels/deny").is_some() {
                return AdmissionResponse::Deny(format!(
                    "{} may not create denied objects",
                    request.user.username
                ));
            }
            let mut obj = obj.clone();
            obj["metadata"]["annotations"]["admitted-by"] = json!("hook");
            AdmissionResponse::Mutate(obj)
        })
    }
}

struct HeaderUser;

impl Authenticator for HeaderUser {
    fn authenticate(&self, headers: &kube_emulator::HeaderMap) -> Result<UserInfo, AuthError> {
        let user = headers
            .get("impersonate-user")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("anonymous");
        if user == "blocked" {
            return Err(AuthError::Unauthenticated);
        }
        Ok(UserInfo {
            username: user.to_string(),
            groups: vec![],
        })
    }
}

#[tokio::test]
async fn admission_hooks_mutate_and_deny_with_the_caller_identity() {
    let builder = kube_emulator::Emulator::builder()
        .admission_hook(Arc::new(DenyLabel))
        .authenticator(Arc::new(HeaderUser));
    let t = Target::with(builder).await;
    if t.real {
        return t.cleanup().await;
    }
    let cms: Api<ConfigMap> = t.api();
    let ok: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "ok"}})).unwrap();
    let created = cms.create(&PostParams::default(), &ok).await.unwrap();
    assert_eq!(created.metadata.annotations.unwrap()["admitted-by"], "hook");
    let bad: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "bad", "labels": {"deny": "1"}}}))
            .unwrap();
    let (code, reason) = api_error(cms.create(&PostParams::default(), &bad).await.unwrap_err());
    assert_eq!((code, reason.as_str()), (403, "Forbidden"));

    let mut config = t.kube_config.clone().unwrap();
    config.auth_info.impersonate = Some("blocked".into());
    let blocked = kube::Client::try_from(config).unwrap();
    let err = Api::<ConfigMap>::namespaced(blocked, &t.ns)
        .get("ok")
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 401);
    t.cleanup().await;
}

#[tokio::test]
async fn static_tokens_identify_users_and_allow_admin_impersonation() {
    use std::sync::Mutex;

    type Seen = Arc<Mutex<Vec<(String, Vec<String>)>>>;
    struct Record(Seen);
    impl AdmissionHook for Record {
        fn admit<'a>(&'a self, request: &'a AdmissionRequest) -> AdmitFuture<'a> {
            self.0
                .lock()
                .unwrap()
                .push((request.user.username.clone(), request.user.groups.clone()));
            Box::pin(async { AdmissionResponse::Allow })
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tokens = kube_emulator::StaticTokens::new()
        .token(
            "admin-token",
            UserInfo {
                username: "admin".into(),
                groups: vec!["system:masters".into()],
            },
        )
        .token(
            "dba-token",
            UserInfo {
                username: "dba@example.com".into(),
                groups: vec!["dbas".into()],
            },
        );
    let emu = kube_emulator::Emulator::builder()
        .authenticator(Arc::new(tokens))
        .admission_hook(Arc::new(Record(seen.clone())))
        .start()
        .await
        .unwrap();
    let cm = |name: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": name}})).unwrap()
    };

    let anonymous = emu.client().await.unwrap();
    let err = Api::<ConfigMap>::default_namespaced(anonymous)
        .create(&PostParams::default(), &cm("x"))
        .await
        .unwrap_err();
    assert_eq!(api_error(err).0, 401);

    let dba = kube::Client::try_from(emu.kube_config_with_token("dba-token").unwrap()).unwrap();
    Api::<ConfigMap>::default_namespaced(dba)
        .create(&PostParams::default(), &cm("by-dba"))
        .await
        .unwrap();

    let mut config = emu.kube_config_with_token("admin-token").unwrap();
    config.auth_info.impersonate = Some("alice".into());
    config.auth_info.impersonate_groups = Some(vec!["developers".into()]);
    let as_alice = kube::Client::try_from(config).unwrap();
    Api::<ConfigMap>::default_namespaced(as_alice)
        .create(&PostParams::default(), &cm("by-alice"))
        .await
        .unwrap();

    let mut config = emu.kube_config_with_token("dba-token").unwrap();
    config.auth_info.impersonate = Some("admin".into());
    let err = Api::<ConfigMap>::default_namespaced(kube::Client::try_from(config).unwrap())
        .get("by-dba")
        .await
        .unwrap_err();
    // As the API server answers a caller without the `impersonate` verb: 403 naming both users.
    let kube::Error::Api(status) = err else {
        panic!("expected an API error, got {err:?}")
    };
    let (code, message) = (status.code, status.message);
    assert_eq!(code, 403, "only system:masters may impersonate: {message}");
    assert!(
        message.contains("User \"dba@example.com\" cannot impersonate resource \"users\"")
            && message.contains("users \"admin\" is forbidden"),
        "{message}"
    );

    let yaml = emu.kubeconfig_yaml_with_token("dba", "dba-token");
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Api::<ConfigMap>::default_namespaced(kube::Client::try_from(config).unwrap())
        .create(&PostParams::default(), &cm("by-kubeconfig"))
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    let users: Vec<&str> = seen.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(users, ["dba@example.com", "alice", "dba@example.com"]);
    assert_eq!(seen[1].1, ["developers", "system:authenticated"]);
    emu.shutdown().await;
}
