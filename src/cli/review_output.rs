//! Output formats of `schemagate review`: text, JSON, SARIF 2.1.0 and GitHub workflow
//! annotations. Formatting only: must not review or read files.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::review::{Level, Report, Risk, RuleId};

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// For people: `file:line: level rule — message`, then a summary.
    Text,
    /// One JSON object with every file and a summary.
    Json,
    /// SARIF 2.1.0 for code-scanning UIs.
    Sarif,
    /// GitHub Actions workflow annotations.
    Github,
}

/// The review of one input (a SQL file or one SchemaChange).
#[derive(Debug)]
pub struct FileReport {
    /// Path shown to people and code-scanning tools.
    pub path: String,
    /// `SchemaChange/<name>` for manifests.
    pub object: Option<String>,
    /// The review.
    pub report: Report,
}

/// Renders all reports in `format`.
#[must_use]
pub fn render(format: Format, reports: &[FileReport]) -> String {
    match format {
        Format::Text => text(reports),
        Format::Json => json_text(reports),
        Format::Sarif => sarif(reports),
        Format::Github => github(reports),
    }
}

fn totals(reports: &[FileReport]) -> (usize, usize) {
    reports.iter().fold((0, 0), |(e, w), r| {
        (e + r.report.errors(), w + r.report.warnings())
    })
}

fn label(r: &FileReport) -> String {
    match &r.object {
        Some(o) => format!("{} ({o})", r.path),
        None => r.path.clone(),
    }
}

fn text(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.report.findings {
            let _ = writeln!(
                out,
                "{}:{}: {} {} — {}",
                r.path,
                f.line,
                f.level.as_str(),
                f.rule,
                f.message
            );
        }
    }
    for r in reports {
        for i in r.report.impacts.iter().filter(|i| !i.new_table) {
            let _ = writeln!(out, "{}:{}: impact {}", r.path, i.line, i.describe());
        }
    }
    for r in reports {
        let _ = writeln!(
            out,
            "{}: {} statement(s), risk {}",
            label(r),
            r.report.statements,
            r.report.risk.as_str()
        );
    }
    let (errors, warnings) = totals(reports);
    let risk = reports
        .iter()
        .map(|r| r.report.risk)
        .max()
        .unwrap_or(Risk::Low);
    let _ = writeln!(
        out,
        "{} input(s) reviewed: {errors} error(s), {warnings} warning(s), highest risk {}",
        reports.len(),
        risk.as_str()
    );
    out
}

/// The JSON document of `--format json`.
#[must_use]
pub fn json_value(reports: &[FileReport]) -> Value {
    let files: Vec<Value> = reports
        .iter()
        .map(|r| {
            let mut v = json!({
                "path": r.path,
                "engine": r.report.engine,
                "risk": r.report.risk,
                "statements": r.report.statements,
                "findings": r.report.findings.iter().map(|f| json!({
                    "rule": f.rule,
                    "level": f.level,
                    "statement": f.statement,
                    "line": f.line,
                    "column": f.column,
                    "message": f.message,
                })).collect::<Vec<_>>(),
            });
            if let (Some(o), Some(map)) = (&r.object, v.as_object_mut()) {
                map.insert("object".to_owned(), json!(o));
            }
            if let (false, Some(map)) = (r.report.impacts.is_empty(), v.as_object_mut()) {
                map.insert("impacts".to_owned(), json!(r.report.impacts));
            }
            v
        })
        .collect();
    let (errors, warnings) = totals(reports);
    json!({"files": files, "summary": {"errors": errors, "warnings": warnings}})
}

fn json_text(reports: &[FileReport]) -> String {
    let mut s = json_value(reports).to_string();
    s.push('\n');
    s
}

fn uri(path: &str) -> String {
    path.trim_start_matches("./").replace(' ', "%20")
}

fn sarif(reports: &[FileReport]) -> String {
    let used: BTreeSet<&str> = reports
        .iter()
        .flat_map(|r| r.report.findings.iter().map(|f| f.rule.as_str()))
        .collect();
    let rules: Vec<Value> = used
        .iter()
        .map(|id| {
            let name = RuleId::lookup(id).map_or(*id, |r| r.info().enum_name);
            json!({
                "id": id,
                "name": name,
                "shortDescription": {"text": format!("schemagate SQL review rule {id} ({name})")},
                "helpUri": "https://www.bytebase.com/docs/sql-review/review-rules/",
            })
        })
        .collect();
    let used = &used;
    let results: Vec<Value> = reports
        .iter()
        .flat_map(|r| {
            r.report.findings.iter().map(move |f| {
                json!({
                    "ruleId": f.rule,
                    "ruleIndex": used.iter().position(|u| *u == f.rule),
                    "level": match f.level { Level::Error => "error", Level::Warning => "warning" },
                    "message": {"text": f.message},
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri(&r.path)},
                            "region": {"startLine": f.line, "startColumn": f.column + 1},
                        }
                    }],
                    "properties": {"statement": f.statement, "risk": r.report.statement_risks.get(f.statement)},
                })
            })
        })
        .collect();
    // Each statement's impact (lock, rewrite, scan) as a `note` of the pseudo-rule `impact`.
    let mut rules = rules;
    let mut results = results;
    let impacts: Vec<Value> = reports
        .iter()
        .flat_map(|r| {
            r.report
                .impacts
                .iter()
                .filter(|i| !i.new_table)
                .map(move |i| {
                    json!({
                        "ruleId": "impact",
                        "level": "note",
                        "message": {"text": i.describe()},
                        "locations": [{
                            "physicalLocation": {
                                "artifactLocation": {"uri": uri(&r.path)},
                                "region": {"startLine": i.line},
                            }
                        }],
                        "properties": {"statement": i.statement, "impact": i},
                    })
                })
        })
        .collect();
    if !impacts.is_empty() {
        let index = rules.len();
        results.extend(impacts.into_iter().map(|mut v| {
            if let Some(m) = v.as_object_mut() {
                m.insert("ruleIndex".into(), json!(index));
            }
            v
        }));
        rules.push(json!({
            "id": "impact",
            "name": "IMPACT",
            "shortDescription": {"text": "What the statement locks, rewrites or scans"},
        }));
    }
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "schemagate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/schemagate",
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut s = doc.to_string();
    s.push('\n');
    s
}

/// Escapes a workflow-command value (`%`, CR, LF; plus `:` and `,` in properties).
fn escape(s: &str, property: bool) -> String {
    let mut out = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

fn github(reports: &[FileReport]) -> String {
    let mut out = String::new();
    for r in reports {
        for f in &r.report.findings {
            let cmd = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            let _ = writeln!(
                out,
                "::{cmd} file={},line={},col={},title={}::{}",
                escape(&r.path, true),
                f.line,
                f.column + 1,
                escape(&f.rule, true),
                escape(&f.message, false)
            );
        }
    }
    let (errors, warnings) = totals(reports);
    let _ = writeln!(
        out,
        "schemagate review: {} input(s), {errors} error(s), {warnings} warning(s)",
        reports.len()
    );
    out
}
