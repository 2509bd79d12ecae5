//! MySQL/MariaDB views, routines, triggers and events: one query each (routines two), whatever
//! their number. Read-only. Definers only when owners are asked for.

use std::collections::HashMap;

use sqlx::MySqlConnection;

use super::{lit, obj, q, sql, tables, unqualify};
use crate::snapshot::{Object, ObjectKind};

/// Views, routines, triggers and events of the connected database `db`.
pub(super) async fn objects(
    c: &mut MySqlConnection,
    db: &str,
    mariadb: bool,
    owners: bool,
) -> Result<Vec<Object>, sqlx::Error> {
    let definer = |d: &str| {
        if owners {
            format!("{} ", tables::definer(d))
        } else {
            String::new()
        }
    };
    let mut objects = Vec::new();
    let algorithm = if mariadb { "ALGORITHM" } else { "'UNDEFINED'" };
    type ViewRow = (String, String, String, String, String, String);
    let rows: Vec<ViewRow> = sqlx::query_as(sql(
        &format!(
            "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, {algorithm}, SECURITY_TYPE, DEFINER \
             FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()"
        ),
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (name, def, check, algorithm, security, view_definer) in rows {
        let mut d = "CREATE ".to_owned();
        if algorithm != "UNDEFINED" {
            d.push_str(&format!("ALGORITHM={algorithm} "));
        }
        d.push_str(&definer(&view_definer));
        if security == "INVOKER" {
            d.push_str("SQL SECURITY INVOKER ");
        }
        d.push_str(&format!("VIEW {} AS {}", q(&name), unqualify(&def, db)));
        if check != "NONE" {
            d.push_str(&format!(" WITH {check} CHECK OPTION"));
        }
        objects.push(obj(ObjectKind::View, &name, d));
    }

    type ParamRow = (String, String, Option<String>, Option<String>, String);
    let params: Vec<ParamRow> = sqlx::query_as(sql(
        "SELECT SPECIFIC_NAME, ROUTINE_TYPE, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER \
         FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE() AND ORDINAL_POSITION > 0 \
         ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    let mut param_map: HashMap<(String, String), Vec<String>> = HashMap::new();
    for (name, rtype, mode, pname, ty) in params {
        let mode = match (rtype.as_str(), mode) {
            ("PROCEDURE", Some(m)) => format!("{m} "),
            _ => String::new(),
        };
        param_map
            .entry((name, rtype))
            .or_default()
            .push(format!("{mode}{} {ty}", q(&pname.unwrap_or_default())));
    }
    type RoutineRow = (
        String,
        String,
        Option<String>,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let rows: Vec<RoutineRow> = sqlx::query_as(sql(
        "SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC, \
           SQL_DATA_ACCESS, SECURITY_TYPE, ROUTINE_COMMENT, DEFINER \
         FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (name, rtype, returns, body, det, access, security, comment, routine_definer) in rows {
        let params = param_map
            .remove(&(name.clone(), rtype.clone()))
            .unwrap_or_default()
            .join(", ");
        let mut d = format!(
            "CREATE {}{rtype} {}({params})",
            definer(&routine_definer),
            q(&name)
        );
        if rtype == "FUNCTION" {
            d.push_str(&format!(" RETURNS {}", returns.unwrap_or_default()));
        }
        if det == "YES" {
            d.push_str(" DETERMINISTIC");
        }
        if access != "CONTAINS SQL" {
            d.push_str(&format!(" {access}"));
        }
        if security == "INVOKER" {
            d.push_str(" SQL SECURITY INVOKER");
        }
        if !comment.is_empty() {
            d.push_str(&format!(" COMMENT {}", lit(&comment)));
        }
        d.push('\n');
        d.push_str(&unqualify(&body, db));
        let kind = if rtype == "FUNCTION" {
            ObjectKind::Function
        } else {
            ObjectKind::Procedure
        };
        objects.push(obj(kind, &name, d));
    }

    type TrigRow = (String, String, String, i64, String, String, String);
    let rows: Vec<TrigRow> = sqlx::query_as(sql(
        "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, CAST(ACTION_ORDER AS SIGNED), \
           ACTION_STATEMENT, ACTION_TIMING, DEFINER \
         FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
         ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    // Triggers on the same table, time and event fire in ACTION_ORDER: each one after the
    // first follows the one before it, which must exist first.
    let mut previous: Option<(String, String, String, String)> = None;
    for (name, event, table, _order, body, timing, trigger_definer) in rows {
        let follows = previous
            .as_ref()
            .filter(|(t, w, e, _)| *t == table && *w == timing && *e == event)
            .map(|(.., n)| n.clone());
        let mut d = format!(
            "CREATE {}TRIGGER {} {timing} {event} ON {} FOR EACH ROW",
            definer(&trigger_definer),
            q(&name),
            q(&table),
        );
        if let Some(f) = &follows {
            d.push_str(&format!(" FOLLOWS {}", q(f)));
        }
        d.push('\n');
        d.push_str(&unqualify(&body, db));
        let mut o = obj(ObjectKind::Trigger, &format!("{table}.{name}"), d);
        if let Some(f) = follows {
            o.depends_on = vec![crate::snapshot::object_key(
                "trigger",
                &format!("{table}.{f}"),
            )];
        }
        objects.push(o);
        previous = Some((table, timing, event, name));
    }

    type EventRow = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    // A recurring event without STARTS starts when it was created: the server records that
    // time, so the snapshot does too (as mariadb-dump does).
    let rows: Vec<EventRow> = sqlx::query_as(sql(
        "SELECT EVENT_NAME, EVENT_DEFINITION, EVENT_TYPE, CAST(EXECUTE_AT AS CHAR), \
           CAST(INTERVAL_VALUE AS CHAR), INTERVAL_FIELD, ON_COMPLETION, STATUS, EVENT_COMMENT, \
           DEFINER, CAST(STARTS AS CHAR), CAST(ENDS AS CHAR) \
         FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()",
        db,
    ))
    .fetch_all(&mut *c)
    .await?;
    for (
        name,
        body,
        etype,
        at,
        every,
        field,
        completion,
        status,
        comment,
        event_definer,
        starts,
        ends,
    ) in rows
    {
        let schedule = if etype == "ONE TIME" {
            format!("AT {}", lit(&at.unwrap_or_default()))
        } else {
            let mut every = format!(
                "EVERY {} {}",
                every.unwrap_or_default(),
                field.unwrap_or_default()
            );
            if let Some(t) = starts {
                every.push_str(&format!(" STARTS {}", lit(&t)));
            }
            if let Some(t) = ends {
                every.push_str(&format!(" ENDS {}", lit(&t)));
            }
            every
        };
        let status = if status == "ENABLED" {
            "ENABLE"
        } else {
            "DISABLE"
        };
        let mut d = format!(
            "CREATE {}EVENT {} ON SCHEDULE {schedule} ON COMPLETION {completion} {status}",
            definer(&event_definer),
            q(&name)
        );
        if !comment.is_empty() {
            d.push_str(&format!(" COMMENT {}", lit(&comment)));
        }
        d.push_str(&format!("\nDO {}", unqualify(&body, db)));
        objects.push(obj(ObjectKind::Event, &name, d));
    }
    Ok(objects)
}
