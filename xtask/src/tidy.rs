//! `cargo xtask tidy`: rules of the source tree that neither rustc nor clippy check. It reads
//! text only (no build), so `cargo xtask ci` runs it first.
//!
//! The checks, each reporting every offence as `path:line: message`:
//! - **module docs**: every `.rs` file under [`SOURCE_ROOTS`] opens (its first non-empty line)
//!   with a `//!` doc saying what the module owns. Integration tests and build scripts included.
//! - **file length**: none of those files is longer than [`MAX_LINES`] lines.
//! - **subjects**: outside `crates/accord-bus/`, no string literal spells an Accord NATS subject
//!   (`"accord.evt…"`, `"accord.cmd…"`, `"accord.tel…"`, `"accord.dlq…"`): subjects come from
//!   `accord_bus::subjects`. Test code may spell them to pin the layout; see
//!   [`subject_rule_applies`] and [`find_subject_literals`] for what counts as test code.
//! - **lints**: `plugins/Cargo.toml` (its own workspace) has the same `[workspace.lints]` tables
//!   as the root `Cargo.toml`, except the differences in [`LINT_EXCEPTIONS`], and every package
//!   manifest under [`SOURCE_ROOTS`] inherits them with `[lints] workspace = true`.
//!
//! Skipped everywhere: `target/` and hidden directories, and generated files (a `@generated`
//! marker in the first [`GENERATED_MARKER_LINES`] lines; build scripts write theirs to
//! `OUT_DIR`, so today none is checked in).
//!
//! Invariant: the checks are pure functions from file text to [`Finding`]s; only [`check`] (and
//! [`run`], through it) reads the file system, and nothing writes to it.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::workspace::Workspace;

/// Directories and files (relative to the workspace root) whose Rust files and manifests are
/// checked. `proto/` is listed piecemeal so its `.proto` tree is not walked.
pub const SOURCE_ROOTS: &[&str] = &[
    "crates",
    "services",
    "proto/src",
    "proto/build.rs",
    "proto/Cargo.toml",
    "tests",
    "xtask/src",
    "xtask/Cargo.toml",
    "plugins",
];

/// The longest a Rust file may be. Past it, split the file along its seams (one idea per file).
pub const MAX_LINES: usize = 1_000;

/// How many leading lines are searched for the `@generated` marker.
pub const GENERATED_MARKER_LINES: usize = 5;

/// The crate that owns subjects (`crates/accord-bus/src/subjects.rs`): exempt from the subject
/// rule.
pub const SUBJECT_OWNER: &str = "crates/accord-bus/";

/// The namespace token of every Accord subject.
const SUBJECT_NAMESPACE: &str = "accord";

/// The second token of each subject family (`accord_bus::subjects`: events, commands, telemetry,
/// dead letters). Kept apart from [`SUBJECT_NAMESPACE`] so this file spells no subject itself; a
/// test keeps the list in step with `subjects.rs`.
const SUBJECT_KINDS: &[&str] = &["evt", "cmd", "tel", "dlq"];

/// Deliberate differences between the plugins' `[workspace.lints]` and the root's, as
/// (tool, lint, root level, plugins level).
///
/// `unsafe_code`: the bindings `wit_bindgen::generate!` writes are `unsafe` ABI shims, so each
/// component scopes an `#[allow(unsafe_code)]` around them; `forbid` refuses any such allow
/// (E0453), `deny` keeps everything else free of `unsafe`.
pub const LINT_EXCEPTIONS: &[(&str, &str, &str, &str)] =
    &[("rust", "unsafe_code", "forbid", "deny")];

/// Which rule a finding breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// A Rust file that does not open with a `//!` doc.
    ModuleDoc,
    /// A Rust file longer than [`MAX_LINES`].
    FileLength,
    /// A subject spelled as a string literal outside accord-bus.
    Subject,
    /// Plugin lints that differ from the host's, or a crate that does not inherit them.
    Lints,
}

impl Check {
    /// What the rule asks, and how to comply; printed above its findings.
    pub fn rule(self) -> &'static str {
        match self {
            Check::ModuleDoc => {
                "every Rust file opens with a `//!` doc saying what the module owns (STYLE.md rule 8)"
            }
            Check::FileLength => {
                "no Rust file is longer than 1000 lines: split it along its seams (STYLE.md rule 11)"
            }
            Check::Subject => {
                "subjects come from `accord_bus::subjects`, never from a string literal \
                 (STYLE.md rule 6); add a named function there when none fits"
            }
            Check::Lints => {
                "plugins/Cargo.toml has the root's [workspace.lints] and every crate inherits \
                 them with `[lints] workspace = true` (STYLE.md rule 10)"
            }
        }
    }
}

