//! The catalog queries of a PostgreSQL snapshot and their rows. Each query reads one catalog
//! (a join only with a catalog that is always small, such as `pg_namespace`; the columns and
//! sequence owners take their relations' oids from an `ARRAY(…)` sub-select of `pg_class`,
//! which runs once before the index scan, as a bound array would), so no plan can depend on
//! catalog statistics: the rows are joined in Rust by `super::build`. The large catalogs are
//! read by binary `COPY` and decoded in place (`copy`). Read-only.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use sqlx::PgConnection;

/// Declares a row read by column position, in the order of its fields (which must be the
/// order of the query's columns): `pg_row!` looks every value up by its name, a
/// measurable share of decoding the tens of thousands of rows of a large catalog. Readable
/// both as a query's row and from binary `COPY` (`copy::FromCopy`).
macro_rules! by_position {
    ($(#[$m:meta])* pub(super) struct $name:ident {
        $($(#[$fm:meta])* pub $f:ident: $t:ty,)*
    }) => {
        $(#[$m])*
        #[derive(Debug)]
        pub(super) struct $name { $($(#[$fm])* pub $f: $t,)* }
        impl<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> for $name {
            fn from_row(row: &'r sqlx::postgres::PgRow) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                let mut i = 0_usize;
                // Unchecked: every query casts its columns to the fields' types, and the
                // check compared each value's type with every type the field accepts.
                $( let $f = row.try_get_unchecked(i)?; i += 1; )*
                let _ = i;
                Ok(Self { $($f),* })
            }
        }
        impl copy::FromCopy for $name {
            const COLUMNS: usize = [$(stringify!($f)),*].len();
            fn from_copy(f: &mut copy::Fields<'_>) -> Result<Self, copy::Bad> {
                $( let $f = f.get::<$t>()?; )*
                Ok(Self { $($f),* })
            }
        }
    };
}

/// A `"char"` column (a kind, a flag) read as its one byte instead of as text: no allocation
/// per value on the catalogs of tens of thousands of rows. Compares with `&str` like the text
/// it stands for (`'\0'`, PostgreSQL's "none", as the empty string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Char(u8);

impl Char {
    /// The one-character text (empty for `'\0'`; a byte past ASCII: `?`, never a kind).
    pub fn as_str(&self) -> &'static str {
        const ASCII: &str = "\0\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\
            \x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \
            !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`\
            abcdefghijklmnopqrstuvwxyz{|}~\x7f";
        match usize::from(self.0) {
            0 => "",
            b @ 1..=127 => &ASCII[b..=b],
            _ => "?",
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }
}

impl PartialEq<&str> for Char {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl sqlx::Type<sqlx::Postgres> for Char {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <i8 as sqlx::Type<sqlx::Postgres>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Char {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(
            <i8 as sqlx::Decode<'r, sqlx::Postgres>>::decode(value)?.cast_unsigned(),
        ))
    }
}

mod code;
mod copy;
mod expr;
pub(super) use code::*;
pub(super) use expr::*;

/// Catalog oids (fixed in PostgreSQL's headers) used as `classid` / `classoid` values.
pub(super) mod class {
    pub const TYPE: i64 = 1247;
    pub const PROC: i64 = 1255;
    pub const CLASS: i64 = 1259;
    pub const ATTRDEF: i64 = 2604;
    pub const CONSTRAINT: i64 = 2606;
    pub const NAMESPACE: i64 = 2615;
    pub const REWRITE: i64 = 2618;
    pub const TRIGGER: i64 = 2620;
    pub const EXTENSION: i64 = 3079;
    pub const POLICY: i64 = 3256;
    pub const STATISTIC_EXT: i64 = 3381;
    pub const COLLATION: i64 = 3456;
    pub const EVENT_TRIGGER: i64 = 3466;
}

/// `pg_catalog`'s oid.
pub(super) const PG_CATALOG: i64 = 11;

/// Schemas never snapshotted: the system's and schemagate's own.
pub(super) fn is_user_namespace(name: &str) -> bool {
    !matches!(name, "pg_catalog" | "information_schema" | "schemagate") && !name.starts_with("pg_")
}

/// The session settings a snapshot pins, in this order, so that catalog functions print the
/// same text whatever the session had set: every name qualified (`search_path` empty, as
/// pg_dump does), dates ISO, intervals and floats in PostgreSQL's own style, times in UTC.
/// Last, generic plans: the queries that take arrays of thousands of oids would otherwise be
/// planned with the array's values, estimating every element (≈ 40 ms of server CPU for the
/// columns of 2,000 tables); the generic plan is the same index scan without it, whether the
/// catalogs were analysed or not. (`plan_cache_mode` is PostgreSQL 12's: left alone before.)
pub(super) const PINNED: [(&str, &str); 6] = [
    ("search_path", ""),
    ("DateStyle", "ISO, YMD"),
    ("IntervalStyle", "postgres"),
    ("TimeZone", "UTC"),
    ("extra_float_digits", "1"),
    ("plan_cache_mode", "force_generic_plan"),
];

/// Reads the server version and the current values of the pinned settings, then pins them
/// for the rest of the transaction. Returns (version number, previous values).
pub(super) async fn pin_settings(c: &mut PgConnection) -> Result<(i32, Vec<String>), sqlx::Error> {
    let (version, a, b, d, e, f, g): (i32, String, String, String, String, String, String) =
        sqlx::query_as(
            "SELECT current_setting('server_version_num')::int4, current_setting('search_path'), \
               current_setting('DateStyle'), current_setting('IntervalStyle'), \
               current_setting('TimeZone'), current_setting('extra_float_digits'), \
               COALESCE(current_setting('plan_cache_mode', true), '')",
        )
        .fetch_one(&mut *c)
        .await?;
    let mut pinned = PINNED.map(|(_, v)| v.to_owned());
    if g.is_empty() {
        pinned[5].clear();
    }
    set_settings(c, &pinned).await?;
    Ok((version, vec![a, b, d, e, f, g]))
}

/// Sets the pinned settings to `values` for the rest of the transaction (an empty
/// `plan_cache_mode`: left alone, the server has none).
pub(super) async fn set_settings(
    c: &mut PgConnection,
    values: &[String],
) -> Result<(), sqlx::Error> {
    let mut q = sqlx::query(
        "SELECT set_config('search_path', $1, true), set_config('DateStyle', $2, true), \
           set_config('IntervalStyle', $3, true), set_config('TimeZone', $4, true), \
           set_config('extra_float_digits', $5, true), \
           CASE WHEN $6 <> '' THEN set_config('plan_cache_mode', $6, true) END",
    );
    for v in values {
        q = q.bind(v);
    }
    q.execute(&mut *c).await?;
    Ok(())
}

pg_row! {
#[derive(Debug)]
pub(super) struct Namespace {
    pub oid: i64,
    pub name: String,
    pub owner: i64,
    pub acl: Option<Vec<String>>,
    pub acl_default: Option<Vec<String>>,
}
}

pub(super) async fn namespaces(c: &mut PgConnection) -> Result<Vec<Namespace>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, nspname::text AS name, nspowner::int8 AS owner, nspacl::text[] AS acl, \
           CASE WHEN nspacl IS NOT NULL THEN acldefault('n', nspowner)::text[] END AS acl_default \
         FROM pg_namespace",
    )
    .fetch_all(c)
    .await
}

pub(super) async fn roles(c: &mut PgConnection) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT oid::int8, quote_ident(rolname) FROM pg_roles")
        .fetch_all(c)
        .await
}

pub(super) async fn extensions(
    c: &mut PgConnection,
) -> Result<Vec<(i64, String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT oid::int8, extname::text, extnamespace::int8 FROM pg_extension")
        .fetch_all(c)
        .await
}

by_position! {
/// A `pg_depend` row: `(classid, objid, objsubid)` depends on `(refclassid, refobjid,
/// refobjsubid)`.
pub(super) struct Depend {
    pub classid: i64,
    pub objid: i64,
    pub refclassid: i64,
    pub refobjid: i64,
    pub refobjsubid: i32,
    pub deptype: Char,
}
}

/// Dependencies between user objects: normal ones (for the load order), extension membership
/// and the routines a type creates for itself (a range's constructors).
pub(super) async fn depends(c: &mut PgConnection) -> Result<Vec<Depend>, sqlx::Error> {
    copy::copy_rows(
        c,
        "SELECT classid::int8, objid::int8, refclassid::int8, refobjid::int8, \
           refobjsubid::int4, deptype FROM pg_depend \
         WHERE refobjid >= 16384 AND (deptype IN ('n', 'e') OR (deptype = 'i' AND classid = 1255))",
    )
    .await
}

/// The column that owns each sequence (automatic: serial, `OWNED BY`; internal: identity).
/// Looked up by sequence (the same shape of row links every index to its columns): the
/// sequences' oids are an `ARRAY(…)` sub-select, which the server runs once before the scan
/// (an init plan), so the plan is the index scan whatever the catalogs' statistics.
pub(super) async fn sequence_owners(c: &mut PgConnection) -> Result<Vec<Depend>, sqlx::Error> {
    copy::copy_rows(
        c,
        "SELECT classid::int8, objid::int8, refclassid::int8, refobjid::int8, \
           refobjsubid::int4, deptype FROM pg_depend \
         WHERE classid = 1259 AND objid = ANY (ARRAY(SELECT oid FROM pg_class \
             WHERE oid >= 16384 AND relkind = 'S')) AND objsubid = 0 \
           AND refclassid = 1259 AND refobjsubid > 0 AND deptype IN ('a', 'i')",
    )
    .await
}

by_position! {
/// A relation: table, partitioned table, view, materialized view, composite type, sequence,
/// index (for its name and options) or a TOAST table with options.
pub(super) struct Class {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    pub kind: Char,
    pub persistence: Char,
    pub is_partition: bool,
    pub of_type: i64,
    pub am: i64,
    pub options: Option<Vec<String>>,
    pub row_security: bool,
    pub force_row_security: bool,
    pub replica_identity: Char,
    pub owner: i64,
    pub acl: Option<Vec<String>>,
    pub acl_default: Option<Vec<String>>,
    pub toast: i64,
    pub bound: Option<String>,
    pub partition_key: Option<String>,
    pub view: Option<String>,
}
}

pub(super) async fn classes(c: &mut PgConnection) -> Result<Vec<Class>, sqlx::Error> {
    copy::copy_rows(
        c,
        "SELECT c.oid::int8, c.relnamespace::int8 AS namespace, c.relname::text AS name, \
           c.relkind AS kind, c.relpersistence AS persistence, \
           c.relispartition AS is_partition, c.reloftype::int8 AS of_type, c.relam::int8 AS am, \
           c.reloptions::text[] AS options, c.relrowsecurity AS row_security, \
           c.relforcerowsecurity AS force_row_security, c.relreplident AS replica_identity, \
           c.relowner::int8 AS owner, c.relacl::text[] AS acl, \
           CASE WHEN c.relacl IS NOT NULL THEN acldefault(CASE c.relkind WHEN 'S' THEN 's'::\"char\" \
             ELSE 'r'::\"char\" END, c.relowner)::text[] END AS acl_default, \
           c.reltoastrelid::int8 AS toast, \
           CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound, \
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key, \
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view \
         FROM pg_class c WHERE c.oid >= 16384 \
           AND (c.relkind IN ('r', 'p', 'v', 'm', 'c', 'S', 'i', 'I') \
             OR (c.relkind = 't' AND c.reloptions IS NOT NULL))",
    )
    .await
}

by_position! {
/// A column (or composite type attribute, or index column).
pub(super) struct Attribute {
    pub rel: i64,
    pub num: i32,
    pub name: String,
    pub type_oid: i64,
    pub type_mod: i32,
    pub not_null: bool,
    pub identity: Char,
    pub generated: Char,
    pub collation: i64,
    pub is_local: bool,
    pub statistics: i32,
    pub storage: Char,
    pub compression: Char,
    pub options: Option<Vec<String>>,
    pub acl: Option<Vec<String>>,
}
}

/// What [`attributes`] reads of a column.
fn attribute_columns(version: i32) -> String {
    let compression = if version >= 140_000 {
        "attcompression"
    } else {
        "''::\"char\""
    };
    format!(
        "attrelid::int8 AS rel, attnum::int4 AS num, attname::text AS name, \
           atttypid::int8 AS type_oid, atttypmod::int4 AS type_mod, \
           attnotnull AS not_null, attidentity AS identity, \
           attgenerated AS generated, attcollation::int8 AS collation, \
           attislocal AS is_local, COALESCE(attstattarget, -1)::int4 AS statistics, \
           attstorage AS storage, {compression} AS compression, \
           attoptions::text[] AS options, attacl::text[] AS acl"
    )
}

/// The columns of the relations that have them (tables, views, composite types), and the
/// columns of expression indexes that have a statistics target (only an expression column can
/// have one). Fetched by relation so that TOAST tables, sequences and other indexes are not
/// read at all: the relations' oids are `ARRAY(…)` sub-selects, which the server runs once
/// before the scan (init plans), so the plan is the index scan on `(attrelid, attnum)`
/// whatever the catalogs' statistics (the arrays' values are not known when planning, as with
/// a bound parameter).
pub(super) async fn attributes(
    c: &mut PgConnection,
    version: i32,
) -> Result<Vec<Attribute>, sqlx::Error> {
    let columns = attribute_columns(version);
    let sql = format!(
        "SELECT {columns} FROM pg_attribute \
           WHERE attrelid = ANY (ARRAY(SELECT oid FROM pg_class \
               WHERE oid >= 16384 AND relkind IN ('r', 'p', 'v', 'm', 'c'))) \
             AND attnum > 0 AND NOT attisdropped \
         UNION ALL \
         SELECT {columns} FROM pg_attribute \
           WHERE attrelid = ANY (ARRAY(SELECT indexrelid FROM pg_index \
               WHERE indexrelid >= 16384 AND indexprs IS NOT NULL)) \
             AND attnum > 0 AND COALESCE(attstattarget, -1) >= 0"
    );
    copy::copy_rows(c, &sql).await
}

/// `format_type` of each distinct (type, modifier) pair of `attributes`: printed once per
/// pair instead of once per column (tens of thousands of lookups on a large catalog).
pub(super) async fn type_names(
    c: &mut PgConnection,
    attributes: &[Attribute],
) -> Result<HashMap<(i64, i32), String>, sqlx::Error> {
    let pairs: HashSet<(i64, i32)> = attributes
        .iter()
        .map(|a| (a.type_oid, a.type_mod))
        .collect();
    let (oids, mods): (Vec<i64>, Vec<i32>) = pairs.into_iter().unzip();
    let rows: Vec<(i64, i32, String)> = sqlx::query_as(
        "SELECT t::int8, m, format_type(t, m) \
         FROM unnest($1::int8[]::oid[], $2::int4[]) AS u(t, m)",
    )
    .bind(&oids)
    .bind(&mods)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(|(t, m, n)| ((t, m), n)).collect())
}

/// Column defaults and generation expressions: (oid, relation, column, stored tree). The
/// trees are printed by `super::expr_text` where it can, by [`attrdef_texts`] otherwise.
pub(super) async fn attrdefs(
    c: &mut PgConnection,
) -> Result<Vec<(i64, i64, i32, String)>, sqlx::Error> {
    copy::copy_rows(
        c,
        "SELECT oid::int8, adrelid::int8, adnum::int4, adbin::text \
         FROM pg_attrdef WHERE adrelid >= 16384",
    )
    .await
}

/// The server's text of the given defaults and generation expressions: (oid, expression).
/// Given its relation, `pg_get_expr` opens it (building its relation cache entry, the largest
/// cost of a snapshot of many tables); an expression without column references (every
/// default: only generation expressions have them) prints the same without it.
pub(super) async fn attrdef_texts(
    c: &mut PgConnection,
    oids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, pg_get_expr(adbin, \
           CASE WHEN strpos(adbin::text, '{VAR ') > 0 THEN adrelid ELSE 0 END) \
         FROM pg_attrdef WHERE oid = ANY($1::int8[]::oid[])",
    )
    .bind(oids)
    .fetch_all(c)
    .await
}

/// Inheritance and partitioning links (also of indexes): (child, parent, position).
pub(super) async fn inherits(c: &mut PgConnection) -> Result<Vec<(i64, i64, i32)>, sqlx::Error> {
    sqlx::query_as("SELECT inhrelid::int8, inhparent::int8, inhseqno::int4 FROM pg_inherits")
        .fetch_all(c)
        .await
}

by_position! {
/// A type. Heavy columns are computed for domains only.
pub(super) struct Type {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    pub kind: Char,
    pub relation: i64,
    pub element: i64,
    pub storage: Char,
    pub owner: i64,
    pub acl: Option<Vec<String>>,
    pub acl_default: Option<Vec<String>>,
    pub base: Option<String>,
    pub not_null: bool,
    pub default: Option<String>,
    pub collation: i64,
    pub base_oid: i64,
}
}

pub(super) async fn types(c: &mut PgConnection) -> Result<Vec<Type>, sqlx::Error> {
    copy::copy_rows(
        c,
        "SELECT oid::int8, typnamespace::int8 AS namespace, typname::text AS name, \
           typtype AS kind, typrelid::int8 AS relation, typelem::int8 AS element, \
           typstorage AS storage, typowner::int8 AS owner, typacl::text[] AS acl, \
           CASE WHEN typacl IS NOT NULL THEN acldefault('T', typowner)::text[] END AS acl_default, \
           CASE WHEN typtype = 'd' THEN format_type(typbasetype, typtypmod) END AS base, \
           typnotnull AS not_null, \
           CASE WHEN typtype = 'd' THEN pg_get_expr(typdefaultbin, 0) END AS default, \
           typcollation::int8 AS collation, typbasetype::int8 AS base_oid \
         FROM pg_type",
    )
    .await
}

/// Enum labels in their order: (type, label).
pub(super) async fn enum_labels(c: &mut PgConnection) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT enumtypid::int8, enumlabel::text FROM pg_enum WHERE enumtypid >= 16384 \
         ORDER BY enumtypid, enumsortorder",
    )
    .fetch_all(c)
    .await
}

