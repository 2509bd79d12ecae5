//! PostgreSQL introspection: ten catalog queries in total, whatever the number of tables.
//! Read-only; leaves out system schemas, extension members and schemagate's own schema.

use std::collections::HashMap;

use sqlx::PgConnection;

use crate::snapshot::{Column, Dialect, Object, ObjectKind, Schema, Table, TableItem};

const USER_NS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema', 'schemagate') \
     AND n.nspname NOT LIKE 'pg\\_%'";

fn not_ext(classid: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '{classid}'::regclass \
         AND dep.objid = {oid} AND dep.deptype = 'e')"
    )
}

fn q(s: &str) -> String {
    crate::snapshot::quote_ident(Dialect::Postgres, s)
}

fn q2(schema: &str, name: &str) -> String {
    format!("{}.{}", q(schema), q(name))
}

fn obj(kind: ObjectKind, schema: &str, name: &str, definition: String) -> Object {
    Object {
        kind,
        schema: schema.to_owned(),
        name: name.to_owned(),
        definition,
    }
}

/// Non-table objects: schemas, extensions, types, sequences, views, routines, triggers.
async fn objects(c: &mut PgConnection) -> Result<Vec<Object>, sqlx::Error> {
    let mut s = Schema::new(Dialect::Postgres);
    let sql = format!(
        "SELECT n.nspname::text FROM pg_namespace n WHERE {USER_NS} AND {}",
        not_ext("pg_namespace", "n.oid")
    );
    for (name,) in sqlx::query_as::<_, (String,)>(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *c)
        .await?
    {
        s.objects.push(obj(
            ObjectKind::Schema,
            "",
            &name,
            format!("CREATE SCHEMA IF NOT EXISTS {}", q(&name)),
        ));
    }

    let sql = "SELECT e.extname::text, n.nspname::text FROM pg_extension e \
               JOIN pg_namespace n ON n.oid = e.extnamespace";
    for (name, ns) in sqlx::query_as::<_, (String, String)>(sql)
        .fetch_all(&mut *c)
        .await?
    {
        s.objects.push(obj(
            ObjectKind::Extension,
            "",
            &name,
            format!(
                "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                q(&name),
                q(&ns)
            ),
        ));
    }

    let sql = format!(
        "SELECT n.nspname::text, t.typname::text, t.typtype::text, \
           (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) \
              FROM pg_enum e WHERE e.enumtypid = t.oid), \
           format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault, \
           (SELECT string_agg(' CONSTRAINT ' || quote_ident(k.conname) || ' ' || \
                   pg_get_constraintdef(k.oid, true), '' ORDER BY k.conname) \
              FROM pg_constraint k WHERE k.contypid = t.oid) \
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE t.typtype IN ('e', 'd') AND {USER_NS} AND {}",
        not_ext("pg_type", "t.oid")
    );
    type TypeRow = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        bool,
        Option<String>,
        Option<String>,
    );
    for (ns, name, typtype, labels, base, notnull, default, checks) in
        sqlx::query_as::<_, TypeRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        if typtype == "e" {
            let def = format!(
                "CREATE TYPE {} AS ENUM ({})",
                q2(&ns, &name),
                labels.unwrap_or_default()
            );
            s.objects.push(obj(ObjectKind::Enum, &ns, &name, def));
        } else {
            let mut def = format!(
                "CREATE DOMAIN {} AS {}",
                q2(&ns, &name),
                base.unwrap_or_default()
            );
            if let Some(d) = default {
                def.push_str(&format!(" DEFAULT {d}"));
            }
            if notnull {
                def.push_str(" NOT NULL");
            }
            def.push_str(&checks.unwrap_or_default());
            s.objects.push(obj(ObjectKind::Domain, &ns, &name, def));
        }
    }

    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, format_type(sq.seqtypid, NULL), sq.seqstart, \
           sq.seqincrement, sq.seqmin, sq.seqmax, sq.seqcache, sq.seqcycle \
         FROM pg_sequence sq JOIN pg_class c ON c.oid = sq.seqrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE {USER_NS} AND NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE \
           dep.classid = 'pg_class'::regclass AND dep.objid = c.oid AND dep.deptype IN ('i', 'e'))"
    );
    type SeqRow = (String, String, String, i64, i64, i64, i64, i64, bool);
    for (ns, name, ty, start, inc, min, max, cache, cycle) in
        sqlx::query_as::<_, SeqRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        let def = format!(
            "CREATE SEQUENCE {} AS {ty} INCREMENT BY {inc} MINVALUE {min} MAXVALUE {max} START WITH {start} \
             CACHE {cache}{}",
            q2(&ns, &name),
            if cycle { " CYCLE" } else { " NO CYCLE" }
        );
        s.objects.push(obj(ObjectKind::Sequence, &ns, &name, def));
    }

    // Tables (ordinary and partitioned; partitions are left to their parent).
    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid, true) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('v', 'm') AND {USER_NS} AND {}",
        not_ext("pg_class", "c.oid")
    );
    for (ns, name, kind, def) in
        sqlx::query_as::<_, (String, String, String, String)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        let body = def.trim().trim_end_matches(';').to_owned();
        let (k, word) = if kind == "m" {
            (ObjectKind::MaterializedView, "MATERIALIZED VIEW")
        } else {
            (ObjectKind::View, "VIEW")
        };
        s.objects.push(obj(
            k,
            &ns,
            &name,
            format!("CREATE {word} {} AS\n{body}", q2(&ns, &name)),
        ));
    }

    let sql = format!(
        "SELECT n.nspname::text, p.proname::text, pg_get_function_identity_arguments(p.oid), \
           p.prokind::text, pg_get_functiondef(p.oid) \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.prokind IN ('f', 'p', 'w') AND {USER_NS} AND {}",
        not_ext("pg_proc", "p.oid")
    );
    for (ns, name, args, kind, def) in
        sqlx::query_as::<_, (String, String, String, String, String)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        let k = if kind == "p" {
            ObjectKind::Procedure
        } else {
            ObjectKind::Function
        };
        s.objects.push(obj(
            k,
            &ns,
            &format!("{name}({args})"),
            def.trim().to_owned(),
        ));
    }

    let sql = format!(
        "SELECT n.nspname::text, c.relname::text, t.tgname::text, pg_get_triggerdef(t.oid, true) \
         FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {USER_NS}"
    );
    for (ns, table, name, def) in
        sqlx::query_as::<_, (String, String, String, String)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        s.objects.push(obj(
            ObjectKind::Trigger,
            &ns,
            &format!("{table}.{name}"),
            def,
        ));
    }
    Ok(s.objects)
}

