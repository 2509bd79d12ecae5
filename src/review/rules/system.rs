//! System rules: `system.*` (charset and collation allow-lists, comment length, disallowed
//! object kinds and functions). Must not change the catalog.

use std::ops::ControlFlow;

use sqlparser::ast::{ColumnOption, Expr, Statement, Visit, Visitor};

use super::{Ctx, Emitter, column_specs, leading_words, show};
use crate::review::Engine;
use crate::review::registry::RuleId;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let mut charsets: Vec<String> = Vec::new();
    let mut collations: Vec<String> = Vec::new();
    if let Statement::CreateTable(ct) = ctx.stmt {
        for (k, v) in super::table::table_options(ct) {
            match k.as_str() {
                "CHARSET" => charsets.push(v),
                "COLLATE" => collations.push(v),
                _ => {}
            }
        }
    }
    for c in column_specs(ctx.stmt) {
        for o in &c.options {
            match o {
                ColumnOption::CharacterSet(n) => charsets.push(show(n)),
                ColumnOption::Collation(n) => collations.push(show(n)),
                _ => {}
            }
        }
    }
    if let Some(rule) = em.on(RuleId::SystemCharsetAllowlist) {
        for c in charsets.iter().filter(|c| !rule.in_list(c)) {
            em.emit(
                RuleId::SystemCharsetAllowlist,
                format!(
                    "Charset {c} is not allowed (allowed: {})",
                    rule.list().join(", ")
                ),
            );
        }
    }
    if let Some(rule) = em.on(RuleId::SystemCollationAllowlist) {
        for c in collations.iter().filter(|c| !rule.in_list(c)) {
            em.emit(
                RuleId::SystemCollationAllowlist,
                format!(
                    "Collation {c} is not allowed (allowed: {})",
                    rule.list().join(", ")
                ),
            );
        }
    }
    match ctx.stmt {
        Statement::Comment {
            comment: Some(text),
            ..
        } => {
            if let Some(rule) = em.on(RuleId::SystemCommentLength) {
                let max = usize::try_from(rule.number().unwrap_or(64)).unwrap_or(0);
                if text.chars().count() > max {
                    em.emit(
                        RuleId::SystemCommentLength,
                        format!("Comment is longer than {max} characters"),
                    );
                }
            }
        }
        Statement::CreateProcedure { .. } => {
            em.emit(
                RuleId::SystemProcedureDisallowCreate,
                "Creating procedures is not allowed".to_owned(),
            );
        }
        Statement::CreateFunction(_) => {
            em.emit(
                RuleId::SystemFunctionDisallowCreate,
                "Creating functions is not allowed".to_owned(),
            );
        }
        Statement::CreateView(_) => em.emit(
            RuleId::SystemViewDisallowCreate,
            "Creating views is not allowed".to_owned(),
        ),
        _ => {}
    }
    if let Some(rule) = em.on(RuleId::SystemFunctionDisallowedList) {
        let mut calls = Calls(Vec::new());
        let _ = ctx.stmt.visit(&mut calls);
        for f in calls.0.iter().filter(|f| rule.in_list(f)) {
            em.emit(
                RuleId::SystemFunctionDisallowedList,
                format!("Function {f}() is not allowed"),
            );
        }
    }
}

struct Calls(Vec<String>);

impl Visitor for Calls {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = show(&f.name).to_ascii_uppercase();
            if !self.0.contains(&name) {
                self.0.push(name);
            }
        }
        ControlFlow::Continue(())
    }
}

