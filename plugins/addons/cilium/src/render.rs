//! Rendering: chart `cilium/cilium` in `kube-system` as a Flux `HelmRepository` + `HelmRelease`
//! (addon-kit's `flux`) carrying the values below.
//!
//! From the cluster: the pod CIDR becomes the cluster-pool IPAM range (each node gets a
//! `/nodeCidrMaskSize` slice, and the plan must fit every node the pools may grow to); the API
//! endpoint becomes `k8sServiceHost`/`k8sServicePort` (needed with kube-proxy replacement); the
//! Kubernetes minor must be one the release is run on.
//!
//! Bootstrap: Cilium is the CNI (and replaces kube-proxy), so Flux's controllers cannot
//! reconcile this `HelmRelease` on a cluster that has no CNI yet unless they run with
//! `hostNetwork` and reach the API server directly; otherwise the provider's cluster bootstrap
//! installs release `kube-system/cilium` with these values first and the helm-controller takes
//! it over for later upgrades (addon-kit's `flux` docs).

use addon_kit::flux::{self, HelmChart};
use addon_kit::k8s::Labels;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::{Value, json};

use crate::releases::{self, Release};

/// Namespace Cilium runs in.
pub const NAMESPACE: &str = "kube-system";

/// Helm repository of the chart.
pub const CHART_REPOSITORY: &str = "https://helm.cilium.io";

/// An IPv4 CIDR: network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub address: u32,
    /// Prefix length.
    pub prefix: u32,
}

/// Parses `a.b.c.d/len` (host bits must be zero).
pub fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let bad = || format!("{s:?} is not an IPv4 CIDR such as 10.244.0.0/16");
    let (address, prefix) = s.trim().split_once('/').ok_or_else(bad)?;
    let prefix: u32 = prefix.parse().map_err(|_| bad())?;
    let octets: Vec<u32> = address
        .split('.')
        .map(|o| o.parse::<u8>().map(u32::from))
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [a, b, c, d] = octets.as_slice() else {
        return Err(bad());
    };
    if prefix > 32 {
        return Err(bad());
    }
    let address = (a << 24) | (b << 16) | (c << 8) | d;
    let host_mask = u32::MAX.checked_shr(prefix).unwrap_or(0);
    if address & host_mask != 0 {
        return Err(format!("{s} has host bits set"));
    }
    Ok(Cidr { address, prefix })
}

/// Checks the release runs on the cluster's Kubernetes minor.
fn check_kubernetes(cluster: &Cluster, release: &Release) -> Result<(), String> {
    let (major, minor) = cluster.kube_minor()?;
    if major == 1 && (release.min_kubernetes..=release.max_kubernetes).contains(&minor) {
        Ok(())
    } else {
        Err(format!(
            "Cilium {} is not run on Kubernetes {major}.{minor} (1.{}–1.{})",
            release.version, release.min_kubernetes, release.max_kubernetes
        ))
    }
}

/// How many nodes the pod CIDR can serve with `/mask` per node, checked against the pools.
fn check_capacity(cluster: &Cluster, mask: u32) -> Result<u64, String> {
    let pod = parse_cidr(&cluster.pod_cidr).map_err(|e| format!("pod CIDR: {e}"))?;
    if mask <= pod.prefix {
        return Err(format!(
            "ipam.nodeCidrMaskSize /{mask} must be longer than the pod CIDR {} prefix",
            cluster.pod_cidr
        ));
    }
    let capacity = 1u64 << (mask - pod.prefix);
    let most_nodes: u64 = cluster
        .pools
        .iter()
        .map(|p| u64::from(p.max_count.unwrap_or(p.count).max(p.count)))
        .sum();
    if most_nodes > capacity {
        return Err(format!(
            "pod CIDR {} with /{mask} per node fits {capacity} nodes; the pools may grow to {most_nodes}",
            cluster.pod_cidr
        ));
    }
    Ok(capacity)
}

/// Renders `version` for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let release = releases::find(version)?;
    check_kubernetes(cluster, release)?;
    let mask = u32::try_from(config.u64("ipam.nodeCidrMaskSize")?)
        .map_err(|_| "ipam.nodeCidrMaskSize out of range".to_owned())?;
    let capacity = check_capacity(cluster, mask)?;
    let (host, port) = cluster.api_host_port()?;
    let tag = format!("v{}", release.version);
    let registry = config.str("image.repository")?;
    let native = config.str("routingMode")? == "native";

    let metrics = config.get("hubble.metrics")?;
    let hubble_metrics = if metrics.as_array().is_some_and(|m| !m.is_empty()) {
        metrics.clone()
    } else {
        Value::Null
    };
    let mut values = json!({
        "cluster": {"name": cluster.name},
        "image": {"repository": format!("{registry}/cilium"), "tag": tag, "useDigest": false},
        "operator": {
            "image": {"repository": format!("{registry}/operator"), "tag": tag, "useDigest": false},
            "replicas": config.u64("operator.replicas")?,
            "prometheus": {"enabled": config.bool("prometheus.enabled")?},
        },
        "kubeProxyReplacement": config.bool("kubeProxyReplacement")?,
        "k8sServiceHost": host,
        "k8sServicePort": port,
        "routingMode": config.str("routingMode")?,
        "ipv4": {"enabled": true},
        "ipv6": {"enabled": false},
        "ipam": {
            "mode": "cluster-pool",
            "operator": {
                "clusterPoolIPv4PodCIDRList": [cluster.pod_cidr],
                "clusterPoolIPv4MaskSize": mask,
            },
        },
        "bpf": {"masquerade": config.bool("bpf.masquerade")?},
        "loadBalancer": {
            "algorithm": config.str("loadBalancer.algorithm")?,
            "mode": config.str("loadBalancer.mode")?,
        },
        "bandwidthManager": {"enabled": config.bool("bandwidthManager.enabled")?, "bbr": false},
        "hubble": {
            "enabled": config.bool("hubble.enabled")?,
            "relay": {
                "enabled": config.bool("hubble.relay")?,
                "image": {"repository": format!("{registry}/hubble-relay"), "tag": tag, "useDigest": false},
            },
            "ui": {"enabled": config.bool("hubble.ui")?},
            "metrics": {"enabled": hubble_metrics},
        },
        "prometheus": {"enabled": config.bool("prometheus.enabled")?},
        // The agent must run on every node, GPU nodes with their taints included.
        "tolerations": [{"operator": "Exists"}],
    });
    if let Some(map) = values.as_object_mut() {
        if native {
            map.insert("autoDirectNodeRoutes".into(), json!(true));
            map.insert("ipv4NativeRoutingCIDR".into(), json!(cluster.pod_cidr));
        } else {
            map.insert(
                "tunnelProtocol".into(),
                json!(config.str("tunnelProtocol")?),
            );
        }
    }
    let chart = HelmChart {
        repository: CHART_REPOSITORY,
        chart: "cilium",
        version: release.version,
        release: "cilium",
        namespace: NAMESPACE,
    };
    let labels = Labels {
        addon: crate::NAME,
        version: release.version,
    };
    Ok(Rendered {
        manifests: vec![flux::helm_release_manifest(
            "10-cilium-helm-release.yaml",
            &chart,
            &labels.of("helm-release"),
            &values,
        )?],
        notes: vec![format!(
            "pod CIDR {} with /{mask} per node: room for {capacity} nodes",
            cluster.pod_cidr
        )],
    })
}
