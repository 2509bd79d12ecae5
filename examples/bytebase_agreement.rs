//! Measures how often `schemagate review` agrees with Bytebase's SQL advisor on Bytebase's own
//! advisor test cases (the YAML files beside each rule in bytebase/bytebase,
//! `backend/plugin/advisor/{pg,mysql}/test/*.yaml`).
//!
//! ```text
//! git clone --depth 1 https://github.com/bytebase/bytebase /tmp/bytebase
//! cargo run -q --example bytebase_agreement -- /tmp/bytebase/backend/plugin/advisor [--show RULE|all] [--lines]
//! ```
//!
//! Each case runs with only its rule enabled (as a Bytebase `ruleList` policy, at WARNING, with the
//! payload Bytebase's own test runner gives the rule) against a catalog equivalent to the mock
//! database Bytebase's runner uses. A case agrees when we report the rule on the same statements,
//! as many times each, as Bytebase expects (statements are told apart by the line they start
//! on, since Bytebase reports lines only); `same lines` also requires the finding's own line to
//! match (`--lines` counts that as the agreement).
//! Disagreements are classified: `parse` (we report `statement.syntax` where Bytebase parsed),
//! `missed` (fewer findings than expected), `extra` (more, or on other statements).
//!
//! The files are read, never copied: nothing of them is kept in this repository.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use schemagate::review::{Catalog, ChangeType, Engine, Policy, RuleId, review, split};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Case {
    statement: String,
    /// Bytebase's change type: 1 schema change (DDL), 2 data change (DML).
    #[serde(default, rename = "changeType")]
    change_type: u8,
    #[serde(default)]
    want: Vec<Want>,
}

#[derive(Debug, Deserialize)]
struct Want {
    #[serde(default)]
    title: String,
    #[serde(default)]
    startposition: Option<Position>,
}

#[derive(Debug, Deserialize)]
struct Position {
    #[serde(default)]
    line: usize,
}

/// Payloads Bytebase's test runner (`pg_rules_test.go`, `mysql_rules_test.go`) gives each rule.
fn payload(rule: &str) -> Option<&'static str> {
    let naming = r#"{"format": "^[a-z]+(_[a-z]+)*$", "maxLength": 64}"#;
    Some(match rule {
        "SYSTEM_CHARSET_ALLOWLIST" => r#"{"list": ["utf8mb4", "UTF8"]}"#,
        "SYSTEM_COLLATION_ALLOWLIST" => r#"{"list": ["utf8mb4_0900_ai_ci"]}"#,
        "COLUMN_COMMENT" | "TABLE_COMMENT" => r#"{"required": true, "maxLength": 10}"#,
        "COLUMN_MAXIMUM_CHARACTER_LENGTH" | "SYSTEM_COMMENT_LENGTH" => r#"{"number": 20}"#,
        "COLUMN_MAXIMUM_VARCHAR_LENGTH" => r#"{"number": 2560}"#,
        "COLUMN_AUTO_INCREMENT_INITIAL_VALUE" => r#"{"number": 20}"#,
        "COLUMN_TYPE_DISALLOW_LIST" => r#"{"list": ["JSON", "BINARY_FLOAT"]}"#,
        "NAMING_INDEX_FK" => {
            r#"{"format": "^$|^fk_{{referencing_table}}_{{referencing_column}}_{{referenced_table}}_{{referenced_column}}$", "maxLength": 64}"#
        }
        "NAMING_INDEX_IDX" => {
            r#"{"format": "^$|^idx_{{table}}_{{column_list}}$", "maxLength": 64}"#
        }
        "NAMING_INDEX_PK" => r#"{"format": "^$|^pk_{{table}}_{{column_list}}$", "maxLength": 64}"#,
        "NAMING_INDEX_UK" => r#"{"format": "^$|^uk_{{table}}_{{column_list}}$", "maxLength": 64}"#,
        "NAMING_COLUMN_AUTO_INCREMENT" => r#"{"format": "^id$", "maxLength": 64}"#,
        "NAMING_TABLE" | "NAMING_COLUMN" => naming,
        "INDEX_KEY_NUMBER_LIMIT"
        | "INDEX_TOTAL_NUMBER_LIMIT"
        | "STATEMENT_INSERT_ROW_LIMIT"
        | "STATEMENT_AFFECTED_ROW_LIMIT" => r#"{"number": 5}"#,
        "STATEMENT_WHERE_MAXIMUM_LOGICAL_OPERATOR_COUNT" => r#"{"number": 2}"#,
        "INDEX_PRIMARY_KEY_TYPE_ALLOWLIST" => {
            r#"{"list": ["serial", "bigserial", "int", "bigint"]}"#
        }
        "INDEX_TYPE_ALLOW_LIST" => r#"{"list": ["BTREE", "HASH"]}"#,
        "COLUMN_REQUIRED" => {
            r#"{"list": ["id", "created_ts", "updated_ts", "creator_id", "updater_id"]}"#
        }
        "SYSTEM_FUNCTION_DISALLOWED_LIST" => r#"{"list": ["rand", "uuid", "sleep"]}"#,
        "TABLE_DROP_NAMING_CONVENTION" => r#"{"format": "_delete$"}"#,
        _ => return None,
    })
}

