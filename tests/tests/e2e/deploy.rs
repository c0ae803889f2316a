//! The shipped deployment files are valid: NATS configs pass `nats-server -t`, and the example
//! provisioner, network-firewall and storage-csi configurations load (unknown keys would be
//! errors) where their systemd units look for them.

use std::path::{Path, PathBuf};

use accord_provisioner::config::ProvisionerConfig;

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

#[test]
fn nats_configs_are_accepted_by_nats_server() {
    let bin = accord_testkit::nats_server_binary().unwrap();
    let dir = deploy_dir().join("nats");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        let out = std::process::Command::new(&bin)
            .arg("-t")
            .arg("-c")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} rejected: {}{}",
            path.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("sync_interval: always"),
            "{} must fsync every write",
            path.display()
        );
        checked += 1;
    }
    assert!(
        checked >= 2,
        "expected the single-node and cluster configs in {}",
        dir.display()
    );
}

#[test]
fn example_provisioner_config_loads() {
    let path = deploy_dir().join("config/provisioner.toml");
    let cfg: ProvisionerConfig = accord_runtime::config::load("provisioner", Some(&path)).unwrap();
    assert_eq!(cfg.runtime.grpc_addr.port(), 50051);
    assert_eq!(cfg.resync_interval, std::time::Duration::from_secs(30));
    // Only images signed with the image-builder's key are trusted.
    assert_eq!(
        cfg.image_public_key_file.as_deref(),
        Some(Path::new("/etc/accord/keys/image-signing.pub.pem"))
    );
    // A typo in the same file is refused, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("resync_interval", "resync_intervall"),
    )
    .unwrap();
    let err =
        accord_runtime::config::load::<ProvisionerConfig>("provisioner", Some(&bad)).unwrap_err();
    assert!(err.to_string().contains("resync_intervall"), "{err}");
}

#[test]
fn example_network_firewall_config_loads() {
    let path = deploy_dir().join("config/network-firewall.toml");
    let cfg: accord_network_firewall::config::NetworkFirewallConfig =
        accord_runtime::config::load("network-firewall", Some(&path)).unwrap();
    assert_eq!(cfg.runtime.grpc_addr.port(), 50055);
    assert_eq!(cfg.reconcile_interval, std::time::Duration::from_secs(5));
    let unit =
        std::fs::read_to_string(deploy_dir().join("systemd/accord-network-firewall.service"))
            .unwrap();
    assert!(
        unit.contains("--config /etc/accord/network-firewall.toml"),
        "{unit}"
    );
}

#[test]
fn example_storage_csi_config_loads() {
    use accord_storage_csi::config::StorageCsiConfig;

    let path = deploy_dir().join("config/storage-csi.toml");
    let cfg: StorageCsiConfig = accord_runtime::config::load("storage-csi", Some(&path)).unwrap();
    assert_eq!(cfg.runtime.grpc_addr.port(), 50056);
    assert_eq!(
        cfg.runtime.data_dir,
        Path::new("/var/lib/accord/storage-csi")
    );
    // The service's own keys spell out the defaults.
    let defaults = StorageCsiConfig::default();
    assert_eq!(cfg.reconcile_interval, defaults.reconcile_interval);
    assert_eq!(
        (cfg.quota.max_total_gib, cfg.quota.max_volumes),
        (defaults.quota.max_total_gib, defaults.quota.max_volumes)
    );
    assert_eq!(
        cfg.migration_throughput_bytes_per_second,
        defaults.migration_throughput_bytes_per_second
    );
    assert!((cfg.sim_clock_factor - defaults.sim_clock_factor).abs() < f64::EPSILON);
    // Every key is written out (a key added to StorageCsiConfig without a line here fails).
    let text = std::fs::read_to_string(&path).unwrap();
    for key in [
        "reconcile_interval",
        "migration_throughput_bytes_per_second",
        "sim_clock_factor",
        "[quota]",
        "max_total_gib",
        "max_volumes",
        "[runtime]",
        "grpc_addr",
        "metrics_addr",
        "nats_url",
        "data_dir",
        "log_format",
        "shutdown_grace",
    ] {
        assert!(text.contains(key), "{} lacks {key}", path.display());
    }
    // A typo in the same file is refused, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, text.replace("max_volumes", "max_volume")).unwrap();
    let err =
        accord_runtime::config::load::<StorageCsiConfig>("storage-csi", Some(&bad)).unwrap_err();
    assert!(format!("{err:#}").contains("max_volume"), "{err:#}");
    // The unit runs the binary on this file and lets it write its data_dir.
    let unit =
        std::fs::read_to_string(deploy_dir().join("systemd/accord-storage-csi.service")).unwrap();
    assert!(
        unit.contains(
            "ExecStart=/usr/local/bin/accord-storage-csi --config /etc/accord/storage-csi.toml"
        ),
        "{unit}"
    );
    assert!(
        unit.contains("ReadWritePaths=/var/lib/accord/storage-csi"),
        "{unit}"
    );
}

#[test]
fn example_image_builder_config_loads() {
    use accord_image_builder::config::ImageBuilderConfig;

    let path = deploy_dir().join("config/image-builder.toml");
    let cfg: ImageBuilderConfig =
        accord_runtime::config::load("image-builder", Some(&path)).unwrap();
    assert_eq!(cfg.runtime.grpc_addr.port(), 50057);
    assert_eq!(
        cfg.stage_duration,
        ImageBuilderConfig::default().stage_duration
    );
    assert_eq!(
        cfg.signing_key_file.as_deref(),
        Some(Path::new("/etc/accord/keys/image-signing.pem"))
    );
    assert!(
        cfg.matrix_file.is_none() && cfg.archive_file.is_none() && cfg.instance_types.is_none()
    );
    // A key written as `openssl genpkey -algorithm ed25519` would is read back.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("image-signing.pem");
    let generated = accord_image_builder::load_or_create_signing_key(&key).unwrap();
    let cfg = ImageBuilderConfig {
        signing_key_file: Some(key),
        ..cfg
    };
    assert_eq!(cfg.signing_key().unwrap().to_bytes(), generated.to_bytes());
    // Without a key the binary refuses to start, saying which key is missing.
    let err = ImageBuilderConfig::default().signing_key().unwrap_err();
    assert!(err.to_string().contains("signing_key_file"), "{err:#}");
    // A typo is refused, naming the key.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&bad, text.replace("stage_duration", "stage_durations")).unwrap();
    let err = accord_runtime::config::load::<ImageBuilderConfig>("image-builder", Some(&bad))
        .unwrap_err();
    assert!(format!("{err:#}").contains("stage_durations"), "{err:#}");
    let unit =
        std::fs::read_to_string(deploy_dir().join("systemd/accord-image-builder.service")).unwrap();
    assert!(
        unit.contains(
            "ExecStart=/usr/local/bin/accord-image-builder --config /etc/accord/image-builder.toml"
        ),
        "{unit}"
    );
    assert!(
        unit.contains("ReadWritePaths=/var/lib/accord/image-builder"),
        "{unit}"
    );
}
