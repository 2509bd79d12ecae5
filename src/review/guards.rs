//! schemagate's built-in guards in the review: findings that protect the guarantees (exactly
//! once, only reviewed SQL runs) and that no policy can disable or lower. The checks themselves
//! live in `sqltext::guard`, where the executor applies them again before it connects. Must not
//! parse statements or apply rules.

use crate::sqltext::{self, guard};

use super::policy::Resolved;
use super::registry::RuleId;
use super::rules::{self, Emitter, Position};
use super::split::RawStatement;
use super::{Engine, Finding};

/// The most of an expanded statement quoted in a message.
const QUOTE_CHARS: usize = 160;

/// A guard finding at a byte offset of the script.
struct Hit {
    offset: usize,
    rule: RuleId,
    message: String,
}

/// The guard findings of one script, handed out to the statements they fall in as the review
/// walks the script.
pub(crate) struct Guards<'s> {
    script: &'s str,
    /// Transaction control, found statement by statement as the review walks the script.
    control: guard::TransactionControlScan,
    hits: Vec<Hit>,
    next: usize,
    last_statement: Option<usize>,
}

impl<'s> Guards<'s> {
    /// Runs the script-level guards (NUL byte); transaction control under every reading the
    /// server may use is found as [`Guards::statement`] is given the script's statements.
    pub(crate) fn new(script: &'s str, engine: Engine) -> Self {
        let mut hits = Vec::new();
        if let Some(nul) = guard::find_nul(script) {
            hits.push(Hit {
                offset: nul.offset,
                rule: RuleId::SchemagateNulByte,
                message: format!(
                    "NUL byte (U+0000) at line {}, column {}: no database accepts it in SQL text \
                     (PostgreSQL rejects the message, SQLite stops reading there); remove it",
                    nul.line, nul.column
                ),
            });
        }
        Guards {
            script,
            control: guard::TransactionControlScan::new(engine),
            hits,
            next: 0,
            last_statement: None,
        }
    }

    /// Reports the guard findings that fall in (or before) `raw` on it, and warns when it holds
    /// an executable comment (`expanded` is then the text the server runs and the review saw).
    /// `raw` must be the next statement of `split::split(script, engine)`: the transaction
    /// control scan then finds exactly what `guard::find_transaction_control` finds on the
    /// whole script, as the executor does.
    pub(crate) fn statement(
        &mut self,
        raw: &RawStatement<'_>,
        expanded: Option<&str>,
        em: &mut Emitter<'_>,
    ) {
        if let Some((offset, control)) = self.control.statement(raw) {
            // In offset order among the pending hits; after a NUL byte at the same offset, as
            // when every hit was found first and sorted by offset (stable, NUL first).
            let hit = Hit {
                offset,
                rule: RuleId::SchemagateTransactionControl,
                message: format!(
                    "{control} is transaction control: schemagate runs each change in its own \
                     transaction (PostgreSQL, SQLite) or records every statement as it runs \
                     (MySQL), and records it in the history table in the same step; a script \
                     must not begin, end or change transactions. Remove it"
                ),
            };
            let at = self.next + self.hits[self.next..].partition_point(|h| h.offset <= offset);
            self.hits.insert(at, hit);
        }
        while let Some(hit) = self
            .hits
            .get(self.next)
            .filter(|h| h.offset < raw.range.end)
        {
            let (line, column) = match hit.offset.checked_sub(raw.range.start) {
                Some(rel) => sqltext::advance((raw.line, raw.column), raw.text, rel),
                None => sqltext::position(self.script, hit.offset),
            };
            em.emit_located(hit.rule, line, column, hit.message.clone());
            self.next += 1;
        }
        if let Some(text) = expanded {
            em.emit(RuleId::SchemagateExecutableComment, || {
                let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let quoted: String = flat.chars().take(QUOTE_CHARS).collect();
                let more = if flat.chars().count() > QUOTE_CHARS {
                    " …"
                } else {
                    ""
                };
                format!(
                    "MySQL/MariaDB runs the content of /*! … */ and /*M! … */ comments as SQL; \
                     this statement was reviewed as the server will run it: {quoted}{more}"
                )
            });
        }
        self.last_statement = Some(raw.index);
    }

    /// Reports what is left: findings after the last statement, and a script without any
    /// statement.
    pub(crate) fn finish(self, resolved: &Resolved, out: &mut Vec<Finding>) {
        let index = self.last_statement.unwrap_or(0);
        for hit in self.hits.iter().skip(self.next) {
            let (line, column) = sqltext::position(self.script, hit.offset);
            rules::emit_at(
                resolved,
                out,
                Position::new(index, line, column),
                hit.rule,
                hit.message.clone(),
            );
        }
        if self.last_statement.is_none() {
            rules::emit_at(
                resolved,
                out,
                Position::new(0, 1, 0),
                RuleId::SchemagateEmptyScript,
                "The script contains no SQL statement (it is empty or only comments): there is \
                 nothing to review, approve or apply"
                    .to_owned(),
            );
        }
    }
}

#[cfg(test)]
#[path = "guards_tests.rs"]
mod tests;
