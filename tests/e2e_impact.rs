//! Impact analysis through the operator: a change that rewrites an existing table of tens of
//! thousands of rows shows, in `status.review.impacts`, the lock, the rewrite and the table's
//! size read from the live database, and its risk is at least MODERATE; a table the change
//! creates itself costs nothing and is not listed. The live review rules (dry run, affected
//! rows) run in the same review.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_support;

use e2e_support::{Env, PgTarget, change};

/// The operator on a fresh PostgreSQL database loaded with `setup`, its base manifests applied
/// (instance `pg`, project `x`) and the instance Ready.
async fn ready_instance(setup: &str) -> (Env, PgTarget) {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql(setup).unwrap();
    env.apply(&pg.base_manifests("x")).await.unwrap();
    env.wait("databaseinstance/pg", "condition=Ready")
        .await
        .unwrap();
    (env, pg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_review_in_status_names_the_lock_the_rewrite_and_the_table_size() {
    let (env, pg) = ready_instance(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 50000) g;
         ANALYZE orders;",
    )
    .await;
    env.apply(&change(
        "widen",
        "1",
        "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;\n\
         CREATE TABLE audit (id bigint PRIMARY KEY);\n\
         CREATE INDEX audit_id ON audit (id);",
    ))
    .await
    .unwrap();
    // The default preset refuses type changes (column.disallow-change-type), so the change
    // ends in ReviewFailed; the review is in status either way.
    env.wait_jsonpath("schemachange/widen", "{.status.review.statements}", "3")
        .await
        .unwrap();
    let json = env.get_json("schemachange/widen").await.unwrap();
    let review = &json["status"]["review"];
    let impacts = review["impacts"]
        .as_array()
        .unwrap_or_else(|| panic!("{json:#}"));
    assert_eq!(impacts.len(), 1, "only the existing table: {json:#}");
    let i = &impacts[0];
    assert_eq!(i["table"], "orders", "{i:#}");
    assert_eq!(i["lock"], "ACCESS EXCLUSIVE", "{i:#}");
    assert_eq!(i["rewrite"], true, "{i:#}");
    assert!(i["rows"].as_u64().unwrap() >= 49_000, "{i:#}");
    assert!(i["bytes"].as_u64().unwrap() > 1_000_000, "{i:#}");
    assert!(i["message"].as_str().unwrap().contains("50k rows"), "{i:#}");
    assert_ne!(review["risk"], "LOW", "{json:#}");
    // Nothing ran: the review only reads statistics and the catalog.
    assert_eq!(
        pg.psql("SELECT data_type FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'amount'")
            .unwrap()
            .trim(),
        "integer"
    );
}

/// A `CREATE INDEX CONCURRENTLY` on a table of 3 M rows runs for several seconds: while it runs
/// `status.progress` names the statement, the build's phase and a percentage (from
/// `pg_stat_progress_create_index`, read on a second session), `kubectl get` shows it in the
/// Progress column, writes are spaced (at most one per 4 s), and when the change is Applied no
/// progress is left. Then a two-statement change in one transaction (the executor sends it as
/// one message) names its second statement while that one builds an index.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_index_build_reports_its_progress_in_status_until_it_ends() {
    let (env, pg) = ready_instance(
        "CREATE TABLE events (id int, k text);
         INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 3000000) g;
         ANALYZE events;",
    )
    .await;
    // The expression makes the table scan, the phase that reports blocks, take seconds.
    let seen = progress_of(
        &env,
        "index",
        "1",
        "CREATE INDEX CONCURRENTLY events_digest ON events (md5(md5(k)));",
    )
    .await;
    let with_percent = seen
        .iter()
        .filter_map(|(_, p)| p.get("indexBuild"))
        .find(|b| b["percent"].as_u64().is_some_and(|p| p > 0))
        .unwrap_or_else(|| panic!("no index progress with a percentage: {seen:#?}"));
    assert_eq!(with_percent["command"], "CREATE INDEX CONCURRENTLY");
    assert!(!with_percent["phase"].as_str().unwrap().is_empty());
    assert!(
        with_percent["total"].as_u64().unwrap() > 0,
        "{with_percent}"
    );
    for (_, p) in &seen {
        assert_eq!(
            (p["statement"].as_u64(), p["statements"].as_u64()),
            (Some(1), Some(1))
        );
    }
    assert_eq!(
        pg.psql("SELECT indisvalid FROM pg_index WHERE indexrelid = 'events_digest'::regclass")
            .unwrap()
            .trim(),
        "t"
    );

    let seen = progress_of(
        &env,
        "batch",
        "2",
        "CREATE TABLE audit (id int PRIMARY KEY);\nCREATE INDEX events_digest3 ON events (md5(md5(md5(k))));",
    )
    .await;
    let building = seen
        .iter()
        .map(|(_, p)| p)
        .find(|p| p.get("indexBuild").is_some())
        .unwrap_or_else(|| panic!("no index progress: {seen:#?}"));
    assert_eq!(
        (
            building["statement"].as_u64(),
            building["statements"].as_u64(),
            building["line"].as_u64()
        ),
        (Some(2), Some(2), Some(2)),
        "{building:#}"
    );
    assert_eq!(building["indexBuild"]["command"], "CREATE INDEX");
    assert!(
        building["summary"].as_str().unwrap().starts_with("2/2 "),
        "{building:#}"
    );
}

