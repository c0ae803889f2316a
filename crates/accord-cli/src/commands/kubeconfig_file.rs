//! Kubeconfig files as kubectl keeps them: which file a new cluster goes into, and merging one
//! cluster's entries into an existing file without dropping anything else.
//!
//! The rules follow client-go's `clientcmd` (what `kubectl config set-context` does), so a
//! user's setup behaves the same whichever tool wrote last:
//! - [`target_file`]: an explicit `--file`; else with `$KUBECONFIG` (a path list) its only
//!   entry, or its first existing file, or its last entry; else `~/.kube/config`.
//! - [`current_context_file`]: kubectl reads `current-context` from the first file of the list
//!   that sets one, so that is where the new context is made current (else the target file).
//! - [`merge`]: entries of `clusters`, `users` and `contexts` are replaced by name or appended;
//!   every other entry and key (preferences, extensions, other contexts) is kept. Comments are
//!   not kept (kubectl does not keep them either).
//!
//! Files are written through a temporary file renamed into place, mode 0600 (they hold
//! credentials), so a crash leaves the old file or the new one; a symlinked file is written
//! through (its target replaced, the link kept), as kubectl writes through it. A file that is
//! not a kubeconfig is refused, never overwritten.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_norway::{Mapping, Value};

/// The largest kubeconfig read (a kubeconfig with hundreds of clusters is well below this).
pub const MAX_KUBECONFIG_BYTES: u64 = 16 * 1024 * 1024;

/// The lists whose entries are keyed by `name`.
const NAMED_LISTS: [&str; 3] = ["clusters", "users", "contexts"];

/// The file a new cluster is written into (module docs for the rules).
pub fn target_file(
    explicit: Option<&Path>,
    kubeconfig_env: Option<&OsStr>,
    home: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let listed = env_files(kubeconfig_env);
    if let [only] = listed.as_slice() {
        return Ok(only.clone());
    }
    if let Some(existing) = listed.iter().find(|path| path.is_file()) {
        return Ok(existing.clone());
    }
    if let Some(last) = listed.last() {
        return Ok(last.clone());
    }
    match home {
        Some(home) => Ok(home.join(".kube").join("config")),
        None => bail!("neither KUBECONFIG nor HOME is set: pass --file PATH"),
    }
}

/// The file whose `current-context` kubectl uses: with no explicit file, the first file of
/// `$KUBECONFIG` that sets one; otherwise `target`.
pub fn current_context_file(
    explicit: Option<&Path>,
    kubeconfig_env: Option<&OsStr>,
    target: &Path,
) -> PathBuf {
    if explicit.is_some() {
        return target.to_path_buf();
    }
    env_files(kubeconfig_env)
        .into_iter()
        .find(|path| {
            read(path)
                .ok()
                .flatten()
                .and_then(|doc| {
                    doc.get("current-context")
                        .and_then(Value::as_str)
                        .map(|c| !c.is_empty())
                })
                .unwrap_or(false)
        })
        .unwrap_or_else(|| target.to_path_buf())
}

fn env_files(kubeconfig_env: Option<&OsStr>) -> Vec<PathBuf> {
    kubeconfig_env
        .map(|list| {
            std::env::split_paths(list)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The kubeconfig at `path`: `None` when it does not exist or is empty.
pub fn read(path: &Path) -> anyhow::Result<Option<Value>> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("read {}", path.display())),
    };
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let file = std::fs::File::open(path).with_context(|| format!("read {}", path.display()))?;
    let text = crate::input::read_text(file, MAX_KUBECONFIG_BYTES, &path.display().to_string())?;
    parse(&text).with_context(|| {
        format!(
            "{} is not a kubeconfig; it was left as it is (fix or move it, or pass --file)",
            path.display()
        )
    })
}

/// A kubeconfig document: `None` for an empty one.
pub fn parse(text: &str) -> anyhow::Result<Option<Value>> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let doc: Value = serde_norway::from_str(text)?;
    match &doc {
        Value::Null => Ok(None),
        Value::Mapping(map) => {
            for list in NAMED_LISTS {
                match map.get(list) {
                    None | Some(Value::Null | Value::Sequence(_)) => {}
                    Some(_) => bail!("`{list}` is not a list"),
                }
            }
            Ok(Some(doc))
        }
        _ => bail!("the document is not a mapping"),
    }
}