/// Checks on statements the parser cannot read (MySQL events, routines with bodies).
pub(super) fn check_text(engine: Engine, text: &str, em: &mut Emitter<'_>) {
    if engine != Engine::Mysql {
        return;
    }
    let words = leading_words(text, 8);
    if words.first().map(String::as_str) != Some("CREATE") {
        return;
    }
    // Skip `DEFINER = user@host` and `OR REPLACE` to find the object kind.
    let kind = words
        .iter()
        .skip(1)
        .find(|w| matches!(w.as_str(), "EVENT" | "PROCEDURE" | "FUNCTION" | "VIEW"));
    match kind.map(String::as_str) {
        Some("EVENT") => em.emit(
            RuleId::SystemEventDisallowCreate,
            "Creating events is not allowed".to_owned(),
        ),
        Some("PROCEDURE") => em.emit(
            RuleId::SystemProcedureDisallowCreate,
            "Creating procedures is not allowed".to_owned(),
        ),
        Some("FUNCTION") => em.emit(
            RuleId::SystemFunctionDisallowCreate,
            "Creating functions is not allowed".to_owned(),
        ),
        Some("VIEW") => em.emit(
            RuleId::SystemViewDisallowCreate,
            "Creating views is not allowed".to_owned(),
        ),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::review::rules::testing::*;
    use crate::review::{Policy, review};

    fn all_mysql(sql: &str) -> Vec<String> {
        review(sql, MY, &Policy::preset("default").unwrap(), None)
            .findings
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    #[test]
    fn charset_and_collation_allow_lists() {
        let r = "system.charset-allowlist";
        assert_eq!(hits(MY, r, "CREATE TABLE t (a int) CHARSET=latin1"), 1);
        assert_eq!(
            hits(
                MY,
                r,
                "CREATE TABLE t (a varchar(5) CHARACTER SET latin1) CHARSET=utf8mb4"
            ),
            1
        );
        assert_eq!(
            hits(
                MY,
                "system.charset.allowlist",
                "CREATE TABLE t (a int) CHARSET=utf8mb4"
            ),
            0
        );
        assert_eq!(
            hits_with(
                MY,
                r,
                r#"{"list":["latin1"]}"#,
                "CREATE TABLE t (a int) CHARSET=latin1"
            ),
            0
        );
        let r = "system.collation-allowlist";
        assert_eq!(hits(MY, r, "CREATE TABLE t (a int) COLLATE=utf8mb4_bin"), 1);
        assert_eq!(
            hits(MY, r, "CREATE TABLE t (a int) COLLATE=utf8mb4_0900_ai_ci"),
            0
        );
        assert_eq!(hits(PG, r, "CREATE TABLE t (a text COLLATE \"C\")"), 1);
    }

    #[test]
    fn comment_length() {
        assert_eq!(
            hits(
                PG,
                "system.comment-length",
                &format!("COMMENT ON TABLE t IS '{}'", "x".repeat(65))
            ),
            1
        );
        assert_eq!(
            hits(PG, "system.comment.length", "COMMENT ON TABLE t IS 'short'"),
            0
        );
        assert_eq!(
            hits_with(
                PG,
                "system.comment-length",
                r#"{"number":3}"#,
                "COMMENT ON COLUMN t.a IS 'four'"
            ),
            1
        );
    }

    #[test]
    fn disallowed_objects() {
        assert_eq!(
            hits(
                MY,
                "system.view-disallow-create",
                "CREATE VIEW v AS SELECT a FROM t WHERE a = 1"
            ),
            1
        );
        assert_eq!(
            hits(MY, "system.view.disallow-create", "CREATE TABLE v (a int)"),
            0
        );
        assert_eq!(
            hits(
                PG,
                "system.view-disallow-create",
                "CREATE VIEW v AS SELECT 1"
            ),
            0
        );
        assert!(
            all_mysql("CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t")
                .contains(&"system.event-disallow-create".to_owned())
        );
        assert!(
            !all_mysql("CREATE TABLE e (id int)")
                .contains(&"system.event-disallow-create".to_owned())
        );
        let proc = "DELIMITER //\nCREATE DEFINER=`root`@`%` PROCEDURE p() BEGIN SELECT 1; END //\nDELIMITER ;\n";
        assert!(all_mysql(proc).contains(&"system.procedure-disallow-create".to_owned()));
        let func = "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 1";
        assert!(all_mysql(func).contains(&"system.function-disallow-create".to_owned()));
    }

    #[test]
    fn function_disallowed_list() {
        let r = "system.function-disallowed-list";
        assert_eq!(hits(MY, r, "INSERT INTO t (a) VALUES (UUID())"), 1);
        assert_eq!(hits(MY, r, "SELECT SLEEP(1), RAND() FROM t WHERE a = 1"), 2);
        assert_eq!(hits(MY, r, "SELECT NOW() FROM t WHERE a = 1"), 0);
        assert_eq!(
            hits_with(
                MY,
                "system.function.disallowed-list",
                r#"{"list":["NOW"]}"#,
                "SELECT NOW() FROM t WHERE a = 1"
            ),
            1
        );
    }
}
