//! Index rules: `index.*` (duplicate columns, key counts, primary key types, BLOB indexes,
//! index methods, CONCURRENTLY, indexes per table). Must not change the catalog.

use sqlparser::ast::{ObjectName, ObjectType, Statement};

use super::{
    Ctx, Emitter, IndexKind, ScriptState, canonical_type, column_type, index_specs,
    is_blob_or_text, leading_words, show, type_info_str,
};
use crate::review::registry::RuleId;

pub(super) fn check(ctx: &Ctx<'_>, em: &mut Emitter<'_>) {
    let specs = index_specs(ctx.stmt);
    for s in &specs {
        let label = s
            .name
            .clone()
            .unwrap_or_else(|| format!("on {}", show(s.table)));
        let mut seen: Vec<String> = Vec::new();
        for c in &s.columns {
            let lc = c.to_lowercase();
            if seen.contains(&lc) {
                em.emit(
                    RuleId::IndexNoDuplicateColumn,
                    format!("Index {label} lists column \"{c}\" twice"),
                );
            }
            seen.push(lc);
        }
        if s.kind == IndexKind::Foreign {
            continue;
        }
        if let Some(rule) = em.on(RuleId::IndexKeyNumberLimit) {
            let limit = usize::try_from(rule.number().unwrap_or(5)).unwrap_or(0);
            if limit > 0 && s.columns.len() > limit {
                em.emit(
                    RuleId::IndexKeyNumberLimit,
                    format!(
                        "Index {label} has {} columns, more than {limit}",
                        s.columns.len()
                    ),
                );
            }
        }
        if s.kind == IndexKind::Primary {
            for c in &s.columns {
                let Some(ty) = column_type(ctx, s.table, c) else {
                    continue;
                };
                let t = type_info_str(&ty);
                let base = canonical_type(&t.base);
                if !matches!(base, "INT" | "BIGINT") {
                    em.emit(
                        RuleId::IndexPkTypeLimit,
                        format!("Primary key column \"{c}\" must be INT or BIGINT, not {ty}"),
                    );
                }
                if let Some(rule) = em.on(RuleId::IndexPrimaryKeyTypeAllowlist)
                    && !rule
                        .list()
                        .iter()
                        .any(|a| canonical_type(&a.to_ascii_uppercase()) == base)
                {
                    em.emit(
                        RuleId::IndexPrimaryKeyTypeAllowlist,
                        format!(
                            "Primary key column \"{c}\" has type {ty}, not one of {}",
                            rule.list().join(", ")
                        ),
                    );
                }
            }
        }
        if em.on(RuleId::IndexTypeNoBlob).is_some() {
            for c in &s.columns {
                if let Some(ty) = column_type(ctx, s.table, c)
                    && is_blob_or_text(&type_info_str(&ty).base)
                {
                    em.emit(
                        RuleId::IndexTypeNoBlob,
                        format!("Index {label} is on {ty} column \"{c}\""),
                    );
                }
            }
        }
        if let Some(rule) = em.on(RuleId::IndexTypeAllowList)
            && let Some(using) = &s.using
        {
            let using = using
                .trim_start_matches("USING ")
                .trim()
                .to_ascii_uppercase();
            if !rule.in_list(&using) {
                em.emit(
                    RuleId::IndexTypeAllowList,
                    format!(
                        "Index {label} uses type {using}, not one of {}",
                        rule.list().join(", ")
                    ),
                );
            }
        }
    }
    if ctx.pg() {
        match ctx.stmt {
            Statement::CreateIndex(ci) if !ci.concurrently && !ctx.state.is_new(&ci.table_name) => {
                em.emit(
                    RuleId::IndexCreateConcurrently,
                    format!(
                        "Create the index on existing table \"{}\" CONCURRENTLY",
                        show(&ci.table_name)
                    ),
                )
            }
            Statement::Drop {
                object_type: ObjectType::Index,
                ..
            } if !leading_words(ctx.text, 3)
                .iter()
                .any(|w| w == "CONCURRENTLY") =>
            {
                em.emit(
                    RuleId::IndexCreateConcurrently,
                    "Drop the index CONCURRENTLY".to_owned(),
                );
            }
            _ => {}
        }
    }
}

