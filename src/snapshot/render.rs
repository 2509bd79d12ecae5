//! The canonical form of a [`Schema`]: its order ([`Schema::normalize`]), its DDL
//! ([`Schema::canonical_ddl`]) and digest, and parsing that DDL back into per-object pieces for
//! diffing. Pure text; the exact layout here is what digests are computed over.

use sha2::{Digest, Sha256};

use super::model::{Column, Dialect, Object, ObjectKind, Schema, Table, TableItem};

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

    /// Canonical DDL: deterministic, loadable into an empty database. Written into one
    /// string (the same text as [`render`]'s objects' [`RenderedObject::to_text`]).
    pub fn canonical_ddl(&self) -> String {
        let items = items(self);
        // About what a table of ~20 columns takes, so the string rarely grows.
        let mut out = String::with_capacity(64 + items.len() * 400);
        if self.dialect == Dialect::Postgres {
            // Function bodies may mention tables created later in the file.
            out.push_str(PG_PREAMBLE);
            out.push_str("\n\n");
        }
        for i in items {
            i.write(self.dialect, &mut out);
        }
        out
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
    let mut out = String::with_capacity(s.len() + 2);
    push_ident(d, s, &mut out);
    out
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
    let mut s = String::with_capacity(schema.len() + name.len() + 5);
    push_qualified(d, schema, name, &mut s);
    s
}

/// Appends `ident(d, s)`.
pub fn push_ident(d: Dialect, s: &str, out: &mut String) {
    let q = match d {
        Dialect::Postgres | Dialect::Sqlite => '"',
        Dialect::Mysql => '`',
    };
    out.push(q);
    for (i, part) in s.split(q).enumerate() {
        if i > 0 {
            out.push(q);
            out.push(q);
        }
        out.push_str(part);
    }
    out.push(q);
}

/// Appends `qualified(d, schema, name)`.
fn push_qualified(d: Dialect, schema: &str, name: &str, out: &mut String) {
    if !schema.is_empty() {
        push_ident(d, schema, out);
        out.push('.');
    }
    push_ident(d, name, out);
}

/// Appends `display_name(schema, name)`.
fn push_display_name(schema: &str, name: &str, out: &mut String) {
    if !schema.is_empty() {
        out.push_str(schema);
        out.push('.');
    }
    out.push_str(name);
}

/// Appends a column's line of `CREATE TABLE` (without the indentation).
fn push_column_sql(d: Dialect, c: &Column, s: &mut String) {
    push_ident(d, &c.name, s);
    // SQLite columns may have no declared type at all.
    if !c.data_type.is_empty() {
        s.push(' ');
        s.push_str(&c.data_type);
    }
    if let Some(coll) = &c.collation {
        s.push_str(" COLLATE ");
        s.push_str(coll);
    }
    if let Some(g) = &c.generated {
        s.push_str(" GENERATED ALWAYS AS ");
        s.push_str(g);
    }
    if let Some(id) = &c.identity
        && d == Dialect::Postgres
    {
        s.push_str(" GENERATED ");
        s.push_str(id);
        s.push_str(" AS IDENTITY");
        if let Some(o) = &c.identity_options {
            s.push_str(" (");
            s.push_str(o);
            s.push(')');
        }
    }
    if !c.nullable {
        s.push_str(" NOT NULL");
    } else if d == Dialect::Mysql && c.generated.is_none() && c.data_type.starts_with("timestamp") {
        s.push_str(" NULL");
    }
    if let Some(def) = &c.default {
        s.push_str(" DEFAULT ");
        s.push_str(def);
    }
    match d {
        Dialect::Mysql => {
            if c.identity.is_some() {
                s.push_str(" AUTO_INCREMENT");
            }
            if let Some(x) = &c.extra {
                s.push(' ');
                s.push_str(x);
            }
            if let Some(cm) = &c.comment {
                s.push_str(" COMMENT ");
                s.push_str(&literal(d, cm));
            }
        }
        Dialect::Sqlite => {
            if let Some(x) = &c.extra {
                s.push(' ');
                s.push_str(x);
            }
        }
        Dialect::Postgres => {}
    }
}