/// `incoming`'s clusters, users and contexts merged into `existing` (replacing same-named
/// entries), with `current-context` set to `current` when given.
pub fn merge(existing: Option<Value>, incoming: &Value, current: Option<&str>) -> Value {
    let mut doc = match existing {
        Some(Value::Mapping(map)) => map,
        _ => skeleton(),
    };
    for list in NAMED_LISTS {
        let entries = incoming
            .get(list)
            .and_then(Value::as_sequence)
            .cloned()
            .unwrap_or_default();
        let slot = doc
            .entry(Value::from(list))
            .or_insert_with(|| Value::Sequence(Vec::new()));
        if !slot.is_sequence() {
            *slot = Value::Sequence(Vec::new());
        }
        if let Value::Sequence(have) = slot {
            for entry in entries {
                let name = entry.get("name").cloned();
                match have
                    .iter_mut()
                    .find(|e| name.is_some() && e.get("name") == name.as_ref())
                {
                    Some(same) => *same = entry,
                    None => have.push(entry),
                }
            }
        }
    }
    if let Some(current) = current {
        set_current_context_in(&mut doc, current);
    }
    Value::Mapping(doc)
}

/// `doc` (or a new kubeconfig) with `current-context` set to `context` and nothing else changed.
pub fn set_current_context(doc: Option<Value>, context: &str) -> Value {
    let mut map = match doc {
        Some(Value::Mapping(map)) => map,
        _ => skeleton(),
    };
    set_current_context_in(&mut map, context);
    Value::Mapping(map)
}

fn set_current_context_in(map: &mut Mapping, context: &str) {
    map.insert(Value::from("current-context"), Value::from(context));
}

fn skeleton() -> Mapping {
    let mut map = Mapping::new();
    map.insert(Value::from("apiVersion"), Value::from("v1"));
    map.insert(Value::from("kind"), Value::from("Config"));
    map.insert(Value::from("preferences"), Value::Mapping(Mapping::new()));
    map
}

/// Writes `doc` to `path` (mode 0600, atomically; missing directories created 0700).
pub fn write(path: &Path, doc: &Value) -> anyhow::Result<()> {
    let text = serde_norway::to_string(doc).context("serialise the kubeconfig")?;
    write_text(path, text.as_bytes())
}

/// Writes `bytes` to `path` (mode 0600, atomically; missing directories created 0700). A
/// symlink (`~/.kube/config` linked into a dotfiles checkout) is written through, as kubectl
/// does: its target is replaced and the link is kept.
pub fn write_text(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let path = &through_symlinks(path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        accord_nats_auth::keys::ensure_private_dir(parent)
            .with_context(|| format!("create {}", parent.display()))?;
    }
    accord_nats_auth::keys::write_atomically(path, bytes, 0o600)
        .with_context(|| format!("write {}", path.display()))
}

/// The file `path` names once its symlinks are followed (a dangling link names the file it
/// would create); `path` itself when it is not a link.
fn through_symlinks(path: &Path) -> anyhow::Result<PathBuf> {
    // Linux's own limit on links followed in one lookup.
    const MAX_LINKS: usize = 40;
    let mut current = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)
                    .with_context(|| format!("read the symlink {}", current.display()))?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    bail!("{}: too many levels of symbolic links", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: 'https://prod.example:6443'}
users:
- name: alice
  user: {token: abc}
contexts:
- name: prod
  context: {cluster: prod, user: alice, namespace: ml}
current-context: prod
preferences: {colors: true}
extensions:
- name: mine
  extension: {x: 1}
