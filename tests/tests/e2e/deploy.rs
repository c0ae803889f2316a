//! The shipped deployment files (`deploy/`) are valid and complete:
//!
//! - every service has a configuration, a systemd unit and a Kubernetes workload, on its own
//!   ports, its state under `/var/lib/accord/<service>`;
//! - the configurations load: the provisioner's, network-firewall's, storage-csi's and
//!   image-builder's with their services' own loaders (unknown keys are errors); addon-manager's,
//!   telemetry's and support-triage's `[runtime]` with the runtime's (this crate does not depend
//!   on those three services);
//! - the configurations name the NATS credentials directory and CA, the gRPC certificate and key
//!   and three stream replicas; the units deliver exactly each service's seed files (and the
//!   gRPC key) as credentials, the pods mount exactly them from `accord-nats-<service>`;
//! - the units carry the sandboxing `systemd-analyze security` rewards (W^X only where no
//!   wasmtime JIT runs);
//! - the NATS configs (single node, the three cluster nodes, the Kubernetes ones) pass
//!   `nats-server -t` with a stand-in `accord-auth.conf` and throwaway certificates;
//! - `kubectl kustomize` builds the base and the production overlay, and every object passes
//!   `kubernetes-validate --strict` for Kubernetes 1.30–1.32 (`$ACCORD_KUBECTL` and
//!   `$ACCORD_KUBERNETES_VALIDATE`, exported by `cargo xtask test`).

use std::path::{Path, PathBuf};
use std::process::Command;

use accord_provisioner::config::ProvisionerConfig;
use serde::Deserialize as _;
use serde_json::Value;

/// One Accord service as deployed.
struct Service {
    name: &'static str,
    grpc: u16,
    metrics: u16,
    /// Runs WebAssembly plugins (wasmtime compiles them to executable memory: no W^X).
    jit: bool,
    /// The seed files of its NATS connections (`accord nats-credentials` prints the same).
    seeds: &'static [&'static str],
}

const SERVICES: [Service; 7] = [
    Service {
        name: "provisioner",
        grpc: 50051,
        metrics: 9464,
        jit: true,
        seeds: &[
            "provisioner.nk",
            "sim.nk",
            "auth-callout.nk",
            "callout-issuer.nk",
        ],
    },
    Service {
        name: "addon-manager",
        grpc: 50052,
        metrics: 9466,
        jit: true,
        seeds: &["addon-manager.nk"],
    },
    Service {
        name: "support-triage",
        grpc: 50053,
        metrics: 9470,
        jit: false,
        seeds: &["support-triage.nk"],
    },
    Service {
        name: "telemetry",
        grpc: 50054,
        metrics: 9471,
        jit: false,
        seeds: &["telemetry.nk"],
    },
    Service {
        name: "network-firewall",
        grpc: 50055,
        metrics: 9467,
        jit: false,
        seeds: &["network-firewall.nk"],
    },
    Service {
        name: "storage-csi",
        grpc: 50056,
        metrics: 9468,
        jit: false,
        seeds: &["storage-csi.nk"],
    },
    Service {
        name: "image-builder",
        grpc: 50057,
        metrics: 9469,
        jit: false,
        seeds: &["image-builder.nk"],
    },
];

/// Sandboxing every unit has (`systemd-analyze security` counts each).
const HARDENING: [&str; 27] = [
    "NoNewPrivileges=yes",
    "CapabilityBoundingSet=\n",
    "AmbientCapabilities=\n",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "PrivateMounts=yes",
    "PrivateUsers=yes",
    "ProtectHostname=yes",
    "ProtectClock=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectProc=invisible",
    "ProcSubset=pid",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RemoveIPC=yes",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged @resources",
    "UMask=0077",
];

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn tool(var: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("{var} is not set: run the tests with `cargo xtask test`"))
}

/// Runs `cmd`; its stdout, or a panic naming `what` with everything it printed.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Every service: configuration, unit, ports.