/// Appends a table's `CREATE TABLE` and the statements that complete it.
fn push_table_sql(d: Dialect, t: &Table, s: &mut String) {
    let q = qualified(d, &t.schema, &t.name);
    let mysql = d == Dialect::Mysql;
    // MySQL's primary key comes right after the columns, inside the column list.
    let is_key = |c: &&TableItem| mysql && c.definition.starts_with("PRIMARY KEY");
    s.push_str(if t.unlogged {
        "CREATE UNLOGGED TABLE "
    } else {
        "CREATE TABLE "
    });
    s.push_str(&q);
    if let Some(of) = &t.of {
        s.push(' ');
        s.push_str(of);
    }
    let lines = t.columns.len() + t.constraints.len() + if mysql { t.indexes.len() } else { 0 };
    // A partition or typed table declares no columns of its own unless it adds constraints.
    if lines > 0 || t.of.is_none() {
        s.push_str(" (\n");
        let mut first = true;
        let mut line = |s: &mut String| {
            if !first {
                s.push_str(",\n");
            }
            first = false;
            s.push_str("  ");
        };
        for c in &t.columns {
            line(s);
            push_column_sql(d, c, s);
        }
        // (Each one was put right after the columns, so the last comes first.)
        for c in t.constraints.iter().rev().filter(is_key) {
            line(s);
            s.push_str(&c.definition);
        }
        if mysql {
            for i in &t.indexes {
                line(s);
                s.push_str(&i.definition);
            }
        }
        for c in t.constraints.iter().filter(|c| !is_key(c)) {
            line(s);
            s.push_str("CONSTRAINT ");
            push_ident(d, &c.name, s);
            s.push(' ');
            s.push_str(&c.definition);
        }
        s.push_str("\n)");
    }
    if let Some(o) = &t.options {
        s.push(' ');
        s.push_str(o);
    }
    if mysql {
        if let Some(cm) = &t.comment {
            s.push_str(" COMMENT=");
            s.push_str(&literal(d, cm));
        }
        if let Some((by, parts)) = t.partitions.split_first() {
            s.push('\n');
            s.push_str(&by.definition);
            if !parts.is_empty() {
                s.push_str("\n(");
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        s.push_str(",\n ");
                    }
                    s.push_str(&p.definition);
                }
                s.push(')');
            }
        }
    }
    if d == Dialect::Postgres {
        if let Some(cm) = &t.comment {
            s.push_str(";\nCOMMENT ON TABLE ");
            s.push_str(&q);
            s.push_str(" IS ");
            s.push_str(&literal(d, cm));
        }
        for c in &t.columns {
            if let Some(cm) = &c.comment {
                s.push_str(";\nCOMMENT ON COLUMN ");
                s.push_str(&q);
                s.push('.');
                push_ident(d, &c.name, s);
                s.push_str(" IS ");
                s.push_str(&literal(d, cm));
            }
        }
    }
    // SQLite has no comments; its foreign keys are table constraints.
    for st in &t.statements {
        s.push_str(";\n");
        s.push_str(st);
    }
}

