//! Tables (partitions and inheritance children included), their columns, constraints and
//! indexes; views and materialized views with theirs. Pure.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::{
    Ctx, Grantable, Out, acl, acl_and_owner, cat, class, column_collation, comment_statement,
    display, opclass_name, q,
};
use crate::snapshot::{Column, Object, ObjectKind, Table, TableItem, object_key};

mod index_def;
use index_def::index_sql;

/// Lookups shared by all relations.
struct Rel<'a> {
    am: HashMap<i64, &'a str>,
    opclasses: HashMap<i64, &'a (i64, i64, String, bool)>,
    constraints: HashMap<i64, Vec<&'a cat::Constraint>>,
    constraint_indexes: HashSet<i64>,
    indexes: HashMap<i64, Vec<&'a cat::Index>>,
    identity: HashMap<(i64, i32), i64>,
    sequences: HashMap<i64, &'a cat::Sequence>,
}

pub(super) fn relations(cx: &Ctx<'_>, out: &mut Out) {
    let mut constraints: HashMap<i64, Vec<&cat::Constraint>> = HashMap::default();
    let mut constraint_indexes = HashSet::default();
    for k in cx.cat.constraints.iter().filter(|k| k.rel != 0) {
        if matches!(k.kind.as_str(), "p" | "u" | "x") {
            constraint_indexes.insert(k.index);
        }
        constraints.entry(k.rel).or_default().push(k);
    }
    let mut indexes: HashMap<i64, Vec<&cat::Index>> = HashMap::default();
    for i in &cx.cat.indexes {
        indexes.entry(i.rel).or_default().push(i);
    }
    let identity = cx
        .seq_owner
        .iter()
        .filter(|(_, (_, _, internal))| *internal)
        .map(|(seq, (rel, num, _))| ((*rel, *num), *seq))
        .collect();
    let r = Rel {
        am: cx
            .cat
            .access_methods
            .iter()
            .map(|(o, n)| (*o, n.as_str()))
            .collect(),
        opclasses: cx.cat.opclasses.iter().map(|o| (o.0, o)).collect(),
        constraints,
        constraint_indexes,
        indexes,
        identity,
        sequences: cx.cat.sequences.iter().map(|s| (s.oid, s)).collect(),
    };
    // Two halves at once, the second on a thread of its own (tens of thousands of small
    // allocations and formats for a large catalog); its output is appended after the first
    // half's, so the order is that of one pass.
    let classes = cx.cat.classes.as_slice();
    let (first, second) = classes.split_at(classes.len() / 2);
    std::thread::scope(|s| {
        let r = &r;
        let helper = std::thread::Builder::new().spawn_scoped(s, move || {
            let mut o = Out::default();
            each(cx, r, &mut o, second);
            o
        });
        each(cx, r, out, first);
        match helper.map(|h| h.join()) {
            Ok(Ok(o)) => out.append(o),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            // No thread: the second half here.
            Err(_) => each(cx, r, out, second),
        }
    });
}

fn each(cx: &Ctx<'_>, r: &Rel<'_>, out: &mut Out, classes: &[cat::Class]) {
    for c in classes {
        let Some(ns) = cx.user_ns(c.namespace) else {
            continue;
        };
        if cx.is_member(class::CLASS, c.oid) {
            continue;
        }
        match c.kind.as_str() {
            "r" | "p" => table(cx, r, out, c, ns),
            "v" | "m" => view(cx, r, out, c, ns),
            _ => {}
        }
    }
}

/// `WITH (…)` options of a relation, including its TOAST table's.
fn with_options(cx: &Ctx<'_>, c: &cat::Class) -> Option<String> {
    let mut opts: Vec<String> = c.options.clone().unwrap_or_default();
    if let Some(toast) = cx.classes.get(&c.toast).and_then(|t| t.options.as_ref()) {
        opts.extend(toast.iter().map(|o| format!("toast.{o}")));
    }
    (!opts.is_empty()).then(|| format!("WITH ({})", opts.join(", ")))
}

