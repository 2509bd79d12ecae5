//! A policy resolved for one engine: which rules run, at which level, with which payload.

use super::{Base, NameFormat, Payload, Policy, RuleLevel};
use crate::review::registry::{L, RULES, RuleId};
use crate::review::{Engine, Level};

impl Policy {
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
                Active::new(info.id, level, preset_payload(self.base, info.id))
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
                    Level::Error => RuleLevel::Error,
                    Level::Warning => RuleLevel::Warning,
                };
                active[info.id as usize] = Active::new(info.id, level, None);
            }
        }
        // `statement.syntax` is never silently off: a disabled level still reports warnings.
        if active[RuleId::StatementSyntax as usize].is_none() {
            active[RuleId::StatementSyntax as usize] =
                Active::new(RuleId::StatementSyntax, RuleLevel::Warning, None);
        }
        Resolved {
            active,
            change_type: self.change_type,
        }
    }
}

/// What schemagate's presets set beyond the catalogue's default payloads. Bytebase flags every
/// MySQL keyword as an identifier (`name`, `status`, `type`, `comment` included); the presets
/// ask for reserved words only, which need quoting everywhere. A policy that configures the rule
/// itself gets Bytebase's behaviour unless it sets `reservedOnly`.
fn preset_payload(base: Base, rule: RuleId) -> Option<Payload> {
    (rule == RuleId::NamingIdentifierNoKeyword && base != Base::Empty).then(|| Payload {
        reserved_only: Some(true),
        ..Payload::default()
    })
}

/// A rule that runs, with its level and effective payload.
#[derive(Debug, Clone)]
pub(crate) struct Active {
    pub(crate) level: Level,
    pub(crate) payload: Payload,
    pub(crate) format: Option<NameFormat>,
}

impl Active {
    fn new(rule: RuleId, level: RuleLevel, payload: Option<Payload>) -> Option<Active> {
        let level = match level {
            RuleLevel::Error => Level::Error,
            RuleLevel::Warning => Level::Warning,
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
            Level::Error => RuleLevel::Error,
            Level::Warning => RuleLevel::Warning,
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
    /// What the change is declared to be.
    pub(crate) change_type: Option<super::ChangeType>,
}

impl Resolved {
    pub(crate) fn get(&self, rule: RuleId) -> Option<&Active> {
        self.active.get(rule as usize).and_then(Option::as_ref)
    }
}