/// One object of the canonical DDL, borrowed from the schema until it is written.
#[derive(Clone, Copy)]
enum Item<'s> {
    Object(&'s Object),
    Table(&'s Table),
    Index(&'s Table, &'s TableItem),
    /// A foreign key, or a PostgreSQL constraint that is NOT VALID (a constraint in CREATE
    /// TABLE is always validated).
    Constraint(&'s Table, &'s TableItem),
}

impl Item<'_> {
    fn kind(self) -> &'static str {
        match self {
            Self::Object(o) => o.kind.label(),
            Self::Table(_) => "table",
            Self::Index(..) => "index",
            Self::Constraint(_, fk) if fk.definition.starts_with("FOREIGN KEY") => "foreign-key",
            Self::Constraint(..) => "constraint",
        }
    }

    fn compound(self) -> bool {
        matches!(self, Self::Object(o) if o.kind.is_compound())
    }

    fn push_name(self, out: &mut String) {
        match self {
            Self::Object(o) => push_display_name(&o.schema, &o.name, out),
            Self::Table(t) => push_display_name(&t.schema, &t.name, out),
            Self::Index(t, i) => push_display_name(&t.schema, &i.name, out),
            Self::Constraint(t, fk) => {
                push_display_name(&t.schema, &t.name, out);
                out.push('.');
                out.push_str(&fk.name);
            }
        }
    }

    fn push_body(self, d: Dialect, out: &mut String) {
        match self {
            Self::Object(o) => out.push_str(&o.definition),
            Self::Table(t) => push_table_sql(d, t, out),
            Self::Index(_, i) => out.push_str(&i.definition),
            Self::Constraint(t, fk) => {
                out.push_str("ALTER TABLE ");
                push_qualified(d, &t.schema, &t.name, out);
                out.push_str(" ADD CONSTRAINT ");
                push_ident(d, &fk.name, out);
                out.push(' ');
                out.push_str(&fk.definition);
            }
        }
    }

    /// `key(kind, name)`.
    fn key(self) -> String {
        let mut k = String::with_capacity(48);
        k.push_str(self.kind());
        k.push(' ');
        self.push_name(&mut k);
        k
    }

    fn rendered(self, d: Dialect) -> RenderedObject {
        let mut name = String::new();
        self.push_name(&mut name);
        let mut body = String::new();
        self.push_body(d, &mut body);
        RenderedObject {
            kind: self.kind().to_owned(),
            name,
            body,
            compound: self.compound(),
            dialect: d,
        }
    }

    /// Writes the object as it appears in the canonical DDL file (`RenderedObject::to_text`).
    fn write(self, d: Dialect, out: &mut String) {
        out.push_str(HEADER);
        out.push_str(self.kind());
        out.push(' ');
        self.push_name(out);
        out.push('\n');
        if self.compound() && d == Dialect::Mysql {
            out.push_str("DELIMITER ;;\n");
            self.push_body(d, out);
            out.push_str(";;\nDELIMITER ;\n\n");
        } else {
            self.push_body(d, out);
            out.push_str(";\n\n");
        }
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

/// The schema's objects in load order.
fn items(s: &Schema) -> Vec<Item<'_>> {
    let d = s.dialect;
    let mut out: Vec<Item<'_>> = Vec::with_capacity(s.objects.len() + 4 * s.tables.len());
    for step in steps(d) {
        match *step {
            Step::Objects(kinds) => {
                // Views keep the order `order_views` gave them within their block.
                out.extend(
                    s.objects
                        .iter()
                        .filter(|o| kinds.contains(&o.kind))
                        .map(Item::Object),
                );
            }
            Step::Tables => out.extend(s.tables.iter().map(Item::Table)),
            Step::Indexes => {
                for t in &s.tables {
                    out.extend(t.indexes.iter().map(|i| Item::Index(t, i)));
                }
            }
            Step::Constraints => {
                for t in &s.tables {
                    out.extend(t.foreign_keys.iter().map(|fk| Item::Constraint(t, fk)));
                }
            }
        }
    }
    dependency_order(out)
}

/// Renders the schema as canonical objects in load order.
pub fn render(s: &Schema) -> Vec<RenderedObject> {
    items(s)
        .into_iter()
        .map(|i| i.rendered(s.dialect))
        .collect()
}

/// Moves each object after the objects it depends on, keeping the given order otherwise
/// (Kahn's algorithm, always taking the earliest ready object, so the result is deterministic).
/// A dependency cycle is broken at its earliest object; unknown keys are ignored. An index or
/// constraint depends on its table.
fn dependency_order<'s>(objects: Vec<Item<'s>>) -> Vec<Item<'s>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use rustc_hash::FxHashMap as HashMap;

    fn depends_on<'s>(o: Item<'s>) -> &'s [String] {
        match o {
            Item::Object(o) => &o.depends_on,
            Item::Table(t) => &t.depends_on,
            Item::Index(..) | Item::Constraint(..) => &[],
        }
    }
    if objects.iter().all(|o| depends_on(*o).is_empty()) {
        return objects;
    }
    let mut index: HashMap<String, usize> =
        HashMap::with_capacity_and_hasher(objects.len(), Default::default());
    for (i, o) in objects.iter().enumerate() {
        index.entry(o.key()).or_insert(i);
    }
    let n = objects.len();
    let mut waiting = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, o) in objects.iter().enumerate() {
        let mut seen: Vec<usize> = match o {
            Item::Index(t, _) | Item::Constraint(t, _) => {
                // Its table's key, looked up the way any other key is.
                let key = Item::Table(t).key();
                index.get(&key).copied().into_iter().collect()
            }
            _ => depends_on(*o)
                .iter()
                .filter_map(|k| index.get(k).copied())
                .collect(),
        };
        seen.retain(|&j| j != i);
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
    order.into_iter().map(|i| objects[i]).collect()
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
