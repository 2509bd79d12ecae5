//! Catalog queries for routines, triggers, event triggers, policies, rules, extended
//! statistics, comments and default privileges: one query each. Read-only.

use sqlx::PgConnection;

pg_row! {
/// A function, procedure or aggregate. `definition` is `pg_get_functiondef` (aggregates: the
/// argument list).
#[derive(Debug)]
pub(in super::super) struct Proc {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    pub kind: String,
    pub parallel: String,
    pub identity: String,
    pub definition: String,
    pub owner: i64,
    pub acl: Option<Vec<String>>,
    pub acl_default: Option<Vec<String>>,
}
}

/// Routines in user schemas, without extension members (`skip`).
pub(in super::super) async fn procs(
    c: &mut PgConnection,
    skip: &[i64],
) -> Result<Vec<Proc>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.oid::int8, p.pronamespace::int8 AS namespace, p.proname::text AS name, \
           p.prokind::text AS kind, p.proparallel::text AS parallel, \
           pg_get_function_identity_arguments(p.oid) AS identity, \
           CASE WHEN p.prokind = 'a' THEN pg_get_function_arguments(p.oid) \
             ELSE pg_get_functiondef(p.oid) END AS definition, \
           p.proowner::int8 AS owner, p.proacl::text[] AS acl, \
           CASE WHEN p.proacl IS NOT NULL THEN acldefault('f', p.proowner)::text[] END AS acl_default \
         FROM pg_proc p WHERE p.oid >= 16384 AND p.oid::int8 <> ALL($1::int8[]) \
           AND p.pronamespace IN (SELECT n.oid FROM pg_namespace n WHERE n.nspname NOT IN \
             ('pg_catalog', 'information_schema', 'schemagate') AND n.nspname NOT LIKE 'pg\\_%')",
    )
    .bind(skip)
    .fetch_all(c)
    .await
}

pg_row! {
#[derive(Debug)]
pub(in super::super) struct Aggregate {
    pub oid: i64,
    pub kind: String,
    pub transition: String,
    pub final_fn: String,
    pub combine: String,
    pub serial: String,
    pub deserial: String,
    pub moving_transition: String,
    pub moving_inverse: String,
    pub moving_final: String,
    pub final_extra: bool,
    pub moving_final_extra: bool,
    pub final_modify: String,
    pub moving_final_modify: String,
    pub sort_operator: String,
    pub state_type: String,
    pub state_space: i32,
    pub moving_state_type: Option<String>,
    pub moving_state_space: i32,
    pub initial: Option<String>,
    pub moving_initial: Option<String>,
}
}

pub(in super::super) async fn aggregates(
    c: &mut PgConnection,
) -> Result<Vec<Aggregate>, sqlx::Error> {
    sqlx::query_as(
        "SELECT aggfnoid::int8 AS oid, aggkind::text AS kind, \
           aggtransfn::regproc::text AS transition, aggfinalfn::regproc::text AS final_fn, \
           aggcombinefn::regproc::text AS combine, aggserialfn::regproc::text AS serial, \
           aggdeserialfn::regproc::text AS deserial, \
           aggmtransfn::regproc::text AS moving_transition, \
           aggminvtransfn::regproc::text AS moving_inverse, \
           aggmfinalfn::regproc::text AS moving_final, aggfinalextra AS final_extra, \
           aggmfinalextra AS moving_final_extra, aggfinalmodify::text AS final_modify, \
           aggmfinalmodify::text AS moving_final_modify, \
           CASE WHEN aggsortop <> 0 THEN aggsortop::regoper::text ELSE '' END AS sort_operator, \
           format_type(aggtranstype, NULL) AS state_type, aggtransspace::int4 AS state_space, \
           CASE WHEN aggmtranstype <> 0 THEN format_type(aggmtranstype, NULL) END \
             AS moving_state_type, \
           aggmtransspace::int4 AS moving_state_space, agginitval::text AS initial, \
           aggminitval::text AS moving_initial \
         FROM pg_aggregate WHERE aggfnoid >= 16384",
    )
    .fetch_all(c)
    .await
}

