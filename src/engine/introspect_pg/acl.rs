//! PostgreSQL privileges as statements: the difference between an object's ACL and the
//! defaults it would have without any GRANT or REVOKE (`acldefault`), as pg_dump computes it.
//! Pure text work on `aclitem` output (`grantee=privileges/grantor`).

use std::collections::{BTreeMap, BTreeSet};

/// Privilege letters in the order they are printed, with their SQL names.
const PRIVILEGES: [(char, &str); 13] = [
    ('r', "SELECT"),
    ('a', "INSERT"),
    ('w', "UPDATE"),
    ('d', "DELETE"),
    ('D', "TRUNCATE"),
    ('x', "REFERENCES"),
    ('t', "TRIGGER"),
    ('m', "MAINTAIN"),
    ('X', "EXECUTE"),
    ('U', "USAGE"),
    ('C', "CREATE"),
    ('c', "CONNECT"),
    ('T', "TEMPORARY"),
];

/// One grantee's privileges: letter → with grant option.
type Grants = BTreeMap<char, bool>;

/// Parses `aclitem` texts into grantee → privileges (grantee `PUBLIC` for the empty name).
fn parse(items: &[String]) -> BTreeMap<String, Grants> {
    let mut out: BTreeMap<String, Grants> = BTreeMap::new();
    for item in items {
        // The grantee may be a quoted name containing `=`.
        let mut in_quotes = false;
        let mut split = None;
        for (i, ch) in item.char_indices() {
            match ch {
                '"' => in_quotes = !in_quotes,
                '=' if !in_quotes => {
                    split = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(eq) = split else { continue };
        let grantee = &item[..eq];
        let privs = item[eq + 1..].split('/').next().unwrap_or("");
        let grantee = if grantee.is_empty() {
            "PUBLIC".to_owned()
        } else {
            grantee.to_owned()
        };
        let entry = out.entry(grantee).or_default();
        let mut chars = privs.chars().peekable();
        while let Some(p) = chars.next() {
            let option = chars.peek() == Some(&'*');
            if option {
                chars.next();
            }
            let e = entry.entry(p).or_insert(false);
            *e |= option;
        }
    }
    out
}

fn names(letters: &BTreeSet<char>) -> String {
    PRIVILEGES
        .iter()
        .filter(|(l, _)| letters.contains(l))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statements that turn `default` into `actual` for `target` (`TABLE "s"."t"`,
/// `FUNCTION "s"."f"(integer)`, …). `columns` names a column for column privileges
/// (`GRANT SELECT ("c") ON TABLE …`).
pub(super) fn statements(
    target: &str,
    column: Option<&str>,
    actual: &[String],
    default: &[String],
) -> Vec<String> {
    let actual = parse(actual);
    let default = parse(default);
    let cols = column.map(|c| format!(" ({c})")).unwrap_or_default();
    let privileges = |letters: &BTreeSet<char>| {
        let n = names(letters);
        if cols.is_empty() {
            n
        } else {
            n.split(", ")
                .map(|p| format!("{p}{cols}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let mut out = Vec::new();
    let empty = Grants::new();
    let grantees: BTreeSet<&String> = actual.keys().chain(default.keys()).collect();
    // PUBLIC first, then the others by name.
    let mut grantees: Vec<&String> = grantees.into_iter().collect();
    grantees.sort_by_key(|g| (g.as_str() != "PUBLIC", g.as_str()));
    for g in &grantees {
        let a = actual.get(*g).unwrap_or(&empty);
        let d = default.get(*g).unwrap_or(&empty);
        let revoke: BTreeSet<char> = d.keys().filter(|p| !a.contains_key(p)).copied().collect();
        let revoke_option: BTreeSet<char> = d
            .iter()
            .filter(|(p, o)| **o && a.get(p) == Some(&false))
            .map(|(p, _)| *p)
            .collect();
        if !revoke.is_empty() {
            out.push(format!(
                "REVOKE {} ON {target} FROM {g}",
                privileges(&revoke)
            ));
        }
        if !revoke_option.is_empty() {
            out.push(format!(
                "REVOKE GRANT OPTION FOR {} ON {target} FROM {g}",
                privileges(&revoke_option)
            ));
        }
    }
    for g in &grantees {
        let a = actual.get(*g).unwrap_or(&empty);
        let d = default.get(*g).unwrap_or(&empty);
        for with_option in [false, true] {
            let grant: BTreeSet<char> = a
                .iter()
                .filter(|(p, o)| **o == with_option && d.get(p).is_none_or(|dopt| *dopt != **o))
                .map(|(p, _)| *p)
                .collect();
            if !grant.is_empty() {
                out.push(format!(
                    "GRANT {} ON {target} TO {g}{}",
                    privileges(&grant),
                    if with_option {
                        " WITH GRANT OPTION"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    out
}

/// `ALTER DEFAULT PRIVILEGES` statements for one `pg_default_acl` entry.
pub(super) fn default_statements(
    role: &str,
    schema: Option<&str>,
    objects: &str,
    actual: &[String],
    default: &[String],
) -> Vec<String> {
    let prefix = match schema {
        Some(s) => format!("ALTER DEFAULT PRIVILEGES FOR ROLE {role} IN SCHEMA {s} "),
        None => format!("ALTER DEFAULT PRIVILEGES FOR ROLE {role} "),
    };
    statements(objects, None, actual, default)
        .into_iter()
        .map(|s| {
            // `GRANT … ON TABLES TO x` is written the same way after the prefix.
            format!("{prefix}{s}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn grants_and_revokes_are_the_difference_from_the_defaults() {
        let st = statements(
            "TABLE \"s\".\"t\"",
            None,
            &v(&[
                "alice=arwdDxt/alice",
                "reader=r/alice",
                "\"odd=name\"=r*w/alice",
            ]),
            &v(&["alice=arwdDxt/alice"]),
        );
        assert_eq!(
            st,
            [
                "GRANT UPDATE ON TABLE \"s\".\"t\" TO \"odd=name\"",
                "GRANT SELECT ON TABLE \"s\".\"t\" TO \"odd=name\" WITH GRANT OPTION",
                "GRANT SELECT ON TABLE \"s\".\"t\" TO reader",
            ]
        );
    }

    #[test]
    fn revoking_from_public_and_the_owner() {
        let st = statements(
            "FUNCTION \"s\".\"f\"()",
            None,
            &v(&["alice=X/alice", "bob=X/alice"]),
            &v(&["=X/alice", "alice=X/alice"]),
        );
        assert_eq!(
            st,
            [
                "REVOKE EXECUTE ON FUNCTION \"s\".\"f\"() FROM PUBLIC",
                "GRANT EXECUTE ON FUNCTION \"s\".\"f\"() TO bob",
            ]
        );
        let cols = statements("TABLE \"t\"", Some("\"c\""), &v(&["bob=rw/alice"]), &[]);
        assert_eq!(
            cols,
            ["GRANT SELECT (\"c\"), UPDATE (\"c\") ON TABLE \"t\" TO bob"]
        );
    }
}
