//! Builds the snapshot model from the rows of `super::catalog`: PostgreSQL DDL for every object
//! kind, comments, the dependencies that decide the load order, and (optionally) privileges
//! and owners. Pure: all joins between catalogs happen here, in hash maps.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::acl;
use super::catalog::{self as cat, class, is_user_namespace};
use crate::snapshot::SnapshotOptions;
use crate::snapshot::{
    Dialect, Object, ObjectKind, Schema, Table, object_key, push_quoted_ident, quote_ident,
    quote_literal,
};

/// An index's expressions and predicate as printed in Rust, columns still to be named.
pub(super) type IndexText = [Option<Vec<super::expr_text::Piece>>; 2];

/// Every row a snapshot reads.
#[derive(Debug, Default)]
pub(super) struct Catalog {
    pub namespaces: Vec<cat::Namespace>,
    pub roles: Vec<(i64, String)>,
    pub extensions: Vec<(i64, String, i64)>,
    pub depends: Vec<cat::Depend>,
    pub sequence_owners: Vec<cat::Depend>,
    pub classes: Vec<cat::Class>,
    pub attributes: Vec<cat::Attribute>,
    /// `format_type` of each (type, modifier) pair of `attributes`.
    pub type_names: HashMap<(i64, i32), String>,
    pub attrdefs: Vec<(i64, i64, i32, String)>,
    pub inherits: Vec<(i64, i64, i32)>,
    pub types: Vec<cat::Type>,
    pub enum_labels: Vec<(i64, String)>,
    pub ranges: Vec<cat::Range>,
    pub collations: Vec<cat::Collation>,
    pub opclasses: Vec<(i64, i64, String, bool)>,
    pub access_methods: Vec<(i64, String)>,
    pub indexes: Vec<cat::Index>,
    /// Index expressions and predicates printed in Rust (see `super::index_expressions`).
    pub index_texts: HashMap<i64, IndexText>,
    /// Defaults printed in Rust, by default oid (see `super::default_expressions`).
    pub attrdef_texts: HashMap<i64, Vec<super::expr_text::Piece>>,
    pub constraints: Vec<cat::Constraint>,
    pub sequences: Vec<cat::Sequence>,
    pub procs: Vec<cat::Proc>,
    pub aggregates: Vec<cat::Aggregate>,
    pub triggers: Vec<(i64, i64, String, String, String)>,
    pub event_triggers: Vec<cat::EventTrigger>,
    pub policies: Vec<cat::Policy>,
    pub rules: Vec<(i64, i64, String, String, Option<String>)>,
    pub statistics: Vec<cat::Statistics>,
    pub descriptions: Vec<(i64, i64, i32, String)>,
    pub default_privileges: Vec<cat::DefaultAcl>,
    /// How the server quotes identifiers.
    pub quoter: super::quote::Quoter,
}

impl Catalog {
    /// Moves the rows `other` read into `self` (the jobs of a snapshot fill disjoint fields).
    pub fn merge(&mut self, other: Catalog) {
        let Catalog {
            namespaces,
            roles,
            extensions,
            depends,
            sequence_owners,
            classes,
            attributes,
            type_names,
            attrdefs,
            inherits,
            types,
            enum_labels,
            ranges,
            collations,
            opclasses,
            access_methods,
            indexes,
            index_texts,
            attrdef_texts,
            constraints,
            sequences,
            procs,
            aggregates,
            triggers,
            event_triggers,
            policies,
            rules,
            statistics,
            descriptions,
            default_privileges,
            quoter,
        } = other;
        self.namespaces.extend(namespaces);
        self.roles.extend(roles);
        self.extensions.extend(extensions);
        self.depends.extend(depends);
        self.sequence_owners.extend(sequence_owners);
        self.classes.extend(classes);
        self.attributes.extend(attributes);
        self.type_names.extend(type_names);
        self.attrdefs.extend(attrdefs);
        self.inherits.extend(inherits);
        self.types.extend(types);
        self.enum_labels.extend(enum_labels);
        self.ranges.extend(ranges);
        self.collations.extend(collations);
        self.opclasses.extend(opclasses);
        self.access_methods.extend(access_methods);
        self.indexes.extend(indexes);
        self.index_texts.extend(index_texts);
        self.attrdef_texts.extend(attrdef_texts);
        self.constraints.extend(constraints);
        self.sequences.extend(sequences);
        self.procs.extend(procs);
        self.aggregates.extend(aggregates);
        self.triggers.extend(triggers);
        self.event_triggers.extend(event_triggers);
        self.policies.extend(policies);
        self.rules.extend(rules);
        self.statistics.extend(statistics);
        self.descriptions.extend(descriptions);
        self.default_privileges.extend(default_privileges);
        self.quoter.merge(quoter);
    }
}

