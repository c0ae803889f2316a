//! Building the WebAssembly plugins: the `plugins/` workspace (`policies/*`, `addons/*`,
//! `testing/*`) for `wasm32-wasip2`, in release, into `plugins/target`.
//!
//! Invariants:
//! - The target comes from rustup for the toolchain pinned by `rust-toolchain.toml`; xtask adds
//!   it only when `rustup target list --installed` lacks it.
//! - The build keeps going past a failing crate and then names every plugin crate that produced
//!   no component, so one engineer's broken crate does not hide the state of the others.
//! - Only components cargo reported for this build are listed: a stale `.wasm` left in the
//!   output directory by an earlier build never counts as built.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cmd;
use crate::workspace::Workspace;

/// The plugins' target triple.
pub const TARGET: &str = "wasm32-wasip2";

/// The environment variable that tells tests and `accord up` where the components are.
pub const ENV_VAR: &str = "ACCORD_PLUGIN_DIR";

/// One component of a successful build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The cargo package, e.g. `gpu-remediation`.
    pub package: String,
    /// The `.wasm` file.
    pub wasm: PathBuf,
}

/// Ensures the target, builds every plugin crate and returns the components, in package order.
pub fn build(ws: &Workspace) -> Result<Vec<Component>> {
    ensure_target(ws)?;

    let metadata = cmd::output(
        cargo(ws)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .arg("--manifest-path")
            .arg(ws.plugins_dir().join("Cargo.toml")),
    )
    .context("plugins: reading the plugins workspace (plugins/Cargo.toml)")?;
    let members = component_packages(&metadata)?;

    let (messages, outcome) = cmd::run_with_stdout(
        cargo(ws)
            .args(["build", "--release", "--keep-going", "--target", TARGET])
            .arg("--target-dir")
            .arg(ws.plugins_target_dir())
            .arg("--message-format=json-render-diagnostics"),
    )?;
    let built = built_components(&messages);

    let mut components = Vec::new();
    let mut failed = Vec::new();
    for member in &members {
        match built
            .iter()
            .find(|c| c.manifest_path == member.manifest_path)
        {
            Some(artifact) => components.push(Component {
                package: member.name.clone(),
                wasm: artifact.wasm.clone(),
            }),
            None => failed.push(member.name.as_str()),
        }
    }
    if !failed.is_empty() {
        let summary = format!(
            "plugins: {} of {} plugin crates failed to build: {} (the compiler's errors are above)",
            failed.len(),
            members.len(),
            failed.join(", ")
        );
        return Err(match outcome {
            Err(child) => anyhow::Error::new(child).context(summary),
            Ok(()) => anyhow::anyhow!(summary),
        });
    }
    outcome.context("plugins: cargo build failed")?;
    Ok(components)
}

/// Prints the components, one per line: package, size, path relative to the workspace.
pub fn print(ws: &Workspace, components: &[Component]) {
    let width = components
        .iter()
        .map(|c| c.package.len())
        .max()
        .unwrap_or(0);
    println!(
        "plugins in {} (export {ENV_VAR}={}):",
        ws.display(&ws.plugin_out_dir()),
        ws.plugin_out_dir().display()
    );
    for component in components {
        let size = std::fs::metadata(&component.wasm).map_or_else(
            |_| "?".to_owned(),
            |meta| format!("{} KiB", meta.len().div_ceil(1024)),
        );
        println!(
            "  {:<width$}  {size:>8}  {}",
            component.package,
            ws.display(&component.wasm)
        );
    }
}

/// Adds the `wasm32-wasip2` target through rustup when the pinned toolchain lacks it.
pub fn ensure_target(ws: &Workspace) -> Result<()> {
    // rustup resolves the toolchain from the working directory (rust-toolchain.toml).
    let installed = match cmd::output(
        Command::new("rustup")
            .args(["target", "list", "--installed"])
            .current_dir(ws.plugins_dir()),
    ) {
        Ok(list) => list,
        Err(err) => {
            eprintln!(
                "xtask: note: could not ask rustup for the installed targets ({err:#}); \
                 assuming {TARGET} is installed"
            );
            return Ok(());
        }
    };
    if installed.lines().any(|line| line.trim() == TARGET) {
        return Ok(());
    }
    eprintln!("xtask: the {TARGET} target is missing; installing it with rustup");
    cmd::run(
        Command::new("rustup")
            .args(["target", "add", TARGET])
            .current_dir(ws.plugins_dir()),
    )
    .with_context(|| format!("plugins: `rustup target add {TARGET}` failed"))
}

