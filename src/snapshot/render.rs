//! The canonical form of a [`Schema`]: its order ([`Schema::normalize`]), its DDL
//! ([`Schema::canonical_ddl`]) and digest, and parsing that DDL back into per-object pieces for
//! diffing. Pure text; the exact layout here is what digests are computed over.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::model::{Column, Dialect, Object, ObjectKind, Schema, Table};

const HEADER: &str = "-- schemagate: ";

impl Schema {
    /// Sorts everything into canonical order (columns keep their ordinal order).
    pub fn normalize(&mut self) {
        self.tables
            .sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
        for t in &mut self.tables {
            t.constraints.sort_by(|a, b| a.name.cmp(&b.name));
            t.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
            t.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        }
        self.objects
            .sort_by(|a, b| (a.kind, &a.schema, &a.name).cmp(&(b.kind, &b.schema, &b.name)));
        order_views(&mut self.objects);
    }

    /// Canonical DDL: deterministic, loadable into an empty database.
    pub fn canonical_ddl(&self) -> String {
        let preamble = match self.dialect {
            // Function bodies may mention tables created later in the file.
            Dialect::Postgres => "SET check_function_bodies = false;\n\n",
            Dialect::Mysql | Dialect::Sqlite => "",
        };
        let body: String = render(self)
            .iter()
            .map(|o| o.to_text(self.dialect))
            .collect();
        format!("{preamble}{body}")
    }

    /// sha256 (hex) of the canonical DDL.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_ddl().as_bytes()))
    }
}

/// One object of the canonical DDL: its kind label, qualified name and statement(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedObject {
    /// Kind label (`table`, `index`, `foreign-key`, `view`, …).
    pub kind: String,
    /// Qualified name.
    pub name: String,
    /// Statement text without the final terminator (may hold several statements for tables).
    pub body: String,
    /// Whether the body needs a MySQL `DELIMITER` block.
    pub compound: bool,
}

impl RenderedObject {
    /// The object as it appears in the canonical DDL file.
    pub fn to_text(&self, dialect: Dialect) -> String {
        if self.compound && dialect == Dialect::Mysql {
            format!(
                "{HEADER}{} {}\nDELIMITER ;;\n{};;\nDELIMITER ;\n\n",
                self.kind, self.name, self.body
            )
        } else {
            format!("{HEADER}{} {}\n{};\n\n", self.kind, self.name, self.body)
        }
    }

    /// Named parts for diffing: a table's columns, constraints, options and comments; other
    /// objects have one part, `definition`.
    pub fn parts(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if self.kind != "table" {
            out.insert("definition".to_owned(), self.body.clone());
            return out;
        }
        let mut in_create = false;
        for line in self.body.lines() {
            if line.starts_with("CREATE TABLE") {
                in_create = true;
            } else if in_create && line.starts_with("  ") {
                let l = line.trim().trim_end_matches(',');
                let (key, value) = part_of_line(l);
                out.insert(key, value);
            } else if in_create && line.starts_with(')') {
                in_create = false;
                let opts = line.trim_start_matches(')').trim();
                if !opts.is_empty() {
                    out.insert("options".into(), opts.to_owned());
                }
            } else if let Some((k, v)) = line.split_once(" IS ") {
                out.insert(k.trim().to_owned(), v.to_owned());
            }
        }
        out
    }
}

fn first_token(s: &str) -> &str {
    let s = s.trim_start();
    let q = s.chars().next().unwrap_or(' ');
    if q == '"' || q == '`' {
        // Quoted identifier with doubled quotes inside.
        let b = s.as_bytes();
        let mut i = 1;
        while i < b.len() {
            if char::from(b[i]) == q {
                if b.get(i + 1).map(|c| char::from(*c)) == Some(q) {
                    i += 2;
                    continue;
                }
                return &s[..=i];
            }
            i += 1;
        }
        s
    } else {
        s.split_whitespace().next().unwrap_or("")
    }
}

