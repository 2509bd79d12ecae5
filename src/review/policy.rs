//! Review policy: presets (`default`, `strict`), per-rule levels and payloads, loading of
//! schemagate's own YAML and of Bytebase's SQL-review YAML (`ruleList:`). Pure data handling:
//! it must not look at SQL.

use std::collections::BTreeMap;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::Engine;
use super::registry::{L, RULES, RuleId};

/// Errors in a policy: unknown rule ids, bad levels, bad payloads, bad YAML.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Rule ids that are neither Bytebase dotted ids nor enum spellings.
    #[error("unknown rule {}", .0.join(", "))]
    UnknownRules(Vec<String>),
    /// A preset name other than `default` or `strict`.
    #[error("unknown preset {0:?} (expected default or strict)")]
    UnknownPreset(String),
    /// A level other than error, warning or disabled.
    #[error("rule {rule}: unknown level {level:?} (expected error, warning or disabled)")]
    UnknownLevel {
        /// The rule id as written.
        rule: String,
        /// The level as written.
        level: String,
    },
    /// A payload that does not have the rule's option shape.
    #[error("rule {rule}: invalid payload: {source}")]
    Payload {
        /// The rule id as written.
        rule: String,
        /// What was wrong.
        #[source]
        source: serde_json::Error,
    },
    /// A `format` option that is not a valid regular expression.
    #[error("rule {rule}: invalid format: {source}")]
    Format {
        /// The rule id as written.
        rule: String,
        /// The regex error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A rule that is one of schemagate's built-in guards: they always run at their fixed
    /// level, so a policy may not name them.
    #[error(
        "rule {0} is a built-in guard of schemagate: it always runs ({1}) and cannot be \
         configured, disabled or lowered; remove it from the policy"
    )]
    BuiltinGuard(String, &'static str),
    /// The policy file is not valid YAML of either supported shape.
    #[error("invalid policy YAML: {0}")]
    Yaml(#[source] serde_yaml_ng::Error),
}

/// The level a policy gives a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    /// Findings are errors.
    Error,
    /// Findings are warnings.
    Warning,
    /// The rule does not run.
    Disabled,
}

impl FromStr for RuleLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "error" => Ok(Self::Error),
            "warning" | "warn" => Ok(Self::Warning),
            "disabled" | "disable" | "off" => Ok(Self::Disabled),
            other => Err(other.to_owned()),
        }
    }
}

/// A rule's options, with Bytebase's YAML keys. Unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// Naming pattern (regex, with `{{table}}`-style templates for index names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Maximum identifier or comment length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<i64>,
    /// A number limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// A list of names (allow or deny, depending on the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<String>>,
    /// Whether a comment is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

impl Payload {
    fn overlay(mut self, top: Payload) -> Payload {
        self.format = top.format.or(self.format);
        self.max_length = top.max_length.or(self.max_length);
        self.number = top.number.or(self.number);
        self.list = top.list.or(self.list);
        self.required = top.required.or(self.required);
        self
    }
}

/// One explicit setting in a policy.
#[derive(Debug, Clone)]
struct Setting {
    rule: RuleId,
    engine: Option<Engine>,
    level: Option<RuleLevel>,
    payload: Option<Payload>,
}

/// A review policy: a base (preset or, for Bytebase files, nothing) plus explicit settings.
#[derive(Debug, Clone)]
pub struct Policy {
    base: Base,
    settings: Vec<Setting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Default,
    Strict,
    Empty,
}

/// Schemagate's own policy file shape.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnFile {
    #[serde(default)]
    preset: Option<String>,
    #[serde(default)]
    rules: BTreeMap<String, OwnRule>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OwnRule {
    Level(String),
    Full {
        #[serde(default)]
        level: Option<String>,
        #[serde(default)]
        payload: Option<serde_json::Value>,
    },
}

/// Bytebase's SQL-review policy shape.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BytebaseFile {
    #[serde(default)]
    preset: Option<String>,
    rule_list: Vec<BytebaseRule>,
}

#[derive(Debug, Deserialize)]
struct BytebaseRule {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    engine: Option<String>,
    #[serde(default)]
    payload: Option<serde_json::Value>,
}

