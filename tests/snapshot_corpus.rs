//! The snapshot corpus (tests/fixtures/corpus): realistic schemas for each engine load into a
//! database, snapshot, replay from their canonical DDL into an empty database through the
//! executor and snapshot back to the same digest. PostgreSQL and MariaDB snapshots are checked
//! against what `pg_dump --schema-only` / `mariadb-dump --no-data` dump of the same database
//! (their output is compared at test time, never kept).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::OnceLock;

use schemagate::engine::introspect::{SnapshotOptions, snapshot_database_with};
use schemagate::engine::{Change, ConnectionConfig, ExecOptions, Executor, Outcome};
use schemagate::snapshot::{ObjectKind, Schema, diff, render_objects};
use schemagate_testkit::{
    fresh_mysql_database, fresh_pg_database, mariadb, mariadb_dump_schema, pg_dump_schema, psql,
    shared_mysql, shared_postgres, sqlite_file,
};

const PG: [(&str, &str); 3] = [
    ("commerce", include_str!("fixtures/corpus/pg_commerce.sql")),
    ("payroll", include_str!("fixtures/corpus/pg_payroll.sql")),
    ("tenancy", include_str!("fixtures/corpus/pg_tenancy.sql")),
];

const MY: [(&str, &str); 1] = [("library", include_str!("fixtures/corpus/my_library.sql"))];

const BOTH: SnapshotOptions = SnapshotOptions {
    privileges: true,
    owners: true,
};

/// The role the corpus grants to; roles belong to the server, so it is made once.
fn pg_roles() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        psql(
            &shared_postgres().unwrap(),
            "DO $$ BEGIN CREATE ROLE sg_corpus_staff; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        )
        .unwrap();
    });
}

async fn load_with_executor(url: &str, ddl: &str) {
    let ex = Executor::new(
        ConnectionConfig::from_url(url).unwrap(),
        ExecOptions::default(),
    );
    let change = Change {
        uid: "load".into(),
        namespace: "t".into(),
        name: "load".into(),
        version: "1".into(),
        sql: ddl.into(),
        approved_by: None,
        author: None,
        operator: "test".into(),
        transaction_mode: schemagate::engine::TransactionMode::Auto,
    };
    let r = ex.execute(&change).await.unwrap();
    assert_eq!(r.outcome, Outcome::Applied, "{:?}\n{ddl}", r.error);
}

async fn snapshot(url: &str, opts: SnapshotOptions) -> Schema {
    snapshot_database_with(&ConnectionConfig::from_url(url).unwrap(), opts)
        .await
        .unwrap()
}

/// Replays `a`'s DDL into `empty` and checks that it snapshots back to the same digest.
async fn replays(name: &str, a: &Schema, empty: &str, opts: SnapshotOptions) {
    let ddl = a.canonical_ddl();
    load_with_executor(empty, &ddl).await;
    let b = snapshot(empty, opts).await;
    let d = diff(&render_objects(a), &render_objects(&b));
    assert!(
        d.is_empty(),
        "{name}: replay differs: {:#?}",
        d.human_lines()
    );
    assert_eq!(a.digest(), b.digest(), "{name}");
    assert_eq!(
        Schema::from_json(&a.canonical_json()).unwrap().digest(),
        a.digest(),
        "{name}: JSON round trip"
    );
}

