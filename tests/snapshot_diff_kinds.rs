//! For every object kind a snapshot holds, per engine: the object is created, a snapshot shows
//! it in the canonical DDL, one change to it is made, and the next snapshot's diff reports that
//! object — and nothing else — with the right verb (`~` changed, `+` added, `-` removed).
//! Real PostgreSQL, MariaDB and SQLite; each step diffs against the snapshot before it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use schemagate::engine::ConnectionConfig;
use schemagate::engine::introspect::{SnapshotOptions, snapshot_database_with};
use schemagate::snapshot::{Schema, diff, render_objects};
use schemagate_testkit::{
    fresh_mysql_database, fresh_pg_database, mariadb, psql, shared_mysql, shared_postgres,
    sqlite_file,
};

/// One change and what the diff must say: every line starts with one of `expect`, and each of
/// them starts a line.
struct Step {
    /// The object as the canonical DDL names it before the change (`-- schemagate: …`).
    object: &'static str,
    sql: &'static str,
    expect: &'static [&'static str],
}

const fn step(object: &'static str, sql: &'static str, expect: &'static [&'static str]) -> Step {
    Step {
        object,
        sql,
        expect,
    }
}

const ALL: SnapshotOptions = SnapshotOptions {
    privileges: true,
    owners: true,
};

async fn snapshot(url: &str) -> Schema {
    snapshot_database_with(&ConnectionConfig::from_url(url).unwrap(), ALL)
        .await
        .unwrap()
}

/// Runs the steps in order on the database at `url`, `run` applying each change's SQL.
async fn walk(engine: &str, url: &str, run: impl AsyncFn(&str), steps: &[Step]) {
    let mut before = snapshot(url).await;
    for s in steps {
        let ddl = before.canonical_ddl();
        assert!(
            ddl.contains(&format!("-- schemagate: {}\n", s.object)),
            "{engine}: {} is not in the snapshot:\n{ddl}",
            s.object
        );
        run(s.sql).await;
        let after = snapshot(url).await;
        let lines = diff(&render_objects(&before), &render_objects(&after)).human_lines();
        assert!(
            !lines.is_empty()
                && lines
                    .iter()
                    .all(|l| s.expect.iter().any(|e| l.starts_with(e)))
                && s.expect
                    .iter()
                    .all(|e| lines.iter().any(|l| l.starts_with(e))),
            "{engine}: `{}` should show as {:?}, the diff says {lines:#?}",
            s.sql,
            s.expect
        );
        before = after;
    }
}