/// The schema of the mock database Bytebase's runner reviews against, as DDL.
fn mock_schema(engine: Engine) -> &'static str {
    match engine {
        Engine::Mysql => {
            "CREATE TABLE tech_book (id int, name varchar(255), creator varchar(255),
               PRIMARY KEY (id, name), UNIQUE KEY old_uk (id, name), KEY old_index (id, name));
             CREATE TABLE orders (order_id int, customer_name varchar(255), amount decimal(10,2),
               note varchar(255), name varchar(255), PRIMARY KEY (order_id),
               KEY idx_customer (customer_name), KEY idx_amount (amount));"
        }
        _ => {
            "CREATE TABLE public.tech_book (id integer, name text, creator text,
               CONSTRAINT old_pk PRIMARY KEY (id, name), CONSTRAINT old_uk UNIQUE (id, name));
             CREATE INDEX old_index ON public.tech_book (id, name);
             CREATE TABLE public.orders (order_id integer, customer_name text, amount numeric,
               note text, name text, CONSTRAINT orders_pkey PRIMARY KEY (order_id));
             CREATE INDEX idx_orders_customer ON public.orders (customer_name);
             CREATE INDEX idx_orders_amount ON public.orders (amount);
             CREATE TABLE public.products (product_id integer, title text, price numeric,
               CONSTRAINT products_pkey PRIMARY KEY (product_id));
             CREATE INDEX idx_products_price ON public.products (price);
             CREATE TABLE public.no_index_table (col_a integer, col_b text);
             CREATE TABLE public.insert_target (id integer, name text);"
        }
    }
}

#[derive(Default)]
struct Tally {
    total: usize,
    agree: usize,
    agree_lines: usize,
    parse: usize,
    missed: usize,
    extra: usize,
}

struct Options {
    dir: PathBuf,
    show: Option<String>,
    lines: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let mut show = None;
    let mut lines = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--show" => show = Some(args.next().ok_or("--show needs a rule or `all`")?),
            "--lines" => lines = true,
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let dir = dir.ok_or("usage: bytebase_agreement ADVISOR_DIR [--show RULE|all] [--lines]")?;
    Ok(Options { dir, show, lines })
}

