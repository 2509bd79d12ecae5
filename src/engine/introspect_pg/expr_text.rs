//! Index expressions and predicates printed from their stored expression trees (the text of
//! `pg_index.indexprs` / `indpred`), byte for byte as `pg_get_expr(tree, table)` prints them,
//! for the shapes most indexes use: columns, integer/boolean/text constants, plain function
//! calls, binary operators, AND/OR/NOT, IS [NOT] NULL and binary-compatible casts. The server's
//! function opens the table to learn its column names, building its relation cache entry: on
//! a catalog of thousands of tables that was the largest server-side cost of a snapshot.
//! Anything else (and any doubt: a function that name lookup might not find unqualified, a
//! constant of another type, a big-endian server) is left to the server (`None`).
//! `super::tests` compares both on many index shapes. Pure.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::borrow::Cow;

/// `pg_catalog`'s oid: its functions and operators print unqualified when lookup finds them.
const PG_CATALOG: i64 = 11;
const BOOL: i64 = 16;
const INT4: i64 = 23;
const TEXT: i64 = 25;
const VARCHAR: i64 = 1043;
const REGCLASS: i64 = 2205;

/// A printed expression with its column references left open: the column names are quoted
/// later, once for every name the snapshot uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Text(String),
    /// A column of the indexed table, by number.
    Column(i32),
    /// The name of a relation as a `regclass` constant prints it, inside the quotes of a
    /// string literal: `schema.name`, each quoted where needed, quotes doubled.
    Relation(i64),
}

pg_row! {
/// A function, as far as printing a call of it goes.
#[derive(Debug)]
pub(super) struct ProcName {
    pub oid: i64,
    pub namespace: i64,
    /// `quote_ident(proname)`.
    pub name: String,
    /// `quote_ident(nspname)`.
    pub schema: String,
    /// `proargtypes` as text: oids separated by spaces.
    pub arg_types: String,
    /// Default arguments or VARIADIC: on itself, or on another `pg_catalog` function of the
    /// same name (either can make an unqualified call ambiguous).
    pub ambiguous: bool,
    pub kind: String,
}
}

pg_row! {
/// An operator, as far as printing it goes.
#[derive(Debug)]
pub(super) struct OperatorName {
    pub oid: i64,
    pub namespace: i64,
    pub name: String,
    /// `quote_ident(nspname)`.
    pub schema: String,
    pub left_type: i64,
    pub right_type: i64,
    pub kind: String,
}
}

/// What printing needs from the catalogs beyond the trees.
#[derive(Debug, Default)]
pub(super) struct Lookups {
    pub procs: HashMap<i64, ProcName>,
    pub operators: HashMap<i64, OperatorName>,
    /// (type, typmod) → (`format_type`, `typtype`).
    pub types: HashMap<(i64, i32), (String, String)>,
}

/// A node of a stored tree (`nodeToString`'s format), borrowing from its text.
#[derive(Debug)]
pub(super) enum Value<'t> {
    Node(Node<'t>),
    List(Vec<Value<'t>>),
    Atom(Cow<'t, str>),
    Null,
}

#[derive(Debug)]
pub(super) struct Node<'t> {
    kind: &'t str,
    /// Each field's name and its values' range in `values` (one allocation for all of them:
    /// a snapshot parses thousands of trees).
    fields: Vec<(&'t str, std::ops::Range<usize>)>,
    values: Vec<Value<'t>>,
}

impl Node<'_> {
    fn field(&self, name: &str) -> Option<&[Value<'_>]> {
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, r)| self.values.get(r.clone()))
    }

    fn atom(&self, name: &str) -> Option<&str> {
        match self.field(name)? {
            [Value::Atom(a)] => Some(a),
            _ => None,
        }
    }

    fn int<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.atom(name)?.parse().ok()
    }

    fn flag(&self, name: &str) -> Option<bool> {
        match self.atom(name)? {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    fn args(&self) -> Option<&[Value<'_>]> {
        match self.field(":args")? {
            [Value::List(items)] => Some(items),
            // No arguments (`now()`).
            [Value::Null] => Some(&[]),
            _ => None,
        }
    }
}

/// A token of `nodeToString` text (`pg_strtok`): one of the four brackets, or a word in which
/// a backslash escapes the next character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'t> {
    Open(u8),
    Close(u8),
    Word(&'t str),
}

/// The bytes that end a word: ASCII whitespace and the four brackets (a table: the trees of a
/// large catalog are megabytes of text).
static ENDS_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let ends = *b" \t\n\x0c\r(){}";
    let mut i = 0;
    while i < ends.len() {
        t[ends[i] as usize] = true;
        i += 1;
    }
    t
};

