//! SQL review benchmark: generates a realistic ~10 MB migration per dialect and compares the
//! full `default`-policy review with a raw `sqlparser` parse of the same text (throughput), then
//! measures the review's peak memory in a child process (VmHWM) and the time for a 2 MiB script.
//!
//! Run: `cargo bench --bench review` (add `-- --quick` for a 2 MB smoke run).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use schemagate::cli::review_output::{FileReport, Format, write as write_output};
use schemagate::review::{Engine, Policy, Report, review};
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

/// The allocator the `schemagate` binary uses (src/main.rs), so that the bench measures what
/// ships (both sides: the raw parse runs with it too).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TYPES_PG: &[&str] = &[
    "bigint",
    "integer",
    "varchar(255)",
    "text",
    "timestamptz",
    "boolean",
    "numeric(12,2)",
    "jsonb",
    "date",
    "uuid",
];
const TYPES_MY: &[&str] = &[
    "bigint",
    "int",
    "varchar(255)",
    "text",
    "datetime",
    "tinyint(1)",
    "decimal(12,2)",
    "json",
    "date",
    "char(36)",
];

/// A deterministic pseudo-random sequence (no dependency, reproducible scripts).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

/// About `target` bytes of migration: CREATE TABLE (10–30 columns), indexes, foreign keys,
/// ALTERs, COMMENTs and multi-row INSERTs.
fn generate(engine: Engine, target: usize) -> String {
    let mut rng = Lcg(42);
    let mut s = String::with_capacity(target + 64 * 1024);
    let q = |n: &str| match engine {
        Engine::Mysql => format!("`{n}`"),
        _ => n.to_owned(),
    };
    let types = if engine == Engine::Mysql {
        TYPES_MY
    } else {
        TYPES_PG
    };
    let mut t = 0usize;
    while s.len() < target {
        let table = format!("app_table_{t:05}");
        let ncols = 10 + rng.next(21);
        let mut cols = Vec::new();
        let _ = writeln!(s, "-- table {t}");
        let _ = write!(
            s,
            "CREATE TABLE {} (\n  {} bigint NOT NULL",
            q(&table),
            q("id")
        );
        if engine == Engine::Mysql {
            s.push_str(" AUTO_INCREMENT COMMENT 'primary key'");
        }
        for c in 0..ncols {
            let name = format!("column_{c:02}");
            let ty = types[rng.next(types.len())];
            let _ = write!(s, ",\n  {} {ty}", q(&name));
            if rng.next(2) == 0 {
                s.push_str(" NOT NULL");
            }
            if ty.starts_with("varchar") && rng.next(3) == 0 {
                s.push_str(" DEFAULT ''");
            }
            if engine == Engine::Mysql {
                let _ = write!(s, " COMMENT 'the {name} of {table}'");
            }
            cols.push(name);
        }
        if t > 0 {
            s.push_str(",\n  parent_id bigint");
        }
        let _ = write!(s, ",\n  PRIMARY KEY ({})\n)", q("id"));
        if engine == Engine::Mysql {
            let _ = write!(
                s,
                " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='table {t}'"
            );
        }
        s.push_str(";\n");
        for i in 0..2 {
            let c = &cols[rng.next(cols.len())];
            let _ = writeln!(
                s,
                "CREATE INDEX {} ON {} ({});",
                q(&format!("idx_{table}_{c}_{i}")),
                q(&table),
                q(c)
            );
        }
        if t > 0 {
            let parent = format!("app_table_{:05}", rng.next(t));
            let _ = writeln!(
                s,
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({});",
                q(&table),
                q(&format!("fk_{table}_parent_id_{parent}_id")),
                q("parent_id"),
                q(&parent),
                q("id")
            );
        }
        let _ = writeln!(
            s,
            "ALTER TABLE {} ADD COLUMN {} varchar(64);",
            q(&table),
            q("extra_note")
        );
        if engine == Engine::Postgres {
            let _ = writeln!(
                s,
                "COMMENT ON TABLE {table} IS 'Table number {t}, generated for the benchmark';"
            );
        }
        let _ = write!(
            s,
            "INSERT INTO {} ({}, {}) VALUES",
            q(&table),
            q("id"),
            q("extra_note")
        );
        for r in 0..40 {
            let _ = write!(
                s,
                "{}\n  ({r}, 'row {r} of {table} with some text')",
                if r == 0 { "" } else { "," }
            );
        }
        s.push_str(";\n\n");
        t += 1;
    }
    s
}

fn dialect(engine: Engine) -> Box<dyn Dialect> {
    match engine {
        Engine::Postgres => Box::new(PostgreSqlDialect {}),
        Engine::Mysql => Box::new(MySqlDialect {}),
        Engine::Sqlite => Box::new(SQLiteDialect {}),
    }
}

