//! How the server reads string literals (PostgreSQL `standard_conforming_strings`, MySQL
//! `sql_mode`), where a script may change that, and the assignments of a `SET`. Used by the
//! transaction-control guard, which reads later statements both ways once the reading may have
//! changed.

use super::Engine;
use super::lex::{Escapes, Tok, significant};
use super::split;

/// The setting that decides how string literals are read, per engine.
fn reading_setting(engine: Engine) -> Option<&'static str> {
    match engine {
        Engine::Postgres => Some("standard_conforming_strings"),
        Engine::Mysql => Some("sql_mode"),
        Engine::Sqlite => None,
    }
}

/// Offset of the first statement that may change how the server reads string literals:
/// PostgreSQL `standard_conforming_strings` set to anything but on (or reset, or set through
/// `set_config`), MySQL `sql_mode` set to anything but literals without `NO_BACKSLASH_ESCAPES`
/// and `ANSI_QUOTES`/`ANSI` (`mysqldump`'s `SQL_MODE='NO_AUTO_VALUE_ON_ZERO'` changes nothing).
pub(super) fn reading_change(engine: Engine, script: &str) -> Option<usize> {
    reading_setting(engine)?;
    split::split(script, engine)
        .find(|part| changes_reading(engine, part.text))
        .map(|part| part.range.start)
}

/// Whether the statement `text` may change how the server reads string literals (see
/// [`reading_change`]).
pub(super) fn changes_reading(engine: Engine, text: &str) -> bool {
    let Some(key) = reading_setting(engine) else {
        return false;
    };
    contains_ignore_case(text, key)
        && changes_reading_to(engine, text, Escapes::default_for(engine), key)
}

/// Whether `key` (ASCII, not empty) occurs in `text`, ignoring ASCII case. Compares the rest
/// of the key only where its first byte matches: this runs on every statement of a review.
fn contains_ignore_case(text: &str, key: &str) -> bool {
    let (text, key) = (text.as_bytes(), key.as_bytes());
    let Some((&first, rest)) = key.split_first() else {
        return true;
    };
    let Some(last_start) = text.len().checked_sub(key.len()) else {
        return false;
    };
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &text[..=last_start],
    )
    .any(|i| text[i + 1..i + key.len()].eq_ignore_ascii_case(rest))
}

fn changes_reading_to(engine: Engine, text: &str, escapes: Escapes, key: &str) -> bool {
    let toks = significant(text, engine, escapes, usize::MAX);
    if !toks.first().is_some_and(|t| t.is("SET")) {
        // `RESET`, `set_config(…)`, a routine body: assume it may.
        return toks.iter().any(|t| match t {
            Tok::Word(w) | Tok::Str(w) => w.eq_ignore_ascii_case(key),
            _ => false,
        });
    }
    assignments(&toks[1..]).iter().any(|(target, value)| {
        target
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(key))
            && !keeps_default_reading(engine, value)
    })
}

/// Whether a value assigned to the reading setting keeps the default reading.
fn keeps_default_reading(engine: Engine, value: &[Tok<'_>]) -> bool {
    !value.is_empty()
        && value.iter().all(|t| match (engine, t) {
            (Engine::Postgres, Tok::Word(v) | Tok::Str(v)) => ["on", "true", "yes", "1"]
                .iter()
                .any(|on| v.eq_ignore_ascii_case(on)),
            (Engine::Mysql, Tok::Str(v)) => {
                let v = v.to_ascii_uppercase();
                !v.contains("NO_BACKSLASH_ESCAPES") && !v.contains("ANSI")
            }
            _ => false,
        })
}

/// The assignments of a `SET` (the tokens after `SET`): the last word of each target and its
/// value tokens, split at top-level commas; a target ends at `=`, `:=` or `TO`.
pub(super) fn assignments<'t, 'a>(toks: &'t [Tok<'a>]) -> Vec<(Option<String>, &'t [Tok<'a>])> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    // (end of the target, start of the value)
    let mut op: Option<(usize, usize)> = None;
    let mut k = 0;
    while k <= toks.len() {
        let t = toks.get(k);
        let end_of_assignment = t.is_none() || (depth == 0 && t == Some(&Tok::Punct(b',')));
        if end_of_assignment {
            let (target_end, value_start) = op.unwrap_or((k, k));
            let target = toks[start..target_end].iter().rev().find_map(Tok::word);
            out.push((target, &toks[value_start.min(k)..k]));
            start = k + 1;
            op = None;
        } else if let Some(t) = t {
            match t {
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') => depth = depth.saturating_sub(1),
                _ if depth > 0 || op.is_some() => {}
                Tok::Punct(b'=') => op = Some((k, k + 1)),
                Tok::Punct(b':') if toks.get(k + 1) == Some(&Tok::Punct(b'=')) => {
                    op = Some((k, k + 2));
                }
                _ if t.is("TO") => op = Some((k, k + 1)),
                _ => {}
            }
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::contains_ignore_case;

    #[test]
    fn contains_ignore_case_finds_the_key_anywhere_in_any_case() {
        for text in [
            "",
            "s",
            "sql_mod",
            "sql_mode",
            "SQL_MODE",
            "set Sql_Mode = ''",
            "xsql_modx sql_mode",
            "ssql_mode",
            "sql_modesql_mode",
            "sqL_mOdE",
            "é sql_mode é",
            "sql-mode",
        ] {
            let want = text
                .as_bytes()
                .windows(8)
                .any(|w| w.eq_ignore_ascii_case(b"sql_mode"));
            assert_eq!(contains_ignore_case(text, "sql_mode"), want, "{text:?}");
        }
    }
}
