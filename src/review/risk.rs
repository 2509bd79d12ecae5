//! Risk of statements, for approval policies (`autoApprove … maxRisk`). The rule: what the
//! reviewer cannot fully understand is never LOW. A parsed statement's risk comes from a walk
//! over its whole syntax tree (data-modifying CTEs, nested DML, function calls); a statement
//! the parser cannot read is judged from its words, conservatively. Must not emit findings.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, ObjectName, ObjectType, OnConflictAction, OnInsert, SqliteOnConflict, Statement,
    TableFactor, Visit, Visitor,
};

use super::Risk;

/// Risk of a parsed statement: the highest of the statement itself and everything nested in it.
///
/// - HIGH: `DROP DATABASE/SCHEMA/TABLE`, `TRUNCATE`, `CREATE OR REPLACE TABLE` (it empties the
///   table it replaces), `CALL`, `EXECUTE`, `PREPARE` (dynamic SQL and procedure bodies are not
///   reviewed).
/// - MODERATE: `UPDATE`, `DELETE`, `MERGE`, `ALTER TABLE`, `RENAME TABLE`, `DROP INDEX`, `INSERT`
///   that replaces or updates existing rows, `CREATE FUNCTION/PROCEDURE/TRIGGER` (bodies are not
///   reviewed), and any call of a function that is not a well-known side-effect-free builtin.
/// - A statement nested anywhere (a data-modifying CTE `WITH d AS (DELETE …) SELECT …`, an
///   `INSERT … SELECT` over one) counts with its own risk.
/// - LOW: anything else.
#[must_use]
pub fn statement_risk(stmt: &Statement) -> Risk {
    // Bulk data: nothing nested, no calls; not worth a walk over every value.
    if super::rules::literal_insert(stmt) {
        return own_risk(stmt);
    }
    let mut walk = RiskWalk { risk: Risk::Low };
    let _ = stmt.visit(&mut walk);
    walk.risk
}