/// Any service's configuration: the runtime's own `[runtime]` (unknown keys refused), the
/// service's keys taken as they are.
#[derive(serde::Deserialize)]
struct AnyServiceConfig {
    runtime: accord_runtime::RuntimeConfig,
    #[serde(flatten)]
    _service: serde_json::Map<String, Value>,
}

#[test]
fn every_service_has_a_config_and_a_hardened_unit() {
    let mut ports = std::collections::BTreeSet::new();
    for s in &SERVICES {
        let path = deploy_dir().join(format!("config/{}.toml", s.name));
        let cfg: AnyServiceConfig = accord_runtime::config::load(s.name, Some(&path))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let rt = &cfg.runtime;
        assert_eq!(
            rt.grpc_addr.to_string(),
            format!("0.0.0.0:{}", s.grpc),
            "{}",
            s.name
        );
        assert_eq!(
            rt.metrics_addr.to_string(),
            format!("0.0.0.0:{}", s.metrics),
            "{}",
            s.name
        );
        assert_eq!(rt.data_dir, Path::new("/var/lib/accord").join(s.name));
        assert_eq!(rt.log_format, accord_runtime::LogFormat::Json, "{}", s.name);
        // The three cluster nodes, over TLS.
        let urls: Vec<&str> = rt.nats_url.split(',').collect();
        assert_eq!(
            urls,
            [
                "tls://accord-nats-1:4222",
                "tls://accord-nats-2:4222",
                "tls://accord-nats-3:4222"
            ],
            "{}",
            s.name
        );
        // Its NATS identity, the servers' CA, gRPC over TLS, R3 streams.
        assert_eq!(
            rt.nats_credentials_dir.as_deref(),
            Some(Path::new("/etc/accord/nats")),
            "{}",
            s.name
        );
        assert_eq!(
            rt.nats_ca_file.as_deref(),
            Some(Path::new("/etc/accord/tls/nats-ca.pem")),
            "{}",
            s.name
        );
        assert_eq!(
            rt.tls_cert_file.as_deref(),
            Some(Path::new("/etc/accord/tls/grpc.pem")),
            "{}",
            s.name
        );
        assert_eq!(
            rt.tls_key_file.as_deref(),
            Some(Path::new("/etc/accord/tls/grpc-key.pem")),
            "{}",
            s.name
        );
        assert_eq!(rt.stream_replicas, 3, "{}", s.name);
        for seed in s.seeds {
            let stem = seed.strip_suffix(".nk").unwrap();
            assert!(
                accord_nats_auth::ServiceUser::from_name(stem).is_some()
                    || stem == accord_nats_auth::keys::CALLOUT_USER_FILE
                    || stem == accord_nats_auth::keys::CALLOUT_ISSUER_FILE,
                "{}: {seed} is no seed of the key ring",
                s.name
            );
        }
        assert!(
            ports.insert(s.grpc) && ports.insert(s.metrics),
            "{}: port reused",
            s.name
        );

        // The Kubernetes base ships the same file (kustomize reads nothing above its root).
        let copy = deploy_dir().join(format!("kubernetes/base/config/{}.toml", s.name));
        assert_eq!(
            read(&copy),
            read(&path),
            "{} differs from {}: copy it over",
            copy.display(),
            path.display()
        );

        let unit_path = deploy_dir().join(format!("systemd/accord-{}.service", s.name));
        let unit = read(&unit_path);
        let exec = format!(
            "ExecStart=/usr/local/bin/accord-{0} --config /etc/accord/{0}.toml\n",
            s.name
        );
        assert!(unit.contains(&exec), "{}: no `{exec}`", unit_path.display());
        for line in [
            "DynamicUser=yes\n".to_owned(),
            format!("StateDirectory=accord/{}\n", s.name),
            "Environment=SSL_CERT_FILE=/etc/accord/tls/nats-ca.pem\n".to_owned(),
        ]
        .iter()
        .map(String::as_str)
        .chain(HARDENING)
        {
            assert!(
                unit.contains(line),
                "{}: no `{}`",
                unit_path.display(),
                line.trim()
            );
        }
        // Exactly its seeds as credentials, the config pointed at them; the gRPC key likewise.
        let env = format!(
            "ACCORD_{}__RUNTIME__",
            s.name.to_uppercase().replace('-', "_")
        );
        let mut credentials: Vec<&str> = unit
            .lines()
            .filter_map(|line| line.strip_prefix("LoadCredential="))
            .filter(|credential| credential.contains(".nk:"))
            .collect();
        credentials.sort_unstable();
        let mut expected: Vec<String> = s
            .seeds
            .iter()
            .map(|seed| format!("{seed}:/etc/accord/nats-keys/{seed}"))
            .collect();
        expected.sort_unstable();
        assert_eq!(credentials, expected, "{}", unit_path.display());
        for line in [
            format!("Environment={env}NATS_CREDENTIALS_DIR=%d\n"),
            "LoadCredential=grpc-key.pem:/etc/accord/tls/grpc-key.pem\n".to_owned(),
            format!("Environment={env}TLS_KEY_FILE=%d/grpc-key.pem\n"),
        ] {
            assert!(
                unit.contains(&line),
                "{}: no `{}`",
                unit_path.display(),
                line.trim()
            );
        }
        assert_eq!(
            unit.contains("MemoryDenyWriteExecute=yes"),
            !s.jit,
            "{}: W^X exactly where no plugin is compiled",
            unit_path.display()
        );
        if s.jit {
            assert!(
                unit.contains(&format!(
                    "Environment=ACCORD_WASM_CACHE=%C/accord/{}/wasmtime",
                    s.name
                )),
                "{}: the plugin cache must be in its CacheDirectory",
                unit_path.display()
            );
        }
    }
    // telemetry's customer endpoint is a port of its own too.
    assert!(!ports.contains(&9465));
    let telemetry = read(&deploy_dir().join("config/telemetry.toml"));
    assert!(telemetry.contains("cluster_metrics_addr = \"0.0.0.0:9465\""));

    // The image-builder's signing key reaches it as a systemd credential.
    let unit = read(&deploy_dir().join("systemd/accord-image-builder.service"));
    assert!(unit.contains("LoadCredential=image-signing.pem:/etc/accord/keys/image-signing.pem"));
    assert!(
        unit.contains("Environment=ACCORD_IMAGE_BUILDER__SIGNING_KEY_FILE=%d/image-signing.pem")
    );
    let nats = read(&deploy_dir().join("systemd/nats-server.service"));
    for line in HARDENING
        .iter()
        .chain(&["MemoryDenyWriteExecute=yes", "User=accord-nats"])
    {
        assert!(
            nats.contains(line),
            "nats-server.service: no `{}`",
            line.trim()
        );
    }
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
    // AutoClusters runs, from the plugins the image ships.
    assert_eq!(
        cfg.plugin_dir.as_deref(),
        Some(Path::new("/usr/local/lib/accord/plugins"))
    );
    // A typo in the same file is refused, naming the key.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        read(&path).replace("resync_interval", "resync_intervall"),
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
}

