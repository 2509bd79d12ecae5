//! System rules: `system.*` (charset and collation allow-lists, comment length, disallowed
//! object kinds and functions). Must not change the catalog.

use std::ops::ControlFlow;

use sqlparser::ast::{ColumnOption, Expr, Statement, Visit, Visitor};

use super::{Ctx, Emitter, leading_words, show};
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
    for c in ctx.columns {
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
            em.emit(RuleId::SystemCharsetAllowlist, || {
                format!(
                    "Charset {c} is not allowed (allowed: {})",
                    rule.list().join(", ")
                )
            });
        }
    }
    if let Some(rule) = em.on(RuleId::SystemCollationAllowlist) {
        for c in collations.iter().filter(|c| !rule.in_list(c)) {
            em.emit(RuleId::SystemCollationAllowlist, || {
                format!(
                    "Collation {c} is not allowed (allowed: {})",
                    rule.list().join(", ")
                )
            });
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
                    em.emit(RuleId::SystemCommentLength, || {
                        format!("Comment is longer than {max} characters")
                    });
                }
            }
        }
        Statement::CreateProcedure { .. } => {
            em.emit(RuleId::SystemProcedureDisallowCreate, || {
                "Creating procedures is not allowed".to_owned()
            });
        }
        Statement::CreateFunction(_) => {
            em.emit(RuleId::SystemFunctionDisallowCreate, || {
                "Creating functions is not allowed".to_owned()
            });
        }
        Statement::CreateView(_) => em.emit(RuleId::SystemViewDisallowCreate, || {
            "Creating views is not allowed".to_owned()
        }),
        _ => {}
    }
    // A bulk insert of literals calls no function: not worth a walk over every value.
    if let Some(rule) = em.on(RuleId::SystemFunctionDisallowedList)
        && !ctx.literal_insert
    {
        let mut calls = Calls(Vec::new());
        let _ = ctx.stmt.visit(&mut calls);
        for (f, span) in calls.0.iter().filter(|(f, _)| rule.in_list(f)) {
            em.emit_span(RuleId::SystemFunctionDisallowedList, *span, || {
                format!("Function {f}() is not allowed")
            });
        }
    }
}

/// Each function called, once, with where its first call starts.
struct Calls(Vec<(String, sqlparser::tokenizer::Span)>);

impl Visitor for Calls {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = e {
            let name = show(&f.name).to_ascii_uppercase();
            if !self.0.iter().any(|(n, _)| *n == name) {
                let span = f.name.0.first().map_or_else(
                    sqlparser::tokenizer::Span::empty,
                    sqlparser::ast::Spanned::span,
                );
                self.0.push((name, span));
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
        Some("EVENT") => em.emit(RuleId::SystemEventDisallowCreate, || {
            "Creating events is not allowed".to_owned()
        }),
        Some("PROCEDURE") => em.emit(RuleId::SystemProcedureDisallowCreate, || {
            "Creating procedures is not allowed".to_owned()
        }),
        Some("FUNCTION") => em.emit(RuleId::SystemFunctionDisallowCreate, || {
            "Creating functions is not allowed".to_owned()
        }),
        Some("VIEW") => em.emit(RuleId::SystemViewDisallowCreate, || {
            "Creating views is not allowed".to_owned()
        }),
        _ => {}
    }
}

#[cfg(test)]
#[path = "system_tests.rs"]
mod tests;
