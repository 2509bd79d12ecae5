//! The real Kubernetes control plane (upstream kube-apiserver + etcd + kube-controller-manager,
//! started by `tests/kube/up`) for tests that need one. `tests/run` starts one for the whole run
//! and passes its directory in `SCHEMAGATE_KUBE_DIR`; a test run on its own starts a private one
//! for its process (a few seconds once the binaries are built) and stops it when done.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

pub mod team;

/// The static users of the control plane: admin (system:masters), alice and dave (dba), bob and carol
/// (developers), argocd (gitops).
pub const USERS: [&str; 6] = ["admin", "alice", "dave", "bob", "carol", "argocd"];

/// A running control plane.
pub struct RealKube {
    dir: PathBuf,
    private: Option<tempfile::TempDir>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

impl RealKube {
    /// The run's control plane, or a private one started now.
    pub fn get() -> Self {
        if let Some(dir) = std::env::var_os("SCHEMAGATE_KUBE_DIR") {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("ready").exists(),
                "SCHEMAGATE_KUBE_DIR={} holds no running control plane",
                dir.display()
            );
            return Self { dir, private: None };
        }
        let tmp = tempfile::Builder::new()
            .prefix("sg-kube-")
            .tempdir()
            .unwrap();
        let out = Command::new(repo().join("tests/kube/up"))
            .arg(tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "tests/kube/up failed (it needs Go >= 1.26 and the Go module proxy):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self {
            dir: tmp.path().to_path_buf(),
            private: Some(tmp),
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/<user>.kubeconfig`.
    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{user}.kubeconfig"))
    }

    /// A client authenticated as `user`.
    pub async fn client(&self, user: &str) -> Client {
        client_from(&self.kubeconfig(user)).await.unwrap()
    }

    /// The API server's URL and CA certificate (base64 PEM) from the admin kubeconfig.
    pub fn server_and_ca(&self) -> (String, String) {
        let kc = Kubeconfig::read_from(self.kubeconfig("admin")).unwrap();
        let cluster = kc.clusters[0].cluster.clone().unwrap();
        (
            cluster.server.unwrap(),
            cluster.certificate_authority_data.unwrap(),
        )
    }

    /// Writes a kubeconfig that authenticates with a bearer token (e.g. a ServiceAccount's).
    pub fn write_token_kubeconfig(&self, path: &Path, user: &str, token: &str) {
        let (server, ca) = self.server_and_ca();
        std::fs::write(
            path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: sg-kube\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {user}\n  user:\n    token: {token}\ncontexts:\n- name: {user}\n  context: {{cluster: sg-kube, user: {user}}}\ncurrent-context: {user}\n"
            ),
        )
        .unwrap();
    }

    /// Runs kubectl as `user`; returns stdout, or an error with stderr.
    pub fn kubectl(&self, user: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
        kubectl_with(&self.kubeconfig(user), args, stdin)
    }
}

impl Drop for RealKube {
    fn drop(&mut self) {
        if let Some(tmp) = &self.private {
            let _ = Command::new(repo().join("tests/kube/down"))
                .arg(tmp.path())
                .status();
        }
    }
}

/// A client from a kubeconfig file.
pub async fn client_from(path: &Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(path)?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// kubectl with a kubeconfig file; stdout, or an error carrying stderr.
pub fn kubectl_with(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Result<String> {
    use std::io::Write as _;
    let mut child = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("running kubectl")?;
    if let Some(text) = stdin {
        child.stdin.take().unwrap().write_all(text.as_bytes())?;
    }
    drop(child.stdin.take());
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "kubectl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A name unique to this process and moment (DNS-1123 label).
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{:x}", std::process::id(), nanos % 0xffff_ffff)
}