/// Tables with their columns (in column order).
async fn tables(c: &mut PgConnection) -> Result<Vec<(i64, Table)>, sqlx::Error> {
    let mut s = Schema::new(Dialect::Postgres);
    let sql = format!(
        "SELECT c.oid::bigint, n.nspname::text, c.relname::text, obj_description(c.oid, 'pg_class'), \
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_NS} AND {}",
        not_ext("pg_class", "c.oid")
    );
    let mut by_oid: HashMap<i64, usize> = HashMap::new();
    type TableRow = (i64, String, String, Option<String>, Option<String>);
    for (oid, ns, name, comment, partkey) in sqlx::query_as::<_, TableRow>(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *c)
        .await?
    {
        by_oid.insert(oid, s.tables.len());
        s.tables.push(Table {
            schema: ns,
            name,
            columns: Vec::new(),
            constraints: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            options: partkey.map(|p| format!("PARTITION BY {p}")),
            comment,
        });
    }

    let sql = format!(
        "SELECT a.attrelid::bigint, a.attname::text, format_type(a.atttypid, a.atttypmod), \
           a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, \
           CASE WHEN a.attcollation NOT IN (0, 100) THEN (SELECT quote_ident(co.collname) \
             FROM pg_collation co WHERE co.oid = a.attcollation) END, ds.description, a.attnum::int \
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_description ds ON ds.objoid = a.attrelid \
           AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum \
         WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped \
           AND c.relnamespace IN (SELECT n.oid FROM pg_namespace n WHERE {USER_NS})"
    );
    type ColRow = (
        i64,
        String,
        String,
        bool,
        Option<String>,
        String,
        String,
        Option<String>,
        Option<String>,
        i32,
    );
    // Unordered from the server (no sort there); put columns in ordinal order here.
    let mut cols: Vec<(usize, i32, Column)> = Vec::new();
    for (rel, name, ty, notnull, default, identity, generated, collation, comment, attnum) in
        sqlx::query_as::<_, ColRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        let Some(&ti) = by_oid.get(&rel) else {
            continue;
        };
        let (default, generated) = if generated == "s" {
            (None, default.map(|g| format!("({g}) STORED")))
        } else {
            (default, None)
        };
        let identity = match identity.as_str() {
            "a" => Some("ALWAYS".to_owned()),
            "d" => Some("BY DEFAULT".to_owned()),
            _ => None,
        };
        let col = Column {
            name,
            data_type: ty,
            nullable: !notnull,
            default,
            identity,
            generated,
            collation,
            extra: None,
            comment,
        };
        cols.push((ti, attnum, col));
    }
    cols.sort_by_key(|(ti, attnum, _)| (*ti, *attnum));
    for (ti, _, col) in cols {
        s.tables[ti].columns.push(col);
    }

    Ok(by_oid
        .into_iter()
        .map(|(oid, i)| (oid, std::mem::replace(&mut s.tables[i], empty_table())))
        .collect())
}

