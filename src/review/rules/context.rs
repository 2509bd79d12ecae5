//! What a rule sees: the state of the script so far (catalog, tables created, transaction and
//! session facts) and the statement being checked with its extracted definitions.

use std::collections::HashMap;

use sqlparser::ast::{ObjectName, Statement};

use super::emit::Position;
use super::extract::{ColumnSpec, IndexSpec};
use crate::review::Engine;
use crate::review::catalog::Catalog;

/// Per table, over the whole script: columns defaulting to / updated to the current time, and
/// where the last of them was defined (for `column.current-time-column-count-limit`).
#[derive(Default)]
pub(crate) struct CurrentTimeCount {
    pub(super) name: String,
    pub(super) defaults: usize,
    pub(super) updates: usize,
    pub(super) pos: Option<Position>,
}

/// An index an earlier statement of the script defined (for `table.no-redundant-index`).
pub(crate) struct ScriptIndex {
    pub(super) columns: Vec<String>,
    pub(super) unique: bool,
    pub(super) using: String,
}

/// What the script has done so far.
pub(crate) struct ScriptState {
    pub(crate) engine: Engine,
    pub(crate) catalog: Catalog,
    /// The caller supplied the database's current schema.
    pub(crate) has_schema: bool,
    /// Tables created by this script, with where.
    pub(crate) created: HashMap<String, Position>,
    /// Tables changed (CREATE/ALTER) so far, for `statement.merge-alter-table`.
    pub(super) table_changes: HashMap<String, usize>,
    /// Statements in the open transaction, `None` outside one.
    pub(super) txn_statements: Option<usize>,
    pub(super) txn_reported: bool,
    /// `SET ROLE` seen / the role check done.
    pub(super) role_checked: bool,
    /// `SET max_execution_time` seen (or its absence already reported).
    pub(super) max_execution_time_set: bool,
    /// Tables left without a primary key, with the statement that left them so (judged at the
    /// end of the script: a key added later settles it).
    pub(super) pk_missing: HashMap<String, (Position, String)>,
    /// Tables left without a required column (`column.required`), likewise.
    pub(super) required_missing: HashMap<String, (Position, String)>,
    /// Tables over `index.total-number-limit`, with the last statement that added to them.
    pub(super) index_over: HashMap<String, (Position, String)>,
    /// Columns defaulting to / updated to the current time, per table.
    pub(super) current_time: HashMap<String, CurrentTimeCount>,
    /// Where the last `COMMENT ON` of a table (by catalog key) or column set its comment.
    pub(super) comment_at: HashMap<String, Position>,
    /// Indexes defined by the script so far, per table (by catalog key).
    pub(super) script_indexes: HashMap<String, Vec<ScriptIndex>>,
    /// `builtin.prior-backup-check`: the first DML kind seen per table (empty once reported).
    pub(super) backup_kinds: HashMap<String, &'static str>,
}

impl ScriptState {
    pub(crate) fn new(engine: Engine, schema: Option<&Catalog>) -> Self {
        ScriptState {
            engine,
            catalog: schema.cloned().unwrap_or_else(|| Catalog::new(engine)),
            has_schema: schema.is_some(),
            created: HashMap::new(),
            backup_kinds: HashMap::new(),
            table_changes: HashMap::new(),
            txn_statements: None,
            txn_reported: false,
            role_checked: false,
            max_execution_time_set: false,
            pk_missing: HashMap::new(),
            required_missing: HashMap::new(),
            index_over: HashMap::new(),
            current_time: HashMap::new(),
            comment_at: HashMap::new(),
            script_indexes: HashMap::new(),
        }
    }

    /// Whether `name` was created by this script (so it holds no data yet).
    pub(crate) fn is_new(&self, name: &ObjectName) -> bool {
        self.created.contains_key(&self.catalog.key(name))
    }
}

/// The statement being checked and the state before it.
pub(crate) struct Ctx<'a> {
    pub(crate) engine: Engine,
    pub(crate) stmt: &'a Statement,
    /// Column definitions of the statement, computed once.
    pub(crate) columns: &'a [ColumnSpec<'a>],
    /// Indexes, keys and foreign keys of the statement, computed once.
    pub(crate) indexes: &'a [IndexSpec<'a>],
    /// The statement is a bulk insert of literals ([`super::literal_insert`]), computed once.
    pub(crate) literal_insert: bool,
    pub(crate) text: &'a str,
    pub(crate) state: &'a ScriptState,
}

impl Ctx<'_> {
    pub(crate) fn pg(&self) -> bool {
        self.engine == Engine::Postgres
    }
    pub(crate) fn mysql(&self) -> bool {
        self.engine == Engine::Mysql
    }
}

/// The type of `column` of `table`: from the statement's own definitions, else the catalog.
pub(crate) fn column_type(ctx: &Ctx<'_>, table: &ObjectName, column: &str) -> Option<String> {
    ctx.columns
        .iter()
        .find(|c| c.name.value.eq_ignore_ascii_case(column))
        .map(|c| c.data_type.to_string())
        .or_else(|| {
            ctx.state
                .catalog
                .table(table)
                .and_then(|t| t.column(column))
                .map(|c| c.data_type.clone())
        })
}