#[tokio::test]
async fn postgres_corpus_replays_to_the_same_digest() {
    pg_roles();
    let mut all_ddl = String::new();
    let mut kinds: HashSet<ObjectKind> = HashSet::new();
    for (name, sql) in PG {
        let src = fresh_pg_database().unwrap();
        psql(&src, sql).unwrap();
        for opts in [SnapshotOptions::default(), BOTH] {
            let a = snapshot(&src, opts).await;
            kinds.extend(a.objects.iter().map(|o| o.kind));
            all_ddl.push_str(&a.canonical_ddl());
            replays(name, &a, &fresh_pg_database().unwrap(), opts).await;
        }
        let plain = snapshot(&src, SnapshotOptions::default()).await;
        assert!(
            !plain.objects.iter().any(|o| matches!(
                o.kind,
                ObjectKind::Privileges | ObjectKind::Owner | ObjectKind::DefaultPrivileges
            )),
            "{name}: privileges and owners only when asked for"
        );
        let full = snapshot(&src, BOTH).await;
        pg_dump_parity(name, &pg_dump_schema(&src).unwrap(), &full);
    }
    for kind in [
        ObjectKind::Schema,
        ObjectKind::Extension,
        ObjectKind::Collation,
        ObjectKind::Enum,
        ObjectKind::Domain,
        ObjectKind::CompositeType,
        ObjectKind::RangeType,
        ObjectKind::Function,
        ObjectKind::Procedure,
        ObjectKind::Aggregate,
        ObjectKind::Sequence,
        ObjectKind::SequenceOwnedBy,
        ObjectKind::View,
        ObjectKind::MaterializedView,
        ObjectKind::Index,
        ObjectKind::Trigger,
        ObjectKind::Rule,
        ObjectKind::Policy,
        ObjectKind::Statistics,
        ObjectKind::EventTrigger,
        ObjectKind::Privileges,
        ObjectKind::DefaultPrivileges,
        ObjectKind::Owner,
    ] {
        assert!(kinds.contains(&kind), "the corpus has no {kind:?}");
    }
    for needle in [
        "PARTITION OF",
        ") DEFAULT",
        " DEFAULT;",
        "FOR VALUES WITH (modulus",
        "FOR VALUES IN (",
        "PARTITION BY RANGE",
        "PARTITION BY HASH",
        "INHERITS (",
        "CREATE UNLOGGED TABLE",
        " OF \"audit\".\"event\"",
        "GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 10)",
        "GENERATED BY DEFAULT AS IDENTITY (SEQUENCE NAME",
        "STORED",
        "EXCLUDE USING gist",
        "DEFERRABLE INITIALLY DEFERRED",
        "NOT VALID",
        "NO INHERIT",
        "NULLS NOT DISTINCT",
        " INCLUDE (",
        "\"text_pattern_ops\"",
        "COLLATE \"C\" DESC NULLS LAST",
        "USING brin",
        "WITH (pages_per_range=32)",
        "WHERE (born IS NOT NULL)",
        "CLUSTER ON",
        "REPLICA IDENTITY FULL",
        "SET STATISTICS 500",
        "SET STORAGE EXTERNAL",
        "SET COMPRESSION pglz",
        "WITH (fillfactor=90)",
        "toast.autovacuum_enabled=false",
        "ENABLE ROW LEVEL SECURITY",
        "FORCE ROW LEVEL SECURITY",
        "AS RESTRICTIVE FOR UPDATE TO sg_corpus_staff",
        "DISABLE TRIGGER",
        "ENABLE REPLICA TRIGGER",
        "ENABLE ALWAYS TRIGGER",
        "DISABLE RULE",
        "CREATE CONSTRAINT TRIGGER",
        "REFERENCING NEW TABLE AS",
        "INSTEAD OF INSERT",
        "WITH NO DATA",
        "WITH (security_barrier=true)",
        "WITH (check_option=local)",
        "WITH (security_invoker=true)",
        "BEGIN ATOMIC",
        "ORDER BY numeric",
        "MSFUNC",
        "SORTOP",
        "ALTER EVENT TRIGGER \"corpus_note_ddl\" DISABLE",
        "COMMENT ON CONSTRAINT \"money_amount_sane\" ON DOMAIN",
        "COMMENT ON COLUMN \"shop\".\"address\".\"postcode\"",
        "COMMENT ON AGGREGATE",
        "COMMENT ON POLICY",
        "COMMENT ON RULE",
        "COMMENT ON STATISTICS",
        "COMMENT ON EVENT TRIGGER",
        "COMMENT ON COLLATION",
        "COMMENT ON INDEX",
        "COMMENT ON TRIGGER",
        "E'Plans:\\n\\tfree, team, enterprise'",
        "GRANT UPDATE (\"vip\") ON TABLE",
        "WITH GRANT OPTION",
        "REVOKE EXECUTE ON FUNCTION",
        "ALTER DEFAULT PRIVILEGES FOR ROLE",
        "OWNER TO",
    ] {
        assert!(
            all_ddl.contains(needle),
            "{needle} missing from the corpus snapshots"
        );
    }
}

/// One entry of pg_dump's table of contents: `-- Name: …; Type: …; Schema: …; Owner: …`.
struct DumpEntry {
    name: String,
    kind: String,
    schema: String,
    body: String,
}

