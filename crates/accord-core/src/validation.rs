//! Validation rules shared by every service: resource names, labels and taints, Kubernetes
//! versions and version skew, the cluster's address ranges, and the OIDC settings the provider
//! hands to a cluster's API server.
//!
//! Each function returns a message a user can act on; callers attach the field path. A message
//! quotes the caller's value only through [`quote`] (bounded, control characters escaped), so
//! no rule here repeats unbounded input.
//!
//! Rules about text itself (hidden characters, quoting, the OIDC settings) are in `text`.

use std::{fmt, net::Ipv4Addr, str::FromStr};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

mod text;

pub use text::{
    is_hidden_char, oidc_claim_name, oidc_claim_value, oidc_client_id, oidc_issuer_url, plain_text,
    quote,
};

/// Checks a DNS-1123 label: 1–63 lowercase letters, digits and `-`, starting and ending with
/// a letter or digit.
pub fn dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "must be at most 63 characters (has {})",
            name.len()
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "{} may contain only lowercase letters, digits and '-'",
            quote(name)
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!(
            "{} must start and end with a letter or digit",
            quote(name)
        ));
    }
    Ok(())
}

/// Checks a label key (`[prefix/]name`) and value as Kubernetes does.
pub fn label(key: &str, value: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && (p.is_empty() || p.len() > 253 || !p.split('.').all(|l| dns_label(l).is_ok()))
    {
        return Err(format!(
            "label key prefix {} must be a DNS subdomain",
            quote(p)
        ));
    }
    label_name(name).map_err(|e| format!("label key {}: {e}", quote(key)))?;
    if !value.is_empty() {
        label_name(value).map_err(|e| format!("label value {}: {e}", quote(value)))?;
    }
    Ok(())
}

fn label_name(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1-63 characters".into());
    }
    let ok = |b: u8| b.is_ascii_alphanumeric();
    let bytes = s.as_bytes();
    if !bytes
        .iter()
        .all(|&b| ok(b) || b == b'-' || b == b'_' || b == b'.')
    {
        return Err("may contain only letters, digits, '-', '_' and '.'".into());
    }
    if !ok(bytes[0]) || !ok(bytes[bytes.len() - 1]) {
        return Err("must start and end with a letter or digit".into());
    }
    Ok(())
}

/// Taint effects Kubernetes knows.
pub const TAINT_EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Checks a taint.
pub fn taint(key: &str, value: &str, effect: &str) -> Result<(), String> {
    label(key, value)?;
    if !TAINT_EFFECTS.contains(&effect) {
        return Err(format!(
            "taint effect {} must be one of NoSchedule, PreferNoSchedule, NoExecute",
            quote(effect)
        ));
    }
    Ok(())
}

/// A Kubernetes minor version such as `1.31`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    /// Major (always 1).
    pub major: u32,
    /// Minor.
    pub minor: u32,
}

/// Minor versions the platform offers, oldest first.
pub const SUPPORTED_VERSIONS: [KubeVersion; 4] = [
    KubeVersion {
        major: 1,
        minor: 30,
    },
    KubeVersion {
        major: 1,
        minor: 31,
    },
    KubeVersion {
        major: 1,
        minor: 32,
    },
    KubeVersion {
        major: 1,
        minor: 33,
    },
];

/// The version new clusters get when they do not choose one.
pub const DEFAULT_VERSION: KubeVersion = KubeVersion {
    major: 1,
    minor: 32,
};

/// How many minors a kubelet may lag behind the API server (Kubernetes ≥ 1.28 policy).
pub const MAX_KUBELET_SKEW: u32 = 3;

impl KubeVersion {
    /// Whether the platform offers this version.
    pub fn is_supported(self) -> bool {
        SUPPORTED_VERSIONS.contains(&self)
    }

    /// Parses and checks that the version is offered.
    pub fn parse_supported(s: &str) -> Result<Self, String> {
        let v: KubeVersion = s.parse()?;
        if !v.is_supported() {
            return Err(format!(
                "Kubernetes {v} is not offered; choose one of {}",
                supported_list()
            ));
        }
        Ok(v)
    }

