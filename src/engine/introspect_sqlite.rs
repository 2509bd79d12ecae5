//! SQLite catalog introspection: four queries over `sqlite_schema` joined with the table-valued
//! pragma functions, whatever the number of tables. Read-only.

use std::collections::BTreeMap;

use sqlx::{Row, SqliteConnection};

use crate::snapshot::{Column, Dialect, Object, ObjectKind, Schema, Table, TableItem};

/// User objects only: SQLite's internal tables and schemagate's own history tables are left out.
const USER_OBJECTS: &str = "m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     AND m.name NOT IN ('schemagate_history', 'schemagate_meta') \
     AND m.tbl_name NOT IN ('schemagate_history', 'schemagate_meta')";

/// Snapshots the connected database (the `main` schema).
pub async fn snapshot(c: &mut SqliteConnection) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::new(Dialect::Sqlite);
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();

    let objects = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT m.type, m.name, m.tbl_name, m.sql FROM sqlite_schema m \
         WHERE {USER_OBJECTS} ORDER BY m.type <> 'table', m.type, m.name"
    )))
    .fetch_all(&mut *c)
    .await?;
    for row in &objects {
        let kind: String = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let table: String = row.try_get(2)?;
        let sql: Option<String> = row.try_get(3)?;
        match (kind.as_str(), sql) {
            ("table", _) => {
                tables.insert(name.clone(), empty_table(name));
            }
            // Automatic indexes (sql NULL) back PRIMARY KEY / UNIQUE and are read as constraints.
            ("index", Some(sql)) => {
                if let Some(t) = tables.get_mut(&table) {
                    t.indexes.push(TableItem {
                        name,
                        definition: sql,
                    });
                }
            }
            ("view", Some(sql)) => schema.objects.push(object(ObjectKind::View, name, sql)),
            ("trigger", Some(sql)) => schema.objects.push(object(ObjectKind::Trigger, name, sql)),
            _ => {}
        }
    }

    // Columns (pragma_table_xinfo also lists generated columns).
    let columns = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden \
         FROM sqlite_schema m JOIN pragma_table_xinfo(m.name) p \
         WHERE m.type = 'table' AND {USER_OBJECTS} ORDER BY m.name, p.cid"
    )))
    .fetch_all(&mut *c)
    .await?;
    let mut primary: BTreeMap<String, Vec<(i64, String)>> = BTreeMap::new();
    for row in &columns {
        let table: String = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let pk: i64 = row.try_get(5)?;
        let hidden: i64 = row.try_get(6)?;
        if pk > 0 && hidden != 1 {
            primary
                .entry(table.clone())
                .or_default()
                .push((pk, name.clone()));
        }
        // hidden = 1: hidden columns of virtual tables, not part of the declared schema.
        let Some(t) = tables.get_mut(&table).filter(|_| hidden != 1) else {
            continue;
        };
        t.columns.push(Column {
            name,
            data_type: row.try_get(2)?,
            nullable: row.try_get::<i64, _>(3)? == 0,
            default: row.try_get(4)?,
            identity: None,
            // SQLite's catalog does not expose generation expressions; see docs/engines.md.
            generated: None,
            collation: None,
            extra: None,
            comment: None,
            identity_options: None,
        });
    }
    for (table, mut cols) in primary {
        cols.sort();
        if let Some(t) = tables.get_mut(&table) {
            let list: Vec<String> = cols.iter().map(|(_, c)| quote(c)).collect();
            t.constraints.push(TableItem {
                name: format!("{table}_pkey"),
                definition: format!("PRIMARY KEY ({})", list.join(", ")),
            });
        }
    }

    // UNIQUE constraints (origin 'u'), with their columns in order.
    let uniques = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT m.name, il.name, ii.name FROM sqlite_schema m \
         JOIN pragma_index_list(m.name) il JOIN pragma_index_info(il.name) ii \
         WHERE m.type = 'table' AND il.origin = 'u' AND {USER_OBJECTS} \
         ORDER BY m.name, il.name, ii.seqno"
    )))
    .fetch_all(&mut *c)
    .await?;
    let mut unique: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for row in &uniques {
        let key = (row.try_get(0)?, row.try_get(1)?);
        unique.entry(key).or_default().push(row.try_get(2)?);
    }
    for ((table, _index), cols) in unique {
        if let Some(t) = tables.get_mut(&table) {
            let list: Vec<String> = cols.iter().map(|c| quote(c)).collect();
            t.constraints.push(TableItem {
                name: format!("{table}_{}_key", cols.join("_")),
                definition: format!("UNIQUE ({})", list.join(", ")),
            });
        }
    }

    // Foreign keys: SQLite cannot add them later, so they are table constraints here.
    let fks = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT m.name, f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete \
         FROM sqlite_schema m JOIN pragma_foreign_key_list(m.name) f \
         WHERE m.type = 'table' AND {USER_OBJECTS} ORDER BY m.name, f.id, f.seq"
    )))
    .fetch_all(&mut *c)
    .await?;
    let mut foreign: BTreeMap<(String, i64), ForeignKey> = BTreeMap::new();
    for row in &fks {
        let key = (row.try_get(0)?, row.try_get(1)?);
        let fk = foreign.entry(key).or_default();
        fk.target = row.try_get(2)?;
        fk.from.push(row.try_get(3)?);
        fk.to
            .push(row.try_get::<Option<String>, _>(4)?.unwrap_or_default());
        fk.on_update = row.try_get(5)?;
        fk.on_delete = row.try_get(6)?;
    }
    for ((table, id), fk) in foreign {
        let ForeignKey {
            target,
            from,
            to,
            on_update,
            on_delete,
        } = fk;
        if let Some(t) = tables.get_mut(&table) {
            let to: Vec<String> = to
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| quote(c))
                .collect();
            let target_cols = if to.is_empty() {
                String::new()
            } else {
                format!(" ({})", to.join(", "))
            };
            let from: Vec<String> = from.iter().map(|c| quote(c)).collect();
            let mut definition = format!(
                "FOREIGN KEY ({}) REFERENCES {}{target_cols}",
                from.join(", "),
                quote(&target)
            );
            for (what, action) in [("UPDATE", on_update), ("DELETE", on_delete)] {
                if action != "NO ACTION" {
                    definition.push_str(&format!(" ON {what} {action}"));
                }
            }
            t.constraints.push(TableItem {
                name: format!("{table}_fk{id}"),
                definition,
            });
        }
    }

    schema.tables = tables.into_values().collect();
    Ok(schema)
}

/// One foreign key, assembled from its per-column rows.
#[derive(Default)]
struct ForeignKey {
    target: String,
    from: Vec<String>,
    to: Vec<String>,
    on_update: String,
    on_delete: String,
}

fn empty_table(name: String) -> Table {
    Table::new("", name)
}

fn object(kind: ObjectKind, name: String, definition: String) -> Object {
    Object::new(kind, "", name, definition)
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}
