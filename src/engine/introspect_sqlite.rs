//! SQLite catalog introspection: four queries over `sqlite_schema` joined with the table-valued
//! pragma functions, whatever the number of tables. Read-only. What the pragmas do not tell
//! (checks, generation expressions, collations, AUTOINCREMENT, `STRICT` and `WITHOUT ROWID`) is
//! read from the `CREATE TABLE` text SQLite keeps.

use std::collections::BTreeMap;

use sqlx::{Row, SqliteConnection};

use crate::snapshot::{Column, Dialect, Object, ObjectKind, Schema, Table, TableItem};
use crate::sqltext::pieces::{Piece, PieceKind, sqlite_pieces, sqlite_table_elements};

/// User objects only: SQLite's internal tables and schemagate's own history tables are left out.
const USER_OBJECTS: &str = "m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
     AND m.name NOT IN ('schemagate_history', 'schemagate_meta') \
     AND m.tbl_name NOT IN ('schemagate_history', 'schemagate_meta')";

/// Snapshots the connected database (the `main` schema).
pub async fn snapshot(c: &mut SqliteConnection) -> Result<Schema, sqlx::Error> {
    let mut schema = Schema::new(Dialect::Sqlite);
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();
    let mut texts: BTreeMap<String, Declared> = BTreeMap::new();

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
            ("table", sql) => {
                let declared = declared(&name, sql.as_deref().unwrap_or(""));
                let mut table = empty_table(name.clone());
                table.options = declared.options.clone();
                table.constraints.extend(declared.checks.iter().cloned());
                texts.insert(name.clone(), declared);
                tables.insert(name, table);
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
        let said = texts
            .get(&table)
            .and_then(|d| d.columns.get(&name.to_lowercase()));
        // hidden 2: a virtual generated column, 3: a stored one.
        let generated = said.and_then(|c| c.generated.as_ref()).map(|g| {
            let kind = if hidden == 3 { "STORED" } else { "VIRTUAL" };
            format!("{g} {kind}")
        });
        let pragma_type: String = row.try_get(2)?;
        t.columns.push(Column {
            name,
            data_type: declared_type(said, pragma_type),
            nullable: row.try_get::<i64, _>(3)? == 0,
            default: row
                .try_get::<Option<String>, _>(4)?
                .map(|d| default_expression(&d)),
            identity: None,
            generated,
            collation: said.and_then(|c| c.collation.clone()),
            extra: said
                .filter(|c| c.autoincrement)
                .map(|_| "PRIMARY KEY AUTOINCREMENT".to_owned()),
            comment: None,
            identity_options: None,
        });
    }
    for (table, mut cols) in primary {
        // AUTOINCREMENT is part of its column's own PRIMARY KEY.
        if texts
            .get(&table)
            .is_some_and(|d| d.columns.values().any(|c| c.autoincrement))
        {
            continue;
        }
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
    for ((table, _id), fk) in foreign {
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
            let fk_columns = from.clone();
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
            // Named by their columns: pragma ids count from the last key declared, so they
            // would change when the DDL is replayed.
            let base = format!("{table}_{}_fkey", fk_columns.join("_"));
            let name = unused(
                &base,
                &t.constraints
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>(),
            );
            t.constraints.push(TableItem { name, definition });
        }
    }

    schema.tables = tables.into_values().collect();
    Ok(schema)
}

/// What a table's `CREATE TABLE` text says beyond the pragmas.
#[derive(Debug, Default)]
struct Declared {
    /// Columns by lower-case name.
    columns: BTreeMap<String, DeclaredColumn>,
    /// Check constraints, column-level ones included (SQLite treats both alike), named as
    /// written or `<table>_<column>_check` / `<table>_check`.
    checks: Vec<TableItem>,
    /// `STRICT`, `WITHOUT ROWID`, upper case, in the order written.
    options: Option<String>,
}

#[derive(Debug, Default)]
struct DeclaredColumn {
    /// The first word of the type as written (`text` in `email text NOT NULL`).
    type_word: Option<String>,
    collation: Option<String>,
    /// The parenthesised expression.
    generated: Option<String>,
    autoincrement: bool,
}

