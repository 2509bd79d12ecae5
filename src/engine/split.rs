//! Splits a migration script into statements with their start lines. Kept behind
//! [`split_statements`] so it can be swapped for the review module's splitter. Pure text handling.

use super::config::EngineKind;

/// One statement of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptStatement {
    /// The statement text without the terminating delimiter.
    pub sql: String,
    /// 1-based line where the statement starts.
    pub line: usize,
}

/// Splits `script` into statements for `engine`. Understands quotes, comments, PostgreSQL
/// dollar quoting and MySQL `DELIMITER` lines. Empty statements are dropped.
pub fn split_statements(engine: EngineKind, script: &str) -> Vec<ScriptStatement> {
    let b = script.as_bytes();
    let mut out = Vec::new();
    let mut delim: Vec<u8> = b";".to_vec();
    let mut i = 0;
    let mut line = 1;
    let mut start = 0;
    let mut start_line = 1;
    let mut at_line_start = true;
    let push = |out: &mut Vec<ScriptStatement>, s: &str, first_line: usize| {
        // Start line = line of the first non-blank, non-comment character.
        let body = strip_leading_comments(s);
        let text = body.trim_end();
        if text.is_empty() {
            return;
        }
        let lead = &s[..s.len() - body.len()];
        let line = first_line + lead.matches('\n').count();
        out.push(ScriptStatement {
            sql: text.to_owned(),
            line,
        });
    };
    while i < b.len() {
        let c = b[i];
        if engine == EngineKind::Mysql && at_line_start {
            let rest = &script[i..];
            let trimmed = rest.trim_start_matches([' ', '\t']);
            if trimmed.len() >= 10 && trimmed[..10].eq_ignore_ascii_case("delimiter ") {
                let eol = rest.find('\n').unwrap_or(rest.len());
                let new = rest[..eol].trim()[10..].trim();
                if !new.is_empty() {
                    push(&mut out, &script[start..i], start_line);
                    delim = new.as_bytes().to_vec();
                    i += eol;
                    start = i;
                    start_line = line;
                    continue;
                }
            }
        }
        at_line_start = false;
        match c {
            b'\n' => {
                line += 1;
                at_line_start = true;
                i += 1;
            }
            b'\'' | b'"' | b'`' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    if b[i] == b'\\' && engine == EngineKind::Mysql && c != b'`' {
                        i += 2;
                        continue;
                    }
                    if b[i] == c {
                        if b.get(i + 1) == Some(&c) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'#' if engine == EngineKind::Mysql => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 2;
            }
            b'$' if engine == EngineKind::Postgres => {
                // $tag$ … $tag$ (tag: letters, digits, underscore; not starting with a digit).
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'$' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    let tag = &b[i..=j];
                    let mut k = j + 1;
                    while k < b.len() && !b[k..].starts_with(tag) {
                        if b[k] == b'\n' {
                            line += 1;
                        }
                        k += 1;
                    }
                    i = (k + tag.len()).min(b.len());
                } else {
                    i += 1;
                }
            }
            _ if b[i..].starts_with(&delim) => {
                push(&mut out, &script[start..i], start_line);
                i += delim.len();
                start = i;
                start_line = line;
            }
            _ => i += 1,
        }
    }
    if start < b.len() {
        push(&mut out, &script[start.min(b.len())..], start_line);
    }
    out
}

fn strip_leading_comments(text: &str) -> &str {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return rest;
        }
        if rest.starts_with("--") || rest.starts_with('#') {
            rest = rest.find('\n').map_or("", |n| &rest[n..]);
        } else if rest.starts_with("/*") {
            rest = rest.find("*/").map_or("", |n| &rest[n + 2..]);
        } else {
            return rest;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_lines_quotes_and_dollar_bodies() {
        let s = "CREATE TABLE a (x text default ';');\n\n-- note; here\nCREATE FUNCTION f() \
                 RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql;\nDO $$ BEGIN NULL; END $$;";
        let st = split_statements(EngineKind::Postgres, s);
        assert_eq!(st.len(), 3, "{st:?}");
        assert_eq!(st[0].line, 1);
        assert_eq!(st[1].line, 4);
        assert!(st[1].sql.contains("SELECT 1;"));
        assert_eq!(st[2].line, 5);
    }

    #[test]
    fn mysql_delimiter_blocks() {
        let s = "CREATE TABLE t (x int);\nDELIMITER //\nCREATE TRIGGER tr BEFORE INSERT ON t FOR \
                 EACH ROW BEGIN SET NEW.x = 1; END//\nDELIMITER ;\nSELECT 'a\\';b';";
        let st = split_statements(EngineKind::Mysql, s);
        assert_eq!(st.len(), 3, "{st:?}");
        assert!(st[1].sql.ends_with("END"));
        assert_eq!(st[1].line, 3);
        assert_eq!(st[2].line, 5);
    }
}
