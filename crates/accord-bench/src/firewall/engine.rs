//! The firewall engine on one core: one packet against 10,000 customer rules through the index
//! ([`Firewall::evaluate`]) and through the plain [`linear_scan`] of the same rules, checked to
//! agree on every packet; the index build; the shadow analysis ([`analyze`]) of the same set.
//!
//! The rule set is a seeded random mix meant to look like a large customer's: mostly ingress,
//! tcp with well-known ports, random ports, ranges and short port lists, some udp, icmp and
//! `any`; peers from single public hosts to private /8s (0.0.0.0/0 only on a few ports of ~1 %
//! of the rules); a quarter aimed at one of the cluster's pools (and a few at a pool it does
//! not have); priorities both round and random. Every rule goes through [`validate_rules`] as a
//! customer's would. The packets mix what hits and what misses: packets aimed inside a random
//! rule (which may or may not be the one that decides), the required flows of the provider
//! tier, internet traffic to well-known ports, egress anywhere, and packets entirely at random.
//!
//! Each packet is timed on its own (the clock reads, tens of ns, are in every sample of both
//! paths), each path in a pass of its own after the same warm-up packets.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use accord_firewall::{
    ClusterNetwork, ClusterSpec, CustomerRule, Direction, Firewall, Packet, PacketProtocol,
    PoolSpec, Protocol, RuleSpec, Target, Tier, analyze, linear_scan, validate_cluster,
    validate_rules,
};
use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::{Latency, summarize};

/// Customer rules in the set (the figure, and the most a cluster may hold).
pub const RULES: usize = 10_000;
/// The seed of the rule set and the packets.
const SEED: u64 = 0x9E37_79B9_7F4A_7C15;
/// The cluster's pools (rules aim at them by name), each with [`NODES_PER_POOL`] nodes.
const POOLS: [&str; 8] = [
    "gpu-h100",
    "gpu-a100",
    "cpu-general",
    "cpu-highmem",
    "ingress",
    "batch",
    "inference",
    "system",
];
const NODES_PER_POOL: u8 = 32;
/// Ports customers open most.
const WELL_KNOWN: [u16; 18] = [
    22, 53, 80, 443, 3000, 3306, 5000, 5432, 6379, 6443, 8000, 8080, 8443, 9090, 9100, 9200, 11211,
    27017,
];
/// Timed runs of the index build and of the shadow analysis (the median is reported).
const RUNS: usize = 7;

