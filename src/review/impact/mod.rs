//! Impact analysis: for each statement, which lock it takes on which table, whether it rewrites
//! or scans the table, what that blocks, and (with sizes from the live database) for how much
//! data. Pure: the lock and rewrite rules come from the engines' documentation and are written
//! down in `pg.rs` (PostgreSQL) and `my.rs` (MySQL 8 / MariaDB online DDL); `docs/review.md`
//! has them as a table, and `tests/engine_impact.rs` checks them against real servers.
//!
//! The model knows the catalog (a table created earlier in the same script holds no data; a
//! type change between binary-coercible types does not rewrite) and the sizes the caller put
//! into it ([`crate::review::Catalog::set_size`]).

use serde::{Deserialize, Serialize};
use sqlparser::ast::{ObjectName, Statement};

pub use super::catalog::Server;
use super::catalog::{Catalog, TableSize};
use super::registry::RuleId;
use super::rules::Emitter;
use super::{Engine, Risk};

mod my;
mod pg;
mod text;
mod types;
pub mod verify;

#[cfg(test)]
mod tests;

/// A table-level lock, on PostgreSQL's scale (weakest first). MySQL/MariaDB statements are
/// mapped onto it by what they block: an online (`LOCK=NONE`) change is `ShareUpdateExclusive`,
/// one that allows reads only is `Share`, one that blocks both is `AccessExclusive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Lock {
    /// Reads (SELECT): conflicts only with ACCESS EXCLUSIVE.
    AccessShare,
    /// SELECT … FOR UPDATE/SHARE.
    RowShare,
    /// INSERT/UPDATE/DELETE.
    RowExclusive,
    /// VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT, some ALTER TABLE forms:
    /// reads and writes continue.
    ShareUpdateExclusive,
    /// CREATE INDEX: blocks writes, not reads.
    Share,
    /// CREATE TRIGGER, ADD FOREIGN KEY: blocks writes, not reads.
    ShareRowExclusive,
    /// REFRESH MATERIALIZED VIEW CONCURRENTLY: blocks writes, not reads.
    Exclusive,
    /// Most ALTER TABLE forms, DROP, TRUNCATE: blocks reads and writes.
    AccessExclusive,
}

impl Lock {
    /// The lock's name as PostgreSQL's documentation writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Lock::AccessShare => "ACCESS SHARE",
            Lock::RowShare => "ROW SHARE",
            Lock::RowExclusive => "ROW EXCLUSIVE",
            Lock::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            Lock::Share => "SHARE",
            Lock::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            Lock::Exclusive => "EXCLUSIVE",
            Lock::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The `pg_locks.mode` name (e.g. `AccessExclusiveLock`).
    #[must_use]
    pub fn pg_mode(self) -> &'static str {
        match self {
            Lock::AccessShare => "AccessShareLock",
            Lock::RowShare => "RowShareLock",
            Lock::RowExclusive => "RowExclusiveLock",
            Lock::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            Lock::Share => "ShareLock",
            Lock::ShareRowExclusive => "ShareRowExclusiveLock",
            Lock::Exclusive => "ExclusiveLock",
            Lock::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// The lock named by a `pg_locks.mode` value.
    #[must_use]
    pub fn from_pg_mode(mode: &str) -> Option<Lock> {
        [
            Lock::AccessShare,
            Lock::RowShare,
            Lock::RowExclusive,
            Lock::ShareUpdateExclusive,
            Lock::Share,
            Lock::ShareRowExclusive,
            Lock::Exclusive,
            Lock::AccessExclusive,
        ]
        .into_iter()
        .find(|l| l.pg_mode() == mode)
    }

    /// Whether plain reads (SELECT) wait while this lock is held.
    #[must_use]
    pub fn blocks_reads(self) -> bool {
        self == Lock::AccessExclusive
    }

    /// Whether writes (INSERT/UPDATE/DELETE) wait while this lock is held.
    #[must_use]
    pub fn blocks_writes(self) -> bool {
        self >= Lock::Share
    }
}

/// How MySQL/MariaDB carries out an `ALTER TABLE` (`ALGORITHM=…`), cheapest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Algorithm {
    /// Metadata only.
    Instant,
    /// In place, without rebuilding the table (MariaDB `NOCOPY`; MySQL `INPLACE` without rebuild).
    Nocopy,
    /// In place, rebuilding the table (MySQL `INPLACE` with rebuild).
    Inplace,
    /// A copy of the table.
    Copy,
}