fn dump_entries(dump: &str) -> Vec<DumpEntry> {
    let mut out = Vec::new();
    for chunk in dump.split("\n-- Name: ").skip(1) {
        let (header, body) = chunk.split_once('\n').unwrap_or((chunk, ""));
        let mut parts = header.split("; ");
        let name = parts.next().unwrap_or("").to_owned();
        let field =
            |p: Option<&str>, k: &str| p.and_then(|p| p.strip_prefix(k)).unwrap_or("").to_owned();
        let kind = field(parts.next(), "Type: ");
        let schema = field(parts.next(), "Schema: ");
        out.push(DumpEntry {
            name,
            kind,
            schema,
            body: body.to_owned(),
        });
    }
    out
}

/// pg_dump names quote what needs quoting; the snapshot's names are raw.
fn unquote(s: &str) -> String {
    s.replace('"', "")
}

/// The text of the `COMMENT ON … IS '…';` statement in a dump entry.
fn literal_value(body: &str) -> Option<String> {
    let stmt = &body[body.find("COMMENT ON ")?..];
    let stmt = &stmt[..stmt.find(";\n").unwrap_or(stmt.len())];
    let start = stmt.find(" IS ")? + 4;
    let lit = stmt[start..].trim();
    let (escaped, inner) = match lit.strip_prefix('E') {
        Some(rest) => (true, rest),
        None => (false, lit),
    };
    let inner = inner.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut s = inner.replace("''", "'");
    if escaped {
        s = s
            .replace("\\n", "\n")
            .replace("\\t", "\t")
            .replace("\\\\", "\\");
    }
    Some(s)
}

