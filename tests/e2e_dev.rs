//! `schemagate dev` as a newcomer runs it: the binary as a child process, kubectl against the
//! kubeconfig it writes, the files in `examples/`, approve, wait for Applied, stop with SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
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

/// What the README walks through: apply `examples/`, wait for the review, approve exactly the
/// reviewed digest and uid, wait until the change is Applied.
fn apply_and_approve_examples(kubeconfig: &Path, examples: &Path) {
    // From another directory: the paths `dev` prints are absolute.
    let cwd = Path::new("/");
    kubectl(
        kubeconfig,
        cwd,
        &["apply", "-f", examples.to_str().unwrap()],
        None,
    );
    kubectl(
        kubeconfig,
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
        kubeconfig,
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
        kubeconfig,
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
    let approval = std::fs::read_to_string(examples.join("approve/approval.yaml"))
        .unwrap()
        .replace("REPLACE_WITH_DIGEST", &digest)
        .replace("REPLACE_WITH_UID", &uid);
    kubectl(kubeconfig, cwd, &["apply", "-f", "-"], Some(&approval));
    kubectl(
        kubeconfig,
        cwd,
        &[
            "wait",
            "--for=condition=Applied",
            "schemachange/add-accounts",
            "--timeout=60s",
        ],
        None,
    );
}

/// Starts `schemagate dev` in `cwd` with `args`, its stdout in `out`; returns once the
/// kubeconfig exists, with the kubeconfig path it printed.
fn start_dev(cwd: &Path, args: &[&str], out: &Path) -> (Dev, PathBuf) {
    let dev = Dev(Command::new(env!("CARGO_BIN_EXE_schemagate"))
        .arg("dev")
        .args(args)
        .current_dir(cwd)
        .stdout(std::fs::File::create(out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let printed = std::fs::read_to_string(out).unwrap();
        if let Some(line) = printed.lines().find(|l| l.contains("export KUBECONFIG=")) {
            let path = PathBuf::from(line.trim().trim_start_matches("export KUBECONFIG="));
            assert!(path.is_absolute(), "{printed}");
            assert!(
                path.exists(),
                "printed once the kubeconfig is written: {printed}"
            );
            return (dev, path);
        }
        assert!(Instant::now() < deadline, "not ready after 60 s: {printed}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(mut dev: Dev) {
    let status = Command::new("kill")
        .args(["-TERM", &dev.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = dev.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

fn table_exists(file: &Path, table: &str) -> bool {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from sqlite_master where name=?\", (sys.argv[2],)).fetchone()[0])",
        ])
        .arg(file)
        .arg(table)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

#[test]
fn the_playground_restarts_with_a_fresh_database_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("cp")
        .args(["-r"])
        .arg(repo.join("examples"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let cwd = dir.path();
    let database = cwd.join("schemagate-dev.sqlite");
    // Twice in a row, with the defaults a newcomer uses: the examples apply both times (the
    // second start does not meet the first one's history: VersionOutOfOrder before).
    for round in 0..2 {
        let out = cwd.join(format!("dev-{round}.out"));
        let (dev, kubeconfig) = start_dev(cwd, &[], &out);
        assert_eq!(kubeconfig, cwd.join("schemagate-dev.kubeconfig"));
        let printed = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            printed.contains("starting with an empty database"),
            round == 1,
            "{printed}"
        );
        assert!(
            printed.contains(&format!(
                "kubectl apply -f {}/",
                cwd.join("examples").display()
            )),
            "the examples as an absolute path: {printed}"
        );
        // The printed paths work from anywhere: kubectl runs in another directory.
        apply_and_approve_examples(&kubeconfig, &cwd.join("examples"));
        assert!(table_exists(&database, "accounts"));
        stop(dev);
        assert!(!kubeconfig.exists());
    }
    // --keep: the last start's database survives (its table and its history).
    let out = cwd.join("dev-keep.out");
    let (dev, _) = start_dev(cwd, &["--keep"], &out);
    assert!(table_exists(&database, "accounts"));
    assert!(
        !std::fs::read_to_string(&out)
            .unwrap()
            .contains("empty database")
    );
    stop(dev);
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
    apply_and_approve_examples(&kubeconfig, &cwd.join("examples"));
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
    // No TLS settings on a SQLite instance (`kubectl describe` showed `Tls: Mode: require`).
    let tls = kubectl(
        &kubeconfig,
        cwd,
        &[
            "get",
            "databaseinstance",
            "playground",
            "-o",
            "jsonpath={.spec.tls}",
        ],
        None,
    );
    assert_eq!(tls, "", "a SQLite instance has no TLS settings");
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