/// One offence: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    /// The rule broken.
    pub check: Check,
    /// The file, relative to the workspace root, with `/` separators.
    pub path: String,
    /// 1-based line; 0 when the finding is about the whole file.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    fn new(check: Check, path: &str, line: usize, message: impl Into<String>) -> Self {
        Finding {
            check,
            path: path.to_owned(),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(f, "{}:{}: {}", self.path, self.line, self.message)
        }
    }
}

/// `cargo xtask tidy`: runs every check, prints the findings grouped by rule, and fails when
/// there are any.
pub fn run(ws: &Workspace) -> Result<()> {
    let (files, findings) = check(ws)?;
    if findings.is_empty() {
        eprintln!("tidy: {files} files checked, nothing to report");
        return Ok(());
    }
    let mut current = None;
    for finding in &findings {
        if current != Some(finding.check) {
            current = Some(finding.check);
            eprintln!("tidy: {}:", finding.check.rule());
        }
        eprintln!("  {finding}");
    }
    bail!(
        "tidy: {} problem(s) in {files} checked files (listed above)",
        findings.len()
    )
}

/// Runs every check over the checkout; returns how many files were read and the findings,
/// sorted by rule, then path and line.
pub fn check(ws: &Workspace) -> Result<(usize, Vec<Finding>)> {
    let mut rust_files = Vec::new();
    let mut manifests = Vec::new();
    for root in SOURCE_ROOTS {
        collect(&ws.root().join(root), &mut rust_files, &mut manifests)?;
    }

    let mut findings = Vec::new();
    let mut files = 0;
    for path in &rust_files {
        let text = read(path)?;
        let rel = relative(ws, path);
        if is_generated(&text) {
            continue;
        }
        files += 1;
        findings.extend(check_module_doc(&rel, &text));
        findings.extend(check_length(&rel, &text));
        if subject_rule_applies(&rel) {
            findings.extend(find_subject_literals(&rel, &text));
        }
    }

    for path in &manifests {
        let text = read(path)?;
        files += 1;
        findings.extend(check_lints_inherited(&relative(ws, path), &text)?);
    }
    let root_manifest = read(&ws.root().join("Cargo.toml"))?;
    let plugins_manifest = read(&ws.plugins_dir().join("Cargo.toml"))?;
    files += 2;
    findings.extend(compare_workspace_lints(
        &root_manifest,
        "plugins/Cargo.toml",
        &plugins_manifest,
    )?);

    findings.sort();
    Ok((files, findings))
}

/// Adds the `.rs` files and `Cargo.toml` manifests at or below `path` (a file or a directory),
/// skipping `target/` and hidden directories.
fn collect(path: &Path, rust_files: &mut Vec<PathBuf>, manifests: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        match path.file_name().and_then(|name| name.to_str()) {
            Some("Cargo.toml") => manifests.push(path.to_path_buf()),
            Some(name) if name.ends_with(".rs") => rust_files.push(path.to_path_buf()),
            _ => {}
        }
        return Ok(());
    }
    let entries =
        std::fs::read_dir(path).with_context(|| format!("tidy: reading {}", path.display()))?;
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("tidy: reading {}", path.display()))?;
        children.push(entry.path());
    }
    children.sort();
    for child in children {
        let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if child.is_dir() && (name == "target" || name.starts_with('.')) {
            continue;
        }
        collect(&child, rust_files, manifests)?;
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("tidy: reading {}", path.display()))
}