/// Rules that look at a table after the statement changed it.
pub(super) fn after_apply(state: &mut ScriptState, stmt: &Statement, em: &mut Emitter<'_>) {
    let Some(rule) = em.on(RuleId::IndexTotalNumberLimit) else {
        return;
    };
    let limit = usize::try_from(rule.number().unwrap_or(5)).unwrap_or(0);
    let table: Option<&ObjectName> = match stmt {
        Statement::CreateTable(ct) => Some(&ct.name),
        Statement::CreateIndex(ci) => Some(&ci.table_name),
        Statement::AlterTable(at) => Some(&at.name),
        _ => None,
    };
    if let Some(t) = table.and_then(|n| state.catalog.table(n))
        && limit > 0
        && t.indexes.len() > limit
    {
        em.emit(
            RuleId::IndexTotalNumberLimit,
            format!(
                "Table \"{}\" has {} indexes, more than {limit}",
                t.name,
                t.indexes.len()
            ),
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use crate::review::rules::testing::*;

    #[test]
    fn duplicate_columns_and_key_count() {
        for e in [PG, MY] {
            assert_eq!(
                hits(
                    e,
                    "index.no-duplicate-column",
                    "CREATE INDEX i ON t (a, b, a)"
                ),
                1
            );
            assert_eq!(
                hits(
                    e,
                    "table.no-duplicate-index",
                    "CREATE TABLE t (a int, PRIMARY KEY (a, a))"
                ),
                1
            );
            assert_eq!(
                hits(e, "index.no-duplicate-column", "CREATE INDEX i ON t (a, b)"),
                0
            );
            assert_eq!(
                hits(
                    e,
                    "index.key-number-limit",
                    "CREATE INDEX i ON t (a, b, c, d, e, f)"
                ),
                1
            );
            assert_eq!(
                hits(
                    e,
                    "index.key-number-limit",
                    "CREATE INDEX i ON t (a, b, c, d, e)"
                ),
                0
            );
            assert_eq!(
                hits_with(
                    e,
                    "index.key-number-limit",
                    r#"{"number":2}"#,
                    "CREATE INDEX i ON t (a, b, c)"
                ),
                1
            );
        }
    }

    #[test]
    fn primary_key_types() {
        assert_eq!(
            hits(
                MY,
                "index.pk-type-limit",
                "CREATE TABLE t (id varchar(10) PRIMARY KEY)"
            ),
            1
        );
        assert_eq!(
            hits(
                MY,
                "index.pk-type-limit",
                "CREATE TABLE t (id bigint PRIMARY KEY)"
            ),
            0
        );
        let r = "index.primary-key-type-allowlist";
        assert_eq!(hits(PG, r, "CREATE TABLE t (id uuid PRIMARY KEY)"), 1);
        assert_eq!(hits(PG, r, "CREATE TABLE t (id integer PRIMARY KEY)"), 0);
        assert_eq!(
            hits(PG, r, "CREATE TABLE t (id bigserial, PRIMARY KEY (id))"),
            0
        );
        assert_eq!(
            hits_with(
                PG,
                r,
                r#"{"list":["UUID"]}"#,
                "CREATE TABLE t (id uuid PRIMARY KEY)"
            ),
            0
        );
        assert_eq!(
            hits_on(
                MY,
                r,
                "CREATE TABLE t (code varchar(3));",
                "ALTER TABLE t ADD PRIMARY KEY (code)"
            ),
            1
        );
    }

    #[test]
    fn blob_and_type_allow_list() {
        assert_eq!(
            hits(
                MY,
                "index.type-no-blob",
                "CREATE TABLE t (a text, KEY i (a))"
            ),
            1
        );
        assert_eq!(
            hits(
                MY,
                "index.type-no-blob",
                "CREATE TABLE t (a varchar(10), KEY i (a))"
            ),
            0
        );
        assert_eq!(
            hits_on(
                MY,
                "index.type-no-blob",
                "CREATE TABLE t (a blob);",
                "CREATE INDEX i ON t (a)"
            ),
            1
        );
        assert_eq!(
            hits(
                MY,
                "index.type-allow-list",
                "CREATE INDEX i ON t (a) USING HASH"
            ),
            0
        );
        assert_eq!(
            hits_with(
                MY,
                "index.type-allow-list",
                r#"{"list":["BTREE"]}"#,
                "CREATE INDEX i ON t (a) USING HASH"
            ),
            1
        );
        assert_eq!(
            hits(
                MY,
                "index.type-allow-list",
                "CREATE TABLE t (a text, FULLTEXT KEY f (a))"
            ),
            1
        );
    }

    #[test]
    fn create_concurrently() {
        assert_eq!(
            hits(PG, "index.create-concurrently", "CREATE INDEX i ON t (a)"),
            1
        );
        assert_eq!(
            hits(
                PG,
                "index.create-concurrently",
                "CREATE INDEX CONCURRENTLY i ON t (a)"
            ),
            0
        );
        assert_eq!(
            hits(
                PG,
                "index.create-concurrently",
                "CREATE TABLE t (a int); CREATE INDEX i ON t (a)"
            ),
            0
        );
        assert_eq!(hits(PG, "index.create-concurrently", "DROP INDEX i"), 1);
        assert_eq!(
            hits(MY, "index.create-concurrently", "CREATE INDEX i ON t (a)"),
            0
        );
    }

    #[test]
    fn total_number_limit() {
        let schema = "CREATE TABLE t (a int, b int, c int, d int, e int, f int, KEY ia (a), KEY ib (b), KEY ic (c), KEY id (d), KEY ie (e));";
        assert_eq!(
            hits_on(
                MY,
                "index.total-number-limit",
                schema,
                "CREATE INDEX i_f ON t (f)"
            ),
            1
        );
        assert_eq!(
            hits_on(
                MY,
                "index.total-number-limit",
                schema,
                "ALTER TABLE t ADD COLUMN g int"
            ),
            0
        );
        assert_eq!(
            hits_with(
                PG,
                "index.total-number-limit",
                r#"{"number":1}"#,
                "CREATE TABLE t (a int PRIMARY KEY, b int); CREATE INDEX i ON t (b)"
            ),
            1
        );
    }
}
