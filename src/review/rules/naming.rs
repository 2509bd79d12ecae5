//! naming rules (stub).
use super::{Ctx, Emitter};
pub(super) fn check(_ctx: &Ctx<'_>, _em: &mut Emitter<'_>) {}