type ConstraintRow = (i64, String, String, String);

/// Constraints of all tables: (table oid, name, type, definition).
async fn constraints(c: &mut PgConnection) -> Result<Vec<ConstraintRow>, sqlx::Error> {
    let mut out = Vec::new();
    let sql = format!(
        "SELECT k.conrelid::bigint, k.conname::text, k.contype::text, pg_get_constraintdef(k.oid, true) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE k.contype IN ('p', 'u', 'c', 'x', 'f') AND k.conparentid = 0 AND {USER_NS}"
    );
    for (rel, name, contype, def) in
        sqlx::query_as::<_, (i64, String, String, String)>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *c)
            .await?
    {
        out.push((rel, name, contype, def));
    }

    Ok(out)
}

/// Indexes that back no constraint: (table oid, name, definition).
async fn indexes(c: &mut PgConnection) -> Result<Vec<(i64, String, String)>, sqlx::Error> {
    let mut out = Vec::new();
    let sql = format!(
        "SELECT i.indrelid::bigint, ic.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND {USER_NS} AND NOT EXISTS (SELECT 1 FROM pg_constraint k \
           WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) \
           AND NOT EXISTS (SELECT 1 FROM pg_inherits ih WHERE ih.inhrelid = i.indexrelid)"
    );
    for (rel, name, def) in sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *c)
        .await?
    {
        out.push((rel, name, def));
    }

    Ok(out)
}

fn empty_table() -> Table {
    Table {
        schema: String::new(),
        name: String::new(),
        columns: Vec::new(),
        constraints: Vec::new(),
        foreign_keys: Vec::new(),
        indexes: Vec::new(),
        options: None,
        comment: None,
    }
}

fn assemble(
    objects: Vec<Object>,
    tables: Vec<(i64, Table)>,
    constraints: Vec<ConstraintRow>,
    indexes: Vec<(i64, String, String)>,
) -> Schema {
    let mut by_oid: HashMap<i64, Table> = tables.into_iter().collect();
    for (rel, name, contype, definition) in constraints {
        let Some(t) = by_oid.get_mut(&rel) else {
            continue;
        };
        let item = TableItem { name, definition };
        if contype == "f" {
            t.foreign_keys.push(item)
        } else {
            t.constraints.push(item)
        }
    }
    for (rel, name, definition) in indexes {
        if let Some(t) = by_oid.get_mut(&rel) {
            t.indexes.push(TableItem { name, definition });
        }
    }
    Schema {
        dialect: Dialect::Postgres,
        tables: by_oid.into_values().collect(),
        objects,
    }
}

/// Reads the whole schema of the connected database over one connection (inside the executor's
/// transaction it sees the change's own uncommitted DDL).
pub(crate) async fn snapshot(c: &mut PgConnection) -> Result<Schema, sqlx::Error> {
    let o = objects(&mut *c).await?;
    let t = tables(&mut *c).await?;
    let k = constraints(&mut *c).await?;
    let i = indexes(&mut *c).await?;
    Ok(assemble(o, t, k, i))
}

/// Reads the whole schema over three connections at once, all in one exported MVCC snapshot so
/// the parts agree (the way pg_dump's parallel mode does it).
pub(crate) async fn snapshot_parallel(
    a: &mut PgConnection,
    b: &mut PgConnection,
    c: &mut PgConnection,
) -> Result<Schema, sqlx::Error> {
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *a)
        .await?;
    let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *a)
        .await?;
    for conn in [&mut *b, &mut *c] {
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *conn)
            .await?;
        // The id comes from the server and is a plain token; bind parameters are not allowed here.
        let set = format!("SET TRANSACTION SNAPSHOT '{}'", id.replace('\'', ""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(set))
            .execute(&mut *conn)
            .await?;
    }
    // Roughly equal server work per connection: columns | index definitions | the rest.
    let (ta, tb, tc) = tokio::join!(tables(&mut *a), indexes(&mut *b), async {
        let k = constraints(&mut *c).await?;
        let o = objects(&mut *c).await?;
        Ok::<_, sqlx::Error>((k, o))
    });
    for conn in [&mut *a, &mut *b, &mut *c] {
        let _ = sqlx::raw_sql("COMMIT").execute(&mut *conn).await;
    }
    let (k, o) = tc?;
    Ok(assemble(o, ta?, k, tb?))
}
