//! The hand-written JSON and SARIF writers against `serde_json`: the same documents,
//! serialized from plain structs, must come out byte for byte the same.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use super::*;
use crate::review::live::NotEvaluated;
use crate::review::{Engine, Policy, review};

/// Strings a message may hold: quotes, backslashes, every control character, DEL, non-ASCII.
fn awkward() -> Vec<String> {
    let mut out = vec![
        String::new(),
        "plain".to_owned(),
        "Column \"t.c\" needs a DEFAULT".to_owned(),
        "back\\slash \\\" and \\\\".to_owned(),
        "tab\tnew\nline\rcr form\u{c}feed back\u{8}space".to_owned(),
        "del \u{7f} é ß 漢字 😀 — …".to_owned(),
        "/* slash / */ <html> & 'quote'".to_owned(),
    ];
    out.push((0u8..0x20).map(char::from).collect());
    out
}

fn finding(rule: &str, level: Level, statement: usize, line: usize, column: usize) -> Finding {
    Finding {
        rule: rule.to_owned(),
        level,
        statement,
        line,
        column,
        message: String::new(),
    }
}

#[test]
fn numbers_and_strings_are_written_as_serde_json_writes_them() {
    for n in [0, 1, 9, 10, 99, 100, 12_345, u32::MAX as usize, usize::MAX] {
        let mut buf = Vec::new();
        push_num(&mut buf, n);
        assert_eq!(String::from_utf8(buf).unwrap(), n.to_string());
    }
    // Every ASCII character and a few others at every position of strings around the
    // eight-byte words the writer skips over, alone and next to other escapes.
    let mut strings: Vec<String> = awkward();
    for c in (0u8..0x80)
        .map(char::from)
        .chain(['é', '日', '\u{2028}', '\u{7f}'])
    {
        for len in [1, 7, 8, 9, 16, 17] {
            for at in 0..len {
                let mut t: String = "abcdefghijklmnopq".chars().take(len).collect();
                t.replace_range(at..=at, c.encode_utf8(&mut [0; 4]));
                strings.push(t.clone());
                t.push('"');
                strings.push(t);
            }
        }
    }
    for s in strings {
        let mut buf = Vec::new();
        push_json_str(&mut buf, &s);
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            serde_json::to_string(&s).unwrap(),
            "{s:?}"
        );
    }
}

/// Reports with every optional part: an object, impacts (one on a new table, left out of
/// SARIF), rules not evaluated, and findings whose messages need escaping.
fn reports() -> Vec<FileReport> {
    let policy = Policy::preset("default").unwrap();
    let mut first = review(
        "CREATE TABLE t (id int, note text);\n\
         ALTER TABLE orders ADD COLUMN c int NOT NULL DEFAULT 1;\n\
         ALTER TABLE t ADD COLUMN d int;\n\
         SET ROLE app;\nDELETE FROM app.carts WHERE id = 1;\n",
        Engine::Postgres,
        &policy,
        None,
    );
    assert!(first.impacts.iter().any(|i| !i.new_table), "{first:?}");
    assert!(!first.not_evaluated.is_empty(), "{first:?}");
    assert!(first.findings.len() >= awkward().len(), "{first:?}");
    for (f, m) in first.findings.iter_mut().zip(awkward()) {
        f.message = m;
    }
    let mut second = review(
        "CREATE TABLE `a b` (`x` varchar(300));",
        Engine::Mysql,
        &policy,
        None,
    );
    second
        .findings
        .push(finding("no.such-rule \"quoted\"", Level::Error, 0, 1, 0));
    vec![
        FileReport {
            path: "./dir/with space/a.sql".into(),
            object: None,
            report: first,
        },
        FileReport {
            path: "manifests/change \"x\".yaml".into(),
            object: Some("SchemaChange/add-\"col\"".into()),
            report: second,
        },
        FileReport {
            path: "empty.sql".into(),
            object: None,
            report: review("", Engine::Sqlite, &policy, None),
        },
    ]
}

/// The JSON document as plain `serde_json` structs.
#[derive(Serialize)]
struct RefDoc<'a> {
    files: Vec<RefFile<'a>>,
    summary: serde_json::Value,
}

#[derive(Serialize)]
struct RefFile<'a> {
    path: &'a str,
    engine: Engine,
    risk: Risk,
    statements: usize,
    findings: Vec<JsonFinding<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Impact]>::is_empty")]
    impacts: &'a [Impact],
    #[serde(
        rename = "notEvaluated",
        skip_serializing_if = "<[NotEvaluated]>::is_empty"
    )]
    not_evaluated: &'a [NotEvaluated],
}