/// `path` relative to the workspace root, with `/` separators (the form rules match on).
fn relative(ws: &Workspace, path: &Path) -> String {
    let rel = path.strip_prefix(ws.root()).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// True when the file says it is generated (`@generated` near its top).
pub fn is_generated(text: &str) -> bool {
    text.lines()
        .take(GENERATED_MARKER_LINES)
        .any(|line| line.contains("@generated"))
}

/// Module docs: the first non-empty line must be a `//!` comment.
pub fn check_module_doc(path: &str, text: &str) -> Option<Finding> {
    let Some((index, first)) = text
        .lines()
        .enumerate()
        .find(|(_, line)| !line.trim().is_empty())
    else {
        return Some(Finding::new(
            Check::ModuleDoc,
            path,
            1,
            "empty file: no `//!` module doc",
        ));
    };
    if first.trim_start().starts_with("//!") {
        return None;
    }
    Some(Finding::new(
        Check::ModuleDoc,
        path,
        index + 1,
        format!(
            "no `//!` module doc: the file opens with `{}`",
            shorten(first.trim(), 60)
        ),
    ))
}

/// File length: at most [`MAX_LINES`] lines (the finding points at the first line past it).
pub fn check_length(path: &str, text: &str) -> Option<Finding> {
    let lines = text.lines().count();
    (lines > MAX_LINES).then(|| {
        Finding::new(
            Check::FileLength,
            path,
            MAX_LINES + 1,
            format!("{lines} lines (the limit is {MAX_LINES}): split it along its seams"),
        )
    })
}

/// Whether the subject rule applies to the file at `path` (relative, `/`-separated): not in
/// accord-bus (the owner), not test code by location — a file inside a `tests` directory (the
/// e2e crate, integration tests, `src/tests/`) or named `tests.rs` / `*_tests.rs`.
pub fn subject_rule_applies(path: &str) -> bool {
    if path.starts_with(SUBJECT_OWNER) {
        return false;
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    let file = parts.pop().unwrap_or("");
    let in_tests_dir = parts.contains(&"tests");
    !(in_tests_dir || file == "tests.rs" || file.ends_with("_tests.rs"))
}

/// The string literals of `text` that spell an Accord subject: a `"` directly followed by
/// `accord.<kind>` and then `.` or the closing `"`, where `<kind>` is `evt`, `cmd`, `tel` or
/// `dlq`. Inside `format!` or not, raw strings included.
///
/// Not searched: comment lines (`//…`), and test modules — from a `mod … {` line that follows
/// `#[cfg(test)]` (other attributes may come between) down to the `}` line with the same
/// indentation, which is how rustfmt lays a module out. `#[cfg(test)]` on any other item does
/// not exempt it.
pub fn find_subject_literals(path: &str, text: &str) -> Vec<Finding> {
    let prefixes: Vec<String> = SUBJECT_KINDS
        .iter()
        .map(|kind| format!("\"{SUBJECT_NAMESPACE}.{kind}"))
        .collect();
    let mut findings = Vec::new();
    let mut cfg_test = false;
    let mut test_module_end: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        if let Some(end) = &test_module_end {
            if line == end {
                test_module_end = None;
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        if trimmed.starts_with("#[cfg(test)]") {
            cfg_test = true;
            continue;
        }
        if cfg_test {
            if trimmed.starts_with("#[") {
                continue;
            }
            cfg_test = false;
            if is_inline_module(trimmed) {
                let indent = &line[..line.len() - trimmed.len()];
                test_module_end = Some(format!("{indent}}}"));
                continue;
            }
        }
        for prefix in &prefixes {
            for (at, _) in line.match_indices(prefix.as_str()) {
                let literal = &line[at + 1..];
                let after = literal[prefix.len() - 1..].chars().next();
                if !matches!(after, Some('.' | '"')) {
                    continue;
                }
                let literal = literal.split('"').next().unwrap_or(literal);
                findings.push(Finding::new(
                    Check::Subject,
                    path,
                    index + 1,
                    format!(
                        "string literal `\"{}\"` spells a subject; build it with \
                         `accord_bus::subjects`",
                        shorten(literal, 60)
                    ),
                ));
            }
        }
    }
    findings
}

/// `mod name {` (any visibility): a module whose body follows inline.
fn is_inline_module(trimmed: &str) -> bool {
    let rest = trimmed
        .strip_prefix("pub ")
        .or_else(|| {
            trimmed
                .strip_prefix("pub(")
                .and_then(|r| r.split_once(") ").map(|(_, rest)| rest))
        })
        .unwrap_or(trimmed);
    rest.starts_with("mod ") && rest.trim_end().ends_with('{')
}

/// Lints, per crate: a manifest with a `[package]` must say `[lints] workspace = true`.
pub fn check_lints_inherited(path: &str, manifest: &str) -> Result<Option<Finding>> {
    let table: toml::Table = manifest
        .parse()
        .with_context(|| format!("tidy: {path} is not valid TOML"))?;
    if !table.contains_key("package") {
        return Ok(None);
    }
    let inherits = table
        .get("lints")
        .and_then(|lints| lints.get("workspace"))
        .and_then(toml::Value::as_bool)
        == Some(true);
    if inherits {
        return Ok(None);
    }
    let line = line_starting_with(manifest, "[lints").unwrap_or(0);
    Ok(Some(Finding::new(
        Check::Lints,
        path,
        line,
        "the crate does not inherit its workspace's lints: write `[lints]` `workspace = true` \
         (and nothing else under [lints])",
    )))
}

/// Lints, per workspace: the `[workspace.lints]` tables of `other` (at `other_path`) must equal
/// those of `root`, up to [`LINT_EXCEPTIONS`]. Findings point into `other`.
pub fn compare_workspace_lints(root: &str, other_path: &str, other: &str) -> Result<Vec<Finding>> {
    let root_lints = workspace_lints(root).context("tidy: the root Cargo.toml")?;
    let other_lints = workspace_lints(other).with_context(|| format!("tidy: {other_path}"))?;

    let mut tools: Vec<&String> = root_lints.keys().chain(other_lints.keys()).collect();
    tools.sort();
    tools.dedup();
    let mut findings = Vec::new();
    for tool in tools {
        let empty = toml::Table::new();
        let want = root_lints
            .get(tool)
            .and_then(toml::Value::as_table)
            .unwrap_or(&empty);
        let have = other_lints
            .get(tool)
            .and_then(toml::Value::as_table)
            .unwrap_or(&empty);
        let mut lints: Vec<&String> = want.keys().chain(have.keys()).collect();
        lints.sort();
        lints.dedup();
        for lint in lints {
            let at = lint_line(other, tool, lint);
            let message = match (want.get(lint), have.get(lint)) {
                (Some(w), Some(h)) if w == h || is_exception(tool, lint, w, h) => continue,
                (Some(w), Some(h)) => format!(
                    "[workspace.lints.{tool}] {lint} = {h}, but the root Cargo.toml says {w}"
                ),
                (Some(w), None) => format!(
                    "[workspace.lints.{tool}] lacks {lint} = {w} (the root Cargo.toml has it)"
                ),
                (None, Some(h)) => format!(
                    "[workspace.lints.{tool}] has {lint} = {h}, which the root Cargo.toml does not"
                ),
                (None, None) => continue,
            };
            findings.push(Finding::new(Check::Lints, other_path, at, message));
        }
    }
    Ok(findings)
}

/// The `[workspace.lints]` table of a manifest (empty when it has none).
fn workspace_lints(manifest: &str) -> Result<toml::Table> {
    let table: toml::Table = manifest.parse().context("not valid TOML")?;
    Ok(table
        .get("workspace")
        .and_then(|ws| ws.get("lints"))
        .and_then(toml::Value::as_table)
        .cloned()
        .unwrap_or_default())
}

/// Whether `root` → `other` for `tool.lint` is one of the [`LINT_EXCEPTIONS`].
fn is_exception(tool: &str, lint: &str, root: &toml::Value, other: &toml::Value) -> bool {
    LINT_EXCEPTIONS
        .iter()
        .any(|&(t, l, root_level, other_level)| {
            t == tool
                && l == lint
                && lint_level(root) == Some(root_level)
                && lint_level(other) == Some(other_level)
        })
}

/// `"deny"`, or the `level` of `{ level = "deny", priority = -1 }`.
fn lint_level(value: &toml::Value) -> Option<&str> {
    value
        .as_str()
        .or_else(|| value.get("level").and_then(toml::Value::as_str))
}

/// The line of `lint` under `[workspace.lints.<tool>]` in `manifest`, else that header's line,
/// else 0.
fn lint_line(manifest: &str, tool: &str, lint: &str) -> usize {
    let header = format!("[workspace.lints.{tool}]");
    let Some(start) = line_starting_with(manifest, &header) else {
        return 0;
    };
    manifest
        .lines()
        .enumerate()
        .skip(start)
        .take_while(|(_, line)| !line.trim_start().starts_with('['))
        .find(|(_, line)| {
            line.trim_start()
                .strip_prefix(lint)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map_or(start, |(index, _)| index + 1)
}

/// The 1-based line of the first line that starts (after indentation) with `prefix`.
fn line_starting_with(text: &str, prefix: &str) -> Option<usize> {
    text.lines()
        .position(|line| line.trim_start().starts_with(prefix))
        .map(|index| index + 1)
}

/// `text`, cut to `max` characters with `…` when longer.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests;
