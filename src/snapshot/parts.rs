//! Named parts of a rendered object, for diffing: a table's columns, constraints, options and
//! partitions; any object's definition and each statement that completes it (comments, row
//! level security, trigger states). Pure text over the canonical layout of `super::render`.

use std::collections::BTreeMap;

use super::model::Dialect;
use super::render::RenderedObject;
use crate::sqltext::{self, split::split};

impl RenderedObject {
    /// Named parts for diffing: a table's `create` line, columns, constraints, indexes (MySQL),
    /// options and partitions; other objects' `definition`; then, for both, one part per
    /// further statement (`COMMENT ON … IS` keyed by its target, others by their text).
    pub fn parts(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let statements = statements(self.dialect, &self.body);
        let mut rest = statements.iter();
        if let Some(first) = rest.next() {
            if self.kind == "table" {
                table_parts(first, &mut out);
            } else {
                out.insert("definition".to_owned(), (*first).to_owned());
            }
        }
        for st in rest {
            let (k, v) = statement_part(st);
            out.insert(k, v);
        }
        out
    }
}

/// The statements of a body. Only PostgreSQL bodies hold more than one (MySQL and SQLite
/// bodies are one statement, often a compound one with `;` inside).
fn statements(d: Dialect, body: &str) -> Vec<&str> {
    match d {
        Dialect::Postgres => {
            let v: Vec<&str> = split(body, sqltext::Engine::Postgres)
                .map(|s| s.text)
                .collect();
            if v.is_empty() { vec![body] } else { v }
        }
        Dialect::Mysql | Dialect::Sqlite => vec![body],
    }
}

fn statement_part(st: &str) -> (String, String) {
    if st.starts_with("COMMENT ON ")
        && let Some((k, v)) = st.split_once(" IS ")
    {
        return (k.trim().to_owned(), v.to_owned());
    }
    (st.to_owned(), String::new())
}

fn table_parts(create: &str, out: &mut BTreeMap<String, String>) {
    let mut lines = create.lines();
    let Some(header) = lines.next() else {
        return;
    };
    let mut in_list = header.ends_with(" (");
    out.insert(
        "create".to_owned(),
        header.trim_end_matches(" (").to_owned(),
    );
    let rest: Vec<&str> = lines.collect();
    let last = rest.len().saturating_sub(1);
    for (i, line) in rest.iter().enumerate() {
        if in_list && line.starts_with("  ") {
            let (key, value) = part_of_line(line.trim().trim_end_matches(','));
            out.insert(key, value);
        } else if in_list && line.starts_with(')') {
            in_list = false;
            let opts = line.trim_start_matches(')').trim();
            if !opts.is_empty() {
                out.insert("options".into(), opts.to_owned());
            }
        } else if let Some(by) = line.strip_prefix("PARTITION BY ") {
            out.insert("partition by".into(), by.to_owned());
        } else if let Some(p) = line
            .strip_prefix("(PARTITION ")
            .or_else(|| line.strip_prefix(" PARTITION "))
        {
            let mut p = p.trim_end_matches(',');
            if i == last {
                p = p.strip_suffix(')').unwrap_or(p);
            }
            let name = first_token(p);
            out.insert(
                format!("partition {name}"),
                p[name.len()..].trim().to_owned(),
            );
        }
    }
}

fn first_token(s: &str) -> &str {
    let s = s.trim_start();
    let q = s.chars().next().unwrap_or(' ');
    if q == '"' || q == '`' {
        // Quoted identifier with doubled quotes inside.
        let b = s.as_bytes();
        let mut i = 1;
        while i < b.len() {
            if char::from(b[i]) == q {
                if b.get(i + 1).map(|c| char::from(*c)) == Some(q) {
                    i += 2;
                    continue;
                }
                return &s[..=i];
            }
            i += 1;
        }
        s
    } else {
        s.split_whitespace().next().unwrap_or("")
    }
}

fn part_of_line(l: &str) -> (String, String) {
    if let Some(rest) = l.strip_prefix("CONSTRAINT ") {
        let name = first_token(rest);
        return (
            format!("constraint {name}"),
            rest[name.len()..].trim().to_owned(),
        );
    }
    if l.starts_with("PRIMARY KEY") {
        return ("primary key".into(), l.to_owned());
    }
    for prefix in ["UNIQUE KEY ", "FULLTEXT KEY ", "SPATIAL KEY ", "KEY "] {
        if let Some(rest) = l.strip_prefix(prefix) {
            return (format!("index {}", first_token(rest)), l.to_owned());
        }
    }
    let name = first_token(l);
    (format!("column {name}"), l[name.len()..].trim().to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn object(kind: &str, dialect: Dialect, body: &str) -> RenderedObject {
        RenderedObject {
            kind: kind.into(),
            name: "s.x".into(),
            body: body.into(),
            compound: false,
            dialect,
        }
    }

    #[test]
    fn statements_after_a_definition_are_parts_of_their_own() {
        let f = object(
            "function",
            Dialect::Postgres,
            "CREATE FUNCTION s.f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  ALTER TABLE t ADD c int;\n  RETURN 1;\nEND $$;\nCOMMENT ON FUNCTION s.f() IS 'one; two'",
        );
        let p = f.parts();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p["definition"].ends_with("END $$"));
        assert_eq!(p["COMMENT ON FUNCTION s.f()"], "'one; two'");
        let t = object(
            "trigger",
            Dialect::Postgres,
            "CREATE TRIGGER x AFTER INSERT ON s.t FOR EACH ROW EXECUTE FUNCTION s.f();\nALTER TABLE s.t DISABLE TRIGGER x",
        );
        assert_eq!(t.parts()["ALTER TABLE s.t DISABLE TRIGGER x"], "");
        let my = object(
            "trigger",
            Dialect::Mysql,
            "CREATE TRIGGER `x` AFTER INSERT ON `t` FOR EACH ROW\nBEGIN\n  ALTER TABLE t ADD c int;\nEND",
        );
        assert_eq!(my.parts().len(), 1, "a compound body is one statement");
    }

    #[test]
    fn mysql_partitions_are_parts() {
        let t = object(
            "table",
            Dialect::Mysql,
            "CREATE TABLE `t` (\n  `id` int(11) NOT NULL\n) ENGINE=InnoDB\nPARTITION BY RANGE (`id`)\n(PARTITION `p0` VALUES LESS THAN (10) ENGINE = InnoDB,\n PARTITION `p1` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)",
        );
        let p = t.parts();
        assert_eq!(p["partition by"], "RANGE (`id`)");
        assert_eq!(p["partition `p0`"], "VALUES LESS THAN (10) ENGINE = InnoDB");
        assert_eq!(
            p["partition `p1`"],
            "VALUES LESS THAN MAXVALUE ENGINE = InnoDB"
        );
        assert_eq!(p["options"], "ENGINE=InnoDB");
        assert_eq!(p["column `id`"], "int(11) NOT NULL");
    }

    #[test]
    fn a_partition_without_columns_is_one_create_part() {
        let t = object(
            "table",
            Dialect::Postgres,
            "CREATE TABLE \"s\".\"p1\" PARTITION OF \"s\".\"p\" FOR VALUES FROM (1) TO (10);\nCOMMENT ON TABLE \"s\".\"p1\" IS 'first'",
        );
        let p = t.parts();
        assert_eq!(
            p["create"],
            "CREATE TABLE \"s\".\"p1\" PARTITION OF \"s\".\"p\" FOR VALUES FROM (1) TO (10)"
        );
        assert_eq!(p["COMMENT ON TABLE \"s\".\"p1\""], "'first'");
    }
}
