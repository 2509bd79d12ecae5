//! PostgreSQL introspection: a fixed set of catalog queries (see `catalog`), whatever the number
//! of objects, each reading one catalog so that no plan depends on catalog statistics; the
//! rows are joined and turned into DDL in Rust (`build`). Read-only; leaves out system schemas,
//! extension members and schemagate's own schema. The session's settings that change how
//! catalog functions print (`search_path`, `DateStyle`, …) are pinned for the snapshot and
//! restored after it.

/// Evaluates `$e` and logs how long it took: where a snapshot's time goes, step by step and
/// query by query (`RUST_LOG=schemagate::snapshot=debug`).
macro_rules! timed {
    ($step:expr, $e:expr) => {{
        let start = std::time::Instant::now();
        let r = $e;
        tracing::debug!(
            target: "schemagate::snapshot",
            step = $step,
            ms = start.elapsed().as_secs_f64() * 1e3
        );
        r
    }};
}
pub(crate) use timed;
mod acl;
mod build;
mod catalog;
mod constraint_text;
mod expr_text;
mod quote;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap as HashMap;

use sqlx::PgConnection;

use crate::snapshot::Schema;
use crate::snapshot::SnapshotOptions;
use build::Catalog;

/// What every job of a snapshot needs to know.
#[derive(Clone, Copy)]
struct Read {
    version: i32,
    opts: SnapshotOptions,
}

/// A unit of catalog reading: a few queries, in order, on one connection, filling their
/// fields of a [`Catalog`]. A snapshot's connections take the jobs of [`JOBS`] one at a time
/// until none is left, so whichever connection is free takes the next one.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// Table, view and composite type columns (and index columns with a statistics target),
    /// and their types' names.
    Columns,
    /// Indexes, and what the server's deparser prints from their trees.
    Indexes,
    /// Relations (views' definitions included).
    Classes,
    /// Dependencies, then the routines that are not members of an extension or a type.
    Dependencies,
    /// Column defaults and generation expressions.
    Defaults,
    Constraints,
    /// Sequences, the columns that own them, inheritance.
    Sequences,
    /// Types, enum labels, ranges.
    Types,
    /// Triggers, policies, rules.
    Triggers,
    /// Comments.
    Descriptions,
    /// Schemas, the quoting rule, extensions, event triggers, statistics objects, operator
    /// classes, access methods, collations, roles and default privileges: small catalogs.
    Small,
}

impl Job {
    /// The job's name in the step timings.
    fn name(self) -> &'static str {
        match self {
            Job::Columns => "job columns",
            Job::Indexes => "job indexes",
            Job::Classes => "job classes",
            Job::Dependencies => "job dependencies",
            Job::Defaults => "job defaults",
            Job::Constraints => "job constraints",
            Job::Sequences => "job sequences",
            Job::Types => "job types",
            Job::Triggers => "job triggers",
            Job::Descriptions => "job descriptions",
            Job::Small => "job small",
        }
    }
}

/// Every job, the longest first (2,000 tables: columns ~90 ms, indexes ~60 ms, relations
/// ~40 ms, …), so that the last ones to start are short and the connections end together.
const JOBS: [Job; 11] = [
    Job::Columns,
    Job::Indexes,
    Job::Classes,
    Job::Dependencies,
    Job::Defaults,
    Job::Constraints,
    Job::Sequences,
    Job::Types,
    Job::Triggers,
    Job::Descriptions,
    Job::Small,
];

