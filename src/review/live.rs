//! The rules that need a live database: `statement.dml-dry-run`, `statement.affected-row-limit`,
//! `statement.object-owner-check` (PostgreSQL) and the backup part of
//! `builtin.prior-backup-check`. Pure: [`plan`] says what to ask the database, the caller (the
//! operator or `schemagate review --url`, through `controller::live_schema`) asks it, and
//! [`apply`] turns the answers into findings. A review that cannot ask lists the rules under
//! [`Report::not_evaluated`] instead of passing them silently.

use serde::{Deserialize, Serialize};
use sqlparser::ast::{Expr, ObjectName, Statement, Value};

use super::policy::resolved::Resolved;
use super::{ChangeType, Engine, Finding, Policy, Report, RuleId, parse, split};

/// Statements explained per script at most (Bytebase caps its EXPLAINs too); the rest is
/// listed as not evaluated.
pub const MAX_EXPLAINS: usize = 100;

/// Lists `rules` as not evaluated for `reason` (the live database could not be asked).
pub fn mark_not_evaluated(report: &mut Report, rules: &[RuleId], reason: &str) {
    for rule in rules {
        let name = rule.info().name;
        report.not_evaluated.retain(|n| n.rule != name);
        report.not_evaluated.push(NotEvaluated {
            rule: name.to_owned(),
            reason: reason.to_owned(),
        });
    }
}

/// Where prior backups go: a schema of the database on PostgreSQL, a database on MySQL.
pub const BACKUP_LOCATION: &str = "bbdataarchive";

/// A rule enabled by the policy that had statements to judge but was not evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    /// Canonical rule id.
    pub rule: String,
    /// Why, for people.
    pub reason: String,
}

/// Where a finding goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// 0-based statement index.
    pub statement: usize,
    /// 1-based line of the statement's start.
    pub line: usize,
    /// 0-based column.
    pub column: usize,
}

/// One DML statement to explain (never to run).
#[derive(Debug, Clone)]
pub struct Explain {
    /// The statement.
    pub at: At,
    /// Its text, without the trailing `;`.
    pub text: String,
    /// `SET ROLE` / `SET search_path` statements earlier in the script, run first in the same
    /// rolled-back transaction so the statement is planned as it will run.
    pub setup: Vec<String>,
    /// UPDATE or DELETE: its row estimate is judged by `statement.affected-row-limit`.
    pub counts_rows: bool,
    /// A literal `LIMIT n` of the statement (MySQL), which caps the estimate.
    pub limit: Option<u64>,
    /// It uses a table an earlier `ALTER TABLE` of the script changes: the live table does not
    /// have that change yet, so a failed plan (`column "c" does not exist`) is not the
    /// statement's fault and leaves the rules not evaluated for it.
    pub on_altered: bool,
}

/// One object whose owner `statement.object-owner-check` compares with the role.
#[derive(Debug, Clone)]
pub struct Owner {
    /// The statement.
    pub at: At,
    /// What to look up.
    pub object: OwnedObject,
    /// `SET ROLE` statements earlier in the script (the role that will run the statement).
    pub setup: Vec<String>,
}

/// An object with an owner. `None` schemas are the session's current schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedObject {
    /// The database (for `CREATE SCHEMA`).
    Database,
    /// A schema, for objects created or dropped in it.
    Schema(Option<String>),
    /// A table, for `ALTER TABLE`.
    Table(Option<String>, String),
}

/// What to ask the live database for one script.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// DML statements to explain.
    pub explains: Vec<Explain>,
    /// Objects whose owner to compare with the role.
    pub owners: Vec<Owner>,
    /// Whether the backup location must be looked up (`builtin.prior-backup-check` on a data
    /// change with DML).
    pub backup: bool,
    /// DML statements beyond [`MAX_EXPLAINS`].
    pub unexplained: usize,
    /// DML statements on tables an earlier statement of the script creates, renames or drops:
    /// the live database does not have them yet (or has another table of that name), so they
    /// are not explained.
    pub on_new_tables: usize,
    /// Of those, the UPDATE and DELETE statements (what `statement.affected-row-limit` judges).
    pub on_new_counting: usize,
    /// The live rules that have something to judge.
    pub rules: Vec<RuleId>,
}

