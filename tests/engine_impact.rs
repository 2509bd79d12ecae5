//! The impact model (review::impact) checked against real servers, form by form.
//!
//! PostgreSQL: each statement runs in a transaction that is rolled back; the locks it holds
//! (`pg_locks`), whether the table got a new file (`relfilenode`) and whether it was scanned
//! (`pg_stat_xact_user_tables.seq_scan`) are compared with the model's prediction.
//! MariaDB: each ALTER is tried on a fresh copy with `ALGORITHM=INSTANT|NOCOPY|INPLACE|COPY`
//! and `LOCK=NONE|SHARED`, which the server refuses when it cannot honour them; the cheapest
//! accepted pair is compared with the model's.
//! Both must agree on at least 95% of the forms; the disagreements are printed.
//! Also: on a table of over a million rows (estimated by ANALYZE; 1.2 M loaded for margin) a rewrite is HIGH risk with the size in the finding, and
//! its safe alternative is not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemagate::engine::stats;
use schemagate::engine::{ConnectionConfig, Session};
use schemagate::review::catalog::{Server, TableSize};
use schemagate::review::impact::{self, Algorithm, Impact, Lock, verify};
use schemagate::review::{Catalog, Engine, Policy, Risk, review};
use schemagate_testkit::{fresh_mysql_database, fresh_pg_database};
use sqlparser::ast::ObjectName;

fn model(engine: Engine, catalog: &Catalog, sql: &str) -> Vec<Impact> {
    let none = |_: &ObjectName| false;
    let ctx = impact::Context {
        engine,
        server: catalog.server().unwrap_or_else(|| Server::assumed(engine)),
        catalog,
        is_new: &none,
    };
    let dialect: Box<dyn sqlparser::dialect::Dialect> = match engine {
        Engine::Postgres => Box::new(sqlparser::dialect::PostgreSqlDialect {}),
        _ => Box::new(sqlparser::dialect::MySqlDialect {}),
    };
    match sqlparser::parser::Parser::parse_sql(dialect.as_ref(), sql) {
        Ok(stmts) => stmts
            .iter()
            .flat_map(|s| impact::analyze(&ctx, s))
            .collect(),
        Err(_) => impact::analyze_text(&ctx, sql),
    }
}

async fn catalog_of(cfg: &ConnectionConfig, engine: Engine) -> Catalog {
    let schema = schemagate::engine::introspect::snapshot_database(cfg)
        .await
        .unwrap();
    let mut catalog = Catalog::from_ddl(engine, &schema.canonical_ddl()).unwrap();
    let mut s = Session::connect(cfg).await.unwrap();
    let st = stats::database_stats(&mut s).await.unwrap();
    s.close().await;
    catalog.add_live_stats(
        &st.version,
        st.tables.iter().map(|t| {
            let size = TableSize {
                rows: t.rows,
                bytes: t.bytes,
            };
            (t.schema.as_str(), t.name.as_str(), size)
        }),
    );
    catalog
}

