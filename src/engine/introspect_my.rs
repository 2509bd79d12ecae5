//! MySQL/MariaDB introspection from information_schema: a fixed number of queries (about
//! fifteen), whatever the number of tables. Read-only; covers the connected database only and
//! leaves out schemagate's tables. Definers are left out unless owners are asked for, so a
//! snapshot does not depend on who created the objects.

mod code;
mod tables;

use std::collections::HashMap;

use sqlx::MySqlConnection;

use crate::snapshot::SnapshotOptions;
use crate::snapshot::{Column, Dialect, Object, ObjectKind, Schema, Table, TableItem};

fn q(s: &str) -> String {
    crate::snapshot::quote_ident(Dialect::Mysql, s)
}

fn lit(s: &str) -> String {
    crate::snapshot::quote_literal(Dialect::Mysql, s)
}

fn obj(kind: ObjectKind, name: &str, definition: String) -> Object {
    Object::new(kind, "", name, definition)
}

fn is_ours(name: &str) -> bool {
    crate::engine::history::is_history_object(None, name)
}

/// The query with the database name as a literal: MariaDB then reads only that database's
/// directory instead of every database's (a `DATABASE()` call is not used for that pruning).
fn sql(query: &str, db: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(query.replace("DATABASE()", &lit(db)))
}

/// Strips `` `db`. `` qualifiers so definitions load into a database of another name.
fn unqualify(def: &str, db: &str) -> String {
    def.replace(&format!("{}.", q(db)), "")
}