#[test]
fn example_storage_csi_config_loads() {
    use accord_storage_csi::config::StorageCsiConfig;

    let path = deploy_dir().join("config/storage-csi.toml");
    let cfg: StorageCsiConfig = accord_runtime::config::load("storage-csi", Some(&path)).unwrap();
    assert_eq!(cfg.runtime.grpc_addr.port(), 50056);
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
    let text = read(&path);
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
    std::fs::write(
        &bad,
        read(&path).replace("stage_duration", "stage_durations"),
    )
    .unwrap();
    let err = accord_runtime::config::load::<ImageBuilderConfig>("image-builder", Some(&bad))
        .unwrap_err();
    assert!(format!("{err:#}").contains("stage_durations"), "{err:#}");
}

// ---------------------------------------------------------------------------------------------
// NATS.

/// A self-signed certificate and key in `dir` (`cert.pem`, `key.pem`), standing in for the
/// installation's: `nats-server -t` loads every TLS file a config names.
fn throwaway_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run(
        Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "1", "-subj", "/CN=accord-nats"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
        "openssl req (this test needs the `openssl` command)",
    );
    (cert, key)
}

/// `nats-server -t` on `config` (copied into `dir` beside the example auth file, its TLS paths
/// `tls_prefix…` pointed at a throwaway certificate), with `env` set.
fn check_nats_config(dir: &Path, config: &Path, tls_dirs: &[&str], env: &[(&str, &str)]) {
    let (cert, key) = throwaway_certificate(dir);
    let mut text = read(config);
    for tls_dir in tls_dirs {
        for name in ["server.pem", "ca.pem", "tls.crt", "ca.crt"] {
            text = text.replace(&format!("{tls_dir}{name}"), cert.to_str().unwrap());
        }
        for name in ["server-key.pem", "tls.key"] {
            text = text.replace(&format!("{tls_dir}{name}"), key.to_str().unwrap());
        }
    }
    let copy = dir.join(config.file_name().unwrap());
    std::fs::write(&copy, &text).unwrap();
    std::fs::copy(
        deploy_dir().join("nats/accord-auth.conf.example"),
        dir.join("accord-auth.conf"),
    )
    .unwrap();
    let bin = accord_testkit::nats_server_binary().unwrap();
    run(
        Command::new(&bin)
            .args(["-t", "-c"])
            .arg(&copy)
            .envs(env.iter().copied()),
        &format!("nats-server -t -c {}", config.display()),
    );
    assert!(
        text.contains("sync_interval: always"),
        "{} must fsync every write",
        config.display()
    );
}

