//! The catalog reads behind printing index expressions in Rust (`super::super::expr_text`):
//! the names of the functions, operators and types the trees use, looked up by oid, and the
//! server's own text for the trees not printed there. Read-only.

use sqlx::PgConnection;

use super::super::expr_text::{Lookups, OperatorName, ProcName};

/// Looks up what printing the trees needs; each query only when something is wanted.
pub(in super::super) async fn expression_lookups(
    c: &mut PgConnection,
    procs: &[i64],
    operators: &[i64],
    types: &[(i64, i32)],
) -> Result<Lookups, sqlx::Error> {
    let mut out = Lookups::default();
    if !procs.is_empty() {
        // Ambiguous: an unqualified call could also match another pg_catalog function of
        // the same name through its defaults or VARIADIC (or this one's own).
        let rows: Vec<ProcName> = sqlx::query_as(
            "SELECT p.oid::int8, p.pronamespace::int8 AS namespace, \
               quote_ident(p.proname) AS name, \
               (SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE n.oid = p.pronamespace) \
                 AS schema, \
               p.proargtypes::text AS arg_types, \
               (p.pronargdefaults > 0 OR p.provariadic <> 0 OR EXISTS (SELECT 1 FROM pg_proc o \
                 WHERE o.proname = p.proname AND o.pronamespace = p.pronamespace \
                   AND o.oid <> p.oid AND (o.pronargdefaults > 0 OR o.provariadic <> 0))) \
                 AS ambiguous, \
               p.prokind::text AS kind \
             FROM pg_proc p WHERE p.oid = ANY($1::int8[]::oid[])",
        )
        .bind(procs)
        .fetch_all(&mut *c)
        .await?;
        out.procs = rows.into_iter().map(|p| (p.oid, p)).collect();
    }
    if !operators.is_empty() {
        let rows: Vec<OperatorName> = sqlx::query_as(
            "SELECT o.oid::int8, o.oprnamespace::int8 AS namespace, o.oprname::text AS name, \
               (SELECT quote_ident(n.nspname) FROM pg_namespace n WHERE n.oid = o.oprnamespace) \
                 AS schema, \
               o.oprleft::int8 AS left_type, o.oprright::int8 AS right_type, o.oprkind::text AS kind \
             FROM pg_operator o WHERE o.oid = ANY($1::int8[]::oid[])",
        )
        .bind(operators)
        .fetch_all(&mut *c)
        .await?;
        out.operators = rows.into_iter().map(|o| (o.oid, o)).collect();
    }
    if !types.is_empty() {
        let (oids, mods): (Vec<i64>, Vec<i32>) = types.iter().copied().unzip();
        let rows: Vec<(i64, i32, String, String)> = sqlx::query_as(
            "SELECT u.t::int8, u.m, format_type(u.t, u.m), \
               COALESCE((SELECT t.typtype::text FROM pg_type t WHERE t.oid = u.t), '') \
             FROM unnest($1::int8[]::oid[], $2::int4[]) AS u(t, m)",
        )
        .bind(&oids)
        .bind(&mods)
        .fetch_all(&mut *c)
        .await?;
        out.types = rows
            .into_iter()
            .map(|(t, m, name, kind)| ((t, m), (name, kind)))
            .collect();
    }
    Ok(out)
}

/// The server's text of the given indexes' expressions and predicates:
/// (index, expressions, predicate).
pub(in super::super) async fn index_expressions(
    c: &mut PgConnection,
    oids: &[i64],
) -> Result<Vec<(i64, Option<String>, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT indexrelid::int8, pg_get_expr(indexprs, indrelid), pg_get_expr(indpred, indrelid) \
         FROM pg_index WHERE indexrelid = ANY($1::int8[]::oid[])",
    )
    .bind(oids)
    .fetch_all(c)
    .await
}
