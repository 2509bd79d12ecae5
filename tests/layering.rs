//! The layering of `src/` (docs/architecture.md), checked from the source text: which module
//! may import which, and that no file imports a file that imports it back.
//!
//! Reads every `.rs` file under `src/`, resolves the paths it names (`crate::…`, `super::…`,
//! `self::…`, `use` groups, re-exports of a `mod.rs`) to the files that define them, and fails
//! with the offending line when a file uses what its module must not, or when files form a
//! cycle. Comments are skipped; test code is held to the same rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path from the crate root (`["review", "rules", "emit"]`); the root is empty.
type ModPath = Vec<String>;

/// What each top-level module must not use: other modules of the crate, then external crates.
const FORBIDDEN: &[(&str, &[&str], &[&str])] = &[
    (
        "sqltext",
        &[
            "api",
            "cli",
            "controller",
            "engine",
            "review",
            "snapshot",
            "workflow",
        ],
        &["kube", "sqlx", "kube_emulator"],
    ),
    (
        "api",
        &[
            "cli",
            "controller",
            "engine",
            "review",
            "snapshot",
            "workflow",
        ],
        &["sqlx", "kube_emulator"],
    ),
    (
        "review",
        &["api", "cli", "controller", "engine", "snapshot", "workflow"],
        &["kube", "sqlx", "kube_emulator"],
    ),
    (
        "snapshot",
        &["api", "cli", "controller", "engine", "review", "workflow"],
        &["kube", "sqlx", "kube_emulator"],
    ),
    (
        "workflow",
        &["cli", "controller", "engine"],
        &["kube", "sqlx", "kube_emulator"],
    ),
    (
        "engine",
        &["api", "cli", "controller", "review", "workflow"],
        &["kube", "kube_emulator"],
    ),
    ("controller", &["cli"], &["kube_emulator"]),
    (
        "notify",
        &[
            "chat",
            "cli",
            "controller",
            "engine",
            "review",
            "snapshot",
            "webhook",
        ],
        &["kube", "sqlx", "kube_emulator"],
    ),
    (
        "chat",
        &[
            "cli",
            "controller",
            "engine",
            "review",
            "snapshot",
            "webhook",
        ],
        &["sqlx", "kube_emulator"],
    ),
    (
        "webhook",
        &["cli", "controller", "engine", "review", "snapshot"],
        &["sqlx", "kube_emulator"],
    ),
];

/// One source file.
struct File {
    /// Path relative to the repository, for messages.
    shown: String,
    /// Its module path.
    module: ModPath,
    /// Whether it is a `mod.rs`/`lib.rs`/`main.rs`: a module that declares others (and may
    /// re-export them).
    is_dir_module: bool,
    /// The text without comments, line by line (1-based line numbers kept).
    lines: Vec<(usize, String)>,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.map(|e| e.path()).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Strips `//` comments (line and doc) and `/* */` blocks, keeping line numbers. String
/// literals are kept as they are: a path inside a string would be read as a use, which errs
/// on the strict side.
fn code_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_block = false;
    for (i, line) in text.lines().enumerate() {
        let mut code = String::new();
        let mut rest = line;
        loop {
            if in_block {
                match rest.find("*/") {
                    Some(end) => {
                        rest = &rest[end + 2..];
                        in_block = false;
                    }
                    None => break,
                }
            } else {
                let block = rest.find("/*");
                let comment = rest.find("//");
                match (block, comment) {
                    (Some(b), c) if c.is_none_or(|c| b < c) => {
                        code.push_str(&rest[..b]);
                        rest = &rest[b + 2..];
                        in_block = true;
                    }
                    (_, Some(c)) => {
                        code.push_str(&rest[..c]);
                        break;
                    }
                    _ => {
                        code.push_str(rest);
                        break;
                    }
                }
            }
        }
        out.push((i + 1, code));
    }
    out
}

fn load() -> Vec<File> {
    let src = src_dir();
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap_or(&path);
            let mut module: ModPath = rel
                .with_extension("")
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            let last = module.last().cloned().unwrap_or_default();
            let is_dir_module = matches!(last.as_str(), "mod" | "lib" | "main");
            if is_dir_module {
                module.pop();
            }
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            File {
                shown: format!("src/{}", rel.display()),
                module,
                is_dir_module,
                lines: code_lines(&text),
            }
        })
        .collect()
}