const PG_SETUP: &str = "
CREATE TABLE big (id int PRIMARY KEY, v int, name varchar(20), n numeric(10,2), t text);
ALTER TABLE big ADD CONSTRAINT big_v_pos CHECK (v > 0) NOT VALID;
CREATE INDEX big_name ON big (name);
CREATE TABLE child (id int PRIMARY KEY, big_id int);
CREATE TABLE part (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE part_1 PARTITION OF part FOR VALUES FROM (0) TO (100);
CREATE TABLE loose (id int, k int);
CREATE MATERIALIZED VIEW mv AS SELECT id FROM big;
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
INSERT INTO big SELECT g, g, 'n' || g, g, 't' FROM generate_series(1, 200) g;
INSERT INTO child SELECT g, g FROM generate_series(1, 100) g;
INSERT INTO loose SELECT g, 100 + g FROM generate_series(1, 50) g;
ANALYZE;
";

/// Every PostgreSQL form the model knows that can run inside a transaction.
const PG_FORMS: &[&str] = &[
    "ALTER TABLE big ADD COLUMN c int",
    "ALTER TABLE big ADD COLUMN c int DEFAULT 5",
    "ALTER TABLE big ADD COLUMN c timestamptz DEFAULT now()",
    "ALTER TABLE big ADD COLUMN c uuid DEFAULT gen_random_uuid()",
    "ALTER TABLE big ADD COLUMN c double precision DEFAULT random()",
    "ALTER TABLE big ADD COLUMN c bigserial",
    "ALTER TABLE big ADD COLUMN c int GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE big ADD COLUMN c int GENERATED ALWAYS AS (v * 2) STORED",
    "ALTER TABLE big ADD COLUMN c int UNIQUE",
    "ALTER TABLE big ADD COLUMN c int CHECK (c > 0)",
    "ALTER TABLE big ADD COLUMN c int NOT NULL DEFAULT 0",
    "ALTER TABLE big ADD COLUMN c int REFERENCES child (id)",
    "ALTER TABLE big DROP COLUMN t",
    "ALTER TABLE big RENAME COLUMN t TO t2",
    "ALTER TABLE big RENAME TO big2",
    "ALTER TABLE big ALTER COLUMN v SET DEFAULT 1",
    "ALTER TABLE big ALTER COLUMN v DROP DEFAULT",
    "ALTER TABLE big ALTER COLUMN v SET NOT NULL",
    "ALTER TABLE big ALTER COLUMN v DROP NOT NULL",
    "ALTER TABLE big ALTER COLUMN v TYPE bigint",
    "ALTER TABLE big ALTER COLUMN name TYPE varchar(40)",
    "ALTER TABLE big ALTER COLUMN name TYPE text",
    "ALTER TABLE big ALTER COLUMN name TYPE varchar(10)",
    "ALTER TABLE big ALTER COLUMN n TYPE numeric(12,2)",
    "ALTER TABLE big ALTER COLUMN n TYPE numeric(12,4)",
    "ALTER TABLE big ALTER COLUMN t TYPE varchar",
    "ALTER TABLE big ALTER COLUMN n TYPE text USING n::text",
    "ALTER TABLE big ADD CONSTRAINT c1 CHECK (v > -1)",
    "ALTER TABLE big ADD CONSTRAINT c1 CHECK (v > -1) NOT VALID",
    "ALTER TABLE big VALIDATE CONSTRAINT big_v_pos",
    "ALTER TABLE big ADD CONSTRAINT u1 UNIQUE (name)",
    "ALTER TABLE child ADD CONSTRAINT fk FOREIGN KEY (big_id) REFERENCES big (id)",
    "ALTER TABLE child ADD CONSTRAINT fk FOREIGN KEY (big_id) REFERENCES big (id) NOT VALID",
    "ALTER TABLE big DROP CONSTRAINT big_v_pos",
    "ALTER TABLE big SET (fillfactor = 70)",
    "ALTER TABLE big SET UNLOGGED",
    "ALTER TABLE big ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE big REPLICA IDENTITY FULL",
    "ALTER TABLE big ALTER COLUMN v SET STATISTICS 200",
    "ALTER TABLE big CLUSTER ON big_name",
    "ALTER TABLE part ATTACH PARTITION loose FOR VALUES FROM (100) TO (200)",
    "ALTER TABLE part DETACH PARTITION part_1",
    "ALTER TABLE loose ADD PRIMARY KEY (id)",
    "ALTER TABLE child ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE big OWNER TO CURRENT_USER",
    "CREATE INDEX i1 ON big (v)",
    "CREATE UNIQUE INDEX i1 ON big (id, v)",
    "DROP INDEX big_name",
    "DROP TABLE child",
    "TRUNCATE child",
    "CREATE TRIGGER tr BEFORE INSERT ON big FOR EACH ROW EXECUTE FUNCTION f()",
    "ALTER TABLE big DISABLE TRIGGER ALL",
    "COMMENT ON TABLE big IS 'x'",
    "COMMENT ON COLUMN big.v IS 'x'",
    "CLUSTER big USING big_name",
    "REINDEX TABLE big",
    "REFRESH MATERIALIZED VIEW mv",
    "CREATE POLICY p ON big USING (true)",
    "LOCK TABLE big IN SHARE MODE",
];

/// NOT VALID constraints (a check, a foreign key, a domain's check) are in the snapshot as
/// `ALTER … ADD CONSTRAINT … NOT VALID` after the tables, which the review's catalog reads: the
/// review gets its live catalog, and a rule that needs the live schema fires on such a database.
#[tokio::test]
async fn not_valid_constraints_leave_the_review_its_live_catalog() {
    let url = fresh_pg_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec(
        "CREATE TABLE t (id int, v int, CONSTRAINT t_pk PRIMARY KEY (id));
         ALTER TABLE t ADD CONSTRAINT t_v_pos CHECK (v > 0) NOT VALID;
         CREATE TABLE u (id int PRIMARY KEY, t_id int);
         ALTER TABLE u ADD CONSTRAINT u_t FOREIGN KEY (t_id) REFERENCES t (id) NOT VALID;
         CREATE DOMAIN pos AS int;
         ALTER DOMAIN pos ADD CONSTRAINT pos_check CHECK (VALUE > 0) NOT VALID;",
    )
    .await
    .unwrap();
    s.close().await;
    let ddl = schemagate::engine::introspect::snapshot_database(&cfg)
        .await
        .unwrap()
        .canonical_ddl();
    assert_eq!(ddl.matches("NOT VALID").count(), 3, "{ddl}");
    // The operator's and `schemagate review --url`'s way to the live catalog.
    let catalog = schemagate::controller::live_schema::catalog(&cfg)
        .await
        .unwrap();
    assert_eq!(catalog.table_count(), 2);
    let sql = "ALTER TABLE t DROP CONSTRAINT t_pk;";
    let rules = |catalog: Option<&Catalog>| -> Vec<String> {
        review(
            sql,
            Engine::Postgres,
            &Policy::preset("default").unwrap(),
            catalog,
        )
        .findings
        .into_iter()
        .map(|f| f.rule)
        .collect()
    };
    assert!(
        rules(Some(&catalog)).contains(&"table.require-pk".to_owned()),
        "{:?}",
        rules(Some(&catalog))
    );
    assert!(!rules(None).contains(&"table.require-pk".to_owned()));
}

#[tokio::test]
async fn postgres_model_agrees_with_the_server_on_95_percent_of_forms() {
    let url = fresh_pg_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec(PG_SETUP).await.unwrap();
    s.close().await;
    let catalog = catalog_of(&cfg, Engine::Postgres).await;
    let mut s = Session::connect(&cfg).await.unwrap();
    let Session::Pg(conn) = &mut s else {
        unreachable!()
    };
    let mut disagreements = Vec::new();
    for sql in PG_FORMS {
        let predicted = model(Engine::Postgres, &catalog, sql);
        let seen = stats::observe_pg(conn, sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {}", schemagate::engine::error_chain(&e)));
        if let Some(d) = verify::disagreement(
            sql,
            &predicted,
            &schemagate::controller::live_schema::observed(&seen),
        ) {
            disagreements.push(format!("{sql}: {d}"));
        }
    }
    s.close().await;
    report_agreement("PostgreSQL", PG_FORMS.len(), &disagreements);
}

fn report_agreement(engine: &str, forms: usize, disagreements: &[String]) {
    let agree = forms - disagreements.len();
    eprintln!(
        "{engine}: the model agrees with the server on {agree}/{forms} forms ({:.1}%)",
        100.0 * agree as f64 / forms as f64
    );
    for d in disagreements {
        eprintln!("  differs: {d}");
    }
    assert!(
        agree * 100 >= forms * 95,
        "{engine}: agreement below 95%:\n{}",
        disagreements.join("\n")
    );
}

const MY_SETUP: &str = "
DROP TABLE IF EXISTS child, big, big2, nopk;
CREATE TABLE big (id int PRIMARY KEY, v int, name varchar(20) NOT NULL, t text,
  KEY big_name (name), CONSTRAINT ck CHECK (v > -5)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO big VALUES (1, 1, 'a', 't'), (2, 2, 'b', 't');
CREATE TABLE child (id int PRIMARY KEY, big_id int, KEY child_big (big_id)) ENGINE=InnoDB;
INSERT INTO child VALUES (1, 1);
CREATE TABLE nopk (id int NOT NULL, v int) ENGINE=InnoDB;
";

/// MariaDB forms: each is an ALTER (or CREATE/DROP INDEX) that accepts ALGORITHM= and LOCK=.
const MY_FORMS: &[&str] = &[
    "ALTER TABLE big ADD COLUMN c int",
    "ALTER TABLE big ADD COLUMN c int FIRST",
    "ALTER TABLE big ADD COLUMN c int NOT NULL DEFAULT 3",
    "ALTER TABLE big ADD COLUMN c int AUTO_INCREMENT UNIQUE",
    "ALTER TABLE big ADD COLUMN c int AS (v * 2) STORED",
    "ALTER TABLE big ADD COLUMN c int AS (v * 2) VIRTUAL",
    "ALTER TABLE big ADD COLUMN c int UNIQUE",
    "ALTER TABLE big DROP COLUMN t",
    "ALTER TABLE big DROP COLUMN name",
    "ALTER TABLE big RENAME COLUMN t TO t2",
    "ALTER TABLE big CHANGE t t2 text",
    "ALTER TABLE big RENAME TO big2",
    "ALTER TABLE big ALTER COLUMN v SET DEFAULT 1",
    "ALTER TABLE big ALTER COLUMN v DROP DEFAULT",
    "ALTER TABLE big MODIFY v bigint",
    "ALTER TABLE big MODIFY name varchar(40) NOT NULL",
    "ALTER TABLE big MODIFY name varchar(100) NOT NULL",
    "ALTER TABLE big MODIFY name varchar(20) NULL",
    "ALTER TABLE big MODIFY v int NOT NULL",
    "ALTER TABLE big ADD INDEX i1 (v)",
    "ALTER TABLE big ADD UNIQUE INDEX u1 (v)",
    "CREATE INDEX i1 ON big (v)",
    "ALTER TABLE big ADD FULLTEXT INDEX f1 (t)",
    "ALTER TABLE big DROP INDEX big_name",
    "ALTER TABLE big DROP PRIMARY KEY",
    "ALTER TABLE big DROP PRIMARY KEY, ADD PRIMARY KEY (id, name)",
    "ALTER TABLE nopk ADD PRIMARY KEY (id)",
    "ALTER TABLE child ADD CONSTRAINT fk FOREIGN KEY (big_id) REFERENCES big (id)",
    "ALTER TABLE big ADD CONSTRAINT ck2 CHECK (v > -10)",
    "ALTER TABLE big DROP CONSTRAINT ck",
    "ALTER TABLE big AUTO_INCREMENT = 100",
    "ALTER TABLE big ENGINE=InnoDB",
    "ALTER TABLE big FORCE",
    "ALTER TABLE big ROW_FORMAT=DYNAMIC",
    "ALTER TABLE big CONVERT TO CHARACTER SET latin1",
    "ALTER TABLE big RENAME INDEX big_name TO bn",
    "ALTER TABLE big COMMENT = 'x'",
];

/// Appends ALGORITHM and LOCK clauses the way the statement's form takes them.
fn with_clauses(sql: &str, alg: &str, lock: &str) -> String {
    if sql.starts_with("ALTER TABLE") {
        format!("{sql}, ALGORITHM={alg}, LOCK={lock}")
    } else {
        format!("{sql} ALGORITHM={alg} LOCK={lock}")
    }
}

/// Whether the server accepts `sql` with the clauses (on a fresh copy of the tables).
async fn accepts(cfg: &ConnectionConfig, sql: &str, alg: &str, lock: &str) -> bool {
    let mut s = Session::connect(cfg).await.unwrap();
    s.exec(MY_SETUP).await.unwrap();
    let r = s.exec(&with_clauses(sql, alg, lock)).await;
    s.close().await;
    match r {
        Ok(_) => true,
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains("not supported"),
                "{sql} ALGORITHM={alg} LOCK={lock}: unexpected error {msg}"
            );
            false
        }
    }
}

#[tokio::test]
async fn mariadb_model_agrees_with_the_server_on_95_percent_of_forms() {
    let url = fresh_mysql_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec(MY_SETUP).await.unwrap();
    s.close().await;
    let catalog = catalog_of(&cfg, Engine::Mysql).await;
    assert!(
        catalog.server().is_some_and(|s| s.mariadb),
        "tests run on MariaDB"
    );
    let mut disagreements = Vec::new();
    for sql in MY_FORMS {
        let predicted = model(Engine::Mysql, &catalog, sql);
        let mut observed = None;
        for alg in [
            Algorithm::Instant,
            Algorithm::Nocopy,
            Algorithm::Inplace,
            Algorithm::Copy,
        ] {
            if accepts(&cfg, sql, alg.as_str(), "DEFAULT").await {
                let lock = if accepts(&cfg, sql, alg.as_str(), "NONE").await {
                    Lock::ShareUpdateExclusive
                } else if accepts(&cfg, sql, alg.as_str(), "SHARED").await {
                    Lock::Share
                } else {
                    Lock::AccessExclusive
                };
                observed = Some((alg, lock));
                break;
            }
        }
        let observed = observed.unwrap_or_else(|| panic!("{sql}: no algorithm accepted"));
        let table = predicted.iter().find(|i| i.algorithm.is_some());
        let predicted_pair = table.map(|i| (i.algorithm.unwrap_or(Algorithm::Copy), i.lock));
        if predicted_pair != Some(observed) {
            disagreements.push(format!(
                "{sql}: predicted {predicted_pair:?}, observed {observed:?}"
            ));
        }
    }
    report_agreement("MariaDB", MY_FORMS.len(), &disagreements);
}

#[tokio::test]
async fn a_rewrite_of_a_million_row_table_is_high_risk_and_its_safe_alternative_is_not() {
    let url = fresh_pg_database().unwrap();
    let cfg = ConnectionConfig::from_url(&url).unwrap();
    let mut s = Session::connect(&cfg).await.unwrap();
    s.exec(
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount int);
         INSERT INTO orders SELECT g, g FROM generate_series(1, 1200000) g;
         ANALYZE orders;",
    )
    .await
    .unwrap();
    s.close().await;
    let catalog = catalog_of(&cfg, Engine::Postgres).await;
    let policy = Policy::preset("default").unwrap();

    let risky = review(
        "ALTER TABLE orders ALTER COLUMN amount TYPE bigint;",
        Engine::Postgres,
        &policy,
        Some(&catalog),
    );
    assert_eq!(risky.risk, Risk::High, "{risky:#?}");
    let finding = risky
        .findings
        .iter()
        .find(|f| f.rule == "impact.table-rewrite")
        .unwrap_or_else(|| panic!("no rewrite finding: {risky:#?}"));
    assert!(
        finding.message.contains("M rows") && finding.message.contains("MB"),
        "{}",
        finding.message
    );
    assert!(finding.message.contains("instead:"), "{}", finding.message);
    assert!(risky.impacts[0].rewrite && risky.impacts[0].rows >= Some(1_100_000));

    // The safe alternative: a new nullable column (metadata only), backfilled later.
    let safe = review(
        "ALTER TABLE orders ADD COLUMN amount_big bigint;",
        Engine::Postgres,
        &policy,
        Some(&catalog),
    );
    assert!(safe.risk < Risk::High, "{safe:#?}");
    assert!(!safe.findings.iter().any(|f| f.rule.starts_with("impact.")));
    assert!(!safe.impacts[0].rewrite && !safe.impacts[0].scan);

    // An index build blocks writes while it reads the million rows; CONCURRENTLY does not.
    let index = review(
        "CREATE INDEX orders_amount ON orders (amount);",
        Engine::Postgres,
        &policy,
        Some(&catalog),
    );
    assert_eq!(index.risk, Risk::High);
    assert!(
        index
            .findings
            .iter()
            .any(|f| f.rule == "impact.blocking-lock")
    );
    let concurrent = review(
        "CREATE INDEX CONCURRENTLY orders_amount ON orders (amount);",
        Engine::Postgres,
        &policy,
        Some(&catalog),
    );
    assert!(
        !concurrent
            .findings
            .iter()
            .any(|f| f.rule.starts_with("impact."))
    );
}