fn q(s: &str) -> String {
    quote_ident(Dialect::Postgres, s)
}

fn lit(s: &str) -> String {
    quote_literal(Dialect::Postgres, s)
}

/// The kinds a dependency never needs to point at: they come first and depend on nothing.
const ALWAYS_FIRST: [&str; 5] = ["schema", "extension", "collation", "enum", "sequence"];

/// Lookups over the catalog rows.
struct Ctx<'a> {
    cat: &'a Catalog,
    opts: SnapshotOptions,
    /// Every schema's name (system schemas too, for qualified names of opclasses).
    ns_names: HashMap<i64, &'a str>,
    roles: HashMap<i64, &'a str>,
    members: HashSet<(i64, i64)>,
    comments: HashMap<(i64, i64, i32), &'a str>,
    classes: HashMap<i64, &'a cat::Class>,
    types: HashMap<i64, &'a cat::Type>,
    columns: HashMap<i64, Vec<&'a cat::Attribute>>,
    defaults: HashMap<(i64, i32), &'a str>,
    parents: HashMap<i64, Vec<i64>>,
    has_parent: HashSet<i64>,
    collations: HashMap<i64, &'a cat::Collation>,
    /// Object keys of catalog objects, for dependencies.
    keys: HashMap<(i64, i64), String>,
    /// Sequence → (table, column, internal: identity) of the column that owns it.
    seq_owner: HashMap<i64, (i64, i32, bool)>,
}

impl<'a> Ctx<'a> {
    fn new(cat: &'a Catalog, opts: SnapshotOptions) -> Self {
        let mut columns: HashMap<i64, Vec<&cat::Attribute>> = HashMap::default();
        for a in &cat.attributes {
            columns.entry(a.rel).or_default().push(a);
        }
        for v in columns.values_mut() {
            v.sort_by_key(|a| a.num);
        }
        let mut inh: Vec<&(i64, i64, i32)> = cat.inherits.iter().collect();
        inh.sort_by_key(|(child, _, seq)| (*child, *seq));
        let mut parents: HashMap<i64, Vec<i64>> = HashMap::default();
        for (child, parent, _) in inh {
            parents.entry(*child).or_default().push(*parent);
        }
        let mut seq_owner = HashMap::default();
        let mut members = HashSet::default();
        for d in cat.depends.iter().chain(&cat.sequence_owners) {
            match d.deptype.as_str() {
                "e" => {
                    members.insert((d.classid, d.objid));
                }
                "a" | "i" if d.classid == class::CLASS => {
                    seq_owner.insert(d.objid, (d.refobjid, d.refobjsubid, d.deptype == "i"));
                }
                _ => {}
            }
        }
        Self {
            cat,
            opts,
            ns_names: cat
                .namespaces
                .iter()
                .map(|n| (n.oid, n.name.as_str()))
                .collect(),
            roles: cat.roles.iter().map(|(o, n)| (*o, n.as_str())).collect(),
            members,
            comments: cat
                .descriptions
                .iter()
                .map(|(o, c, s, d)| ((*c, *o, *s), d.as_str()))
                .collect(),
            classes: cat.classes.iter().map(|c| (c.oid, c)).collect(),
            types: cat.types.iter().map(|t| (t.oid, t)).collect(),
            columns,
            defaults: cat
                .attrdefs
                .iter()
                .map(|(_, rel, num, e)| ((*rel, *num), e.as_str()))
                .collect(),
            has_parent: parents.keys().copied().collect(),
            parents,
            collations: cat.collations.iter().map(|c| (c.oid, c)).collect(),
            keys: HashMap::default(),
            seq_owner,
        }
    }

