//! The Go programs some tests run (helm, gopher-lua for the Argo CD scripts), built from pinned
//! Go modules by `tests/kube/build` and cached outside the clone. `tests/run` builds them once and
//! passes their paths in the environment; a test run on its own builds them on first use.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

/// The path of `tool` (`helm`, `argocd-lua`, `kubectl`): `$SCHEMAGATE_GO_<TOOL>` when set,
/// otherwise what `tests/kube/build <tool>` prints (building it on first use; needs Go).
pub fn path(tool: &str) -> PathBuf {
    let var = format!("SCHEMAGATE_GO_{}", tool.to_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(&var) {
        return PathBuf::from(p);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(repo.join("tests/kube/build"))
        .arg(tool)
        .output()
        .unwrap_or_else(|e| panic!("running tests/kube/build {tool}: {e}"));
    assert!(
        out.status.success(),
        "tests/kube/build {tool} failed (it needs Go >= 1.26 and the Go module proxy; \
         or set {var}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}