impl Algorithm {
    /// `INSTANT`, `NOCOPY`, `INPLACE` or `COPY`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Instant => "INSTANT",
            Algorithm::Nocopy => "NOCOPY",
            Algorithm::Inplace => "INPLACE",
            Algorithm::Copy => "COPY",
        }
    }
}

/// What one statement does to one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// 0-based index of the statement in the script.
    pub statement: usize,
    /// 1-based line where the statement starts.
    pub line: usize,
    /// The table, as written in the statement.
    pub table: String,
    /// The strongest table lock held while the statement runs (until the transaction ends on
    /// PostgreSQL).
    pub lock: Lock,
    /// MySQL/MariaDB: the cheapest `ALGORITHM` the server can use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<Algorithm>,
    /// The table (and its indexes) is rewritten: time and disk proportional to its size.
    pub rewrite: bool,
    /// The table is read in full (validation or index build) while the lock is held.
    pub scan: bool,
    /// The table was created earlier in the same script, so it holds no data yet.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_table: bool,
    /// Estimated rows, from the live database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes of the table with its indexes, from the live database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Why: the operation that decided the lock or the rewrite.
    pub reason: String,
    /// A way to get the same result with less locking, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safer: Option<String>,
}

impl Impact {
    /// Whether the statement's cost grows with the table's size (a rewrite or a full scan).
    #[must_use]
    pub fn proportional(&self) -> bool {
        self.rewrite || self.scan
    }

    /// Whether writes to the table wait while it runs.
    #[must_use]
    pub fn blocks_writes(&self) -> bool {
        self.lock.blocks_writes()
    }

    /// Whether reads of the table wait while it runs.
    #[must_use]
    pub fn blocks_reads(&self) -> bool {
        self.lock.blocks_reads()
    }

    /// One line for people, e.g. `orders: ACCESS EXCLUSIVE, rewrite (blocks reads and writes;
    /// 1.2M rows, 340 MB)`.
    #[must_use]
    pub fn describe(&self) -> String {
        let mut what = vec![self.lock.as_str().to_owned()];
        if let Some(a) = self.algorithm {
            what.push(format!("ALGORITHM={}", a.as_str()));
        }
        if self.rewrite {
            what.push("rewrite".into());
        } else if self.scan {
            what.push("full scan".into());
        }
        let blocks = match (self.blocks_reads(), self.blocks_writes()) {
            (true, _) => "blocks reads and writes",
            (false, true) => "blocks writes",
            _ => "blocks neither reads nor writes",
        };
        let mut size = Vec::new();
        if self.new_table {
            size.push("created in this script".to_owned());
        }
        if let Some(r) = self.rows {
            size.push(format!("{} rows", human_count(r)));
        }
        if let Some(b) = self.bytes {
            size.push(human_bytes(b));
        }
        let size = if size.is_empty() {
            String::new()
        } else {
            format!("; {}", size.join(", "))
        };
        format!(
            "{}: {} ({blocks}{size}) — {}",
            self.table,
            what.join(", "),
            self.reason
        )
    }
}

/// 1234567 → `1.2M`.
#[must_use]
pub fn human_count(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    if n >= 1_000_000_000 {
        format!("{:.1}G", f / 1e9)
    } else if n >= 1_000_000 {
        format!("{:.1}M", f / 1e6)
    } else if n >= 10_000 {
        format!("{:.0}k", f / 1e3)
    } else {
        n.to_string()
    }
}

