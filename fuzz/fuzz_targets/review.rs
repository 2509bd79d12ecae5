//! Fuzz target: the full reviewer (split, parse, rules, catalog walk-through) on arbitrary input,
//! with the strict preset and a small schema, for every engine.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemagate::review::{Catalog, Engine, Policy, review};

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    let Ok(policy) = Policy::preset("strict") else { return };
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let Ok(schema) = Catalog::from_ddl(engine, "CREATE TABLE t (a int PRIMARY KEY, b int);") else { return };
        let report = review(sql, engine, &policy, Some(&schema));
        assert_eq!(report.statement_risks.len(), report.statements);
        let _ = Catalog::from_ddl(engine, sql);
    }
});