/// 0-based statement index of each 1-based line, by the statements' start lines.
fn statement_of_line(starts: &[usize], line: usize) -> usize {
    starts.iter().rposition(|s| *s <= line).unwrap_or(0)
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut skipped: Vec<String> = Vec::new();
    for (dir, engine) in [("pg", Engine::Postgres), ("mysql", Engine::Mysql)] {
        let catalog = match Catalog::from_ddl(engine, mock_schema(engine)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("mock schema: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut files: Vec<PathBuf> = match std::fs::read_dir(opts.dir.join(dir).join("test")) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                eprintln!("{}: {e}", opts.dir.join(dir).join("test").display());
                return ExitCode::FAILURE;
            }
        };
        files.sort();
        for file in files {
            if let Err(e) = run_file(&file, engine, &catalog, &opts, &mut tallies, &mut skipped) {
                eprintln!("{}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    }
    report(&tallies, &skipped, opts.lines);
    ExitCode::SUCCESS
}

fn run_file(
    file: &Path,
    engine: Engine,
    catalog: &Catalog,
    opts: &Options,
    tallies: &mut BTreeMap<String, Tally>,
    skipped: &mut Vec<String>,
) -> Result<(), String> {
    if file.extension().and_then(|e| e.to_str()) != Some("yaml") {
        return Ok(());
    }
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_ascii_uppercase();
    let engine_name = if engine == Engine::Postgres {
        "pg"
    } else {
        "mysql"
    };
    let Some(rule) = RuleId::lookup(&stem) else {
        skipped.push(format!("{engine_name}/{stem} (unknown id)"));
        return Ok(());
    };
    let info = &schemagate::review::RULES[rule as usize];
    if !info.supports(engine) {
        skipped.push(format!(
            "{engine_name}/{stem} (not defined for this engine)"
        ));
        return Ok(());
    }
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let cases: Vec<Case> = serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())?;
    let payload = payload(&stem).unwrap_or("");
    let policy_yaml = format!(
        "ruleList:\n  - type: {stem}\n    level: WARNING\n    payload: '{}'\n  - type: STATEMENT_SYNTAX\n    level: WARNING\n",
        payload.replace('\'', "''")
    );
    let base_policy = Policy::from_yaml(&policy_yaml).map_err(|e| e.to_string())?;
    let key = format!("{engine_name} {}", info.name);
    let show = opts
        .show
        .as_deref()
        .is_some_and(|s| s == "all" || s == info.name || s.eq_ignore_ascii_case(&stem));
    for (i, case) in cases.iter().enumerate() {
        let starts: Vec<usize> = split::split(&case.statement, engine)
            .map(|s| s.line)
            .collect();
        let mut policy = base_policy.clone();
        policy.set_change_type(match case.change_type {
            1 => Some(ChangeType::Ddl),
            2 => Some(ChangeType::Dml),
            _ => None,
        });
        let r = review(&case.statement, engine, &policy, Some(catalog));
        let mut ours: Vec<(usize, usize, bool)> = r
            .findings
            .iter()
            .filter(|f| f.rule == info.name || f.rule == "statement.syntax")
            .map(|f| (f.statement, f.line, f.rule == "statement.syntax"))
            .collect();
        let mut want: Vec<(usize, usize, bool)> = case
            .want
            .iter()
            .map(|w| {
                let line = w.startposition.as_ref().map_or(1, |p| p.line.max(1));
                let syntax = w.title.to_ascii_lowercase().contains("syntax");
                (statement_of_line(&starts, line), line, syntax)
            })
            .collect();
        ours.sort_unstable();
        want.sort_unstable();
        // Bytebase reports lines only, so statements that start on one line are one place.
        let by_stmt = |v: &[(usize, usize, bool)]| {
            let mut l: Vec<usize> = v
                .iter()
                .map(|x| starts.get(x.0).copied().unwrap_or(x.0))
                .collect();
            l.sort_unstable();
            l
        };
        let agree = by_stmt(&ours) == by_stmt(&want);
        let by_line = |v: &[(usize, usize, bool)]| {
            let mut l: Vec<usize> = v.iter().map(|x| x.1).collect();
            l.sort_unstable();
            l
        };
        let agree_lines = agree && by_line(&ours) == by_line(&want);
        let t = tallies.entry(key.clone()).or_default();
        t.total += 1;
        t.agree += usize::from(agree);
        t.agree_lines += usize::from(agree_lines);
        let ok = if opts.lines { agree_lines } else { agree };
        if !ok {
            let class = if ours.iter().any(|o| o.2) && !want.iter().any(|w| w.2) {
                t.parse += 1;
                "parse"
            } else if ours.len() < want.len() {
                t.missed += 1;
                "missed"
            } else {
                t.extra += 1;
                "extra"
            };
            if show {
                println!(
                    "--- {key} case {i} [{class}]\n{}",
                    case.statement.trim_end()
                );
                println!("  want (statement, line): {:?}", strip(&want));
                println!("  ours (statement, line): {:?}", strip(&ours));
                for f in &r.findings {
                    if f.rule == info.name || f.rule == "statement.syntax" {
                        println!("    {}:{} {}: {}", f.line, f.column, f.rule, f.message);
                    }
                }
            }
        }
    }
    Ok(())
}

fn strip(v: &[(usize, usize, bool)]) -> Vec<(usize, usize)> {
    v.iter().map(|x| (x.0, x.1)).collect()
}

#[allow(clippy::cast_precision_loss)]
fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        100.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

fn report(tallies: &BTreeMap<String, Tally>, skipped: &[String], lines: bool) {
    println!(
        "| engine rule | cases | agree | % | same lines | parse | missed | extra |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut all = Tally::default();
    for (rule, t) in tallies {
        println!(
            "| {rule} | {} | {} | {:.1} | {} | {} | {} | {} |",
            t.total,
            t.agree,
            pct(t.agree, t.total),
            t.agree_lines,
            t.parse,
            t.missed,
            t.extra
        );
        all.total += t.total;
        all.agree += t.agree;
        all.agree_lines += t.agree_lines;
        all.parse += t.parse;
        all.missed += t.missed;
        all.extra += t.extra;
    }
    println!(
        "\noverall: {}/{} cases agree ({:.1}%), {}/{} on the same lines ({:.1}%); disagreements{}: {} parse, {} missed, {} extra",
        all.agree,
        all.total,
        pct(all.agree, all.total),
        all.agree_lines,
        all.total,
        pct(all.agree_lines, all.total),
        if lines { " (by line)" } else { "" },
        all.parse,
        all.missed,
        all.extra
    );
    let below: Vec<&String> = tallies
        .iter()
        .filter(|(_, t)| pct(t.agree, t.total) < 90.0)
        .map(|(k, _)| k)
        .collect();
    println!("rules below 90%: {}", below.len());
    if !skipped.is_empty() {
        println!("not measured: {}", skipped.join(", "));
    }
}