/// Payloads arrive as objects or, in Bytebase exports, as JSON text.
fn parse_payload(rule: &str, value: serde_json::Value) -> Result<Payload, PolicyError> {
    let value = match value {
        serde_json::Value::String(s) if s.trim().is_empty() => return Ok(Payload::default()),
        serde_json::Value::String(s) => {
            serde_json::from_str(&s).map_err(|source| PolicyError::Payload {
                rule: rule.to_owned(),
                source,
            })?
        }
        serde_json::Value::Null => return Ok(Payload::default()),
        v => v,
    };
    let payload: Payload =
        serde_json::from_value(value).map_err(|source| PolicyError::Payload {
            rule: rule.to_owned(),
            source,
        })?;
    if let Some(format) = &payload.format {
        NameFormat::new(format).map_err(|source| PolicyError::Format {
            rule: rule.to_owned(),
            source: Box::new(source),
        })?;
    }
    Ok(payload)
}

fn parse_level(rule: &str, level: Option<&str>) -> Result<Option<RuleLevel>, PolicyError> {
    level
        .map(|l| {
            l.parse().map_err(|level| PolicyError::UnknownLevel {
                rule: rule.to_owned(),
                level,
            })
        })
        .transpose()
}

impl Policy {
    /// A preset: `default` (Bytebase's dev template) or `strict` (its prod template).
    ///
    /// # Errors
    /// [`PolicyError::UnknownPreset`] for any other name.
    pub fn preset(name: &str) -> Result<Policy, PolicyError> {
        let base = match name.trim().to_ascii_lowercase().as_str() {
            "default" | "dev" => Base::Default,
            "strict" | "prod" => Base::Strict,
            _ => return Err(PolicyError::UnknownPreset(name.to_owned())),
        };
        Ok(Policy {
            base,
            settings: Vec::new(),
        })
    }

    /// Sets one rule's level and/or payload (a JSON object or JSON text with Bytebase's keys),
    /// as a `Project`'s review spec does. `id` may be a dotted id or an enum spelling.
    ///
    /// # Errors
    /// Unknown rule ([`PolicyError::UnknownRules`]) or a payload of the wrong shape.
    pub fn set_rule(
        &mut self,
        id: &str,
        level: Option<RuleLevel>,
        payload: Option<serde_json::Value>,
    ) -> Result<(), PolicyError> {
        self.set(id, None, level, payload)
    }

    fn set(
        &mut self,
        id: &str,
        engine: Option<Engine>,
        level: Option<RuleLevel>,
        payload: Option<serde_json::Value>,
    ) -> Result<(), PolicyError> {
        let rule = RuleId::lookup(id).ok_or_else(|| PolicyError::UnknownRules(vec![id.into()]))?;
        if let Some(level) = rule.guard_level() {
            return Err(PolicyError::BuiltinGuard(id.to_owned(), level.as_str()));
        }
        let payload = payload.map(|p| parse_payload(id, p)).transpose()?;
        self.settings.push(Setting {
            rule,
            engine,
            level,
            payload,
        });
        Ok(())
    }

    /// Loads a policy file: either schemagate's shape
    /// (`preset:` + `rules: {id: level | {level, payload}}`) or Bytebase's SQL-review shape
    /// (`ruleList: [{type, level, engine, payload}]`, where only listed rules run).
    ///
    /// # Errors
    /// Invalid YAML, unknown rule ids (all of them named in one error), bad levels or payloads.
    pub fn from_yaml(text: &str) -> Result<Policy, PolicyError> {
        Policy::from_yaml_with_preset(text, "default")
    }