/// Every object pg_dump dumps has its counterpart in the snapshot.
fn pg_dump_parity(corpus: &str, dump: &str, ours: &Schema) {
    let ddl = ours.canonical_ddl();
    let objects: HashSet<(String, String)> = ours
        .objects
        .iter()
        .map(|o| {
            let name = o.name.split('(').next().unwrap_or(&o.name);
            let full = if o.schema.is_empty() {
                name.to_owned()
            } else {
                format!("{}.{name}", o.schema)
            };
            (o.kind.label().to_owned(), full)
        })
        .collect();
    let has = |kind: &str, name: &str| objects.contains(&(kind.to_owned(), name.to_owned()));
    let table = |schema: &str, name: &str| {
        ours.tables
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    };
    let entries = dump_entries(dump);
    let attached: HashSet<&str> = entries
        .iter()
        .filter(|e| e.kind == "INDEX ATTACH")
        .map(|e| e.name.as_str())
        .collect();
    let mut missing = Vec::new();
    for e in &entries {
        let s = unquote(&e.schema);
        let n = unquote(&e.name);
        let qualified = format!("{s}.{n}");
        // "table object" names of per-table objects.
        let (on, what) = n.split_once(' ').unwrap_or((n.as_str(), ""));
        let per_table = format!("{s}.{on}.{what}");
        let found = match e.kind.as_str() {
            "SCHEMA" => has("schema", &n),
            "EXTENSION" => has("extension", &n),
            "COLLATION" => has("collation", &qualified),
            "TYPE" => {
                has("enum", &qualified)
                    || has("composite-type", &qualified)
                    || has("range-type", &qualified)
            }
            "DOMAIN" => has("domain", &qualified),
            "FUNCTION" => has(
                "function",
                &format!("{s}.{}", n.split('(').next().unwrap_or("")),
            ),
            "PROCEDURE" => has(
                "procedure",
                &format!("{s}.{}", n.split('(').next().unwrap_or("")),
            ),
            "AGGREGATE" => has(
                "aggregate",
                &format!("{s}.{}", n.split('(').next().unwrap_or("")),
            ),
            "SEQUENCE" => {
                has("sequence", &qualified)
                    || ours
                        .tables
                        .iter()
                        .any(|t| t.schema == s && t.columns.iter().any(|c| c.identity.is_some()))
            }
            "SEQUENCE OWNED BY" => has("sequence-owned-by", &qualified),
            "TABLE" => table(&s, &n).is_some(),
            "TABLE ATTACH" => table(&s, &n).is_some_and(|t| {
                t.of.as_deref()
                    .is_some_and(|o| o.starts_with("PARTITION OF"))
            }),
            "VIEW" => has("view", &qualified),
            "MATERIALIZED VIEW" => has("materialized-view", &qualified),
            "INDEX" => {
                has("index", &qualified)
                    || ours
                        .tables
                        .iter()
                        .any(|t| t.schema == s && t.indexes.iter().any(|i| i.name == n))
                    || attached.contains(e.name.as_str())
            }
            "INDEX ATTACH" => true,
            "CONSTRAINT" | "CHECK CONSTRAINT" | "FK CONSTRAINT" => {
                table(&s, on).is_some_and(|t| {
                    t.constraints.iter().chain(&t.foreign_keys).any(|k| k.name == what)
                        // A partition's copy of its parent's key is created with it.
                        || t.of.as_deref().is_some_and(|o| o.starts_with("PARTITION OF"))
                }) || ours.objects.iter().any(|o| {
                    o.kind == ObjectKind::Domain
                        && o.name == on
                        && o.definition.contains(&format!("CONSTRAINT \"{what}\""))
                })
            }
            "DEFAULT" => {
                table(&s, on).is_some_and(|t| {
                    t.columns
                        .iter()
                        .any(|c| c.name == what && c.default.is_some())
                        || t.of.is_some()
                        || t.options.as_deref().is_some_and(|o| o.contains("INHERITS"))
                }) || ours.objects.iter().any(|o| {
                    o.kind == ObjectKind::View
                        && o.name == on
                        && o.definition
                            .contains(&format!("ALTER COLUMN \"{what}\" SET DEFAULT"))
                })
            }
            "TRIGGER" => has("trigger", &per_table),
            "RULE" => has("rule", &per_table),
            "POLICY" => has("policy", &per_table),
            "ROW SECURITY" => table(&s, &n).is_some_and(|t| {
                t.statements
                    .iter()
                    .any(|st| st.ends_with("ENABLE ROW LEVEL SECURITY"))
            }),
            "STATISTICS" => has("statistics", &qualified),
            "EVENT TRIGGER" => has("event-trigger", &n),
            "COMMENT" => {
                let text = literal_value(&e.body).unwrap_or_default();
                let ours_lit = schemagate::snapshot::quote_literal(
                    schemagate::snapshot::Dialect::Postgres,
                    &text,
                );
                ddl.contains(&format!(" IS {ours_lit};"))
            }
            "ACL" => {
                // `TABLE customer`, `COLUMN customer.vip`, `FUNCTION f(…)`, `SCHEMA shop`.
                let object = what
                    .split('(')
                    .next()
                    .unwrap_or("")
                    .split('.')
                    .next()
                    .unwrap_or("");
                ours.objects.iter().any(|o| {
                    o.kind == ObjectKind::Privileges
                        && (o.name.ends_with(&format!(".{object}"))
                            || o.name.contains(&format!(".{object}("))
                            || o.name == format!("schema {object}"))
                })
            }
            "DEFAULT ACL" => ours
                .objects
                .iter()
                .any(|o| o.kind == ObjectKind::DefaultPrivileges),
            _ => false,
        };
        if !found {
            missing.push(format!("{}: {} (schema {})", e.kind, e.name, e.schema));
        }
    }
    assert!(
        missing.is_empty(),
        "{corpus}: pg_dump dumps what the snapshot lacks:\n{}",
        missing.join("\n")
    );
}

/// The account the MariaDB corpus grants to; accounts belong to the server, so it is made once.
fn my_accounts() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        mariadb(
            &shared_mysql().unwrap(),
            None,
            "CREATE USER IF NOT EXISTS 'sg_corpus_clerk'@'%'",
        )
        .unwrap();
    });
}

