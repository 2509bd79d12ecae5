//! Rules over the clauses the fallback took out of a statement before parsing it (see
//! `review::recover`): table and database options, partition clauses. Must not change the
//! catalog.

use super::Emitter;
use crate::review::Engine;
use crate::review::recover::Fact;
use crate::review::registry::RuleId;

/// Checks the facts of one recovered statement.
pub(crate) fn check_facts(engine: Engine, facts: &[Fact], em: &mut Emitter<'_>) {
    for fact in facts {
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
            Fact::PartitionOp | Fact::RenameIndex(..) | Fact::Routine => {}
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