#[test]
fn nats_configs_are_accepted_by_nats_server() {
    let dir = deploy_dir().join("nats");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        let tmp = tempfile::tempdir().unwrap();
        check_nats_config(tmp.path(), &path, &["/etc/accord/nats/tls/"], &[]);
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "accord-nats-1.conf",
            "accord-nats-2.conf",
            "accord-nats-3.conf",
            "nats-server.conf"
        ]
    );

    // The cluster nodes differ in their name only; each routes to all three, over mutual TLS,
    // and takes its accounts from the installation's file.
    let node = |n: u32| read(&dir.join(format!("accord-nats-{n}.conf")));
    let first = node(1);
    for n in [2, 3] {
        let other = node(n);
        assert_eq!(
            other.lines().count(),
            first.lines().count(),
            "accord-nats-{n}.conf"
        );
        for (a, b) in first.lines().zip(other.lines()).filter(|(a, b)| a != b) {
            assert!(
                (a.starts_with('#') && b.starts_with('#'))
                    || (a == "server_name: accord-nats-1"
                        && b == format!("server_name: accord-nats-{n}")),
                "accord-nats-{n}.conf differs from node 1 beyond its name: {b:?} / {a:?}"
            );
        }
    }
    for needle in [
        "server_name: accord-nats-1\n",
        "nats-route://accord-nats-1:6222",
        "nats-route://accord-nats-2:6222",
        "nats-route://accord-nats-3:6222",
        "verify: true",
        "include \"accord-auth.conf\"",
    ] {
        assert!(first.contains(needle), "accord-nats-1.conf: no `{needle}`");
    }

    // The Kubernetes configs: the pod's name from the environment, TLS for clients and routes.
    let k8s = deploy_dir().join("kubernetes");
    for config in [
        k8s.join("base/nats/nats.conf"),
        k8s.join("overlays/production/nats.conf"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        check_nats_config(
            tmp.path(),
            &config,
            &["/etc/nats/tls/"],
            &[("POD_NAME", "accord-nats-0")],
        );
        let text = read(&config);
        assert_eq!(text.matches("tls {").count(), 2, "{}", config.display());
        assert!(
            text.contains("verify: true"),
            "{}: routes are mutual TLS",
            config.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes.

/// `kubectl kustomize <dir>` as parsed documents, after checking the whole output with
/// `kubernetes-validate --strict` for every supported Kubernetes version.
fn build_and_validate(kustomization: &str) -> Vec<Value> {
    let dir = deploy_dir().join("kubernetes").join(kustomization);
    let text = run(
        Command::new(tool("ACCORD_KUBECTL"))
            .arg("kustomize")
            .arg(&dir),
        &format!("kubectl kustomize {}", dir.display()),
    );
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("objects.yaml");
    std::fs::write(&file, &text).unwrap();
    for version in ["1.30.0", "1.31.0", "1.32.0"] {
        run(
            Command::new(tool("ACCORD_KUBERNETES_VALIDATE"))
                .args(["--strict", "--quiet", "-k", version])
                .arg(&file),
            &format!("kubernetes-validate --strict -k {version} on {kustomization}"),
        );
    }
    let docs: Vec<Value> = serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|v| !v.is_null())
        .collect();
    eprintln!("{kustomization}: {} objects validated", docs.len());
    docs
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The pod security every workload has: non-root, RuntimeDefault seccomp, a read-only root,
/// no privilege escalation, no capabilities, requests and limits, probes.
fn check_pod(name: &str, pod: &Value) {
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
        "{name}"
    );
    assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
    for c in pod["containers"].as_array().unwrap() {
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{name}"
        );
        for key in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    c["resources"][key][resource].is_string(),
                    "{name}: no {key}.{resource}"
                );
            }
        }
        for probe in ["livenessProbe", "readinessProbe"] {
            assert!(c[probe].is_object(), "{name}: no {probe}");
        }
    }
}

