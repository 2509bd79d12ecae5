//! Data types as the impact model compares them: a base name with its modifiers, the
//! engines' spellings folded together (`character varying(20)` = `VARCHAR(20)` = `varchar(20)`).

/// A data type: canonical base name and numeric modifiers (length, precision, scale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgType {
    pub(crate) base: String,
    pub(crate) mods: Vec<u32>,
}

/// The canonical base name of a type as written (lower case, aliases folded, modifiers and
/// array brackets kept out).
pub(crate) fn pg_base(written: &str) -> String {
    let lower = written.trim().to_ascii_lowercase();
    let head = lower.split('(').next().unwrap_or("").trim();
    let head = head.split_whitespace().collect::<Vec<_>>().join(" ");
    let folded = match head.as_str() {
        "int" | "integer" | "int4" => "int4",
        "bigint" | "int8" => "int8",
        "smallint" | "int2" => "int2",
        "character varying" | "varchar" => "varchar",
        "character" | "char" | "bpchar" => "bpchar",
        "decimal" | "numeric" => "numeric",
        "double precision" | "float8" | "double" => "float8",
        "real" | "float4" => "float4",
        "boolean" | "bool" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "time" | "time without time zone" => "time",
        "timetz" | "time with time zone" => "timetz",
        "bit varying" | "varbit" => "varbit",
        other => other,
    };
    // `timestamp(3) with time zone`: the words after the modifiers belong to the base.
    if lower.contains("with time zone") && folded == "timestamp" {
        return "timestamptz".into();
    }
    folded.to_owned()
}

impl PgType {
    /// Parses a type as sqlparser prints it or as PostgreSQL's catalog writes it.
    pub(crate) fn parse(written: &str) -> PgType {
        let base = pg_base(written);
        let mods = written
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(inside, _)| {
                inside
                    .split(',')
                    .filter_map(|m| m.trim().parse::<u32>().ok())
                    .collect()
            })
            .unwrap_or_default();
        PgType { base, mods }
    }

    /// `varchar(20)`, `numeric(10,2)`, `text`.
    pub(crate) fn name(&self) -> String {
        if self.mods.is_empty() {
            self.base.clone()
        } else {
            let m: Vec<String> = self.mods.iter().map(u32::to_string).collect();
            format!("{}({})", self.base, m.join(","))
        }
    }
}

/// Whether PostgreSQL changes a column from `from` to `to` without rewriting the table: the
/// same type, a longer (or unlimited) `varchar`/`varbit`, `varchar` → `text`, `text` → unlimited
/// `varchar`, a `numeric` with more precision and the same scale (or unconstrained), `cidr` →
/// `inet`.
pub(crate) fn pg_binary_coercible(from: &PgType, to: &PgType) -> bool {
    if from == to {
        return true;
    }
    let widened = |f: &[u32], t: &[u32]| match (f.first(), t.first()) {
        (_, None) => true,
        (Some(a), Some(b)) => b >= a,
        (None, Some(_)) => false,
    };
    match (from.base.as_str(), to.base.as_str()) {
        ("varchar", "varchar") | ("varbit", "varbit") => widened(&from.mods, &to.mods),
        ("varchar", "text") | ("cidr", "inet") => true,
        ("text", "varchar") => to.mods.is_empty(),
        ("numeric", "numeric") => match (from.mods.as_slice(), to.mods.as_slice()) {
            (_, []) => true,
            ([p1], [p2]) => p2 >= p1,
            ([p1, s1], [p2, s2]) => p2 >= p1 && s1 == s2,
            ([p1], [p2, 0]) => p2 >= p1,
            _ => false,
        },
        _ => false,
    }
}

/// Bytes a MySQL `VARCHAR(n)` of the default character set (utf8mb4) can hold, which decides
/// whether its length prefix is one byte (≤ 255) or two.
pub(crate) fn my_varchar_bytes(chars: u32) -> u32 {
    chars.saturating_mul(4)
}
