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

use crate::review::impact::Impact;
use crate::review::{Finding, Level, Report, Risk, RuleId};

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
    let mut out = Out::new(out);
    match format {
        Format::Text => text(reports, &mut out)?,
        Format::Json => json(reports, &mut out)?,
        Format::Sarif => sarif(reports, &mut out)?,
        Format::Github => github(reports, &mut out)?,
    }
    out.finish()
}

/// How much output is gathered before it is handed to the caller's writer.
const CHUNK: usize = 1 << 16;

/// The output as the formats write it: bytes gathered in a chunk of our own (one call through
/// the caller's `dyn Write` per 64 KiB rather than per field), with the pieces a finding is made
/// of — text, decimal numbers, JSON strings — written without `fmt` machinery.
struct Out<'w> {
    buf: Vec<u8>,
    inner: &'w mut dyn Write,
}

impl<'w> Out<'w> {
    fn new(inner: &'w mut dyn Write) -> Self {
        Out {
            buf: Vec::with_capacity(CHUNK + 4096),
            inner,
        }
    }

    /// Hands a full chunk over (call after each record).
    fn spill(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    fn str(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    /// `n` in decimal.
    fn num(&mut self, n: usize) {
        push_num(&mut self.buf, n);
    }

    /// `s` as a JSON string.
    fn json_str(&mut self, s: &str) {
        push_json_str(&mut self.buf, s);
    }

    /// `value` as `serde_json` writes it (for the parts of a document that are not per finding).
    fn serde(&mut self, value: &(impl Serialize + ?Sized)) -> io::Result<()> {
        serde_json::to_writer(&mut *self, value).map_err(io::Error::from)
    }
}

/// `n` in decimal, as `Display` (and `serde_json`) write it.
fn push_num(buf: &mut Vec<u8>, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        // A digit: always below 10.
        digits[i] = b'0' + u8::try_from(n % 10).unwrap_or(0);
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

/// `s` as a JSON string, quoted and escaped exactly as `serde_json` does: `"` and `\`
/// backslashed, control characters as `\b \t \n \f \r` or `\u00xx`, everything else as is.
fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    buf.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time: a word with nothing to escape is skipped whole (most
        // messages need no escape at all), a flagged word or the tail is read byte by byte.
        let end = match bytes.get(i..i + 8) {
            Some(word) if !needs_escape(u64::from_le_bytes(word.try_into().unwrap_or([0; 8]))) => {
                i += 8;
                continue;
            }
            Some(_) => i + 8,
            None => bytes.len(),
        };
        for (j, &b) in bytes.iter().enumerate().take(end).skip(i) {
            if b >= 0x20 && b != b'"' && b != b'\\' {
                continue;
            }
            buf.extend_from_slice(&bytes[start..j]);
            start = j + 1;
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                0x08 => buf.extend_from_slice(b"\\b"),
                0x09 => buf.extend_from_slice(b"\\t"),
                0x0a => buf.extend_from_slice(b"\\n"),
                0x0c => buf.extend_from_slice(b"\\f"),
                0x0d => buf.extend_from_slice(b"\\r"),
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    buf.extend_from_slice(b"\\u00");
                    buf.push(HEX[usize::from(b >> 4)]);
                    buf.push(HEX[usize::from(b & 0xf)]);
                }
            }
        }
        i = end;
    }
    buf.extend_from_slice(&bytes[start..]);
    buf.push(b'"');
}

/// Whether any of the eight bytes in `w` is a control character, `"` or `\` (the classic
/// "has a byte less than n" bit trick; it may also flag a byte above a real hit, never miss one,
/// so a flagged word is then read byte by byte).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0;
    below_space || has_zero(w ^ (ONES * u64::from(b'"'))) || has_zero(w ^ (ONES * u64::from(b'\\')))
}

impl Write for Out<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        self.spill()?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
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

