//! The canonical form of a [`Schema`]: its order ([`Schema::normalize`]), its DDL
//! ([`Schema::canonical_ddl`]) and digest, and parsing that DDL back into per-object pieces for
//! diffing. Pure text; the exact layout here is what digests are computed over.

use sha2::{Digest, Sha256};

use super::model::{Column, Dialect, Object, ObjectKind, Schema, Table};

const HEADER: &str = "-- schemagate: ";

/// First line of PostgreSQL canonical DDL (see `Schema::canonical_ddl`).
const PG_PREAMBLE: &str = "SET check_function_bodies = false;";

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
            Dialect::Postgres => format!("{PG_PREAMBLE}\n\n"),
            Dialect::Mysql | Dialect::Sqlite => String::new(),
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
    /// Dialect of the body (how [`RenderedObject::parts`] cuts it into statements).
    pub dialect: Dialect,
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

    /// The key other objects name it by in their `depends_on` (`kind name`).
    pub fn key(&self) -> String {
        key(&self.kind, &self.name)
    }
}

/// The key of an object in `depends_on` lists: its kind label and qualified name, as in the
/// DDL's `-- schemagate:` line.
pub fn key(kind: &str, name: &str) -> String {
    format!("{kind} {name}")
}

/// Quotes an identifier for the dialect (always quoted, so any name is safe).
pub fn ident(d: Dialect, s: &str) -> String {
    match d {
        Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", s.replace('"', "\"\"")),
        Dialect::Mysql => format!("`{}`", s.replace('`', "``")),
    }
}