/// (major, minor) of a `VERSION()` string such as `10.11.19-MariaDB-0+deb12u1`.
fn server_version(version: &str) -> (u32, u32) {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn charset_of(collation: &str) -> &str {
    collation.split('_').next().unwrap_or(collation)
}

type TableAndName = (String, String);
/// Index being assembled: non-unique flag, index type, comment, ignored (MariaDB) or invisible
/// (MySQL), column parts.
type IndexAcc = (i64, String, String, bool, Vec<String>);
/// Foreign key being assembled: referenced schema and table, columns, referenced columns, rules.
type FkAcc = (String, String, Vec<String>, Vec<String>, String, String);

/// Foreign keys with their column lists, in table/constraint order.
async fn foreign_keys(
    c: &mut MySqlConnection,
    db: &str,
) -> Result<Vec<(TableAndName, FkAcc)>, sqlx::Error> {
    type RcRow = (String, String, String, String, String, String);
    let rcs: Vec<RcRow> = sqlx::query_as(sql(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, UNIQUE_CONSTRAINT_SCHEMA, REFERENCED_TABLE_NAME, \
           UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS \
         WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    if rcs.is_empty() {
        return Ok(Vec::new());
    }
    // Column lists: InnoDB's dictionary view is one cheap scan, while KEY_COLUMN_USAGE opens
    // every table (about ten times slower on 2,000 tables), so it is only the fallback (other
    // engines, names InnoDB stores encoded, no PROCESS privilege). FK names are unique per
    // database in InnoDB.
    let mut cols: HashMap<String, (Vec<String>, Vec<String>)> = HashMap::new();
    let innodb: Result<Vec<(String, String, String)>, sqlx::Error> = sqlx::query_as(
        "SELECT ID, FOR_COL_NAME, REF_COL_NAME FROM information_schema.INNODB_SYS_FOREIGN_COLS \
         WHERE ID LIKE ? ORDER BY ID, POS",
    )
    .bind(format!("{db}/%"))
    .fetch_all(&mut *c)
    .await;
    for (id, f, r) in innodb.unwrap_or_default() {
        if let Some((idb, name)) = id.split_once('/')
            && idb == db
        {
            let e = cols.entry(name.to_owned()).or_default();
            e.0.push(q(&f));
            e.1.push(q(&r));
        }
    }
    if rcs.iter().any(|rc| !cols.contains_key(&rc.1)) {
        cols.clear();
        let rows: Vec<(String, String, String)> = sqlx::query_as(sql(
            "SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_COLUMN_NAME \
             FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
            db,
        ))
        .fetch_all(&mut *c)
        .await?;
        for (name, f, r) in rows {
            let e = cols.entry(name).or_default();
            e.0.push(q(&f));
            e.1.push(q(&r));
        }
    }
    Ok(rcs
        .into_iter()
        .map(|(table, name, rschema, rtable, upd, del)| {
            let (f, r) = cols.get(&name).cloned().unwrap_or_default();
            ((table, name), (rschema, rtable, f, r, upd, del))
        })
        .collect())
}

/// Reads the schema of the connected database.
pub(crate) async fn snapshot(
    c: &mut MySqlConnection,
    opts: SnapshotOptions,
) -> Result<Schema, sqlx::Error> {
    let mut s = Schema::new(Dialect::Mysql);
    let (db, version): (String, String) = sqlx::query_as("SELECT DATABASE(), VERSION()")
        .fetch_one(&mut *c)
        .await?;
    let mariadb = version.contains("MariaDB");

    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut table_collation: HashMap<String, String> = HashMap::new();
    type TableRow = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<TableRow> = sqlx::query_as(sql(
        "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_COMMENT, CREATE_OPTIONS \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
           AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED', 'SEQUENCE')",
        &db,
    ))
    .fetch_all(&mut *c)
    .await?;
    let mut sequences = Vec::new();
    for (name, kind, engine, collation, comment, create_options) in rows {
        if is_ours(&name) {
            continue;
        }
        if kind == "SEQUENCE" {
            sequences.push((name, comment.unwrap_or_default()));
            continue;
        }
        let mut opts = Vec::new();
        if let Some(e) = engine {
            opts.push(format!("ENGINE={e}"));
        }
        if let Some(coll) = &collation {
            opts.push(format!(
                "DEFAULT CHARSET={} COLLATE={coll}",
                charset_of(coll)
            ));
            table_collation.insert(name.clone(), coll.clone());
        }
        opts.extend(tables::create_options(
            create_options.as_deref().unwrap_or(""),
        ));
        if kind == "SYSTEM VERSIONED" {
            opts.push("WITH SYSTEM VERSIONING".to_owned());
        }
        by_name.insert(name.clone(), s.tables.len());
        s.tables.push(Table {
            options: Some(opts.join(" ")).filter(|o| !o.is_empty()),
            comment: comment.filter(|c| !c.is_empty()),
            ..Table::new("", name)
        });
    }
    s.objects
        .extend(tables::sequences(&mut *c, &sequences).await?);
    for (table, parts) in tables::partitions(&mut *c, &db).await? {
        if let Some(&ti) = by_name.get(&table) {
            s.tables[ti].partitions = parts;
        }
    }

    type ColRow = (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<ColRow> = sqlx::query_as(sql(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
           GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         ORDER BY TABLE_NAME, ORDINAL_POSITION",
        &db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (table, name, ty, nullable, default, extra, gen_expr, collation, comment) in rows {
        let Some(&ti) = by_name.get(&table) else {
            continue;
        };
        let extra_l = extra.to_ascii_lowercase();
        let generated = if extra_l.contains("generated") && !extra_l.contains("default_generated") {
            let kind = if extra_l.contains("stored") || extra_l.contains("persistent") {
                "STORED"
            } else {
                "VIRTUAL"
            };
            Some(format!(
                "({}) {kind}",
                unqualify(&gen_expr.unwrap_or_default(), &db)
            ))
        } else {
            None
        };
        let on_update = extra_l.find("on update ").map(|i| {
            let rest = extra[i + "on update ".len()..].trim();
            // `on update current_timestamp(), INVISIBLE`: the expression is the first word.
            let expr = rest.split_whitespace().next().unwrap_or(rest);
            let expr = expr.trim_end_matches(',');
            format!("ON UPDATE {expr}")
        });
        let invisible = extra_l
            .split_whitespace()
            .any(|w| w == "invisible")
            .then(|| "INVISIBLE".to_owned());
        let extra_sql: Vec<String> = on_update.into_iter().chain(invisible).collect();
        let collation = collation.filter(|coll| table_collation.get(&table) != Some(coll));
        s.tables[ti].columns.push(Column {
            name,
            data_type: ty,
            nullable: nullable == "YES",
            // A sequence's `nextval(`db`.`seq`)` names the database; the replay has another.
            default: if generated.is_some() {
                None
            } else {
                default.map(|d| unqualify(&d, &db))
            },
            identity: extra_l
                .contains("auto_increment")
                .then(|| "AUTO_INCREMENT".to_owned()),
            generated,
            collation,
            extra: Some(extra_sql.join(" ")).filter(|e| !e.is_empty()),
            comment: Some(comment).filter(|c| !c.is_empty()),
            identity_options: None,
        });
    }

    type IdxRow = (
        String,
        String,
        i64,
        Option<String>,
        Option<i64>,
        String,
        String,
        Option<String>,
        i64,
        Option<String>,
    );
    // Ignored indexes (MariaDB 10.6), invisible ones and functional key parts (MySQL 8).
    let (hidden, expression) = if !mariadb {
        ("IS_VISIBLE = 'NO'", "EXPRESSION")
    } else if server_version(&version) >= (10, 6) {
        ("IGNORED = 'YES'", "NULL")
    } else {
        ("0", "NULL")
    };
    let rows: Vec<IdxRow> = sqlx::query_as(sql(
        &format!(
            "SELECT TABLE_NAME, INDEX_NAME, CAST(NON_UNIQUE AS SIGNED), COLUMN_NAME, \
               CAST(SUB_PART AS SIGNED), INDEX_TYPE, INDEX_COMMENT, COLLATION, \
               CAST({hidden} AS SIGNED), {expression} \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX"
        ),
        &db,
    ))
    .fetch_all(&mut *c)
    .await?;
    // (table, index) → (non_unique, type, comment, hidden, columns)
    let mut indexes: Vec<(TableAndName, IndexAcc)> = Vec::new();
    for (table, index, non_unique, col, sub, ty, comment, order, hidden, expr) in rows {
        let mut part = match (col, expr) {
            (Some(col), _) => q(&col),
            (None, Some(e)) => format!("({e})"),
            (None, None) => String::new(),
        };
        if let Some(n) = sub {
            part.push_str(&format!("({n})"));
        }
        if order.as_deref() == Some("D") {
            part.push_str(" DESC");
        }
        match indexes.last_mut() {
            Some((k, v)) if k.0 == table && k.1 == index => v.4.push(part),
            _ => indexes.push((
                (table, index),
                (non_unique, ty, comment, hidden != 0, vec![part]),
            )),
        }
    }
    for ((table, index), (non_unique, ty, comment, hidden, cols)) in indexes {
        let Some(&ti) = by_name.get(&table) else {
            continue;
        };
        let cols = cols.join(",");
        let comment = if comment.is_empty() {
            String::new()
        } else {
            format!(" COMMENT {}", lit(&comment))
        };
        if index == "PRIMARY" {
            s.tables[ti].constraints.push(TableItem {
                name: index,
                definition: format!("PRIMARY KEY ({cols}){comment}"),
            });
            continue;
        }
        let kind = match ty.as_str() {
            "FULLTEXT" => "FULLTEXT KEY",
            "SPATIAL" => "SPATIAL KEY",
            _ if non_unique == 0 => "UNIQUE KEY",
            _ => "KEY",
        };
        let using = if ty == "HASH" { " USING HASH" } else { "" };
        let hidden = match (hidden, mariadb) {
            (false, _) => "",
            (true, true) => " IGNORED",
            (true, false) => " INVISIBLE",
        };
        s.tables[ti].indexes.push(TableItem {
            definition: format!("{kind} {} ({cols}){using}{comment}{hidden}", q(&index)),
            name: index,
        });
    }

    let fks = foreign_keys(&mut *c, &db).await?;
    for ((table, name), (rschema, rtable, cols, rcols, upd, del)) in fks {
        let Some(&ti) = by_name.get(&table) else {
            continue;
        };
        let target = if rschema == db {
            q(&rtable)
        } else {
            format!("{}.{}", q(&rschema), q(&rtable))
        };
        s.tables[ti].foreign_keys.push(TableItem {
            name,
            definition: format!(
                "FOREIGN KEY ({}) REFERENCES {target} ({}) ON DELETE {del} ON UPDATE {upd}",
                cols.join(", "),
                rcols.join(", ")
            ),
        });
    }

    // MySQL 8 names the table of a check only in TABLE_CONSTRAINTS, and has unenforced ones.
    let checks = if mariadb {
        "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, 'YES' FROM \
         information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"
    } else {
        "SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE, tc.ENFORCED \
         FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc \
           ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
         WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK'"
    };
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as(sql(checks, &db)).fetch_all(&mut *c).await?;
    for (table, name, clause, enforced) in rows {
        let Some(&ti) = by_name.get(&table) else {
            continue;
        };
        let not_enforced = if enforced == "NO" {
            " NOT ENFORCED"
        } else {
            ""
        };
        s.tables[ti].constraints.push(TableItem {
            name,
            definition: format!("CHECK ({}){not_enforced}", unqualify(&clause, &db)),
        });
    }

    s.objects
        .extend(code::objects(&mut *c, &db, mariadb, opts.owners).await?);
    if opts.privileges {
        s.objects.extend(tables::privileges(&mut *c, &db).await?);
    }
    Ok(s)
}