/// Runs `job` on `c`, filling its fields of `cat`. Plans do not depend on catalog statistics
/// (see `catalog`).
async fn run(
    job: Job,
    c: &mut PgConnection,
    Read { version, opts }: Read,
    cat: &mut Catalog,
) -> Result<(), sqlx::Error> {
    match job {
        Job::Columns => {
            cat.attributes = timed!("attributes", catalog::attributes(&mut *c, version).await)?;
            cat.type_names = timed!(
                "type_names",
                catalog::type_names(&mut *c, &cat.attributes).await
            )?;
        }
        Job::Indexes => {
            cat.indexes = timed!("indexes", catalog::indexes(&mut *c, version).await)?;
            cat.index_texts = timed!(
                "index_expressions",
                index_expressions(&mut *c, &mut cat.indexes).await
            )?;
        }
        Job::Classes => cat.classes = timed!("classes", catalog::classes(&mut *c).await)?,
        Job::Dependencies => {
            // Routines of extensions, and those a type created for itself, are left out.
            cat.depends = timed!("depends", catalog::depends(&mut *c).await)?;
            let members: Vec<i64> = cat
                .depends
                .iter()
                .filter(|d| {
                    matches!(d.deptype.as_str(), "e" | "i") && d.classid == catalog::class::PROC
                })
                .map(|d| d.objid)
                .collect();
            cat.procs = timed!("procs", catalog::procs(&mut *c, &members).await)?;
            if cat.procs.iter().any(|p| p.kind == "a") {
                cat.aggregates = timed!("aggregates", catalog::aggregates(&mut *c).await)?;
            }
        }
        Job::Defaults => {
            cat.attrdefs = timed!("attrdefs", catalog::attrdefs(&mut *c).await)?;
            cat.attrdef_texts = timed!(
                "default_expressions",
                default_expressions(&mut *c, &mut cat.attrdefs).await
            )?;
        }
        Job::Constraints => {
            cat.constraints = timed!("constraints", catalog::constraints(&mut *c, version).await)?;
        }
        Job::Sequences => {
            cat.sequences = timed!("sequences", catalog::sequences(&mut *c).await)?;
            cat.sequence_owners =
                timed!("sequence_owners", catalog::sequence_owners(&mut *c).await)?;
            cat.inherits = timed!("inherits", catalog::inherits(&mut *c).await)?;
        }
        Job::Types => {
            cat.types = timed!("types", catalog::types(&mut *c).await)?;
            cat.enum_labels = timed!("enum_labels", catalog::enum_labels(&mut *c).await)?;
            cat.ranges = timed!("ranges", catalog::ranges(&mut *c).await)?;
        }
        Job::Triggers => {
            cat.triggers = timed!("triggers", catalog::triggers(&mut *c).await)?;
            cat.policies = timed!("policies", catalog::policies(&mut *c).await)?;
            cat.rules = timed!("rules", catalog::rules(&mut *c).await)?;
        }
        Job::Descriptions => {
            cat.descriptions = timed!("descriptions", catalog::descriptions(&mut *c).await)?;
        }
        Job::Small => {
            cat.namespaces = timed!("namespaces", catalog::namespaces(&mut *c).await)?;
            cat.quoter = timed!("quoter", catalog::quoter(&mut *c).await)?;
            cat.extensions = timed!("extensions", catalog::extensions(&mut *c).await)?;
            cat.event_triggers = timed!("event_triggers", catalog::event_triggers(&mut *c).await)?;
            cat.statistics = timed!("statistics", catalog::statistics(&mut *c).await)?;
            cat.opclasses = timed!("opclasses", catalog::opclasses(&mut *c).await)?;
            cat.access_methods = timed!("access_methods", catalog::access_methods(&mut *c).await)?;
            cat.collations = timed!("collations", catalog::collations(&mut *c, version).await)?;
            if opts.owners || opts.privileges {
                cat.roles = timed!("roles", catalog::roles(&mut *c).await)?;
            }
            if opts.privileges {
                cat.default_privileges = timed!(
                    "default_privileges",
                    catalog::default_privileges(&mut *c).await
                )?;
            }
        }
    }
    Ok(())
}

/// Takes jobs from [`JOBS`] (the next one is `next`) and runs them on `c` until none is
/// left; the rows they read. After an error, the other connections take no new job.
async fn worker(
    c: &mut PgConnection,
    read: Read,
    next: &AtomicUsize,
) -> Result<Catalog, sqlx::Error> {
    let mut cat = Catalog::default();
    while let Some(&job) = JOBS.get(next.fetch_add(1, Ordering::Relaxed)) {
        if let Err(e) = timed!(job.name(), run(job, &mut *c, read, &mut cat).await) {
            next.store(JOBS.len(), Ordering::Relaxed);
            return Err(e);
        }
    }
    Ok(cat)
}