/// Triggers that are not internal and not a partition's copy: (oid, table, name, enabled,
/// definition).
pub(in super::super) async fn triggers(
    c: &mut PgConnection,
) -> Result<Vec<(i64, i64, String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, tgrelid::int8, tgname::text, tgenabled::text, pg_get_triggerdef(oid) \
         FROM pg_trigger WHERE oid >= 16384 AND NOT tgisinternal AND tgparentid = 0",
    )
    .fetch_all(c)
    .await
}

pg_row! {
#[derive(Debug)]
pub(in super::super) struct EventTrigger {
    pub oid: i64,
    pub name: String,
    pub event: String,
    pub owner: i64,
    pub function: String,
    pub enabled: String,
    pub tags: Option<Vec<String>>,
}
}

pub(in super::super) async fn event_triggers(
    c: &mut PgConnection,
) -> Result<Vec<EventTrigger>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, evtname::text AS name, evtevent::text AS event, evtowner::int8 AS owner, \
           evtfoid::regproc::text AS function, evtenabled::text AS enabled, evttags AS tags \
         FROM pg_event_trigger",
    )
    .fetch_all(c)
    .await
}

pg_row! {
#[derive(Debug)]
pub(in super::super) struct Policy {
    pub oid: i64,
    pub rel: i64,
    pub name: String,
    pub command: String,
    pub permissive: bool,
    pub roles: Vec<String>,
    pub using: Option<String>,
    pub check: Option<String>,
}
}

pub(in super::super) async fn policies(c: &mut PgConnection) -> Result<Vec<Policy>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, polrelid::int8 AS rel, polname::text AS name, polcmd::text AS command, \
           polpermissive AS permissive, polroles::regrole[]::text[] AS roles, \
           pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS check \
         FROM pg_policy",
    )
    .fetch_all(c)
    .await
}

/// Rewrite rules: (oid, relation, name, enabled, definition unless it is a view's `_RETURN`).
pub(in super::super) async fn rules(
    c: &mut PgConnection,
) -> Result<Vec<(i64, i64, String, String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, ev_class::int8, rulename::text, ev_enabled::text, \
           CASE WHEN rulename <> '_RETURN' THEN pg_get_ruledef(oid) END \
         FROM pg_rewrite WHERE oid >= 16384",
    )
    .fetch_all(c)
    .await
}

pg_row! {
#[derive(Debug)]
pub(in super::super) struct Statistics {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    pub rel: i64,
    pub target: i32,
    pub owner: i64,
    pub definition: String,
}
}

pub(in super::super) async fn statistics(
    c: &mut PgConnection,
) -> Result<Vec<Statistics>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, stxnamespace::int8 AS namespace, stxname::text AS name, \
           stxrelid::int8 AS rel, COALESCE(stxstattarget, -1)::int4 AS target, \
           stxowner::int8 AS owner, pg_get_statisticsobjdef(oid) AS definition \
         FROM pg_statistic_ext",
    )
    .fetch_all(c)
    .await
}

/// Comments: (object, catalog, sub-object, text).
pub(in super::super) async fn descriptions(
    c: &mut PgConnection,
) -> Result<Vec<(i64, i64, i32, String)>, sqlx::Error> {
    super::copy::copy_rows(
        c,
        "SELECT objoid::int8, classoid::int8, objsubid::int4, description FROM pg_description \
         WHERE objoid >= 16384 OR classoid = 2615",
    )
    .await
}

/// One `pg_default_acl` entry: (role, schema or 0, object type, privileges, what they replace:
/// the built-in defaults for a role's global entry, nothing for a per-schema one).
pub(in super::super) type DefaultAcl = (i64, i64, String, Vec<String>, Vec<String>);

/// Default privileges, one [`DefaultAcl`] per entry.
pub(in super::super) async fn default_privileges(
    c: &mut PgConnection,
) -> Result<Vec<DefaultAcl>, sqlx::Error> {
    sqlx::query_as(
        "SELECT defaclrole::int8, defaclnamespace::int8, defaclobjtype::text, defaclacl::text[], \
           CASE WHEN defaclnamespace = 0 THEN acldefault(CASE defaclobjtype WHEN 'S' THEN 's' \
             ELSE defaclobjtype END, defaclrole)::text[] ELSE '{}'::text[] END \
         FROM pg_default_acl",
    )
    .fetch_all(c)
    .await
}