/// A string literal for the dialect. Line breaks and tabs are written as escapes (PostgreSQL
/// `E'…'`, MySQL `\n`), so every literal stays on one line of the canonical DDL.
pub fn literal(d: Dialect, s: &str) -> String {
    let control = |c: char| matches!(c, '\n' | '\r' | '\t');
    match d {
        Dialect::Postgres if s.contains(control) => {
            let mut out = String::with_capacity(s.len() + 4);
            out.push_str("E'");
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\'' => out.push_str("''"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
        Dialect::Postgres | Dialect::Sqlite => format!("'{}'", s.replace('\'', "''")),
        Dialect::Mysql => format!(
            "'{}'",
            s.replace('\\', "\\\\")
                .replace('\'', "''")
                .replace('\n', "\\n")
                .replace('\r', "\\r")
                .replace('\t', "\\t")
        ),
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
    // SQLite columns may have no declared type at all.
    let mut s = if c.data_type.is_empty() {
        ident(d, &c.name)
    } else {
        format!("{} {}", ident(d, &c.name), c.data_type)
    };
    if let Some(coll) = &c.collation {
        s.push_str(&format!(" COLLATE {coll}"));
    }
    if let Some(g) = &c.generated {
        s.push_str(&format!(" GENERATED ALWAYS AS {g}"));
    }
    if let Some(id) = &c.identity
        && d == Dialect::Postgres
    {
        s.push_str(&format!(" GENERATED {id} AS IDENTITY"));
        if let Some(o) = &c.identity_options {
            s.push_str(&format!(" ({o})"));
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
    match d {
        Dialect::Mysql => {
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
        Dialect::Sqlite => {
            if let Some(x) = &c.extra {
                s.push_str(&format!(" {x}"));
            }
        }
        Dialect::Postgres => {}
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
    let unlogged = if t.unlogged { "UNLOGGED " } else { "" };
    let mut s = format!("CREATE {unlogged}TABLE {q}");
    if let Some(of) = &t.of {
        s.push(' ');
        s.push_str(of);
    }
    // A partition or typed table declares no columns of its own unless it adds constraints.
    if !lines.is_empty() || t.of.is_none() {
        s.push_str(&format!(" (\n{}\n)", lines.join(",\n")));
    }
    if let Some(o) = &t.options {
        s.push(' ');
        s.push_str(o);
    }
    if d == Dialect::Mysql {
        if let Some(cm) = &t.comment {
            s.push_str(&format!(" COMMENT={}", literal(d, cm)));
        }
        if let Some((by, parts)) = t.partitions.split_first() {
            s.push('\n');
            s.push_str(&by.definition);
            if !parts.is_empty() {
                let list: Vec<&str> = parts.iter().map(|p| p.definition.as_str()).collect();
                s.push_str(&format!("\n({})", list.join(",\n ")));
            }
        }
    }
    if d == Dialect::Postgres {
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
    }
    // SQLite has no comments; its foreign keys are table constraints.
    for st in &t.statements {
        s.push_str(";\n");
        s.push_str(st);
    }
    s
}

fn object(d: Dialect, o: &Object) -> RenderedObject {
    RenderedObject {
        kind: o.kind.label().to_owned(),
        name: display_name(&o.schema, &o.name),
        body: o.definition.clone(),
        compound: o.kind.is_compound(),
        dialect: d,
    }
}

/// One step of the load order: objects of some kinds, or the tables' parts.
#[derive(Clone, Copy)]
enum Step {
    Objects(&'static [ObjectKind]),
    Tables,
    Indexes,
    Constraints,
}

/// The fixed load order of a dialect; dependencies recorded in the snapshot then move an
/// object later where it needs something that comes after its kind (see [`dependency_order`]).
fn steps(d: Dialect) -> &'static [Step] {
    use ObjectKind as K;
    use Step::{Constraints, Indexes, Objects, Tables};
    match d {
        Dialect::Postgres => &[
            Objects(&[K::Schema, K::Extension, K::Collation]),
            Objects(&[K::Enum, K::Domain, K::CompositeType, K::RangeType]),
            Objects(&[K::Function, K::Aggregate, K::Procedure]),
            Objects(&[K::Sequence]),
            Tables,
            Indexes,
            Constraints,
            Objects(&[K::SequenceOwnedBy]),
            Objects(&[K::View, K::MaterializedView]),
            Objects(&[K::Index]),
            Objects(&[
                K::Trigger,
                K::Rule,
                K::Policy,
                K::Statistics,
                K::EventTrigger,
            ]),
            Objects(&[K::Privileges, K::DefaultPrivileges, K::Owner]),
        ],
        Dialect::Mysql => &[
            Objects(&[K::Schema, K::Extension, K::Enum, K::Domain, K::Sequence]),
            Tables,
            Constraints,
            Objects(&[K::Function, K::Procedure]),
            Objects(&[K::View, K::MaterializedView]),
            Objects(&[K::Trigger, K::Event]),
            Objects(&[K::Privileges, K::Owner]),
        ],
        Dialect::Sqlite => &[Tables, Indexes, Objects(&[K::View]), Objects(&[K::Trigger])],
    }
}

/// Renders the schema as canonical objects in load order.
pub fn render(s: &Schema) -> Vec<RenderedObject> {
    let d = s.dialect;
    let mut out: Vec<RenderedObject> = Vec::new();
    // Dependencies of each rendered object, parallel to `out`.
    let mut deps: Vec<Vec<String>> = Vec::new();
    for step in steps(d) {
        match *step {
            Step::Objects(kinds) => {
                // Views keep the order `order_views` gave them within their block.
                for o in s.objects.iter().filter(|o| kinds.contains(&o.kind)) {
                    out.push(object(d, o));
                    deps.push(o.depends_on.clone());
                }
            }
            Step::Tables => {
                for t in &s.tables {
                    out.push(RenderedObject {
                        kind: "table".into(),
                        name: display_name(&t.schema, &t.name),
                        body: table_sql(d, t),
                        compound: false,
                        dialect: d,
                    });
                    deps.push(t.depends_on.clone());
                }
            }
            Step::Indexes => {
                for t in &s.tables {
                    for i in &t.indexes {
                        out.push(RenderedObject {
                            kind: "index".into(),
                            name: display_name(&t.schema, &i.name),
                            body: i.definition.clone(),
                            compound: false,
                            dialect: d,
                        });
                        deps.push(vec![key("table", &display_name(&t.schema, &t.name))]);
                    }
                }
            }
            Step::Constraints => {
                for t in &s.tables {
                    for fk in &t.foreign_keys {
                        // Foreign keys, and PostgreSQL constraints that are NOT VALID (a
                        // constraint in CREATE TABLE is always validated).
                        let kind = if fk.definition.starts_with("FOREIGN KEY") {
                            "foreign-key"
                        } else {
                            "constraint"
                        };
                        out.push(RenderedObject {
                            kind: kind.into(),
                            name: format!("{}.{}", display_name(&t.schema, &t.name), fk.name),
                            body: format!(
                                "ALTER TABLE {} ADD CONSTRAINT {} {}",
                                qualified(d, &t.schema, &t.name),
                                ident(d, &fk.name),
                                fk.definition
                            ),
                            compound: false,
                            dialect: d,
                        });
                        deps.push(vec![key("table", &display_name(&t.schema, &t.name))]);
                    }
                }
            }
        }
    }
    dependency_order(out, &deps)
}

/// Moves each object after the objects it depends on, keeping the given order otherwise
/// (Kahn's algorithm, always taking the earliest ready object, so the result is deterministic).
/// A dependency cycle is broken at its earliest object; unknown keys are ignored.
fn dependency_order(objects: Vec<RenderedObject>, deps: &[Vec<String>]) -> Vec<RenderedObject> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap};

    if deps.iter().all(Vec::is_empty) {
        return objects;
    }
    let mut index: HashMap<String, usize> = HashMap::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        index.entry(o.key()).or_insert(i);
    }
    let n = objects.len();
    let mut waiting = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        let mut seen: Vec<usize> = ds
            .iter()
            .filter_map(|k| index.get(k).copied())
            .filter(|&j| j != i)
            .collect();
        seen.sort_unstable();
        seen.dedup();
        waiting[i] = seen.len();
        for j in seen {
            dependents[j].push(i);
        }
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
    let mut done = vec![false; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut next_unfinished = 0;
    while order.len() < n {
        let i = match ready.pop() {
            Some(Reverse(i)) if done[i] => continue,
            Some(Reverse(i)) => i,
            None => {
                // A cycle: take the earliest object still waiting.
                while done[next_unfinished] {
                    next_unfinished += 1;
                }
                next_unfinished
            }
        };
        done[i] = true;
        order.push(i);
        for &k in &dependents[i] {
            waiting[k] = waiting[k].saturating_sub(1);
            if waiting[k] == 0 && !done[k] {
                ready.push(Reverse(k));
            }
        }
    }
    let mut slots: Vec<Option<RenderedObject>> = objects.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
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
/// kind and name otherwise), keeping the block where the views were. Snapshots that record
/// their dependencies (PostgreSQL) are ordered by those when rendered.
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
    // The file does not name its dialect: PostgreSQL's starts with its preamble, MySQL's
    // quotes names with backticks.
    let dialect = if text.starts_with(PG_PREAMBLE) {
        Dialect::Postgres
    } else if text
        .lines()
        .any(|l| l.starts_with("CREATE ") && l.contains('`'))
    {
        Dialect::Mysql
    } else {
        Dialect::Sqlite
    };
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
                dialect,
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
        let mut users = Table::new("public", "users");
        users.columns.push(Column {
            nullable: false,
            comment: Some("it's mail".into()),
            ..Column::new("email", "character varying(20)")
        });
        users.constraints.push(TableItem {
            name: "users_pkey".into(),
            definition: "PRIMARY KEY (email)".into(),
        });
        s.tables.push(users);
        s.objects.push(Object::new(
            ObjectKind::View,
            "public",
            "b",
            "CREATE VIEW public.b AS SELECT * FROM public.a",
        ));
        s.objects.push(Object::new(
            ObjectKind::View,
            "public",
            "a",
            "CREATE VIEW public.a AS SELECT * FROM public.users",
        ));
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

    #[test]
    fn a_format_1_snapshot_is_still_read_and_rendered() {
        // As stored by schemagate before issue 17: no `format`, no partitions, no dependencies.
        let stored = r#"{"dialect":"postgres","tables":[{"schema":"public","name":"users",
            "columns":[{"name":"id","data_type":"integer","nullable":false,"default":null,
            "identity":"ALWAYS","generated":null,"collation":null,"extra":null,"comment":null}],
            "constraints":[{"name":"users_pkey","definition":"PRIMARY KEY (id)"}],
            "foreign_keys":[],"indexes":[],"options":null,"comment":null}],
            "objects":[{"kind":"view","schema":"public","name":"v",
            "definition":"CREATE VIEW public.v AS SELECT id FROM public.users"}]}"#;
        let s = Schema::from_json(stored).unwrap();
        assert_eq!(s.format, 1);
        let ddl = s.canonical_ddl();
        assert!(
            ddl.contains("\"id\" integer GENERATED ALWAYS AS IDENTITY"),
            "{ddl}"
        );
        assert!(ddl.contains("CREATE VIEW public.v AS SELECT id FROM public.users"));
        let kinds: Vec<String> = parse_canonical_ddl(&ddl)
            .into_iter()
            .map(|o| o.kind)
            .collect();
        assert_eq!(kinds, ["table", "view"]);
    }
}
