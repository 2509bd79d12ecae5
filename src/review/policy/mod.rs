//! Review policy: presets (`default`, `strict`), per-rule levels and payloads, loading of
//! schemagate's own YAML and of Bytebase's SQL-review YAML (`ruleList:`). Pure data handling:
//! it must not look at SQL. Policy files are read in `file`, naming formats compiled in
//! `name_format`, and a policy resolved for one engine in `resolved`.

mod file;
mod name_format;
pub(crate) mod resolved;

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::Engine;
use super::registry::{RULES, RuleId};

pub(crate) use name_format::NameFormat;
pub(crate) use resolved::{Active, Resolved};

/// Errors in a policy: unknown rule ids, bad levels, bad payloads, bad YAML.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// Rule ids that are neither Bytebase dotted ids nor enum spellings.
    #[error("unknown rule {}", .0.join(", "))]
    UnknownRules(Vec<String>),
    /// A preset name other than `default` or `strict`.
    #[error("unknown preset {0:?} (expected default or strict)")]
    UnknownPreset(String),
    /// A `changeType` other than DDL or DML.
    #[error("unknown changeType {0:?} (expected DDL or DML)")]
    UnknownChangeType(String),
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
    /// `naming.identifier-no-keyword`: only reserved words, not every keyword (schemagate's
    /// presets set it; Bytebase has no such option and flags every keyword).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reserved_only: Option<bool>,
}

impl Payload {
    fn overlay(mut self, top: Payload) -> Payload {
        self.format = top.format.or(self.format);
        self.max_length = top.max_length.or(self.max_length);
        self.number = top.number.or(self.number);
        self.list = top.list.or(self.list);
        self.required = top.required.or(self.required);
        self.reserved_only = top.reserved_only.or(self.reserved_only);
        self
    }
}

/// What a change is declared to be, for `statement.disallow-mix-in-ddl` / `-dml` (Bytebase's
/// change types "DDL" and "DML"). Undeclared, those two rules have nothing to judge by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeType {
    /// A schema change: only DDL belongs in it.
    Ddl,
    /// A data change: only DML belongs in it.
    Dml,
}

impl std::str::FromStr for ChangeType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DDL" | "SCHEMA" | "MIGRATE" => Ok(Self::Ddl),
            "DML" | "DATA" => Ok(Self::Dml),
            other => Err(other.to_owned()),
        }
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
    change_type: Option<ChangeType>,
    settings: Vec<Setting>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    Default,
    Strict,
    Empty,
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
            change_type: None,
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

    /// Declares what the reviewed change is (see [`ChangeType`]).
    pub fn set_change_type(&mut self, change_type: Option<ChangeType>) {
        self.change_type = change_type;
    }

    /// The declared change type, if any.
    #[must_use]
    pub fn change_type(&self) -> Option<ChangeType> {
        self.change_type
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

#[cfg(test)]
mod tests;
