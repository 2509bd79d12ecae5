//! column rules (stub).
use super::{Ctx, Emitter};
pub(super) fn check(_ctx: &Ctx<'_>, _em: &mut Emitter<'_>) {}
pub(super) fn finish_comment(
    _t: &crate::review::catalog::Table,
    _r: &crate::review::policy::Resolved,
    _o: &mut Vec<crate::review::Finding>,
    _p: super::Position,
) {
}