/// Reads tokens off a tree's text as the parser asks for them.
struct Tokens<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Tokens<'t> {
    fn next(&mut self) -> Option<Token<'t>> {
        let bytes = self.text.as_bytes();
        while bytes.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        let b = *bytes.get(self.pos)?;
        Some(match b {
            b'(' | b'{' => {
                self.pos += 1;
                Token::Open(b)
            }
            b')' | b'}' => {
                self.pos += 1;
                Token::Close(b)
            }
            _ => {
                let start = self.pos;
                let mut i = start;
                while i < bytes.len() && !ENDS_WORD[usize::from(bytes[i])] {
                    // An escaped character is part of the word, whatever it is.
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                self.pos = i.min(bytes.len());
                // Only ASCII bytes end a word, so both ends are character boundaries.
                Token::Word(self.text.get(start..self.pos).unwrap_or(""))
            }
        })
    }

    fn at_end(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        while bytes.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
        self.pos == bytes.len()
    }
}

fn unescape(word: &str) -> Cow<'_, str> {
    if !word.contains('\\') {
        return Cow::Borrowed(word);
    }
    let mut s = String::with_capacity(word.len());
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            s.extend(chars.next());
        } else {
            s.push(c);
        }
    }
    Cow::Owned(s)
}

/// Parses a stored tree; None when it is not well formed. Every node's `:location` (where
/// the expression was in its statement's text) is left out: nothing prints it.
pub(super) fn parse(text: &str) -> Option<Value<'_>> {
    let mut toks = Tokens { text, pos: 0 };
    let first = toks.next()?;
    let v = value(&mut toks, first)?;
    toks.at_end().then_some(v)
}

fn value<'t>(toks: &mut Tokens<'t>, tok: Token<'t>) -> Option<Value<'t>> {
    match tok {
        Token::Word("<>") => Some(Value::Null),
        Token::Word(w) => Some(Value::Atom(unescape(w))),
        Token::Open(b'{') => {
            let Token::Word(kind) = toks.next()? else {
                return None;
            };
            // Most nodes have 8-12 fields (and a constant a value per byte): no regrowing.
            let mut fields: Vec<(&str, std::ops::Range<usize>)> = Vec::with_capacity(12);
            let mut values: Vec<Value<'t>> = Vec::with_capacity(16);
            let mut skip = false;
            loop {
                match toks.next()? {
                    Token::Close(b'}') => {
                        return Some(Value::Node(Node {
                            kind,
                            fields,
                            values,
                        }));
                    }
                    Token::Word(w) if w.starts_with(':') => {
                        skip = w == ":location";
                        if !skip {
                            fields.push((w, values.len()..values.len()));
                        }
                    }
                    t => {
                        let v = value(toks, t)?;
                        if skip {
                            continue;
                        }
                        let field = fields.last_mut()?;
                        values.push(v);
                        field.1.end = values.len();
                    }
                }
            }
        }
        Token::Open(_) => {
            let mut items = Vec::new();
            loop {
                match toks.next()? {
                    Token::Close(b')') => return Some(Value::List(items)),
                    t => items.push(value(toks, t)?),
                }
            }
        }
        Token::Close(_) => None,
    }
}

/// The type an expression yields (`exprType`), for the node kinds printed here.
fn expr_type(v: &Value<'_>) -> Option<i64> {
    let Value::Node(n) = v else { return None };
    match n.kind {
        "VAR" => n.int(":vartype"),
        "CONST" => n.int(":consttype"),
        "FUNCEXPR" => n.int(":funcresulttype"),
        "OPEXPR" => n.int(":opresulttype"),
        "BOOLEXPR" | "NULLTEST" => Some(BOOL),
        "RELABELTYPE" => n.int(":resulttype"),
        _ => None,
    }
}

