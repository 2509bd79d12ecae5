//! statement rules (stub).
use super::{Ctx, Emitter};
pub(super) fn check(_ctx: &Ctx<'_>, _em: &mut Emitter<'_>) {}
pub(super) fn check_text(_e: crate::review::Engine, _t: &str, _em: &mut Emitter<'_>) {}
pub(super) fn track_script(
    _s: &mut super::ScriptState,
    _st: &sqlparser::ast::Statement,
    _em: &mut Emitter<'_>,
) {
}
pub(super) fn finish(
    _s: &super::ScriptState,
    _r: &crate::review::policy::Resolved,
    _o: &mut Vec<crate::review::Finding>,
    _p: super::Position,
) {
}