    /// Like [`Policy::from_yaml`], but a schemagate-shaped file without `preset:` starts from
    /// `preset` (as the CLI's `--preset` does).
    ///
    /// # Errors
    /// As [`Policy::from_yaml`], plus an unknown `preset`.
    pub fn from_yaml_with_preset(text: &str, preset: &str) -> Result<Policy, PolicyError> {
        let value: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(text).map_err(PolicyError::Yaml)?;
        let is_bytebase = value
            .as_mapping()
            .is_some_and(|m| m.contains_key("ruleList"));
        if is_bytebase {
            let file: BytebaseFile = serde_yaml_ng::from_value(value).map_err(PolicyError::Yaml)?;
            let mut policy = match file.preset {
                Some(p) => Policy::preset(&p)?,
                None => Policy {
                    base: Base::Empty,
                    settings: Vec::new(),
                },
            };
            check_known(file.rule_list.iter().map(|r| r.kind.as_str()))?;
            for r in file.rule_list {
                let engine = match r.engine.as_deref().map(str::to_ascii_uppercase).as_deref() {
                    None | Some("") | Some("ENGINE_UNSPECIFIED") => None,
                    Some("POSTGRES" | "POSTGRESQL") => Some(Engine::Postgres),
                    Some("MYSQL" | "MARIADB") => Some(Engine::Mysql),
                    Some("SQLITE") => Some(Engine::Sqlite),
                    // Rules for engines schemagate does not manage (TiDB, Oracle, …).
                    Some(_) => continue,
                };
                let level = parse_level(&r.kind, r.level.as_deref())?;
                policy.set(&r.kind, engine, level.or(Some(RuleLevel::Error)), r.payload)?;
            }
            Ok(policy)
        } else {
            let file: OwnFile = serde_yaml_ng::from_value(value).map_err(PolicyError::Yaml)?;
            let mut policy = Policy::preset(file.preset.as_deref().unwrap_or(preset))?;
            check_known(file.rules.keys().map(String::as_str))?;
            for (id, rule) in file.rules {
                let (level, payload) = match rule {
                    OwnRule::Level(l) => (Some(l), None),
                    OwnRule::Full { level, payload } => (level, payload),
                };
                let level = parse_level(&id, level.as_deref())?;
                policy.set(&id, None, level, payload)?;
            }
            Ok(policy)
        }
    }

    /// Resolves the policy for one engine: which rules run, at which level, with which payload.
    pub(crate) fn resolve(&self, engine: Engine) -> Resolved {
        let mut active: Vec<Option<Active>> = RULES
            .iter()
            .map(|info| {
                let level = match self.base {
                    Base::Empty => L::O,
                    Base::Default => info.preset_level(engine, false),
                    Base::Strict => info.preset_level(engine, true),
                };
                let level = match level {
                    L::E => RuleLevel::Error,
                    L::W => RuleLevel::Warning,
                    L::O => RuleLevel::Disabled,
                };
                Active::new(info.id, level, None)
            })
            .collect();
        // Generic settings first, then engine-specific ones, so the latter win.
        let ordered = self
            .settings
            .iter()
            .filter(|s| s.engine.is_none())
            .chain(self.settings.iter().filter(|s| s.engine == Some(engine)));
        for s in ordered {
            if !s.rule.info().supports(engine) && s.rule != RuleId::StatementSyntax {
                continue;
            }
            let slot = &mut active[s.rule as usize];
            let level = s
                .level
                .unwrap_or_else(|| slot.as_ref().map_or(RuleLevel::Warning, |a| a.rule_level()));
            let payload = match (slot.as_ref().map(|a| a.payload.clone()), &s.payload) {
                (Some(old), Some(new)) => Some(old.overlay(new.clone())),
                (_, Some(new)) => Some(new.clone()),
                (old, None) => old,
            };
            *slot = Active::new(s.rule, level, payload);
        }
        // The guards run at their fixed level whatever the base and the settings say.
        for info in RULES {
            if let Some(level) = info.id.guard_level() {
                let level = match level {
                    super::Level::Error => RuleLevel::Error,
                    super::Level::Warning => RuleLevel::Warning,
                };
                active[info.id as usize] = Active::new(info.id, level, None);
            }
        }
        // `statement.syntax` is never silently off: a disabled level still reports warnings.
        if active[RuleId::StatementSyntax as usize].is_none() {
            active[RuleId::StatementSyntax as usize] =
                Active::new(RuleId::StatementSyntax, RuleLevel::Warning, None);
        }
        Resolved { active }
    }

    /// Checks rule ids (dotted or enum spellings) without building a policy, e.g. to validate a
    /// `Project`'s review spec.
    ///
    /// # Errors
    /// [`PolicyError::UnknownRules`] naming every unknown id.
    pub fn validate_rule_ids<'a>(
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), PolicyError> {
        check_known(ids.into_iter())
    }

    /// Rule ids that are enabled for `engine` but need a live database connection, so an offline
    /// review does not evaluate them.
    #[must_use]
    pub fn offline_skipped_rules(&self, engine: Engine) -> Vec<&'static str> {
        let resolved = self.resolve(engine);
        RULES
            .iter()
            .filter(|r| r.needs.contains('L') && resolved.get(r.id).is_some())
            .map(|r| r.name)
            .collect()
    }
}