/// Per-column settings pg_dump also keeps: statistics target, storage, compression, options.
/// A setting is written when it differs from the type's default, or from the parent's column
/// (`parent`) that a partition or inheritance child may have copied it from when it was made.
fn column_settings(
    cx: &Ctx<'_>,
    alter: &str,
    a: &cat::Attribute,
    parent: Option<&cat::Attribute>,
    out: &mut Vec<String>,
) {
    // Called for every column, and most have nothing to say: the text is made only when used.
    let col = || format!("{alter} ALTER COLUMN {}", q(&a.name));
    let type_storage = cx
        .types
        .get(&a.type_oid)
        .map_or(a.storage.as_str(), |t| t.storage.as_str());
    let differs = |mine: &str, default: &str, theirs: Option<&str>| {
        mine != default || theirs.is_some_and(|t| t != mine)
    };
    if a.statistics != -1 || parent.is_some_and(|p| p.statistics != a.statistics) {
        out.push(format!("{} SET STATISTICS {}", col(), a.statistics));
    }
    if differs(
        a.storage.as_str(),
        type_storage,
        parent.map(|p| p.storage.as_str()),
    ) {
        let storage = match a.storage.as_str() {
            "p" => "PLAIN",
            "e" => "EXTERNAL",
            "m" => "MAIN",
            _ => "EXTENDED",
        };
        out.push(format!("{} SET STORAGE {storage}", col()));
    }
    if differs(
        a.compression.as_str(),
        "",
        parent.map(|p| p.compression.as_str()),
    ) {
        let method = match a.compression.as_str() {
            "p" => "pglz",
            "l" => "lz4",
            _ => "DEFAULT",
        };
        out.push(format!("{} SET COMPRESSION {method}", col()));
    }
    if let Some(o) = a.options.as_ref().filter(|o| !o.is_empty()) {
        out.push(format!("{} SET ({})", col(), o.join(", ")));
    }
}

