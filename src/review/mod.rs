//! SQL review: statement splitting, parsing, rules, policy and findings. Pure: no kube, no sqlx.
//!
//! Entry point: [`review`] takes a script, an [`Engine`], a [`Policy`] and optionally the target
//! database's current schema as a [`Catalog`], and returns a [`Report`]. Statements are split,
//! parsed and checked one at a time, so memory stays proportional to the largest statement (plus
//! the catalog and the findings), never to the whole script's syntax trees.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
mod bulk_values;
pub mod catalog;
mod guards;
pub mod impact;
pub mod live;
mod parse;
pub mod policy;
pub(crate) mod recover;
pub mod registry;
mod risk;
mod rules;
pub use crate::sqltext::split;

use crate::sqltext::guard;

pub use crate::sqltext::{Engine, UnknownEngine};
pub use catalog::{Catalog, CatalogError};
pub use policy::{ChangeType, Payload, Policy, PolicyError, RuleLevel};
pub use registry::{RULES, RuleId, RuleInfo};
pub use risk::statement_risk;

/// The level of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Should be fixed, does not block at `--fail-on error`.
    Warning,
    /// Blocks the change.
    Error,
}

impl Level {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
        }
    }
}

/// Risk of a statement or a script, for approval policies (see [`statement_risk`]). What the
/// reviewer cannot fully understand is never `Low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Risk {
    /// Anything not listed below.
    Low,
    /// UPDATE, DELETE, MERGE, ALTER TABLE, DROP INDEX, DML nested in any statement (CTEs),
    /// calls of functions other than well-known side-effect-free builtins, CREATE FUNCTION /
    /// PROCEDURE / TRIGGER / EVENT, and any statement the parser cannot read.
    Moderate,
    /// DROP DATABASE / SCHEMA / TABLE, TRUNCATE, CREATE OR REPLACE TABLE, procedural blocks
    /// (DO, BEGIN NOT ATOMIC), CALL, dynamic SQL (EXECUTE, PREPARE), MySQL executable comments,
    /// and unparsed statements whose words say DROP TABLE/SCHEMA/DATABASE or TRUNCATE.
    High,
}

impl Risk {
    /// `LOW`, `MODERATE` or `HIGH`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "LOW",
            Risk::Moderate => "MODERATE",
            Risk::High => "HIGH",
        }
    }
}

/// One rule violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Canonical dotted rule id, e.g. `table.require-pk` (or `statement.syntax`).
    pub rule: String,
    /// Level from the policy.
    pub level: Level,
    /// 0-based index of the statement in the script.
    pub statement: usize,
    /// 1-based line of the offending element (a column, key, filter expression or table
    /// name), or of the statement's start when the finding is about the whole statement.
    pub line: usize,
    /// 0-based column (in characters) on that line.
    pub column: usize,
    /// What is wrong, for people.
    pub message: String,
}

/// The result of reviewing one script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Engine the script was reviewed for.
    pub engine: Engine,
    /// Number of statements found by the splitter.
    pub statements: usize,
    /// Overall risk: the highest statement risk (LOW for an empty script).
    pub risk: Risk,
    /// Risk of each statement, by index.
    pub statement_risks: Vec<Risk>,
    /// Findings in statement order.
    pub findings: Vec<Finding>,
    /// What each statement locks, rewrites or scans (statements that touch no existing table
    /// have none), in statement order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impacts: Vec<impact::Impact>,
    /// Rules the policy enables that had statements to judge but were not evaluated: those that
    /// need a live database when the review had none (see [`live`]). Not findings: they never
    /// fail a review, they say what it did not check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_evaluated: Vec<live::NotEvaluated>,
}

impl Report {
    /// Number of error findings.
    #[must_use]
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }

    /// Number of warning findings.
    #[must_use]
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Warning)
            .count()
    }

    /// Whether any finding is at or above `level`.
    #[must_use]
    pub fn fails_at(&self, level: Level) -> bool {
        self.findings.iter().any(|f| f.level >= level)
    }
}