/// The risk of the statement node itself, without what is nested in it.
fn own_risk(stmt: &Statement) -> Risk {
    match stmt {
        Statement::Drop { object_type, .. } => match object_type {
            ObjectType::Table | ObjectType::Schema | ObjectType::Database => Risk::High,
            ObjectType::Index => Risk::Moderate,
            _ => Risk::Low,
        },
        Statement::Truncate(_)
        | Statement::Call(_)
        | Statement::Execute { .. }
        | Statement::Prepare { .. } => Risk::High,
        Statement::CreateTable(ct) if ct.or_replace => Risk::High,
        Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::AlterTable(_)
        | Statement::RenameTable(_)
        | Statement::CreateFunction(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateTrigger(_) => Risk::Moderate,
        Statement::Insert(i)
            if i.replace_into
                || i.or == Some(SqliteOnConflict::Replace)
                || matches!(
                    &i.on,
                    Some(OnInsert::DuplicateKeyUpdate(_))
                        | Some(OnInsert::OnConflict(sqlparser::ast::OnConflict {
                            action: OnConflictAction::DoUpdate(_),
                            ..
                        }))
                ) =>
        {
            Risk::Moderate
        }
        _ => Risk::Low,
    }
}

struct RiskWalk {
    risk: Risk,
}

impl RiskWalk {
    fn raise(&mut self, risk: Risk) -> ControlFlow<()> {
        self.risk = self.risk.max(risk);
        if self.risk == Risk::High {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
}

impl Visitor for RiskWalk {
    type Break = ();

    // Called for nested statements too (CTE bodies, `SetExpr::Delete`, …).
    fn pre_visit_statement(&mut self, stmt: &Statement) -> ControlFlow<()> {
        self.raise(own_risk(stmt))
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(f) if !is_known_pure(&f.name) => self.raise(Risk::Moderate),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        match factor {
            // `FROM generate_series(1, 3)`, `FROM my_func()`.
            TableFactor::Function { name, .. }
            | TableFactor::Table {
                name,
                args: Some(_),
                ..
            } if !is_known_pure(name) => self.raise(Risk::Moderate),
            _ => ControlFlow::Continue(()),
        }
    }
}

/// Builtins of PostgreSQL, MySQL/MariaDB and SQLite that change nothing in the database (some are
/// volatile, like `now()` or `random()`, but have no side effect). Upper case, sorted.
const KNOWN_PURE: &[&str] = &[
    "ABS",
    "AGE",
    "ANY_VALUE",
    "ARRAY_AGG",
    "ARRAY_LENGTH",
    "ARRAY_POSITION",
    "ARRAY_TO_JSON",
    "ARRAY_TO_STRING",
    "ASCII",
    "AVG",
    "BIT_LENGTH",
    "BOOL_AND",
    "BOOL_OR",
    "BTRIM",
    "CARDINALITY",
    "CEIL",
    "CEILING",
    "CHAR",
    "CHARACTER_LENGTH",
    "CHAR_LENGTH",
    "CHR",
    "COALESCE",
    "CONCAT",
    "CONCAT_WS",
    "CONVERT",
    "COUNT",
    "CURDATE",
    "CURRENT_DATABASE",
    "CURRENT_DATE",
    "CURRENT_SCHEMA",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "CURRVAL",
    "CURTIME",
    "DATABASE",
    "DATE",
    "DATEDIFF",
    "DATETIME",
    "DATE_ADD",
    "DATE_FORMAT",
    "DATE_PART",
    "DATE_SUB",
    "DATE_TRUNC",
    "DAY",
    "DENSE_RANK",
    "EXP",
    "FIRST_VALUE",
    "FLOOR",
    "FORMAT",
    "FROM_UNIXTIME",
    "GENERATE_SERIES",
    "GEN_RANDOM_UUID",
    "GREATEST",
    "GROUP_CONCAT",
    "HEX",
    "HOUR",
    "IF",
    "IFNULL",
    "IIF",
    "INITCAP",
    "INSTR",
    "ISNULL",
    "JSONB_AGG",
    "JSONB_BUILD_ARRAY",
    "JSONB_BUILD_OBJECT",
    "JSONB_EXTRACT_PATH",
    "JSONB_EXTRACT_PATH_TEXT",
    "JSONB_SET",
    "JSON_AGG",
    "JSON_ARRAY",
    "JSON_ARRAYAGG",
    "JSON_BUILD_ARRAY",
    "JSON_BUILD_OBJECT",
    "JSON_CONTAINS",
    "JSON_EXTRACT",
    "JSON_EXTRACT_PATH",
    "JSON_EXTRACT_PATH_TEXT",
    "JSON_LENGTH",
    "JSON_OBJECT",
    "JSON_OBJECTAGG",
    "JSON_SET",
    "JSON_TYPE",
    "JSON_UNQUOTE",
    "JSON_VALID",
    "JULIANDAY",
    "LAG",
    "LASTVAL",
    "LAST_INSERT_ID",
    "LAST_VALUE",
    "LEAD",
    "LEAST",
    "LEFT",
    "LENGTH",
    "LN",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "LOCATE",
    "LOG",
    "LOG10",
    "LOWER",
    "LPAD",
    "LTRIM",
    "MAKE_DATE",
    "MAKE_INTERVAL",
    "MAX",
    "MD5",
    "MIN",
    "MINUTE",
    "MOD",
    "MONTH",
    "NEXTVAL",
    "NOW",
    "NTILE",
    "NULLIF",
    "NVL",
    "OCTET_LENGTH",
    "POSITION",
    "POW",
    "POWER",
    "PRINTF",
    "RAND",
    "RANDOM",
    "RANK",
    "REGEXP_LIKE",
    "REGEXP_MATCHES",
    "REGEXP_REPLACE",
    "REPEAT",
    "REPLACE",
    "REVERSE",
    "RIGHT",
    "ROUND",
    "ROW_NUMBER",
    "ROW_TO_JSON",
    "RPAD",
    "RTRIM",
    "SECOND",
    "SESSION_USER",
    "SHA1",
    "SHA2",
    "SIGN",
    "SPLIT_PART",
    "SQRT",
    "STATEMENT_TIMESTAMP",
    "STDDEV",
    "STRFTIME",
    "STRING_AGG",
    "STRPOS",
    "STR_TO_DATE",
    "SUBSTR",
    "SUBSTRING",
    "SUM",
    "SYSDATE",
    "TIME",
    "TIMESTAMPDIFF",
    "TO_CHAR",
    "TO_DATE",
    "TO_JSON",
    "TO_JSONB",
    "TO_NUMBER",
    "TO_TIMESTAMP",
    "TRANSACTION_TIMESTAMP",
    "TRIM",
    "TRUNC",
    "TYPEOF",
    "UNHEX",
    "UNIX_TIMESTAMP",
    "UNNEST",
    "UPPER",
    "USER",
    "UTC_TIMESTAMP",
    "UUID",
    "UUID_GENERATE_V4",
    "VALUES",
    "VARIANCE",
    "VERSION",
    "YEAR",
];

/// Whether `name` is a well-known side-effect-free builtin: unqualified (or in `pg_catalog`)
/// and in [`KNOWN_PURE`]. `nextval`/`currval`/`lastval` only move a sequence. Anything else may
/// be a user function whose body the review never saw.
fn is_known_pure(name: &ObjectName) -> bool {
    let parts: Vec<&str> = name
        .0
        .iter()
        .map(|p| p.as_ident().map_or("", |i| i.value.as_str()))
        .collect();
    let func = match parts.as_slice() {
        [f] => *f,
        [schema, f] if schema.eq_ignore_ascii_case("pg_catalog") => *f,
        _ => return false,
    };
    KNOWN_PURE
        .binary_search(&func.to_ascii_uppercase().as_str())
        .is_ok()
}

/// Risk of a statement the parser could not read. Never LOW: at least MODERATE; HIGH when its
/// words (anywhere, including string and dollar-quoted bodies) say `DROP TABLE/SCHEMA/DATABASE`
/// or `TRUNCATE`, and for procedural blocks and dynamic SQL (`DO`, `CALL`, `EXECUTE`,
/// `PREPARE`, MariaDB `BEGIN NOT ATOMIC`).
pub(crate) fn text_risk(text: &str) -> Risk {
    let mut words = text
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty());
    let Some(first) = words.next() else {
        return Risk::Moderate;
    };
    let is = |w: &str, kw: &str| w.eq_ignore_ascii_case(kw);
    if ["DO", "CALL", "EXECUTE", "PREPARE", "BEGIN"]
        .iter()
        .any(|k| is(first, k))
    {
        return Risk::High;
    }
    let mut prev = first;
    let mut before_prev = "";
    if is(first, "TRUNCATE") {
        return Risk::High;
    }
    for w in words {
        let drop_before = is(prev, "DROP") || (is(prev, "TEMPORARY") && is(before_prev, "DROP"));
        if is(w, "TRUNCATE")
            || (drop_before && (is(w, "TABLE") || is(w, "SCHEMA") || is(w, "DATABASE")))
        {
            return Risk::High;
        }
        before_prev = prev;
        prev = w;
    }
    Risk::Moderate
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::review::{Engine, parse};

    fn risk(engine: Engine, sql: &str) -> Risk {
        let stmts = parse::parse(engine, sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        stmts.iter().map(statement_risk).max().unwrap()
    }

    #[test]
    fn known_pure_is_sorted_upper_case() {
        assert!(KNOWN_PURE.windows(2).all(|w| w[0] < w[1]));
        assert!(KNOWN_PURE.iter().all(|f| f.to_ascii_uppercase() == *f));
    }

    #[test]
    fn plain_statements() {
        let pg = Engine::Postgres;
        assert_eq!(risk(pg, "SELECT 1"), Risk::Low);
        assert_eq!(risk(pg, "CREATE TABLE t (id int PRIMARY KEY)"), Risk::Low);
        assert_eq!(risk(pg, "INSERT INTO t (id) VALUES (1)"), Risk::Low);
        assert_eq!(risk(pg, "UPDATE t SET a = 1 WHERE id = 1"), Risk::Moderate);
        assert_eq!(risk(pg, "DROP INDEX i"), Risk::Moderate);
        assert_eq!(risk(pg, "DROP TABLE t"), Risk::High);
        assert_eq!(risk(pg, "TRUNCATE t"), Risk::High);
        assert_eq!(
            risk(
                pg,
                "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE"
            ),
            Risk::Moderate
        );
    }

    #[test]
    fn data_modifying_ctes_count_with_their_dml() {
        let pg = Engine::Postgres;
        // The attack from issue 10: rated LOW and auto-applied before.
        assert_eq!(
            risk(
                pg,
                "WITH d AS (DELETE FROM victim RETURNING 1) SELECT count(*) FROM d"
            ),
            Risk::Moderate
        );
        assert_eq!(
            risk(
                pg,
                "WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT a FROM u"
            ),
            Risk::Moderate
        );
        assert_eq!(
            risk(
                pg,
                "INSERT INTO log (n) SELECT n FROM (WITH x AS (DELETE FROM t RETURNING n) SELECT n FROM x) y"
            ),
            Risk::Moderate
        );
        assert_eq!(
            risk(
                pg,
                "WITH x AS (INSERT INTO t (a) VALUES (1) RETURNING a) SELECT a FROM x"
            ),
            Risk::Low
        );
    }

    #[test]
    fn procedures_and_dynamic_sql_are_high() {
        assert_eq!(risk(Engine::Postgres, "CALL cleanup()"), Risk::High);
        assert_eq!(risk(Engine::Mysql, "CALL cleanup()"), Risk::High);
        assert_eq!(risk(Engine::Postgres, "EXECUTE stmt(1)"), Risk::High);
        assert_eq!(risk(Engine::Mysql, "EXECUTE stmt"), Risk::High);
        assert_eq!(risk(Engine::Postgres, "PREPARE q AS SELECT 1"), Risk::High);
        // Replacing a table empties it.
        assert_eq!(
            risk(Engine::Mysql, "CREATE OR REPLACE TABLE victim (id int)"),
            Risk::High
        );
    }

    #[test]
    fn unknown_functions_are_at_least_moderate() {
        let pg = Engine::Postgres;
        assert_eq!(
            risk(pg, "SELECT lower('A'), now(), count(*) FROM t"),
            Risk::Low
        );
        assert_eq!(risk(pg, "SELECT pg_catalog.lower('A')"), Risk::Low);
        assert_eq!(risk(pg, "SELECT wipe_everything()"), Risk::Moderate);
        assert_eq!(risk(pg, "SELECT public.lower('A')"), Risk::Moderate);
        assert_eq!(risk(pg, "SELECT pg_terminate_backend(42)"), Risk::Moderate);
        assert_eq!(risk(pg, "SELECT * FROM my_set_returning()"), Risk::Moderate);
        assert_eq!(risk(pg, "SELECT * FROM generate_series(1, 3)"), Risk::Low);
        assert_eq!(
            risk(
                pg,
                "CREATE TABLE t (id int DEFAULT nextval('s'), c text CHECK (audit(c)))"
            ),
            Risk::Moderate
        );
        assert_eq!(
            risk(
                pg,
                "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = 2"
            ),
            Risk::Moderate
        );
        assert_eq!(
            risk(Engine::Mysql, "SELECT SLEEP(10), GET_LOCK('x', 1)"),
            Risk::Moderate
        );
    }

    #[test]
    fn routines_and_triggers_are_at_least_moderate() {
        assert_eq!(
            risk(
                Engine::Postgres,
                "CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()"
            ),
            Risk::Moderate
        );
        assert_eq!(
            risk(
                Engine::Postgres,
                "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$"
            ),
            Risk::Moderate
        );
    }

    #[test]
    fn unparsed_text_is_never_low() {
        // The attack from issue 10.
        assert_eq!(
            text_risk("DO $$ BEGIN EXECUTE 'DROP TABLE victim'; END $$"),
            Risk::High
        );
        assert_eq!(text_risk("DO $$ BEGIN PERFORM 1; END $$"), Risk::High);
        assert_eq!(
            text_risk("CREATE FULLTEXT INDEX ft ON t (body)"),
            Risk::Moderate
        );
        assert_eq!(
            text_risk("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO TRUNCATE t"),
            Risk::High
        );
        assert_eq!(text_risk("frobnicate /* DROP */ TABLE x"), Risk::High);
        assert_eq!(
            text_risk("drop temporary table if exists x garbage("),
            Risk::High
        );
        assert_eq!(text_risk("PREPARE s FROM @sql"), Risk::High);
        assert_eq!(text_risk("BEGIN NOT ATOMIC SELECT 1; END"), Risk::High);
        assert_eq!(text_risk(""), Risk::Moderate);
        assert_eq!(text_risk("garbage droptable"), Risk::Moderate);
    }
}
