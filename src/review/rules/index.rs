//! index rules (stub).
use super::{Ctx, Emitter};
pub(super) fn check(_ctx: &Ctx<'_>, _em: &mut Emitter<'_>) {}
pub(super) fn after_apply(
    _s: &mut super::ScriptState,
    _st: &sqlparser::ast::Statement,
    _em: &mut Emitter<'_>,
) {
}
