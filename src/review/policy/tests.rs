//! Tests of the review policy: presets, both file shapes, unknown rules and guards, naming
//! formats.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
