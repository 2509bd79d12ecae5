//! Data type helpers shared by the rule families: type name and arguments, canonical integer
//! spellings, text/blob and character types.

use sqlparser::ast::DataType;

/// Type name and numeric arguments, e.g. `VARCHAR(20)` → ("VARCHAR", [20]).
pub(crate) struct TypeInfo {
    pub(crate) base: String,
    pub(crate) args: Vec<u64>,
    pub(crate) unsigned: bool,
}

pub(crate) fn type_info(dt: &DataType) -> TypeInfo {
    type_info_str(&dt.to_string())
}

pub(crate) fn type_info_str(text: &str) -> TypeInfo {
    let upper = text.to_ascii_uppercase();
    if !upper.contains('(') && !upper.contains(' ') {
        return TypeInfo {
            base: upper,
            args: Vec::new(),
            unsigned: false,
        };
    }
    let (head, args) = match upper.split_once('(') {
        Some((h, rest)) => (
            h.trim().to_owned(),
            rest.split(')')
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect(),
        ),
        None => (upper.trim().to_owned(), Vec::new()),
    };
    let unsigned = upper.contains("UNSIGNED");
    let base = if unsigned || head.contains(" ZEROFILL") {
        head.replace(" UNSIGNED", "")
            .replace(" ZEROFILL", "")
            .trim()
            .to_owned()
    } else {
        head
    };
    TypeInfo {
        base,
        args,
        unsigned,
    }
}

/// Canonical integer/serial spelling for comparisons (`INTEGER` → `INT`, `INT8` → `BIGINT`).
pub(crate) fn canonical_type(base: &str) -> &str {
    match base {
        "INTEGER" | "INT4" => "INT",
        "INT8" => "BIGINT",
        "INT2" => "SMALLINT",
        "SERIAL4" => "SERIAL",
        "SERIAL8" => "BIGSERIAL",
        other => other,
    }
}

pub(crate) fn is_integer_type(base: &str) -> bool {
    matches!(
        canonical_type(base),
        "TINYINT"
            | "SMALLINT"
            | "MEDIUMINT"
            | "INT"
            | "BIGINT"
            | "SERIAL"
            | "BIGSERIAL"
            | "SMALLSERIAL"
    )
}

/// Text and blob types (MySQL), which cannot have defaults or plain indexes.
pub(crate) fn is_blob_or_text(base: &str) -> bool {
    matches!(
        base,
        "TEXT"
            | "TINYTEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "BLOB"
            | "TINYBLOB"
            | "MEDIUMBLOB"
            | "LONGBLOB"
    )
}

/// Character types that take a charset/collation.
pub(crate) fn is_char_type(base: &str) -> bool {
    matches!(
        base,
        "CHAR"
            | "VARCHAR"
            | "CHARACTER"
            | "CHARACTER VARYING"
            | "TEXT"
            | "TINYTEXT"
            | "MEDIUMTEXT"
            | "LONGTEXT"
            | "ENUM"
            | "SET"
            | "NCHAR"
            | "NVARCHAR"
    )
}