impl Plan {
    /// Whether there is nothing to ask.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// What the database answered.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// Per [`Plan::explains`]: the estimated rows, or the server's error.
    pub explains: Vec<Result<Option<u64>, String>>,
    /// Per [`Plan::owners`]: (owner of the object if it exists, the role that would run it).
    pub owners: Vec<Result<(Option<String>, String), String>>,
    /// Whether the backup location exists.
    pub backup_exists: Option<bool>,
}

/// Which live rules are on, and what the script holds for them; fed statement by statement by
/// the review (which parses them anyway) and by [`plan`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Needs {
    dry_run: bool,
    row_limit: bool,
    owner: bool,
    backup: bool,
    any_dml: bool,
    any_counting: bool,
    any_owned: bool,
}

impl Needs {
    pub(crate) fn new(engine: Engine, resolved: &Resolved) -> Self {
        let on = |r: RuleId| resolved.get(r).is_some();
        Needs {
            dry_run: on(RuleId::StatementDmlDryRun),
            row_limit: on(RuleId::StatementAffectedRowLimit),
            owner: engine == Engine::Postgres && on(RuleId::StatementObjectOwnerCheck),
            backup: on(RuleId::BuiltinPriorBackupCheck)
                && resolved.change_type == Some(ChangeType::Dml),
            ..Needs::default()
        }
    }

    fn any_on(&self) -> bool {
        self.dry_run || self.row_limit || self.owner || self.backup
    }

    pub(crate) fn observe(&mut self, stmt: &Statement) {
        if !self.any_on() {
            return;
        }
        let (is_dml, counts_rows, _) = dml(stmt);
        self.any_dml |= is_dml;
        self.any_counting |= counts_rows;
        if self.owner && !is_dml && !self.any_owned {
            self.any_owned = !owned_objects(stmt).is_empty();
        }
    }

    /// The live rules that have something to judge.
    pub(crate) fn rules(&self) -> Vec<RuleId> {
        let mut out = Vec::new();
        if self.dry_run && self.any_dml {
            out.push(RuleId::StatementDmlDryRun);
        }
        if self.row_limit && self.any_counting {
            out.push(RuleId::StatementAffectedRowLimit);
        }
        if self.owner && self.any_owned {
            out.push(RuleId::StatementObjectOwnerCheck);
        }
        if self.backup && self.any_dml {
            out.push(RuleId::BuiltinPriorBackupCheck);
        }
        out
    }
}

/// Why a review without a live database did not evaluate a rule; on SQLite, only the dry run
/// can be asked of the database at all (its `EXPLAIN QUERY PLAN`).
pub(crate) fn offline_reason(engine: Engine, rule: RuleId) -> &'static str {
    match (engine, rule) {
        (Engine::Sqlite, RuleId::StatementAffectedRowLimit) => {
            "not available on SQLite: its planner gives no row estimates"
        }
        (Engine::Sqlite, RuleId::StatementObjectOwnerCheck) => {
            "not available on SQLite: its objects have no owners"
        }
        (Engine::Sqlite, RuleId::BuiltinPriorBackupCheck) => {
            "not available on SQLite: there is no backup location to check"
        }
        _ => "needs a live database: review with --url (the operator always has one)",
    }
}

/// Whether the live database of `engine` can evaluate `rule`.
fn answerable(engine: Engine, rule: RuleId) -> bool {
    engine != Engine::Sqlite || rule == RuleId::StatementDmlDryRun
}