/// Unknown ids first (all of them named), then the first built-in guard named.
fn check_known<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), PolicyError> {
    let mut unknown = Vec::new();
    let mut guard = None;
    for id in ids {
        match RuleId::lookup(id) {
            None => unknown.push(id.to_owned()),
            Some(rule) => {
                if guard.is_none()
                    && let Some(level) = rule.guard_level()
                {
                    guard = Some(PolicyError::BuiltinGuard(id.to_owned(), level.as_str()));
                }
            }
        }
    }
    if !unknown.is_empty() {
        Err(PolicyError::UnknownRules(unknown))
    } else if let Some(e) = guard {
        Err(e)
    } else {
        Ok(())
    }
}

/// A naming `format`, with Bytebase's `{{…}}` templates, compiled once per review.
#[derive(Debug, Clone)]
pub(crate) struct NameFormat {
    template: String,
    /// Compiled pattern when there is no template (or the template part was substituted).
    regex: Option<Regex>,
    /// `(allow_empty, literal template)` when the format is `^$|^literal$` or `^literal$` with
    /// no regex metacharacters outside templates: matched by string comparison, no compilation.
    literal: Option<(bool, String)>,
}

fn has_meta(s: &str) -> bool {
    s.chars().any(|c| "\\.+*?()|[]{}^$".contains(c))
}

impl NameFormat {
    pub(crate) fn new(template: &str) -> Result<NameFormat, regex::Error> {
        let has_templates = template.contains("{{");
        let (allow_empty, rest) = match template.strip_prefix("^$|") {
            Some(rest) => (true, rest),
            None => (false, template),
        };
        let literal = rest
            .strip_prefix('^')
            .and_then(|r| r.strip_suffix('$'))
            .filter(|inner| !has_meta(&strip_templates(inner)))
            .map(|inner| (allow_empty, inner.to_owned()));
        // Validate the pattern with placeholders filled in.
        let probe = fill(template, &|_| "x".to_owned());
        let compiled = Regex::new(&probe)?;
        Ok(NameFormat {
            template: template.to_owned(),
            regex: if has_templates { None } else { Some(compiled) },
            literal,
        })
    }

    /// The template text as configured.
    pub(crate) fn template(&self) -> &str {
        &self.template
    }

    /// Whether `name` matches, with `vars` substituted for `{{key}}` placeholders.
    pub(crate) fn matches(&self, name: &str, vars: &[(&str, &str)]) -> bool {
        let lookup = |key: &str| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map_or_else(String::new, |(_, v)| (*v).to_owned())
        };
        if let Some((allow_empty, lit)) = &self.literal {
            return (*allow_empty && name.is_empty()) || fill(lit, &lookup) == name;
        }
        if let Some(re) = &self.regex {
            return re.is_match(name);
        }
        let pattern = fill(&self.template, &|k| regex::escape(&lookup(k)));
        Regex::new(&pattern).is_ok_and(|re| re.is_match(name))
    }

    /// The expected name when the format is a plain template (for messages).
    pub(crate) fn expected(&self, vars: &[(&str, &str)]) -> Option<String> {
        let (_, lit) = self.literal.as_ref()?;
        Some(fill(lit, &|key: &str| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map_or_else(String::new, |(_, v)| (*v).to_owned())
        }))
    }
}

fn strip_templates(s: &str) -> String {
    fill(s, &|_| String::new())
}

/// Replaces every `{{key}}` in `s` with `f(key)`.
fn fill(s: &str, f: &dyn Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        if let Some(end) = after.find("}}") {
            out.push_str(&f(after[..end].trim()));
            rest = &after[end + 2..];
        } else {
            out.push_str(&rest[start..]);
            rest = "";
        }
    }
    out.push_str(rest);
    out
}

/// A rule that runs, with its level and effective payload.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub(crate) level: super::Level,
    pub(crate) payload: Payload,
    pub(crate) format: Option<NameFormat>,
}

impl Active {
    fn new(rule: RuleId, level: RuleLevel, payload: Option<Payload>) -> Option<Active> {
        let level = match level {
            RuleLevel::Error => super::Level::Error,
            RuleLevel::Warning => super::Level::Warning,
            RuleLevel::Disabled => return None,
        };
        let defaults: Payload =
            serde_json::from_str(rule.info().default_payload).unwrap_or_default();
        let payload = match payload {
            Some(p) => defaults.overlay(p),
            None => defaults,
        };
        let format = payload
            .format
            .as_deref()
            .and_then(|f| NameFormat::new(f).ok());
        Some(Active {
            level,
            payload,
            format,
        })
    }

