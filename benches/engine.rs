//! Engine benchmarks in one run: snapshot of a 2,000-table database vs `pg_dump --schema-only` /
//! `mariadb-dump --no-data`, and a 500-statement DDL migration via the executor vs `psql -1 -f`.
//! Run: `cargo bench --bench engine` (starts throwaway servers unless SCHEMAGATE_TEST_* are set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use schemagate::engine::introspect::snapshot_database;
use schemagate::engine::{Change, ConnectionConfig, ExecOptions, Executor, Outcome};
use schemagate_testkit::{
    fresh_mysql_database, fresh_pg_database, host_port, mariadb, psql, shared_postgres,
};

/// The allocator the `schemagate` binary uses (src/main.rs), so that the bench measures what
/// ships.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TABLES: usize = 2000;
const RUNS: usize = 3;
/// PostgreSQL snapshot pairs (ours, pg_dump) per measurement.
const SNAPSHOT_RUNS: usize = 5;
const MIGRATION_RUNS: usize = 9;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Durations in seconds, in the order they were measured.
fn seconds(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.3}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn pg_schema() -> String {
    let mut s = String::new();
    for i in 0..TABLES {
        let cols: String = (0..18)
            .map(|c| {
                format!(
                    ", c{c} {} ",
                    ["text", "integer", "numeric(10,2)", "timestamptz"][c % 4]
                )
            })
            .collect();
        let fk = if i > 0 {
            format!(", parent_id bigint REFERENCES t{} (id)", i - 1)
        } else {
            ", parent_id bigint".into()
        };
        s.push_str(&format!(
            "CREATE TABLE t{i} (id bigserial PRIMARY KEY, code text NOT NULL UNIQUE, created timestamptz DEFAULT now(){cols}{fk});\n\
             CREATE INDEX t{i}_c1 ON t{i} (c1) WHERE c1 > 0;\nCREATE INDEX t{i}_lower ON t{i} (lower(c0));\n\
             COMMENT ON TABLE t{i} IS 'table {i}';\nCOMMENT ON COLUMN t{i}.code IS 'code of {i}';\n"
        ));
        if i % 20 == 0 {
            s.push_str(&format!(
                "CREATE VIEW v{i} AS SELECT id, code FROM t{i};\nCREATE SEQUENCE s{i};\n\
                 CREATE FUNCTION f{i}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;\n\
                 CREATE TRIGGER tr{i} BEFORE UPDATE ON t{i} FOR EACH ROW EXECUTE FUNCTION f{i}();\n"
            ));
        }
    }
    s
}

fn my_schema() -> String {
    let mut s = String::new();
    for i in 0..TABLES {
        let cols: String = (0..18)
            .map(|c| {
                format!(
                    ", c{c} {}",
                    ["varchar(50)", "int", "decimal(10,2)", "datetime"][c % 4]
                )
            })
            .collect();
        let fk = if i > 0 {
            format!(
                ", CONSTRAINT fk{i} FOREIGN KEY (parent_id) REFERENCES t{} (id)",
                i - 1
            )
        } else {
            String::new()
        };
        s.push_str(&format!(
            "CREATE TABLE t{i} (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, code varchar(40) NOT NULL, \
             parent_id bigint unsigned{cols}, UNIQUE KEY code (code), KEY c1 (c1){fk}) ENGINE=InnoDB;\n"
        ));
        if i % 20 == 0 {
            s.push_str(&format!(
                "CREATE VIEW v{i} AS SELECT id, code FROM t{i};\n\
                 CREATE TRIGGER tr{i} BEFORE UPDATE ON t{i} FOR EACH ROW SET NEW.c0 = TRIM(NEW.c0);\n\
                 CREATE FUNCTION f{i}(n int) RETURNS int DETERMINISTIC RETURN n + {i};\n"
            ));
        }
    }
    s
}

