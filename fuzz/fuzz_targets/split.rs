//! Fuzz target: the statement splitter on arbitrary bytes, for every engine. Checks that
//! statements are real, ordered slices of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use schemagate::review::Engine;
use schemagate::review::split::split;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else { return };
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let mut last = 0;
        for s in split(sql, engine) {
            assert!(s.range.start >= last);
            assert_eq!(&sql[s.range.clone()], s.text);
            last = s.range.end;
        }
    }
});