/// CPU time (user + system) of this process so far, every thread counted, from
/// `/proc/self/stat` (clock ticks of 10 ms): the load-independent twin of wall time.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces): utime and
    // stime are the 14th and 15th fields of the line, the 12th and 13th after `) `.
    let after = stat.rsplit_once(") ").map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Wall and CPU time of one call of `f`.
fn timed(f: impl FnOnce()) -> (Duration, Duration) {
    let (wall, cpu) = (Instant::now(), cpu_time());
    f();
    (wall.elapsed(), cpu_time().saturating_sub(cpu))
}

/// The best wall and the best CPU time seen so far, each its own minimum.
#[derive(Clone, Copy)]
struct Best {
    wall: Duration,
    cpu: Duration,
}

impl Best {
    const NONE: Best = Best {
        wall: Duration::MAX,
        cpu: Duration::MAX,
    };

    fn add(&mut self, (wall, cpu): (Duration, Duration)) {
        self.wall = self.wall.min(wall);
        self.cpu = self.cpu.min(cpu);
    }
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Counts what is written and drops it (stdout without a terminal).
#[derive(Default)]
struct Counting(usize);

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn format_of(name: &str) -> Option<Format> {
    match name {
        "text" => Some(Format::Text),
        "json" => Some(Format::Json),
        "sarif" => Some(Format::Sarif),
        _ => None,
    }
}

/// What `schemagate review --format F` does after reviewing: write every finding through a
/// 64 KiB buffer. Returns the bytes written.
fn print(format: Format, report: Report) -> usize {
    let reports = [FileReport {
        path: "migration.sql".into(),
        object: None,
        report,
    }];
    let mut sink = std::io::BufWriter::with_capacity(1 << 16, Counting::default());
    write_output(format, &reports, &mut sink).unwrap();
    sink.into_inner().map(|c| c.0).unwrap_or(0)
}

/// Child mode: generate, then report RSS before and peak RSS after one review (or raw parse).
fn child(what: &str, engine: Engine, size: usize) {
    let sql = generate(engine, size);
    let policy = Policy::preset("default").unwrap();
    let before = status_kb("VmRSS:");
    match what {
        "review" => {
            let r = review(&sql, engine, &policy, None);
            std::hint::black_box(r.findings.len());
        }
        f if format_of(f).is_some() => {
            let r = review(&sql, engine, &policy, None);
            std::hint::black_box(print(format_of(f).unwrap(), r));
        }
        _ => {
            let stmts = Parser::parse_sql(&*dialect(engine), &sql).unwrap();
            std::hint::black_box(stmts.len());
        }
    }
    println!("{} {} {}", sql.len(), before, status_kb("VmHWM:"));
}

fn peak(what: &str, engine: Engine, size: usize) -> (usize, u64) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--child", what, engine.as_str(), &size.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<u64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    assert_eq!(v.len(), 3, "child output: {text}");
    (v[0] as usize, (v[2].saturating_sub(v[1])) * 1024)
}