/// sha256 of the exact SQL bytes, as lowercase hex (the digest an `Approval` must name).
#[must_use]
pub fn sql_digest(sql: &str) -> String {
    let digest = Sha256::digest(sql.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        use fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// One statement of the script as the rules receive it: cut, with MySQL executable comments
/// expanded, and parsed (or recovered). Needs no review state. (Making these on a second thread
/// ahead of the rules was measured: more CPU and no faster, as the ASTs are then freed on
/// another thread than the one that allocated them.)
struct Prepared<'s> {
    raw: split::RawStatement<'s>,
    executable: bool,
    text: std::borrow::Cow<'s, str>,
    parsed: Parsed,
}

enum Parsed {
    /// Not parsed: the script is too large (`builtin.statement.maximum-sql-size`).
    Skipped,
    Statements(Vec<sqlparser::ast::Statement>),
    /// sqlparser refused it; what the focused recognizers made of it, if anything.
    Failed(sqlparser::parser::ParserError, Option<recover::Recovered>),
}

impl<'s> Prepared<'s> {
    fn new(engine: Engine, raw: split::RawStatement<'s>, parse: bool) -> Self {
        let executable = guard::has_executable_comment(engine, raw.text);
        let text = guard::expand_executable_comments(engine, raw.text);
        let parsed = if !parse {
            Parsed::Skipped
        } else {
            match parse::parse(engine, &text) {
                Ok(statements) => Parsed::Statements(statements),
                Err(err) => Parsed::Failed(err, recover::recover(engine, &text)),
            }
        };
        Prepared {
            raw,
            executable,
            text,
            parsed,
        }
    }
}

/// Reviews `sql` for `engine` under `policy`. `schema` is the target database's current schema;
/// without it, rules that need existing objects only see what the script itself creates and
/// references to unknown objects are not reported.
///
/// schemagate's built-in guards (`schemagate.*`) run whatever the policy says: transaction
/// control and NUL bytes are errors, a script without statements is an error, and a MySQL
/// executable comment is a warning (the statement is reviewed as the server runs it, with the
/// comment's content as SQL, and its risk is HIGH).
#[must_use]
pub fn review(sql: &str, engine: Engine, policy: &Policy, schema: Option<&Catalog>) -> Report {
    let resolved = policy.resolve(engine);
    // Too large for parser-based review: statement counts, keyword-based risks and the guards,
    // plus one finding saying the rules were skipped.
    let oversized = resolved
        .get(RuleId::BuiltinStatementMaximumSqlSize)
        .and_then(|r| r.number())
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| sql.len() > *n);
    let mut state = rules::ScriptState::new(engine, schema);
    let mut live_needs = live::Needs::new(engine, &resolved);
    let mut guards = guards::Guards::new(sql, engine);
    let mut findings = Vec::new();
    let mut statement_risks = Vec::new();
    let mut impacts = Vec::new();
    let server = schema
        .and_then(Catalog::server)
        .unwrap_or_else(|| impact::Server::assumed(engine));
    let prepared =
        split::split(sql, engine).map(|raw| Prepared::new(engine, raw, oversized.is_none()));
    for Prepared {
        raw,
        executable,
        text,
        parsed,
    } in prepared
    {
        let mut em = rules::Emitter::new(&resolved, &mut findings, &raw);
        guards.statement(&raw, executable.then_some(text.as_ref()), &mut em);
        let risk = match parsed {
            Parsed::Skipped => {
                if let (0, Some(limit)) = (raw.index, oversized) {
                    em.emit(RuleId::BuiltinStatementMaximumSqlSize, || {
                        format!(
                            "The script is {} bytes, more than {limit}; rules were not \
                                 evaluated",
                            sql.len()
                        )
                    });
                }
                risk::text_risk(&text)
            }
            Parsed::Statements(statements) => {
                let mut risk = Risk::Low;
                for stmt in &statements {
                    live_needs.observe(stmt);
                    risk = risk.max(statement_risk(stmt));
                    let mut found = impact::analyze(&impact_context(&state, server), stmt);
                    risk = risk.max(impact::report(&mut found, &mut em));
                    impacts.extend(found);
                    rules::check_statement(&mut state, stmt, &text, &mut em);
                }
                risk
            }
            Parsed::Failed(err, recovered) => match recovered {
                // A shape sqlparser lacks, rewritten.
                Some(rec) if !rec.statements.is_empty() => {
                    // Partition operations taken out of the text may drop data.
                    let partition_op = rec.facts.iter().any(|f| {
                        matches!(
                            f,
                            recover::Fact::TruncatePartitions(_) | recover::Fact::PartitionOp
                        )
                    });
                    let mut risk = if partition_op { Risk::High } else { Risk::Low };
                    // Clauses taken out (table options, partitions) may rebuild the table:
                    // their impact is read from the text, as for unparsed maintenance forms.
                    let from_text = rec
                        .facts
                        .iter()
                        .any(|f| !matches!(f, recover::Fact::IndexType(_)));
                    if from_text {
                        let mut found =
                            impact::analyze_text(&impact_context(&state, server), &text);
                        risk = risk.max(impact::report(&mut found, &mut em));
                        impacts.extend(found);
                    }
                    for stmt in &rec.statements {
                        live_needs.observe(stmt);
                        risk = risk.max(statement_risk(stmt));
                        if !from_text {
                            let mut found = impact::analyze(&impact_context(&state, server), stmt);
                            risk = risk.max(impact::report(&mut found, &mut em));
                            impacts.extend(found);
                        }
                        rules::check_statement(&mut state, stmt, &text, &mut em);
                    }
                    rules::check_facts(&mut state, &rec.statements, &rec.facts, &mut em);
                    risk
                }
                // A routine known by its header (read from its text), or a syntax
                // error.
                recovered => {
                    if recovered.is_none() {
                        em.emit(RuleId::StatementSyntax, || {
                            parse::describe_error(&err, raw.line, raw.column)
                        });
                    }
                    let mut found = impact::analyze_text(&impact_context(&state, server), &text);
                    let risk = impact::report(&mut found, &mut em);
                    impacts.extend(found);
                    rules::check_unparsed(&mut state, &text, &mut em);
                    risk::text_risk(&text).max(risk)
                }
            },
        };
        // The content of an executable comment may depend on the server version: never LOW.
        statement_risks.push(if executable { Risk::High } else { risk });
    }
    guards.finish(&resolved, &mut findings);
    if oversized.is_none() {
        rules::finish(&mut state, &resolved, &mut findings);
    }
    // End-of-script findings (e.g. comments never set) belong with their statements.
    sort_findings(&mut findings);
    let mut report = Report {
        engine,
        statements: statement_risks.len(),
        risk: statement_risks.iter().copied().max().unwrap_or(Risk::Low),
        statement_risks,
        findings,
        impacts,
        not_evaluated: Vec::new(),
    };
    if oversized.is_none() {
        // Until a live database answers (`live::apply`), these rules were not evaluated.
        for rule in live_needs.rules() {
            live::mark_not_evaluated(&mut report, &[rule], live::offline_reason(engine, rule));
        }
    }
    report
}