pg_row! {
#[derive(Debug)]
pub(super) struct Range {
    pub oid: i64,
    pub subtype: String,
    pub subtype_oid: i64,
    pub multirange: i64,
    pub collation: i64,
    pub opclass: i64,
    pub canonical: String,
    pub diff: String,
}
}

pub(super) async fn ranges(c: &mut PgConnection) -> Result<Vec<Range>, sqlx::Error> {
    sqlx::query_as(
        "SELECT rngtypid::int8 AS oid, format_type(rngsubtype, NULL) AS subtype, \
           rngsubtype::int8 AS subtype_oid, rngmultitypid::int8 AS multirange, \
           rngcollation::int8 AS collation, rngsubopc::int8 AS opclass, \
           rngcanonical::regproc::text AS canonical, rngsubdiff::regproc::text AS diff \
         FROM pg_range WHERE rngtypid >= 16384",
    )
    .fetch_all(c)
    .await
}

pg_row! {
#[derive(Debug)]
pub(super) struct Collation {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    pub provider: String,
    pub deterministic: bool,
    pub collate: Option<String>,
    pub ctype: Option<String>,
    pub locale: Option<String>,
    pub owner: i64,
}
}

pub(super) async fn collations(
    c: &mut PgConnection,
    version: i32,
) -> Result<Vec<Collation>, sqlx::Error> {
    let locale = match version {
        170_000.. => "colllocale::text",
        150_000.. => "colliculocale::text",
        _ => "NULL::text",
    };
    let sql = format!(
        "SELECT oid::int8, collnamespace::int8 AS namespace, collname::text AS name, \
           collprovider::text AS provider, collisdeterministic AS deterministic, \
           collcollate::text AS collate, collctype::text AS ctype, {locale} AS locale, \
           collowner::int8 AS owner FROM pg_collation"
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(c).await
}

/// Operator classes: (oid, namespace, name, default for its type and method).
pub(super) async fn opclasses(
    c: &mut PgConnection,
) -> Result<Vec<(i64, i64, String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, opcnamespace::int8, opcname::text, opcdefault FROM pg_opclass",
    )
    .fetch_all(c)
    .await
}