fn database_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[tokio::test]
async fn mariadb_corpus_replays_to_the_same_digest() {
    my_accounts();
    let mut all_ddl = String::new();
    let mut kinds: HashSet<ObjectKind> = HashSet::new();
    for (name, sql) in MY {
        let src = fresh_mysql_database().unwrap();
        let db = database_of(&src);
        mariadb(&src, Some(db), sql).unwrap();
        mariadb(
            &src,
            Some(db),
            "GRANT SELECT, INSERT ON member TO 'sg_corpus_clerk'@'%'; \
             GRANT UPDATE (email) ON member TO 'sg_corpus_clerk'@'%'; \
             GRANT EXECUTE, SHOW VIEW ON * TO 'sg_corpus_clerk'@'%'",
        )
        .unwrap();
        for opts in [SnapshotOptions::default(), BOTH] {
            let a = snapshot(&src, opts).await;
            kinds.extend(a.objects.iter().map(|o| o.kind));
            all_ddl.push_str(&a.canonical_ddl());
            replays(name, &a, &fresh_mysql_database().unwrap(), opts).await;
        }
        let plain = snapshot(&src, SnapshotOptions::default()).await;
        let ddl = plain.canonical_ddl();
        assert!(
            !ddl.contains("DEFINER") && !ddl.contains("GRANT"),
            "{name}: definers and grants only when asked for"
        );
        assert!(
            !ddl.contains(&format!("`{db}`")),
            "{name}: the snapshot names its database:\n{ddl}"
        );
        let dump = mariadb_dump_schema(&src).unwrap();
        mariadb_dump_parity(name, &dump, &plain);
        // The comparison bites: a column, a key or an option the snapshot lacks is found.
        for extra in [
            "  `ghost` int(11) DEFAULT NULL,",
            "  KEY `ghost` (`k`),",
            ") ENGINE=Aria DEFAULT CHARSET=utf8mb4;",
        ] {
            let dump = format!("{dump}\n{extra}\n");
            let caught = std::panic::catch_unwind(|| mariadb_dump_parity(name, &dump, &plain));
            assert!(caught.is_err(), "{extra} went unnoticed");
        }
    }
    for kind in [
        ObjectKind::Sequence,
        ObjectKind::Function,
        ObjectKind::Procedure,
        ObjectKind::View,
        ObjectKind::Trigger,
        ObjectKind::Event,
        ObjectKind::Privileges,
    ] {
        assert!(kinds.contains(&kind), "the corpus has no {kind:?}");
    }
    for needle in [
        "GENERATED ALWAYS AS (`weight_g` / 1000) STORED",
        "GENERATED ALWAYS AS (concat(`given_name`,' ',`family_name`)) VIRTUAL",
        "ON UPDATE current_timestamp() INVISIBLE",
        "DEFAULT nextval(`card_numbers`)",
        "CHECK (`email` like '%@%')",
        "CONSTRAINT `loan_due_after_lent` CHECK",
        "KEY `book_pages` (`pages`) IGNORED",
        "FULLTEXT KEY `book_text`",
        "(`family_name`(20),`given_name` DESC) COMMENT 'search by name'",
        "COLLATE utf8mb4_bin",
        "ENGINE=MyISAM",
        "ROW_FORMAT=DYNAMIC",
        "STATS_PERSISTENT=1",
        "COMMENT='Buildings that lend books'",
        "WITH SYSTEM VERSIONING",
        "PARTITION BY RANGE (year(`lent_on`)) SUBPARTITION BY HASH (`member_id`)",
        "COMMENT = 'last year'",
        "PARTITION BY LIST COLUMNS(`region`)",
        "PARTITION `rest` DEFAULT",
        "VALUES LESS THAN MAXVALUE",
        "PARTITION BY HASH (`visit_id`)",
        "ON DELETE SET NULL ON UPDATE CASCADE",
        "FOLLOWS `loan_limit`",
        "CREATE ALGORITHM=MERGE SQL SECURITY INVOKER VIEW `member_contact`",
        "CREATE ALGORITHM=TEMPTABLE VIEW",
        "WITH CASCADED CHECK OPTION",
        "READS SQL DATA COMMENT 'loans not yet returned'",
        "SQL SECURITY INVOKER",
        "EVERY 1 DAY STARTS '2030-01-01 03:00:00'",
        "AT '2031-06-01 12:00:00'",
        "CREATE DEFINER=",
        "GRANT INSERT, SELECT, UPDATE (`email`) ON `member` TO 'sg_corpus_clerk'@'%'",
        "GRANT EXECUTE, SHOW VIEW ON * TO",
    ] {
        assert!(
            all_ddl.contains(needle),
            "{needle} missing from the corpus snapshots"
        );
    }
}

