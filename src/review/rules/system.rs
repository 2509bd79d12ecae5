//! system rules (stub).
use super::{Ctx, Emitter};
pub(super) fn check(_ctx: &Ctx<'_>, _em: &mut Emitter<'_>) {}
pub(super) fn check_text(_e: crate::review::Engine, _t: &str, _em: &mut Emitter<'_>) {}
