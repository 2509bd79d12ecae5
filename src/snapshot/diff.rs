//! Diff of two schemas as data (added / removed / changed objects with the parts that changed)
//! and as short human lines. Works on rendered objects, so snapshots from JSON, canonical DDL
//! files or live databases compare alike. Pure.

use std::collections::BTreeMap;

use serde::Serialize;

use super::render::RenderedObject;

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table(body: &str) -> RenderedObject {
        RenderedObject {
            kind: "table".into(),
            name: "public.users".into(),
            body: body.into(),
            compound: false,
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