fn time_cmd(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let out = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

fn pg_bin(name: &str) -> String {
    let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs.last()
        .unwrap()
        .join("bin")
        .join(name)
        .display()
        .to_string()
}

fn report(name: &str, ours: Duration, theirs: Duration, target: f64) {
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    println!(
        "{name}: schemagate {:.3}s, reference {:.3}s, ratio {ratio:.3} (target <= {target}) {}",
        ours.as_secs_f64(),
        theirs.as_secs_f64(),
        if ratio <= target { "OK" } else { "MISSED" }
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // `cargo bench --bench engine -- migration` runs only the sections whose name contains it.
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    let run = |section: &str| section.contains(filter.as_str());

    if run("snapshot-postgres") {
        bench_pg_snapshot(&rt);
    }
    if run("snapshot-mariadb") {
        bench_mariadb_snapshot(&rt);
    }
    if run("migration") {
        bench_migration(&rt);
    }
}

/// Whether the catalogs the snapshot reads have been analysed since the database was made
/// (autovacuum may do it in the background), and how far `pg_class.reltuples` is from the truth.
fn catalog_stats(pg: &str) -> String {
    psql(
        pg,
        "SELECT string_agg(format('%s: reltuples %s, rows %s, analysed %s', c.relname, c.reltuples, \
           s.n_live_tup, coalesce(s.last_autoanalyze::text, s.last_analyze::text, 'never')), '; ' \
           ORDER BY c.relname) \
         FROM pg_class c JOIN pg_stat_all_tables s ON s.relid = c.oid \
         WHERE c.relname IN ('pg_attribute', 'pg_class', 'pg_description', 'pg_constraint', 'pg_index')",
    )
    .unwrap()
    .trim()
    .to_owned()
}

fn bench_pg_snapshot(rt: &tokio::runtime::Runtime) {
    let pg = fresh_pg_database().unwrap();
    // A database restored minutes ago: autovacuum has not analysed its catalogs yet. Off while
    // loading and measuring the "before" case (it would otherwise analyse them mid-run), then
    // back to the server's setting.
    let autovacuum = |setting: &str| {
        psql(
            &pg,
            &format!("ALTER SYSTEM {setting};\nSELECT pg_reload_conf();"),
        )
        .unwrap();
    };
    autovacuum("SET autovacuum = off");
    let t = Instant::now();
    psql(&pg, &pg_schema()).unwrap();
    eprintln!("loaded {TABLES} PostgreSQL tables in {:?}", t.elapsed());
    let cfg = ConnectionConfig::from_url(&pg).unwrap();
    // Interleaved, one of ours then one pg_dump, five times: the machine's speed drifts
    // (shared cores), and both sides should see the same drift. The first snapshot after
    // loading also pays for setting the new catalog rows' hint bits.
    let measure = |label: &str| {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..SNAPSHOT_RUNS {
            let t = Instant::now();
            let s = rt.block_on(snapshot_database(&cfg)).unwrap();
            let _ = s.canonical_ddl();
            ours.push(t.elapsed());
            theirs.push(time_cmd(Command::new(pg_bin("pg_dump")).args([
                "--schema-only",
                "-d",
                &pg,
            ])));
        }
        println!("catalog statistics {label}: {}", catalog_stats(&pg));
        println!(
            "  runs (s): schemagate {}; pg_dump {}",
            seconds(&ours),
            seconds(&theirs)
        );
        report(
            &format!("PostgreSQL snapshot vs pg_dump --schema-only, {label}"),
            median(ours),
            median(theirs),
            0.2,
        );
    };
    // Right after loading: the catalogs' statistics still describe the empty database.
    println!("catalog statistics after loading: {}", catalog_stats(&pg));
    measure("before ANALYZE");
    autovacuum("RESET autovacuum");
    psql(&pg, "ANALYZE").unwrap();
    measure("after ANALYZE");
    let schema = rt.block_on(snapshot_database(&cfg)).unwrap();
    let cols: usize = schema.tables.iter().map(|t| t.columns.len()).sum();
    let idx: usize = schema
        .tables
        .iter()
        .map(|t| t.indexes.len() + t.constraints.len())
        .sum();
    println!(
        "PostgreSQL database: {} tables, {cols} columns, {idx} indexes+constraints, {} other objects",
        schema.tables.len(),
        schema.objects.len()
    );
    // 145 MB each: a long-lived test server would fill the disk over many runs.
    let name = pg.rsplit('/').next().unwrap();
    if let Err(e) = psql(
        &shared_postgres().unwrap(),
        &format!("DROP DATABASE {name} WITH (FORCE)"),
    ) {
        eprintln!("could not drop {name}: {e}");
    }
}

fn bench_mariadb_snapshot(rt: &tokio::runtime::Runtime) {
    let my = fresh_mysql_database().unwrap();
    let db = my.rsplit('/').next().unwrap().to_owned();
    let t = Instant::now();
    mariadb(&my, Some(&db), &my_schema()).unwrap();
    eprintln!("loaded {TABLES} MariaDB tables in {:?}", t.elapsed());
    let mcfg = ConnectionConfig::from_url(&my).unwrap();
    let ours = median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                let s = rt.block_on(snapshot_database(&mcfg)).unwrap();
                let _ = s.canonical_ddl();
                t.elapsed()
            })
            .collect(),
    );
    let (host, port) = host_port(&my).unwrap();
    let theirs = median(
        (0..RUNS)
            .map(|_| {
                time_cmd(Command::new("mariadb-dump").args([
                    "--no-defaults",
                    "--no-data",
                    "--routines",
                    "--events",
                    "--triggers",
                    "-uroot",
                    &format!("-h{host}"),
                    &format!("-P{port}"),
                    &db,
                ]))
            })
            .collect(),
    );
    report(
        "MariaDB snapshot vs mariadb-dump --no-data --routines --events --triggers",
        ours,
        theirs,
        0.1,
    );
    if let Err(e) = mariadb(&my, None, &format!("DROP DATABASE {db}")) {
        eprintln!("could not drop {db}: {e}");
    }
}

