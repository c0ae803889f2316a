//! Configuration of the standalone `accord-image-builder` binary (`accord up` builds its own):
//! `--config FILE` (TOML) and `ACCORD_IMAGE_BUILDER__…` variables; unknown keys are errors.

use std::{path::PathBuf, time::Duration};

use accord_runtime::config::RuntimeConfig;
use anyhow::Context as _;
use serde::Deserialize;

/// image-builder's settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImageBuilderConfig {
    /// Common service settings.
    pub runtime: RuntimeConfig,
    /// The provider's Ed25519 signing key, PKCS#8 PEM (required; `accord up` generates one).
    pub signing_key_file: Option<PathBuf>,
    /// Simulated build-farm time per build stage (e.g. `1s`).
    #[serde(with = "humantime_serde")]
    pub stage_duration: Duration,
    /// The compatibility matrix (YAML); unset: the one shipped with the service.
    pub matrix_file: Option<PathBuf>,
    /// The package archive (YAML) a build without a manifest is resolved against; unset: the
    /// one shipped with the service.
    pub archive_file: Option<PathBuf>,
    /// The instance types manifests may name; unset: the simulator's catalogue.
    pub instance_types: Option<Vec<String>>,
}

impl Default for ImageBuilderConfig {
    fn default() -> Self {
        Self {
            runtime: RuntimeConfig::default(),
            signing_key_file: None,
            stage_duration: crate::DEFAULT_STAGE_DURATION,
            matrix_file: None,
            archive_file: None,
            instance_types: None,
        }
    }
}

impl ImageBuilderConfig {
    /// The signing key read from `signing_key_file`.
    pub fn signing_key(&self) -> anyhow::Result<accord_image::SigningKey> {
        let path = self
            .signing_key_file
            .as_ref()
            .context("signing_key_file is required (a PKCS#8 PEM Ed25519 key)")?;
        crate::keys::read_signing_key(path)
    }

    /// The matrix document read from `matrix_file`, if set.
    pub fn matrix_yaml(&self) -> anyhow::Result<Option<String>> {
        self.matrix_file
            .as_ref()
            .map(|path| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the compatibility matrix {}", path.display()))
            })
            .transpose()
    }

    /// The package archive document read from `archive_file`, if set.
    pub fn archive_yaml(&self) -> anyhow::Result<Option<String>> {
        self.archive_file
            .as_ref()
            .map(|path| {
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the package archive {}", path.display()))
            })
            .transpose()
    }
}