    /// The column's type as `format_type` prints it.
    fn type_name(&self, a: &cat::Attribute) -> &'a str {
        self.cat
            .type_names
            .get(&(a.type_oid, a.type_mod))
            .map_or("", String::as_str)
    }

    /// The user schema's name, or None for system schemas.
    fn user_ns(&self, oid: i64) -> Option<&'a str> {
        self.ns_names
            .get(&oid)
            .copied()
            .filter(|n| is_user_namespace(n))
    }

    fn qname(&self, ns: i64, name: &str) -> String {
        let schema = self.ns_names.get(&ns).copied().unwrap_or("");
        let mut s = String::with_capacity(schema.len() + name.len() + 5);
        push_quoted_ident(Dialect::Postgres, schema, &mut s);
        s.push('.');
        push_quoted_ident(Dialect::Postgres, name, &mut s);
        s
    }

    /// A collation's name as SQL: qualified unless it is a built-in one.
    fn collation(&self, oid: i64) -> Option<String> {
        let c = self.collations.get(&oid)?;
        let schema = self.ns_names.get(&c.namespace).copied().unwrap_or("");
        Some(if schema == "pg_catalog" {
            q(&c.name)
        } else {
            format!("{}.{}", q(schema), q(&c.name))
        })
    }

    fn comment(&self, class: i64, oid: i64, sub: i32) -> Option<&'a str> {
        self.comments.get(&(class, oid, sub)).copied()
    }

    fn is_member(&self, class: i64, oid: i64) -> bool {
        self.members.contains(&(class, oid))
    }

    fn role(&self, oid: i64) -> String {
        self.roles
            .get(&oid)
            .map_or_else(|| format!("\"unknown role {oid}\""), |r| (*r).to_owned())
    }

    fn column_name(&self, rel: i64, num: i32) -> Option<&'a str> {
        self.columns
            .get(&rel)?
            .iter()
            .find(|a| a.num == num)
            .map(|a| a.name.as_str())
    }
}

/// Output under construction: objects and tables by key, with their dependencies.
#[derive(Default)]
struct Out {
    schema_tables: Vec<Table>,
    objects: Vec<Object>,
    deps: HashMap<String, BTreeSet<String>>,
}

impl Out {
    /// Appends another part's output after this one's (dependencies are sets: merged).
    fn append(&mut self, o: Out) {
        self.schema_tables.extend(o.schema_tables);
        self.objects.extend(o.objects);
        for (from, to) in o.deps {
            self.deps.entry(from).or_default().extend(to);
        }
    }

    fn object(&mut self, kind: ObjectKind, schema: &str, name: &str, statements: Vec<String>) {
        self.objects
            .push(Object::new(kind, schema, name, statements.join(";\n")));
    }
}