/// One packet through the index and through the linear scan, the build and the analysis.
#[derive(Debug, Clone, Serialize)]
pub struct EngineResults {
    pub rules: usize,
    pub packets: usize,
    /// How the measured packets were decided (the two paths agree on every one).
    pub decided_by_provider: usize,
    pub decided_by_customer: usize,
    pub decided_by_default: usize,
    /// `Firewall::evaluate`, per packet.
    pub index: Latency,
    /// `linear_scan` over the same rules, per packet.
    pub linear: Latency,
    /// linear / index (target ≥ 10).
    pub ratio_p50: f64,
    pub ratio_p99: f64,
    /// Median of [`RUNS`] `Firewall::new` of the set (informational), ms.
    pub build_ms: f64,
    /// Median of [`RUNS`] `analyze` of the set (target ≤ 100 ms), ms.
    pub analyze_ms: f64,
    pub analyze_max_ms: f64,
    /// analyze / one index build (informational).
    pub analyze_to_build: f64,
    pub warnings: usize,
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

/// A peer CIDR (network, prefix length) from the mix.
fn peer(rng: &mut Rng) -> (u32, u8) {
    let (base, len) = match rng.below(100) {
        0..=24 => (rng.next() as u32, 32),
        25..=44 => (rng.next() as u32, 16 + rng.below(13) as u8),
        45..=64 => (
            u32::from(Ipv4Addr::new(10, 0, 0, 0)) | (rng.next() as u32 & 0x00FF_FFFF),
            [8, 12, 16, 20, 24, 28][rng.below(6) as usize],
        ),
        65..=74 => (
            u32::from(Ipv4Addr::new(172, 16, 0, 0)) | (rng.next() as u32 & 0x000F_FFFF),
            20 + rng.below(9) as u8,
        ),
        75..=81 => (
            u32::from(Ipv4Addr::new(192, 168, 0, 0)) | (rng.next() as u32 & 0x0000_FFFF),
            24,
        ),
        // Inside the cluster's own subnet: a pool's /24, a few nodes.
        _ => (
            u32::from(Ipv4Addr::new(10, 0, 0, 0)) | (rng.next() as u32 & 0x0000_FFFF),
            [24, 26, 28, 32][rng.below(4) as usize],
        ),
    };
    (base & mask(len), len)
}

fn cidr((net, len): (u32, u8)) -> String {
    format!("{}/{len}", Ipv4Addr::from(net))
}

/// Rule `i` of the mix, as a customer writes it.
fn rule_spec(rng: &mut Rng, i: usize) -> RuleSpec {
    let protocol = match rng.below(100) {
        0..=54 => Protocol::Tcp,
        55..=74 => Protocol::Udp,
        75..=84 => Protocol::Icmp,
        _ => Protocol::Any,
    };
    let mut ports: Vec<String> = Vec::new();
    if protocol.has_ports() {
        match rng.below(100) {
            0..=34 => ports.push(rng.pick(&WELL_KNOWN).to_string()),
            35..=59 => ports.push((1024 + rng.below(64_512)).to_string()),
            60..=74 => {
                let lo = 1024 + rng.below(59_000);
                ports.push(format!("{lo}-{}", lo + 10 + rng.below(2000)));
            }
            75..=84 => {
                let mut singles: Vec<u16> = (0..2 + rng.below(3))
                    .map(|_| *rng.pick(&WELL_KNOWN))
                    .collect();
                singles.sort_unstable();
                singles.dedup();
                ports.extend(singles.iter().map(u16::to_string));
            }
            _ => {}
        }
    }
    let mut peers: Vec<(u32, u8)> = Vec::new();
    // The whole internet: rare, and only to a few ports (`allow 443/tcp from 0.0.0.0/0`).
    if !ports.is_empty() && ports.len() < 3 && rng.chance(2) {
        peers.push((0, 0));
    } else {
        for _ in 0..1 + rng.below(3) {
            let p = peer(rng);
            // A rule's CIDRs may not overlap (validation refuses it).
            let overlaps = peers.iter().any(|&(n, l)| {
                let m = mask(l.min(p.1));
                n & m == p.0 & m
            });
            if !overlaps {
                peers.push(p);
            }
        }
    }
    let peers: Vec<String> = peers.into_iter().map(cidr).collect();
    let ingress = rng.chance(70);
    let targets = match rng.below(100) {
        0..=24 => format!("pool:{}", rng.pick(&POOLS)),
        25..=26 => "pool:legacy".to_owned(),
        _ => String::new(),
    };
    let priority = if rng.chance(40) {
        100 * (1 + rng.below(100))
    } else {
        rng.below(65_536)
    };
    RuleSpec {
        name: format!("r{i:05}"),
        priority: priority as i64,
        direction: if ingress { "ingress" } else { "egress" }.to_owned(),
        action: if rng.chance(65) { "allow" } else { "deny" }.to_owned(),
        protocol: protocol.as_str().to_owned(),
        ports,
        sources: if ingress { peers.clone() } else { Vec::new() },
        destinations: if ingress { Vec::new() } else { peers },
        targets,
    }
}

/// The cluster: the address plan `accord create cluster` defaults to, [`POOLS`] of nodes.
fn cluster() -> anyhow::Result<ClusterNetwork> {
    let spec = ClusterSpec {
        vpc_subnet: "10.0.0.0/16".into(),
        pod_cidr: "10.244.0.0/16".into(),
        service_cidr: "10.96.0.0/12".into(),
        pools: POOLS
            .iter()
            .zip(1u8..)
            .map(|(name, k)| PoolSpec {
                name: (*name).to_owned(),
                nodes: (1..=NODES_PER_POOL)
                    .map(|n| Ipv4Addr::new(10, 0, k, n).to_string())
                    .collect(),
            })
            .collect(),
        ..Default::default()
    };
    validate_cluster(&spec, "cluster").map_err(|e| anyhow::anyhow!("the bench's cluster: {e}"))
}

/// A node's address: one of a pool's, or (a fifth of the time) another address of the subnet.
fn node(rng: &mut Rng, pool: Option<&str>) -> Ipv4Addr {
    let k = match pool.and_then(|p| POOLS.iter().position(|q| *q == p)) {
        Some(k) => k as u8 + 1,
        None if rng.chance(20) => 100 + rng.below(100) as u8,
        None => 1 + rng.below(POOLS.len() as u64) as u8,
    };
    Ipv4Addr::new(10, 0, k, 1 + rng.below(u64::from(NODES_PER_POOL)) as u8)
}

fn packet(
    direction: Direction,
    protocol: PacketProtocol,
    port: u16,
    peer: u32,
    node: Ipv4Addr,
) -> Packet {
    let peer = Ipv4Addr::from(peer);
    let (from, to) = match direction {
        Direction::Ingress => (peer, node),
        Direction::Egress => (node, peer),
    };
    Packet {
        direction,
        protocol,
        port: (protocol != PacketProtocol::Icmp).then_some(port.max(1)),
        from,
        to,
    }
}

fn random_protocol(rng: &mut Rng) -> PacketProtocol {
    *rng.pick(&PacketProtocol::ALL)
}

/// A packet of the mix (see the module docs).
fn packet_of(rng: &mut Rng, rules: &[CustomerRule], firewall: &Firewall) -> Packet {
    match rng.below(100) {
        // Aimed inside a rule.
        0..=44 => {
            let r = &rng.pick(rules).selector;
            let protocol = match r.protocol {
                Protocol::Tcp => PacketProtocol::Tcp,
                Protocol::Udp => PacketProtocol::Udp,
                Protocol::Icmp => PacketProtocol::Icmp,
                Protocol::Any => random_protocol(rng),
            };
            let ports = r.effective_ports();
            let range = rng.pick(ports);
            let port = range.lo + rng.below(u64::from(range.hi - range.lo) + 1) as u16;
            let i = rng.below(r.peers.len() as u64) as usize;
            let peer = r.peers.get(i).map_or(rng.next() as u32, |net| {
                u32::from(net.network()) | (rng.next() as u32 & !mask(net.prefix_len()))
            });
            let pool = match &r.target {
                Target::Pool(p) => Some(p.as_str()),
                Target::AllNodes => None,
            };
            packet(r.direction, protocol, port, peer, node(rng, pool))
        }
        // A required flow.
        45..=54 => {
            let r = &rng.pick(firewall.provider_rules()).selector;
            let protocol = match r.protocol {
                Protocol::Tcp => PacketProtocol::Tcp,
                Protocol::Udp => PacketProtocol::Udp,
                Protocol::Icmp => PacketProtocol::Icmp,
                Protocol::Any => random_protocol(rng),
            };
            let range = rng.pick(r.effective_ports());
            let port = range.lo + rng.below(u64::from(range.hi - range.lo) + 1) as u16;
            let peer = r.peers.first().map_or(rng.next() as u32, |net| {
                u32::from(net.network()) | (rng.next() as u32 & !mask(net.prefix_len()))
            });
            packet(r.direction, protocol, port, peer, node(rng, None))
        }
        // The internet to a well-known port.
        55..=74 => {
            let port = *rng.pick(&WELL_KNOWN);
            let peer = rng.next() as u32;
            packet(
                Direction::Ingress,
                PacketProtocol::Tcp,
                port,
                peer,
                node(rng, None),
            )
        }
        // Egress anywhere.
        75..=89 => {
            let (protocol, port, peer) = (
                random_protocol(rng),
                rng.below(65_536) as u16,
                rng.next() as u32,
            );
            packet(Direction::Egress, protocol, port, peer, node(rng, None))
        }
        // Anything.
        _ => {
            let direction = if rng.chance(50) {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            let (protocol, port, peer) = (
                random_protocol(rng),
                rng.below(65_536) as u16,
                rng.next() as u32,
            );
            packet(direction, protocol, port, peer, node(rng, None))
        }
    }
}

fn median_ms(mut runs: Vec<Duration>) -> (f64, f64) {
    runs.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        runs.get(runs.len() / 2).copied().map_or(0.0, ms),
        runs.last().copied().map_or(0.0, ms),
    )
}

/// See the module docs: `packets` timed packets after `warmup` untimed ones, each way.
pub fn bench(packets: usize, warmup: usize) -> anyhow::Result<EngineResults> {
    let mut rng = Rng(SEED);
    let cluster = cluster()?;
    let specs: Vec<RuleSpec> = (0..RULES).map(|i| rule_spec(&mut rng, i)).collect();
    let rules = validate_rules(&specs).map_err(|e| anyhow::anyhow!("the bench's rules: {e}"))?;

    let mut builds = Vec::with_capacity(RUNS);
    let mut firewall = None;
    for _ in 0..RUNS {
        let (c, r) = (cluster.clone(), rules.clone());
        let t = Instant::now();
        let f = black_box(Firewall::new(c, r));
        builds.push(t.elapsed());
        firewall = Some(f);
    }
    let firewall = firewall.context("no index was built")?;
    let (build_ms, _) = median_ms(builds);
    let provider = firewall.provider_rules();
    let customer = firewall.customer_rules();

    let mix: Vec<Packet> = (0..packets + warmup)
        .map(|_| packet_of(&mut rng, &rules, &firewall))
        .collect();
    // Each path in a pass of its own (neither evicts the other's data from the caches).
    for p in mix.iter().take(warmup) {
        black_box(firewall.evaluate(black_box(p)));
        black_box(linear_scan(&cluster, provider, customer, black_box(p)));
    }
    let measured = mix.get(warmup..).unwrap_or_default();
    let mut fast = Vec::with_capacity(measured.len());
    let mut via_index = Vec::with_capacity(measured.len());
    for p in measured {
        let t = Instant::now();
        let d = black_box(firewall.evaluate(black_box(p)));
        fast.push(t.elapsed());
        via_index.push(d);
    }
    let mut slow = Vec::with_capacity(measured.len());
    let mut via_scan = Vec::with_capacity(measured.len());
    for p in measured {
        let t = Instant::now();
        let d = black_box(linear_scan(&cluster, provider, customer, black_box(p)));
        slow.push(t.elapsed());
        via_scan.push(d);
    }
    let mut tiers = [0usize; 3];
    for ((p, a), b) in measured.iter().zip(&via_index).zip(&via_scan) {
        if a != b {
            bail!("the index and the linear scan disagree on {p:?}: {a:?} vs {b:?}");
        }
        tiers[match a.tier {
            Tier::Provider => 0,
            Tier::Customer => 1,
            Tier::Default => 2,
        }] += 1;
    }
    let (index, linear) = (summarize(fast), summarize(slow));

    let mut analyses = Vec::with_capacity(RUNS);
    let mut warnings = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let w = black_box(analyze(&cluster, provider, customer));
        analyses.push(t.elapsed());
        warnings = w.len();
    }
    let (analyze_ms, analyze_max_ms) = median_ms(analyses);
    Ok(EngineResults {
        rules: rules.len(),
        packets: measured.len(),
        decided_by_provider: tiers[0],
        decided_by_customer: tiers[1],
        decided_by_default: tiers[2],
        ratio_p50: linear.p50_us / index.p50_us.max(1e-6),
        ratio_p99: linear.p99_us / index.p99_us.max(1e-6),
        index,
        linear,
        build_ms,
        analyze_ms,
        analyze_max_ms,
        analyze_to_build: analyze_ms / build_ms.max(1e-9),
        warnings,
    })
}