fn text(reports: &[FileReport], out: &mut Out<'_>) -> io::Result<()> {
    for r in reports {
        for f in &r.report.findings {
            // `{path}:{line}: {level} {rule} — {message}`
            out.str(&r.path);
            out.raw(b":");
            out.num(f.line);
            out.raw(b": ");
            out.str(f.level.as_str());
            out.raw(b" ");
            out.str(&f.rule);
            out.raw(" — ".as_bytes());
            out.str(&f.message);
            out.raw(b"\n");
            out.spill()?;
        }
    }
    for r in reports {
        for i in r.report.impacts.iter().filter(|i| !i.new_table) {
            writeln!(out, "{}:{}: impact {}", r.path, i.line, i.describe())?;
        }
    }
    for r in reports {
        for n in &r.report.not_evaluated {
            writeln!(
                out,
                "{}: note: {} not evaluated — {}",
                label(r),
                n.rule,
                n.reason
            )?;
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

/// One finding in the JSON document, as `serde_json` would write it: the reference the
/// hand-written [`json_finding`] is tested against.
#[cfg(test)]
#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    level: Level,
    statement: usize,
    line: usize,
    column: usize,
    message: &'a str,
}

#[cfg(test)]
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

/// One finding of the JSON document:
/// `{"rule":…,"level":…,"statement":…,"line":…,"column":…,"message":…}`.
fn json_finding(out: &mut Out<'_>, f: &Finding) {
    out.raw(b"{\"rule\":");
    out.json_str(&f.rule);
    out.raw(b",\"level\":\"");
    out.str(f.level.as_str());
    out.raw(b"\",\"statement\":");
    out.num(f.statement);
    out.raw(b",\"line\":");
    out.num(f.line);
    out.raw(b",\"column\":");
    out.num(f.column);
    out.raw(b",\"message\":");
    out.json_str(&f.message);
    out.raw(b"}");
}

/// The JSON document: `{"files":[{"path","engine","risk","statements","findings","object"?,
/// "impacts"?,"notEvaluated"?}…],"summary":{"errors","warnings"}}`, compact, as `serde_json`
/// writes it; the findings are written by hand, the rest through `serde_json`.
fn json(reports: &[FileReport], out: &mut Out<'_>) -> io::Result<()> {
    let (errors, warnings) = totals(reports);
    out.raw(b"{\"files\":[");
    for (k, r) in reports.iter().enumerate() {
        if k > 0 {
            out.raw(b",");
        }
        out.raw(b"{\"path\":");
        out.json_str(&r.path);
        out.raw(b",\"engine\":");
        out.serde(&r.report.engine)?;
        out.raw(b",\"risk\":");
        out.serde(&r.report.risk)?;
        out.raw(b",\"statements\":");
        out.num(r.report.statements);
        out.raw(b",\"findings\":[");
        for (i, f) in r.report.findings.iter().enumerate() {
            if i > 0 {
                out.raw(b",");
            }
            json_finding(out, f);
            out.spill()?;
        }
        out.raw(b"]");
        if let Some(object) = &r.object {
            out.raw(b",\"object\":");
            out.json_str(object);
        }
        if !r.report.impacts.is_empty() {
            out.raw(b",\"impacts\":");
            out.serde(&r.report.impacts)?;
        }
        if !r.report.not_evaluated.is_empty() {
            out.raw(b",\"notEvaluated\":");
            out.serde(&r.report.not_evaluated)?;
        }
        out.raw(b"}");
        out.spill()?;
    }
    out.raw(b"],\"summary\":");
    out.serde(&serde_json::json!({"errors": errors, "warnings": warnings}))?;
    out.raw(b"}\n");
    Ok(())
}

/// A SARIF rule descriptor for a rule id that has findings.
fn sarif_rule(id: &str) -> SarifRule {
    let name = RuleId::lookup(id).map_or(id, |r| r.info().enum_name);
    SarifRule {
        id: id.to_owned(),
        name: name.to_owned(),
        short_description: SarifText {
            text: format!("schemagate SQL review rule {id} ({name})").into(),
        },
        help_uri: Some("https://www.bytebase.com/docs/sql-review/review-rules/"),
    }
}

/// The pseudo-rule `impact`: what a statement locks, rewrites or scans.
fn impact_rule() -> SarifRule {
    SarifRule {
        id: "impact".into(),
        name: "IMPACT".into(),
        short_description: SarifText {
            text: "What the statement locks, rewrites or scans".into(),
        },
        help_uri: None,
    }
}

/// One statement's impact as a `note` of the pseudo-rule `impact` (at `rule_index`).
fn impact_result<'a>(i: &'a Impact, uri: &'a str, rule_index: usize) -> SarifResult<'a> {
    SarifResult {
        rule_id: "impact",
        rule_index,
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
    }
}

/// The rules a file's review did not evaluate, as SARIF tool-execution notifications.
fn not_evaluated_notifications(reports: &[FileReport], uris: &[String]) -> Vec<serde_json::Value> {
    reports
        .iter()
        .zip(uris)
        .flat_map(|(r, uri)| {
            r.report.not_evaluated.iter().map(move |n| {
                serde_json::json!({
                    "level": "note",
                    "descriptor": {"id": n.rule},
                    "message": {"text": format!("{} not evaluated: {}", n.rule, n.reason)},
                    "locations": location(uri, 1, None),
                })
            })
        })
        .collect()
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

/// The SARIF document, compact, as `serde_json` writes it. The results of findings are written
/// by hand from parts computed once (each rule's `ruleId`/`ruleIndex`, each file's location up
/// to the line); the rest goes through `serde_json`.
fn sarif(reports: &[FileReport], out: &mut Out<'_>) -> io::Result<()> {
    // Rules are listed sorted by id and each result names its rule's position. A few dozen
    // rules over up to hundreds of thousands of findings: each finding's rule is looked up
    // once, in order of first appearance, then renumbered (a sorted set of every finding's id
    // was a string comparison per level of the tree and per finding).
    let mut seen: HashMap<&str, u32> = HashMap::new();
    let mut used: Vec<&str> = Vec::new();
    let first: Vec<Vec<u32>> = reports
        .iter()
        .map(|r| {
            let mut last: Option<(&str, u32)> = None;
            r.report
                .findings
                .iter()
                .map(|f| {
                    // Findings of one rule often come in runs: skip the hash for those.
                    if let Some((rule, i)) = last
                        && rule == f.rule
                    {
                        return i;
                    }
                    let i = *seen.entry(f.rule.as_str()).or_insert_with(|| {
                        used.push(f.rule.as_str());
                        u32::try_from(used.len() - 1).unwrap_or(u32::MAX)
                    });
                    last = Some((f.rule.as_str(), i));
                    i
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
    let mut rules: Vec<SarifRule> = used.iter().map(|id| sarif_rule(id)).collect();
    // Each statement's impact (lock, rewrite, scan) is a `note` of the pseudo-rule `impact`.
    let impact_index = rules.len();
    if any_impact {
        rules.push(impact_rule());
    }
    let uris: Vec<String> = reports.iter().map(|r| uri(&r.path)).collect();
    let notifications = not_evaluated_notifications(reports, &uris);

    out.raw(b"{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":");
    out.serde(&serde_json::json!({"driver": {
        "name": "schemagate",
        "version": env!("CARGO_PKG_VERSION"),
        "informationUri": "https://example.invalid/schemagate",
        "rules": rules,
    }}))?;
    out.raw(b",\"columnKind\":\"unicodeCodePoints\",\"results\":[");
    // `{"ruleId":…,"ruleIndex":…,"level":"` of each rule, by its index in `used`.
    let heads: Vec<Vec<u8>> = used
        .iter()
        .enumerate()
        .map(|(index, id)| sarif_head(id, index))
        .collect();
    let mut comma = false;
    for ((r, uri), first) in reports.iter().zip(&uris).zip(&first) {
        // From the end of the message to the line: the same for every finding of the file.
        let located = sarif_located(uri);
        for (f, &i) in r.report.findings.iter().zip(first) {
            if comma {
                out.raw(b",");
            }
            comma = true;
            let index = rank.get(i as usize).copied().unwrap_or_default();
            let risk = r.report.statement_risks.get(f.statement).copied();
            sarif_result(&mut out.buf, heads.get(index), index, &located, f, risk);
            out.spill()?;
        }
    }
    for (r, uri) in reports.iter().zip(&uris) {
        for i in r.report.impacts.iter().filter(|i| !i.new_table) {
            if comma {
                out.raw(b",");
            }
            comma = true;
            out.serde(&impact_result(i, uri, impact_index))?;
        }
    }
    out.raw(b"]");
    if !notifications.is_empty() {
        out.raw(b",\"invocations\":");
        out.serde(&[serde_json::json!({
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        })])?;
    }
    out.raw(b"}]}\n");
    Ok(())
}

/// `{"ruleId":…,"ruleIndex":…,"level":"` of a rule.
fn sarif_head(id: &str, index: usize) -> Vec<u8> {
    let mut head = b"{\"ruleId\":".to_vec();
    push_json_str(&mut head, id);
    head.extend_from_slice(b",\"ruleIndex\":");
    push_num(&mut head, index);
    head.extend_from_slice(b",\"level\":\"");
    head
}

/// `},"locations":[{"physicalLocation":{"artifactLocation":{"uri":…},"region":{"startLine":`
/// of a file.
fn sarif_located(uri: &str) -> Vec<u8> {
    let mut located =
        b"},\"locations\":[{\"physicalLocation\":{\"artifactLocation\":{\"uri\":".to_vec();
    push_json_str(&mut located, uri);
    located.extend_from_slice(b"},\"region\":{\"startLine\":");
    located
}

/// The result of one finding, as `serde_json` writes its [`SarifResult`]: `head` is its rule's
/// [`sarif_head`] (`None`: written here), `located` its file's [`sarif_located`].
fn sarif_result(
    buf: &mut Vec<u8>,
    head: Option<&Vec<u8>>,
    index: usize,
    located: &[u8],
    f: &Finding,
    risk: Option<Risk>,
) {
    match head {
        Some(head) => buf.extend_from_slice(head),
        None => buf.extend_from_slice(&sarif_head(&f.rule, index)),
    }
    buf.extend_from_slice(f.level.as_str().as_bytes());
    buf.extend_from_slice(b"\",\"message\":{\"text\":");
    push_json_str(buf, &f.message);
    buf.extend_from_slice(located);
    push_num(buf, f.line);
    buf.extend_from_slice(b",\"startColumn\":");
    push_num(buf, f.column + 1);
    buf.extend_from_slice(b"}}}],\"properties\":{\"statement\":");
    push_num(buf, f.statement);
    if let Some(risk) = risk {
        buf.extend_from_slice(b",\"risk\":\"");
        buf.extend_from_slice(risk.as_str().as_bytes());
        buf.push(b'"');
    }
    buf.extend_from_slice(b"}}");
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

fn github(reports: &[FileReport], out: &mut Out<'_>) -> io::Result<()> {
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
    for r in reports {
        for n in &r.report.not_evaluated {
            writeln!(
                out,
                "::notice file={},title={}::{}",
                escape(&r.path, true),
                escape(&n.rule, true),
                escape(&format!("not evaluated: {}", n.reason), false)
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

#[cfg(test)]
#[path = "review_output_tests.rs"]
mod tests;