#[test]
fn json_is_what_serde_json_writes() {
    let reports = reports();
    let (errors, warnings) = totals(&reports);
    let doc = RefDoc {
        files: reports
            .iter()
            .map(|r| RefFile {
                path: &r.path,
                engine: r.report.engine,
                risk: r.report.risk,
                statements: r.report.statements,
                findings: r.report.findings.iter().map(JsonFinding::from).collect(),
                object: r.object.as_deref(),
                impacts: &r.report.impacts,
                not_evaluated: &r.report.not_evaluated,
            })
            .collect(),
        summary: serde_json::json!({"errors": errors, "warnings": warnings}),
    };
    let want = serde_json::to_string(&doc).unwrap() + "\n";
    assert_eq!(render(Format::Json, &reports), want);
}

/// The SARIF document as plain `serde_json` structs.
#[derive(Serialize)]
struct RefSarif<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [RefRun<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefRun<'a> {
    tool: serde_json::Value,
    column_kind: &'static str,
    results: Vec<SarifResult<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invocations: Option<serde_json::Value>,
}

#[test]
fn sarif_is_what_serde_json_writes() {
    let reports = reports();
    let ids: Vec<&str> = reports
        .iter()
        .flat_map(|r| r.report.findings.iter().map(|f| f.rule.as_str()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rules: Vec<SarifRule> = ids.iter().map(|id| sarif_rule(id)).collect();
    rules.push(impact_rule());
    let uris: Vec<String> = reports.iter().map(|r| uri(&r.path)).collect();
    assert_eq!(uris[0], "dir/with%20space/a.sql");
    let mut results = Vec::new();
    for (r, uri) in reports.iter().zip(&uris) {
        for f in &r.report.findings {
            results.push(SarifResult {
                rule_id: &f.rule,
                rule_index: ids.iter().position(|i| *i == f.rule).unwrap(),
                level: f.level.as_str(),
                message: SarifText {
                    text: f.message.as_str().into(),
                },
                locations: location(uri, f.line, Some(f.column + 1)),
                properties: SarifProperties {
                    statement: f.statement,
                    risk: r.report.statement_risks.get(f.statement).copied(),
                    impact: None,
                },
            });
        }
    }
    for (r, uri) in reports.iter().zip(&uris) {
        for i in r.report.impacts.iter().filter(|i| !i.new_table) {
            results.push(impact_result(i, uri, ids.len()));
        }
    }
    let notifications = not_evaluated_notifications(&reports, &uris);
    let doc = RefSarif {
        schema: "https://json.schemastore.org/sarif-2.1.0.json",
        version: "2.1.0",
        runs: [RefRun {
            tool: serde_json::json!({"driver": {
                "name": "schemagate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/schemagate",
                "rules": rules,
            }}),
            column_kind: "unicodeCodePoints",
            results,
            invocations: Some(serde_json::json!([{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }])),
        }],
    };
    let want = serde_json::to_string(&doc).unwrap() + "\n";
    assert_eq!(render(Format::Sarif, &reports), want);
}

#[test]
fn text_lines_are_path_line_level_rule_message() {
    let mut report = empty_report();
    report.findings = vec![Finding {
        message: "needs \"x\" — é".into(),
        ..finding("table.require-pk", Level::Warning, 3, 12_345, 7)
    }];
    let out = render(
        Format::Text,
        &[FileReport {
            path: "a b.sql".into(),
            object: None,
            report,
        }],
    );
    assert!(
        out.starts_with("a b.sql:12345: warning table.require-pk — needs \"x\" — é\n"),
        "{out}"
    );
}

/// A report with nothing in it, for tests that fill in findings of their own.
fn empty_report() -> Report {
    review(
        "",
        Engine::Sqlite,
        &Policy::preset("default").unwrap(),
        None,
    )
}

/// Output larger than one chunk is handed over whole and in order.
#[test]
fn large_outputs_cross_chunks_intact() {
    let mut report = empty_report();
    report.findings = (0..20_000)
        .map(|i| Finding {
            message: format!("finding {i}"),
            ..finding("table.require-pk", Level::Error, i, i + 1, 0)
        })
        .collect();
    let reports = [FileReport {
        path: "big.sql".into(),
        object: None,
        report,
    }];
    let text = render(Format::Text, &reports);
    assert!(text.len() > 4 * CHUNK);
    for (i, line) in text.lines().take(20_000).enumerate() {
        assert_eq!(
            line,
            format!("big.sql:{}: error table.require-pk — finding {i}", i + 1)
        );
    }
    for format in [Format::Json, Format::Sarif] {
        let doc: serde_json::Value = serde_json::from_str(&render(format, &reports)).unwrap();
        let n = match format {
            Format::Json => doc["files"][0]["findings"].as_array().unwrap().len(),
            _ => doc["runs"][0]["results"].as_array().unwrap().len(),
        };
        assert_eq!(n, 20_000);
    }
}