    /// The next minor version.
    pub fn next_minor(self) -> Self {
        Self {
            major: self.major,
            minor: self.minor + 1,
        }
    }
}

fn supported_list() -> String {
    SUPPORTED_VERSIONS
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for KubeVersion {
    type Err = String;
    /// Accepts `1.31`, `v1.31` and `1.31.4` (the patch is the provider's choice and ignored).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.strip_prefix('v').unwrap_or(s);
        let mut parts = t.split('.');
        let bad = || {
            format!(
                "{} is not a Kubernetes version (expected e.g. 1.31)",
                quote(s)
            )
        };
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if let Some(patch) = parts.next() {
            patch.parse::<u32>().map_err(|_| bad())?;
        }
        if parts.next().is_some() || major != 1 {
            return Err(bad());
        }
        Ok(Self { major, minor })
    }
}

impl Serialize for KubeVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KubeVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Checks an upgrade request: exactly one minor up, to an offered version.
pub fn upgrade_step(current: KubeVersion, target: KubeVersion) -> Result<(), String> {
    if target < current {
        return Err(format!(
            "downgrades are not possible ({current} → {target})"
        ));
    }
    if target == current {
        return Err(format!("the cluster already runs {current}"));
    }
    if target != current.next_minor() {
        return Err(format!(
            "upgrades go one minor version at a time: {current} → {} first",
            current.next_minor()
        ));
    }
    if !target.is_supported() {
        return Err(format!("Kubernetes {target} is not offered yet"));
    }
    Ok(())
}

/// Checks that kubelets at `kubelet` may run against an API server at `apiserver`.
pub fn kubelet_skew(apiserver: KubeVersion, kubelet: KubeVersion) -> Result<(), String> {
    if kubelet > apiserver {
        return Err(format!(
            "kubelet {kubelet} is newer than the control plane {apiserver}"
        ));
    }
    if apiserver.minor - kubelet.minor > MAX_KUBELET_SKEW {
        return Err(format!(
            "kubelet {kubelet} would lag the control plane {apiserver} by more than {MAX_KUBELET_SKEW} minor versions"
        ));
    }
    Ok(())
}

/// The cluster's address plan, as the customer chose it at creation (immutable afterwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPlan {
    /// Subnet the nodes get their addresses from.
    pub vpc_subnet: Ipv4Net,
    /// Range pod addresses come from; each node gets a `/node_cidr_mask_size` slice.
    pub pod_cidr: Ipv4Net,
    /// Range of Service cluster IPs.
    pub service_cidr: Ipv4Net,
    /// Prefix length of each node's pod range.
    pub node_cidr_mask_size: u8,
}

/// Smallest number of nodes an address plan must leave room for.
pub const MIN_NODE_CAPACITY: u32 = 4;

/// Addresses a subnet loses to the network (network, gateway, DNS, reserved, broadcast).
pub const RESERVED_SUBNET_ADDRESSES: u32 = 5;

/// The private ranges address plans may use: RFC 1918 and the RFC 6598 shared space.
pub fn private_ranges() -> [Ipv4Net; 4] {
    [
        Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
        Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
        Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
        Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10),
    ]
}