fn display(schema: &str, name: &str) -> String {
    if schema.is_empty() {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

/// Builds the schema from the catalog rows.
pub(super) fn build(cat: &Catalog, opts: SnapshotOptions) -> Schema {
    let mut cx = Ctx::new(cat, opts);
    register_keys(&mut cx);
    let mut out = Out::default();
    schemas_and_extensions(&cx, &mut out);
    collations(&cx, &mut out);
    types(&cx, &mut out);
    routines(&cx, &mut out);
    // Sequences on a thread of their own while the relations are built (which splits its
    // own work in two); the parts are appended in the order of one pass.
    let (seqs, rels) = std::thread::scope(|s| {
        let cx = &cx;
        let helper = std::thread::Builder::new().spawn_scoped(s, move || {
            let mut o = Out::default();
            sequences(cx, &mut o);
            o
        });
        let mut rels = Out::default();
        relations(cx, &mut rels);
        let seqs = match helper.map(|h| h.join()) {
            Ok(Ok(o)) => o,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // No thread: here.
            Err(_) => {
                let mut o = Out::default();
                sequences(cx, &mut o);
                o
            }
        };
        (seqs, rels)
    });
    out.append(seqs);
    out.append(rels);
    triggers_rules_policies(&cx, &mut out);
    statistics_and_event_triggers(&cx, &mut out);
    if opts.privileges {
        default_privileges(&cx, &mut out);
    }
    dependencies(&cx, &mut out);
    let Out {
        schema_tables,
        mut objects,
        mut deps,
    } = out;
    let mut tables = schema_tables;
    // Each object's key (`kind schema.name`) written into one buffer: most have no
    // dependencies, and tens of thousands of `format!`s were a measurable part of building.
    let mut key = String::new();
    for t in &mut tables {
        if deps.is_empty() {
            break;
        }
        write_key(&mut key, "table", &t.schema, &t.name);
        if let Some(d) = deps.remove(key.as_str()) {
            t.depends_on = d.into_iter().collect();
        }
    }
    for o in &mut objects {
        if deps.is_empty() {
            break;
        }
        write_key(&mut key, o.kind.label(), &o.schema, &o.name);
        if let Some(d) = deps.remove(key.as_str()) {
            o.depends_on.extend(d);
            o.depends_on.sort();
            o.depends_on.dedup();
        }
    }
    let mut s = Schema::new(Dialect::Postgres);
    s.tables = tables;
    s.objects = objects;
    s
}

/// `object_key(kind, display(schema, name))` written into `buf` (replacing its text).
fn write_key(buf: &mut String, kind: &str, schema: &str, name: &str) {
    buf.clear();
    buf.push_str(kind);
    buf.push(' ');
    if !schema.is_empty() {
        buf.push_str(schema);
        buf.push('.');
    }
    buf.push_str(name);
}

/// Keys of every catalog object that can be a dependency or have one.
fn register_keys(cx: &mut Ctx<'_>) {
    let mut keys = HashMap::default();
    for c in &cx.cat.classes {
        let Some(ns) = cx.user_ns(c.namespace) else {
            continue;
        };
        if cx.is_member(class::CLASS, c.oid) {
            continue;
        }
        let kind = match c.kind.as_str() {
            "r" | "p" => "table",
            "v" => "view",
            "m" => "materialized-view",
            "c" => "composite-type",
            "S" => "sequence",
            _ => continue,
        };
        keys.insert(
            (class::CLASS, c.oid),
            object_key(kind, &display(ns, &c.name)),
        );
    }
    for t in &cx.cat.types {
        let Some(ns) = cx.user_ns(t.namespace) else {
            continue;
        };
        if cx.is_member(class::TYPE, t.oid) {
            continue;
        }
        let kind = match t.kind.as_str() {
            "e" => "enum",
            "d" => "domain",
            "r" => "range-type",
            _ => continue,
        };
        keys.insert(
            (class::TYPE, t.oid),
            object_key(kind, &display(ns, &t.name)),
        );
    }
    for p in &cx.cat.procs {
        let Some(ns) = cx.user_ns(p.namespace) else {
            continue;
        };
        let kind = match p.kind.as_str() {
            "p" => "procedure",
            "a" => "aggregate",
            _ => "function",
        };
        let name = format!("{}({})", p.name, p.identity);
        keys.insert((class::PROC, p.oid), object_key(kind, &display(ns, &name)));
    }
    for c in &cx.cat.collations {
        if let Some(ns) = cx.user_ns(c.namespace)
            && !cx.is_member(class::COLLATION, c.oid)
        {
            keys.insert(
                (class::COLLATION, c.oid),
                object_key("collation", &display(ns, &c.name)),
            );
        }
    }
    cx.keys = keys;
}

/// The object key a catalog object belongs to for load order (a table's row type belongs to
/// the table, an array type to its element type, a multirange to its range).
fn key_of(cx: &Ctx<'_>, classid: i64, oid: i64, depth: u8) -> Option<String> {
    if let Some(k) = cx.keys.get(&(classid, oid)) {
        return Some(k.clone());
    }
    if depth > 3 {
        return None;
    }
    match classid {
        class::TYPE => {
            let t = cx.types.get(&oid)?;
            if t.relation != 0 {
                key_of(cx, class::CLASS, t.relation, depth + 1)
            } else if t.element != 0 {
                key_of(cx, class::TYPE, t.element, depth + 1)
            } else if t.kind == "m" {
                let r = cx.cat.ranges.iter().find(|r| r.multirange == oid)?;
                key_of(cx, class::TYPE, r.oid, depth + 1)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Normal dependencies between the objects of the snapshot, beyond what the fixed order of
/// kinds already guarantees.
fn dependencies(cx: &Ctx<'_>, out: &mut Out) {
    let interesting = |classid: i64| {
        matches!(
            classid,
            class::CLASS
                | class::TYPE
                | class::PROC
                | class::ATTRDEF
                | class::REWRITE
                | class::CONSTRAINT
        )
    };
    let attrdef_rel: HashMap<i64, i64> = cx
        .cat
        .attrdefs
        .iter()
        .map(|(o, rel, ..)| (*o, *rel))
        .collect();
    let view_rule: HashMap<i64, i64> = cx
        .cat
        .rules
        .iter()
        .filter(|(_, _, n, ..)| n == "_RETURN")
        .map(|(o, rel, ..)| (*o, *rel))
        .collect();
    let constraint: HashMap<i64, &cat::Constraint> =
        cx.cat.constraints.iter().map(|k| (k.oid, k)).collect();
    let resolve = |classid: i64, oid: i64| -> Option<String> {
        match classid {
            class::ATTRDEF => key_of(cx, class::CLASS, *attrdef_rel.get(&oid)?, 1),
            class::REWRITE => key_of(cx, class::CLASS, *view_rule.get(&oid)?, 1),
            class::CONSTRAINT => {
                let k = constraint.get(&oid)?;
                if k.domain != 0 {
                    key_of(cx, class::TYPE, k.domain, 1)
                } else if k.kind == "c" && k.validated {
                    key_of(cx, class::CLASS, k.rel, 1)
                } else {
                    None
                }
            }
            _ => key_of(cx, classid, oid, 0),
        }
    };
    for d in cx.cat.depends.iter().filter(|d| d.deptype == "n") {
        if !interesting(d.classid) || !interesting(d.refclassid) {
            continue;
        }
        let (Some(from), Some(to)) = (
            resolve(d.classid, d.objid),
            resolve(d.refclassid, d.refobjid),
        ) else {
            continue;
        };
        if from == to
            || ALWAYS_FIRST
                .iter()
                .any(|k| to.starts_with(&format!("{k} ")))
        {
            continue;
        }
        out.deps.entry(from).or_default().insert(to);
    }
}

fn comment_statement(target: &str, text: Option<&str>) -> Option<String> {
    text.map(|t| format!("COMMENT ON {target} IS {}", lit(t)))
}

/// An object that can have privileges and an owner.
struct Grantable<'g> {
    /// Kind label of the object (`table`, `function`, …).
    label: &'g str,
    schema: &'g str,
    name: &'g str,
    /// The object as `GRANT … ON` names it (`TABLE "s"."t"`).
    grant: String,
    /// The object as `ALTER … OWNER TO` names it (`VIEW "s"."v"`).
    alter: String,
    acl: Option<&'g Vec<String>>,
    acl_default: Option<&'g Vec<String>>,
    owner: Option<i64>,
    /// Further privilege statements (column privileges).
    more: Vec<String>,
}

/// Privileges (when asked for) and owner (when asked for) of an object, as objects of their
/// own after everything else.
fn acl_and_owner(cx: &Ctx<'_>, out: &mut Out, g: Grantable<'_>) {
    // Named only when asked for (a snapshot without privileges and owners has no use for it).
    let what = || format!("{} {}", g.label, display(g.schema, g.name));
    if cx.opts.privileges {
        let mut st = match (g.acl, g.acl_default) {
            (Some(a), Some(d)) => acl::statements(&g.grant, None, a, d),
            _ => Vec::new(),
        };
        st.extend(g.more);
        if !st.is_empty() {
            out.object(ObjectKind::Privileges, "", &what(), st);
        }
    }
    if cx.opts.owners
        && let Some(o) = g.owner
    {
        let st = format!("ALTER {} OWNER TO {}", g.alter, cx.role(o));
        out.object(ObjectKind::Owner, "", &what(), vec![st]);
    }
}

/// The usual case: the same name for `GRANT` and `ALTER`, no column privileges.
#[allow(clippy::too_many_arguments)]
fn grantable<'g>(
    label: &'g str,
    schema: &'g str,
    name: &'g str,
    target: &str,
    acl: Option<&'g Vec<String>>,
    acl_default: Option<&'g Vec<String>>,
    owner: Option<i64>,
) -> Grantable<'g> {
    Grantable {
        label,
        schema,
        name,
        grant: target.to_owned(),
        alter: target.to_owned(),
        acl,
        acl_default,
        owner,
        more: Vec::new(),
    }
}

fn schemas_and_extensions(cx: &Ctx<'_>, out: &mut Out) {
    for n in &cx.cat.namespaces {
        if !is_user_namespace(&n.name) || cx.is_member(class::NAMESPACE, n.oid) {
            continue;
        }
        let target = format!("SCHEMA {}", q(&n.name));
        let mut st = vec![format!("CREATE SCHEMA IF NOT EXISTS {}", q(&n.name))];
        st.extend(comment_statement(
            &target,
            cx.comment(class::NAMESPACE, n.oid, 0),
        ));
        out.object(ObjectKind::Schema, "", &n.name, st);
        acl_and_owner(
            cx,
            out,
            grantable(
                "schema",
                "",
                &n.name,
                &target,
                n.acl.as_ref(),
                n.acl_default.as_ref(),
                Some(n.owner),
            ),
        );
    }
    for (oid, name, ns) in &cx.cat.extensions {
        let schema = cx.ns_names.get(ns).copied().unwrap_or("public");
        let mut st = vec![format!(
            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
            q(name),
            q(schema)
        )];
        st.extend(comment_statement(
            &format!("EXTENSION {}", q(name)),
            cx.comment(class::EXTENSION, *oid, 0),
        ));
        out.object(ObjectKind::Extension, "", name, st);
    }
}

fn collations(cx: &Ctx<'_>, out: &mut Out) {
    for c in &cx.cat.collations {
        let Some(ns) = cx.user_ns(c.namespace) else {
            continue;
        };
        if cx.is_member(class::COLLATION, c.oid) {
            continue;
        }
        let qn = cx.qname(c.namespace, &c.name);
        let mut opts = vec![format!(
            "provider = {}",
            match c.provider.as_str() {
                "i" => "icu",
                "b" => "builtin",
                _ => "libc",
            }
        )];
        match (&c.locale, &c.collate, &c.ctype) {
            (Some(l), _, _) => opts.push(format!("locale = {}", lit(l))),
            (None, Some(a), Some(b)) if a == b => opts.push(format!("locale = {}", lit(a))),
            (None, a, b) => {
                opts.extend(a.as_ref().map(|a| format!("lc_collate = {}", lit(a))));
                opts.extend(b.as_ref().map(|b| format!("lc_ctype = {}", lit(b))));
            }
        }
        if !c.deterministic {
            opts.push("deterministic = false".into());
        }
        let target = format!("COLLATION {qn}");
        let mut st = vec![format!("CREATE COLLATION {qn} ({})", opts.join(", "))];
        st.extend(comment_statement(
            &target,
            cx.comment(class::COLLATION, c.oid, 0),
        ));
        out.object(ObjectKind::Collation, ns, &c.name, st);
        acl_and_owner(
            cx,
            out,
            grantable("collation", ns, &c.name, &target, None, None, Some(c.owner)),
        );
    }
}

mod routines;
mod rules;
mod types;
use routines::{routines, sequences};
use rules::{default_privileges, statistics_and_event_triggers, triggers_rules_policies};
use types::{column_collation, opclass_name, types};

mod relations;
use relations::relations;