/// Every object, column, key, constraint, partition and table option `mariadb-dump --no-data`
/// dumps has its counterpart in the snapshot (definers aside: they are left out by default).
fn mariadb_dump_parity(corpus: &str, dump: &str, ours: &Schema) {
    let ddl = ours.canonical_ddl();
    let mut missing = Vec::new();
    // Views are dumped twice: a placeholder table first, the view at the end.
    let named = regex::Regex::new(
        r"\b(TABLE|VIEW|FUNCTION|PROCEDURE|TRIGGER|EVENT|SEQUENCE|KEY|CONSTRAINT|PARTITION) `([^`]+)`",
    )
    .unwrap();
    let views: HashSet<&str> = ours
        .objects
        .iter()
        .filter(|o| o.kind == ObjectKind::View)
        .map(|o| o.name.as_str())
        .collect();
    for m in named.captures_iter(dump) {
        let (kind, name) = (&m[1], &m[2]);
        let found = match kind {
            "TABLE" if views.contains(name) => true,
            "TABLE" => ours.tables.iter().any(|t| t.name == name),
            "TRIGGER" => ours
                .objects
                .iter()
                .any(|o| o.kind == ObjectKind::Trigger && o.name.ends_with(&format!(".{name}"))),
            _ => ddl.contains(&format!("{kind} `{name}`")),
        };
        if !found {
            missing.push(format!("{kind} {name}"));
        }
    }
    // Triggers are dumped with bare names.
    let trigger = regex::Regex::new(r"\bTRIGGER (\w+) (BEFORE|AFTER)").unwrap();
    for m in trigger.captures_iter(dump) {
        if !ddl.contains(&format!("TRIGGER `{}` {}", &m[1], &m[2])) {
            missing.push(format!("TRIGGER {}", &m[1]));
        }
    }
    for line in dump.lines() {
        let line = line.trim_end_matches(',');
        // Columns: name and type.
        if let Some(rest) = line.strip_prefix("  `") {
            let (col, def) = rest.split_once("` ").unwrap_or((rest, ""));
            let ty = def.split(' ').next().unwrap_or("");
            if !ddl.contains(&format!("  `{col}` {ty}")) {
                missing.push(format!("column {col} {ty}"));
            }
        }
        // Checks, column-level ones included.
        if let Some(i) = line.find(" CHECK (") {
            let check = &line[i + 1..];
            if !ddl.contains(check) {
                missing.push(check.to_owned());
            }
        }
        // Table options that matter.
        if let Some(opts) = line.strip_prefix(") ") {
            for opt in opts.split(' ').filter(|o| {
                ["ENGINE=", "CHARSET=", "COLLATE=", "ROW_FORMAT=", "STATS_"]
                    .iter()
                    .any(|p| o.starts_with(p))
            }) {
                if !ddl.contains(opt.trim_end_matches(';')) {
                    missing.push(format!("table option {opt}"));
                }
            }
            if let Some(i) = opts.find("COMMENT=") {
                let comment = opts[i..].trim_end_matches(';');
                if !ddl.contains(comment) {
                    missing.push(comment.to_owned());
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{corpus}: mariadb-dump dumps what the snapshot lacks:\n{}",
        missing.join("\n")
    );
}

#[tokio::test]
async fn sqlite_corpus_replays_to_the_same_digest() {
    let sql = include_str!("fixtures/corpus/lite_notes.sql");
    let src = sqlite_file().unwrap();
    load_with_executor(&src.url(), sql).await;
    let a = snapshot(&src.url(), SnapshotOptions::default()).await;
    let empty = sqlite_file().unwrap();
    replays("notes", &a, &empty.url(), SnapshotOptions::default()).await;
    let ddl = a.canonical_ddl();
    for needle in [
        "\"notebook_id\" INTEGER PRIMARY KEY AUTOINCREMENT",
        "\"title\" TEXT COLLATE NOCASE NOT NULL",
        "CONSTRAINT \"notebook_title_check\" CHECK (length(title) BETWEEN 1 AND 120)",
        "CONSTRAINT \"notebook_colour_known\" CHECK (colour IN ('grey', 'red', 'blue'))",
        "DEFAULT (datetime('now'))",
        ") STRICT;",
        "GENERATED ALWAYS AS (length(body) - length(replace(body, ' ', '')) + 1) VIRTUAL",
        "GENERATED ALWAYS AS (substr(body, 1, 80)) STORED",
        "CONSTRAINT \"note_check\" CHECK (pinned IN (0, 1))",
        "CONSTRAINT \"note_body_size\" CHECK (length(body) < 1000000)",
        "COLLATE RTRIM",
        "CONSTRAINT \"tag_uses_check\" CHECK (uses >= 0)",
        ") WITHOUT ROWID, STRICT;",
        ") WITHOUT ROWID;",
        "ON UPDATE CASCADE",
        "WHERE pinned = 1",
        "ON notebook (lower(title))",
        "CREATE VIEW pinned_count",
        "INSTEAD OF INSERT ON pinned_note",
        "CREATE TRIGGER tag_unused",
    ] {
        assert!(ddl.contains(needle), "{needle} missing from:\n{ddl}");
    }
}
