//! PostgreSQL introspection: a fixed set of catalog queries (see `catalog`), whatever the number
//! of objects, each reading one catalog so that no plan depends on catalog statistics; the
//! rows are joined and turned into DDL in Rust (`build`). Read-only; leaves out system schemas,
//! extension members and schemagate's own schema. The session's settings that change how
//! catalog functions print (`search_path`, `DateStyle`, …) are pinned for the snapshot and
//! restored after it.

mod acl;
mod build;
mod catalog;

use sqlx::PgConnection;

use crate::snapshot::Schema;
use crate::snapshot::SnapshotOptions;
use build::Catalog;

/// Columns, defaults and inheritance: the biggest part of a large catalog.
async fn part_columns(
    c: &mut PgConnection,
    version: i32,
    cat: &mut Catalog,
) -> Result<(), sqlx::Error> {
    cat.attributes = catalog::attributes(&mut *c, version).await?;
    cat.attrdefs = catalog::attrdefs(&mut *c).await?;
    cat.inherits = catalog::inherits(&mut *c).await?;
    Ok(())
}

/// Indexes and constraints, with the small catalogs their rendering needs.
async fn part_indexes(
    c: &mut PgConnection,
    version: i32,
    cat: &mut Catalog,
) -> Result<(), sqlx::Error> {
    cat.indexes = catalog::indexes(&mut *c, version).await?;
    cat.constraints = catalog::constraints(&mut *c).await?;
    cat.opclasses = catalog::opclasses(&mut *c).await?;
    cat.access_methods = catalog::access_methods(&mut *c).await?;
    cat.collations = catalog::collations(&mut *c, version).await?;
    Ok(())
}

/// Everything else. Dependencies come first: routines of extensions, and those a type created
/// for itself, are left out by the query.
async fn part_rest(
    c: &mut PgConnection,
    opts: SnapshotOptions,
    cat: &mut Catalog,
) -> Result<(), sqlx::Error> {
    cat.depends = catalog::depends(&mut *c).await?;
    let members: Vec<i64> = cat
        .depends
        .iter()
        .filter(|d| matches!(d.deptype.as_str(), "e" | "i") && d.classid == catalog::class::PROC)
        .map(|d| d.objid)
        .collect();
    cat.namespaces = catalog::namespaces(&mut *c).await?;
    cat.extensions = catalog::extensions(&mut *c).await?;
    cat.classes = catalog::classes(&mut *c).await?;
    cat.types = catalog::types(&mut *c).await?;
    cat.enum_labels = catalog::enum_labels(&mut *c).await?;
    cat.ranges = catalog::ranges(&mut *c).await?;
    cat.sequences = catalog::sequences(&mut *c).await?;
    cat.procs = catalog::procs(&mut *c, &members).await?;
    if cat.procs.iter().any(|p| p.kind == "a") {
        cat.aggregates = catalog::aggregates(&mut *c).await?;
    }
    cat.triggers = catalog::triggers(&mut *c).await?;
    cat.event_triggers = catalog::event_triggers(&mut *c).await?;
    cat.policies = catalog::policies(&mut *c).await?;
    cat.rules = catalog::rules(&mut *c).await?;
    cat.statistics = catalog::statistics(&mut *c).await?;
    cat.descriptions = catalog::descriptions(&mut *c).await?;
    if opts.owners || opts.privileges {
        cat.roles = catalog::roles(&mut *c).await?;
    }
    if opts.privileges {
        cat.default_privileges = catalog::default_privileges(&mut *c).await?;
    }
    Ok(())
}

/// Reads the whole schema of the connected database over one connection, inside the caller's
/// transaction (inside the executor's it sees the change's own uncommitted DDL).
pub(crate) async fn snapshot(
    c: &mut PgConnection,
    opts: SnapshotOptions,
) -> Result<Schema, sqlx::Error> {
    let (version, previous) = catalog::pin_settings(&mut *c).await?;
    let mut cat = Catalog::default();
    part_rest(&mut *c, opts, &mut cat).await?;
    part_columns(&mut *c, version, &mut cat).await?;
    part_indexes(&mut *c, version, &mut cat).await?;
    catalog::set_settings(&mut *c, &previous).await?;
    Ok(build::build(&cat, opts))
}

/// Reads the whole schema over three connections at once, all in one exported MVCC snapshot so
/// the parts agree (the way pg_dump's parallel mode does it).
pub(crate) async fn snapshot_parallel(
    a: &mut PgConnection,
    b: &mut PgConnection,
    c: &mut PgConnection,
    opts: SnapshotOptions,
) -> Result<Schema, sqlx::Error> {
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *a)
        .await?;
    let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *a)
        .await?;
    for conn in [&mut *b, &mut *c] {
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *conn)
            .await?;
        // The id comes from the server and is a plain token; bind parameters are not allowed here.
        let set = format!("SET TRANSACTION SNAPSHOT '{}'", id.replace('\'', ""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(set))
            .execute(&mut *conn)
            .await?;
    }
    let mut version = 0;
    for conn in [&mut *a, &mut *b, &mut *c] {
        version = catalog::pin_settings(conn).await?.0;
    }
    // Roughly equal server work per connection: columns | indexes and constraints | the rest.
    let (mut ca, mut cb, mut cc) = (Catalog::default(), Catalog::default(), Catalog::default());
    let (ra, rb, rc) = tokio::join!(
        part_columns(&mut *a, version, &mut ca),
        part_indexes(&mut *b, version, &mut cb),
        part_rest(&mut *c, opts, &mut cc),
    );
    for conn in [&mut *a, &mut *b, &mut *c] {
        let _ = sqlx::raw_sql("COMMIT").execute(&mut *conn).await;
    }
    ra?;
    rb?;
    rc?;
    let cat = Catalog {
        attributes: ca.attributes,
        attrdefs: ca.attrdefs,
        inherits: ca.inherits,
        indexes: cb.indexes,
        constraints: cb.constraints,
        opclasses: cb.opclasses,
        access_methods: cb.access_methods,
        collations: cb.collations,
        ..cc
    };
    Ok(build::build(&cat, opts))
}
