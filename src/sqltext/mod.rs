//! SQL text handling shared by `review` and `engine`: the one [`Engine`] type (which database,
//! so which dialect), the statement splitter and the guards that both the reviewer and the
//! executor apply (transaction control, NUL bytes, MySQL executable comments). Pure text work on
//! `&str`: it must import nothing from `api`, `review`, `engine`, `snapshot`, `workflow`,
//! `controller`, kube or sqlx, so that every layer may use it, executing never depends on
//! reviewing, and both see the same statements.

mod engine;
pub mod guard;
pub(crate) mod lex;
mod reading;
pub mod split;

pub use engine::{Engine, UnknownEngine};

/// The 1-based line and 0-based column (in characters) of byte `offset` in `text`, counting
/// from a known position: `start` is (line, column) of `text`'s first byte.
#[must_use]
pub fn advance(start: (usize, usize), text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    match before.rfind('\n') {
        Some(nl) => (
            start.0 + before.matches('\n').count(),
            before[nl + 1..].chars().count(),
        ),
        None => (start.0, start.1 + before.chars().count()),
    }
}

/// The 1-based line and 0-based column (in characters) of byte `offset` in `text`.
#[must_use]
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    advance((1, 0), text, offset)
}