fn check_kubernetes(docs: &[Value]) {
    for d in docs {
        if d["kind"] != "Namespace" {
            assert_eq!(
                d["metadata"]["namespace"], "accord",
                "{}",
                d["metadata"]["name"]
            );
        }
    }
    // NATS: three JetStream nodes, one disruption at a time, stable names.
    let nats = find(docs, "StatefulSet", "accord-nats");
    assert_eq!(nats["spec"]["replicas"], 3);
    check_pod("accord-nats", &nats["spec"]["template"]["spec"]);
    assert_eq!(
        find(docs, "PodDisruptionBudget", "accord-nats")["spec"]["maxUnavailable"],
        1
    );
    assert_eq!(
        find(docs, "Service", "accord-nats")["spec"]["clusterIP"],
        "None"
    );
    let deny = find(docs, "NetworkPolicy", "default-deny");
    assert_eq!(deny["spec"]["podSelector"], serde_json::json!({}));
    assert_eq!(
        deny["spec"]["policyTypes"],
        serde_json::json!(["Ingress", "Egress"])
    );

    for s in &SERVICES {
        let name = format!("accord-{}", s.name);
        let set = find(docs, "StatefulSet", &name);
        assert_eq!(
            set["spec"]["replicas"], 1,
            "{name}: one replica per sled store"
        );
        let pod = &set["spec"]["template"]["spec"];
        check_pod(&name, pod);
        let c = &pod["containers"][0];
        assert_eq!(
            c["command"],
            serde_json::json!([format!("/usr/local/bin/{name}")]),
            "{name}"
        );
        assert_eq!(
            c["args"],
            serde_json::json!(["--config", format!("/etc/accord/{}.toml", s.name)]),
            "{name}"
        );
        // The port serves TLS only, which the kubelet's gRPC probe cannot speak.
        assert_eq!(c["readinessProbe"]["tcpSocket"]["port"], "grpc", "{name}");
        // The NATS URL: the three pods, over TLS.
        let url = c["env"][0]["value"].as_str().unwrap();
        assert_eq!(
            c["env"][0]["name"],
            format!(
                "ACCORD_{}__RUNTIME__NATS_URL",
                s.name.to_uppercase().replace('-', "_")
            )
        );
        let scheme = "tls";
        assert_eq!(
            url,
            format!(
                "{scheme}://accord-nats-0.accord-nats:4222,{scheme}://accord-nats-1.accord-nats:4222,\
                 {scheme}://accord-nats-2.accord-nats:4222"
            ),
            "{name}"
        );
        // The store on its claim, the config from its ConfigMap (the deploy/config file).
        let mounts = c["volumeMounts"].as_array().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m["name"] == "data"
                    && m["mountPath"] == format!("/var/lib/accord/{}", s.name)),
            "{name}: no store volume"
        );
        assert_eq!(
            set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
            "data"
        );
        // Exactly its seeds (owner-read), the NATS CA and the gRPC certificate and key.
        let volume = |volume: &str| {
            pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == volume)
                .unwrap_or_else(|| panic!("{name}: no {volume} volume"))
                .clone()
        };
        let mount = |volume: &str| {
            mounts
                .iter()
                .find(|m| m["name"] == volume)
                .unwrap_or_else(|| panic!("{name}: {volume} not mounted"))["mountPath"]
                .clone()
        };
        assert_eq!(mount("nats-credentials"), "/etc/accord/nats", "{name}");
        assert_eq!(mount("tls"), "/etc/accord/tls", "{name}");
        let seeds = &volume("nats-credentials")["secret"];
        assert_eq!(seeds["secretName"], format!("accord-nats-{}", s.name));
        assert_eq!(seeds["defaultMode"], 0o400, "{name}");
        assert!(
            seeds["optional"].is_null(),
            "{name}: the seeds are required"
        );
        let items: Vec<(&str, &str)> = seeds["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| (i["key"].as_str().unwrap(), i["path"].as_str().unwrap()))
            .collect();
        let expected: Vec<(&str, &str)> = s.seeds.iter().map(|seed| (*seed, *seed)).collect();
        assert_eq!(items, expected, "{name}");
        let tls: Vec<(String, String, String)> = volume("tls")["projected"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|source| {
                let secret = source["secret"]["name"].as_str().unwrap().to_owned();
                source["secret"]["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |i| {
                        (
                            secret.clone(),
                            i["key"].as_str().unwrap().to_owned(),
                            i["path"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        for (secret, key, path) in [
            ("accord-nats-tls", "ca.crt", "nats-ca.pem"),
            ("accord-grpc-tls", "tls.crt", "grpc.pem"),
            ("accord-grpc-tls", "tls.key", "grpc-key.pem"),
        ] {
            assert!(
                tls.contains(&(secret.to_owned(), key.to_owned(), path.to_owned())),
                "{name}: {secret}/{key} not at /etc/accord/tls/{path}: {tls:?}"
            );
        }
        let config_map = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "config")
            .and_then(|v| v["configMap"]["name"].as_str())
            .unwrap_or_else(|| panic!("{name}: no config volume"));
        let file = format!("{}.toml", s.name);
        assert_eq!(
            find(docs, "ConfigMap", config_map)["data"][&file],
            read(&deploy_dir().join("config").join(&file)),
            "{name}"
        );
        let service = find(docs, "Service", &name);
        let ports: Vec<(String, u64)> = service["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["port"].as_u64().unwrap(),
                )
            })
            .collect();
        assert!(
            ports.contains(&("grpc".to_owned(), u64::from(s.grpc))),
            "{name}: {ports:?}"
        );
        assert!(
            ports.contains(&("metrics".to_owned(), u64::from(s.metrics))),
            "{name}: {ports:?}"
        );
        find(docs, "NetworkPolicy", &name);
    }
}

#[test]
fn kubernetes_base_builds_and_validates_strictly() {
    let docs = build_and_validate("base");
    check_kubernetes(&docs);
}

#[test]
fn kubernetes_production_overlay_builds_and_validates_strictly() {
    let docs = build_and_validate("overlays/production");
    check_kubernetes(&docs);
    let ingress = find(&docs, "Ingress", "accord-grpc");
    assert_eq!(ingress["spec"]["tls"][0]["secretName"], "accord-api-tls");
    let nats = read(&deploy_dir().join("kubernetes/overlays/production/nats.conf"));
    assert!(nats.contains("verify: true"), "routes are mutual TLS");
}