/// A stored tree's text without its `:location` fields (where each node was in the text of
/// the statement that made it; nothing prints them): trees that differ only there (the same
/// default or index expression on many tables) are parsed and printed once. Conservative: a
/// `:location` that is not a field name followed by an integer is kept.
fn without_locations(tree: &str) -> Cow<'_, str> {
    const FIELD: &str = " :location ";
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(FIELD));
    let find = |s: &str| FINDER.find(s.as_bytes());
    let Some(first) = find(tree) else {
        return Cow::Borrowed(tree);
    };
    let mut out = String::with_capacity(tree.len());
    let mut rest = tree;
    let mut at = Some(first);
    while let Some(a) = at {
        let after = &rest[a + FIELD.len()..];
        let digits = after
            .bytes()
            .enumerate()
            .take_while(|&(n, b)| b.is_ascii_digit() || (n == 0 && b == b'-'))
            .count();
        // A field name: its space is not escaped (inside a word, a backslash escapes it);
        // its value an integer ending where a word ends.
        let field = !rest[..a].ends_with('\\')
            && digits > 0
            && after[..digits].bytes().any(|b| b.is_ascii_digit())
            && after[digits..]
                .bytes()
                .next()
                .is_none_or(|b| matches!(b, b' ' | b'}' | b')'));
        if field {
            out.push_str(&rest[..a]);
            rest = &after[digits..];
        } else {
            out.push_str(&rest[..a + FIELD.len()]);
            rest = after;
        }
        at = find(rest);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The distinct trees of `trees` (by [`without_locations`]), and for each tree the position
/// of its distinct one.
fn distinct<'a>(trees: impl Iterator<Item = &'a str>) -> (Vec<Cow<'a, str>>, Vec<usize>) {
    let mut positions: HashMap<Cow<'a, str>, usize> = HashMap::default();
    let of: Vec<usize> = trees
        .map(|t| {
            let n = positions.len();
            *positions.entry(without_locations(t)).or_insert(n)
        })
        .collect();
    let mut texts = vec![Cow::Borrowed(""); positions.len()];
    for (text, n) in positions {
        texts[n] = text;
    }
    (texts, of)
}

