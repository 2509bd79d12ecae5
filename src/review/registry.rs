//! The catalogue of known rule ids (Bytebase's dotted ids and enum spellings), their preset
//! levels per engine and default payloads. Data only: no rule logic lives here.

use super::{Engine, Level};

/// A preset level as written in the catalogue: error, warning, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum L {
    /// Error.
    E,
    /// Warning.
    W,
    /// Off.
    O,
}

/// Static facts about one rule.
#[derive(Debug)]
pub struct RuleInfo {
    /// The rule.
    pub id: RuleId,
    /// schemagate's canonical dotted id.
    pub name: &'static str,
    /// Bytebase's enum spelling, e.g. `TABLE_REQUIRE_PK`.
    pub enum_name: &'static str,
    /// Other dotted ids accepted for this rule.
    pub aliases: &'static [&'static str],
    pg: Option<(L, L)>,
    mysql: Option<(L, L)>,
    /// Default payload (JSON text, empty for none).
    pub default_payload: &'static str,
    /// `S` when the rule needs the current schema, `L` when it needs a live connection.
    pub needs: &'static str,
}

macro_rules! rules {
    ($($variant:ident => $name:literal, $enum_name:literal, [$($alias:literal),*], pg $pg:expr, mysql $my:expr, payload $payload:literal, needs $needs:literal;)*) => {
        /// Every rule schemagate knows (implemented or not).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum RuleId { $($variant),* }

        /// The catalogue, in the order of `RuleId`.
        pub static RULES: &[RuleInfo] = &[
            $(RuleInfo {
                id: RuleId::$variant,
                name: $name,
                enum_name: $enum_name,
                aliases: &[$($alias),*],
                pg: $pg,
                mysql: $my,
                default_payload: $payload,
                needs: $needs,
            }),*
        ];
    };
}