/// Access methods: (oid, name).
pub(super) async fn access_methods(
    c: &mut PgConnection,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT oid::int8, amname::text FROM pg_am")
        .fetch_all(c)
        .await
}

by_position! {
pub(super) struct Index {
    pub oid: i64,
    pub rel: i64,
    pub key_columns: i32,
    pub unique: bool,
    pub nulls_not_distinct: bool,
    pub clustered: bool,
    pub replica_identity: bool,
    pub keys: String,
    pub collations: String,
    pub opclasses: String,
    pub options: String,
    /// The stored trees (`indexprs`, `indpred`), printed by `super::expr_text`.
    pub expression_tree: Option<String>,
    pub predicate_tree: Option<String>,
    /// Their text as `pg_get_expr` prints it: filled in after reading.
    pub expressions: Option<String>,
    pub predicate: Option<String>,
}
}

pub(super) async fn indexes(c: &mut PgConnection, version: i32) -> Result<Vec<Index>, sqlx::Error> {
    let nnd = if version >= 150_000 {
        "indnullsnotdistinct"
    } else {
        "false"
    };
    let sql = format!(
        "SELECT indexrelid::int8 AS oid, indrelid::int8 AS rel, indnkeyatts::int4 AS key_columns, \
           indisunique AS unique, {nnd} AS nulls_not_distinct, indisclustered AS clustered, \
           indisreplident AS replica_identity, indkey::text AS keys, \
           indcollation::text AS collations, indclass::text AS opclasses, \
           indoption::text AS options, indexprs::text AS expression_tree, \
           indpred::text AS predicate_tree, NULL::text AS expressions, NULL::text AS predicate \
         FROM pg_index WHERE indexrelid >= 16384"
    );
    copy::copy_rows(c, &sql).await
}

