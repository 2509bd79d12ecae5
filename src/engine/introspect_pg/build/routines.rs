//! Functions, procedures, aggregates and sequences. Pure.

use rustc_hash::FxHashMap as HashMap;

use super::*;
pub(super) fn routines(cx: &Ctx<'_>, out: &mut Out) {
    let aggs: HashMap<i64, &cat::Aggregate> =
        cx.cat.aggregates.iter().map(|a| (a.oid, a)).collect();
    for p in &cx.cat.procs {
        let Some(ns) = cx.user_ns(p.namespace) else {
            continue;
        };
        let qn = cx.qname(p.namespace, &p.name);
        let name = format!("{}({})", p.name, p.identity);
        let (kind, word, def) = match p.kind.as_str() {
            "a" => {
                let Some(a) = aggs.get(&p.oid) else {
                    continue;
                };
                (
                    ObjectKind::Aggregate,
                    "AGGREGATE",
                    aggregate(a, &qn, &p.definition, &p.parallel),
                )
            }
            "p" => (
                ObjectKind::Procedure,
                "PROCEDURE",
                p.definition.trim().to_owned(),
            ),
            _ => (
                ObjectKind::Function,
                "FUNCTION",
                p.definition.trim().to_owned(),
            ),
        };
        let args = if p.kind == "a" && p.identity.is_empty() {
            "*".to_owned()
        } else {
            p.identity.clone()
        };
        let target = format!("{word} {qn}({args})");
        let mut st = vec![def];
        st.extend(comment_statement(
            &target,
            cx.comment(class::PROC, p.oid, 0),
        ));
        out.object(kind, ns, &name, st);
        acl_and_owner(
            cx,
            out,
            grantable(
                kind.label(),
                ns,
                &name,
                &target,
                p.acl.as_ref(),
                p.acl_default.as_ref(),
                Some(p.owner),
            ),
        );
    }
}

pub(super) fn aggregate(a: &cat::Aggregate, qn: &str, args: &str, parallel: &str) -> String {
    let args = if args.is_empty() { "*" } else { args };
    let mut o = vec![
        format!("SFUNC = {}", a.transition),
        format!("STYPE = {}", a.state_type),
    ];
    if a.state_space != 0 {
        o.push(format!("SSPACE = {}", a.state_space));
    }
    let modify = |m: &str| match m {
        "s" => "SHAREABLE",
        "w" => "READ_WRITE",
        _ => "READ_ONLY",
    };
    // READ_WRITE is the default for ordered-set aggregates, READ_ONLY for the others.
    let default_modify = if a.kind == "n" { "r" } else { "w" };
    if a.final_fn != "-" {
        o.push(format!("FINALFUNC = {}", a.final_fn));
        if a.final_extra {
            o.push("FINALFUNC_EXTRA".into());
        }
        if a.final_modify != default_modify {
            o.push(format!("FINALFUNC_MODIFY = {}", modify(&a.final_modify)));
        }
    }
    for (word, f) in [
        ("COMBINEFUNC", &a.combine),
        ("SERIALFUNC", &a.serial),
        ("DESERIALFUNC", &a.deserial),
    ] {
        if f != "-" {
            o.push(format!("{word} = {f}"));
        }
    }
    if let Some(i) = &a.initial {
        o.push(format!("INITCOND = {}", lit(i)));
    }
    if a.moving_transition != "-" {
        o.push(format!("MSFUNC = {}", a.moving_transition));
        o.push(format!("MINVFUNC = {}", a.moving_inverse));
        if let Some(t) = &a.moving_state_type {
            o.push(format!("MSTYPE = {t}"));
        }
        if a.moving_state_space != 0 {
            o.push(format!("MSSPACE = {}", a.moving_state_space));
        }
        if a.moving_final != "-" {
            o.push(format!("MFINALFUNC = {}", a.moving_final));
            if a.moving_final_extra {
                o.push("MFINALFUNC_EXTRA".into());
            }
            if a.moving_final_modify != default_modify {
                o.push(format!(
                    "MFINALFUNC_MODIFY = {}",
                    modify(&a.moving_final_modify)
                ));
            }
        }
        if let Some(i) = &a.moving_initial {
            o.push(format!("MINITCOND = {}", lit(i)));
        }
    }
    if !a.sort_operator.is_empty() {
        let op = &a.sort_operator;
        if op.contains('.') {
            o.push(format!("SORTOP = OPERATOR({op})"));
        } else {
            o.push(format!("SORTOP = {op}"));
        }
    }
    match parallel {
        "s" => o.push("PARALLEL = SAFE".into()),
        "r" => o.push("PARALLEL = RESTRICTED".into()),
        _ => {}
    }
    if a.kind == "h" {
        o.push("HYPOTHETICAL".into());
    }
    format!(
        "CREATE AGGREGATE {qn}({args}) (\n    {}\n)",
        o.join(",\n    ")
    )
}

pub(super) fn sequences(cx: &Ctx<'_>, out: &mut Out) {
    for sq in &cx.cat.sequences {
        let Some(c) = cx.classes.get(&sq.oid) else {
            continue;
        };
        let Some(ns) = cx.user_ns(c.namespace) else {
            continue;
        };
        if cx.is_member(class::CLASS, c.oid) {
            continue;
        }
        let owner = cx.seq_owner.get(&sq.oid);
        if owner.is_some_and(|(_, _, identity)| *identity) {
            // An identity column's sequence is part of the column.
            continue;
        }
        let qn = cx.qname(c.namespace, &c.name);
        let unlogged = if c.persistence == "u" {
            "UNLOGGED "
        } else {
            ""
        };
        let mut st = vec![format!(
            "CREATE {unlogged}SEQUENCE {qn} AS {} INCREMENT BY {} MINVALUE {} MAXVALUE {} \
             START WITH {} CACHE {}{}",
            sq.type_name,
            sq.increment,
            sq.min,
            sq.max,
            sq.start,
            sq.cache,
            if sq.cycle { " CYCLE" } else { " NO CYCLE" }
        )];
        let target = format!("SEQUENCE {qn}");
        st.extend(comment_statement(
            &target,
            cx.comment(class::CLASS, c.oid, 0),
        ));
        out.object(ObjectKind::Sequence, ns, &c.name, st);
        acl_and_owner(
            cx,
            out,
            grantable(
                "sequence",
                ns,
                &c.name,
                &target,
                c.acl.as_ref(),
                c.acl_default.as_ref(),
                Some(c.owner),
            ),
        );
        if let Some((rel, num, _)) = owner
            && let Some(t) = cx.classes.get(rel)
            && let Some(col) = cx.column_name(*rel, *num)
        {
            let tq = cx.qname(t.namespace, &t.name);
            let mut o = Object::new(
                ObjectKind::SequenceOwnedBy,
                ns,
                c.name.clone(),
                format!("ALTER SEQUENCE {qn} OWNED BY {tq}.{}", q(col)),
            );
            let tns = cx.ns_names.get(&t.namespace).copied().unwrap_or("");
            o.depends_on = vec![object_key("table", &display(tns, &t.name))];
            out.objects.push(o);
        }
    }
}
