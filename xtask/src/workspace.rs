//! Where things live: the workspace root, the git-ignored `.accord/tools` directory that holds
//! tools xtask installs (a Python venv and a `bin/` of links into it), and the plugins
//! workspace with its own target directory.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Paths of one checkout.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The checkout this xtask binary was built from: the parent of the xtask crate.
    pub fn locate() -> Result<Self> {
        let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = manifest_dir
            .parent()
            .with_context(|| format!("xtask crate {} has no parent", manifest_dir.display()))?;
        Ok(Self::at(root))
    }

    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `.accord/tools`: everything xtask installs; deleting it forces a clean reinstall.
    pub fn tools_dir(&self) -> PathBuf {
        self.root.join(".accord").join("tools")
    }

    /// `.accord/tools/bin`: stable paths to installed executables.
    pub fn tools_bin_dir(&self) -> PathBuf {
        self.tools_dir().join("bin")
    }

    /// `.accord/tools/venv`: the Python environment pip installs into.
    pub fn venv_dir(&self) -> PathBuf {
        self.tools_dir().join("venv")
    }

    /// `plugins/`: the separate cargo workspace of WebAssembly plugins.
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join("plugins")
    }

    /// `plugins/target`: the plugins' own target directory (another target triple, other
    /// dependencies: sharing the host's would only cause rebuilds).
    pub fn plugins_target_dir(&self) -> PathBuf {
        self.plugins_dir().join("target")
    }

    /// Where the release components land; exported to tests and `accord up` as
    /// `$ACCORD_PLUGIN_DIR`.
    pub fn plugin_out_dir(&self) -> PathBuf {
        self.plugins_target_dir()
            .join(crate::plugins::TARGET)
            .join("release")
    }

    /// The pinned Python tools the test suite needs.
    pub fn test_requirements(&self) -> PathBuf {
        self.root.join("xtask").join("requirements-test.txt")
    }

    /// `path` relative to the workspace root when it is inside it, for short messages.
    pub fn display<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_the_root_cargo_toml() {
        let ws = Workspace::locate().unwrap();
        let manifest = std::fs::read_to_string(ws.root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }

    #[test]
    fn display_is_relative_inside_the_workspace() {
        let ws = Workspace::at("/repo");
        assert_eq!(ws.display(&ws.venv_dir()).to_string(), ".accord/tools/venv");
        assert_eq!(
            ws.display(&ws.plugin_out_dir()).to_string(),
            "plugins/target/wasm32-wasip2/release"
        );
        assert_eq!(
            ws.display(Path::new("/elsewhere/x")).to_string(),
            "/elsewhere/x"
        );
    }
}
