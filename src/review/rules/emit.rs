//! Where findings go: the position of the current statement and the emitter that applies the
//! policy's level (or drops the finding when the rule is disabled).

use crate::review::Finding;
use crate::review::policy::{Active, Resolved};
use crate::review::registry::RuleId;
use crate::review::split::RawStatement;

/// Where a finding for the current statement is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Position {
    pub(super) index: usize,
    pub(super) line: usize,
    pub(super) column: usize,
}

impl Position {
    /// Statement `index`, at `line` (1-based) and `column` (0-based, characters).
    pub(crate) fn new(index: usize, line: usize, column: usize) -> Self {
        Position {
            index,
            line,
            column,
        }
    }
}

/// Collects findings for one statement.
pub(crate) struct Emitter<'a> {
    pub(super) rules: &'a Resolved,
    pub(super) out: &'a mut Vec<Finding>,
    pub(super) pos: Position,
}

impl<'a> Emitter<'a> {
    /// The current statement's index and starting line.
    pub(crate) fn statement_position(&self) -> (usize, usize) {
        (self.pos.index, self.pos.line)
    }

    pub(crate) fn new(
        rules: &'a Resolved,
        out: &'a mut Vec<Finding>,
        raw: &RawStatement<'_>,
    ) -> Self {
        Emitter {
            rules,
            out,
            pos: Position {
                index: raw.index,
                line: raw.line,
                column: raw.column,
            },
        }
    }

    /// The rule's settings if it runs.
    pub(crate) fn on(&self, rule: RuleId) -> Option<&'a Active> {
        self.rules.get(rule)
    }

    /// Reports `rule` on the current statement (if the rule runs; the message is only built
    /// then).
    pub(crate) fn emit(&mut self, rule: RuleId, message: impl FnOnce() -> String) {
        if self.rules.get(rule).is_some() {
            emit_at(self.rules, self.out, self.pos, rule, message());
        }
    }

    /// Reports `rule` on the current statement at a position inside it (the guards point at
    /// the offending text itself).
    pub(crate) fn emit_located(
        &mut self,
        rule: RuleId,
        line: usize,
        column: usize,
        message: String,
    ) {
        let pos = Position::new(self.pos.index, line, column);
        emit_at(self.rules, self.out, pos, rule, message);
    }
}

pub(crate) fn emit_at(
    rules: &Resolved,
    out: &mut Vec<Finding>,
    pos: Position,
    rule: RuleId,
    message: String,
) {
    if let Some(active) = rules.get(rule) {
        out.push(Finding {
            rule: rule.name().to_owned(),
            level: active.level,
            statement: pos.index,
            line: pos.line,
            column: pos.column,
            message,
        });
    }
}
