//! Diff of two schemas as data (added / removed / changed objects with the parts that changed)
//! and as short human lines. Works on rendered objects, so snapshots from JSON, canonical DDL
//! files or live databases compare alike. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::{ObjectKind, Schema};
use super::render::{RenderedObject, render};

/// One changed part of an object (a column, a constraint, the definition).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartChange {
    /// Part name (`column "email"`, `constraint "x"`, `definition`).
    pub part: String,
    /// Before (None: added).
    pub before: Option<String>,
    /// After (None: removed).
    pub after: Option<String>,
}

/// A change to one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum ObjectChange {
    /// The object exists only after.
    Added {
        /// Kind label.
        kind: String,
        /// Qualified name.
        name: String,
    },
    /// The object exists only before.
    Removed {
        /// Kind label.
        kind: String,
        /// Qualified name.
        name: String,
    },
    /// The object exists on both sides with different parts.
    Changed {
        /// Kind label.
        kind: String,
        /// Qualified name.
        name: String,
        /// What changed.
        parts: Vec<PartChange>,
    },
}

/// The difference between two schemas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Diff {
    /// Changes in canonical order.
    pub changes: Vec<ObjectChange>,
}

/// Compares two rendered schemas.
pub fn diff(before: &[RenderedObject], after: &[RenderedObject]) -> Diff {
    let key = |o: &RenderedObject| (o.kind.clone(), o.name.clone());
    let b: BTreeMap<_, _> = before.iter().map(|o| (key(o), o)).collect();
    let a: BTreeMap<_, _> = after.iter().map(|o| (key(o), o)).collect();
    let mut changes = Vec::new();
    for ((kind, name), ob) in &b {
        match a.get(&(kind.clone(), name.clone())) {
            None => changes.push(ObjectChange::Removed {
                kind: kind.clone(),
                name: name.clone(),
            }),
            Some(oa) if oa.body != ob.body => {
                let pb = ob.parts();
                let pa = oa.parts();
                let mut parts = Vec::new();
                for (k, v) in &pb {
                    match pa.get(k) {
                        None => parts.push(PartChange {
                            part: k.clone(),
                            before: Some(v.clone()),
                            after: None,
                        }),
                        Some(w) if w != v => parts.push(PartChange {
                            part: k.clone(),
                            before: Some(v.clone()),
                            after: Some(w.clone()),
                        }),
                        Some(_) => {}
                    }
                }
                for (k, w) in &pa {
                    if !pb.contains_key(k) {
                        parts.push(PartChange {
                            part: k.clone(),
                            before: None,
                            after: Some(w.clone()),
                        });
                    }
                }
                if parts.is_empty() {
                    // Same parts in a different order (e.g. column order).
                    parts.push(PartChange {
                        part: "definition".into(),
                        before: Some(ob.body.clone()),
                        after: Some(oa.body.clone()),
                    });
                }
                changes.push(ObjectChange::Changed {
                    kind: kind.clone(),
                    name: name.clone(),
                    parts,
                });
            }
            Some(_) => {}
        }
    }
    for (kind, name) in a.keys() {
        if !b.contains_key(&(kind.clone(), name.clone())) {
            changes.push(ObjectChange::Added {
                kind: kind.clone(),
                name: name.clone(),
            });
        }
    }
    Diff { changes }
}

fn short(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 80 {
        format!("{}…", one.chars().take(79).collect::<String>())
    } else {
        one
    }
}

impl Diff {
    /// Whether the schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Short human lines, e.g. `~ table public.users: column "email" character varying(20) → text`.
    pub fn human_lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.changes {
            match c {
                ObjectChange::Added { kind, name } => out.push(format!("+ {kind} {name}")),
                ObjectChange::Removed { kind, name } => out.push(format!("- {kind} {name}")),
                ObjectChange::Changed { kind, name, parts } => {
                    for p in parts {
                        let what = match (&p.before, &p.after) {
                            (None, Some(a)) if a.is_empty() => format!("added {}", p.part),
                            (None, Some(a)) => format!("added {} {}", p.part, short(a)),
                            (Some(_), None) => format!("removed {}", p.part),
                            (Some(b), Some(a)) if p.part == "definition" => {
                                format!("definition changed: {} → {}", short(b), short(a))
                            }
                            (Some(b), Some(a)) => format!("{} {} → {}", p.part, short(b), short(a)),
                            (None, None) => p.part.clone(),
                        };
                        out.push(format!("~ {kind} {name}: {what}"));
                    }
                }
            }
        }
        out
    }
}

