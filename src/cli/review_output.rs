//! Output formats of `schemagate review`: text, JSON, SARIF 2.1.0 and GitHub workflow
//! annotations. Formatting only: must not review or read files.
//!
//! Every format is written straight to the output as it is produced: the JSON and SARIF
//! documents are serialized from borrowed views of the reports (no intermediate JSON tree, no
//! whole-document string), so a review with hundreds of thousands of findings needs no more
//! memory to print than it needed to review.

use std::collections::HashMap;
use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap as _, SerializeSeq as _, Serializer as _};

use crate::review::impact::Impact;
use crate::review::{Engine, Finding, Level, Report, Risk, RuleId};

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

/// Writes all reports in `format` to `out` (buffer it: many small writes).
///
/// # Errors
/// Writing failed.
pub fn write(format: Format, reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text(reports, out),
        Format::Json => json(reports, out),
        Format::Sarif => sarif(reports, out),
        Format::Github => github(reports, out),
    }
}

/// All reports in `format`, as one string (for tests and small outputs).
#[must_use]
pub fn render(format: Format, reports: &[FileReport]) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write(format, reports, &mut out);
    String::from_utf8_lossy(&out).into_owned()
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

fn text(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for r in reports {
        for f in &r.report.findings {
            writeln!(
                out,
                "{}:{}: {} {} — {}",
                r.path,
                f.line,
                f.level.as_str(),
                f.rule,
                f.message
            )?;
        }
    }
    for r in reports {
        for i in r.report.impacts.iter().filter(|i| !i.new_table) {
            writeln!(out, "{}:{}: impact {}", r.path, i.line, i.describe())?;
        }
    }
    for r in reports {
        writeln!(
            out,
            "{}: {} statement(s), risk {}",
            label(r),
            r.report.statements,
            r.report.risk.as_str()
        )?;
    }
    let (errors, warnings) = totals(reports);
    let risk = reports
        .iter()
        .map(|r| r.report.risk)
        .max()
        .unwrap_or(Risk::Low);
    writeln!(
        out,
        "{} input(s) reviewed: {errors} error(s), {warnings} warning(s), highest risk {}",
        reports.len(),
        risk.as_str()
    )
}

/// One finding in the JSON document.
#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    level: Level,
    statement: usize,
    line: usize,
    column: usize,
    message: &'a str,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        Self {
            rule: &f.rule,
            level: f.level,
            statement: f.statement,
            line: f.line,
            column: f.column,
            message: &f.message,
        }
    }
}

fn json_findings<S: serde::Serializer>(findings: &&[Finding], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(findings.iter().map(JsonFinding::from))
}

/// A sequence serialized from an iterator as it is consumed.
struct Streamed<F>(F);

impl<I, F> Serialize for Streamed<F>
where
    F: Fn() -> I,
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for item in (self.0)() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

/// One input in the JSON document.
#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    engine: Engine,
    risk: Risk,
    statements: usize,
    #[serde(serialize_with = "json_findings")]
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Impact]>::is_empty")]
    impacts: &'a [Impact],
}

fn json(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    let (errors, warnings) = totals(reports);
    let mut ser = serde_json::Serializer::new(&mut *out);
    let mut doc = ser.serialize_map(Some(2))?;
    doc.serialize_entry(
        "files",
        &Streamed(|| {
            reports.iter().map(|r| JsonFile {
                path: &r.path,
                engine: r.report.engine,
                risk: r.report.risk,
                statements: r.report.statements,
                findings: &r.report.findings,
                object: r.object.as_deref(),
                impacts: &r.report.impacts,
            })
        }),
    )?;
    doc.serialize_entry(
        "summary",
        &serde_json::json!({"errors": errors, "warnings": warnings}),
    )?;
    serde::ser::SerializeMap::end(doc)?;
    writeln!(out)
}

fn uri(path: &str) -> String {
    path.trim_start_matches("./").replace(' ', "%20")
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRule {
    id: String,
    name: String,
    short_description: SarifText<'static>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'static str>,
}

#[derive(Serialize)]
struct SarifText<'a> {
    text: std::borrow::Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'a str,
    rule_index: usize,
    level: &'static str,
    message: SarifText<'a>,
    locations: [SarifLocation<'a>; 1],
    properties: SarifProperties<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifLocation<'a> {
    physical_location: SarifPhysical<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifPhysical<'a> {
    artifact_location: SarifArtifact<'a>,
    region: SarifRegion,
}

#[derive(Serialize)]
struct SarifArtifact<'a> {
    uri: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifRegion {
    start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_column: Option<usize>,
}

#[derive(Serialize)]
struct SarifProperties<'a> {
    statement: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    risk: Option<Risk>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impact: Option<&'a Impact>,
}

fn location(uri: &str, line: usize, column: Option<usize>) -> [SarifLocation<'_>; 1] {
    [SarifLocation {
        physical_location: SarifPhysical {
            artifact_location: SarifArtifact { uri },
            region: SarifRegion {
                start_line: line,
                start_column: column,
            },
        },
    }]
}