";

    fn incoming(server: &str) -> Value {
        serde_norway::from_str(&format!(
            "apiVersion: v1
kind: Config
clusters:
- name: accord-demo
  cluster: {{server: '{server}'}}
users:
- name: admin@demo
  user: {{client-certificate-data: x}}
contexts:
- name: accord-demo
  context: {{cluster: accord-demo, user: admin@demo}}
current-context: accord-demo
"
        ))
        .unwrap()
    }

    fn names(doc: &Value, list: &str) -> Vec<String> {
        doc[list]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn merging_keeps_everything_else_and_replaces_by_name() {
        let old = parse(OLD).unwrap();
        let merged = merge(old, &incoming("https://a:6443"), Some("accord-demo"));
        assert_eq!(names(&merged, "contexts"), ["prod", "accord-demo"]);
        assert_eq!(names(&merged, "clusters"), ["prod", "accord-demo"]);
        assert_eq!(names(&merged, "users"), ["alice", "admin@demo"]);
        assert_eq!(merged["current-context"].as_str(), Some("accord-demo"));
        assert_eq!(merged["preferences"]["colors"].as_bool(), Some(true));
        assert_eq!(merged["extensions"][0]["name"].as_str(), Some("mine"));
        assert_eq!(
            merged["contexts"][0]["context"]["namespace"].as_str(),
            Some("ml")
        );

        // Again with a new endpoint: replaced, not duplicated.
        let again = merge(Some(merged), &incoming("https://b:6443"), None);
        assert_eq!(names(&again, "clusters"), ["prod", "accord-demo"]);
        assert_eq!(
            again["clusters"][1]["cluster"]["server"].as_str(),
            Some("https://b:6443")
        );
        assert_eq!(again["current-context"].as_str(), Some("accord-demo"));
    }

    #[test]
    fn a_missing_or_empty_file_becomes_a_complete_kubeconfig() {
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("  \n").unwrap(), None);
        let merged = merge(None, &incoming("https://a:6443"), Some("accord-demo"));
        assert_eq!(merged["apiVersion"].as_str(), Some("v1"));
        assert_eq!(merged["kind"].as_str(), Some("Config"));
        assert_eq!(names(&merged, "contexts"), ["accord-demo"]);
    }

    #[test]
    fn what_is_not_a_kubeconfig_is_refused() {
        assert!(parse("- a\n- b\n").is_err());
        assert!(parse("clusters: 3\n").is_err());
        assert!(parse("{unclosed").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "clusters: {a: 1}\n").unwrap();
        let err = format!("{:#}", read(&path).unwrap_err());
        assert!(err.contains("is not a kubeconfig"), "{err}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "clusters: {a: 1}\n"
        );
    }

    #[test]
    fn the_target_follows_kubectl() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let explicit = dir.path().join("x");
        assert_eq!(
            target_file(Some(&explicit), None, Some(&home)).unwrap(),
            explicit
        );
        assert_eq!(
            target_file(None, None, Some(&home)).unwrap(),
            home.join(".kube/config")
        );
        assert!(target_file(None, None, None).is_err());
        let list = std::env::join_paths([&a, &b]).unwrap();
        // None exists: the last one.
        assert_eq!(target_file(None, Some(&list), Some(&home)).unwrap(), b);
        std::fs::write(&b, "").unwrap();
        assert_eq!(target_file(None, Some(&list), Some(&home)).unwrap(), b);
        std::fs::write(&a, "").unwrap();
        assert_eq!(target_file(None, Some(&list), Some(&home)).unwrap(), a);
        let only = std::env::join_paths([&b]).unwrap();
        assert_eq!(target_file(None, Some(&only), Some(&home)).unwrap(), b);
        // The current context lives in the first file setting one.
        std::fs::write(&b, "current-context: x\n").unwrap();
        assert_eq!(current_context_file(None, Some(&list), &a), b);
        assert_eq!(current_context_file(Some(&explicit), Some(&list), &a), a);
        std::fs::write(&a, "current-context: y\n").unwrap();
        assert_eq!(current_context_file(None, Some(&list), &b), a);
    }

    #[test]
    fn written_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config");
        write(&path, &merge(None, &incoming("https://a:6443"), None)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_text(&path, b"apiVersion: v1\n").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_symlinked_kubeconfig_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let dotfiles = dir.path().join("dotfiles");
        std::fs::create_dir(&dotfiles).unwrap();
        let real = dotfiles.join("kubeconfig");
        std::fs::write(&real, OLD).unwrap();
        let kube = dir.path().join(".kube");
        std::fs::create_dir(&kube).unwrap();
        let link = kube.join("config");
        // Relative, and through a second link.
        std::os::unix::fs::symlink("../dotfiles/kubeconfig", kube.join("middle")).unwrap();
        std::os::unix::fs::symlink("middle", &link).unwrap();
        let merged = merge(read(&link).unwrap(), &incoming("https://a:6443"), None);
        write(&link, &merged).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(read(&real).unwrap(), Some(merged));
        // A dangling link: the file it names is created.
        let dangling = kube.join("dangling");
        std::os::unix::fs::symlink("../dotfiles/new", &dangling).unwrap();
        write_text(&dangling, b"apiVersion: v1\n").unwrap();
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(dotfiles.join("new")).unwrap(),
            "apiVersion: v1\n"
        );
        // A loop is an error, not a hang.
        std::os::unix::fs::symlink("loop", kube.join("loop")).unwrap();
        assert!(write_text(&kube.join("loop"), b"x").is_err());
    }
}