/// What `sql` needs from a live database under `policy`.
#[must_use]
pub fn plan(sql: &str, engine: Engine, policy: &Policy) -> Plan {
    let resolved = policy.resolve(engine);
    let mut needs = Needs::new(engine, &resolved);
    let mut plan = Plan::default();
    if !needs.any_on() {
        return plan;
    }
    let row_limit = needs.row_limit && answerable(engine, RuleId::StatementAffectedRowLimit);
    let owner = needs.owner && answerable(engine, RuleId::StatementObjectOwnerCheck);
    let mut setup: Vec<String> = Vec::new();
    // Tables (last name, lower case) that earlier statements create, rename or drop, and those
    // they alter.
    let mut replaced: Vec<String> = Vec::new();
    let mut altered: Vec<String> = Vec::new();
    for raw in split::split(sql, engine) {
        let text = crate::sqltext::guard::expand_executable_comments(engine, raw.text);
        let Ok(statements) = parse::parse(engine, &text) else {
            continue;
        };
        let at = At {
            statement: raw.index,
            line: raw.line,
            column: raw.column,
        };
        let text = text.trim().trim_end_matches(';').trim_end().to_owned();
        for stmt in &statements {
            needs.observe(stmt);
            if is_session_setup(stmt) {
                setup.push(text.clone());
                continue;
            }
            let (is_dml, counts_rows, limit) = dml(stmt);
            // The tables a DML statement reads or writes, read once.
            let used = if is_dml && !(replaced.is_empty() && altered.is_empty()) {
                relations(stmt)
            } else {
                Vec::new()
            };
            let uses = |names: &[String]| used.iter().any(|r| names.contains(r));
            if is_dml && (needs.dry_run || (row_limit && counts_rows)) && uses(&replaced) {
                plan.on_new_tables += 1;
                plan.on_new_counting += usize::from(counts_rows);
                continue;
            }
            let on_altered = is_dml && uses(&altered);
            if !is_dml {
                let (r, a) = changed_tables(stmt);
                replaced.extend(r);
                altered.extend(a);
            }
            if is_dml {
                if needs.dry_run || (row_limit && counts_rows) {
                    if plan.explains.len() < MAX_EXPLAINS {
                        plan.explains.push(Explain {
                            at,
                            text: text.clone(),
                            setup: setup.clone(),
                            counts_rows,
                            limit,
                            on_altered,
                        });
                    } else {
                        plan.unexplained += 1;
                    }
                }
            } else if owner {
                for object in owned_objects(stmt) {
                    plan.owners.push(Owner {
                        at,
                        object,
                        setup: setup.clone(),
                    });
                }
            }
        }
    }
    plan.rules = needs.rules();
    plan.rules.retain(|r| answerable(engine, *r));
    plan.backup = plan.rules.contains(&RuleId::BuiltinPriorBackupCheck);
    plan
}