/// What a drift check reports: the differences between the latest recorded snapshot and the
/// live schema, as [`Diff::human_lines`]. A snapshot recorded in an older format (see
/// [`super::format_of`]) renders the same schema differently, so it is compared by what that
/// format held and by names only (tables, their columns, indexes and foreign keys, and the
/// other objects), until the next change records a snapshot in the current format.
pub fn drift_lines(recorded: &Schema, live: &Schema) -> Vec<String> {
    if recorded.format == live.format {
        return diff(&render(recorded), &render(live)).human_lines();
    }
    let names = |s: &Schema, older: u32| -> BTreeMap<(String, String), Vec<String>> {
        let mut out = BTreeMap::new();
        for t in &s.tables {
            // Format 1 left out PostgreSQL partitions.
            if older < 2
                && t.of
                    .as_deref()
                    .is_some_and(|o| o.starts_with("PARTITION OF"))
            {
                continue;
            }
            let name = display(&t.schema, &t.name);
            let mut cols: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
            cols.sort();
            for i in &t.indexes {
                out.insert(
                    ("index".to_owned(), display(&t.schema, &i.name)),
                    Vec::new(),
                );
            }
            for fk in t
                .foreign_keys
                .iter()
                .filter(|k| k.definition.starts_with("FOREIGN KEY"))
            {
                out.insert(
                    ("foreign-key".to_owned(), format!("{name}.{}", fk.name)),
                    Vec::new(),
                );
            }
            out.insert(("table".to_owned(), name), cols);
        }
        for o in &s.objects {
            if older < 2 && !FORMAT_1_KINDS.contains(&o.kind) {
                continue;
            }
            // Argument types were spelled by the session's search_path before format 2.
            let name = o.name.split('(').next().unwrap_or(&o.name);
            out.insert(
                (o.kind.label().to_owned(), display(&o.schema, name)),
                Vec::new(),
            );
        }
        out
    };
    let older = recorded.format.min(live.format);
    let (b, a) = (names(recorded, older), names(live, older));
    let mut lines = Vec::new();
    for ((kind, name), cols) in &b {
        match a.get(&(kind.clone(), name.clone())) {
            None => lines.push(format!("- {kind} {name}")),
            Some(now) => {
                for c in cols.iter().filter(|c| !now.contains(c)) {
                    lines.push(format!("~ {kind} {name}: removed column {c:?}"));
                }
                for c in now.iter().filter(|c| !cols.contains(c)) {
                    lines.push(format!("~ {kind} {name}: added column {c:?}"));
                }
            }
        }
    }
    for (kind, name) in a.keys() {
        if !b.contains_key(&(kind.clone(), name.clone())) {
            lines.push(format!("+ {kind} {name}"));
        }
    }
    lines
}

/// The object kinds snapshots of format 1 held.
const FORMAT_1_KINDS: &[ObjectKind] = &[
    ObjectKind::Schema,
    ObjectKind::Extension,
    ObjectKind::Enum,
    ObjectKind::Domain,
    ObjectKind::Sequence,
    ObjectKind::Function,
    ObjectKind::Procedure,
    ObjectKind::View,
    ObjectKind::MaterializedView,
    ObjectKind::Trigger,
    ObjectKind::Event,
];

fn display(schema: &str, name: &str) -> String {
    if schema.is_empty() {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::snapshot::Dialect;

    fn table(body: &str) -> RenderedObject {
        RenderedObject {
            kind: "table".into(),
            name: "public.users".into(),
            body: body.into(),
            compound: false,
            dialect: Dialect::Postgres,
        }
    }

    #[test]
    fn column_type_change_is_reported_with_before_and_after() {
        let b = [table(
            "CREATE TABLE \"public\".\"users\" (\n  \"email\" varchar(20) NOT NULL,\n  \"id\" int\n)",
        )];
        let a = [
            table(
                "CREATE TABLE \"public\".\"users\" (\n  \"email\" text NOT NULL,\n  \"id\" int,\n  \"age\" int\n)",
            ),
            RenderedObject {
                kind: "view".into(),
                name: "public.v".into(),
                body: "CREATE VIEW v AS SELECT 1".into(),
                compound: false,
                dialect: Dialect::Postgres,
            },
        ];
        let d = diff(&b, &a);
        assert_eq!(
            d.human_lines(),
            [
                "~ table public.users: column \"email\" varchar(20) NOT NULL → text NOT NULL",
                "~ table public.users: added column \"age\" int",
                "+ view public.v",
            ]
        );
        assert!(diff(&a, &a).is_empty());
        assert_eq!(
            diff(&a, &b).human_lines().last().unwrap(),
            "- view public.v"
        );
    }
}