/// Sorts findings by (statement, line, column), stable: findings at one position keep the order
/// they were found in. Sorts small keys, then moves each finding once (a finding is ~100 bytes;
/// a stable sort of them moved them at every level of the sort).
fn sort_findings(findings: &mut [Finding]) {
    let key = |f: &Finding| (f.statement, f.line, f.column);
    let small = |n: usize| u32::try_from(n).ok();
    // (statement, line, column, index): unique, so an unstable sort gives the stable order.
    let keys: Option<Vec<[u32; 4]>> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Some([
                small(f.statement)?,
                small(f.line)?,
                small(f.column)?,
                small(i)?,
            ])
        })
        .collect();
    let Some(mut keys) = keys else {
        // Beyond 4 G statements, lines or findings: the plain stable sort.
        findings.sort_by_key(key);
        return;
    };
    keys.sort_unstable();
    // `dest[i]`: where the finding now at `i` goes. Each swap puts one finding in its place.
    let mut dest = vec![0u32; keys.len()];
    for (to, k) in keys.iter().enumerate() {
        dest[k[3] as usize] = u32::try_from(to).unwrap_or(u32::MAX);
    }
    drop(keys);
    for i in 0..findings.len() {
        loop {
            let d = dest[i] as usize;
            if d == i {
                break;
            }
            findings.swap(i, d);
            dest.swap(i, d);
        }
    }
}

impl impact::NewTables for rules::ScriptState {
    fn is_new(&self, table: &sqlparser::ast::ObjectName) -> bool {
        rules::ScriptState::is_new(self, table)
    }
}