/// Runs the plugins' own tests natively (their logic is plain Rust; the components wrap it).
pub fn test_native(ws: &Workspace) -> Result<()> {
    cmd::run(cargo(ws).args(["test", "--workspace", "--locked"]))
}

/// The cargo that runs xtask, in the plugins workspace.
fn cargo(ws: &Workspace) -> Command {
    let mut cmd = cmd::cargo();
    cmd.current_dir(ws.plugins_dir());
    cmd
}

/// A workspace member that builds a component (has a `cdylib` target).
#[derive(Debug, PartialEq, Eq)]
struct Member {
    name: String,
    manifest_path: PathBuf,
}

/// The members of `cargo metadata --no-deps` output that have a `cdylib` target.
fn component_packages(metadata: &str) -> Result<Vec<Member>> {
    let metadata: Value =
        serde_json::from_str(metadata).context("plugins: `cargo metadata` printed no JSON")?;
    let Some(packages) = metadata["packages"].as_array() else {
        bail!("plugins: `cargo metadata` output has no packages");
    };
    let mut members: Vec<Member> = packages
        .iter()
        .filter(|package| {
            package["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|target| has_kind(target, "cdylib"))
        })
        .filter_map(|package| {
            Some(Member {
                name: package["name"].as_str()?.to_owned(),
                manifest_path: PathBuf::from(package["manifest_path"].as_str()?),
            })
        })
        .collect();
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(members)
}

/// A `.wasm` cargo reported in a `compiler-artifact` message.
#[derive(Debug, PartialEq, Eq)]
struct Artifact {
    manifest_path: PathBuf,
    wasm: PathBuf,
}

/// The `.wasm` files of `cdylib` artifacts in cargo's JSON messages (one JSON object per line;
/// anything else is ignored).
fn built_components(messages: &str) -> Vec<Artifact> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && has_kind(&msg["target"], "cdylib"))
        .filter_map(|msg| {
            let wasm = msg["filenames"]
                .as_array()?
                .iter()
                .filter_map(Value::as_str)
                .find(|file| Path::new(file).extension().is_some_and(|ext| ext == "wasm"))?;
            Some(Artifact {
                manifest_path: PathBuf::from(msg["manifest_path"].as_str()?),
                wasm: PathBuf::from(wasm),
            })
        })
        .collect()
}

fn has_kind(target: &Value, kind: &str) -> bool {
    target["kind"]
        .as_array()
        .is_some_and(|kinds| kinds.iter().any(|k| k == kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"{"packages":[
        {"name":"noop-addon","manifest_path":"/w/plugins/testing/noop-addon/Cargo.toml",
         "targets":[{"kind":["cdylib"],"name":"noop_addon"}]},
        {"name":"addon-kit","manifest_path":"/w/plugins/addons/addon-kit/Cargo.toml",
         "targets":[{"kind":["lib"],"name":"addon_kit"}]},
        {"name":"gpu-remediation","manifest_path":"/w/plugins/policies/gpu-remediation/Cargo.toml",
         "targets":[{"kind":["cdylib","rlib"],"name":"gpu_remediation"}]}
    ],"workspace_members":[]}"#;

    #[test]
    fn only_cdylib_members_are_components_sorted_by_name() {
        let members = component_packages(METADATA).unwrap();
        let names: Vec<&str> = members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["gpu-remediation", "noop-addon"]);
        assert_eq!(
            members[0].manifest_path,
            Path::new("/w/plugins/policies/gpu-remediation/Cargo.toml")
        );
    }

    #[test]
    fn wasm_artifacts_are_read_from_cargo_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","manifest_path":"/w/plugins/policies/gpu-remediation/Cargo.toml","target":{"kind":["cdylib","rlib"]},"filenames":["/w/plugins/target/wasm32-wasip2/release/libgpu_remediation.rlib","/w/plugins/target/wasm32-wasip2/release/gpu_remediation.wasm"],"fresh":true}"#,
            r#"{"reason":"compiler-artifact","manifest_path":"/reg/serde/Cargo.toml","target":{"kind":["lib"]},"filenames":["/w/x.rlib"]}"#,
            r#"{"reason":"build-finished","success":false}"#,
            "not json at all",
        ]
        .join("\n");
        assert_eq!(
            built_components(&messages),
            [Artifact {
                manifest_path: PathBuf::from("/w/plugins/policies/gpu-remediation/Cargo.toml"),
                wasm: PathBuf::from("/w/plugins/target/wasm32-wasip2/release/gpu_remediation.wasm"),
            }]
        );
    }

    #[test]
    fn garbage_metadata_is_an_error() {
        assert!(component_packages("nope").is_err());
        assert!(component_packages("{}").is_err());
    }
}