/// Adds the findings the answers call for to `report` (and lists the statements beyond
/// [`MAX_EXPLAINS`] as not evaluated).
/// The plan's rules stop being listed as not evaluated.
pub fn apply(report: &mut Report, plan: &Plan, answers: &Answers, policy: &Policy) {
    report
        .not_evaluated
        .retain(|n| !plan.rules.iter().any(|r| r.info().name == n.rule));
    let resolved = policy.resolve(report.engine);
    let mut out = Vec::new();
    let mut push = |rule: RuleId, at: Option<At>, message: String| {
        if let Some(active) = resolved.get(rule) {
            let at = at.unwrap_or(At {
                statement: 0,
                line: 1,
                column: 0,
            });
            out.push(Finding {
                rule: rule.info().name.to_owned(),
                level: active.level,
                statement: at.statement,
                line: at.line,
                column: at.column,
                message,
            });
        }
    };
    let max_rows = row_limit(&resolved);
    // Failed plans of statements on tables the script alters first, per rule.
    let (mut altered_failed, mut altered_failed_counting) = (0, 0);
    for (probe, answer) in plan.explains.iter().zip(&answers.explains) {
        match answer {
            Err(_) if probe.on_altered => {
                altered_failed += 1;
                altered_failed_counting += usize::from(probe.counts_rows);
            }
            Err(e) => {
                // A statement the server cannot plan fails the dry run; the row limit cannot be
                // judged either, and says so only when the dry run is off.
                if plan.rules.contains(&RuleId::StatementDmlDryRun) {
                    push(
                        RuleId::StatementDmlDryRun,
                        Some(probe.at),
                        format!("The dry run (EXPLAIN) failed: {e}"),
                    );
                } else if probe.counts_rows {
                    push(
                        RuleId::StatementAffectedRowLimit,
                        Some(probe.at),
                        format!("The affected rows could not be estimated (EXPLAIN failed): {e}"),
                    );
                }
            }
            Ok(rows) if probe.counts_rows => {
                let rows = match (rows, probe.limit) {
                    (Some(r), Some(l)) => Some((*r).min(l)),
                    (r, _) => *r,
                };
                if let (Some(rows), Some(max)) = (rows, max_rows)
                    && rows > max
                {
                    push(
                        RuleId::StatementAffectedRowLimit,
                        Some(probe.at),
                        format!(
                            "The statement affects about {rows} rows (EXPLAIN estimate), more than {max}"
                        ),
                    );
                }
            }
            Ok(_) => {}
        }
    }
    for (probe, answer) in plan.owners.iter().zip(&answers.owners) {
        match answer {
            Ok((Some(owner), role)) if owner != role => push(
                RuleId::StatementObjectOwnerCheck,
                Some(probe.at),
                format!(
                    "{} is owned by \"{owner}\", but the change runs as \"{role}\"",
                    describe(&probe.object)
                ),
            ),
            Ok(_) => {}
            Err(e) => push(
                RuleId::StatementObjectOwnerCheck,
                Some(probe.at),
                format!(
                    "The owner of {} could not be read: {e}",
                    describe(&probe.object)
                ),
            ),
        }
    }
    if plan.backup && answers.backup_exists == Some(false) {
        let what = match report.engine {
            Engine::Mysql => "database",
            _ => "schema",
        };
        push(
            RuleId::BuiltinPriorBackupCheck,
            None,
            format!("A prior backup needs the {what} \"{BACKUP_LOCATION}\", which does not exist"),
        );
    }
    let beyond = format!("DML statement(s) after the first {MAX_EXPLAINS} were not explained");
    let new = "DML statement(s) on tables that earlier statements of the script create, rename \
               or drop were not explained: the live database does not have those tables yet";
    let altered = "DML statement(s) on tables that earlier statements of the script alter could \
                   not be planned on the live database, which does not have those changes yet";
    for (rule, count, reason) in [
        (
            RuleId::StatementDmlDryRun,
            plan.unexplained,
            beyond.as_str(),
        ),
        (RuleId::StatementAffectedRowLimit, plan.unexplained, &beyond),
        (RuleId::StatementDmlDryRun, plan.on_new_tables, new),
        (RuleId::StatementAffectedRowLimit, plan.on_new_counting, new),
        (RuleId::StatementDmlDryRun, altered_failed, altered),
        (
            RuleId::StatementAffectedRowLimit,
            altered_failed_counting,
            altered,
        ),
    ] {
        if count > 0 && plan.rules.contains(&rule) {
            report.not_evaluated.push(NotEvaluated {
                rule: rule.info().name.to_owned(),
                reason: format!("{count} {reason}"),
            });
        }
    }
    report.findings.extend(out);
    report
        .findings
        .sort_by_key(|f| (f.statement, f.line, f.column));
}

fn row_limit(resolved: &Resolved) -> Option<u64> {
    resolved
        .get(RuleId::StatementAffectedRowLimit)
        .map(|r| r.number().unwrap_or(1000))
        .and_then(|n| u64::try_from(n).ok())
        .filter(|n| *n > 0)
}

fn describe(object: &OwnedObject) -> String {
    let schema = |s: &Option<String>| s.clone().unwrap_or_else(|| "(current)".to_owned());
    match object {
        OwnedObject::Database => "The database".to_owned(),
        OwnedObject::Schema(s) => format!("Schema \"{}\"", schema(s)),
        OwnedObject::Table(s, t) => match s {
            Some(s) => format!("Table \"{s}\".\"{t}\""),
            None => format!("Table \"{t}\""),
        },
    }
}

/// `SET ROLE …` / `SET search_path …` (and `RESET ROLE`): they change how what follows runs.
fn is_session_setup(stmt: &Statement) -> bool {
    let text = stmt.to_string().to_ascii_uppercase();
    let words: Vec<&str> = text.split_whitespace().take(4).collect();
    matches!(
        words.as_slice(),
        ["SET", "ROLE", ..]
            | ["SET", "SESSION", "ROLE", ..]
            | ["SET", "LOCAL", "ROLE", ..]
            | ["RESET", "ROLE", ..]
    ) || (words.first() == Some(&"SET") && text.contains("SEARCH_PATH"))
}