/// What printing `trees` needs to look up: (functions, operators, (type, typmod) pairs).
pub(super) fn wanted(trees: &[&Value<'_>]) -> (Vec<i64>, Vec<i64>, Vec<(i64, i32)>) {
    fn walk(
        v: &Value<'_>,
        procs: &mut HashSet<i64>,
        ops: &mut HashSet<i64>,
        types: &mut HashSet<(i64, i32)>,
    ) {
        match v {
            Value::Node(n) => {
                match n.kind {
                    "FUNCEXPR" => procs.extend(n.int::<i64>(":funcid")),
                    "OPEXPR" => ops.extend(n.int::<i64>(":opno")),
                    "RELABELTYPE" => {
                        if let (Some(t), Some(m)) = (n.int(":resulttype"), n.int(":resulttypmod")) {
                            types.insert((t, m));
                        }
                    }
                    "CONST" => {
                        if let (Some(t), Some(m)) = (n.int(":consttype"), n.int(":consttypmod")) {
                            types.insert((t, m));
                        }
                    }
                    "NULLTEST" => {
                        if let Some(t) = n.field(":arg").and_then(|a| a.first()).and_then(expr_type)
                        {
                            types.insert((t, -1));
                        }
                    }
                    _ => {}
                }
                for v in &n.values {
                    walk(v, procs, ops, types);
                }
            }
            Value::List(items) => {
                for v in items {
                    walk(v, procs, ops, types);
                }
            }
            Value::Atom(_) | Value::Null => {}
        }
    }
    let (mut procs, mut ops, mut types) =
        (HashSet::default(), HashSet::default(), HashSet::default());
    for t in trees {
        walk(t, &mut procs, &mut ops, &mut types);
    }
    (
        procs.into_iter().collect(),
        ops.into_iter().collect(),
        types.into_iter().collect(),
    )
}

/// Prints `tree` as `pg_get_expr(tree, table)` does (not pretty: every operator in
/// parentheses), or None when it holds something not printed here.
pub(super) fn print(tree: &Value<'_>, lookups: &Lookups) -> Option<Vec<Piece>> {
    let mut p = Printer {
        lookups,
        out: Vec::new(),
    };
    match tree {
        // An index's expressions: a list, printed comma-separated.
        Value::List(items) => {
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    p.text(", ");
                }
                p.expr(item, false)?;
            }
        }
        _ => p.expr(tree, false)?,
    }
    Some(p.out)
}

struct Printer<'a> {
    lookups: &'a Lookups,
    out: Vec<Piece>,
}

