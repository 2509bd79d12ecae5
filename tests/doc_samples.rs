//! The samples in README.md and docs/**/*.md, checked against the built binary, so a sample can no
//! longer drift from what the program prints.
//!
//! - A ```` ```console ```` block is run: each `$ command` line (a trailing `\` continues it)
//!   runs in bash, in a scratch directory of its page, with the built `schemagate` first on
//!   `PATH`; the lines after it, up to the next `$`, are its expected output (stdout, then
//!   stderr). `[..]` in an expected line matches any text, a line `...` any number of lines, and
//!   `$?` is the previous command's exit code (`$ echo $?`).
//! - A fenced block right after a `<!-- file: NAME -->` line is written to NAME in that scratch
//!   directory before the page's commands run (the page shows the input it talks about); the
//!   repository's `examples/` is there too.
//! - In every other block, each `schemagate …` (or `cargo run -- …`) command line must name a
//!   verb that exists and only flags that verb's `--help` lists: commands that need a cluster or
//!   a database server are not run, but cannot drift from the CLI either.
//! - A `$ schemagate` line outside a console block fails the test: mark it `console`.
//!
//! `SCHEMAGATE_BLESS_DOCS=1 cargo nextest run --test doc_samples` rewrites the expected output
//! of console blocks with what the program prints now (review the diff before committing).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fenced block: its info string, first content line (0-based) and lines.
struct Block {
    info: String,
    file: Option<String>,
    start: usize,
    lines: Vec<String>,
}

fn blocks(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let file = i
            .checked_sub(1)
            .and_then(|p| lines[p].trim().strip_prefix("<!-- file:"))
            .and_then(|r| r.strip_suffix("-->"))
            .map(|n| n.trim().to_owned());
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&j| lines[j].starts_with("```"))
            .unwrap_or_else(|| panic!("unclosed block at line {}", i + 1));
        out.push(Block {
            info: info.trim().to_owned(),
            file,
            start,
            lines: lines[start..end].iter().map(|l| (*l).to_owned()).collect(),
        });
        i = end + 1;
    }
    out
}

/// One `$ command` of a console block and the lines (indexes into the block) of its output.
struct Step {
    command: String,
    output: std::ops::Range<usize>,
}

fn steps(block: &Block) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut i = 0;
    while i < block.lines.len() {
        let Some(cmd) = block.lines[i].strip_prefix("$ ") else {
            assert!(
                !out.is_empty(),
                "console block at line {}: output before the first `$ `",
                block.start + 1
            );
            i += 1;
            continue;
        };
        if let Some(last) = out.last_mut() {
            last.output.end = i;
        }
        let mut command = cmd.to_owned();
        while command.ends_with('\\') && i + 1 < block.lines.len() {
            command.pop();
            i += 1;
            command.push_str(block.lines[i].trim_start());
        }
        out.push(Step {
            command,
            output: i + 1..block.lines.len(),
        });
        i += 1;
    }
    out
}

fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("[..]").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let mut rest = actual;
    for (k, part) in parts.iter().enumerate() {
        if k == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if k == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(at) = rest.find(part) else {
                return false;
            };
            rest = &rest[at + part.len()..];
        }
    }
    true
}

