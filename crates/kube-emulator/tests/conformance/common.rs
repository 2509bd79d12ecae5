//! Test harness: one target cluster (emulator or real) per test, a fresh namespace, the
//! `Widget` test CRD and raw HTTP helpers.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The test custom resource.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "conformance.example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    shortname = "wdg",
    category = "conformance",
    printcolumn = r#"{"name":"Size","type":"integer","jsonPath":".spec.size"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
pub struct WidgetSpec {
    /// Size, 0..=100.
    #[schemars(range(min = 0, max = 100))]
    pub size: i64,
    /// Color, one of red/blue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Short label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub label: Option<String>,
    /// Mode, lowercase letters; the server fills in `auto` when absent.
    #[serde(default = "default_mode", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[a-z]+$"))]
    pub mode: Option<String>,
}

fn default_mode() -> Option<String> {
    Some("auto".into())
}

/// Allowed colors.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "lowercase")]
pub enum Color {
    /// Red.
    Red,
    /// Blue.
    Blue,
}

/// Widget status.
#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    /// Last generation seen by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions, a list-map keyed by `type` (server-side apply merges them per item).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Cond>,
}

/// A minimal condition.
#[derive(Deserialize, Serialize, Clone, Debug, JsonSchema, PartialEq)]
pub struct Cond {
    /// Condition type.
    #[serde(rename = "type")]
    pub type_: String,
    /// True/False/Unknown.
    pub status: String,
}

/// The cluster a test talks to.
pub struct Target {
    /// Client for the cluster.
    pub client: Client,
    /// Kubeconfig file for kubectl.
    pub kubeconfig: PathBuf,
    /// A namespace created for this test.
    pub ns: String,
    /// Whether this is a real cluster (some emulator-only knobs are skipped).
    pub real: bool,
    /// The emulator's client config (None on a real cluster).
    pub kube_config: Option<kube::Config>,
    _dir: tempfile::TempDir,
    _emu: Option<kube_emulator::EmulatorHandle>,
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos)
}

/// A real cluster's controller manager publishes the `kube-root-ca.crt` ConfigMap in every
/// new namespace whenever it gets to it; a test that lists or watches ConfigMaps would see it
/// arrive at a random moment. Waiting for it here makes the namespace settled before the test
/// starts (the emulator has no such controller, so nothing to wait for there).
async fn wait_for_root_ca(client: &Client, ns: &str) {
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if cms.get_opt("kube-root-ca.crt").await.unwrap().is_some() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "kube-root-ca.crt never appeared in namespace {ns}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Target {
    /// Starts the emulator (or connects to the real cluster) and creates a namespace.
    pub async fn new() -> Self {
        Self::with(kube_emulator::Emulator::builder()).await
    }

    /// Like [`Target::new`] with emulator settings (ignored for a real cluster).
    pub async fn with(builder: kube_emulator::EmulatorBuilder) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let real = std::env::var("KUBE_EMULATOR_USE_REAL_CLUSTER").is_ok_and(|v| v == "1");
        let (client, kubeconfig, emu, kube_config) = if real {
            let path = PathBuf::from(
                std::env::var("KUBECONFIG").expect("KUBECONFIG must be set for a real cluster"),
            );
            (Client::try_default().await.unwrap(), path, None, None)
        } else {
            let emu = builder.start().await.unwrap();
            let path = dir.path().join("kubeconfig");
            emu.write_kubeconfig(&path).unwrap();
            let config = emu.kube_config().unwrap();
            (emu.client().await.unwrap(), path, Some(emu), Some(config))
        };
        let ns = unique("t");
        let nss: Api<Namespace> = Api::all(client.clone());
        nss.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
        if real {
            wait_for_root_ca(&client, &ns).await;
        }
        Self {
            client,
            kubeconfig,
            ns,
            real,
            kube_config,
            _dir: dir,
            _emu: emu,
        }
    }

    /// Installs the Widget CRD (server-side apply, idempotent) and waits until Established.
    pub async fn install_crd(&self) {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        crds.patch(
            Widget::crd_name(),
            &PatchParams::apply("conformance").force(),
            &Patch::Apply(Widget::crd()),
        )
        .await
        .unwrap();
        let cond = kube::runtime::wait::conditions::is_crd_established();
        tokio::time::timeout(
            Duration::from_secs(30),
            kube::runtime::wait::await_condition(crds, Widget::crd_name(), cond),
        )
        .await
        .unwrap()
        .unwrap();
    }

    /// Widgets in the test namespace.
    pub fn widgets(&self) -> Api<Widget> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Typed API in the test namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Sends a raw request and returns status code and JSON body.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: Value,
    ) -> (u16, Value) {
        let body = if body.is_null() {
            Vec::new()
        } else {
            serde_json::to_vec(&body).unwrap()
        };
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", content_type)
            .body(body)
            .unwrap();
        let resp = self
            .client
            .send(req.map(kube::client::Body::from))
            .await
            .unwrap();
        let code = resp.status().as_u16();
        let bytes = http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes();
        (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The base path of the widgets collection.
    pub fn widgets_path(&self) -> String {
        format!(
            "/apis/conformance.example.com/v1/namespaces/{}/widgets",
            self.ns
        )
    }

    /// Creates a widget with a size.
    pub async fn make_widget(&self, name: &str, size: i64) -> Widget {
        self.widgets()
            .create(
                &PostParams::default(),
                &Widget::new(
                    name,
                    WidgetSpec {
                        size,
                        color: None,
                        label: None,
                        mode: None,
                    },
                ),
            )
            .await
            .unwrap()
    }

    /// Deletes the test namespace (best effort) on a real cluster.
    pub async fn cleanup(self) {
        if self.real {
            let nss: Api<Namespace> = Api::all(self.client.clone());
            let _ = nss.delete(&self.ns, &DeleteParams::default()).await;
        }
    }
}

/// The `Status` reason and code of an API error.
pub fn api_error(err: kube::Error) -> (u16, String) {
    match err {
        kube::Error::Api(s) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// resourceVersion as a number.
pub fn rv_of<K: kube::Resource>(obj: &K) -> u64 {
    obj.resource_version().unwrap().parse().unwrap()
}

/// Generation.
pub fn generation<K: kube::Resource>(obj: &K) -> i64 {
    obj.meta().generation.unwrap()
}