/// Applies and approves change `name` and reads it every 200 ms until it is Applied; returns
/// each distinct `status.progress` seen, with when. Checks what holds for every run: the
/// `kubectl get` column, spaced writes, and no progress once applied, nor later.
async fn progress_of(
    env: &Env,
    name: &str,
    version: &str,
    sql: &str,
) -> Vec<(std::time::Duration, serde_json::Value)> {
    use schemagate::api::SchemaChange;
    env.apply(&change(name, version, sql)).await.unwrap();
    let reviewed = env.reviewed(name).await.unwrap();
    env.apply(&e2e_support::approval(
        &format!("ok-{name}"),
        name,
        &reviewed,
        "approve",
    ))
    .await
    .unwrap();
    let api: kube::Api<SchemaChange> = kube::Api::namespaced(env.client.clone(), &env.ns);
    let started = std::time::Instant::now();
    let mut seen: Vec<(std::time::Duration, serde_json::Value)> = Vec::new();
    let mut column_checked = false;
    let (mut first_applying, mut last_applying) = (None, None);
    loop {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(180),
            "not applied in time; progress seen: {seen:#?}"
        );
        let status = api.get(name).await.unwrap().status.unwrap_or_default();
        let phase = status.phase.map(|p| p.as_str());
        if phase == Some("Applying") {
            first_applying.get_or_insert(started.elapsed());
            last_applying = Some(started.elapsed());
        }
        if let Some(progress) = &status.progress {
            let value = serde_json::to_value(progress).unwrap();
            if seen.last().is_none_or(|(_, v)| v != &value) {
                seen.push((started.elapsed(), value));
            }
            if !column_checked && progress.index_build.is_some() {
                let table = env
                    .kubectl_async(&["get", "schemachange", name])
                    .await
                    .unwrap();
                assert!(
                    table.lines().next().unwrap().contains("PROGRESS"),
                    "{table}"
                );
                let row = table.lines().nth(1).unwrap();
                // Unless the build ended meanwhile, the row shows it.
                if api
                    .get(name)
                    .await
                    .unwrap()
                    .status
                    .unwrap()
                    .progress
                    .is_some()
                {
                    assert!(row.contains(" index "), "{table}");
                }
                column_checked = true;
            }
        }
        if phase.is_some_and(|p| p != "Applying" && p != "Approved" && p != "AwaitingApproval") {
            assert_eq!(phase, Some("Applied"), "{status:#?}");
            assert_eq!(status.progress, None, "no progress once applied");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let applying = last_applying.unwrap_or_default() - first_applying.unwrap_or_default();
    eprintln!(
        "{name}: Applying for {:.1} s, {} progress writes seen: {seen:#?}",
        applying.as_secs_f64(),
        seen.len(),
    );
    assert!(!seen.is_empty(), "no progress seen for {name}");
    // Spaced writes: distinct progress values at least ~4 s apart (read every 200 ms, so a
    // write can be seen up to one read late).
    for pair in seen.windows(2) {
        let gap = pair[1].0 - pair[0].0;
        assert!(gap >= std::time::Duration::from_millis(3_500), "{seen:#?}");
    }
    // Nothing comes late: still no progress after another poll and write period.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let status = api.get(name).await.unwrap().status.unwrap();
    assert_eq!(status.progress, None);
    seen
}

/// A Project with `spec.review.verify` checks the review's impact prediction on the database
/// during the review, on instances of the listed non-production environments only: what the
/// server did agrees with the prediction, nothing stays changed (the transaction is rolled
/// back), a statement that cannot run in a transaction leaves the verification incomplete, and
/// a listed environment that reads as production is skipped with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_verifies_the_prediction_on_non_production_instances_only() {
    let env = Env::start().await.unwrap();
    let pg = PgTarget::fresh().unwrap();
    pg.psql(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int, note text);
         INSERT INTO orders SELECT g, g, 'n' FROM generate_series(1, 20000) g;
         ANALYZE orders;",
    )
    .unwrap();
    let base = pg.base_manifests("x");
    // The same database as a dev instance and as a prod one; the project verifies both names.
    let prod_instance = base
        .split("---\n")
        .find(|doc| doc.contains("kind: DatabaseInstance"))
        .unwrap()
        .replace("name: pg\n", "name: pgprod\n");
    let manifests = format!(
        "{}---\n{prod_instance}",
        base.replace("environment: prod", "environment: dev")
            .replace("instances: [pg]", "instances: [pg, pgprod]")
            .replace(
                "    preset: default\n",
                "    preset: default\n    verify:\n      environments: [dev, prod]\n"
            )
    );
    env.apply(&manifests).await.unwrap();
    for instance in ["pg", "pgprod"] {
        env.wait(&format!("databaseinstance/{instance}"), "condition=Ready")
            .await
            .unwrap();
    }
    env.apply(&change(
        "checked",
        "1",
        "ALTER TABLE orders ADD COLUMN flag boolean DEFAULT false;\n\
         ALTER TABLE orders ALTER COLUMN amount SET NOT NULL;\n\
         CREATE INDEX orders_amount ON orders (amount);",
    ))
    .await
    .unwrap();
    env.wait_jsonpath(
        "schemachange/checked",
        "{.status.review.verification.outcome}",
        "Agreed",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/checked").await.unwrap();
    let verification = &json["status"]["review"]["verification"];
    assert_eq!(verification["checked"], 3, "{verification:#}");
    assert!(verification.get("statements").is_none(), "{verification:#}");
    assert!(
        verification["message"]
            .as_str()
            .unwrap()
            .contains("3 statement(s) with an impact checked"),
        "{verification:#}"
    );
    // Rolled back: the column, the constraint and the index are not there.
    assert_eq!(
        pg.psql(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'flag'"
        )
        .unwrap()
        .trim(),
        "0"
    );
    assert_eq!(
        pg.psql("SELECT to_regclass('orders_amount') IS NULL")
            .unwrap()
            .trim(),
        "t"
    );

    env.apply(&change(
        "concurrent",
        "2",
        "ALTER TABLE orders ALTER COLUMN note SET NOT NULL;\n\
         CREATE INDEX CONCURRENTLY orders_note ON orders (note);",
    ))
    .await
    .unwrap();
    env.wait_jsonpath(
        "schemachange/concurrent",
        "{.status.review.verification.outcome}",
        "Incomplete",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/concurrent").await.unwrap();
    let verification = &json["status"]["review"]["verification"];
    assert_eq!(verification["checked"], 1, "{verification:#}");
    let refused = &verification["statements"][0];
    assert_eq!(
        (refused["statement"].as_u64(), refused["line"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("transaction block"),
        "{verification:#}"
    );

    let on_prod = change("on-prod", "1", "ALTER TABLE orders ADD COLUMN gone int;")
        .replace("instanceRef: pg\n", "instanceRef: pgprod\n");
    env.apply(&on_prod).await.unwrap();
    env.wait_jsonpath(
        "schemachange/on-prod",
        "{.status.review.verification.outcome}",
        "Skipped",
    )
    .await
    .unwrap();
    let json = env.get_json("schemachange/on-prod").await.unwrap();
    let verification = &json["status"]["review"]["verification"];
    assert!(
        verification["message"]
            .as_str()
            .unwrap()
            .contains("\"prod\" reads as production"),
        "{verification:#}"
    );
    assert_eq!(verification["checked"], 0);
}

/// The rules that need the live database run in the operator's review: a DML statement the
/// server cannot plan fails the dry run (an error in every preset), an UPDATE whose EXPLAIN
/// estimate is over the limit is reported, and nothing is executed by the review.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_dry_runs_dml_and_estimates_affected_rows() {
    let (env, pg) = ready_instance(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 20000) g;
         ANALYZE orders;",
    )
    .await;
    env.apply(&change(
        "fixup",
        "1",
        "UPDATE orders SET amount = 0 WHERE id > 10;\n\
         UPDATE order_lines SET amount = 0 WHERE id = 1;",
    ))
    .await
    .unwrap();
    env.wait_jsonpath("schemachange/fixup", "{.status.phase}", "ReviewFailed")
        .await
        .unwrap();
    let json = env.get_json("schemachange/fixup").await.unwrap();
    let review = &json["status"]["review"];
    let findings = review["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("{json:#}"));
    let of = |rule: &str| {
        findings
            .iter()
            .filter(|f| f["rule"] == rule)
            .map(|f| {
                (
                    f["line"].as_u64().unwrap(),
                    f["level"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of("statement.dml-dry-run"),
        [(2, "error".to_owned())],
        "{json:#}"
    );
    assert_eq!(
        of("statement.affected-row-limit"),
        [(1, "warning".to_owned())],
        "{json:#}"
    );
    assert!(review.get("notEvaluated").is_none(), "{json:#}");
    assert_eq!(
        pg.psql("SELECT count(*) FROM orders WHERE amount = 0")
            .unwrap()
            .trim(),
        "0"
    );
}