/// 356515840 → `340 MB`.
#[must_use]
pub fn human_bytes(n: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let f = n as f64;
    const MB: f64 = 1024.0 * 1024.0;
    if f >= 1024.0 * MB {
        format!("{:.1} GB", f / (1024.0 * MB))
    } else if f >= MB {
        format!("{:.0} MB", f / MB)
    } else {
        format!("{:.0} kB", (f / 1024.0).max(1.0))
    }
}

/// Which tables the script created before the statement (they hold no data yet).
pub trait NewTables {
    /// Whether `table` was created earlier in this script.
    fn is_new(&self, table: &ObjectName) -> bool;
}

impl<F: Fn(&ObjectName) -> bool> NewTables for F {
    fn is_new(&self, table: &ObjectName) -> bool {
        self(table)
    }
}

/// What the model needs besides the statement.
pub struct Context<'a> {
    /// The engine.
    pub engine: Engine,
    /// The server (version decides some forms).
    pub server: Server,
    /// The schema before the statement, with sizes when the caller knows them.
    pub catalog: &'a Catalog,
    /// The tables the script created so far.
    pub is_new: &'a dyn NewTables,
}

/// Builds one [`Impact`] for a table, filling sizes and `new_table` from the context.
pub(super) struct Builder<'a, 'c> {
    ctx: &'a Context<'c>,
    out: Vec<Impact>,
}

impl<'a, 'c> Builder<'a, 'c> {
    fn new(ctx: &'a Context<'c>) -> Self {
        Builder {
            ctx,
            out: Vec::new(),
        }
    }

    /// Records `lock` (and rewrite/scan) on `table`; several records on one table merge into
    /// the strongest lock, with the reason of the costliest part.
    pub(super) fn add(&mut self, table: &ObjectName, op: Op) {
        let name = table.to_string();
        let size: Option<TableSize> = self.ctx.catalog.size(table);
        let new_table = self.ctx.is_new.is_new(table);
        let impact = Impact {
            statement: 0,
            line: 0,
            table: name,
            lock: op.lock,
            algorithm: op.algorithm,
            rewrite: op.rewrite && !new_table,
            scan: op.scan && !new_table,
            new_table,
            rows: size.map(|s| s.rows),
            bytes: size.map(|s| s.bytes),
            reason: op.reason,
            safer: if new_table { None } else { op.safer },
        };
        if let Some(prev) = self
            .out
            .iter_mut()
            .find(|i| i.table.eq_ignore_ascii_case(&impact.table))
        {
            merge(prev, impact);
        } else {
            self.out.push(impact);
        }
    }

    fn finish(self) -> Vec<Impact> {
        self.out
    }
}

/// The parts of one operation on one table.
#[derive(Debug, Clone)]
pub(super) struct Op {
    pub(super) lock: Lock,
    pub(super) algorithm: Option<Algorithm>,
    pub(super) rewrite: bool,
    pub(super) scan: bool,
    pub(super) reason: String,
    pub(super) safer: Option<String>,
}

impl Op {
    pub(super) fn new(lock: Lock, reason: impl Into<String>) -> Op {
        Op {
            lock,
            algorithm: None,
            rewrite: false,
            scan: false,
            reason: reason.into(),
            safer: None,
        }
    }
    pub(super) fn rewrite(mut self) -> Op {
        self.rewrite = true;
        self
    }
    pub(super) fn scan(mut self) -> Op {
        self.scan = true;
        self
    }
    pub(super) fn safer(mut self, s: impl Into<String>) -> Op {
        self.safer = Some(s.into());
        self
    }
    pub(super) fn algorithm(mut self, a: Algorithm) -> Op {
        self.algorithm = Some(a);
        self
    }
}

/// Cost rank used to pick which part's reason describes a merged impact.
fn cost(i: &Impact) -> (bool, bool, Lock, Option<Algorithm>) {
    (i.rewrite, i.scan, i.lock, i.algorithm)
}

fn merge(prev: &mut Impact, next: Impact) {
    let next_costlier = cost(&next) > cost(prev);
    prev.lock = prev.lock.max(next.lock);
    prev.algorithm = match (prev.algorithm, next.algorithm) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    prev.rewrite |= next.rewrite;
    prev.scan |= next.scan;
    if next_costlier {
        prev.reason = next.reason;
        if next.safer.is_some() {
            prev.safer = next.safer;
        }
    } else if prev.safer.is_none() {
        prev.safer = next.safer;
    }
}

