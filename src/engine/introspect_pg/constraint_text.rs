//! The text `pg_get_constraintdef` prints for primary keys, unique constraints and foreign keys,
//! rebuilt from the `pg_constraint`, `pg_index`, `pg_attribute` and `pg_class` rows the snapshot
//! reads anyway: the server's function looks every column name up in a cold cache, which made
//! it one of the largest costs of a snapshot. Identifiers are quoted by the server's rule, with
//! its keywords (`super::quote`), so the text is the server's to the byte;
//! `super::tests` compares the two on every constraint of the snapshot corpus. Pure.

use rustc_hash::FxHashMap as HashMap;

use super::build::Catalog;
use super::catalog::{Constraint, Index};
use super::quote::Quoter;

/// The names the rebuilt definitions use (made once per snapshot: tens of thousands of
/// columns).
pub(super) struct Names<'a> {
    /// (relation, column number) → column name.
    pub columns: HashMap<(i64, i32), &'a str>,
    /// Relation → (schema oid, name).
    relations: HashMap<i64, (i64, &'a str)>,
    namespaces: HashMap<i64, &'a str>,
    indexes: HashMap<i64, &'a Index>,
}

impl<'a> Names<'a> {
    pub fn new(cat: &'a Catalog) -> Self {
        Self {
            columns: cat
                .attributes
                .iter()
                .map(|a| ((a.rel, a.num), a.name.as_str()))
                .collect(),
            relations: cat
                .classes
                .iter()
                .map(|c| (c.oid, (c.namespace, c.name.as_str())))
                .collect(),
            namespaces: cat
                .namespaces
                .iter()
                .map(|n| (n.oid, n.name.as_str()))
                .collect(),
            indexes: cat.indexes.iter().map(|i| (i.oid, i)).collect(),
        }
    }

    fn column(&self, rel: i64, num: i16) -> Option<&'a str> {
        self.columns.get(&(rel, i32::from(num))).copied()
    }

    fn index_keys(&self, k: &Constraint) -> Option<Vec<i16>> {
        let i = self.indexes.get(&k.index)?;
        i.keys.split_whitespace().map(|n| n.parse().ok()).collect()
    }
}

/// The empty definitions rebuilt, by position in `cat.constraints` (None: a name it needs
/// was not read); [`fill`] puts them in.
pub(super) fn texts(
    cat: &Catalog,
    names: &Names<'_>,
    quoter: &Quoter,
) -> Vec<(usize, Option<String>)> {
    cat.constraints
        .iter()
        .enumerate()
        .filter(|(_, k)| k.definition.is_empty())
        .map(|(n, k)| (n, text(names, quoter, k)))
        .collect()
}

/// Fills in the definitions [`texts`] rebuilt; returns the constraints it could not rebuild,
/// whose definitions the server must print.
pub(super) fn fill(cat: &mut Catalog, built: Vec<(usize, Option<String>)>) -> Vec<i64> {
    let mut missing = Vec::new();
    for (n, text) in built {
        match text {
            Some(t) => cat.constraints[n].definition = t,
            None => missing.push(cat.constraints[n].oid),
        }
    }
    missing
}

/// `pg_get_constraintdef(k)` for a primary key, unique constraint or foreign key.
fn text(names: &Names<'_>, quoter: &Quoter, k: &Constraint) -> Option<String> {
    let q = |name| Some(quoter.quote(name).into_owned());
    let list = |rel: i64, nums: &[i16]| -> Option<String> {
        let cols: Option<Vec<String>> = nums.iter().map(|n| q(names.column(rel, *n)?)).collect();
        Some(cols?.join(", "))
    };
    let keys = k.keys.as_deref()?;
    let mut s = match k.kind.as_str() {
        "p" | "u" => {
            let index = names.indexes.get(&k.index)?;
            let mut s = String::from(if k.kind == "p" {
                "PRIMARY KEY "
            } else {
                "UNIQUE "
            });
            if index.nulls_not_distinct {
                s.push_str("NULLS NOT DISTINCT ");
            }
            s.push_str(&format!("({})", list(k.rel, keys)?));
            let all = names.index_keys(k)?;
            if all.len() > keys.len() {
                s.push_str(&format!(" INCLUDE ({})", list(k.rel, &all[keys.len()..])?));
            }
            s
        }
        "f" => {
            let (ns, name) = names.relations.get(&k.referenced)?;
            let mut s = format!(
                "FOREIGN KEY ({}) REFERENCES {}.{}({})",
                list(k.rel, keys)?,
                q(names.namespaces.get(ns)?)?,
                q(name)?,
                list(k.referenced, k.referenced_keys.as_deref()?)?
            );
            s.push_str(match k.match_type.as_str() {
                "f" => " MATCH FULL",
                "p" => " MATCH PARTIAL",
                "s" => "",
                _ => return None,
            });
            for (when, action) in [("UPDATE", &k.on_update), ("DELETE", &k.on_delete)] {
                let action = match action.as_str() {
                    "a" => continue,
                    "r" => "RESTRICT",
                    "c" => "CASCADE",
                    "n" => "SET NULL",
                    "d" => "SET DEFAULT",
                    _ => return None,
                };
                s.push_str(&format!(" ON {when} {action}"));
            }
            s
        }
        _ => return None,
    };
    if k.deferrable {
        s.push_str(" DEFERRABLE");
    }
    if k.deferred {
        s.push_str(" INITIALLY DEFERRED");
    }
    if !k.validated {
        s.push_str(" NOT VALID");
    }
    Some(s)
}