impl Printer<'_> {
    fn text(&mut self, s: &str) {
        if let Some(Piece::Text(t)) = self.out.last_mut() {
            t.push_str(s);
        } else {
            self.out.push(Piece::Text(s.to_owned()));
        }
    }

    fn type_name(&self, t: i64, m: i32) -> Option<&str> {
        self.lookups.types.get(&(t, m)).map(|(n, _)| n.as_str())
    }

    /// `get_rule_expr` for the supported nodes; `show_implicit`: whether an implicit cast is
    /// printed (inside function and operator arguments) or skipped.
    fn expr(&mut self, v: &Value<'_>, show_implicit: bool) -> Option<()> {
        let Value::Node(n) = v else { return None };
        match n.kind {
            "VAR" => {
                let (no, up, att): (i32, i32, i32) = (
                    n.int(":varno")?,
                    n.int(":varlevelsup")?,
                    n.int(":varattno")?,
                );
                if no != 1 || up != 0 || att <= 0 {
                    return None;
                }
                self.out.push(Piece::Column(att));
            }
            "CONST" => self.constant(n)?,
            "FUNCEXPR" => self.call(n)?,
            "OPEXPR" => self.operator(n)?,
            "BOOLEXPR" => {
                let args = n.args()?;
                let op = match n.atom(":boolop")? {
                    "and" => " AND ",
                    "or" => " OR ",
                    "not" => {
                        let [arg] = args else { return None };
                        self.text("(NOT ");
                        self.expr(arg, false)?;
                        self.text(")");
                        return Some(());
                    }
                    _ => return None,
                };
                if args.len() < 2 {
                    return None;
                }
                self.text("(");
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        self.text(op);
                    }
                    self.expr(a, false)?;
                }
                self.text(")");
            }
            "NULLTEST" => {
                let [arg] = n.field(":arg")? else {
                    return None;
                };
                // A composite value prints as IS [NOT] DISTINCT FROM NULL: left to the server.
                let scalar = self
                    .lookups
                    .types
                    .get(&(expr_type(arg)?, -1))
                    .is_some_and(|(_, k)| matches!(k.as_str(), "b" | "e" | "r" | "m"));
                if n.flag(":argisrow")? || !scalar {
                    return None;
                }
                let test = match n.int::<i32>(":nulltesttype")? {
                    0 => " IS NULL)",
                    1 => " IS NOT NULL)",
                    _ => return None,
                };
                self.text("(");
                self.expr(arg, true)?;
                self.text(test);
            }
            "RELABELTYPE" => {
                let [arg] = n.field(":arg")? else {
                    return None;
                };
                // 2: COERCE_IMPLICIT_CAST.
                if n.int::<i32>(":relabelformat")? == 2 && !show_implicit {
                    return self.expr(arg, false);
                }
                // A constant of the same type prints without parentheses: left to the server.
                if matches!(arg, Value::Node(a) if a.kind == "CONST") {
                    return None;
                }
                let name = self
                    .type_name(n.int(":resulttype")?, n.int(":resulttypmod")?)?
                    .to_owned();
                self.text("(");
                self.expr(arg, false)?;
                self.text(")::");
                self.text(&name);
            }
            _ => return None,
        }
        Some(())
    }

    /// A plain function call (`COERCE_EXPLICIT_CALL`, no VARIADIC, no named arguments),
    /// qualified unless it is a `pg_catalog` function that lookup finds by its argument types.
    fn call(&mut self, n: &Node<'_>) -> Option<()> {
        if n.int::<i32>(":funcformat")? != 0 || n.flag(":funcvariadic")? {
            return None;
        }
        let args = n.args()?;
        let f = self.lookups.procs.get(&n.int(":funcid")?)?;
        if f.kind != "f" {
            return None;
        }
        let name = if f.namespace == PG_CATALOG {
            let types: Option<Vec<i64>> = args.iter().map(expr_type).collect();
            let declared: Vec<i64> = f
                .arg_types
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            if f.ambiguous || types? != declared {
                return None;
            }
            f.name.clone()
        } else {
            format!("{}.{}", f.schema, f.name)
        };
        self.text(&name);
        self.text("(");
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.text(", ");
            }
            self.expr(a, true)?;
        }
        self.text(")");
        Some(())
    }

    /// A binary operator: `(left op right)`; qualified as `OPERATOR(schema.op)` outside
    /// `pg_catalog`.
    fn operator(&mut self, n: &Node<'_>) -> Option<()> {
        let [left, right] = n.args()? else {
            return None;
        };
        let op = self.lookups.operators.get(&n.int(":opno")?)?;
        if op.kind != "b" {
            return None;
        }
        let name = if op.namespace == PG_CATALOG {
            if expr_type(left)? != op.left_type || expr_type(right)? != op.right_type {
                return None;
            }
            op.name.clone()
        } else {
            format!("OPERATOR({}.{})", op.schema, op.name)
        };
        self.text("(");
        self.expr(left, true)?;
        self.text(" ");
        self.text(&name);
        self.text(" ");
        self.expr(right, true)?;
        self.text(")");
        Some(())
    }

    /// `get_const_expr` for integer, boolean and text constants.
    fn constant(&mut self, n: &Node<'_>) -> Option<()> {
        if n.flag(":constisnull")? {
            return None;
        }
        let (ty, typmod): (i64, i32) = (n.int(":consttype")?, n.int(":consttypmod")?);
        let bytes = datum(n.field(":constvalue")?)?;
        match ty {
            INT4 => {
                // A by-value datum: 8 bytes, little-endian, the value sign-extended.
                let v = i64::from_le_bytes(bytes.as_slice().try_into().ok()?);
                let v = i32::try_from(v).ok()?;
                if v >= 0 {
                    self.text(&v.to_string());
                } else {
                    self.text(&format!("'{v}'::integer"));
                }
            }
            BOOL => match bytes.as_slice() {
                [b, 0, 0, 0, 0, 0, 0, 0] if *b <= 1 => {
                    self.text(if *b == 1 { "true" } else { "false" });
                }
                _ => return None,
            },
            REGCLASS => {
                // A by-value oid: zero-extended.
                let v = u64::from_le_bytes(bytes.as_slice().try_into().ok()?);
                let oid = i64::from(u32::try_from(v).ok()?);
                let label = self.type_name(ty, typmod)?.to_owned();
                self.text("'");
                self.out.push(Piece::Relation(oid));
                self.text("'::");
                self.text(&label);
            }
            TEXT | VARCHAR => {
                let s = std::str::from_utf8(varlena(&bytes)?).ok()?;
                // With a backslash the text depends on standard_conforming_strings.
                if s.contains('\\') {
                    return None;
                }
                let label = self.type_name(ty, typmod)?.to_owned();
                self.text(&format!("'{}'::{label}", s.replace('\'', "''")));
            }
            _ => return None,
        }
        Some(())
    }
}