const PG_SETUP: &str = r"
CREATE SCHEMA app;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA app;
CREATE COLLATION app.loose (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TYPE app.mood AS ENUM ('sad', 'ok');
CREATE DOMAIN app.score AS integer CHECK (VALUE >= 0);
CREATE TYPE app.point2 AS (x integer, y integer);
CREATE TYPE app.span AS RANGE (subtype = integer);
CREATE FUNCTION app.double(n integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT n * 2 $$;
CREATE PROCEDURE app.noop() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION app.add_step(s integer, n integer) RETURNS integer LANGUAGE sql IMMUTABLE
  AS $$ SELECT s + n $$;
CREATE AGGREGATE app.total(integer) (SFUNC = app.add_step, STYPE = integer, INITCOND = '0');
CREATE SEQUENCE app.tickets START 10;
CREATE TABLE app.item (id integer PRIMARY KEY, name text NOT NULL, qty app.score,
  mood app.mood, kind text);
CREATE SEQUENCE app.item_numbers OWNED BY app.item.id;
CREATE TABLE app.reading (at date NOT NULL, v integer) PARTITION BY RANGE (at);
CREATE TABLE app.reading_2024 PARTITION OF app.reading
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE VIEW app.item_names AS SELECT id, name FROM app.item;
CREATE MATERIALIZED VIEW app.item_count AS SELECT count(*) AS n FROM app.item;
CREATE INDEX item_count_n ON app.item_count (n);
CREATE INDEX item_name ON app.item (name);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER item_touch BEFORE UPDATE ON app.item FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE RULE item_no_delete AS ON DELETE TO app.item DO INSTEAD NOTHING;
ALTER TABLE app.item ENABLE ROW LEVEL SECURITY;
CREATE POLICY item_mine ON app.item USING (qty > 0);
CREATE STATISTICS app.item_stats (dependencies) ON name, kind FROM app.item;
CREATE FUNCTION app.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER sg_diff_note_ddl ON ddl_command_end EXECUTE FUNCTION app.on_ddl();
GRANT SELECT ON app.item TO sg_diff_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO sg_diff_reader;
";

const PG_STEPS: &[Step] = &[
    step(
        "schema app",
        "COMMENT ON SCHEMA app IS 'the app'",
        &["~ schema app"],
    ),
    step(
        "extension pg_trgm",
        "COMMENT ON EXTENSION pg_trgm IS 'trigrams'",
        &["~ extension pg_trgm"],
    ),
    step(
        "collation app.loose",
        "COMMENT ON COLLATION app.loose IS 'case-blind'",
        &["~ collation app.loose"],
    ),
    step(
        "enum app.mood",
        "ALTER TYPE app.mood ADD VALUE 'glad'",
        &["~ enum app.mood"],
    ),
    step(
        "domain app.score",
        "ALTER DOMAIN app.score SET DEFAULT 0",
        &["~ domain app.score"],
    ),
    step(
        "composite-type app.point2",
        "ALTER TYPE app.point2 ADD ATTRIBUTE z integer",
        &["~ composite-type app.point2"],
    ),
    step(
        "range-type app.span",
        "COMMENT ON TYPE app.span IS 'whole numbers'",
        &["~ range-type app.span"],
    ),
    step(
        "function app.double(n integer)",
        "CREATE OR REPLACE FUNCTION app.double(n integer) RETURNS integer LANGUAGE sql IMMUTABLE \
         AS $$ SELECT n + n $$",
        &["~ function app.double(n integer)"],
    ),
    step(
        "procedure app.noop()",
        "CREATE OR REPLACE PROCEDURE app.noop() LANGUAGE sql AS $$ SELECT 2 $$",
        &["~ procedure app.noop()"],
    ),
    step(
        "aggregate app.total(integer)",
        "COMMENT ON AGGREGATE app.total(integer) IS 'a sum'",
        &["~ aggregate app.total(integer)"],
    ),
    step(
        "sequence app.tickets",
        "ALTER SEQUENCE app.tickets INCREMENT BY 5",
        &["~ sequence app.tickets"],
    ),
    step(
        "sequence-owned-by app.item_numbers",
        "ALTER SEQUENCE app.item_numbers OWNED BY app.item.qty",
        &["~ sequence-owned-by app.item_numbers"],
    ),
    step(
        "table app.item",
        "ALTER TABLE app.item ADD COLUMN note text",
        &["~ table app.item: added column \"note\""],
    ),
    step(
        "table app.item",
        "ALTER TABLE app.item ADD CONSTRAINT item_qty_small CHECK (qty < 1000)",
        &["~ table app.item: added constraint \"item_qty_small\""],
    ),
    step(
        "table app.item",
        "ALTER TABLE app.item FORCE ROW LEVEL SECURITY",
        &["~ table app.item"],
    ),
    step(
        "table app.reading_2024",
        "ALTER TABLE app.reading DETACH PARTITION app.reading_2024",
        &["~ table app.reading_2024"],
    ),
    step(
        "table app.reading",
        "CREATE TABLE app.reading_2025 PARTITION OF app.reading \
         FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
        // The default privileges of schema app grant on it too.
        &[
            "+ table app.reading_2025",
            "+ owner table app.reading_2025",
            "+ privileges table app.reading_2025",
        ],
    ),
    step(
        "index app.item_name",
        "DROP INDEX app.item_name; CREATE INDEX item_name ON app.item (lower(name))",
        &["~ index app.item_name"],
    ),
    step(
        "view app.item_names",
        "CREATE OR REPLACE VIEW app.item_names AS SELECT id, name, kind FROM app.item",
        &["~ view app.item_names"],
    ),
    step(
        "materialized-view app.item_count",
        "ALTER MATERIALIZED VIEW app.item_count SET (fillfactor = 70)",
        &["~ materialized-view app.item_count"],
    ),
    step(
        "index app.item_count_n",
        "DROP INDEX app.item_count_n; CREATE INDEX item_count_n ON app.item_count (n DESC)",
        &["~ index app.item_count_n"],
    ),
    step(
        "trigger app.item.item_touch",
        "ALTER TABLE app.item DISABLE TRIGGER item_touch",
        &["~ trigger app.item.item_touch"],
    ),
    step(
        "rule app.item.item_no_delete",
        "ALTER TABLE app.item DISABLE RULE item_no_delete",
        &["~ rule app.item.item_no_delete"],
    ),
    step(
        "policy app.item.item_mine",
        "ALTER POLICY item_mine ON app.item USING (qty > 1)",
        &["~ policy app.item.item_mine"],
    ),
    step(
        "statistics app.item_stats",
        "ALTER STATISTICS app.item_stats SET STATISTICS 50",
        &["~ statistics app.item_stats"],
    ),
    step(
        "event-trigger sg_diff_note_ddl",
        "ALTER EVENT TRIGGER sg_diff_note_ddl DISABLE",
        &["~ event-trigger sg_diff_note_ddl"],
    ),
    step(
        "privileges table app.item",
        "GRANT INSERT ON app.item TO sg_diff_reader",
        &["~ privileges table app.item"],
    ),
    step(
        "default-privileges postgres in \"app\"",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT INSERT ON TABLES TO sg_diff_reader",
        &["~ default-privileges postgres in \"app\""],
    ),
    step(
        "owner table app.reading",
        "ALTER TABLE app.reading OWNER TO sg_diff_reader",
        &["~ owner table app.reading"],
    ),
    step(
        "view app.item_names",
        "DROP VIEW app.item_names",
        &["- view app.item_names", "- owner view app.item_names"],
    ),
];

#[tokio::test]
async fn postgres_every_kind_shows_in_the_ddl_and_in_the_diff() {
    let _ = psql(
        &shared_postgres().unwrap(),
        "DO $$ BEGIN CREATE ROLE sg_diff_reader; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    );
    let url = fresh_pg_database().unwrap();
    psql(&url, PG_SETUP).unwrap();
    let run = async |sql: &str| {
        psql(&url, sql).unwrap();
    };
    walk("postgres", &url, run, PG_STEPS).await;
    // The event trigger belongs to the server's database, not to a schema: drop it with it.
    psql(&url, "DROP EVENT TRIGGER sg_diff_note_ddl").unwrap();
}

const MY_SETUP: &str = r"
CREATE SEQUENCE tickets START WITH 10;
CREATE TABLE shelf (
  id int NOT NULL PRIMARY KEY,
  label varchar(20) NOT NULL,
  width int NOT NULL,
  area int AS (width * 2) VIRTUAL,
  note varchar(50) DEFAULT NULL,
  CONSTRAINT shelf_width CHECK (width > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE box (
  id int NOT NULL PRIMARY KEY,
  shelf_id int NOT NULL,
  KEY box_shelf (shelf_id),
  CONSTRAINT box_shelf FOREIGN KEY (shelf_id) REFERENCES shelf (id)
) ENGINE=InnoDB;
CREATE TABLE tally (y int NOT NULL, n int) ENGINE=InnoDB
  PARTITION BY RANGE (y) (PARTITION p1 VALUES LESS THAN (2000), PARTITION p2 VALUES LESS THAN (3000));
CREATE TABLE scratch (k int) ENGINE=InnoDB;
CREATE VIEW wide_shelf AS SELECT id, label FROM shelf WHERE width > 10;
CREATE FUNCTION twice(n int) RETURNS int DETERMINISTIC RETURN n * 2;
CREATE PROCEDURE tidy() MODIFIES SQL DATA DELETE FROM scratch;
CREATE TRIGGER shelf_label BEFORE INSERT ON shelf FOR EACH ROW SET NEW.label = TRIM(NEW.label);
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM scratch;
GRANT SELECT ON shelf TO 'sg_diff_clerk'@'%';
";

const MY_STEPS: &[Step] = &[
    step(
        "table shelf",
        "ALTER TABLE shelf DROP CONSTRAINT shelf_width, \
         ADD CONSTRAINT shelf_width CHECK (width > 1)",
        &["~ table shelf: constraint `shelf_width`"],
    ),
    step(
        "table shelf",
        "ALTER TABLE shelf MODIFY area int AS (width * 3) VIRTUAL",
        &["~ table shelf: column `area`"],
    ),
    step(
        "table shelf",
        "ALTER TABLE shelf MODIFY note varchar(50) DEFAULT NULL INVISIBLE",
        &["~ table shelf: column `note`"],
    ),
    step(
        "table shelf",
        "ALTER TABLE shelf ADD INDEX shelf_label (label)",
        &["~ table shelf"],
    ),
    step(
        "table shelf",
        "ALTER TABLE shelf ROW_FORMAT=COMPACT",
        &["~ table shelf"],
    ),
    step(
        "table scratch",
        "ALTER TABLE scratch ENGINE=Aria",
        &["~ table scratch"],
    ),
    step(
        "table tally",
        "ALTER TABLE tally ADD PARTITION (PARTITION p3 VALUES LESS THAN (4000))",
        &["~ table tally"],
    ),
    step(
        "foreign-key box.box_shelf",
        "ALTER TABLE box DROP FOREIGN KEY box_shelf; \
         ALTER TABLE box ADD CONSTRAINT box_shelf FOREIGN KEY (shelf_id) REFERENCES shelf (id) ON DELETE CASCADE",
        &["~ foreign-key box.box_shelf"],
    ),
    step(
        "sequence tickets",
        "ALTER SEQUENCE tickets INCREMENT BY 3",
        &["~ sequence tickets"],
    ),
    step(
        "view wide_shelf",
        "CREATE OR REPLACE VIEW wide_shelf AS SELECT id, label FROM shelf WHERE width > 20",
        &["~ view wide_shelf"],
    ),
    step(
        "view wide_shelf",
        "ALTER DEFINER = 'sg_diff_clerk'@'%' VIEW wide_shelf AS \
         SELECT id, label FROM shelf WHERE width > 20",
        &["~ view wide_shelf"],
    ),
    step(
        "function twice",
        "DROP FUNCTION twice; CREATE FUNCTION twice(n int) RETURNS int DETERMINISTIC RETURN n + n",
        &["~ function twice"],
    ),
    step(
        "procedure tidy",
        "ALTER PROCEDURE tidy COMMENT 'empties scratch'",
        &["~ procedure tidy"],
    ),
    step(
        "trigger shelf.shelf_label",
        "DROP TRIGGER shelf_label; CREATE TRIGGER shelf_label BEFORE INSERT ON shelf \
         FOR EACH ROW SET NEW.label = UPPER(NEW.label)",
        &["~ trigger shelf.shelf_label"],
    ),
    step(
        "event nightly",
        "ALTER EVENT nightly ON SCHEDULE EVERY 2 DAY STARTS '2030-01-01 00:00:00'",
        &["~ event nightly"],
    ),
    step(
        "privileges table shelf",
        "GRANT INSERT ON shelf TO 'sg_diff_clerk'@'%'",
        &["~ privileges table shelf"],
    ),
    step("event nightly", "DROP EVENT nightly", &["- event nightly"]),
];

#[tokio::test]
async fn mariadb_every_kind_shows_in_the_ddl_and_in_the_diff() {
    mariadb(
        &shared_mysql().unwrap(),
        None,
        "CREATE USER IF NOT EXISTS 'sg_diff_clerk'@'%'",
    )
    .unwrap();
    let url = fresh_mysql_database().unwrap();
    let db = url.rsplit('/').next().unwrap().to_owned();
    mariadb(&url, Some(&db), MY_SETUP).unwrap();
    let run = async |sql: &str| {
        mariadb(&url, Some(&db), sql).unwrap();
    };
    walk("mariadb", &url, run, MY_STEPS).await;
}

const LITE_SETUP: &str = r"
CREATE TABLE jar (
  id INTEGER PRIMARY KEY,
  label TEXT NOT NULL CHECK (length(label) > 0),
  grams INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE lid (size INTEGER NOT NULL PRIMARY KEY, colour TEXT) WITHOUT ROWID;
CREATE TABLE spoon (id INTEGER PRIMARY KEY, len INTEGER) STRICT;
CREATE INDEX jar_label ON jar (label);
CREATE VIEW heavy_jar AS SELECT id, label FROM jar WHERE grams > 500;
CREATE TRIGGER jar_trim AFTER INSERT ON jar BEGIN UPDATE jar SET label = trim(label) WHERE id = NEW.id; END;
";

const LITE_STEPS: &[Step] = &[
    step(
        "table jar",
        "DROP TABLE jar; CREATE TABLE jar (id INTEGER PRIMARY KEY, \
         label TEXT NOT NULL CHECK (length(label) > 1), grams INTEGER NOT NULL DEFAULT 0); \
         CREATE INDEX jar_label ON jar (label); \
         CREATE TRIGGER jar_trim AFTER INSERT ON jar BEGIN \
         UPDATE jar SET label = trim(label) WHERE id = NEW.id; END",
        &["~ table jar: constraint \"jar_label_check\""],
    ),
    step(
        "table jar",
        "ALTER TABLE jar ADD COLUMN kilos REAL AS (grams / 1000.0) VIRTUAL",
        &["~ table jar: added column \"kilos\""],
    ),
    step(
        "table lid",
        "DROP TABLE lid; CREATE TABLE lid (size INTEGER NOT NULL PRIMARY KEY, colour TEXT)",
        &["~ table lid"],
    ),
    step(
        "table spoon",
        "DROP TABLE spoon; CREATE TABLE spoon (id INTEGER PRIMARY KEY, len INTEGER)",
        &["~ table spoon"],
    ),
    step(
        "index jar_label",
        "DROP INDEX jar_label; CREATE INDEX jar_label ON jar (label, grams)",
        &["~ index jar_label"],
    ),
    step(
        "view heavy_jar",
        "DROP VIEW heavy_jar; CREATE VIEW heavy_jar AS SELECT id, label FROM jar WHERE grams > 900",
        &["~ view heavy_jar"],
    ),
    step(
        "trigger jar_trim",
        "DROP TRIGGER jar_trim; CREATE TRIGGER jar_trim AFTER INSERT ON jar BEGIN \
         UPDATE jar SET label = upper(label) WHERE id = NEW.id; END",
        &["~ trigger jar_trim"],
    ),
    step("table spoon", "DROP TABLE spoon", &["- table spoon"]),
];

async fn execute(url: &str, n: usize, sql: &str) {
    schemagate_testkit::apply_through_executor(url, &format!("u{n}"), &n.to_string(), sql).await;
}

#[tokio::test]
async fn sqlite_every_kind_shows_in_the_ddl_and_in_the_diff() {
    let file = sqlite_file().unwrap();
    let url = file.url();
    execute(&url, 0, LITE_SETUP).await;
    let n = std::cell::Cell::new(0);
    let run = async |sql: &str| {
        n.set(n.get() + 1);
        execute(&url, n.get(), sql).await;
    };
    walk("sqlite", &url, run, LITE_STEPS).await;
}