fn part_of_line(l: &str) -> (String, String) {
    if let Some(rest) = l.strip_prefix("CONSTRAINT ") {
        let name = first_token(rest);
        return (
            format!("constraint {name}"),
            rest[name.len()..].trim().to_owned(),
        );
    }
    if l.starts_with("PRIMARY KEY") {
        return ("primary key".into(), l.to_owned());
    }
    for prefix in ["UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY ", "KEY "] {
        if let Some(rest) = l.strip_prefix(prefix) {
            return (format!("index {}", first_token(rest)), l.to_owned());
        }
    }
    let name = first_token(l);
    (format!("column {name}"), l[name.len()..].trim().to_owned())
}

/// Quotes an identifier for the dialect (always quoted, so any name is safe).
pub fn ident(d: Dialect, s: &str) -> String {
    match d {
        Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", s.replace('"', "\"\"")),
        Dialect::Mysql => format!("`{}`", s.replace('`', "``")),
    }
}

/// A string literal for the dialect.
pub fn literal(d: Dialect, s: &str) -> String {
    match d {
        Dialect::Postgres | Dialect::Sqlite => format!("'{}'", s.replace('\'', "''")),
        Dialect::Mysql => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''")),
    }
}

fn qualified(d: Dialect, schema: &str, name: &str) -> String {
    if schema.is_empty() {
        ident(d, name)
    } else {
        format!("{}.{}", ident(d, schema), ident(d, name))
    }
}