/// (is DML, counts rows (UPDATE/DELETE), literal LIMIT).
fn dml(stmt: &Statement) -> (bool, bool, Option<u64>) {
    let literal = |e: &Expr| match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse::<u64>().ok(),
            _ => None,
        },
        _ => None,
    };
    match stmt {
        Statement::Insert(_) => (true, false, None),
        Statement::Update(u) => (true, true, u.limit.as_ref().and_then(literal)),
        Statement::Delete(d) => (true, true, d.limit.as_ref().and_then(literal)),
        _ => (false, false, None),
    }
}

/// The last part of a name, lower case (how [`changed_tables`] and [`relations`] compare).
fn table_key(name: &ObjectName) -> String {
    split_name(name).1.to_lowercase()
}

/// The tables a DDL statement creates, renames (both names) or drops, and those it alters.
fn changed_tables(stmt: &Statement) -> (Vec<String>, Vec<String>) {
    match stmt {
        Statement::CreateTable(ct) => (vec![table_key(&ct.name)], Vec::new()),
        Statement::CreateView(cv) => (vec![table_key(&cv.name)], Vec::new()),
        Statement::AlterTable(at) => {
            let renamed: Vec<String> = at
                .operations
                .iter()
                .filter_map(|op| match op {
                    sqlparser::ast::AlterTableOperation::RenameTable { table_name } => {
                        let (sqlparser::ast::RenameTableNameKind::As(n)
                        | sqlparser::ast::RenameTableNameKind::To(n)) = table_name;
                        Some(table_key(n))
                    }
                    _ => None,
                })
                .collect();
            if renamed.is_empty() {
                (Vec::new(), vec![table_key(&at.name)])
            } else {
                let mut out = renamed;
                out.push(table_key(&at.name));
                (out, Vec::new())
            }
        }
        Statement::RenameTable(renames) => (
            renames
                .iter()
                .flat_map(|r| [table_key(&r.old_name), table_key(&r.new_name)])
                .collect(),
            Vec::new(),
        ),
        Statement::Drop { names, .. } => (names.iter().map(table_key).collect(), Vec::new()),
        _ => (Vec::new(), Vec::new()),
    }
}

/// Every table or view a statement reads or writes (last name, lower case).
fn relations(stmt: &Statement) -> Vec<String> {
    let mut out = Vec::new();
    let _ = sqlparser::ast::visit_relations(stmt, |name| {
        out.push(table_key(name));
        std::ops::ControlFlow::<()>::Continue(())
    });
    out
}

fn split_name(name: &ObjectName) -> (Option<String>, String) {
    let parts: Vec<String> = name
        .0
        .iter()
        .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
        .collect();
    match parts.as_slice() {
        [.., schema, table] => (Some(schema.clone()), table.clone()),
        [table] => (None, table.clone()),
        [] => (None, String::new()),
    }
}

/// The objects whose owner a DDL statement needs (as Bytebase checks them): the table for
/// `ALTER TABLE`, the database for `CREATE SCHEMA`, the schema for what is created or dropped
/// in one.
fn owned_objects(stmt: &Statement) -> Vec<OwnedObject> {
    let schema_of = |n: &ObjectName| OwnedObject::Schema(split_name(n).0);
    match stmt {
        Statement::AlterTable(at) => {
            let (s, t) = split_name(&at.name);
            vec![OwnedObject::Table(s, t)]
        }
        Statement::CreateSchema { .. } => vec![OwnedObject::Database],
        Statement::CreateTable(ct) => vec![schema_of(&ct.name)],
        Statement::CreateIndex(ci) => vec![schema_of(&ci.table_name)],
        Statement::CreateView(cv) => vec![schema_of(&cv.name)],
        Statement::CreateSequence { name, .. } | Statement::CreateType { name, .. } => {
            vec![schema_of(name)]
        }
        Statement::CreateFunction(cf) => vec![schema_of(&cf.name)],
        Statement::Drop { names, .. } => {
            let mut out: Vec<OwnedObject> = names.iter().map(schema_of).collect();
            out.dedup();
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