by_position! {
pub(super) struct Constraint {
    pub oid: i64,
    pub name: String,
    pub kind: String,
    pub rel: i64,
    pub domain: i64,
    pub index: i64,
    pub validated: bool,
    /// `pg_get_constraintdef`, or empty where `super::constraint_text` rebuilds it from the
    /// columns below (primary keys, unique constraints, foreign keys).
    pub definition: String,
    pub keys: Option<Vec<i16>>,
    pub referenced: i64,
    pub referenced_keys: Option<Vec<i16>>,
    pub match_type: String,
    pub on_update: String,
    pub on_delete: String,
    pub deferrable: bool,
    pub deferred: bool,
}
}

/// Constraints declared on a table or domain itself (not inherited, not a partition's copy of
/// its parent's). The server prints the definitions of the kinds that hold expressions (and of
/// every kind on versions this code does not know the text of).
pub(super) async fn constraints(
    c: &mut PgConnection,
    version: i32,
) -> Result<Vec<Constraint>, sqlx::Error> {
    let server_text = match version {
        170_000.. => "true",
        150_000.. => "contype NOT IN ('p', 'u', 'f') OR confdelsetcols IS NOT NULL",
        _ => "contype NOT IN ('p', 'u', 'f')",
    };
    let sql = format!(
        "SELECT oid::int8, conname::text AS name, contype::text AS kind, conrelid::int8 AS rel, \
           contypid::int8 AS domain, conindid::int8 AS index, convalidated AS validated, \
           CASE WHEN {server_text} THEN pg_get_constraintdef(oid) ELSE '' END AS definition, \
           conkey AS keys, confrelid::int8 AS referenced, confkey AS referenced_keys, \
           confmatchtype::text AS match_type, confupdtype::text AS on_update, \
           confdeltype::text AS on_delete, condeferrable AS deferrable, \
           condeferred AS deferred \
         FROM pg_constraint WHERE oid >= 16384 AND contype IN ('p', 'u', 'c', 'x', 'f') \
           AND conparentid = 0 AND conislocal"
    );
    copy::copy_rows(c, &sql).await
}