/// Throughput of what took `time` relative to what took `baseline` (`baseline / time`); 0 when
/// unmeasured.
fn ratio(time: Duration, baseline: Duration) -> f64 {
    if time.is_zero() || time == Duration::MAX {
        return 0.0;
    }
    baseline.as_secs_f64() / time.as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(
            &args[i + 1],
            args[i + 2].parse().unwrap(),
            args[i + 3].parse().unwrap(),
        );
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--once") {
        // For `valgrind --tool=callgrind`: `--once ENGINE MODE [BYTES]` generates the script, then does
        // MODE once: `gen` (nothing more: the baseline to subtract), `raw` (sqlparser's
        // `parse_sql` of the whole script, as the bench times it), `review`, or `text` / `json`
        // / `sarif` (review, then print every finding). Instruction counts of MODE minus `gen`
        // compare the work of each mode independently of the machine's load.
        // An optional fourth argument sets the script size in bytes (default 10 MB).
        let engine: Engine = args[i + 1].parse().unwrap();
        let mode = args[i + 2].as_str();
        let size = args.get(i + 3).map_or(10_000_000, |s| s.parse().unwrap());
        let sql = generate(engine, size);
        let policy = Policy::preset("default").unwrap();
        match mode {
            "gen" => {}
            "raw" => {
                std::hint::black_box(Parser::parse_sql(&*dialect(engine), &sql).unwrap().len());
            }
            "review" => {
                std::hint::black_box(review(&sql, engine, &policy, None));
            }
            f => {
                let format = format_of(f).unwrap_or_else(|| panic!("unknown mode {f}"));
                std::hint::black_box(print(format, review(&sql, engine, &policy, None)));
            }
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        // For `perf record`: `--profile postgres` reviews three times; `--profile postgres
        // sarif` reviews once and prints ten times.
        let engine: Engine = args[i + 1].parse().unwrap();
        let sql = generate(engine, 10_000_000);
        let policy = Policy::preset("default").unwrap();
        if let Some(format) = args.get(i + 2).and_then(|f| format_of(f)) {
            let report = review(&sql, engine, &policy, None);
            let reports = [FileReport {
                path: "migration.sql".into(),
                object: None,
                report,
            }];
            let start = Instant::now();
            for _ in 0..10 {
                let mut sink = std::io::BufWriter::with_capacity(1 << 16, Counting::default());
                write_output(format, &reports, &mut sink).unwrap();
                std::hint::black_box(sink.into_inner().map(|c| c.0).unwrap_or(0));
            }
            println!("{:?} per output", start.elapsed() / 10);
            return;
        }
        for _ in 0..3 {
            std::hint::black_box(review(&sql, engine, &policy, None));
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let size = if quick { 2_000_000 } else { 10_000_000 };
    let runs = if quick { 1 } else { 5 };
    let policy = Policy::preset("default").unwrap();
    let no_rules = Policy::from_yaml("ruleList: []").unwrap();
    println!(
        "| engine | script | statements | findings | raw parse | review | review/raw | CPU review/raw | split+parse only | review peak mem | peak/script | raw parse peak mem | 2 MiB review |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut formats = Vec::new();
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let sql = generate(engine, size);
        let mb = sql.len() as f64 / 1e6;
        let d = dialect(engine);
        // Interleave the runs so both see the same machine load; keep the best of each.
        let mut n_raw = 0;
        let mut report = None;
        let (mut raw, mut rev, mut bare) = (Best::NONE, Best::NONE, Best::NONE);
        for _ in 0..runs {
            raw.add(timed(|| {
                n_raw = Parser::parse_sql(&*d, &sql).unwrap().len()
            }));
            // The previous run's report is dropped inside the timing, as the raw parse's ASTs.
            rev.add(timed(|| report = Some(review(&sql, engine, &policy, None))));
            bare.add(timed(|| {
                std::hint::black_box(review(&sql, engine, &no_rules, None));
            }));
        }
        let report = report.unwrap();
        assert_eq!(report.statements, n_raw, "splitter and parser disagree");
        assert!(
            !report.findings.iter().any(|f| f.rule == "statement.syntax"),
            "generated SQL must parse"
        );
        let raw_mbs = mb / raw.wall.as_secs_f64();
        let rev_mbs = mb / rev.wall.as_secs_f64();
        let (bytes, review_peak) = peak("review", engine, size);
        let (_, raw_peak) = peak("parse", engine, size);
        let small = generate(engine, 2 * 1024 * 1024);
        let t2 = best_of(runs, || {
            std::hint::black_box(review(&small, engine, &policy, None));
        });
        println!(
            "| {engine} | {:.1} MB | {} | {} | {raw_mbs:.1} MB/s | {rev_mbs:.1} MB/s | {:.2}× | {:.2}× | {:.1} MB/s | {:.1} MB | {:.2}× | {:.1} MB | {:.0} ms |",
            mb,
            report.statements,
            report.findings.len(),
            rev_mbs / raw_mbs,
            ratio(rev.cpu, raw.cpu),
            mb / bare.wall.as_secs_f64(),
            review_peak as f64 / 1e6,
            review_peak as f64 / bytes as f64,
            raw_peak as f64 / 1e6,
            t2.as_secs_f64() * 1e3,
        );
        // The whole command: review, then every finding written in each output format,
        // interleaved with the raw parse again so both see the same load.
        for name in ["text", "json", "sarif"] {
            let format = format_of(name).unwrap();
            let (mut raw, mut full, mut written) = (Best::NONE, Best::NONE, 0);
            for _ in 0..runs {
                raw.add(timed(|| {
                    std::hint::black_box(Parser::parse_sql(&*d, &sql).unwrap().len());
                }));
                full.add(timed(|| {
                    written = print(format, review(&sql, engine, &policy, None));
                }));
            }
            let (bytes, peak_mem) = peak(name, engine, size);
            formats.push(format!(
                "| {engine} | {name} | {:.1} MB | {:.1} MB/s | {:.2}× | {:.2}× | {:.1} MB | {:.2}× |",
                written as f64 / 1e6,
                mb / full.wall.as_secs_f64(),
                ratio(full.wall, raw.wall),
                ratio(full.cpu, raw.cpu),
                peak_mem as f64 / 1e6,
                peak_mem as f64 / bytes as f64,
            ));
        }
    }
    println!();
    println!(
        "| engine | output | output size | review + output | ×raw parse | CPU ×raw parse | peak mem | peak/script |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for line in formats {
        println!("{line}");
    }
}