rules! {
    EngineMysqlUseInnodb => "engine.mysql.use-innodb", "ENGINE_MYSQL_USE_INNODB", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    TableRequirePk => "table.require-pk", "TABLE_REQUIRE_PK", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "S";
    TableNoForeignKey => "table.no-foreign-key", "TABLE_NO_FOREIGN_KEY", ["table.no-fk"], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    TableDropNamingConvention => "table.drop-naming-convention", "TABLE_DROP_NAMING_CONVENTION", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#"{"format": "_del$"}"#, needs "";
    TableComment => "table.comment", "TABLE_COMMENT", [], pg Some((L::E, L::O)), mysql Some((L::E, L::W)), payload r#"{"required": true, "maxLength": 64}"#, needs "";
    TableDisallowPartition => "table.disallow-partition", "TABLE_DISALLOW_PARTITION", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "";
    TableDisallowTrigger => "table.disallow-trigger", "TABLE_DISALLOW_TRIGGER", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    TableNoDuplicateIndex => "table.no-redundant-index", "TABLE_NO_DUPLICATE_INDEX", [], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "S";
    TableTextFieldsTotalLength => "table.text-fields-total-length", "TABLE_TEXT_FIELDS_TOTAL_LENGTH", [], pg None, mysql Some((L::W, L::W)), payload r#"{"number": 1000}"#, needs "S";
    TableDisallowSetCharset => "table.disallow-set-charset", "TABLE_DISALLOW_SET_CHARSET", [], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    TableDisallowDdl => "table.disallow-ddl", "TABLE_DISALLOW_DDL", [], pg None, mysql Some((L::O, L::O)), payload r#""#, needs "";
    TableDisallowDml => "table.disallow-dml", "TABLE_DISALLOW_DML", [], pg None, mysql Some((L::O, L::O)), payload r#""#, needs "";
    TableLimitSize => "table.limit-size", "TABLE_LIMIT_SIZE", [], pg None, mysql Some((L::W, L::O)), payload r#"{"number": 10000000}"#, needs "S";
    TableRequireCharset => "table.require-charset", "TABLE_REQUIRE_CHARSET", [], pg None, mysql Some((L::W, L::O)), payload r#""#, needs "";
    TableRequireCollation => "table.require-collation", "TABLE_REQUIRE_COLLATION", [], pg None, mysql Some((L::W, L::O)), payload r#""#, needs "";
    StatementSelectNoSelectAll => "statement.select.no-select-all", "STATEMENT_SELECT_NO_SELECT_ALL", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementWhereRequireSelect => "statement.where.require-select", "STATEMENT_WHERE_REQUIRE_SELECT", ["statement.where.require.select"], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementWhereRequireUpdateDelete => "statement.where.require-update-delete", "STATEMENT_WHERE_REQUIRE_UPDATE_DELETE", ["statement.where.require.update-delete"], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementWhereNoLeadingWildcardLike => "statement.where.no-leading-wildcard-like", "STATEMENT_WHERE_NO_LEADING_WILDCARD_LIKE", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementDisallowOnDelCascade => "statement.disallow-on-del-cascade", "STATEMENT_DISALLOW_ON_DEL_CASCADE", [], pg Some((L::E, L::E)), mysql None, payload r#""#, needs "";
    StatementDisallowRmTblCascade => "statement.disallow-rm-tbl-cascade", "STATEMENT_DISALLOW_RM_TBL_CASCADE", [], pg Some((L::E, L::E)), mysql None, payload r#""#, needs "";
    StatementDisallowTruncate => "statement.disallow-truncate", "STATEMENT_DISALLOW_TRUNCATE", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementDisallowCommit => "statement.disallow-commit", "STATEMENT_DISALLOW_COMMIT", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementDisallowLimit => "statement.disallow-limit", "STATEMENT_DISALLOW_LIMIT", [], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    StatementDisallowOrderBy => "statement.disallow-order-by", "STATEMENT_DISALLOW_ORDER_BY", [], pg None, mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementMergeAlterTable => "statement.merge-alter-table", "STATEMENT_MERGE_ALTER_TABLE", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementInsertRowLimit => "statement.insert.row-limit", "STATEMENT_INSERT_ROW_LIMIT", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"number": 1000}"#, needs "L";
    StatementInsertMustSpecifyColumn => "statement.insert.must-specify-column", "STATEMENT_INSERT_MUST_SPECIFY_COLUMN", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementInsertDisallowOrderByRand => "statement.insert.disallow-order-by-rand", "STATEMENT_INSERT_DISALLOW_ORDER_BY_RAND", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    StatementAffectedRowLimit => "statement.affected-row-limit", "STATEMENT_AFFECTED_ROW_LIMIT", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"number": 1000}"#, needs "L";
    StatementDmlDryRun => "statement.dml-dry-run", "STATEMENT_DML_DRY_RUN", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "L";
    StatementDisallowAddColumnWithDefault => "statement.disallow-add-column-with-default", "STATEMENT_DISALLOW_ADD_COLUMN_WITH_DEFAULT", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    StatementAddCheckNotValid => "statement.add-check-not-valid", "STATEMENT_ADD_CHECK_NOT_VALID", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    StatementDisallowAddNotNull => "statement.disallow-add-not-null", "STATEMENT_DISALLOW_ADD_NOT_NULL", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    StatementCreateSpecifySchema => "statement.create-specify-schema", "STATEMENT_CREATE_SPECIFY_SCHEMA", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    StatementCheckSetRoleVariable => "statement.check-set-role-variable", "STATEMENT_CHECK_SET_ROLE_VARIABLE", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    StatementWhereNoEqualNull => "statement.where-no-equal-null", "STATEMENT_WHERE_NO_EQUAL_NULL", ["statement.where.no-equal-null"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    StatementWhereDisallowFunctionsAndCalculations => "statement.where-disallow-functions-and-calculations", "STATEMENT_WHERE_DISALLOW_FUNCTIONS_AND_CALCULATIONS", ["statement.where.disallow-functions-and-calculations"], pg Some((L::W, L::O)), mysql Some((L::W, L::O)), payload r#""#, needs "S";
    StatementWhereMaximumLogicalOperatorCount => "statement.where-maximum-logical-operator-count", "STATEMENT_WHERE_MAXIMUM_LOGICAL_OPERATOR_COUNT", ["statement.where.maximum-logical-operator-count"], pg None, mysql Some((L::W, L::W)), payload r#"{"number": 10}"#, needs "";
    StatementMaximumStatementsInTransaction => "statement.maximum-statements-in-transaction", "STATEMENT_MAXIMUM_STATEMENTS_IN_TRANSACTION", [], pg None, mysql Some((L::W, L::W)), payload r#"{"number": 10}"#, needs "";
    StatementMaxExecutionTime => "statement.max-execution-time", "STATEMENT_MAX_EXECUTION_TIME", [], pg None, mysql Some((L::E, L::O)), payload r#""#, needs "";
    StatementRequireAlgorithmOption => "statement.require-algorithm-option", "STATEMENT_REQUIRE_ALGORITHM_OPTION", [], pg None, mysql Some((L::E, L::O)), payload r#""#, needs "";
    StatementRequireLockOption => "statement.require-lock-option", "STATEMENT_REQUIRE_LOCK_OPTION", [], pg None, mysql Some((L::E, L::O)), payload r#""#, needs "";
    NamingFullyQualified => "naming.fully-qualified", "NAMING_FULLY_QUALIFIED", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "S";
    NamingTable => "naming.table", "NAMING_TABLE", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"format": "^[a-z]+(_[a-z]+)*$", "maxLength": 63}"#, needs "";
    NamingColumn => "naming.column", "NAMING_COLUMN", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"format": "^[a-z]+(_[a-z]+)*$", "maxLength": 63}"#, needs "";
    NamingIndexUk => "naming.index.uk", "NAMING_INDEX_UK", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"format": "^$|^uk_{{table}}_{{column_list}}$", "maxLength": 63}"#, needs "S";
    NamingIndexIdx => "naming.index.idx", "NAMING_INDEX_IDX", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"format": "^$|^idx_{{table}}_{{column_list}}$", "maxLength": 63}"#, needs "S";
    NamingIndexFk => "naming.index.fk", "NAMING_INDEX_FK", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"format": "^$|^fk_{{referencing_table}}_{{referencing_column}}_{{referenced_table}}_{{referenced_column}}$", "maxLength": 63}"#, needs "";
    NamingIndexPk => "naming.index.pk", "NAMING_INDEX_PK", [], pg Some((L::W, L::W)), mysql None, payload r#"{"format": "^$|^pk_{{table}}_{{column_list}}$", "maxLength": 63}"#, needs "S";
    NamingColumnAutoIncrement => "naming.auto-increment-column", "NAMING_COLUMN_AUTO_INCREMENT", ["naming.column.auto-increment"], pg None, mysql Some((L::W, L::W)), payload r#"{"format": "^id$", "maxLength": 63}"#, needs "";
    NamingIdentifierNoKeyword => "naming.identifier-no-keyword", "NAMING_IDENTIFIER_NO_KEYWORD", ["naming.identifier.no-keyword"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    ColumnRequired => "column.required", "COLUMN_REQUIRED", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"list": ["id", "created_ts", "updated_ts", "creator_id", "updater_id"]}"#, needs "";
    ColumnNoNull => "column.no-null", "COLUMN_NO_NULL", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#""#, needs "S";
    ColumnDisallowChangeType => "column.disallow-change-type", "COLUMN_DISALLOW_CHANGE_TYPE", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "S";
    ColumnSetDefaultForNotNull => "column.set-default-for-not-null", "COLUMN_SET_DEFAULT_FOR_NOT_NULL", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    ColumnDisallowChange => "column.disallow-change", "COLUMN_DISALLOW_CHANGE", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    ColumnDisallowChangingOrder => "column.disallow-changing-order", "COLUMN_DISALLOW_CHANGING_ORDER", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    ColumnDisallowDropInIndex => "column.disallow-drop-in-index", "COLUMN_DISALLOW_DROP_IN_INDEX", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "S";
    ColumnComment => "column.comment", "COLUMN_COMMENT", [], pg Some((L::E, L::O)), mysql Some((L::E, L::W)), payload r#"{"required": true, "maxLength": 64}"#, needs "";
    ColumnAutoIncrementMustInteger => "column.auto-increment-must-integer", "COLUMN_AUTO_INCREMENT_MUST_INTEGER", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    ColumnTypeDisallowList => "column.type-disallow-list", "COLUMN_TYPE_DISALLOW_LIST", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#"{"list": ["JSON"]}"#, needs "";
    ColumnDisallowSetCharset => "column.disallow-set-charset", "COLUMN_DISALLOW_SET_CHARSET", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    ColumnMaximumCharacterLength => "column.maximum-character-length", "COLUMN_MAXIMUM_CHARACTER_LENGTH", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"number": 20}"#, needs "";
    ColumnMaximumVarcharLength => "column.maximum-varchar-length", "COLUMN_MAXIMUM_VARCHAR_LENGTH", [], pg None, mysql Some((L::W, L::W)), payload r#"{"number": 2560}"#, needs "";
    ColumnAutoIncrementInitialValue => "column.auto-increment-initial-value", "COLUMN_AUTO_INCREMENT_INITIAL_VALUE", [], pg None, mysql Some((L::W, L::W)), payload r#"{"number": 1}"#, needs "";
    ColumnAutoIncrementMustUnsigned => "column.auto-increment-must-unsigned", "COLUMN_AUTO_INCREMENT_MUST_UNSIGNED", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "";
    ColumnCurrentTimeCountLimit => "column.current-time-column-count-limit", "COLUMN_CURRENT_TIME_COUNT_LIMIT", ["column.current-time-count-limit"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    ColumnRequireDefault => "column.require-default", "COLUMN_REQUIRE_DEFAULT", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#""#, needs "";
    ColumnDefaultDisallowVolatile => "column.default-disallow-volatile", "COLUMN_DEFAULT_DISALLOW_VOLATILE", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    ColumnRequireCharset => "column.require-charset", "COLUMN_REQUIRE_CHARSET", [], pg None, mysql Some((L::W, L::O)), payload r#""#, needs "";
    ColumnRequireCollation => "column.require-collation", "COLUMN_REQUIRE_COLLATION", [], pg None, mysql Some((L::W, L::O)), payload r#""#, needs "";
    SchemaBackwardCompatibility => "schema.backward-compatibility", "SCHEMA_BACKWARD_COMPATIBILITY", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#""#, needs "";
    DatabaseDropEmptyDatabase => "database.drop-empty-database", "DATABASE_DROP_EMPTY_DATABASE", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "S";
    IndexNoDuplicateColumn => "index.no-duplicate-column", "INDEX_NO_DUPLICATE_COLUMN", ["table.no-duplicate-index"], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "";
    IndexKeyNumberLimit => "index.key-number-limit", "INDEX_KEY_NUMBER_LIMIT", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"number": 5}"#, needs "";
    IndexPkTypeLimit => "index.pk-type-limit", "INDEX_PK_TYPE_LIMIT", [], pg None, mysql Some((L::E, L::W)), payload r#""#, needs "S";
    IndexTypeNoBlob => "index.type-no-blob", "INDEX_TYPE_NO_BLOB", [], pg None, mysql Some((L::E, L::E)), payload r#""#, needs "S";
    IndexTotalNumberLimit => "index.total-number-limit", "INDEX_TOTAL_NUMBER_LIMIT", [], pg Some((L::W, L::W)), mysql Some((L::W, L::W)), payload r#"{"number": 5}"#, needs "S";
    IndexPrimaryKeyTypeAllowlist => "index.primary-key-type-allowlist", "INDEX_PRIMARY_KEY_TYPE_ALLOWLIST", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#"{"list": ["SERIAL", "BIGSERIAL", "INT", "BIGINT"]}"#, needs "S";
    IndexCreateConcurrently => "index.create-concurrently", "INDEX_CREATE_CONCURRENTLY", [], pg Some((L::W, L::W)), mysql None, payload r#""#, needs "";
    IndexTypeAllowList => "index.type-allow-list", "INDEX_TYPE_ALLOW_LIST", [], pg None, mysql Some((L::W, L::W)), payload r#"{"list": ["BTREE", "HASH"]}"#, needs "";
    SystemCharsetAllowlist => "system.charset-allowlist", "SYSTEM_CHARSET_ALLOWLIST", ["system.charset.allowlist"], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#"{"list": ["utf8mb4"]}"#, needs "";
    SystemCollationAllowlist => "system.collation-allowlist", "SYSTEM_COLLATION_ALLOWLIST", ["system.collation.allowlist"], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#"{"list": ["utf8mb4_0900_ai_ci"]}"#, needs "";
    SystemCommentLength => "system.comment-length", "SYSTEM_COMMENT_LENGTH", ["system.comment.length"], pg Some((L::W, L::W)), mysql None, payload r#"{"number": 64}"#, needs "";
    SystemProcedureDisallowCreate => "system.procedure-disallow-create", "SYSTEM_PROCEDURE_DISALLOW_CREATE", ["system.procedure.disallow-create"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    SystemEventDisallowCreate => "system.event-disallow-create", "SYSTEM_EVENT_DISALLOW_CREATE", ["system.event.disallow-create"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    SystemViewDisallowCreate => "system.view-disallow-create", "SYSTEM_VIEW_DISALLOW_CREATE", ["system.view.disallow-create"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    SystemFunctionDisallowCreate => "system.function-disallow-create", "SYSTEM_FUNCTION_DISALLOW_CREATE", ["system.function.disallow-create"], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";
    SystemFunctionDisallowedList => "system.function-disallowed-list", "SYSTEM_FUNCTION_DISALLOWED_LIST", ["system.function.disallowed-list"], pg None, mysql Some((L::W, L::W)), payload r#"{"list": ["RAND", "UUID", "SLEEP"]}"#, needs "";
    AdviceOnlineMigration => "advice.online-migration", "ADVICE_ONLINE_MIGRATION", [], pg None, mysql Some((L::E, L::O)), payload r#"{"number": 100000000}"#, needs "S";
    StatementAddForeignKeyNotValid => "statement.add-foreign-key-not-valid", "STATEMENT_ADD_FOREIGN_KEY_NOT_VALID", [], pg Some((L::W, L::O)), mysql None, payload r#""#, needs "";
    StatementNonTransactional => "statement.non-transactional", "STATEMENT_NON_TRANSACTIONAL", [], pg Some((L::W, L::O)), mysql None, payload r#""#, needs "";
    StatementObjectOwnerCheck => "statement.object-owner-check", "STATEMENT_OBJECT_OWNER_CHECK", [], pg Some((L::E, L::W)), mysql None, payload r#""#, needs "L";
    ImpactTableRewrite => "impact.table-rewrite", "IMPACT_TABLE_REWRITE", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#"{"number": 1000000}"#, needs "S";
    ImpactBlockingLock => "impact.blocking-lock", "IMPACT_BLOCKING_LOCK", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#"{"number": 100000}"#, needs "S";
    BuiltinStatementMaximumSqlSize => "builtin.statement.maximum-sql-size", "BUILTIN_STATEMENT_MAXIMUM_SQL_SIZE", [], pg Some((L::O, L::O)), mysql Some((L::O, L::O)), payload r#""#, needs "";
    BuiltinPriorBackupCheck => "builtin.prior-backup-check", "BUILTIN_PRIOR_BACKUP_CHECK", [], pg Some((L::O, L::O)), mysql Some((L::O, L::O)), payload r#""#, needs "S";
    BuiltinWalkThroughCheck => "builtin.walk-through-check", "BUILTIN_WALK_THROUGH_CHECK", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "S";
    StatementSyntax => "statement.syntax", "STATEMENT_SYNTAX", [], pg Some((L::E, L::W)), mysql Some((L::E, L::W)), payload r#""#, needs "";
    SchemagateTransactionControl => "schemagate.transaction-control", "SCHEMAGATE_TRANSACTION_CONTROL", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "";
    SchemagateNulByte => "schemagate.nul-byte", "SCHEMAGATE_NUL_BYTE", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "";
    SchemagateEmptyScript => "schemagate.empty-script", "SCHEMAGATE_EMPTY_SCRIPT", [], pg Some((L::E, L::E)), mysql Some((L::E, L::E)), payload r#""#, needs "";
    SchemagateExecutableComment => "schemagate.executable-comment", "SCHEMAGATE_EXECUTABLE_COMMENT", [], pg None, mysql Some((L::W, L::W)), payload r#""#, needs "";

}

impl RuleId {
    /// Static facts about this rule.
    #[must_use]
    pub fn info(self) -> &'static RuleInfo {
        // RULES is generated in enum order, so the discriminant is the index.
        &RULES[self as usize]
    }

    /// The canonical dotted id.
    #[must_use]
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// For schemagate's built-in guards (`schemagate.*`), the fixed level they always run at:
    /// they protect the guarantees (only reviewed SQL runs, exactly once), so no policy may
    /// disable or lower them. `None` for configurable rules.
    #[must_use]
    pub fn guard_level(self) -> Option<Level> {
        match self {
            RuleId::SchemagateTransactionControl
            | RuleId::SchemagateNulByte
            | RuleId::SchemagateEmptyScript => Some(Level::Error),
            RuleId::SchemagateExecutableComment => Some(Level::Warning),
            _ => None,
        }
    }

    /// Whether this is one of schemagate's built-in guards (see [`RuleId::guard_level`]).
    #[must_use]
    pub fn is_guard(self) -> bool {
        self.guard_level().is_some()
    }

    /// Looks a rule up by dotted id (canonical or alias) or by Bytebase's enum spelling.
    #[must_use]
    pub fn lookup(id: &str) -> Option<RuleId> {
        let id = id.trim();
        RULES
            .iter()
            .find(|r| r.enum_name.eq_ignore_ascii_case(id))
            .or_else(|| {
                RULES
                    .iter()
                    .find(|r| r.name == id || r.aliases.contains(&id))
            })
            .map(|r| r.id)
    }
}

impl RuleInfo {
    /// Whether the rule applies to `engine`. SQLite gets the rules Bytebase defines for both
    /// PostgreSQL and MySQL (the dialect-neutral ones).
    #[must_use]
    pub fn supports(&self, engine: Engine) -> bool {
        self.levels(engine).is_some()
    }

    fn levels(&self, engine: Engine) -> Option<(L, L)> {
        match engine {
            Engine::Postgres => self.pg,
            Engine::Mysql => self.mysql,
            Engine::Sqlite => self.pg.and(self.mysql).and(self.pg),
        }
    }

    /// The level in a preset (`strict` follows Bytebase's prod template, `default` its dev one).
    pub(crate) fn preset_level(&self, engine: Engine, strict: bool) -> L {
        self.levels(engine)
            .map_or(L::O, |(prod, dev)| if strict { prod } else { dev })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_enum_order_and_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.id as usize, i, "{}", r.name);
            assert!(seen.insert(r.name), "duplicate {}", r.name);
            assert!(seen.insert(r.enum_name), "duplicate {}", r.enum_name);
            for a in r.aliases {
                assert!(seen.insert(a), "duplicate {a}");
            }
        }
    }

    #[test]
    fn lookup_accepts_dotted_aliases_and_enum_spellings() {
        assert_eq!(
            RuleId::lookup("table.require-pk"),
            Some(RuleId::TableRequirePk)
        );
        assert_eq!(
            RuleId::lookup("TABLE_REQUIRE_PK"),
            Some(RuleId::TableRequirePk)
        );
        assert_eq!(
            RuleId::lookup("table.no-fk"),
            Some(RuleId::TableNoForeignKey)
        );
        assert_eq!(
            RuleId::lookup("table.no-duplicate-index"),
            Some(RuleId::IndexNoDuplicateColumn)
        );
        assert_eq!(
            RuleId::lookup("TABLE_NO_DUPLICATE_INDEX"),
            Some(RuleId::TableNoDuplicateIndex)
        );
        assert_eq!(RuleId::lookup("no.such-rule"), None);
    }

    #[test]
    fn guards_have_fixed_levels_and_their_own_prefix() {
        for r in RULES {
            assert_eq!(
                r.id.is_guard(),
                r.name.starts_with("schemagate."),
                "{}",
                r.name
            );
        }
        assert_eq!(
            RuleId::lookup("schemagate.transaction-control")
                .unwrap()
                .guard_level(),
            Some(Level::Error)
        );
        assert_eq!(
            RuleId::lookup("SCHEMAGATE_EXECUTABLE_COMMENT")
                .unwrap()
                .guard_level(),
            Some(Level::Warning)
        );
        assert_eq!(RuleId::StatementDisallowCommit.guard_level(), None);
    }

    #[test]
    fn payload_defaults_are_valid_json() {
        for r in RULES.iter().filter(|r| !r.default_payload.is_empty()) {
            serde_json::from_str::<serde_json::Value>(r.default_payload).unwrap();
        }
    }
}
