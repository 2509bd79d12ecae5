//! Splits a migration script into statements with their start lines, using the `sqltext`
//! splitter the reviewer also uses, so the statements executed are exactly the statements
//! reviewed (without the engine depending on review). Pure text handling.

use crate::sqltext;
use crate::sqltext::Engine;

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
#[must_use]
pub fn split_statements(engine: Engine, script: &str) -> Vec<ScriptStatement> {
    sqltext::split::split(script, engine)
        .map(|st| ScriptStatement {
            sql: st.text.to_owned(),
            line: st.line,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_lines_quotes_and_dollar_bodies() {
        let s = "CREATE TABLE a (x text default ';');\n\n-- note; here\nCREATE FUNCTION f() \
                 RETURNS int AS $f$ SELECT 1; $f$ LANGUAGE sql;\nDO $$ BEGIN NULL; END $$;";
        let st = split_statements(Engine::Postgres, s);
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
        let st = split_statements(Engine::Mysql, s);
        assert_eq!(st.len(), 3, "{st:?}");
        assert!(st[1].sql.ends_with("END"));
        assert_eq!(st[1].line, 3);
        assert_eq!(st[2].line, 5);
    }
}
