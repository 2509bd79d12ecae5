//! Private throwaway PostgreSQL and MariaDB servers started from the installed binaries.
//! Touches only its own directory and the processes it started; never a system-wide server.

use std::fs;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The unprivileged system user that runs the servers when the tests run as root.
pub const TEST_USER: &str = "schemagate-test";

/// Which server a [`PrivateServer`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// PostgreSQL via initdb / pg_ctl.
    Postgres,
    /// MariaDB via mariadb-install-db / mariadbd.
    MariaDb,
}

/// A throwaway database server in its own directory on a free 127.0.0.1 port.
///
/// Dropping it stops the server and removes the directory (when the directory is owned, i.e. not
/// started with [`PrivateServer::start_in`] for the `sg-testdb` daemon).
#[derive(Debug)]
pub struct PrivateServer {
    kind: ServerKind,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    running: bool,
    /// Keeps the temp dir alive; `None` when the caller owns the directory.
    _temp: Option<tempfile::TempDir>,
    /// Stop on drop (false for daemonized servers handed to `sg-testdb`).
    stop_on_drop: bool,
    /// Holds the port reservation (see [`reserve_port`]) while this value lives.
    _port_lock: Option<fs::File>,
}

fn is_root() -> bool {
    // `id -u` avoids unsafe libc calls.
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Creates the unprivileged test user when running as root (idempotent, tolerant of races).
fn ensure_test_user() -> Result<()> {
    let exists = |_: ()| {
        Command::new("id")
            .arg("-u")
            .arg(TEST_USER)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if exists(()) {
        return Ok(());
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            TEST_USER,
        ])
        .output()
        .context("running useradd (package passwd)")?;
    // Another test process may have created it concurrently.
    if !exists(()) {
        bail!(
            "useradd {TEST_USER} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn chown_to_test_user(path: &Path) -> Result<()> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{TEST_USER}:"))
        .arg(path)
        .status()
        .context("running chown")?;
    if !status.success() {
        bail!("chown of {} failed", path.display());
    }
    Ok(())
}

/// A command run as the test user when we are root, else as ourselves.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg(TEST_USER).arg("--").arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn find_pg_bin(name: &str) -> Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    // Highest major version first.
    dirs.sort_by_key(|d| {
        d.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.reverse();
    for d in dirs {
        let p = d.join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    find_on_path(name).ok_or_else(|| {
        anyhow!("PostgreSQL binary `{name}` not found: install the Debian package `postgresql`")
    })
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

fn find_mariadb_bin(name: &str) -> Result<PathBuf> {
    find_on_path(name).ok_or_else(|| {
        anyhow!("MariaDB binary `{name}` not found: install the Debian package `mariadb-server`")
    })
}

/// Binary path of a PostgreSQL or MariaDB client program by name (`pg_dump`, `mariadb-dump`).
pub(crate) fn named_client_bin(kind: ServerKind, name: &str) -> Result<PathBuf> {
    match kind {
        ServerKind::Postgres => find_pg_bin(name),
        ServerKind::MariaDb => find_mariadb_bin(name),
    }
}

/// Binary path for a client program (psql, mariadb) used by helpers.
pub(crate) fn client_bin(kind: ServerKind) -> Result<PathBuf> {
    match kind {
        ServerKind::Postgres => find_pg_bin("psql"),
        ServerKind::MariaDb => find_mariadb_bin("mariadb"),
    }
}

/// Ports handed to test servers: below Linux's ephemeral range (32768–60999), so a stopped
/// server's port is never taken by the kernel for some client's outgoing connection, and never
/// handed out by `bind(0)` to another process while the server is down for a restart test.
const PORT_RANGE: std::ops::Range<u16> = 20000..32000;

/// A port reserved for one server for as long as the returned lock file stays open.
///
/// The reservation is an exclusive `flock` on `/tmp/sg-testkit-ports/<port>.lock`, so concurrent
/// test processes never pick the same port, even while its server is stopped.
fn reserve_port() -> Result<(u16, fs::File)> {
    let dir = Path::new("/tmp/sg-testkit-ports");
    fs::create_dir_all(dir).context("creating the port reservation directory")?;
    let span = PORT_RANGE.end - PORT_RANGE.start;
    // Start at a different place per process so parallel processes rarely probe the same ports.
    let offset = u16::try_from(std::process::id() % u32::from(span)).unwrap_or(0);
    for i in 0..span {
        let port = PORT_RANGE.start + (offset + i) % span;
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("{port}.lock")))
            .context("opening a port reservation file")?;
        if lock.try_lock().is_err() {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok((port, lock));
        }
    }
    bail!("no free port in {PORT_RANGE:?} for a test server")
}

fn run_checked(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl PrivateServer {
    /// Starts a server of `kind` in a fresh temp dir; stopped and removed on drop.
    pub fn start_new(kind: ServerKind) -> Result<Self> {
        // Short paths: unix socket paths must stay under ~100 bytes.
        let temp = tempfile::Builder::new().prefix("sg").tempdir_in("/tmp")?;
        let dir = temp.path().to_path_buf();
        let mut s = Self::init(kind, &dir)?;
        s._temp = Some(temp);
        s.stop_on_drop = true;
        s.spawn_watchdog()?;
        Ok(s)
    }

    /// Initialises and starts a server in `dir` (created if needed) that outlives this process.
    pub fn start_in(kind: ServerKind, dir: &Path) -> Result<Self> {
        Self::init(kind, dir)
    }

    fn init(kind: ServerKind, dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        if is_root() {
            ensure_test_user()?;
            chown_to_test_user(dir)?;
        }
        let mut s = Self {
            kind,
            dir: dir.to_path_buf(),
            port: 0,
            child: None,
            running: false,
            _temp: None,
            stop_on_drop: false,
            _port_lock: None,
        };
        match kind {
            ServerKind::Postgres => s.init_pg()?,
            ServerKind::MariaDb => s.init_mariadb()?,
        }
        let mut last = None;
        for _ in 0..3 {
            let (port, lock) = reserve_port()?;
            s.port = port;
            s._port_lock = Some(lock);
            match s.start() {
                Ok(()) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("server did not start")))
    }

    /// The engine of this server.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (data, socket, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Superuser URL for database `db`.
    pub fn url_for(&self, db: &str) -> String {
        match self.kind {
            ServerKind::Postgres => format!("postgres://postgres@127.0.0.1:{}/{db}", self.port),
            ServerKind::MariaDb => format!("mysql://root@127.0.0.1:{}/{db}", self.port),
        }
    }

    /// Superuser URL of the default database.
    pub fn url(&self) -> String {
        match self.kind {
            ServerKind::Postgres => self.url_for("postgres"),
            ServerKind::MariaDb => self.url_for(""),
        }
    }

    fn pg_data(&self) -> PathBuf {
        self.dir.join("pg")
    }

    fn my_data(&self) -> PathBuf {
        self.dir.join("my")
    }

    fn my_pidfile(&self) -> PathBuf {
        self.dir.join("my.pid")
    }

    fn my_socket(&self) -> PathBuf {
        self.dir.join("my.sock")
    }

    fn init_pg(&self) -> Result<()> {
        let initdb = find_pg_bin("initdb")?;
        let mut c = as_server_user(&initdb);
        c.arg("-D").arg(self.pg_data()).args([
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run_checked(c, "initdb")?;
        // Superuser over TCP without a password; every other role must use its password, so
        // tests can check failed logins (e.g. that a canary password never leaks).
        let hba = "local all all trust\n\
                   host all postgres 127.0.0.1/32 trust\n\
                   host all all 127.0.0.1/32 scram-sha-256\n";
        fs::write(self.pg_data().join("pg_hba.conf"), hba)?;
        if is_root() {
            chown_to_test_user(&self.pg_data())?;
        }
        Ok(())
    }

    fn init_mariadb(&self) -> Result<()> {
        let install = find_mariadb_bin("mariadb-install-db")?;
        find_mariadb_bin("mariadbd")?;
        let mut c = Command::new(install);
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", self.my_data().display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            // A private tmpdir: bootstraps running in parallel otherwise collide on temp-table
            // file names in /tmp ("Error on delete of '/tmp/#sql-temptable-…'").
            .arg(format!("--tmpdir={}", self.my_tmp()?.display()));
        if is_root() {
            c.arg(format!("--user={TEST_USER}"));
        }
        run_checked(c, "mariadb-install-db")
    }

    /// MariaDB's private temporary directory, created (and owned by the server user) on demand.
    fn my_tmp(&self) -> Result<PathBuf> {
        let tmp = self.dir.join("mytmp");
        fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        if is_root() {
            chown_to_test_user(&tmp)?;
        }
        Ok(tmp)
    }

    /// Starts (or restarts) the server on the same port and data.
    pub fn start(&mut self) -> Result<()> {
        if self.running {
            return Ok(());
        }
        match self.kind {
            ServerKind::Postgres => self.start_pg()?,
            ServerKind::MariaDb => self.start_mariadb()?,
        }
        self.running = true;
        Ok(())
    }

    fn start_pg(&self) -> Result<()> {
        let pg_ctl = find_pg_bin("pg_ctl")?;
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off \
             -c synchronous_commit=off -c max_connections=300 -c shared_buffers=32MB",
            self.port,
            self.dir.display()
        );
        let mut c = as_server_user(&pg_ctl);
        c.arg("-D")
            .arg(self.pg_data())
            .arg("-l")
            .arg(self.dir.join("pg.log"))
            .args(["-w", "-t", "60", "-o", &opts, "start"]);
        c.process_group(0);
        run_checked(c, "pg_ctl start").with_context(|| {
            let log = fs::read_to_string(self.dir.join("pg.log")).unwrap_or_default();
            format!("postgres log:\n{}", tail(&log))
        })
    }

    fn start_mariadb(&mut self) -> Result<()> {
        let mariadbd = find_mariadb_bin("mariadbd")?;
        let mut c = Command::new(mariadbd);
        c.arg("--no-defaults")
            .arg(format!("--datadir={}", self.my_data().display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--tmpdir={}", self.my_tmp()?.display()))
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--socket={}", self.my_socket().display()))
            .arg(format!("--pid-file={}", self.my_pidfile().display()))
            .arg(format!("--log-error={}", self.dir.join("my.log").display()))
            .args([
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=64M",
                "--innodb-flush-log-at-trx-commit=0",
                "--innodb-log-file-size=16M",
                "--max-connections=300",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_general_ci",
                "--event-scheduler=OFF",
            ]);
        if is_root() {
            c.arg(format!("--user={TEST_USER}"));
        }
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c.process_group(0);
        let mut child = c.spawn().context("spawning mariadbd")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = find_mariadb_bin("mariadb")?;
        loop {
            if let Some(status) = child.try_wait()? {
                let log = fs::read_to_string(self.dir.join("my.log")).unwrap_or_default();
                bail!("mariadbd exited with {status}:\n{}", tail(&log));
            }
            let ok = Command::new(&client)
                .arg("--no-defaults")
                .arg(format!("--socket={}", self.my_socket().display()))
                .args(["-uroot", "-e", BOOTSTRAP_MY])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("mariadbd did not accept connections within 60 s");
            }
            sleep(Duration::from_millis(100));
        }
        self.child = Some(child);
        Ok(())
    }

    /// Stops the server (fast shutdown); connections are refused until [`Self::start`].
    pub fn stop(&mut self) -> Result<()> {
        if !self.running {
            return Ok(());
        }
        match self.kind {
            ServerKind::Postgres => {
                let pg_ctl = find_pg_bin("pg_ctl")?;
                let mut c = as_server_user(&pg_ctl);
                c.arg("-D")
                    .arg(self.pg_data())
                    .args(["-m", "fast", "-w", "stop"]);
                run_checked(c, "pg_ctl stop")?;
            }
            ServerKind::MariaDb => self.stop_mariadb()?,
        }
        self.running = false;
        Ok(())
    }

    fn stop_mariadb(&mut self) -> Result<()> {
        let pid = fs::read_to_string(self.my_pidfile())
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !pid.is_empty() {
            let _ = Command::new("kill")
                .arg(&pid)
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut child) = self.child.take() {
            child.wait()?;
        } else if !pid.is_empty() {
            wait_gone(&pid, Duration::from_secs(60))?;
        }
        Ok(())
    }

    /// Leaves the server running after this value is dropped (used by `sg-testdb up`).
    pub fn detach(mut self) {
        self.stop_on_drop = false;
        self.child = None;
    }

    /// A shell watchdog that stops the server and removes its directory when this process dies,
    /// even by SIGKILL or abort, so per-process servers never leak.
    fn spawn_watchdog(&self) -> Result<()> {
        let me = std::process::id();
        let stop = match self.kind {
            ServerKind::Postgres => format!(
                "{} -D '{}' -m immediate stop",
                runuser_prefix(&find_pg_bin("pg_ctl")?),
                self.pg_data().display()
            ),
            ServerKind::MariaDb => format!(
                "p=$(cat '{}' 2>/dev/null); [ -n \"$p\" ] && kill -9 $p",
                self.my_pidfile().display()
            ),
        };
        let script = format!(
            "while kill -0 {me} 2>/dev/null; do sleep 1; done; \
             if [ -d '{d}' ]; then {stop}; sleep 1; rm -rf '{d}'; fi",
            d = self.dir.display()
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .context("spawning watchdog")?;
        Ok(())
    }
}

fn runuser_prefix(bin: &Path) -> String {
    if is_root() {
        format!("runuser -u {TEST_USER} -- '{}'", bin.display())
    } else {
        format!("'{}'", bin.display())
    }
}

/// Root over TCP from 127.0.0.1 (skip-name-resolve means `localhost` does not match TCP).
const BOOTSTRAP_MY: &str = "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; \
     GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;";

fn wait_gone(pid: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    while Command::new("kill")
        .args(["-0", pid])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        if Instant::now() > deadline {
            bail!("process {pid} did not exit");
        }
        sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Stops servers previously started in `dir` by `sg-testdb up` (by pid files), then removes it.
/// Best effort: every server is tried and the directory removed even when one stop fails.
pub fn stop_dir(dir: &Path) -> Result<()> {
    let mut first_err = None;
    let pg_data = dir.join("pg");
    if pg_data.join("postmaster.pid").exists() {
        let stopped = find_pg_bin("pg_ctl").and_then(|pg_ctl| {
            let mut c = as_server_user(&pg_ctl);
            c.arg("-D")
                .arg(&pg_data)
                .args(["-m", "fast", "-w", "-t", "30", "stop"]);
            run_checked(c, "pg_ctl stop")
        });
        if let Err(e) = stopped {
            first_err.get_or_insert(e);
        }
    }
    if let Ok(pid) = fs::read_to_string(dir.join("my.pid")) {
        let pid = pid.trim().to_owned();
        let _ = Command::new("kill")
            .arg(&pid)
            .stderr(Stdio::null())
            .status();
        if let Err(e) = wait_gone(&pid, Duration::from_secs(60)) {
            first_err.get_or_insert(e);
        }
    }
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    first_err.map_or(Ok(()), Err)
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        if !self.stop_on_drop || !self.running {
            return;
        }
        match self.kind {
            ServerKind::Postgres => {
                if let Ok(pg_ctl) = find_pg_bin("pg_ctl") {
                    let mut c = as_server_user(&pg_ctl);
                    c.arg("-D")
                        .arg(self.pg_data())
                        .args(["-m", "immediate", "-w", "stop"]);
                    let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
                }
            }
            ServerKind::MariaDb => {
                if let Some(mut child) = self.child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}