/// The impact of one parsed statement (empty for statements that lock no existing table, such
/// as SELECT or CREATE TABLE without foreign keys).
#[must_use]
pub fn analyze(ctx: &Context<'_>, stmt: &Statement) -> Vec<Impact> {
    let mut b = Builder::new(ctx);
    match ctx.engine {
        Engine::Postgres => pg::statement(&mut b, stmt),
        Engine::Mysql => my::statement(&mut b, stmt),
        Engine::Sqlite => {}
    }
    b.finish()
}

/// The impact of a statement the parser could not read, from its words: the table-rewriting
/// maintenance forms (CLUSTER, VACUUM FULL, REINDEX, SET TABLESPACE, OPTIMIZE TABLE, ENGINE=,
/// CONVERT TO CHARACTER SET, FORCE). Anything else gives nothing (the statement is already a
/// `statement.syntax` finding).
#[must_use]
pub fn analyze_text(ctx: &Context<'_>, text: &str) -> Vec<Impact> {
    let mut b = Builder::new(ctx);
    text::statement(&mut b, ctx.engine, text);
    b.finish()
}

/// Whether the table is at least `rows` rows or `bytes` bytes (false when the size is unknown).
#[must_use]
pub fn at_least(i: &Impact, rows: u64, bytes: u64) -> bool {
    i.rows.is_some_and(|r| r >= rows) || i.bytes.is_some_and(|b| b >= bytes)
}

/// Rows / bytes from which a statement that rewrites a table, or scans it while writes wait,
/// makes the statement's risk HIGH.
pub const HIGH_RISK_SIZE: (u64, u64) = (1_000_000, 1 << 30);
/// Rows / bytes from which such a statement is at least MODERATE.
pub const MODERATE_RISK_SIZE: (u64, u64) = (10_000, 10 << 20);

/// Numbers the statement's impacts, emits the `impact.*` rules for them and returns the risk
/// they add: a rewrite, or a scan while writes wait, of a table of known size is MODERATE from
/// [`MODERATE_RISK_SIZE`] and HIGH from [`HIGH_RISK_SIZE`]; unknown sizes add nothing.
pub(crate) fn report(found: &mut [Impact], em: &mut Emitter<'_>) -> Risk {
    let mut risk = Risk::Low;
    for i in found.iter_mut() {
        (i.statement, i.line) = em.statement_position();
        if i.new_table || !(i.rewrite || (i.scan && i.blocks_writes())) {
            continue;
        }
        if at_least(i, HIGH_RISK_SIZE.0, HIGH_RISK_SIZE.1) {
            risk = Risk::High;
        } else if at_least(i, MODERATE_RISK_SIZE.0, MODERATE_RISK_SIZE.1) {
            risk = risk.max(Risk::Moderate);
        }
        let threshold = |rule| {
            em.on(rule)
                .and_then(|r| r.number())
                .and_then(|n| u64::try_from(n).ok())
        };
        let advice = |i: &Impact| match &i.safer {
            Some(s) => format!("{}; instead: {s}", i.describe()),
            None => i.describe(),
        };
        let rewrite_limit = threshold(RuleId::ImpactTableRewrite);
        let lock_limit = threshold(RuleId::ImpactBlockingLock);
        let over = |limit: Option<u64>| limit.filter(|n| i.rows.is_some_and(|r| r >= *n));
        if i.rewrite {
            if let Some(n) = over(rewrite_limit) {
                let msg = format!("Rewrites a table of {n} rows or more: {}", advice(i));
                em.emit(RuleId::ImpactTableRewrite, || msg);
            }
        } else if let Some(n) = over(lock_limit) {
            let msg = format!(
                "Blocks writes while it reads a table of {n} rows or more: {}",
                advice(i)
            );
            em.emit(RuleId::ImpactBlockingLock, || msg);
        }
    }
    risk
}