/// Whether `actual` matches `expected`, with `...` lines matching any number of lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            !actual.is_empty() && line_matches(first, actual[0]) && matches(rest, &actual[1..])
        }
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.md` files under `dir` and its subfolders (docs/notifications/…), sorted.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

fn pages() -> Vec<PathBuf> {
    let mut pages = vec![repo().join("README.md")];
    markdown_files(&repo().join("docs"), &mut pages);
    pages
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_schemagate"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Runs `command` in bash in `cwd`: (exit code, stdout then stderr).
fn run(cwd: &Path, command: &str, previous: i32) -> (i32, String) {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("(exit {previous}); {command}"))
        .current_dir(cwd)
        .env("PATH", path)
        .env_remove("SCHEMAGATE_DATABASE_URL")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn console_samples_print_what_the_program_prints() {
    let bless = std::env::var("SCHEMAGATE_BLESS_DOCS").is_ok_and(|v| v == "1");
    let mut failures = String::new();
    let mut ran = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(repo()).unwrap().display().to_string();
        let all = blocks(&text);
        let scratch = tempfile::tempdir().unwrap();
        let copied = Command::new("cp")
            .arg("-r")
            .arg(repo().join("examples"))
            .arg(scratch.path())
            .status()
            .unwrap();
        assert!(copied.success());
        for block in all.iter().filter(|b| b.file.is_some()) {
            let mut body = block.lines.join("\n");
            body.push('\n');
            std::fs::write(scratch.path().join(block.file.as_ref().unwrap()), body).unwrap();
        }
        let mut rewritten: Vec<String> = text.lines().map(str::to_owned).collect();
        // Replacements (block line range → new lines), applied bottom-up.
        let mut blessed: Vec<(std::ops::Range<usize>, Vec<String>)> = Vec::new();
        for block in all.iter().filter(|b| b.info == "console") {
            let mut previous = 0;
            for step in steps(block) {
                ran += 1;
                let (code, actual) = run(scratch.path(), &step.command, previous);
                previous = code;
                let actual_lines: Vec<&str> = actual.lines().collect();
                let expected = &block.lines[step.output.clone()];
                if !matches(expected, &actual_lines) {
                    let line = block.start + step.output.start;
                    let _ = write!(
                        failures,
                        "\n{name}:{line}: `$ {}` printed (exit {code}):\n{actual}--- the sample says:\n{}\n",
                        step.command,
                        expected.join("\n")
                    );
                    let range = block.start + step.output.start..block.start + step.output.end;
                    blessed.push((
                        range,
                        actual_lines.iter().map(|l| (*l).to_owned()).collect(),
                    ));
                }
            }
        }
        if bless && !blessed.is_empty() {
            blessed.sort_by_key(|(r, _)| std::cmp::Reverse(r.start));
            for (range, lines) in blessed {
                rewritten.splice(range, lines);
            }
            let mut out = rewritten.join("\n");
            out.push('\n');
            std::fs::write(&page, out).unwrap();
        }
    }
    assert!(
        ran >= 3,
        "only {ran} console commands found: the markers were lost"
    );
    if bless {
        return;
    }
    assert!(
        failures.is_empty(),
        "samples differ from the program (SCHEMAGATE_BLESS_DOCS=1 rewrites them):{failures}"
    );
}

/// `--flags` of each word of a shell line that runs schemagate, with the verb.
fn schemagate_invocation(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.split(" #").next().unwrap_or(line);
    let line = line.split(['|', '>', ';']).next().unwrap_or(line);
    let words: Vec<&str> = line.split_whitespace().collect();
    // Skip leading `VAR=value` assignments.
    let words: Vec<&str> = words
        .iter()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'))
        .copied()
        .collect();
    let rest = match words.as_slice() {
        ["schemagate", rest @ ..] => rest,
        ["cargo", "run", rest @ ..] => {
            let at = rest.iter().position(|w| *w == "--")?;
            &rest[at + 1..]
        }
        _ => return None,
    };
    let verb = rest.first()?.to_string();
    if !verb
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
    {
        return None; // `schemagate review: 1 input(s)…` is output, not a command
    }
    let flags = rest
        .iter()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.split('=').next().unwrap_or(w).to_owned())
        .collect();
    Some((verb, flags))
}

#[test]
fn every_schemagate_command_in_the_docs_uses_existing_verbs_and_flags() {
    let mut help: HashMap<String, String> = HashMap::new();
    let mut failures = String::new();
    let mut checked = 0;
    for page in pages() {
        let text = std::fs::read_to_string(&page).unwrap();
        let name = page.strip_prefix(repo()).unwrap().display().to_string();
        for block in blocks(&text) {
            for (k, raw) in block.lines.iter().enumerate() {
                let line = block.start + k + 1;
                if block.info != "console" && raw.starts_with("$ schemagate") {
                    let _ = write!(
                        failures,
                        "\n{name}:{line}: a sample of schemagate's output outside a ```console block (it would not be checked)"
                    );
                }
                let command = raw.strip_prefix("$ ").unwrap_or(raw).trim();
                let Some((verb, flags)) = schemagate_invocation(command) else {
                    continue;
                };
                checked += 1;
                let text = help.entry(verb.clone()).or_insert_with(|| {
                    let out = Command::new(env!("CARGO_BIN_EXE_schemagate"))
                        .args([verb.as_str(), "--help"])
                        .output()
                        .unwrap();
                    if out.status.success() {
                        String::from_utf8_lossy(&out.stdout).into_owned()
                    } else {
                        String::new()
                    }
                });
                if text.is_empty() {
                    let _ = write!(failures, "\n{name}:{line}: no verb `schemagate {verb}`");
                    continue;
                }
                for flag in flags {
                    if !text.contains(&format!("{flag} ")) && !text.contains(&format!("{flag}\n")) {
                        let _ = write!(
                            failures,
                            "\n{name}:{line}: `schemagate {verb}` has no flag {flag}"
                        );
                    }
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} schemagate commands found");
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn the_matcher_takes_wildcards_and_refuses_differences() {
    let exp = |s: &str| s.lines().map(str::to_owned).collect::<Vec<_>>();
    assert!(matches(&exp("a\nb"), &["a", "b"]));
    assert!(!matches(&exp("a\nb"), &["a", "c"]));
    assert!(
        !matches(&exp("a"), &["a", "b"]),
        "extra output is a difference"
    );
    assert!(matches(&exp("a [..] c"), &["a bb c"]));
    assert!(!matches(&exp("a [..] c"), &["a bb d"]));
    assert!(matches(&exp("a\n...\nz"), &["a", "x", "y", "z"]));
    assert!(matches(&exp("a\n...\nz"), &["a", "z"]));
    assert!(!matches(&exp("a\n...\nz"), &["a", "y"]));
    assert_eq!(
        schemagate_invocation("SCHEMAGATE_DATABASE_URL=x schemagate snapshot --engine pg > a"),
        Some(("snapshot".into(), vec!["--engine".into()]))
    );
    assert_eq!(
        schemagate_invocation("cargo run -q -- crd --out-dir crds"),
        Some(("crd".into(), vec!["--out-dir".into()]))
    );
}