/// Reads the `CREATE TABLE` text of `table`.
fn declared(table: &str, sql: &str) -> Declared {
    let mut d = Declared::default();
    let Some((elements, options)) = sqlite_table_elements(sql) else {
        return d;
    };
    let options: Vec<String> = options
        .split(',')
        .map(|o| {
            o.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_uppercase()
        })
        .filter(|o| !o.is_empty())
        .collect();
    d.options = Some(options.join(", ")).filter(|o| !o.is_empty());
    // Names written after CONSTRAINT are taken before any is made up.
    let mut used: Vec<String> = Vec::new();
    for e in &elements {
        let pieces = sqlite_pieces(e);
        for w in pieces.windows(2) {
            if w[0].is(e, "CONSTRAINT") {
                used.push(w[1].name(e));
            }
        }
    }
    for e in elements {
        let pieces = sqlite_pieces(e);
        let Some(first) = pieces.first() else {
            continue;
        };
        let table_level = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
            .iter()
            .any(|k| first.is(e, k));
        let (column, rest) = if table_level {
            (None, &pieces[..])
        } else {
            (Some(first.name(e)), &pieces[1..])
        };
        let mut col = DeclaredColumn {
            type_word: rest
                .first()
                .filter(|p| p.kind == PieceKind::Word)
                .map(|p| text(e, p).to_owned()),
            ..DeclaredColumn::default()
        };
        let mut name: Option<String> = None;
        let mut i = 0;
        while let Some(p) = rest.get(i) {
            let next = rest.get(i + 1);
            let group = next
                .filter(|n| n.kind == PieceKind::Group)
                .map(|n| text(e, n));
            i += 1;
            if p.is(e, "CONSTRAINT") {
                name = next.map(|n| n.name(e));
                i += 1;
                continue;
            }
            if p.is(e, "CHECK")
                && let Some(g) = group
            {
                let base = match &column {
                    Some(c) => format!("{table}_{c}_check"),
                    None => format!("{table}_check"),
                };
                let n = name.take().unwrap_or_else(|| unused(&base, &used));
                used.push(n.clone());
                d.checks.push(TableItem {
                    name: n,
                    definition: format!("CHECK {g}"),
                });
            } else if p.is(e, "COLLATE") {
                col.collation = next.map(|n| text(e, n).to_owned());
            } else if p.is(e, "AS") && group.is_some() {
                col.generated = group.map(str::to_owned);
            } else if p.is(e, "AUTOINCREMENT") {
                col.autoincrement = true;
            }
            if p.kind == PieceKind::Word {
                name = None;
            }
        }
        if let Some(c) = column {
            d.columns.insert(c.to_lowercase(), col);
        }
    }
    d
}

/// A column's type as declared. SQLite keeps declared types verbatim, except that its pragmas
/// upper-case the names it knows (`text` → `TEXT`, `int` → `INT`; not `bigint`), so a snapshot
/// mixed the casing the user wrote with SQLite's. Only a pragma type that is one word equal to
/// the declared one but for case is replaced, by the declared spelling.
fn declared_type(said: Option<&DeclaredColumn>, pragma_type: String) -> String {
    match said.and_then(|c| c.type_word.as_ref()) {
        Some(w) if w.eq_ignore_ascii_case(&pragma_type) => w.clone(),
        _ => pragma_type,
    }
}

/// A default as SQLite needs it written: pragma_table_info gives `datetime('now')` for
/// `DEFAULT (datetime('now'))`, and only literals may go without the parentheses.
fn default_expression(d: &str) -> String {
    let t = d.trim();
    let upper = t.to_ascii_uppercase();
    let number = t
        .trim_start_matches(['-', '+'])
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && t.trim_start_matches(['-', '+'])
            .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    let literal = number
        || t.starts_with('\'')
        || ((upper.starts_with("X'")) && t.ends_with('\''))
        || [
            "NULL",
            "TRUE",
            "FALSE",
            "CURRENT_TIME",
            "CURRENT_DATE",
            "CURRENT_TIMESTAMP",
        ]
        .contains(&upper.as_str());
    if literal {
        t.to_owned()
    } else {
        format!("({t})")
    }
}

fn text<'a>(e: &'a str, p: &Piece) -> &'a str {
    &e[p.range.clone()]
}

/// `base`, or `base1`, `base2`, … when taken.
fn unused(base: &str, used: &[String]) -> String {
    (0..)
        .map(|n| {
            if n == 0 {
                base.to_owned()
            } else {
                format!("{base}{n}")
            }
        })
        .find(|n| !used.contains(n))
        .unwrap_or_else(|| base.to_owned())
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
