//! Enums, domains, composite and range types, and the column and operator-class names that
//! index and column definitions share. Pure.

use rustc_hash::FxHashMap as HashMap;

use super::*;
pub(super) fn types(cx: &Ctx<'_>, out: &mut Out) {
    let mut labels: HashMap<i64, Vec<String>> = HashMap::default();
    for (t, l) in &cx.cat.enum_labels {
        labels.entry(*t).or_default().push(lit(l));
    }
    let ranges: HashMap<i64, &cat::Range> = cx.cat.ranges.iter().map(|r| (r.oid, r)).collect();
    let opclasses: HashMap<i64, &(i64, i64, String, bool)> =
        cx.cat.opclasses.iter().map(|o| (o.0, o)).collect();
    let mut domain_checks: HashMap<i64, Vec<&cat::Constraint>> = HashMap::default();
    for k in cx.cat.constraints.iter().filter(|k| k.domain != 0) {
        domain_checks.entry(k.domain).or_default().push(k);
    }
    for t in &cx.cat.types {
        let Some(ns) = cx.user_ns(t.namespace) else {
            continue;
        };
        if cx.is_member(class::TYPE, t.oid) {
            continue;
        }
        let qn = cx.qname(t.namespace, &t.name);
        let (kind, mut st, word) = match t.kind.as_str() {
            "e" => {
                let l = labels.get(&t.oid).map(|v| v.join(", ")).unwrap_or_default();
                (
                    ObjectKind::Enum,
                    vec![format!("CREATE TYPE {qn} AS ENUM ({l})")],
                    "TYPE",
                )
            }
            "c" => {
                // Only stand-alone composite types; a table's row type has its table.
                let Some(rel) = cx.classes.get(&t.relation).filter(|c| c.kind == "c") else {
                    continue;
                };
                let attrs: Vec<String> = cx
                    .columns
                    .get(&rel.oid)
                    .into_iter()
                    .flatten()
                    .map(|a| {
                        let mut s = format!("{} {}", q(&a.name), cx.type_name(a));
                        if let Some(c) = column_collation(cx, a) {
                            s.push_str(&format!(" COLLATE {c}"));
                        }
                        s
                    })
                    .collect();
                let mut st = vec![format!("CREATE TYPE {qn} AS ({})", attrs.join(", "))];
                for a in cx.columns.get(&rel.oid).into_iter().flatten() {
                    st.extend(comment_statement(
                        &format!("COLUMN {qn}.{}", q(&a.name)),
                        cx.comment(class::CLASS, rel.oid, a.num),
                    ));
                }
                (ObjectKind::CompositeType, st, "TYPE")
            }
            "r" => {
                let Some(r) = ranges.get(&t.oid) else {
                    continue;
                };
                let mut opts = vec![format!("subtype = {}", r.subtype)];
                if let Some(o) = opclasses.get(&r.opclass).filter(|o| !o.3) {
                    opts.push(format!("subtype_opclass = {}", opclass_name(cx, o)));
                }
                if r.collation != 0
                    && cx.types.get(&r.subtype_oid).map(|s| s.collation) != Some(r.collation)
                    && let Some(c) = cx.collation(r.collation)
                {
                    opts.push(format!("collation = {c}"));
                }
                if r.canonical != "-" {
                    opts.push(format!("canonical = {}", r.canonical));
                }
                if r.diff != "-" {
                    opts.push(format!("subtype_diff = {}", r.diff));
                }
                if let Some(m) = cx.types.get(&r.multirange) {
                    opts.push(format!(
                        "multirange_type_name = {}",
                        cx.qname(m.namespace, &m.name)
                    ));
                }
                (
                    ObjectKind::RangeType,
                    vec![format!("CREATE TYPE {qn} AS RANGE ({})", opts.join(", "))],
                    "TYPE",
                )
            }
            "d" => {
                let mut def = format!(
                    "CREATE DOMAIN {qn} AS {}",
                    t.base.clone().unwrap_or_default()
                );
                let base_coll = cx.types.get(&t.base_oid).map_or(0, |b| b.collation);
                if t.collation != 0
                    && t.collation != base_coll
                    && let Some(c) = cx.collation(t.collation)
                {
                    def.push_str(&format!(" COLLATE {c}"));
                }
                if let Some(d) = &t.default {
                    def.push_str(&format!(" DEFAULT {d}"));
                }
                if t.not_null {
                    def.push_str(" NOT NULL");
                }
                let mut checks: Vec<&&cat::Constraint> =
                    domain_checks.get(&t.oid).into_iter().flatten().collect();
                checks.sort_by(|a, b| a.name.cmp(&b.name));
                let mut later = Vec::new();
                for k in &checks {
                    if k.validated {
                        def.push_str(&format!(" CONSTRAINT {} {}", q(&k.name), k.definition));
                    } else {
                        // NOT VALID exists only in ALTER DOMAIN.
                        later.push(format!(
                            "ALTER DOMAIN {qn} ADD CONSTRAINT {} {}",
                            q(&k.name),
                            k.definition
                        ));
                    }
                }
                let mut st = vec![def];
                st.extend(later);
                for k in &checks {
                    st.extend(comment_statement(
                        &format!("CONSTRAINT {} ON DOMAIN {qn}", q(&k.name)),
                        cx.comment(class::CONSTRAINT, k.oid, 0),
                    ));
                }
                (ObjectKind::Domain, st, "DOMAIN")
            }
            _ => continue,
        };
        let target = format!("{word} {qn}");
        st.extend(comment_statement(
            &target,
            cx.comment(class::TYPE, t.oid, 0),
        ));
        let label = kind.label();
        out.object(kind, ns, &t.name, st);
        acl_and_owner(
            cx,
            out,
            grantable(
                label,
                ns,
                &t.name,
                &target,
                t.acl.as_ref(),
                t.acl_default.as_ref(),
                Some(t.owner),
            ),
        );
    }
}

pub(super) fn opclass_name(cx: &Ctx<'_>, o: &(i64, i64, String, bool)) -> String {
    let schema = cx.ns_names.get(&o.1).copied().unwrap_or("");
    if schema == "pg_catalog" {
        q(&o.2)
    } else {
        format!("{}.{}", q(schema), q(&o.2))
    }
}

/// The collation a column states, when it is not its type's.
pub(super) fn column_collation(cx: &Ctx<'_>, a: &cat::Attribute) -> Option<String> {
    if a.collation == 0 {
        return None;
    }
    let type_coll = cx.types.get(&a.type_oid).map_or(0, |t| t.collation);
    if a.collation == type_coll {
        return None;
    }
    cx.collation(a.collation)
}