fn bench_migration(rt: &tokio::runtime::Runtime) {
    let mut migration = String::new();
    for i in 0..100 {
        migration.push_str(&format!(
            "CREATE TABLE m{i} (id bigint PRIMARY KEY, a text, b integer);\nALTER TABLE m{i} ADD COLUMN c timestamptz DEFAULT now();\n\
             CREATE INDEX m{i}_a ON m{i} (a);\nCOMMENT ON TABLE m{i} IS 'table {i}';\nALTER TABLE m{i} ALTER COLUMN b SET NOT NULL;\n"
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.sql");
    std::fs::write(&file, &migration).unwrap();
    let mut theirs = Vec::new();
    let mut ours = Vec::new();
    let mut ours_nosnap = Vec::new();
    // Short runs on a shared machine: more samples for a stable median.
    for run in 0..MIGRATION_RUNS {
        let url = fresh_pg_database().unwrap();
        theirs.push(time_cmd(
            Command::new(pg_bin("psql"))
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-1", "-d", &url, "-f"])
                .arg(&file),
        ));
        for (snapshots, sink) in [(true, &mut ours), (false, &mut ours_nosnap)] {
            let url = fresh_pg_database().unwrap();
            let ex = Executor::new(
                ConnectionConfig::from_url(&url).unwrap(),
                ExecOptions {
                    capture_snapshots: snapshots,
                    ..ExecOptions::default()
                },
            );
            let change = Change {
                uid: format!("m{run}"),
                namespace: "b".into(),
                name: "m".into(),
                version: "1".into(),
                sql: migration.clone(),
                approved_by: None,
                author: None,
                operator: "bench".into(),
                transaction_mode: schemagate::engine::TransactionMode::Auto,
            };
            let t = Instant::now();
            let r = rt.block_on(ex.execute(&change)).unwrap();
            sink.push(t.elapsed());
            assert_eq!(r.outcome, Outcome::Applied);
            assert_eq!(r.statements_total, 500);
        }
    }
    let theirs = median(theirs);
    report(
        "500-statement migration (executor, with before/after snapshots) vs psql -1 -f",
        median(ours),
        theirs,
        1.05,
    );
    report(
        "500-statement migration (executor, snapshots off) vs psql -1 -f",
        median(ours_nosnap),
        theirs,
        1.05,
    );
}