fn display_name(schema: &str, name: &str) -> String {
    if schema.is_empty() {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

fn column_sql(d: Dialect, c: &Column) -> String {
    let mut s = format!("{} {}", ident(d, &c.name), c.data_type);
    if let Some(coll) = &c.collation {
        match d {
            Dialect::Postgres | Dialect::Mysql | Dialect::Sqlite => {
                s.push_str(&format!(" COLLATE {coll}"));
            }
        }
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(" GENERATED ALWAYS AS {g}"));
    }
    if let Some(id) = &c.identity {
        match d {
            Dialect::Postgres => s.push_str(&format!(" GENERATED {id} AS IDENTITY")),
            Dialect::Mysql | Dialect::Sqlite => {}
        }
    }
    if !c.nullable {
        s.push_str(" NOT NULL");
    } else if d == Dialect::Mysql && c.generated.is_none() && c.data_type.starts_with("timestamp") {
        s.push_str(" NULL");
    }
    if let Some(def) = &c.default {
        s.push_str(&format!(" DEFAULT {def}"));
    }
    if d == Dialect::Mysql {
        if c.identity.is_some() {
            s.push_str(" AUTO_INCREMENT");
        }
        if let Some(x) = &c.extra {
            s.push_str(&format!(" {x}"));
        }
        if let Some(cm) = &c.comment {
            s.push_str(&format!(" COMMENT {}", literal(d, cm)));
        }
    }
    s
}

fn table_sql(d: Dialect, t: &Table) -> String {
    let q = qualified(d, &t.schema, &t.name);
    let mut lines: Vec<String> = t
        .columns
        .iter()
        .map(|c| format!("  {}", column_sql(d, c)))
        .collect();
    if d == Dialect::Mysql {
        lines.extend(t.indexes.iter().map(|i| format!("  {}", i.definition)));
    }
    for c in &t.constraints {
        if d == Dialect::Mysql && c.definition.starts_with("PRIMARY KEY") {
            lines.insert(t.columns.len(), format!("  {}", c.definition));
        } else {
            lines.push(format!(
                "  CONSTRAINT {} {}",
                ident(d, &c.name),
                c.definition
            ));
        }
    }
    let mut s = format!("CREATE TABLE {q} (\n{}\n)", lines.join(",\n"));
    if let Some(o) = &t.options {
        s.push(' ');
        s.push_str(o);
    }
    if d == Dialect::Mysql {
        if let Some(cm) = &t.comment {
            s.push_str(&format!(" COMMENT={}", literal(d, cm)));
        }
        return s;
    }
    if d == Dialect::Sqlite {
        // SQLite has no comments; its foreign keys are table constraints.
        return s;
    }
    if let Some(cm) = &t.comment {
        s.push_str(&format!(";\nCOMMENT ON TABLE {q} IS {}", literal(d, cm)));
    }
    for c in &t.columns {
        if let Some(cm) = &c.comment {
            s.push_str(&format!(
                ";\nCOMMENT ON COLUMN {q}.{} IS {}",
                ident(d, &c.name),
                literal(d, cm)
            ));
        }
    }
    s
}

fn object(o: &Object) -> RenderedObject {
    RenderedObject {
        kind: o.kind.label().to_owned(),
        name: display_name(&o.schema, &o.name),
        body: o.definition.clone(),
        compound: o.kind.is_compound(),
    }
}

/// Renders the schema as canonical objects in load order.
pub fn render(s: &Schema) -> Vec<RenderedObject> {
    let d = s.dialect;
    let mut out = Vec::new();
    let objs = |kinds: &[ObjectKind], out: &mut Vec<RenderedObject>| {
        // Views and materialized views are interleaved by dependency order (see `order_views`).
        out.extend(
            s.objects
                .iter()
                .filter(|o| kinds.contains(&o.kind))
                .map(object),
        );
    };
    let tables = |out: &mut Vec<RenderedObject>| {
        for t in &s.tables {
            out.push(RenderedObject {
                kind: "table".into(),
                name: display_name(&t.schema, &t.name),
                body: table_sql(d, t),
                compound: false,
            });
        }
    };
    let indexes_and_fks = |out: &mut Vec<RenderedObject>| {
        for t in &s.tables {
            if matches!(d, Dialect::Postgres | Dialect::Sqlite) {
                for i in &t.indexes {
                    out.push(RenderedObject {
                        kind: "index".into(),
                        name: display_name(&t.schema, &i.name),
                        body: i.definition.clone(),
                        compound: false,
                    });
                }
            }
        }
        for t in &s.tables {
            for fk in &t.foreign_keys {
                out.push(RenderedObject {
                    kind: "foreign-key".into(),
                    name: format!("{}.{}", display_name(&t.schema, &t.name), fk.name),
                    body: format!(
                        "ALTER TABLE {} ADD CONSTRAINT {} {}",
                        qualified(d, &t.schema, &t.name),
                        ident(d, &fk.name),
                        fk.definition
                    ),
                    compound: false,
                });
            }
        }
    };
    use ObjectKind as K;
    match d {
        Dialect::Postgres => {
            objs(
                &[
                    K::Schema,
                    K::Extension,
                    K::Enum,
                    K::Domain,
                    K::Sequence,
                    K::Function,
                ],
                &mut out,
            );
            tables(&mut out);
            indexes_and_fks(&mut out);
            objs(&[K::View, K::MaterializedView], &mut out);
            objs(&[K::Procedure, K::Trigger, K::Event], &mut out);
        }
        Dialect::Mysql => {
            objs(
                &[K::Schema, K::Extension, K::Enum, K::Domain, K::Sequence],
                &mut out,
            );
            tables(&mut out);
            indexes_and_fks(&mut out);
            objs(&[K::Function, K::Procedure], &mut out);
            objs(&[K::View, K::MaterializedView], &mut out);
            objs(&[K::Trigger, K::Event], &mut out);
        }
        Dialect::Sqlite => {
            tables(&mut out);
            indexes_and_fks(&mut out);
            objs(&[K::View], &mut out);
            objs(&[K::Trigger], &mut out);
        }
    }
    out
}

fn mentions(definition: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    definition.match_indices(name).any(|(i, _)| {
        let before = definition[..i].chars().next_back();
        let after = definition[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Orders views and materialized views so each comes after the views it mentions (stable by
/// kind and name otherwise), keeping the block where the views were.
pub fn order_views(objects: &mut Vec<Object>) {
    let is_view = |o: &Object| matches!(o.kind, ObjectKind::View | ObjectKind::MaterializedView);
    let Some(first) = objects.iter().position(is_view) else {
        return;
    };
    let mut views: Vec<Object> = Vec::new();
    let mut rest: Vec<Object> = Vec::new();
    for o in objects.drain(..) {
        if is_view(&o) {
            views.push(o)
        } else {
            rest.push(o)
        }
    }
    let mut ordered: Vec<Object> = Vec::with_capacity(views.len());
    let mut remaining = views;
    while !remaining.is_empty() {
        let pick = remaining
            .iter()
            .position(|v| {
                !remaining
                    .iter()
                    .any(|other| !std::ptr::eq(other, v) && mentions(&v.definition, &other.name))
            })
            .unwrap_or(0);
        ordered.push(remaining.remove(pick));
    }
    rest.splice(first..first, ordered);
    *objects = rest;
}

/// Parses canonical DDL (as produced by [`Schema::canonical_ddl`]) back into objects.
pub fn parse_canonical_ddl(text: &str) -> Vec<RenderedObject> {
    let mut out: Vec<RenderedObject> = Vec::new();
    let mut cur: Option<(String, String, Vec<&str>)> = None;
    let flush = |cur: &mut Option<(String, String, Vec<&str>)>, out: &mut Vec<RenderedObject>| {
        if let Some((kind, name, lines)) = cur.take() {
            let mut body = lines.join("\n").trim().to_owned();
            let compound = body.starts_with("DELIMITER ;;");
            if compound {
                body = body
                    .trim_start_matches("DELIMITER ;;")
                    .trim_end_matches("DELIMITER ;")
                    .trim()
                    .trim_end_matches(";;")
                    .trim()
                    .to_owned();
            } else if let Some(b) = body.strip_suffix(';') {
                body = b.to_owned();
            }
            out.push(RenderedObject {
                kind,
                name,
                body,
                compound,
            });
        }
    };
    for line in text.lines() {
        if let Some(h) = line.strip_prefix(HEADER) {
            flush(&mut cur, &mut out);
            let (kind, name) = h.split_once(' ').unwrap_or((h, ""));
            cur = Some((kind.to_owned(), name.to_owned(), Vec::new()));
        } else if let Some((_, _, lines)) = cur.as_mut() {
            lines.push(line);
        }
    }
    flush(&mut cur, &mut out);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::snapshot::TableItem;

    fn sample() -> Schema {
        let mut s = Schema::new(Dialect::Postgres);
        s.tables.push(Table {
            schema: "public".into(),
            name: "users".into(),
            columns: vec![Column {
                name: "email".into(),
                data_type: "character varying(20)".into(),
                nullable: false,
                default: None,
                identity: None,
                generated: None,
                collation: None,
                extra: None,
                comment: Some("it's mail".into()),
            }],
            constraints: vec![TableItem {
                name: "users_pkey".into(),
                definition: "PRIMARY KEY (email)".into(),
            }],
            foreign_keys: vec![],
            indexes: vec![],
            options: None,
            comment: None,
        });
        s.objects.push(Object {
            kind: ObjectKind::View,
            schema: "public".into(),
            name: "b".into(),
            definition: "CREATE VIEW public.b AS SELECT * FROM public.a".into(),
        });
        s.objects.push(Object {
            kind: ObjectKind::View,
            schema: "public".into(),
            name: "a".into(),
            definition: "CREATE VIEW public.a AS SELECT * FROM public.users".into(),
        });
        s.normalize();
        s
    }

    #[test]
    fn canonical_ddl_parses_back_to_the_same_objects() {
        let s = sample();
        let ddl = s.canonical_ddl();
        assert!(ddl.contains("COMMENT ON COLUMN \"public\".\"users\".\"email\" IS 'it''s mail'"));
        let parsed = parse_canonical_ddl(&ddl);
        assert_eq!(parsed, render(&s));
        let parts = parsed[0].parts();
        assert_eq!(parts["column \"email\""], "character varying(20) NOT NULL");
        assert_eq!(parts["constraint \"users_pkey\""], "PRIMARY KEY (email)");
    }

    #[test]
    fn views_come_after_the_views_they_use() {
        let names: Vec<String> = sample().objects.iter().map(|o| o.name.clone()).collect();
        assert_eq!(names, ["a", "b"]);
        let mut s = sample();
        s.objects[0].definition = "CREATE VIEW public.a AS SELECT * FROM public.b".into();
        s.objects[1].definition = "CREATE VIEW public.b AS SELECT 1".into();
        s.normalize();
        let names: Vec<String> = s.objects.iter().map(|o| o.name.clone()).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn digest_changes_with_the_schema() {
        let a = sample();
        let mut b = sample();
        b.tables[0].columns[0].data_type = "text".into();
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), sample().digest());
    }
}