/// What the impact model needs from the script's state: the catalog before the statement and
/// which tables the script created.
fn impact_context<'a>(
    state: &'a rules::ScriptState,
    server: impact::Server,
) -> impact::Context<'a> {
    impact::Context {
        engine: state.engine,
        server,
        catalog: &state.catalog,
        is_new: state,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn default() -> Policy {
        Policy::preset("default").unwrap()
    }

    #[test]
    fn risk_levels() {
        let r = review(
            "SELECT 1; UPDATE t SET a = 1 WHERE id = 1; DROP TABLE x_del",
            Engine::Postgres,
            &default(),
            None,
        );
        assert_eq!(
            r.statement_risks,
            vec![Risk::Low, Risk::Moderate, Risk::High]
        );
        assert_eq!(r.risk, Risk::High);
        let r = review(
            "DROP INDEX i; ALTER TABLE t ADD COLUMN c int",
            Engine::Postgres,
            &default(),
            None,
        );
        assert_eq!(r.risk, Risk::Moderate);
        let r = review("TRUNCATE t", Engine::Mysql, &default(), None);
        assert_eq!(r.risk, Risk::High);
        assert_eq!(review("", Engine::Mysql, &default(), None).risk, Risk::Low);
        assert_eq!(
            risk::text_risk("drop  table if exists x cascade garbage("),
            Risk::High
        );
    }

    #[test]
    fn unparsable_statements_are_syntax_findings() {
        let sql = "SELECT 1;\nCREATE TABLE t (a int,, b int);\nSELECT 2;";
        let r = review(sql, Engine::Postgres, &default(), None);
        assert_eq!(r.statements, 3);
        let syntax: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.rule == "statement.syntax")
            .collect();
        assert_eq!(syntax.len(), 1);
        assert_eq!(
            (syntax[0].statement, syntax[0].line, syntax[0].level),
            (1, 2, Level::Warning)
        );
        let strict = review(
            sql,
            Engine::Postgres,
            &Policy::preset("strict").unwrap(),
            None,
        );
        assert!(
            strict
                .findings
                .iter()
                .any(|f| f.rule == "statement.syntax" && f.level == Level::Error)
        );
        // Valid statements sqlparser lacks are recovered, not syntax findings.
        for (sql, engine) in [
            ("CREATE FULLTEXT INDEX ft ON t (body);", Engine::Mysql),
            ("DO $$ BEGIN PERFORM 1; END $$;", Engine::Postgres),
            (
                "ALTER TABLE t ENGINE = InnoDB, CONVERT TO CHARACTER SET utf8mb4;",
                Engine::Mysql,
            ),
        ] {
            let r = review(sql, engine, &default(), None);
            assert!(
                r.findings.iter().all(|f| f.rule != "statement.syntax"),
                "{sql}: {:?}",
                r.findings
            );
        }
    }

    #[test]
    fn oversized_scripts_skip_rules_but_keep_risk() {
        let mut policy = Policy::preset("default").unwrap();
        policy
            .set_rule(
                "builtin.statement.maximum-sql-size",
                Some(RuleLevel::Warning),
                Some(serde_json::json!({"number": 10})),
            )
            .unwrap();
        let r = review(
            "CREATE TABLE t (a int); DROP TABLE t;",
            Engine::Mysql,
            &policy,
            None,
        );
        assert_eq!(r.statements, 2);
        assert_eq!(r.risk, Risk::High);
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].rule, "builtin.statement.maximum-sql-size");
        let r = review("SELECT 1", Engine::Mysql, &policy, None);
        assert!(r.findings.is_empty());
    }

    #[test]
    fn findings_are_sorted_by_position_keeping_the_order_found_at_one_position() {
        let f = |statement, line, column, message: &str| Finding {
            rule: "table.require-pk".into(),
            level: Level::Warning,
            statement,
            line,
            column,
            message: message.into(),
        };
        let mut found = vec![
            f(2, 5, 0, "a"),
            f(0, 1, 3, "b"),
            f(2, 5, 0, "c"),
            f(1, 2, 0, "d"),
            f(0, 1, 3, "e"),
            f(0, 1, 0, "f"),
            f(2, 4, 9, "g"),
            f(2, 5, 0, "h"),
        ];
        let mut want = found.clone();
        want.sort_by_key(|f| (f.statement, f.line, f.column));
        sort_findings(&mut found);
        assert_eq!(found, want);
        // Longer, pseudo-random: the same as the stable sort.
        let mut seed = 7u64;
        let mut found: Vec<Finding> = (0..5000)
            .map(|i| {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let r = usize::try_from(seed >> 40).unwrap();
                f(r % 50, r % 7, r % 3, &i.to_string())
            })
            .collect();
        let mut want = found.clone();
        want.sort_by_key(|f| (f.statement, f.line, f.column));
        sort_findings(&mut found);
        assert_eq!(found, want);
    }

    #[test]
    fn digest_is_sha256_hex() {
        assert_eq!(
            sql_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
