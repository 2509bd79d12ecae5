//! `schemagate dev` as a newcomer runs it: the binary as a child process, kubectl against the
//! kubeconfig it writes, the files in `examples/`, approve, wait for Applied, stop with SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubeconfig: &Path, cwd: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn playground_reviews_approves_and_applies_the_example_change() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("cp")
        .args(["-r"])
        .arg(repo.join("examples"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let kubeconfig = dir.path().join("dev.kubeconfig");
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let dev = Dev(Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .arg("dev")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--sqlite", "data/play.db"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    // The file appears only once the API, the CRDs and the operator are ready.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !kubeconfig.exists() {
        assert!(Instant::now() < deadline, "no kubeconfig after 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let cwd = dir.path();
    kubectl(&kubeconfig, cwd, &["apply", "-f", "examples/"], None);
    kubectl(
        &kubeconfig,
        cwd,
        &[
            "wait",
            "--for=jsonpath={.status.phase}=AwaitingApproval",
            "schemachange/add-accounts",
            "--timeout=60s",
        ],
        None,
    );
    let digest = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "schemachange",
            "add-accounts",
            "-o",
            "jsonpath={.status.sqlDigest}",
        ],
        None,
    );
    assert_eq!(digest.len(), 64, "{digest}");
    let uid = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "schemachange",
            "add-accounts",
            "-o",
            "jsonpath={.metadata.uid}",
        ],
        None,
    );
    let approval = std::fs::read_to_string(cwd.join("examples/approve/approval.yaml"))
        .unwrap()
        .replace("REPLACE_WITH_DIGEST", &digest)
        .replace("REPLACE_WITH_UID", &uid);
    kubectl(&kubeconfig, cwd, &["apply", "-f", "-"], Some(&approval));
    kubectl(
        &kubeconfig,
        cwd,
        &[
            "wait",
            "--for=condition=Applied",
            "schemachange/add-accounts",
            "--timeout=60s",
        ],
        None,
    );
    let applied = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "schemachange",
            "add-accounts",
            "-o",
            "jsonpath={.status.execution.statementsApplied}",
        ],
        None,
    );
    assert_eq!(applied, "1");
    // The newcomer sees the schema before and after, and what changed.
    let after = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "schemachange",
            "add-accounts",
            "-o",
            "jsonpath={.status.snapshots.after.ddl}",
        ],
        None,
    );
    assert!(after.contains("CREATE TABLE \"accounts\""), "{after}");
    let diff = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "schemachange",
            "add-accounts",
            "-o",
            "jsonpath={.status.snapshots.diff}",
        ],
        None,
    );
    assert!(diff.contains("+ table accounts"), "{diff}");
    // The change really ran in the playground's SQLite file, the one given with --sqlite.
    let database = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "databaseinstance",
            "playground",
            "-o",
            "jsonpath={.spec.database}",
        ],
        None,
    );
    let file = cwd.join("data/play.db");
    assert_eq!(Path::new(&database), file.canonicalize().unwrap().as_path());
    let conn = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from sqlite_master where name='accounts'\").fetchone()[0])",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&conn.stdout).trim(), "1");
    assert!(!cwd.join("schemagate-dev.sqlite").exists());
    // SIGTERM stops it gracefully and removes the kubeconfig.
    let mut dev = dev;
    let status = Command::new("kill")
        .args(["-TERM", &dev.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = dev.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(!kubeconfig.exists());
}
