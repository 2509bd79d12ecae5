//! Rules over the clauses the fallback took out of a statement before parsing it (see
//! `review::recover`): table and database options, partition clauses. Must not change the
//! catalog.

use sqlparser::ast::Statement;

use super::{Emitter, ScriptState};
use crate::review::Engine;
use crate::review::recover::Fact;
use crate::review::registry::RuleId;

/// Checks the facts of one recovered statement (after its parsed part was walked through the
/// catalog) and applies the renames among them to the catalog.
pub(crate) fn check_facts(
    state: &mut ScriptState,
    statements: &[Statement],
    facts: &[Fact],
    em: &mut Emitter<'_>,
) {
    let engine = state.engine;
    let table = statements.iter().find_map(|s| match s {
        Statement::AlterTable(at) => Some(&at.name),
        _ => None,
    });
    for fact in facts {
        if let (Fact::RenameIndex(old, new), Some(name)) = (fact, table) {
            if let Some(t) = state.catalog.table(name) {
                super::naming::renamed_index(em, t, old, new, engine == Engine::Postgres);
            }
            state.catalog.rename_index(name, old, new);
        }
        match fact {
            Fact::Option(key, value) => option(engine, key, value, em),
            Fact::Partitioned => em.emit(RuleId::TableDisallowPartition, || {
                "Table partition is forbidden".to_owned()
            }),
            Fact::TruncatePartitions(n) => {
                for _ in 0..*n {
                    em.emit(RuleId::StatementDisallowTruncate, || {
                        "TRUNCATE PARTITION is not allowed".to_owned()
                    });
                }
            }
            Fact::IndexType(kind) => {
                if let Some(rule) = em.on(RuleId::IndexTypeAllowList)
                    && !rule.in_list(kind)
                {
                    em.emit(RuleId::IndexTypeAllowList, || {
                        format!("Index type {kind} is not one of {}", rule.list().join(", "))
                    });
                }
            }
            Fact::PartitionOp
            | Fact::RenameIndex(..)
            | Fact::Routine
            | Fact::Concurrently
            | Fact::Administrative => {}
        }
    }
}

fn option(engine: Engine, key: &str, value: &str, em: &mut Emitter<'_>) {
    match key {
        "ENGINE" if engine == Engine::Mysql && !value.eq_ignore_ascii_case("innodb") => {
            em.emit(RuleId::EngineMysqlUseInnodb, || {
                format!("The table uses engine {value}; InnoDB is required")
            });
        }
        "CHARSET" | "ENCODING" => {
            if key == "CHARSET" {
                em.emit(RuleId::TableDisallowSetCharset, || {
                    "Setting a table charset is not allowed".to_owned()
                });
            }
            if let Some(rule) = em.on(RuleId::SystemCharsetAllowlist)
                && !rule.in_list(value)
            {
                em.emit(RuleId::SystemCharsetAllowlist, || {
                    format!(
                        "Charset {value} is not allowed (allowed: {})",
                        rule.list().join(", ")
                    )
                });
            }
        }
        "COLLATE" | "LC_COLLATE" => {
            if let Some(rule) = em.on(RuleId::SystemCollationAllowlist)
                && !rule.in_list(value)
            {
                em.emit(RuleId::SystemCollationAllowlist, || {
                    format!(
                        "Collation {value} is not allowed (allowed: {})",
                        rule.list().join(", ")
                    )
                });
            }
        }
        _ => {}
    }
}