/// `pg_get_constraintdef` of the given constraints: (oid, definition).
pub(super) async fn constraint_definitions(
    c: &mut PgConnection,
    oids: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT oid::int8, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE oid = ANY($1::int8[]::oid[])",
    )
    .bind(oids)
    .fetch_all(c)
    .await
}

/// How the server quotes identifiers: the keywords `quote_ident` quotes (all but the
/// unreserved ones) and `quote_all_identifiers`.
pub(super) async fn quoter(c: &mut PgConnection) -> Result<super::quote::Quoter, sqlx::Error> {
    let (keywords, quote_all): (Vec<String>, bool) = sqlx::query_as(
        "SELECT COALESCE(array_agg(word::text) FILTER (WHERE catcode <> 'U'), '{}'), \
           current_setting('quote_all_identifiers')::bool \
         FROM pg_get_keywords()",
    )
    .fetch_one(c)
    .await?;
    Ok(super::quote::Quoter::new(keywords, quote_all))
}

pg_row! {
#[derive(Debug)]
pub(super) struct Sequence {
    pub oid: i64,
    pub type_name: String,
    pub start: i64,
    pub increment: i64,
    pub max: i64,
    pub min: i64,
    pub cache: i64,
    pub cycle: bool,
}
}

pub(super) async fn sequences(c: &mut PgConnection) -> Result<Vec<Sequence>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seqrelid::int8 AS oid, format_type(seqtypid, NULL) AS type_name, \
           seqstart AS start, seqincrement AS increment, seqmax AS max, seqmin AS min, \
           seqcache AS cache, seqcycle AS cycle FROM pg_sequence",
    )
    .fetch_all(c)
    .await
}