fn sarif(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    // Rules are listed sorted by id and each result names its rule's position. A few dozen
    // rules over up to hundreds of thousands of findings: each finding's rule is looked up
    // once, in order of first appearance, then renumbered (a sorted set of every finding's id
    // was a string comparison per level of the tree and per finding).
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut used: Vec<&str> = Vec::new();
    let first: Vec<Vec<u32>> = reports
        .iter()
        .map(|r| {
            r.report
                .findings
                .iter()
                .map(|f| {
                    *seen.entry(f.rule.as_str()).or_insert_with(|| {
                        used.push(f.rule.as_str());
                        u32::try_from(used.len() - 1).unwrap_or(u32::MAX)
                    })
                })
                .collect()
        })
        .collect();
    let mut order: Vec<usize> = (0..used.len()).collect();
    order.sort_unstable_by_key(|&i| used[i]);
    let mut rank = vec![0; used.len()];
    for (sorted, &i) in order.iter().enumerate() {
        rank[i] = sorted;
    }
    used.sort_unstable();
    let any_impact = reports
        .iter()
        .any(|r| r.report.impacts.iter().any(|i| !i.new_table));
    let mut rules: Vec<SarifRule> = used
        .iter()
        .map(|id| {
            let name = RuleId::lookup(id).map_or(*id, |r| r.info().enum_name);
            SarifRule {
                id: (*id).to_owned(),
                name: name.to_owned(),
                short_description: SarifText {
                    text: format!("schemagate SQL review rule {id} ({name})").into(),
                },
                help_uri: Some("https://www.bytebase.com/docs/sql-review/review-rules/"),
            }
        })
        .collect();
    // Each statement's impact (lock, rewrite, scan) is a `note` of the pseudo-rule `impact`.
    let impact_index = rules.len();
    if any_impact {
        rules.push(SarifRule {
            id: "impact".into(),
            name: "IMPACT".into(),
            short_description: SarifText {
                text: "What the statement locks, rewrites or scans".into(),
            },
            help_uri: None,
        });
    }
    let uris: Vec<String> = reports.iter().map(|r| uri(&r.path)).collect();
    let findings = || {
        reports
            .iter()
            .zip(&uris)
            .zip(&first)
            .flat_map(|((r, uri), first)| {
                r.report
                    .findings
                    .iter()
                    .zip(first)
                    .map(|(f, &i)| SarifResult {
                        rule_id: &f.rule,
                        rule_index: rank.get(i as usize).copied().unwrap_or_default(),
                        level: match f.level {
                            Level::Error => "error",
                            Level::Warning => "warning",
                        },
                        message: SarifText {
                            text: f.message.as_str().into(),
                        },
                        locations: location(uri, f.line, Some(f.column + 1)),
                        properties: SarifProperties {
                            statement: f.statement,
                            risk: r.report.statement_risks.get(f.statement).copied(),
                            impact: None,
                        },
                    })
            })
    };
    let impacts = || {
        reports.iter().zip(&uris).flat_map(|(r, uri)| {
            r.report
                .impacts
                .iter()
                .filter(|i| !i.new_table)
                .map(|i| SarifResult {
                    rule_id: "impact",
                    rule_index: impact_index,
                    level: "note",
                    message: SarifText {
                        text: i.describe().into(),
                    },
                    locations: location(uri, i.line, None),
                    properties: SarifProperties {
                        statement: i.statement,
                        risk: None,
                        impact: Some(i),
                    },
                })
        })
    };
    let mut ser = serde_json::Serializer::new(&mut *out);
    let mut doc = ser.serialize_map(Some(3))?;
    doc.serialize_entry("$schema", "https://json.schemastore.org/sarif-2.1.0.json")?;
    doc.serialize_entry("version", "2.1.0")?;
    doc.serialize_entry(
        "runs",
        &[SarifRun {
            rules: &rules,
            results: Streamed(|| findings().chain(impacts())),
        }],
    )?;
    serde::ser::SerializeMap::end(doc)?;
    writeln!(out)
}

/// The one run of the SARIF document.
struct SarifRun<'a, F> {
    rules: &'a [SarifRule],
    results: Streamed<F>,
}

impl<'a, I, F> Serialize for SarifRun<'a, F>
where
    F: Fn() -> I,
    I: Iterator<Item = SarifResult<'a>>,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut run = serializer.serialize_map(Some(3))?;
        run.serialize_entry(
            "tool",
            &serde_json::json!({"driver": {
                "name": "schemagate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/schemagate",
                "rules": self.rules,
            }}),
        )?;
        run.serialize_entry("columnKind", "unicodeCodePoints")?;
        run.serialize_entry("results", &self.results)?;
        run.end()
    }
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

fn github(reports: &[FileReport], out: &mut dyn Write) -> io::Result<()> {
    for r in reports {
        for f in &r.report.findings {
            let cmd = match f.level {
                Level::Error => "error",
                Level::Warning => "warning",
            };
            writeln!(
                out,
                "::{cmd} file={},line={},col={},title={}::{}",
                escape(&r.path, true),
                f.line,
                f.column + 1,
                escape(&f.rule, true),
                escape(&f.message, false)
            )?;
        }
    }
    let (errors, warnings) = totals(reports);
    writeln!(
        out,
        "schemagate review: {} input(s), {errors} error(s), {warnings} warning(s)",
        reports.len()
    )
}
