//! The server's `quote_ident`, in Rust: the texts rebuilt from catalog rows (constraint
//! definitions, index expressions, defaults) quote their names exactly as the server's
//! deparser does. The rule is the server's `quote_identifier`: a name is left bare when it is
//! made of lower-case ASCII letters, digits and underscores, does not start with a digit, is
//! not a keyword of any category but "unreserved", and `quote_all_identifiers` is off. The
//! keywords are the connected server's own (`pg_get_keywords()`), read once per snapshot, so a
//! newer server's new reserved word is quoted as it would quote it. Pure.

use std::borrow::Cow;

use rustc_hash::FxHashSet as HashSet;

use crate::snapshot::Dialect;

/// Quotes identifiers as the connected server does.
#[derive(Debug, Default)]
pub(super) struct Quoter {
    /// The keywords that `quote_ident` quotes (every category but unreserved), lower case.
    keywords: HashSet<String>,
    /// The server's `quote_all_identifiers`.
    quote_all: bool,
}

impl Quoter {
    pub fn new(keywords: impl IntoIterator<Item = String>, quote_all: bool) -> Self {
        Self {
            keywords: keywords.into_iter().collect(),
            quote_all,
        }
    }

    /// `other` where it was read from the server (a default one knows no keywords).
    pub fn merge(&mut self, other: Quoter) {
        if !other.keywords.is_empty() {
            *self = other;
        }
    }

    /// `quote_ident(name)`.
    pub fn quote<'n>(&self, name: &'n str) -> Cow<'n, str> {
        let plain = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if plain && !self.quote_all && !self.keywords.contains(name) {
            return Cow::Borrowed(name);
        }
        // Quoted as the canonical DDL quotes every PostgreSQL name.
        Cow::Owned(crate::snapshot::quote_ident(Dialect::Postgres, name))
    }
}

#[cfg(test)]
mod tests {
    use super::Quoter;

    fn quoter(quote_all: bool) -> Quoter {
        Quoter::new(
            ["select", "int", "between", "authorization"].map(String::from),
            quote_all,
        )
    }

    #[test]
    fn bare_names_stay_bare_and_the_rest_is_quoted_as_the_server_does() {
        let q = quoter(false);
        for (name, quoted) in [
            ("users", "users"),
            ("_x9", "_x9"),
            ("name", "name"),
            ("select", "\"select\""),
            ("int", "\"int\""),
            ("Users", "\"Users\""),
            ("9lives", "\"9lives\""),
            ("a$b", "\"a$b\""),
            ("a b", "\"a b\""),
            ("", "\"\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("café", "\"café\""),
            ("SELECT", "\"SELECT\""),
        ] {
            assert_eq!(q.quote(name), quoted, "{name}");
        }
    }

    #[test]
    fn quote_all_identifiers_quotes_every_name() {
        assert_eq!(quoter(true).quote("users"), "\"users\"");
    }
}
