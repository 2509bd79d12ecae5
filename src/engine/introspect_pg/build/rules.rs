//! Triggers, rules, policies, extended statistics, event triggers and default privileges. Pure.

use std::collections::BTreeMap;

use super::*;
pub(super) fn triggers_rules_policies(cx: &Ctx<'_>, out: &mut Out) {
    let on = |rel: i64| -> Option<(&str, &cat::Class)> {
        let c = cx.classes.get(&rel)?;
        let ns = cx.user_ns(c.namespace)?;
        (!cx.is_member(class::CLASS, rel)).then_some((ns, *c))
    };
    for (oid, rel, name, enabled, def) in &cx.cat.triggers {
        let Some((ns, c)) = on(*rel) else { continue };
        let tq = cx.qname(c.namespace, &c.name);
        let mut st = vec![def.clone()];
        let state = match enabled.as_str() {
            "D" => Some("DISABLE TRIGGER"),
            "R" => Some("ENABLE REPLICA TRIGGER"),
            "A" => Some("ENABLE ALWAYS TRIGGER"),
            _ => None,
        };
        if let Some(s) = state {
            st.push(format!("ALTER TABLE {tq} {s} {}", q(name)));
        }
        st.extend(comment_statement(
            &format!("TRIGGER {} ON {tq}", q(name)),
            cx.comment(class::TRIGGER, *oid, 0),
        ));
        out.object(ObjectKind::Trigger, ns, &format!("{}.{name}", c.name), st);
    }
    for (oid, rel, name, enabled, def) in &cx.cat.rules {
        let Some(def) = def else { continue };
        let Some((ns, c)) = on(*rel) else { continue };
        let tq = cx.qname(c.namespace, &c.name);
        let mut st = vec![def.trim().trim_end_matches(';').to_owned()];
        let state = match enabled.as_str() {
            "D" => Some("DISABLE RULE"),
            "R" => Some("ENABLE REPLICA RULE"),
            "A" => Some("ENABLE ALWAYS RULE"),
            _ => None,
        };
        if let Some(s) = state {
            st.push(format!("ALTER TABLE {tq} {s} {}", q(name)));
        }
        st.extend(comment_statement(
            &format!("RULE {} ON {tq}", q(name)),
            cx.comment(class::REWRITE, *oid, 0),
        ));
        out.object(ObjectKind::Rule, ns, &format!("{}.{name}", c.name), st);
    }
    for p in &cx.cat.policies {
        let Some((ns, c)) = on(p.rel) else { continue };
        let tq = cx.qname(c.namespace, &c.name);
        let command = match p.command.as_str() {
            "r" => "SELECT",
            "a" => "INSERT",
            "w" => "UPDATE",
            "d" => "DELETE",
            _ => "ALL",
        };
        let mut roles: Vec<String> = p
            .roles
            .iter()
            .map(|r| {
                if r == "-" {
                    "PUBLIC".to_owned()
                } else {
                    r.clone()
                }
            })
            .collect();
        roles.sort();
        let mut def = format!(
            "CREATE POLICY {} ON {tq} AS {} FOR {command} TO {}",
            q(&p.name),
            if p.permissive {
                "PERMISSIVE"
            } else {
                "RESTRICTIVE"
            },
            roles.join(", ")
        );
        if let Some(u) = &p.using {
            def.push_str(&format!(" USING ({u})"));
        }
        if let Some(w) = &p.check {
            def.push_str(&format!(" WITH CHECK ({w})"));
        }
        let mut st = vec![def];
        st.extend(comment_statement(
            &format!("POLICY {} ON {tq}", q(&p.name)),
            cx.comment(class::POLICY, p.oid, 0),
        ));
        out.object(
            ObjectKind::Policy,
            ns,
            &format!("{}.{}", c.name, p.name),
            st,
        );
    }
}

pub(super) fn statistics_and_event_triggers(cx: &Ctx<'_>, out: &mut Out) {
    for s in &cx.cat.statistics {
        let Some(ns) = cx.user_ns(s.namespace) else {
            continue;
        };
        if cx.is_member(class::STATISTIC_EXT, s.oid) {
            continue;
        }
        let qn = cx.qname(s.namespace, &s.name);
        let mut st = vec![s.definition.clone()];
        if s.target >= 0 {
            st.push(format!("ALTER STATISTICS {qn} SET STATISTICS {}", s.target));
        }
        let target = format!("STATISTICS {qn}");
        st.extend(comment_statement(
            &target,
            cx.comment(class::STATISTIC_EXT, s.oid, 0),
        ));
        out.object(ObjectKind::Statistics, ns, &s.name, st);
        if let Some(c) = cx.classes.get(&s.rel) {
            let tns = cx.ns_names.get(&c.namespace).copied().unwrap_or("");
            out.deps
                .entry(object_key("statistics", &display(ns, &s.name)))
                .or_default()
                .insert(object_key("table", &display(tns, &c.name)));
        }
        acl_and_owner(
            cx,
            out,
            grantable(
                "statistics",
                ns,
                &s.name,
                &target,
                None,
                None,
                Some(s.owner),
            ),
        );
    }
    for e in &cx.cat.event_triggers {
        if cx.is_member(class::EVENT_TRIGGER, e.oid) {
            continue;
        }
        let mut def = format!("CREATE EVENT TRIGGER {} ON {}", q(&e.name), e.event);
        if let Some(tags) = e.tags.as_ref().filter(|t| !t.is_empty()) {
            let list: Vec<String> = tags.iter().map(|t| lit(t)).collect();
            def.push_str(&format!(" WHEN TAG IN ({})", list.join(", ")));
        }
        def.push_str(&format!(" EXECUTE FUNCTION {}()", e.function));
        let mut st = vec![def];
        let state = match e.enabled.as_str() {
            "D" => Some("DISABLE"),
            "R" => Some("ENABLE REPLICA"),
            "A" => Some("ENABLE ALWAYS"),
            _ => None,
        };
        if let Some(s) = state {
            st.push(format!("ALTER EVENT TRIGGER {} {s}", q(&e.name)));
        }
        let target = format!("EVENT TRIGGER {}", q(&e.name));
        st.extend(comment_statement(
            &target,
            cx.comment(class::EVENT_TRIGGER, e.oid, 0),
        ));
        out.object(ObjectKind::EventTrigger, "", &e.name, st);
        acl_and_owner(
            cx,
            out,
            grantable(
                "event-trigger",
                "",
                &e.name,
                &target,
                None,
                None,
                Some(e.owner),
            ),
        );
    }
}

pub(super) fn default_privileges(cx: &Ctx<'_>, out: &mut Out) {
    let mut by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (role, ns, objtype, actual, default) in &cx.cat.default_privileges {
        let role = cx.role(*role);
        let schema = (*ns != 0).then(|| q(cx.ns_names.get(ns).copied().unwrap_or("")));
        let objects = match objtype.as_str() {
            "r" => "TABLES",
            "S" => "SEQUENCES",
            "f" => "FUNCTIONS",
            "T" => "TYPES",
            "n" => "SCHEMAS",
            _ => continue,
        };
        let name = match &schema {
            Some(s) => format!("{role} in {s}"),
            None => role.clone(),
        };
        by_role
            .entry(name)
            .or_default()
            .extend(acl::default_statements(
                &role,
                schema.as_deref(),
                objects,
                actual,
                default,
            ));
    }
    for (name, st) in by_role {
        if !st.is_empty() {
            out.object(ObjectKind::DefaultPrivileges, "", &name, st);
        }
    }
}