    fn rule_level(&self) -> RuleLevel {
        match self.level {
            super::Level::Error => RuleLevel::Error,
            super::Level::Warning => RuleLevel::Warning,
        }
    }

    pub(crate) fn number(&self) -> Option<i64> {
        self.payload.number
    }

    pub(crate) fn max_length(&self) -> Option<usize> {
        self.payload
            .max_length
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| *n > 0)
    }

    pub(crate) fn list(&self) -> &[String] {
        self.payload.list.as_deref().unwrap_or(&[])
    }

    pub(crate) fn in_list(&self, value: &str) -> bool {
        self.list().iter().any(|v| v.eq_ignore_ascii_case(value))
    }
}

/// A policy resolved for one engine.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    active: Vec<Option<Active>>,
}

impl Resolved {
    pub(crate) fn get(&self, rule: RuleId) -> Option<&Active> {
        self.active.get(rule as usize).and_then(Option::as_ref)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::review::Level;

    #[test]
    fn presets_follow_bytebase_templates_per_engine() {
        let d = Policy::preset("default").unwrap().resolve(Engine::Postgres);
        let s = Policy::preset("strict").unwrap().resolve(Engine::Postgres);
        assert_eq!(
            d.get(RuleId::TableNoForeignKey).unwrap().level,
            Level::Warning
        );
        assert_eq!(
            s.get(RuleId::TableNoForeignKey).unwrap().level,
            Level::Error
        );
        assert!(d.get(RuleId::TableComment).is_none());
        assert!(d.get(RuleId::EngineMysqlUseInnodb).is_none());
        let m = Policy::preset("default").unwrap().resolve(Engine::Mysql);
        assert_eq!(m.get(RuleId::TableComment).unwrap().level, Level::Warning);
        assert_eq!(
            d.get(RuleId::StatementSyntax).unwrap().level,
            Level::Warning
        );
        assert_eq!(s.get(RuleId::StatementSyntax).unwrap().level, Level::Error);
        assert!(matches!(
            Policy::preset("lax"),
            Err(PolicyError::UnknownPreset(_))
        ));
    }

    #[test]
    fn own_format_sets_levels_and_payloads() {
        let p = Policy::from_yaml(
            "preset: strict\nrules:\n  naming.table: disabled\n  TABLE_COMMENT: warning\n  column.maximum-varchar-length:\n    level: error\n    payload: {number: 100}\n",
        )
        .unwrap()
        .resolve(Engine::Mysql);
        assert!(p.get(RuleId::NamingTable).is_none());
        assert_eq!(p.get(RuleId::TableComment).unwrap().level, Level::Warning);
        let v = p.get(RuleId::ColumnMaximumVarcharLength).unwrap();
        assert_eq!((v.level, v.number()), (Level::Error, Some(100)));
        // Untouched payload keys keep their defaults.
        let c = p.get(RuleId::TableComment).unwrap();
        assert_eq!(c.max_length(), Some(64));
    }

    #[test]
    fn bytebase_format_enables_only_listed_rules() {
        let yaml = r#"
id: bb.sql-review.prod
ruleList:
  - type: TABLE_REQUIRE_PK
    level: ERROR
  - type: naming.table
    level: WARNING
    engine: POSTGRES
    payload: '{"format":"^t_[a-z]+$","maxLength":20}'
  - type: naming.column
    level: WARNING
    engine: TIDB
"#;
        let policy = Policy::from_yaml(yaml).unwrap();
        let pg = policy.resolve(Engine::Postgres);
        assert_eq!(pg.get(RuleId::TableRequirePk).unwrap().level, Level::Error);
        let naming = pg.get(RuleId::NamingTable).unwrap();
        assert_eq!(naming.max_length(), Some(20));
        assert!(naming.format.as_ref().unwrap().matches("t_users", &[]));
        assert!(pg.get(RuleId::NamingColumn).is_none());
        assert!(pg.get(RuleId::TableNoForeignKey).is_none());
        let my = policy.resolve(Engine::Mysql);
        assert!(my.get(RuleId::NamingTable).is_none());
    }

    #[test]
    fn unknown_rules_are_named() {
        let err = Policy::from_yaml(
            "rules:\n  table.require-pk: error\n  no.such: error\n  also.bad: warning\n",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "unknown rule also.bad, no.such");
        let err = Policy::from_yaml("ruleList:\n  - type: FOO_BAR\n").unwrap_err();
        assert_eq!(err.to_string(), "unknown rule FOO_BAR");
        let mut p = Policy::preset("default").unwrap();
        assert!(p.set_rule("nope", None, None).is_err());
        assert!(Policy::validate_rule_ids(["table.require-pk", "NAMING_TABLE"]).is_ok());
        assert_eq!(
            Policy::validate_rule_ids(["x.y", "table.require-pk"])
                .unwrap_err()
                .to_string(),
            "unknown rule x.y"
        );
    }

    #[test]
    fn bad_levels_payloads_and_formats_are_rejected() {
        assert!(matches!(
            Policy::from_yaml("rules:\n  naming.table: loud\n"),
            Err(PolicyError::UnknownLevel { .. })
        ));
        assert!(matches!(
            Policy::from_yaml("rules:\n  naming.table: {payload: {maxLength: many}}\n"),
            Err(PolicyError::Payload { .. })
        ));
        assert!(matches!(
            Policy::from_yaml("rules:\n  naming.table: {payload: {format: '(['}}\n"),
            Err(PolicyError::Format { .. })
        ));
        assert!(matches!(
            Policy::from_yaml("rules: ["),
            Err(PolicyError::Yaml(_))
        ));
    }

    #[test]
    fn guards_cannot_be_configured_and_always_run() {
        let mut p = Policy::preset("default").unwrap();
        for id in [
            "schemagate.transaction-control",
            "SCHEMAGATE_NUL_BYTE",
            "schemagate.empty-script",
            "schemagate.executable-comment",
        ] {
            for level in [RuleLevel::Disabled, RuleLevel::Warning, RuleLevel::Error] {
                let err = p.set_rule(id, Some(level), None).unwrap_err();
                assert!(matches!(err, PolicyError::BuiltinGuard(..)), "{id}: {err}");
                assert!(err.to_string().contains("built-in guard"), "{err}");
            }
        }
        let err = Policy::from_yaml("rules:\n  schemagate.nul-byte: disabled\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "rule schemagate.nul-byte is a built-in guard of schemagate: it always runs (error) \
             and cannot be configured, disabled or lowered; remove it from the policy"
        );
        assert!(matches!(
            Policy::from_yaml(
                "ruleList:\n  - type: SCHEMAGATE_TRANSACTION_CONTROL\n    level: WARNING\n"
            ),
            Err(PolicyError::BuiltinGuard(..))
        ));
        assert!(matches!(
            Policy::validate_rule_ids(["table.require-pk", "schemagate.empty-script"]),
            Err(PolicyError::BuiltinGuard(..))
        ));
        // Unknown ids are still all named first.
        assert!(matches!(
            Policy::validate_rule_ids(["schemagate.empty-script", "nope"]),
            Err(PolicyError::UnknownRules(_))
        ));
        // Even a Bytebase file that lists nothing runs them, at their fixed levels.
        for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
            let r = Policy::from_yaml("ruleList: []").unwrap().resolve(engine);
            assert_eq!(
                r.get(RuleId::SchemagateTransactionControl).unwrap().level,
                Level::Error
            );
            assert_eq!(
                r.get(RuleId::SchemagateNulByte).unwrap().level,
                Level::Error
            );
            assert_eq!(
                r.get(RuleId::SchemagateEmptyScript).unwrap().level,
                Level::Error
            );
            assert_eq!(
                r.get(RuleId::SchemagateExecutableComment).unwrap().level,
                Level::Warning
            );
        }
    }

    #[test]
    fn name_format_templates() {
        let f = NameFormat::new("^$|^idx_{{table}}_{{column_list}}$").unwrap();
        let vars = [("table", "users"), ("column_list", "a_b")];
        assert!(f.matches("idx_users_a_b", &vars));
        assert!(f.matches("", &vars));
        assert!(!f.matches("users_a_b_idx", &vars));
        let f = NameFormat::new("^idx_{{table}}_[a-z_]+$").unwrap();
        assert!(f.matches("idx_users_x", &vars));
        assert!(!f.matches("idx_other_x", &vars));
        let f = NameFormat::new("_del$").unwrap();
        assert!(f.matches("old_del", &[]));
        assert!(!f.matches("old", &[]));
    }
}