/// Every path a file names, with its line: each leaf of a `use` tree as a full path
/// (`use a::{b, c::{d as e}}` → `a::b`, `a::c::d`; `self` is the prefix itself), whatever
/// lines it spans, and every other `x::y` path in the code (`crate::a::f()`, `kube::Api`).
fn named_paths(lines: &[(usize, String)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (n, line) in lines {
        let trimmed = line.trim_start();
        let starts_use = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .any(|p| trimmed.starts_with(p));
        if pending.is_none() && starts_use {
            pending = Some((*n, String::new()));
        }
        if let Some((first, text)) = pending.as_mut() {
            text.push_str(line);
            text.push(' ');
            if let Some(end) = text.find(';') {
                let statement = &text[..end];
                let tree = statement[statement.find("use ").map_or(0, |i| i + 4)..].trim();
                out.extend(expand_use("", tree).into_iter().map(|p| (*first, p)));
                pending = None;
            }
            continue;
        }
        out.extend(inline_paths(line).into_iter().map(|p| (*n, p)));
    }
    out
}

/// The leaves of a use tree under `prefix`.
fn expand_use(prefix: &str, tree: &str) -> Vec<String> {
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_owned()
        } else {
            format!("{a}::{b}")
        }
    };
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        return match path {
            "" => Vec::new(),
            "self" | "*" => vec![prefix.to_owned()],
            _ => vec![join(prefix, path.trim_end_matches("::*"))],
        };
    };
    let head = join(prefix, tree[..open].trim().trim_end_matches("::"));
    let close = tree.rfind('}').unwrap_or(tree.len());
    let mut items = Vec::new();
    let (mut depth, mut from) = (0usize, open + 1);
    for (i, c) in tree.char_indices().take(close).skip(open + 1) {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&tree[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    items.push(&tree[from..close]);
    items
        .into_iter()
        .flat_map(|item| expand_use(&head, item))
        .collect()
}

/// The `x::y` paths of a line of code that is not a `use` declaration.
fn inline_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if starts_word && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
            let mut j = i;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_' || bytes[j] == b':')
            {
                j += 1;
            }
            let word = &line[i..j];
            if word.contains("::") {
                out.push(word.trim_end_matches(':').to_owned());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// The module path a written path starts from, and its remaining segments: `crate::a::b` →
/// (root, [a, b]); `super::x` from `review/rules/emit.rs` → ([review, rules], [x]). `None` for
/// a path into another crate (its first segment is returned by [`external_crate`]).
fn absolute(file: &File, path: &str) -> Option<ModPath> {
    let mut segments = path.split("::").filter(|s| !s.is_empty());
    let first = segments.next()?;
    // `self` is the file's own module, `super` its parent, for `foo.rs` and `foo/mod.rs` alike.
    let mut base: ModPath = match first {
        "crate" => Vec::new(),
        "self" => file.module.clone(),
        "super" => file.module[..file.module.len().saturating_sub(1)].to_vec(),
        _ => return None,
    };
    let mut rest: Vec<&str> = segments.collect();
    // `super::super::…`
    while rest.first() == Some(&"super") {
        base.pop();
        rest.remove(0);
    }
    base.extend(rest.into_iter().map(str::to_owned));
    Some(base)
}

fn external_crate(path: &str) -> Option<&str> {
    let first = path.split("::").next()?;
    (!matches!(first, "crate" | "self" | "super")).then_some(first)
}

/// Module files by module path, and the re-exports of each `mod.rs`/`lib.rs`
/// (`pub use child::Item` → the child's module path).
struct Index {
    files: BTreeMap<ModPath, usize>,
    reexports: BTreeMap<ModPath, ModPath>,
}

impl Index {
    fn new(files: &[File]) -> Self {
        let mut index = Index {
            files: files
                .iter()
                .enumerate()
                .map(|(i, f)| (f.module.clone(), i))
                .collect(),
            reexports: BTreeMap::new(),
        };
        for file in files.iter().filter(|f| f.is_dir_module) {
            let reexported: Vec<(usize, String)> = file
                .lines
                .iter()
                .filter(|(_, l)| {
                    let t = l.trim_start();
                    t.starts_with("pub use ") || t.starts_with("pub(crate) use ")
                })
                .map(|(n, _)| *n)
                .flat_map(|n| {
                    named_paths(&file.lines[n - 1..])
                        .into_iter()
                        .take_while(move |(first, _)| *first == n)
                })
                .collect();
            {
                for (_, path) in reexported {
                    let segments: Vec<&str> = path.split("::").collect();
                    if matches!(segments.first(), Some(&("crate" | "super" | "self")))
                        || segments.len() < 2
                    {
                        continue;
                    }
                    // `pub use child::…::Item` in module M: M::Item is defined under M::child.
                    let mut target = file.module.clone();
                    target.extend(
                        segments[..segments.len() - 1]
                            .iter()
                            .map(|s| (*s).to_owned()),
                    );
                    let item = segments.last().copied().unwrap_or_default();
                    let mut alias = file.module.clone();
                    alias.push(item.to_owned());
                    index.reexports.insert(alias, target);
                }
            }
        }
        index
    }

    /// The file that defines what `path` names: the longest module-file prefix, through
    /// re-exports.
    fn file_of(&self, path: &[String]) -> Option<usize> {
        for n in (1..=path.len()).rev() {
            if let Some(target) = self.reexports.get(&path[..n]) {
                return self.longest(target);
            }
        }
        self.longest(path)
    }

    fn longest(&self, path: &[String]) -> Option<usize> {
        (1..=path.len())
            .rev()
            .find_map(|n| self.files.get(&path[..n]).copied())
    }
}

#[test]
fn no_module_imports_what_the_design_forbids() {
    let files = load();
    assert!(files.len() > 50, "read only {} files", files.len());
    let mut violations = Vec::new();
    for file in &files {
        let Some(top) = file.module.first() else {
            continue;
        };
        let Some((_, modules, crates)) = FORBIDDEN.iter().find(|(m, _, _)| m == top) else {
            continue;
        };
        for (n, path) in named_paths(&file.lines) {
            {
                let bad = match absolute(file, &path) {
                    Some(target) => target
                        .first()
                        .filter(|t| modules.contains(&t.as_str()))
                        .cloned(),
                    None => external_crate(&path)
                        .filter(|c| crates.contains(c))
                        .map(str::to_owned),
                };
                if let Some(bad) = bad {
                    violations.push(format!("{}:{n}: {top} uses {bad}: {path}", file.shown));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports the design forbids (docs/architecture.md):\n{}",
        violations.join("\n")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let files = load();
    let index = Index::new(&files);
    // Edges between files; a file's use of its own ancestors' `mod.rs` (the facade it is
    // declared and re-exported in) is not a dependency on that file's code.
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); files.len()];
    for (i, file) in files.iter().enumerate() {
        {
            for (_, path) in named_paths(&file.lines) {
                let Some(target) = absolute(file, &path) else {
                    continue;
                };
                let Some(j) = index.file_of(&target) else {
                    continue;
                };
                let other = &files[j].module;
                let ancestor = other.len() < file.module.len()
                    && file.module.starts_with(other)
                    && files[j].is_dir_module;
                let child = file.is_dir_module && other.starts_with(&file.module);
                if j != i && !ancestor && !child {
                    edges[i].insert(j);
                }
            }
        }
    }
    let cycles = strongly_connected(&edges);
    let shown: Vec<String> = cycles
        .iter()
        .map(|c| {
            c.iter()
                .map(|&i| files[i].shown.as_str())
                .collect::<Vec<_>>()
                .join(" ↔ ")
        })
        .collect();
    assert!(
        shown.is_empty(),
        "files that import each other (put what both need in a third file):\n{}",
        shown.join("\n")
    );
}

/// Tarjan's algorithm: the components with more than one file.
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in s.edges[v].iter() {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.out.push(component);
            }
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_checker_sees_a_forbidden_import_and_a_cycle() {
    let file = |module: &[&str], dir: bool, text: &str| File {
        shown: module.join("/"),
        module: module.iter().map(|s| (*s).to_owned()).collect(),
        is_dir_module: dir,
        lines: code_lines(text),
    };
    let emit = file(
        &["review", "rules", "emit"],
        false,
        "use super::super::Finding;",
    );
    assert_eq!(
        absolute(&emit, "super::super::Finding"),
        Some(vec!["review".to_owned(), "Finding".to_owned()])
    );
    let a = file(
        &["engine", "a"],
        false,
        "use super::b::X; // crate::controller in a comment\nuse kube::Api;",
    );
    assert_eq!(
        named_paths(&a.lines),
        vec![(1, "super::b::X".to_owned()), (2, "kube::Api".to_owned())],
        "comments are skipped"
    );
    assert_eq!(external_crate("kube::Api"), Some("kube"));
    let group =
        code_lines("use crate::workflow::{\n    self, Decision,\n    review::{x as y, z},\n};");
    assert_eq!(
        named_paths(&group),
        [
            "crate::workflow",
            "crate::workflow::Decision",
            "crate::workflow::review::x",
            "crate::workflow::review::z"
        ]
        .map(|p| (1, p.to_owned()))
    );
    let b = file(
        &["engine", "b"],
        false,
        "pub(crate) fn f() { super::a::g() }",
    );
    let files = vec![a, b];
    let index = Index::new(&files);
    let edge = |from: &File, path: &str| index.file_of(&absolute(from, path).unwrap_or_default());
    assert_eq!(edge(&files[0], "super::b::X"), Some(1));
    assert_eq!(edge(&files[1], "super::a::g"), Some(0));
    let edges = vec![BTreeSet::from([1]), BTreeSet::from([0])];
    assert_eq!(strongly_connected(&edges), vec![vec![0, 1]]);
}
