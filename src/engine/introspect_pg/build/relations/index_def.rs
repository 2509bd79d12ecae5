//! `CREATE INDEX` statements built from `pg_index` rows. Pure.

use super::*;

/// Splits a list of expressions as `pg_get_expr` prints it (`a, lower(b), (c + 1)`) at its
/// top-level commas.
fn split_expressions(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for ch in list.chars() {
        match quote {
            Some(qc) => {
                // Doubled quotes close and reopen, which needs no special case here.
                if ch == qc {
                    quote = None;
                }
                cur.push(ch);
            }
            None => match ch {
                '\'' | '"' => {
                    quote = Some(ch);
                    cur.push(ch);
                }
                '(' | '[' => {
                    depth += 1;
                    cur.push(ch);
                }
                ')' | ']' => {
                    depth -= 1;
                    cur.push(ch);
                }
                ',' if depth == 0 => out.push(std::mem::take(&mut cur).trim().to_owned()),
                _ => cur.push(ch),
            },
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_owned());
    }
    out
}

fn numbers<T: std::str::FromStr>(text: &str) -> Vec<T> {
    text.split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// `CREATE INDEX` from `pg_index` (what `pg_get_indexdef` prints, at a tenth of its cost).
pub(super) fn index_sql(
    cx: &Ctx<'_>,
    r: &Rel<'_>,
    i: &cat::Index,
    ic: &cat::Class,
    table: &str,
) -> String {
    let keys: Vec<i32> = numbers(&i.keys);
    let collations: Vec<i64> = numbers(&i.collations);
    let opclasses: Vec<i64> = numbers(&i.opclasses);
    let options: Vec<i32> = numbers(&i.options);
    let mut expressions = split_expressions(i.expressions.as_deref().unwrap_or("")).into_iter();
    let key_columns = usize::try_from(i.key_columns).unwrap_or(0);
    let mut cols = Vec::new();
    let mut include = Vec::new();
    for (n, k) in keys.iter().enumerate() {
        let (text, own_collation) = if *k != 0 {
            let a = cx
                .columns
                .get(&i.rel)
                .and_then(|v| v.iter().find(|a| a.num == *k));
            (
                q(a.map_or("", |a| a.name.as_str())),
                a.map_or(0, |a| a.collation),
            )
        } else {
            let e = expressions.next().unwrap_or_default();
            (format!("({e})"), 100)
        };
        if n >= key_columns {
            include.push(text);
            continue;
        }
        let mut s = text;
        if let Some(coll) = collations
            .get(n)
            .filter(|c| **c != 0 && **c != own_collation)
            && let Some(name) = cx.collation(*coll)
        {
            s.push_str(&format!(" COLLATE {name}"));
        }
        if let Some(o) = opclasses
            .get(n)
            .and_then(|o| r.opclasses.get(o))
            .filter(|o| !o.3)
        {
            s.push(' ');
            s.push_str(&opclass_name(cx, o));
        }
        let opt = options.get(n).copied().unwrap_or(0);
        let (desc, nulls_first) = (opt & 1 != 0, opt & 2 != 0);
        if desc {
            s.push_str(" DESC");
        }
        if nulls_first && !desc {
            s.push_str(" NULLS FIRST");
        } else if !nulls_first && desc {
            s.push_str(" NULLS LAST");
        }
        cols.push(s);
    }
    let am = r.am.get(&ic.am).copied().unwrap_or("btree");
    let mut sql = format!(
        "CREATE {}INDEX {} ON {table} USING {am} ({})",
        if i.unique { "UNIQUE " } else { "" },
        q(&ic.name),
        cols.join(", ")
    );
    if !include.is_empty() {
        sql.push_str(&format!(" INCLUDE ({})", include.join(", ")));
    }
    if i.nulls_not_distinct {
        sql.push_str(" NULLS NOT DISTINCT");
    }
    if let Some(o) = ic.options.as_ref().filter(|o| !o.is_empty()) {
        sql.push_str(&format!(" WITH ({})", o.join(", ")));
    }
    if let Some(p) = &i.predicate {
        sql.push_str(&format!(" WHERE {p}"));
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_lists_split_at_top_level_commas_only() {
        assert_eq!(
            split_expressions("(a + 1), lower(b), (b || ', '::text), \"x,y\", coalesce(c, 0)"),
            [
                "(a + 1)",
                "lower(b)",
                "(b || ', '::text)",
                "\"x,y\"",
                "coalesce(c, 0)"
            ]
        );
        assert!(split_expressions("").is_empty());
    }
}