/// The default name PostgreSQL gives an identity column's sequence (`makeObjectName`:
/// `table_column_seq`, the longer part shortened to fit 63 bytes).
fn default_sequence_name(table: &str, column: &str) -> String {
    const MAX: usize = 63;
    let (mut a, mut b) = (table.len(), column.len());
    let avail = MAX - "_seq".len() - 1;
    while a + b > avail {
        if a > b {
            a -= 1;
        } else {
            b -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_owned()
    };
    format!("{}_{}_seq", clip(table, a), clip(column, b))
}

/// Identity sequence options that differ from what `GENERATED … AS IDENTITY` would create.
fn identity_options(
    cx: &Ctx<'_>,
    r: &Rel<'_>,
    c: &cat::Class,
    a: &cat::Attribute,
) -> Option<String> {
    let seq_oid = r.identity.get(&(c.oid, a.num))?;
    let sq = r.sequences.get(seq_oid)?;
    let sc = cx.classes.get(seq_oid)?;
    let mut o = Vec::new();
    if sc.name != default_sequence_name(&c.name, &a.name) || sc.namespace != c.namespace {
        o.push(format!(
            "SEQUENCE NAME {}",
            cx.qname(sc.namespace, &sc.name)
        ));
    }
    let (type_min, type_max) = match sq.type_name.as_str() {
        "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
        "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    };
    let (min, max) = if sq.increment > 0 {
        (1, type_max)
    } else {
        (type_min, -1)
    };
    let start = if sq.increment > 0 { sq.min } else { sq.max };
    if sq.start != start {
        o.push(format!("START WITH {}", sq.start));
    }
    if sq.increment != 1 {
        o.push(format!("INCREMENT BY {}", sq.increment));
    }
    if sq.min != min {
        o.push(format!("MINVALUE {}", sq.min));
    }
    if sq.max != max {
        o.push(format!("MAXVALUE {}", sq.max));
    }
    if sq.cache != 1 {
        o.push(format!("CACHE {}", sq.cache));
    }
    if sq.cycle {
        o.push("CYCLE".into());
    }
    (!o.is_empty()).then(|| o.join(" "))
}

fn table(cx: &Ctx<'_>, r: &Rel<'_>, out: &mut Out, c: &cat::Class, ns: &str) {
    let qn = cx.qname(c.namespace, &c.name);
    let only = format!("ALTER TABLE ONLY {qn}");
    let mut t = Table::new(ns, c.name.clone());
    let key = object_key("table", &display(ns, &c.name));
    let parents: &[i64] = cx.parents.get(&c.oid).map_or(&[], Vec::as_slice);
    for p in parents {
        if let Some(pc) = cx.classes.get(p) {
            let pns = cx.ns_names.get(&pc.namespace).copied().unwrap_or("");
            out.deps
                .entry(key.clone())
                .or_default()
                .insert(object_key("table", &display(pns, &pc.name)));
        }
    }
    t.unlogged = c.persistence == "u";
    let typed = c.of_type != 0;
    if c.is_partition {
        if let Some(p) = parents.first().and_then(|p| cx.classes.get(p)) {
            t.of = Some(format!("PARTITION OF {}", cx.qname(p.namespace, &p.name)));
        }
    } else if let Some(ty) = cx.types.get(&c.of_type) {
        t.of = Some(format!("OF {}", cx.qname(ty.namespace, &ty.name)));
    }
    let mut statements = Vec::new();
    let mut column_grants = Vec::new();
    for a in cx.columns.get(&c.oid).into_iter().flatten() {
        let default = cx.defaults.get(&(c.oid, a.num)).copied();
        let comment = cx.comment(class::CLASS, c.oid, a.num);
        let parent_column = parents.iter().find_map(|p| {
            let pa = cx.columns.get(p)?.iter().find(|pa| pa.name == a.name)?;
            Some((*p, *pa))
        });
        // A partition's and a typed table's columns come from the parent or the type, an
        // inheritance child's inherited ones from its parents.
        let declared = !(c.is_partition || typed || !a.is_local);
        if declared {
            let (default, generated) = if a.generated == "s" {
                (None, default.map(|g| format!("({g}) STORED")))
            } else if !a.identity.is_empty() {
                (None, None)
            } else {
                (default.map(str::to_owned), None)
            };
            t.columns.push(Column {
                nullable: !a.not_null,
                default,
                identity: match a.identity.as_str() {
                    "a" => Some("ALWAYS".to_owned()),
                    "d" => Some("BY DEFAULT".to_owned()),
                    _ => None,
                },
                identity_options: identity_options(cx, r, c, a),
                generated,
                collation: column_collation(cx, a),
                comment: comment.map(str::to_owned),
                ..Column::new(a.name.clone(), cx.type_name(a).to_owned())
            });
        } else {
            let (parent_not_null, parent_default) = parent_column
                .map_or((false, None), |(p, pa)| {
                    (pa.not_null, cx.defaults.get(&(p, pa.num)).copied())
                });
            let col = format!("{only} ALTER COLUMN {}", q(&a.name));
            if a.not_null && !parent_not_null {
                statements.push(format!("{col} SET NOT NULL"));
            }
            if a.generated.is_empty() && a.identity.is_empty() && default != parent_default {
                match default {
                    Some(d) => statements.push(format!("{col} SET DEFAULT {d}")),
                    None => statements.push(format!("{col} DROP DEFAULT")),
                }
            }
            statements.extend(comment_statement(
                &format!("COLUMN {qn}.{}", q(&a.name)),
                comment,
            ));
        }
        column_settings(
            cx,
            &only,
            a,
            parent_column.map(|(_, pa)| pa),
            &mut statements,
        );
        if let Some(acl) = &a.acl {
            column_grants.extend(acl::statements(
                &format!("TABLE {qn}"),
                Some(&q(&a.name)),
                acl,
                &[],
            ));
        }
    }

    let mut constraints: Vec<&&cat::Constraint> =
        r.constraints.get(&c.oid).into_iter().flatten().collect();
    constraints.sort_by(|a, b| a.name.cmp(&b.name));
    for k in constraints {
        // Most constraints have no comment: its target is named only for one that has.
        let comment = cx.comment(class::CONSTRAINT, k.oid, 0).and_then(|cm| {
            comment_statement(&format!("CONSTRAINT {} ON {qn}", q(&k.name)), Some(cm))
        });
        if k.kind == "f" || (k.kind == "c" && !k.validated) {
            // Added after all tables: foreign keys need their target, and a constraint in
            // CREATE TABLE is always validated.
            let mut def = k.definition.clone();
            if let Some(cm) = comment {
                def.push_str(";\n");
                def.push_str(&cm);
            }
            t.foreign_keys.push(TableItem {
                name: k.name.clone(),
                definition: def,
            });
        } else {
            t.constraints.push(TableItem {
                name: k.name.clone(),
                definition: k.definition.clone(),
            });
            statements.extend(comment);
        }
    }

    let mut indexes: Vec<&&cat::Index> = r.indexes.get(&c.oid).into_iter().flatten().collect();
    indexes.sort_by_key(|i| cx.classes.get(&i.oid).map(|ic| ic.name.as_str()));
    for i in indexes {
        let Some(ic) = cx.classes.get(&i.oid) else {
            continue;
        };
        let iq = || cx.qname(ic.namespace, &ic.name);
        let comment = || {
            let cm = cx.comment(class::CLASS, ic.oid, 0)?;
            comment_statement(&format!("INDEX {}", iq()), Some(cm))
        };
        let mut tail = Vec::new();
        if i.clustered {
            tail.push(format!("ALTER TABLE {qn} CLUSTER ON {}", q(&ic.name)));
        }
        if i.replica_identity {
            tail.push(format!(
                "{only} REPLICA IDENTITY USING INDEX {}",
                q(&ic.name)
            ));
        }
        if r.constraint_indexes.contains(&i.oid) {
            // The constraint creates it: only what is set on the index itself.
            statements.extend(tail);
            statements.extend(comment());
            continue;
        }
        if cx.has_parent.contains(&i.oid) {
            // A partition's index attached to its parent's: created with it.
            continue;
        }
        let mut st = vec![index_sql(cx, r, i, ic, &qn)];
        for a in cx.columns.get(&i.oid).into_iter().flatten() {
            if a.statistics >= 0 {
                st.push(format!(
                    "ALTER INDEX {} ALTER COLUMN {} SET STATISTICS {}",
                    iq(),
                    a.num,
                    a.statistics
                ));
            }
        }
        st.extend(tail);
        st.extend(comment());
        let definition = if st.len() == 1 {
            st.pop().unwrap_or_default()
        } else {
            st.join(";\n")
        };
        t.indexes.push(TableItem {
            name: ic.name.clone(),
            definition,
        });
    }

    let mut options = Vec::new();
    if let Some(b) = &c.bound {
        options.push(b.clone());
    }
    if !c.is_partition && !parents.is_empty() {
        let names: Vec<String> = parents
            .iter()
            .filter_map(|p| cx.classes.get(p))
            .map(|p| cx.qname(p.namespace, &p.name))
            .collect();
        options.push(format!("INHERITS ({})", names.join(", ")));
    }
    if let Some(k) = &c.partition_key {
        options.push(format!("PARTITION BY {k}"));
    }
    if let Some(am) = r.am.get(&c.am).filter(|am| **am != "heap") {
        options.push(format!("USING {am}"));
    }
    options.extend(with_options(cx, c));
    t.options = (!options.is_empty()).then(|| options.join(" "));

    match c.replica_identity.as_str() {
        "n" => statements.push(format!("{only} REPLICA IDENTITY NOTHING")),
        "f" => statements.push(format!("{only} REPLICA IDENTITY FULL")),
        _ => {}
    }
    if c.row_security {
        statements.push(format!("ALTER TABLE {qn} ENABLE ROW LEVEL SECURITY"));
    }
    if c.force_row_security {
        statements.push(format!("ALTER TABLE {qn} FORCE ROW LEVEL SECURITY"));
    }
    t.statements = statements;
    t.comment = cx.comment(class::CLASS, c.oid, 0).map(str::to_owned);
    out.schema_tables.push(t);
    acl_and_owner(
        cx,
        out,
        Grantable {
            label: "table",
            schema: ns,
            name: &c.name,
            grant: format!("TABLE {qn}"),
            alter: format!("TABLE {qn}"),
            acl: c.acl.as_ref(),
            acl_default: c.acl_default.as_ref(),
            owner: Some(c.owner),
            more: column_grants,
        },
    );
}

fn view(cx: &Ctx<'_>, r: &Rel<'_>, out: &mut Out, c: &cat::Class, ns: &str) {
    let qn = cx.qname(c.namespace, &c.name);
    let materialized = c.kind == "m";
    let (word, kind, label) = if materialized {
        (
            "MATERIALIZED VIEW",
            ObjectKind::MaterializedView,
            "materialized-view",
        )
    } else {
        ("VIEW", ObjectKind::View, "view")
    };
    let body = c.view.as_deref().unwrap_or("").trim().trim_end_matches(';');
    let mut def = format!("CREATE {word} {qn}");
    if materialized && let Some(am) = r.am.get(&c.am).filter(|am| **am != "heap") {
        def.push_str(&format!(" USING {am}"));
    }
    if let Some(w) = with_options(cx, c) {
        def.push(' ');
        def.push_str(&w);
    }
    def.push_str(&format!(" AS\n{body}"));
    if materialized {
        // As pg_dump does: loading the schema must not run the query.
        def.push_str("\nWITH NO DATA");
    }
    let alter = format!("ALTER {word} {qn}");
    let mut st = vec![def];
    for a in cx.columns.get(&c.oid).into_iter().flatten() {
        if let Some(d) = cx.defaults.get(&(c.oid, a.num)) {
            st.push(format!(
                "{alter} ALTER COLUMN {} SET DEFAULT {d}",
                q(&a.name)
            ));
        }
        column_settings(cx, &alter, a, None, &mut st);
    }
    let target = format!("{word} {qn}");
    st.extend(comment_statement(
        &target,
        cx.comment(class::CLASS, c.oid, 0),
    ));
    for a in cx.columns.get(&c.oid).into_iter().flatten() {
        st.extend(comment_statement(
            &format!("COLUMN {qn}.{}", q(&a.name)),
            cx.comment(class::CLASS, c.oid, a.num),
        ));
    }
    out.object(kind, ns, &c.name, st);
    let mut indexes: Vec<&&cat::Index> = r.indexes.get(&c.oid).into_iter().flatten().collect();
    indexes.sort_by_key(|i| cx.classes.get(&i.oid).map(|ic| ic.name.as_str()));
    for i in indexes {
        let Some(ic) = cx.classes.get(&i.oid) else {
            continue;
        };
        let mut st = vec![index_sql(cx, r, i, ic, &qn)];
        if i.clustered {
            st.push(format!(
                "ALTER MATERIALIZED VIEW {qn} CLUSTER ON {}",
                q(&ic.name)
            ));
        }
        st.extend(comment_statement(
            &format!("INDEX {}", cx.qname(ic.namespace, &ic.name)),
            cx.comment(class::CLASS, ic.oid, 0),
        ));
        let mut o = Object::new(ObjectKind::Index, ns, ic.name.clone(), st.join(";\n"));
        o.depends_on = vec![object_key(label, &display(ns, &c.name))];
        out.objects.push(o);
    }
    acl_and_owner(
        cx,
        out,
        Grantable {
            label,
            schema: ns,
            name: &c.name,
            grant: format!("TABLE {qn}"),
            alter: target,
            acl: c.acl.as_ref(),
            acl_default: c.acl_default.as_ref(),
            owner: Some(c.owner),
            more: Vec::new(),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sequence_names_are_shortened_like_postgres_does() {
        assert_eq!(default_sequence_name("t", "id"), "t_id_seq");
        let long = "a".repeat(60);
        let name = default_sequence_name(&long, "id");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_id_seq"));
    }
}