/// The bytes of a datum as `outDatum` writes them: `length [ b0 b1 … ]`, bytes as signed
/// chars (by-value datums: always 8).
fn datum(vals: &[Value<'_>]) -> Option<Vec<u8>> {
    let [Value::Atom(_), Value::Atom(open), rest @ ..] = vals else {
        return None;
    };
    let [bytes @ .., Value::Atom(close)] = rest else {
        return None;
    };
    if open != "[" || close != "]" {
        return None;
    }
    bytes
        .iter()
        .map(|b| match b {
            // Signed chars: -128..=127, the same bits as the byte.
            Value::Atom(a) => a.parse::<i8>().ok().map(i8::cast_unsigned),
            _ => None,
        })
        .collect()
}

/// The data of an uncompressed varlena (little-endian header, 4-byte or 1-byte), or None
/// when the header does not describe exactly these bytes.
fn varlena(bytes: &[u8]) -> Option<&[u8]> {
    let first = *bytes.first()?;
    let (len, header) = if first & 0x01 == 0x01 {
        (usize::from(first >> 1), 1)
    } else if first & 0x03 == 0 {
        let word = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
        (usize::try_from(word >> 2).ok()?, 4)
    } else {
        return None;
    };
    (len == bytes.len() && len >= header).then(|| &bytes[header..])
}

/// Joins a printed expression with its columns' quoted names and its relations' names (see
/// [`Piece::Relation`]); None when one is unknown.
pub(super) fn join(
    pieces: &[Piece],
    column: impl Fn(i32) -> Option<String>,
    relation: impl Fn(i64) -> Option<String>,
) -> Option<String> {
    let mut s = String::new();
    for p in pieces {
        match p {
            Piece::Text(t) => s.push_str(t),
            Piece::Column(n) => s.push_str(&column(*n)?),
            Piece::Relation(oid) => s.push_str(&relation(*oid)?),
        }
    }
    Some(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn trees_parse_with_escapes_and_datums() {
        let t = parse(
            "({VAR :varno 1 :varattno 2 :vartype 25 :location 7} \
             {CONST :consttype 25 :consttypmod -1 :constisnull false :location -1 \
             :constvalue 7 [ 28 0 0 0 97 -62 -94 ]} {X :name a\\ \\}b :list (i 1 2) :n <>})",
        )
        .unwrap();
        let Value::List(items) = &t else {
            panic!("{t:?}")
        };
        assert_eq!(items.len(), 3);
        let Value::Node(c) = &items[1] else { panic!() };
        let bytes = datum(c.field(":constvalue").unwrap()).unwrap();
        assert_eq!(std::str::from_utf8(varlena(&bytes).unwrap()).unwrap(), "a¢");
        let Value::Node(x) = &items[2] else { panic!() };
        assert_eq!(x.atom(":name"), Some("a }b"));
        assert!(matches!(x.field(":n"), Some([Value::Null])));
        assert!(parse("({VAR :varno 1").is_none());
        assert!(parse("{VAR} extra").is_none());
    }

    #[test]
    fn varlena_headers_must_describe_the_bytes() {
        // The length counts the header: 1-byte headers hold it shifted left past a set bit.
        assert_eq!(varlena(&[9, b'a', b'b', b'c']), Some(&b"abc"[..]));
        assert_eq!(varlena(&[7, b'a', b'b', b'c']), None);
        assert_eq!(varlena(&[16, 0, 0, 0, b'a', b'b', b'c']), None);
        assert_eq!(varlena(&[28, 0, 0, 0, b'a', b'b', b'c']), Some(&b"abc"[..]));
        // Compressed (2) and external (1) values are not printed here.
        assert_eq!(varlena(&[30, 0, 0, 0, b'a', b'b', b'c']), None);
        assert_eq!(varlena(&[1, 18]), None);
        assert_eq!(varlena(&[]), None);
    }
}