/// Parses an IPv4 CIDR that must be a network address inside a private range.
///
/// The notation is strict: four decimal octets and a prefix length, each without leading zeros
/// (`010.001.000.000/16` is refused: tools disagree whether `010` is ten or eight).
pub fn private_cidr(s: &str) -> Result<Ipv4Net, String> {
    if s.contains(':') {
        return Err(format!(
            "{}: IPv6 ranges are not supported; use an IPv4 CIDR",
            quote(s)
        ));
    }
    let net = strict_ipv4_cidr(s.trim())?;
    if net.trunc() != net {
        return Err(format!(
            "{net} has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    if !private_ranges().iter().any(|r| r.contains(&net)) {
        return Err(format!(
            "{net} is not a private range (use 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10)"
        ));
    }
    Ok(net)
}

/// `a.b.c.d/len` with every number in plain decimal: digits only, no sign, no leading zero.
fn strict_ipv4_cidr(s: &str) -> Result<Ipv4Net, String> {
    let not_cidr = || format!("{} is not an IPv4 CIDR such as 10.0.0.0/16", quote(s));
    let number = |part: &str, max: u32| -> Result<u32, String> {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_cidr());
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err(format!(
                "{}: write each number without leading zeros ({} is read as octal by some tools)",
                quote(s),
                quote(part)
            ));
        }
        if part.len() > 3 {
            return Err(not_cidr());
        }
        part.parse::<u32>()
            .ok()
            .filter(|n| *n <= max)
            .ok_or_else(not_cidr)
    };
    let (addr, len) = s.split_once('/').ok_or_else(not_cidr)?;
    let parts: Vec<&str> = addr.splitn(5, '.').collect();
    let [a, b, c, d] = parts[..] else {
        return Err(not_cidr());
    };
    let mut octets = [0u8; 4];
    for (o, part) in octets.iter_mut().zip([a, b, c, d]) {
        *o = u8::try_from(number(part, 255)?).map_err(|_| not_cidr())?;
    }
    let len = u8::try_from(number(len, 32)?).map_err(|_| not_cidr())?;
    Ipv4Net::new(Ipv4Addr::from(octets), len).map_err(|_| not_cidr())
}

