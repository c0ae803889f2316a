//! The shipped deployment files are valid: NATS configs pass `nats-server -t`, and the example
//! provisioner configuration loads (unknown keys would be errors).

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