/// Each distinct tree of `texts` printed by `expr_text` (None: left to the server); one query
/// for the names the trees use.
async fn print_trees(
    c: &mut PgConnection,
    texts: &[Cow<'_, str>],
) -> Result<Vec<Option<Vec<expr_text::Piece>>>, sqlx::Error> {
    let parsed: Vec<Option<expr_text::Value<'_>>> =
        texts.iter().map(|t| expr_text::parse(t)).collect();
    let trees: Vec<&expr_text::Value<'_>> = parsed.iter().flatten().collect();
    let (procs, operators, types) = expr_text::wanted(&trees);
    let lookups = catalog::expression_lookups(&mut *c, &procs, &operators, &types).await?;
    Ok(parsed
        .iter()
        .map(|t| expr_text::print(t.as_ref()?, &lookups))
        .collect())
}

/// Index expressions and predicates: printed from their trees where `expr_text` can (with
/// the column names left open until [`constraint_definitions`] has them quoted), by the
/// server otherwise. A constant number of queries: the names the trees use, and the
/// server's text for the rest.
async fn index_expressions(
    c: &mut PgConnection,
    indexes: &mut [catalog::Index],
) -> Result<HashMap<i64, build::IndexText>, sqlx::Error> {
    let with_trees: Vec<&catalog::Index> = indexes
        .iter()
        .filter(|i| i.expression_tree.is_some() || i.predicate_tree.is_some())
        .collect();
    let (texts, of) = distinct(
        with_trees
            .iter()
            .flat_map(|i| [&i.expression_tree, &i.predicate_tree])
            .filter_map(|t| t.as_deref()),
    );
    let printed = print_trees(&mut *c, &texts).await?;
    drop(texts);
    let mut of = of.into_iter();
    // None: left to the server; Some(None): no tree.
    let mut print = |t: &Option<String>| match t {
        None => Some(None),
        Some(_) => printed[of.next()?].clone().map(Some),
    };
    let mut out = HashMap::default();
    let mut server = Vec::new();
    for i in &with_trees {
        // Both in order: each takes its tree's position.
        let (e, p) = (print(&i.expression_tree), print(&i.predicate_tree));
        match (e, p) {
            (Some(e), Some(p)) => {
                out.insert(i.oid, [e, p]);
            }
            _ => server.push(i.oid),
        }
    }
    drop(with_trees);
    server_index_expressions(c, indexes, &server).await?;
    Ok(out)
}

/// Column defaults and generation expressions, as [`index_expressions`] does for indexes:
/// printed from their trees where `expr_text` can (returned, by default oid; their text in
/// `attrdefs` is left empty until [`constraint_definitions`] joins in the names), the server's
/// text in `attrdefs` otherwise. `pg_get_expr` looks up the name of every sequence a
/// `nextval('…'::regclass)` default names (a cold cache on a large catalog).
async fn default_expressions(
    c: &mut PgConnection,
    attrdefs: &mut [(i64, i64, i32, String)],
) -> Result<HashMap<i64, Vec<expr_text::Piece>>, sqlx::Error> {
    let (texts, of) = distinct(attrdefs.iter().map(|(.., tree)| tree.as_str()));
    let printed = print_trees(&mut *c, &texts).await?;
    drop(texts);
    let mut out = HashMap::with_capacity_and_hasher(attrdefs.len(), Default::default());
    let mut server = Vec::new();
    for (d, n) in attrdefs.iter_mut().zip(of) {
        d.3.clear();
        match &printed[n] {
            Some(p) => {
                out.insert(d.0, p.clone());
            }
            None => server.push(d.0),
        }
    }
    server_defaults(c, attrdefs, &server).await?;
    Ok(out)
}

/// Fills in the server's text of the given defaults.
async fn server_defaults(
    c: &mut PgConnection,
    attrdefs: &mut [(i64, i64, i32, String)],
    oids: &[i64],
) -> Result<(), sqlx::Error> {
    if oids.is_empty() {
        return Ok(());
    }
    let mut texts: HashMap<i64, String> =
        catalog::attrdef_texts(c, oids).await?.into_iter().collect();
    for d in attrdefs {
        if let Some(t) = texts.remove(&d.0) {
            d.3 = t;
        }
    }
    Ok(())
}

/// Fills in the server's text of the given indexes' expressions and predicates.
async fn server_index_expressions(
    c: &mut PgConnection,
    indexes: &mut [catalog::Index],
    oids: &[i64],
) -> Result<(), sqlx::Error> {
    if oids.is_empty() {
        return Ok(());
    }
    let texts: HashMap<i64, (Option<String>, Option<String>)> = catalog::index_expressions(c, oids)
        .await?
        .into_iter()
        .map(|(oid, e, p)| (oid, (e, p)))
        .collect();
    for i in indexes {
        if let Some((e, p)) = texts.get(&i.oid) {
            i.expressions.clone_from(e);
            i.predicate.clone_from(p);
        }
    }
    Ok(())
}

/// Completes the definitions of primary keys, unique constraints and foreign keys from the
/// rows read (see `constraint_text`), and the index expressions and defaults printed in Rust
/// with their column and relation names, quoted as the server quotes them (`quote`); the
/// server's text for any whose names were not read.
async fn constraint_definitions(
    c: &mut PgConnection,
    cat: &mut Catalog,
) -> Result<(), sqlx::Error> {
    let names_of = constraint_text::Names::new(cat);
    let columns = &names_of.columns;
    let quoter = &cat.quoter;
    let namespaces: HashMap<i64, &str> = cat
        .namespaces
        .iter()
        .map(|n| (n.oid, n.name.as_str()))
        .collect();
    // A relation a `regclass` constant names: (schema, name). A `pg_catalog` one would print
    // unqualified: left to the server.
    let relations: HashMap<i64, (&str, &str)> = cat
        .classes
        .iter()
        .filter(|r| r.namespace != catalog::PG_CATALOG)
        .filter_map(|r| Some((r.oid, (*namespaces.get(&r.namespace)?, r.name.as_str()))))
        .collect();
    // As `regclassout` prints it inside a literal (quotes doubled; a backslash, whose
    // doubling depends on `standard_conforming_strings`, is left to the server).
    let relation = |oid: i64| {
        let (schema, name) = relations.get(&oid)?;
        let text = format!("{}.{}", quoter.quote(schema), quoter.quote(name));
        (!text.contains('\\')).then(|| text.replace('\'', "''"))
    };
    let mut unprinted = Vec::new();
    let printed: Vec<(usize, Option<[Option<String>; 2]>)> = cat
        .indexes
        .iter()
        .enumerate()
        .filter_map(|(n, i)| {
            let texts = cat.index_texts.get(&i.oid)?;
            let column = |num: i32| Some(quoter.quote(columns.get(&(i.rel, num))?).into_owned());
            let join = |t: &Option<Vec<expr_text::Piece>>| match t {
                None => Some(None),
                Some(p) => expr_text::join(p, column, relation).map(Some),
            };
            Some((n, join(&texts[0]).zip(join(&texts[1])).map(|(e, p)| [e, p])))
        })
        .collect();
    let defaults: Vec<(usize, Option<String>)> = cat
        .attrdefs
        .iter()
        .enumerate()
        .filter_map(|(n, (oid, rel, ..))| {
            let pieces = cat.attrdef_texts.get(oid)?;
            let column = |num: i32| Some(quoter.quote(columns.get(&(*rel, num))?).into_owned());
            Some((n, expr_text::join(pieces, column, relation)))
        })
        .collect();
    let constraint_texts = constraint_text::texts(cat, &names_of, quoter);
    drop(names_of);
    drop(relations);
    for (n, texts) in printed {
        match texts {
            Some([e, p]) => {
                cat.indexes[n].expressions = e;
                cat.indexes[n].predicate = p;
            }
            None => unprinted.push(cat.indexes[n].oid),
        }
    }
    server_index_expressions(&mut *c, &mut cat.indexes, &unprinted).await?;
    let mut unprinted = Vec::new();
    for (n, text) in defaults {
        match text {
            Some(t) => cat.attrdefs[n].3 = t,
            None => unprinted.push(cat.attrdefs[n].0),
        }
    }
    server_defaults(&mut *c, &mut cat.attrdefs, &unprinted).await?;
    let missing = constraint_text::fill(cat, constraint_texts);
    if !missing.is_empty() {
        let texts: HashMap<i64, String> = catalog::constraint_definitions(&mut *c, &missing)
            .await?
            .into_iter()
            .collect();
        for k in &mut cat.constraints {
            if let Some(t) = texts.get(&k.oid) {
                k.definition.clone_from(t);
            }
        }
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
    let mut cat = worker(&mut *c, Read { version, opts }, &AtomicUsize::new(0)).await?;
    constraint_definitions(&mut *c, &mut cat).await?;
    catalog::set_settings(&mut *c, &previous).await?;
    Ok(timed!("build", build::build(&cat, opts)))
}

/// Reads the whole schema over `a` and `others` at once, all in one exported MVCC snapshot so
/// the parts agree (the way pg_dump's parallel mode does it), each connection taking the next
/// job when it is free. `others` are closed after it; their jobs run as tasks of their own, so
/// their rows decode on other cores.
pub(crate) async fn snapshot_parallel(
    a: &mut PgConnection,
    mut others: Vec<PgConnection>,
    opts: SnapshotOptions,
) -> Result<Schema, sqlx::Error> {
    let version = match share_snapshot(a, &mut others).await {
        Ok(v) => v,
        Err(e) => {
            end_all(a, others).await;
            return Err(e);
        }
    };
    let read = Read { version, opts };
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = others
        .into_iter()
        .map(|mut conn| {
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let r = worker(&mut conn, read, &next).await;
                (conn, r)
            })
        })
        .collect();
    let mut cat = worker(&mut *a, read, &next).await;
    let mut conns = Vec::with_capacity(tasks.len());
    for task in tasks {
        match task.await {
            Ok((conn, r)) => {
                conns.push(conn);
                cat = match (cat, r) {
                    (Ok(mut cat), Ok(part)) => {
                        cat.merge(part);
                        Ok(cat)
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
            // A worker panicked; its connection went with it.
            Err(_) => cat = Err(sqlx::Error::WorkerCrashed),
        }
    }
    let joined = match cat {
        Ok(mut cat) => timed!(
            "constraint_definitions",
            constraint_definitions(&mut *a, &mut cat).await
        )
        .map(|()| cat),
        Err(e) => Err(e),
    };
    end_all(a, conns).await;
    let cat = joined?;
    let schema = timed!("build", build::build(&cat, opts));
    // Freeing the rows (tens of thousands of strings) is left to a thread of its own; without
    // one, here.
    let _ = std::thread::Builder::new().spawn(move || drop(cat));
    Ok(schema)
}

/// Starts a read-only transaction on each connection in the snapshot exported by the first,
/// and pins the settings; returns the server version.
async fn share_snapshot(
    a: &mut PgConnection,
    others: &mut [PgConnection],
) -> Result<i32, sqlx::Error> {
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *a)
        .await?;
    let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *a)
        .await?;
    for conn in others.iter_mut() {
        sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *conn)
            .await?;
        // The id comes from the server and is a plain token; bind parameters are not allowed here.
        let set = format!("SET TRANSACTION SNAPSHOT '{}'", id.replace('\'', ""));
        sqlx::raw_sql(sqlx::AssertSqlSafe(set))
            .execute(&mut *conn)
            .await?;
    }
    let version = catalog::pin_settings(&mut *a).await?.0;
    for conn in others.iter_mut() {
        catalog::pin_settings(conn).await?;
    }
    Ok(version)
}

/// Ends the read-only transaction on `a` and closes the other connections.
async fn end_all(a: &mut PgConnection, others: impl IntoIterator<Item = PgConnection>) {
    let _ = sqlx::raw_sql("COMMIT").execute(&mut *a).await;
    for conn in others {
        let _ = sqlx::Connection::close(conn).await;
    }
}