impl NetworkPlan {
    /// Parses and validates a plan; returns every problem with the field it belongs to
    /// (field names are relative: `vpc_subnet`, `pod_cidr`, `service_cidr`, `node_cidr_mask_size`).
    pub fn parse(
        vpc_subnet: &str,
        pod_cidr: &str,
        service_cidr: &str,
        node_cidr_mask_size: u32,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errs = Vec::new();
        let mut get = |field: &'static str, s: &str| match private_cidr(s) {
            Ok(n) => Some(n),
            Err(e) => {
                errs.push((field, e));
                None
            }
        };
        let vpc = get("vpc_subnet", vpc_subnet);
        let pod = get("pod_cidr", pod_cidr);
        let svc = get("service_cidr", service_cidr);
        if let Some(v) = vpc
            && v.prefix_len() > 28
        {
            errs.push((
                "vpc_subnet",
                format!("{v} is too small for nodes; use /28 or larger"),
            ));
        }
        if let Some(s) = svc {
            if s.prefix_len() < 12 {
                errs.push((
                    "service_cidr",
                    format!("{s} is larger than Kubernetes allows (at most /12)"),
                ));
            }
            if s.prefix_len() > 24 {
                errs.push((
                    "service_cidr",
                    format!("{s} leaves too few Service IPs; use /24 or larger"),
                ));
            }
        }
        let mask = u8::try_from(node_cidr_mask_size)
            .ok()
            .filter(|m| (16..=28).contains(m));
        if mask.is_none() {
            errs.push((
                "node_cidr_mask_size",
                format!("{node_cidr_mask_size} must be between 16 and 28 (24 gives each node 256 pod addresses)"),
            ));
        }
        let named = [
            ("vpc_subnet", vpc),
            ("pod_cidr", pod),
            ("service_cidr", svc),
        ];
        for (i, (fa, a)) in named.iter().enumerate() {
            for (fb, b) in &named[i + 1..] {
                if let (Some(a), Some(b)) = (a, b)
                    && (a.contains(b) || b.contains(a))
                {
                    errs.push((fb, format!("{b} overlaps {fa} {a}")));
                }
            }
        }
        if let (Some(pod), Some(mask)) = (pod, mask) {
            if mask <= pod.prefix_len() {
                errs.push((
                    "node_cidr_mask_size",
                    format!("/{mask} per node must be smaller than the pod CIDR {pod}"),
                ));
            } else {
                let cap = 1u64 << (mask - pod.prefix_len()).min(32);
                if cap < u64::from(MIN_NODE_CAPACITY) {
                    errs.push((
                        "pod_cidr",
                        format!("{pod} with /{mask} per node fits only {cap} nodes; at least {MIN_NODE_CAPACITY} are needed"),
                    ));
                }
            }
        }
        match (vpc, pod, svc, mask) {
            (Some(vpc_subnet), Some(pod_cidr), Some(service_cidr), Some(node_cidr_mask_size))
                if errs.is_empty() =>
            {
                Ok(Self {
                    vpc_subnet,
                    pod_cidr,
                    service_cidr,
                    node_cidr_mask_size,
                })
            }
            _ => Err(errs),
        }
    }

    /// How many nodes the plan has room for: the smaller of the pod ranges and the VPC
    /// subnet's usable addresses.
    pub fn node_capacity(&self) -> u32 {
        let pod_slots = 1u64 << (self.node_cidr_mask_size - self.pod_cidr.prefix_len()).min(32);
        let vpc_hosts = (1u64 << (32 - self.vpc_subnet.prefix_len()))
            .saturating_sub(u64::from(RESERVED_SUBNET_ADDRESSES));
        u32::try_from(pod_slots.min(vpc_hosts)).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "gpu-pool-1", &"a".repeat(63)] {
            assert!(dns_label(ok).is_ok(), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(dns_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels_and_taints() {
        assert!(label("team", "ml").is_ok());
        assert!(label("accord.dev/pool", "gpu_a.1").is_ok());
        assert!(label("", "x").is_err());
        assert!(label("Bad Key", "x").is_err());
        assert!(label("a/b/c", "x").is_err());
        assert!(label("k", "-x").is_err());
        assert!(taint("nvidia.com/gpu", "present", "NoSchedule").is_ok());
        assert!(taint("nvidia.com/gpu", "present", "Never").is_err());
    }

    #[test]
    fn messages_quote_values_bounded() {
        let long = format!("{}\n", "A".repeat(100_000));
        for err in [
            dns_label(&long).unwrap_err(),
            label(&long, "v").unwrap_err(),
            label("k", &long).unwrap_err(),
            label(&format!("{long}/k"), "v").unwrap_err(),
            taint("k", "v", &long).unwrap_err(),
            long.parse::<KubeVersion>().unwrap_err(),
            private_cidr(&long).unwrap_err(),
            oidc_claim_name(&"a".repeat(100_000)).unwrap_err(),
        ] {
            assert!(err.len() < 400, "{} bytes: {}", err.len(), &err[..400]);
            assert!(!err.contains('\n'), "control characters are escaped: {err}");
        }
    }

    #[test]
    fn versions() {
        assert_eq!(
            "1.31".parse::<KubeVersion>().unwrap(),
            KubeVersion {
                major: 1,
                minor: 31
            }
        );
        assert_eq!(
            "v1.31.4".parse::<KubeVersion>().unwrap(),
            KubeVersion {
                major: 1,
                minor: 31
            }
        );
        for bad in ["", "1", "2.1", "1.x", "1.31.4.5", "one.two"] {
            assert!(bad.parse::<KubeVersion>().is_err(), "{bad}");
        }
        assert!(
            KubeVersion::parse_supported("1.29")
                .unwrap_err()
                .contains("1.30, 1.31")
        );
        assert!(KubeVersion::parse_supported("1.33").is_ok());
    }

    #[test]
    fn upgrade_steps() {
        let v = |s: &str| s.parse::<KubeVersion>().unwrap();
        assert!(upgrade_step(v("1.31"), v("1.32")).is_ok());
        assert!(
            upgrade_step(v("1.31"), v("1.33"))
                .unwrap_err()
                .contains("one minor")
        );
        assert!(
            upgrade_step(v("1.31"), v("1.30"))
                .unwrap_err()
                .contains("downgrade")
        );
        assert!(upgrade_step(v("1.31"), v("1.31")).is_err());
        assert!(
            upgrade_step(v("1.33"), v("1.34"))
                .unwrap_err()
                .contains("not offered")
        );
        assert!(kubelet_skew(v("1.33"), v("1.30")).is_ok());
        assert!(kubelet_skew(v("1.33"), v("1.29")).is_err());
        assert!(kubelet_skew(v("1.31"), v("1.32")).is_err());
    }

    #[test]
    fn network_plans() {
        let ok = NetworkPlan::parse("10.0.0.0/16", "10.244.0.0/16", "10.96.0.0/12", 24).unwrap();
        assert_eq!(ok.node_capacity(), 256);
        let small = NetworkPlan::parse("10.0.0.0/28", "10.244.0.0/16", "10.96.0.0/12", 24).unwrap();
        assert_eq!(small.node_capacity(), 11);

        let cases: &[(&str, &str, &str, u32, &str, &str)] = &[
            ("10.0.0.0/16", "10.244.0.0/16", "10.96.0.0/12", 24, "", ""),
            (
                "nonsense",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "not an IPv4 CIDR",
            ),
            (
                "8.8.0.0/16",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "not a private",
            ),
            (
                "10.0.0.1/16",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "host bits",
            ),
            (
                "fd00::/64",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "IPv6",
            ),
            (
                "10.0.0.0/16",
                "10.0.0.0/8",
                "192.168.0.0/16",
                24,
                "pod_cidr",
                "overlaps",
            ),
            (
                "10.0.0.0/16",
                "10.244.0.0/16",
                "10.244.128.0/20",
                24,
                "service_cidr",
                "overlaps",
            ),
            (
                "192.168.0.0/16",
                "172.16.0.0/16",
                "10.0.0.0/11",
                24,
                "service_cidr",
                "at most /12",
            ),
            (
                "10.0.0.0/16",
                "10.244.0.0/16",
                "10.96.0.0/12",
                8,
                "node_cidr_mask_size",
                "between 16 and 28",
            ),
            (
                "10.0.0.0/16",
                "10.244.0.0/24",
                "10.96.0.0/12",
                24,
                "node_cidr_mask_size",
                "smaller than",
            ),
            (
                "10.0.0.0/16",
                "10.244.0.0/23",
                "10.96.0.0/12",
                24,
                "pod_cidr",
                "fits only 2",
            ),
            (
                "10.0.0.0/30",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "too small",
            ),
            (
                "010.001.000.000/16",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "leading zeros",
            ),
            (
                "10.0.0.0/016",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "leading zeros",
            ),
            (
                "10.0.0.0/16",
                "10.244.00.0/16",
                "10.96.0.0/12",
                24,
                "pod_cidr",
                "leading zeros",
            ),
            (
                "10.0.0.0/16",
                "10.244.0.0/16",
                "10.96.0.0/+12",
                24,
                "service_cidr",
                "not an IPv4 CIDR",
            ),
            (
                "10.0.0.0.0/16",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "not an IPv4 CIDR",
            ),
            (
                "10.0.0.256/16",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "not an IPv4 CIDR",
            ),
            (
                "10.0.0.0/33",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "not an IPv4 CIDR",
            ),
            (
                "10.0.0.0",
                "10.244.0.0/16",
                "10.96.0.0/12",
                24,
                "vpc_subnet",
                "not an IPv4 CIDR",
            ),
        ];
        for (vpc, pod, svc, mask, field, needle) in cases {
            let res = NetworkPlan::parse(vpc, pod, svc, *mask);
            if field.is_empty() {
                assert!(res.is_ok(), "{vpc} {pod} {svc} {mask}: {res:?}");
                continue;
            }
            let errs = res.unwrap_err();
            assert!(
                errs.iter().any(|(f, m)| f == field && m.contains(needle)),
                "{vpc} {pod} {svc} {mask}: expected {field} ~ {needle}, got {errs:?}"
            );
        }
    }
}
