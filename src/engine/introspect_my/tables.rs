//! MySQL/MariaDB table options, partitions, sequences and privileges: one query each, whatever
//! the number of tables (sequences: one `UNION ALL` over all of them). Read-only.

use std::collections::{BTreeMap, HashMap};

use sqlx::MySqlConnection;

use super::{lit, q, sql};
use crate::snapshot::{Object, ObjectKind, TableItem};

/// The table options that matter, from `information_schema.TABLES.CREATE_OPTIONS`
/// (`row_format=COMPRESSED key_block_size=8 partitioned`), in a fixed order.
pub(super) fn create_options(raw: &str) -> Vec<String> {
    let mut opts: Vec<String> = raw
        .split_whitespace()
        .filter_map(|o| o.split_once('='))
        .map(|(k, v)| format!("{}={v}", k.to_ascii_uppercase()))
        .collect();
    opts.sort();
    opts
}

/// `DEFINER=`user`@`host`` from `user@host`.
pub(super) fn definer(raw: &str) -> String {
    match raw.rsplit_once('@') {
        Some((user, host)) => format!("DEFINER={}@{}", q(user), q(host)),
        None => format!("DEFINER={}", q(raw)),
    }
}

type PartitionRow = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

/// Partitioning of every partitioned table: table → the `PARTITION BY` clause (empty name),
/// then one item per partition.
pub(super) async fn partitions(
    c: &mut MySqlConnection,
    db: &str,
) -> Result<HashMap<String, Vec<TableItem>>, sqlx::Error> {
    let rows: Vec<PartitionRow> = sqlx::query_as(sql(
        "SELECT TABLE_NAME, PARTITION_NAME, SUBPARTITION_NAME, PARTITION_METHOD, \
           SUBPARTITION_METHOD, PARTITION_EXPRESSION, SUBPARTITION_EXPRESSION, \
           PARTITION_DESCRIPTION, PARTITION_COMMENT \
         FROM information_schema.PARTITIONS \
         WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME IS NOT NULL \
         ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    // table → (clause, [(partition, values, comment, [subpartitions])])
    type Part = (String, String, String, Vec<String>);
    let mut tables: BTreeMap<String, (String, Vec<Part>)> = BTreeMap::new();
    for (table, part, sub, method, sub_method, expr, sub_expr, desc, comment) in rows {
        let entry = tables.entry(table).or_insert_with(|| {
            let by = |m: &str, e: Option<&str>| {
                let e = e.unwrap_or("");
                if m.ends_with("COLUMNS") {
                    format!("{m}({e})")
                } else {
                    format!("{m} ({e})")
                }
            };
            let mut clause = format!("PARTITION BY {}", by(&method, expr.as_deref()));
            if let Some(sm) = &sub_method {
                clause.push_str(&format!(" SUBPARTITION BY {}", by(sm, sub_expr.as_deref())));
            }
            (clause, Vec::new())
        });
        let values = match (method.as_str(), desc.as_deref()) {
            (m, Some("MAXVALUE")) if m.starts_with("LIST") => "DEFAULT".to_owned(),
            ("RANGE", Some("MAXVALUE")) => "VALUES LESS THAN MAXVALUE".to_owned(),
            (m, Some(d)) if m.starts_with("RANGE") => format!("VALUES LESS THAN ({d})"),
            (m, Some(d)) if m.starts_with("LIST") => format!("VALUES IN ({d})"),
            _ => String::new(),
        };
        match entry.1.last_mut() {
            Some(p) if p.0 == part => p.3.extend(sub),
            _ => entry
                .1
                .push((part, values, comment, sub.into_iter().collect())),
        }
    }
    Ok(tables
        .into_iter()
        .map(|(table, (clause, parts))| {
            let mut items = vec![TableItem {
                name: String::new(),
                definition: clause,
            }];
            for (name, values, comment, subs) in parts {
                let mut d = format!("PARTITION {}", q(&name));
                if !values.is_empty() {
                    d.push(' ');
                    d.push_str(&values);
                }
                if !comment.is_empty() {
                    d.push_str(&format!(" COMMENT = {}", lit(&comment)));
                }
                if !subs.is_empty() {
                    let list: Vec<String> = subs
                        .iter()
                        .map(|s| format!("SUBPARTITION {}", q(s)))
                        .collect();
                    d.push_str(&format!(" ({})", list.join(", ")));
                }
                items.push(TableItem {
                    name,
                    definition: d,
                });
            }
            (table, items)
        })
        .collect())
}

/// MariaDB sequences (`names` with their comments), read in one `UNION ALL` query.
pub(super) async fn sequences(
    c: &mut MySqlConnection,
    names: &[(String, String)],
) -> Result<Vec<Object>, sqlx::Error> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let selects: Vec<String> = names
        .iter()
        .map(|(n, _)| {
            format!(
                "SELECT {} AS n, minimum_value, maximum_value, start_value, increment, \
                 CAST(cache_size AS SIGNED), CAST(cycle_option AS SIGNED) FROM {}",
                lit(n),
                q(n)
            )
        })
        .collect();
    type SeqRow = (String, i64, i64, i64, i64, i64, i64);
    let rows: Vec<SeqRow> = sqlx::query_as(sqlx::AssertSqlSafe(selects.join(" UNION ALL ")))
        .fetch_all(&mut *c)
        .await?;
    let comments: HashMap<&str, &str> = names
        .iter()
        .map(|(n, cm)| (n.as_str(), cm.as_str()))
        .collect();
    Ok(rows
        .into_iter()
        .map(|(name, min, max, start, inc, cache, cycle)| {
            let mut d = format!(
                "CREATE SEQUENCE {} START WITH {start} MINVALUE {min} MAXVALUE {max} \
                 INCREMENT BY {inc} CACHE {cache} {}",
                q(&name),
                if cycle != 0 { "CYCLE" } else { "NOCYCLE" }
            );
            if let Some(cm) = comments.get(name.as_str()).filter(|c| !c.is_empty()) {
                d.push_str(&format!(" COMMENT={}", lit(cm)));
            }
            Object::new(ObjectKind::Sequence, "", name, d)
        })
        .collect())
}

/// Grants on the database, its tables and their columns (`'user'@'host'` grantees).
pub(super) async fn privileges(
    c: &mut MySqlConnection,
    db: &str,
) -> Result<Vec<Object>, sqlx::Error> {
    // (object, grantee, grantable) → privileges
    let mut grants: BTreeMap<(String, String, bool), Vec<String>> = BTreeMap::new();
    let rows: Vec<(String, String, String)> = sqlx::query_as(sql(
        "SELECT GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.SCHEMA_PRIVILEGES \
         WHERE TABLE_SCHEMA = DATABASE()",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (grantee, privilege, grantable) in rows {
        grants
            .entry(("*".to_owned(), grantee, grantable == "YES"))
            .or_default()
            .push(privilege);
    }
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(sql(
        "SELECT TABLE_NAME, GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE \
         FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (table, grantee, privilege, grantable) in rows {
        grants
            .entry((table, grantee, grantable == "YES"))
            .or_default()
            .push(privilege);
    }
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(sql(
        "SELECT TABLE_NAME, COLUMN_NAME, GRANTEE, PRIVILEGE_TYPE, IS_GRANTABLE \
         FROM information_schema.COLUMN_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE()",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (table, column, grantee, privilege, grantable) in rows {
        grants
            .entry((table, grantee, grantable == "YES"))
            .or_default()
            .push(format!("{privilege} ({})", q(&column)));
    }
    let mut by_object: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((object, grantee, grantable), mut privs) in grants {
        privs.sort();
        let on = if object == "*" {
            "*".to_owned()
        } else {
            q(&object)
        };
        by_object.entry(object).or_default().push(format!(
            "GRANT {} ON {on} TO {grantee}{}",
            privs.join(", "),
            if grantable { " WITH GRANT OPTION" } else { "" }
        ));
    }
    Ok(by_object
        .into_iter()
        .map(|(object, st)| {
            let name = if object == "*" {
                "database".to_owned()
            } else {
                format!("table {object}")
            };
            Object::new(ObjectKind::Privileges, "", name, st.join(";\n"))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_options_are_upper_case_and_sorted_without_partitioned() {
        assert_eq!(
            create_options("stats_persistent=1 row_format=COMPRESSED key_block_size=8 partitioned"),
            [
                "KEY_BLOCK_SIZE=8",
                "ROW_FORMAT=COMPRESSED",
                "STATS_PERSISTENT=1"
            ]
        );
        assert_eq!(definer("app@10.0.0.%"), "DEFINER=`app`@`10.0.0.%`");
    }
}
