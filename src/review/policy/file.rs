//! Policy files: schemagate's own YAML (`preset:` + `rules:`) and Bytebase's SQL-review YAML
//! (`ruleList:`), read into a [`Policy`].

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Base, Policy, PolicyError, RuleLevel, check_known};
use crate::review::Engine;

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
}
